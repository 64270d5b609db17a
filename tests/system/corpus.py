"""The differential query corpus: deterministic, generated from the test
zones plus hand-picked names (nonexistent at several depths, below
delegations, wildcard matches, DNAME rewrites, case variations, outside
every zone).

    cases()  -> list of Case(qname, qtype, qclass, transport)

Transports (each query is sent in all of them):
    udp      UDP, no EDNS, RD=1
    edns     UDP, EDNS0 payload 1232, DO=0, RD=0
    edns-do  UDP, EDNS0 payload 4096, DO=1, RD=0
    tcp      TCP, EDNS0 payload 1232, DO=0, RD=1
"""

import collections
import os

import dns.name
import dns.rdataclass
import dns.zone

import servers

Case = collections.namedtuple("Case", "qname qtype qclass transport")

TRANSPORTS = {
    # name: dict of dnsclient.make_query options + tcp flag
    "udp": dict(tcp=False, rd=True, edns=None),
    "edns": dict(tcp=False, rd=False, edns=0, payload=1232, do=False),
    "edns-do": dict(tcp=False, rd=False, edns=0, payload=4096, do=True),
    "tcp": dict(tcp=True, rd=True, edns=0, payload=1232, do=False),
}

# every owner of every zone is asked these
OWNER_TYPES = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "DNAME",
               "SRV", "PTR", "ANY", "DS", "NAPTR", "HINFO", "CAA", "HTTPS",
               "SVCB", "TLSA", "SSHFP", "LOC", "TYPE65280", "RRSIG",
               "DNSKEY"]
# synthesized names (not owners) are asked these
NAME_TYPES = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "DS", "ANY"]

_LONG_PREFIX = "a" * 60  # 61 octets in front of dnlong: DNAME result > 255

EXTRA_NAMES = [
    # case variations (the answer must echo the query's case)
    "ExAmPlE.CoM.", "WWW.EXAMPLE.COM.", "wWw.ExAmPlE.cOm.", "C1.example.com.",
    "MIXEDCASE.example.com.", "mixedcase.example.com.",
    "Foo.Wild.Example.Com.", "WWW.DN.example.com.", "NS1.SUB.example.com.",
    "HOST3.EXAMPLE.", "Www.Child.Example.Com.",
    # nonexistent at several depths
    "nx.example.com.", "a.nx.example.com.", "a.b.c.nx.example.com.",
    "x.www.example.com.", "y.x.www.example.com.", "x.b.ent.example.com.",
    "x.ent.example.com.", "x.a.b.ent.example.com.", "nx.example.org.",
    "a.nx.example.org.", "nx.child.example.com.", "nx.example.",
    "x._tcp.host1.example.",
    # below delegations (referrals; glue only below the cut)
    "x.sub.example.com.", "a.b.sub.example.com.", "x.ext.example.com.",
    "x.sib.example.com.", "x.mixed.example.com.", "x.ns.mixed.example.com.",
    "host.subdel.example.", "a.b.subdel.example.",
    "occluded.sub.example.com.", "x.occluded.sub.example.com.",
    # the served child zone (longest match)
    "x.www.child.example.com.",
    # wildcard matches (RFC 4592)
    "foo.wild.example.com.", "a.b.wild.example.com.",
    "y.ent2.wild.example.com.", "a.x.ent2.wild.example.com.",
    "x.wcname.example.com.", "a.b.wcname.example.com.",
    "x.wcext.example.com.", "x.wcchain.example.com.",
    "host3.example.", "foo.bar.example.", "_ssh._tcp.host3.example.",
    "_telnet._tcp.host1.example.", "ghost.*.example.",
    "a.sub.*.example.", "*.*.example.",
    # DNAME rewrites (RFC 6672)
    "www.dn.example.com.", "mail.dn.example.com.", "nx.dn.example.com.",
    "a.b.dn.example.com.", "www.dnorg.example.com.",
    "back.dnorg.example.com.", "nx.dnorg.example.com.",
    "www.dnext.example.com.", "www.dnchild.example.com.",
    "x.dnlong.example.com.", _LONG_PREFIX + ".dnlong.example.com.",
    # a 255-octet name inside example.com
    ".".join(["c" * 63, "c" * 63, "c" * 63, "c" * 42]) + ".example.com.",
    # outside every zone
    ".", "com.", "net.", "org.", "arpa.", "example.net.",
    "www.example.net.", "xexample.com.", "example.co.",
    "1.0.0.127.in-addr.arpa.",
]

# (qname, qtype, qclass) asked in all transports besides the above
EXTRA_QUERIES = [
    ("id.server.", "TXT", "CH"),
    ("hostname.bind.", "TXT", "CH"),
    ("version.bind.", "TXT", "CH"),
    ("version.server.", "TXT", "CH"),
    ("authors.bind.", "TXT", "CH"),
    ("id.server.", "A", "CH"),
    ("www.example.com.", "TXT", "CH"),
    ("www.example.com.", "A", "HS"),
    ("www.example.com.", "A", "ANY"),
]


def zone_owners():
    """Owner names of every test zone, in zone order (deterministic)."""
    owners = []
    for origin, fname in servers.DEFAULT_ZONES:
        z = dns.zone.from_file(os.path.join(servers.ZONES_DIR, fname),
                               origin=origin, relativize=False,
                               check_origin=True)
        names = set(z.nodes.keys())
        # empty non-terminals are names too (RFC 4592 section 2.2.2)
        for name in list(names):
            parent = name
            while parent != z.origin and len(parent) > 1:
                parent = parent.parent()
                names.add(parent)
        for name in sorted(names):
            owners.append(name.to_text())
    return owners


def cases(transports=None):
    transports = list(transports or TRANSPORTS)
    triples = []
    seen = set()

    def add(qname, qtype, qclass="IN"):
        # dedupe case-sensitively: a case variant is a different query
        key = (qname, qtype, qclass)
        if key not in seen:
            seen.add(key)
            triples.append(key)

    for owner in zone_owners():
        for t in OWNER_TYPES:
            add(owner, t)
    for name in EXTRA_NAMES:
        dns.name.from_text(name)  # validate early
        for t in NAME_TYPES:
            add(name, t)
    for qname, qtype, qclass in EXTRA_QUERIES:
        add(qname, qtype, qclass)
    return [Case(q, t, c, tr) for (q, t, c) in triples for tr in transports]


if __name__ == "__main__":
    cs = cases()
    print(len(cs), "cases")
