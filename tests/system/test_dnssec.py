"""Issue 7: tandemd serves pre-signed zones exactly like NSD and Knot.

The zones come from dnssec_zones.py: one hand-written source signed six
ways (ldns and BIND signers; NSEC, NSEC3 with iterations and a salt,
NSEC3 opt-out as ldns makes it and as BIND makes it), each with a signed
child kid.APEX served by the same servers.  Keys are generated per
session; signature times are fixed.

- test_dnssec_nsd_vs_knot / test_dnssec_tandemd_vs_reference: every owner
  x every type present plus absent types, nonexistent names in several
  NSEC/NSEC3 intervals, wildcard expansions and wildcard NODATA, empty
  non-terminals, names at and below each delegation, DS at every cut, the
  NSEC3 hashed owner names themselves; over UDP+EDNS with DO set and
  clear, TCP with DO, and one pass with CD set.  Compared as
  test_differential.py does (RCODE, flags, sections as multisets, EDNS).
  Every NSD/Knot difference must match KNOWN_DIFFERENCES, which says what
  tandemd must answer and why.  Prints `dnssec differential: N passed, N
  failed`.
- test_validation[who-variant]: delv, with the zone's trust anchor,
  fully validates positive, NXDOMAIN, NODATA, ENT, wildcard, wildcard
  NODATA, CNAME/DNAME answers, the DS of the signed children, the missing
  DS of the unsigned one and names inside the child; the referrals to the
  unsigned children are checked with dnspython (the NSEC/NSEC3 RRSIGs
  verified with the DNSKEY set validated from the anchor; the bitmap or
  the opt-out cover denies the DS), the signed child's referral carries
  a valid DS.  Run on NSD and Knot too (they prove the expectations);
  test_validator_catches_bogus: a tampered and an expired copy are bogus.
- test_truncation_peers / _tandemd: 512-octet EDNS with DO.  The TXT
  RRset "fat" fits without its RRSIG but not with it: TC, never the RRset
  without its RRSIG; for a dozen more answers: TC where the reference
  sets it, no RRset split from its RRSIGs or partial, complete answer and
  authority without TC, all in-domain glue of a referral (RFC 9471).
- test_axfr_equals_signed_file: AXFR of every signed zone = the file
  (multiset).  test_ixfr_resigned[variant]: re-signed (new inception,
  one name added) + reload: IXFR from serial 1 applied to the old AXFR
  gives the new one; a tandemd secondary takes serial 2 and answers DO
  queries exactly as the primary, with the new signatures.

KNOWN DIFFERENCES between NSD 4.6.1 and Knot 3.2.6 on signed zones (ids
of KNOWN_DIFFERENCES below; examples in DNSSEC_NOTES.md):

 id                   | example query            | NSD                         | Knot                         | tandemd
 ---------------------+--------------------------+-----------------------------+------------------------------+--------
 nsd-authority-ns     | www A +dnssec            | + apex NS, RRSIG NS; + NS   | answer only                  | Knot
                      |                          |   addresses with RRSIGs     |                              |
 qtype-rrsig          | www RRSIG                | every RRSIG at the name     | the RRSIGs of the lowest type| Knot
 dnssec-type-at-cname | cname NSEC3, cname NSEC  | NSEC3: NODATA at the owner; | NSEC3: follows the CNAME;    | Knot
                      |                          | NSEC: follows the CNAME     | NSEC: NODATA at the owner    |
 dname-nxdomain-proof | www.dn A (NSEC zone)     | only the NSEC denying the   | both NSECs (name, wildcard)  | Knot
                      |                          |   wildcard                  |                              |
 wildcard-owner-nodata| *.wild AAAA (NSEC3)      | + an NSEC3 for a next closer| the matching NSEC3 only      | Knot
 wildcard-nsec-proof  | a.b.wild NSEC            | synthesized NSEC + proof of | synthesized NSEC, no proof   | NSD
                      |                          |   no closer match           |                              |
 any-at-apex          | APEX ANY                 | SOA + RRSIG                 | A + RRSIG (lowest type)      | Knot
 any-rrsig-only       | _443._tcp.www ANY        | TLSA + RRSIG TLSA           | RRSIG NSEC + RRSIG TLSA, no  | NSD
                      |                          |                             |   TLSA (also with DO clear)  |

Where an RFC says otherwise than both (RFC_OVERRIDES):

 cd-copied            | www A +cd                | CD clear in the reply       | CD clear in the reply        | CD copied
                      |                          |                             |                              | (RFC 4035 §3.1.6)

Truncation (test_truncation_*, TRUNCATION_PEER_QUIRKS): Knot's TC answers
keep RRsets whose RRSIGs were cut (fat TXT: the TXT without RRSIG); NSD
drops a glue RRset of a referral without setting TC (RFC 9471: tandemd
sets TC, like Knot).
"""

import base64
import collections
import concurrent.futures
import multiprocessing
import os
import shutil
import subprocess

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

import dnsclient
import dnssec_zones
import replication
import servers
from test_differential import KnownDifference, _and, _qtype, _targets

# ---------------------------------------------------------------------------
# Fixtures: the signed zones, NSD + Knot + tandemd serving all of them


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    missing = dnssec_zones.tools_missing()
    if missing:
        pytest.skip("signing tools missing: %s (ldnsutils, bind9-utils)"
                    % ", ".join(missing))
    zones = dnssec_zones.build(str(tmp_path_factory.mktemp("dnssec-zones")))
    APEXES.clear()
    APEXES.update(_apexes(zones))
    return zones


def all_zones(signed):
    out = []
    for s in signed.values():
        out += s.zones
    return out


def _start_peer(name, workdir, zones):
    cls = servers.PEERS[name]
    if not os.access(cls.binary(), os.X_OK):
        pytest.skip("%s not installed (%s)" % (name, cls.binary()))
    return cls(workdir, zones, **servers.SHARED_KNOBS).start()


@pytest.fixture(scope="module")
def dnssec_peers(signed, tmp_path_factory):
    """{"nsd": Nsd, "knot": Knot} serving every signed zone."""
    started = []
    try:
        for name in ("nsd", "knot"):
            started.append(_start_peer(
                name, str(tmp_path_factory.mktemp("dnssec-" + name)),
                all_zones(signed)))
        yield {s.name: s for s in started}
    finally:
        servers.stop_all(started)


@pytest.fixture(scope="module")
def dnssec_tandemd(signed, tmp_path_factory, build_dir):
    binary = servers.Tandemd.binary(build_dir)
    if not os.access(binary, os.X_OK):
        pytest.skip("tandemd not built yet: %s does not exist" % binary)
    srv = servers.Tandemd(str(tmp_path_factory.mktemp("dnssec-tandemd")),
                          build_dir, all_zones(signed),
                          **servers.SHARED_KNOBS).start()
    try:
        yield srv
    finally:
        servers.stop_all([srv])


# ---------------------------------------------------------------------------
# The queries

class Case:
    __slots__ = ("qname", "qtype", "transport", "variant")

    def __init__(self, qname, qtype, transport, variant):
        self.qname = qname
        self.qtype = qtype
        self.transport = transport
        self.variant = variant

    qclass = "IN"


TRANSPORTS = {
    "do": dict(tcp=False, edns=0, payload=4096, do=True),
    "nodo": dict(tcp=False, edns=0, payload=1232, do=False),
    "tcp-do": dict(tcp=True, edns=0, payload=1232, do=True),
    "cd": dict(tcp=False, edns=0, payload=4096, do=True, cd=True),
    # AD=1 in a query asks for the AD bit (RFC 6840 §5.7); an
    # authoritative server validates nothing, so neither peer sets it
    "ad": dict(tcp=False, edns=0, payload=4096, do=True, ad=True),
}
# which share of the queries each transport gets: (step, offset): query
# number i is sent when i % step == offset (run time: ~1,200 queries/s)
SUBSETS = {"do": (1, 0), "nodo": (2, 0), "tcp-do": (4, 1), "cd": (6, 3),
           "ad": (12, 5)}

# asked at every owner, empty non-terminal and hand-picked name
TYPES = ["A", "AAAA", "TXT", "MX", "NS", "DS", "DNSKEY", "NSEC", "NSEC3",
         "NSEC3PARAM", "RRSIG", "SOA", "CNAME", "ANY"]
# asked at the NSEC3 owner names (hash.APEX), which are not names of the
# zone's data (RFC 5155 §7.2.8): the first HASHED_FULL of each zone get
# all of these, the others the first two
HASHED_TYPES = ["A", "NSEC3", "RRSIG", "ANY", "TXT", "DS"]
HASHED_FULL = 8

# nonexistent names spread over the NSEC chain (and, hashed, over the
# NSEC3 one): the interval matters, not the type
INTERVAL_NAMES = ["0nx", "aaa", "b", "bz", "d", "e", "f", "g", "h", "i",
                  "k", "l", "mmm", "n", "o", "p", "q", "r", "s", "t", "u",
                  "v", "wwx", "x", "zzzz"]
INTERVAL_TYPES = ["A", "DS", "NSEC", "ANY"]

# relative to the variant's apex, asked with every type of TYPES
EXTRA_NAMES = [
    # nonexistent at several depths
    "nx", "a.nx", "a.b.c.nx", "x.www", "y.x.www", "x.b.c", "x.a.b.c",
    "x.c", "x.deep", "x.y.z.deep.x", "x._udp", "x._sip._udp", "x.ns1",
    "0123456789abcdefghijklmnopqrstuv",
    # case variations
    "WwW", "MULTI", "Foo.WILD", "X.Kid",
    # wildcard expansions (and, with the absent types, wildcard NODATA)
    "foo.wild", "a.b.wild", "host.wild", "x.exact.wild", "x.wc", "a.b.wc",
    "x.any.kid", "y.x.any.kid",
    # below the delegations: referrals; glue and occluded names
    "x.secure", "a.b.secure", "x.insecure", "deep.ns1.insecure",
    "x.insecure2", "x.zz-insecure", "a.zz-insecure",
    # the served child kid.APEX
    "nx.kid", "a.b.kid", "x.www.kid",
    # DNAME (RFC 6672)
    "www.dn", "a.dn", "x.y.dn", "b.dn",
]


def _zone_names(z):
    """(data owners with their types, NSEC3 owners, empty non-terminals)
    of a signed zone (dnspython Zone), as absolute texts."""
    owners, hashed = {}, []
    for name, node in sorted(z.nodes.items()):
        types = {rds.rdtype for rds in node.rdatasets}
        covered = {rds.covers for rds in node.rdatasets
                   if rds.rdtype == dns.rdatatype.RRSIG}
        if types <= {dns.rdatatype.NSEC3, dns.rdatatype.RRSIG} and \
                dns.rdatatype.NSEC3 in types | covered:
            hashed.append(name.to_text())
            continue
        owners[name.to_text()] = sorted(
            dns.rdatatype.to_text(t) for t in types
            if t != dns.rdatatype.RRSIG)
    ents = set()
    for name in z.nodes:
        if name.to_text() in hashed:
            continue
        p = name
        while p != z.origin and len(p) > 1:
            p = p.parent()
            if p not in z.nodes:
                ents.add(p.to_text())
    return owners, hashed, sorted(ents)


def zone_queries(zone, add):
    """add(qname, qtype) for every owner, empty non-terminal and NSEC3
    owner name of one signed zone."""
    owners, hashed, ents = _zone_names(zone.zone())
    for owner, types in owners.items():
        for t in types + TYPES:
            add(owner, t)
    for ent in ents:
        for t in TYPES:
            add(ent, t)
    for i, h in enumerate(hashed):
        for t in HASHED_TYPES[:None if i < HASHED_FULL else 2]:
            add(h, t)


def variant_queries(s):
    """(qname, qtype) of one variant's parent and child zones."""
    out = []
    seen = set()

    def add(qname, qtype):
        if (qname, qtype) not in seen:
            seen.add((qname, qtype))
            out.append((qname, qtype))

    for zone in (s.parent, s.child):
        zone_queries(zone, add)
    for rel in EXTRA_NAMES:
        for t in TYPES:
            add("%s.%s." % (rel, s.parent.apex), t)
    for rel in INTERVAL_NAMES:
        for t in INTERVAL_TYPES:
            add("%s.%s." % (rel, s.parent.apex), t)
    return out


def make_cases(signed):
    cases = []
    for s in signed.values():
        for i, (qname, qtype) in enumerate(variant_queries(s)):
            for tr in TRANSPORTS:
                step, offset = SUBSETS[tr]
                if i % step == offset:
                    cases.append(Case(qname, qtype, tr, s.name))
    return cases


def describe(case):
    return "%s %s over %s" % (case.qname, case.qtype, case.transport)


def ask(srv, case):
    opts = dict(TRANSPORTS[case.transport])
    tcp = opts.pop("tcp")
    r = srv.query(case.qname, case.qtype, tcp=tcp, **opts)
    if r.wire is None:
        # one retry for a lost datagram before recording NO REPLY
        r = srv.query(case.qname, case.qtype, tcp=tcp, **opts)
    return r


def _run_chunk(port, cases):
    """Query one server (by port) with cases; the summaries.  Runs in a
    worker process: parsing replies with dnspython is what costs."""
    out = []
    for c in cases:
        opts = dict(TRANSPORTS[c.transport])
        tcp = opts.pop("tcp")
        r = dnsclient.query(port, c.qname, c.qtype, tcp=tcp, **opts)
        if r.wire is None:
            # one retry for a lost datagram before recording NO REPLY
            r = dnsclient.query(port, c.qname, c.qtype, tcp=tcp, **opts)
        out.append(dnsclient.summarize(r))
    return out


CHUNK = 1000


def run_parallel(srvs, cases):
    """{server name: [summary per case]}, the queries spread over one
    worker process per CPU (bounded: every query has a timeout)."""
    ctx = multiprocessing.get_context("fork")
    workers = max(2, min(4, os.cpu_count() or 2))
    with concurrent.futures.ProcessPoolExecutor(workers,
                                                mp_context=ctx) as ex:
        futs = {}
        for s in srvs:
            futs[s.name] = [ex.submit(_run_chunk, s.port,
                                      cases[i:i + CHUNK])
                            for i in range(0, len(cases), CHUNK)]
        out = {}
        for name, fl in futs.items():
            out[name] = [x for f in fl for x in f.result()]
    for s in srvs:
        s.check_alive()
    return out


# ---------------------------------------------------------------------------
# NSD's minimal-responses: no, with DNSSEC: the apex NS RRset and its RRSIG
# in authority, the NS addresses and their RRSIGs in additional.

def _covers(rr):
    """The type an RRSIG RR covers (text), else None."""
    return rr[4].split()[0] if rr[2] == "RRSIG" else None


def _apexes(signed):
    out = set()
    for s in signed.values():
        for apex, _ in s.zones:
            out.add(apex.lower() + ".")
    return out


APEXES = set()      # filled by the fixture below, used by nsd_minimal


def _zone_apex(qname):
    """The apex (lowercase, with the dot) of the zone that answers qname:
    the longest served apex it is at or below."""
    q = qname.lower()
    best = None
    for apex in APEXES:
        if (q == apex or q.endswith("." + apex)) and \
                (best is None or len(apex) > len(best)):
            best = apex
    return best


def nsd_minimal(s, qname):
    """Remove what NSD adds to a positive answer with its default
    minimal-responses: no: the zone's apex NS RRset (and with DO its
    RRSIG NS) in authority -- next to a wildcard proof, if any -- and the
    addresses of those name servers (and their RRSIGs) in additional
    unless an answer RR needs them.  Returns (new summary, changed)."""
    if isinstance(s, str) or s["rcode"] != "NOERROR" or not s["answer"]:
        return s, False
    apex = _zone_apex(qname)

    def apex_ns(rr):
        return rr[0].lower() == apex and (rr[2] == "NS" or
                                          _covers(rr) == "NS")
    auth = s["authority"]
    ns_rrs = [rr for rr in auth if rr[2] == "NS" and apex_ns(rr)]
    if not ns_rrs or any(rr[2] == "NS" and not apex_ns(rr) for rr in auth):
        return s, False
    targets = {rr[4].lower() for rr in ns_rrs}
    needed = {t for rr in s["answer"] for t in _targets(rr)}

    def drop(rr):
        owner = rr[0].lower()
        if owner not in targets or owner in needed:
            return False
        return rr[2] in ("A", "AAAA") or _covers(rr) in ("A", "AAAA")
    out = dict(s)
    out["authority"] = tuple(rr for rr in auth if not apex_ns(rr))
    out["additional"] = tuple(rr for rr in s["additional"] if not drop(rr))
    return out, True


# ---------------------------------------------------------------------------
# The table: entries tried in order; the first whose `when` matches a
# (case, nsd, knot) that differs (after nsd_minimal) explains it, provided
# only the listed fields differ.  `choose` is what tandemd must answer.

NSD_AUTHORITY_NS = KnownDifference(
    "nsd-authority-ns", "knot", ("authority", "additional"), None,
    "As in test_differential.py: NSD's default minimal-responses: no adds "
    "the apex NS RRset to positive answers -- with DO also its RRSIG NS -- "
    "and the name servers' A/AAAA with their RRSIGs to the additional "
    "section; Knot sends the answer only.  tandemd: like Knot (RFC 1034 "
    "§4.3.2 allows both; with DNSSEC the extra RRSIGs make answers much "
    "larger and truncation likelier).")

def _answer_has(rdtype, owner_is_qname=True):
    """Predicate: NSD's or Knot's answer section holds an RR of rdtype
    (owned by the QNAME)."""
    def pred(c, n, k):
        for s in (n, k):
            for rr in s["answer"]:
                if rr[2] == rdtype and (not owner_is_qname or
                                        rr[0].lower() == c.qname.lower()):
                    return True
        return False
    return pred


def _both_rcode(rcode):
    return lambda c, n, k: n["rcode"] == k["rcode"] == rcode


def _wildcard_owner(c, n, k):
    return c.qname.startswith("*.")


def _nsd_auth_superset(c, n, k):
    return set(k["authority"]) < set(n["authority"])


def _knot_answer_only_rrsig(c, n, k):
    return bool(k["answer"]) and all(rr[2] == "RRSIG" for rr in k["answer"])


def _knot_auth_subset(c, n, k):
    return set(k["authority"]) < set(n["authority"])


def _at_apex(c, n, k):
    return c.qname.lower() in APEXES


KNOWN_DIFFERENCES = [
    KnownDifference(
        "qtype-rrsig", "knot", ("answer", "authority", "additional"),
        _qtype("RRSIG"),
        "QTYPE RRSIG (DO set or clear): NSD answers every RRSIG at the "
        "name; Knot only the RRSIGs that cover ONE type, the lowest type "
        "code present (the first RRSIG in canonical order: A at the apex, "
        "CNAME at a CNAME owner), like its ANY answer.  Both add the "
        "wildcard proof for a synthesized owner.  tandemd: like Knot -- "
        "RFC 8482 §4.1 lets a server answer a meta-query with a subset; "
        "an RRSIG query is only useful for debugging, and a full set can "
        "be large (RFC 4035 §3.1.1 does not ask for all).  Both answer "
        "RRSIG queries without DO too (asked for by type, RFC 4035 "
        "§3.1)."),
    KnownDifference(
        "dnssec-type-at-cname", "knot", ("rcode", "answer", "authority",
                                         "additional"),
        _and(_qtype("NSEC", "NSEC3"), _answer_has("CNAME")),
        "QTYPE NSEC or NSEC3 at a CNAME owner (also a CNAME synthesized "
        "from *.wc): for NSEC3 in an NSEC zone NSD answers NODATA at the "
        "owner, Knot follows the CNAME (NXDOMAIN for cnx -> nothere); for "
        "NSEC in an NSEC3 zone NSD follows the CNAME, Knot answers NODATA "
        "at the owner.  (Where the NSEC exists both answer it.)  tandemd: "
        "like Knot -- NSEC, like RRSIG, is a type that lives beside a "
        "CNAME (RFC 4035 §2.5, RFC 2181 §10.1.1), so it is looked up at "
        "the owner as QTYPE CNAME is (consistent with rrsig-at-cname in "
        "test_differential.py); NSEC3 never lives at a CNAME owner, so the "
        "CNAME is followed (RFC 1034 §4.3.2 step 3a)."),
    KnownDifference(
        "dname-nxdomain-proof", "knot", ("authority",),
        _and(_answer_has("DNAME", owner_is_qname=False),
             _both_rcode("NXDOMAIN")),
        "NXDOMAIN after a DNAME rewrite (www.dn -> www.hosts, NSEC "
        "zones): NSD sends only the NSEC that denies the wildcard "
        "*.hosts, not the one covering www.hosts; Knot sends both.  "
        "tandemd: like Knot -- RFC 4035 §3.1.3.2 requires the NSEC "
        "proving the name does not exist AND the one proving no wildcard "
        "could have matched (RFC 6672 §5.3.2: the synthesized name's "
        "denial is proven as for any name); NSD's answer does not "
        "validate."),
    KnownDifference(
        "wildcard-owner-nodata", "knot", ("authority",),
        _and(_wildcard_owner, _nsd_auth_superset),
        "QNAME is the wildcard owner itself (*.wild, *.any.kid), NODATA, "
        "NSEC3 zones: NSD adds an NSEC3 covering a next closer name as "
        "for a wildcard NODATA; Knot sends the NSEC3 matching the name "
        "only.  tandemd: like Knot -- the name exists, so this is the "
        "plain NODATA of RFC 5155 §7.2.3 (no wildcard was expanded, "
        "§7.2.5 does not apply)."),
    KnownDifference(
        "wildcard-nsec-proof", "nsd", ("authority",),
        _and(_qtype("NSEC"), _knot_auth_subset),
        "QTYPE NSEC at a name a wildcard matches (a.b.wild, x.any.kid; "
        "NSEC zones): both synthesize the wildcard's NSEC RR at the QNAME "
        "(RRSIG labels < owner labels); NSD adds the NSEC proving that no "
        "closer name exists (here *.wild's own NSEC), Knot does not -- "
        "although it does for every other type.  tandemd: like NSD -- RFC "
        "4035 §3.1.3.3: a wildcard-expanded answer MUST carry that proof, "
        "whatever the type; without it the answer does not validate."),
    KnownDifference(
        "any-at-apex", "knot", ("answer", "additional"),
        _and(_qtype("ANY"), _at_apex),
        "As in test_differential.py: QTYPE ANY at a zone apex: NSD "
        "answers the SOA (+ RRSIG SOA), Knot the RRset of the lowest type "
        "code (A + RRSIG A).  tandemd: like Knot -- one rule everywhere "
        "(RFC 8482 §4.1 allows any one RRset)."),
    KnownDifference(
        "any-rrsig-only", "nsd", ("answer",),
        _and(_qtype("ANY"), _knot_answer_only_rrsig),
        "QTYPE ANY at a name whose data types all have codes above 46 "
        "(_443._tcp.www: TLSA only): Knot picks the 'lowest type' RRSIG "
        "(46) and answers every RRSIG at the name WITHOUT the RRsets they "
        "cover -- even with DO clear; NSD answers TLSA + RRSIG TLSA.  "
        "tandemd: like NSD -- RRSIG and NSEC are not candidates for the "
        "one RRset of RFC 8482 §4.1 (NSD prefers small, popular types for "
        "that reason, NSD issue #22); RFC 4035 §3.2.1: with DO clear the "
        "authenticating RRs are stripped unless explicitly requested, and "
        "RRSIGs without the RRset they cover (RFC 4035 §3.1.1) are "
        "useless to the client."),
]


class RfcOverride:
    """Where NSD and Knot agree but an RFC says otherwise: what tandemd
    must answer instead (fix(case, expected summary) -> summary)."""

    def __init__(self, id, when, fix, reason):
        self.id = id
        self.when = when
        self.fix = fix
        self.reason = reason
        self.hits = 0
        self.example = None


def _with_cd(case, s):
    if isinstance(s, str) or "CD" in s["flags"]:
        return s
    out = dict(s)
    out["flags"] = tuple(f for f in dnsclient.FLAG_NAMES
                         if f in s["flags"] or f == "CD")
    return out


RFC_OVERRIDES = [
    RfcOverride(
        "cd-copied", lambda c: TRANSPORTS[c.transport].get("cd"), _with_cd,
        "CD=1 in the query: NSD and Knot both answer with CD clear.  RFC "
        "4035 §3.1.6: 'The name server side MUST copy the setting of the "
        "CD bit from a query to the corresponding response.'  tandemd: CD "
        "copied, everything else as the reference.  (AD: never set by "
        "either, also not for AD=1 queries; tandemd neither -- RFC 4035 "
        "§3.1.6 lets an authoritative server set it only for data it has "
        "validated, and it validates nothing.)"),
]


def classify(case, nsd_s, knot_s):
    """(reference summary, KnownDifference or None, fields still differing
    when unexplained).  The reference is what NSD and Knot agree on or the
    chosen one; RFC_OVERRIDES are applied by expected_for_tandemd."""
    nsd_n, changed = nsd_minimal(nsd_s, case.qname)
    diff = dnsclient.diff_summaries(nsd_n, knot_s)
    if not diff:
        if changed:
            NSD_AUTHORITY_NS.hits += 1
            NSD_AUTHORITY_NS.example = NSD_AUTHORITY_NS.example or case
        return knot_s, (NSD_AUTHORITY_NS if changed else None), []
    for kd in KNOWN_DIFFERENCES:
        if kd.when(case, nsd_n, knot_s) and set(diff) <= kd.fields:
            kd.hits += 1
            kd.example = kd.example or case
            return (nsd_n if kd.choose == "nsd" else knot_s), kd, []
    return None, None, diff


def expected_for_tandemd(case, reference):
    for o in RFC_OVERRIDES:
        if o.when(case):
            o.hits += 1
            o.example = o.example or case
            reference = o.fix(case, reference)
    return reference


_CACHE = {}


def peer_results(signed, peers):
    key = id(signed)
    if key not in _CACHE:
        cases = make_cases(signed)
        _CACHE[key] = (cases, run_parallel([peers["nsd"], peers["knot"]],
                                           cases))
    return _CACHE[key]


MAX_REPORTED = 20


def _short_rr(rr):
    """One RR of a summary as a line; an RRSIG shortened to what tells
    RRSIGs apart (covered type, labels, key tag, start of the
    signature)."""
    owner, rclass, rtype, ttl, rdata = rr
    if rtype == "RRSIG":
        f = rdata.split()
        rdata = "%s alg %s labels %s key %s ... %s..." % (
            f[0], f[1], f[2], f[6], f[8][:12])
    elif len(rdata) > 90:
        rdata = rdata[:87] + "..."
    return "%s %s %s %s" % (owner, ttl, rtype, rdata)


def summary_diff(a, b, what=("expected", "got")):
    """Readable lines: how summary b differs from summary a (fields, and
    per section the RRs only in one of them)."""
    if isinstance(a, str) or isinstance(b, str):
        return ["    %s: %s" % (what[0], a if isinstance(a, str) else
                                 "a reply"),
                "    %s: %s" % (what[1], b if isinstance(b, str) else
                                 "a reply")]
    out = []
    for k in ("rcode", "opcode", "flags", "question", "edns"):
        if a[k] != b[k]:
            out.append("    %s: %s %s, %s %s" % (k, what[0], a[k], what[1],
                                                b[k]))
    for sec in ("answer", "authority", "additional"):
        ca, cb = collections.Counter(a[sec]), collections.Counter(b[sec])
        only_a, only_b = sorted((ca - cb).elements()), \
            sorted((cb - ca).elements())
        if only_a or only_b:
            out.append("    ;; %s: %d in common" % (
                sec, sum((ca & cb).values())))
            out += ["      - %s" % _short_rr(rr) for rr in only_a]
            out += ["      + %s" % _short_rr(rr) for rr in only_b]
    return out
MAX_GROUPS = 30


def _emit(capsys, text):
    with capsys.disabled():
        print(text)


def _reset_counts():
    for kd in [NSD_AUTHORITY_NS] + KNOWN_DIFFERENCES + RFC_OVERRIDES:
        kd.hits = 0
        kd.example = None


def test_dnssec_nsd_vs_knot(signed, dnssec_peers, capsys):
    """NSD and Knot agree on every signed-zone query except for the
    documented differences of KNOWN_DIFFERENCES."""
    _reset_counts()
    cases, res = peer_results(signed, dnssec_peers)
    passed = failed = 0
    report, groups, examples = [], {}, []
    for i, case in enumerate(cases):
        n, k = res["nsd"][i], res["knot"][i]
        if isinstance(n, str) or isinstance(k, str):
            if n == k:
                passed += 1
                continue
        expected, kd, diff = classify(case, n, k)
        if expected is not None:
            passed += 1
            continue
        failed += 1
        g = (case.qtype, case.transport, tuple(diff))
        groups.setdefault(g, []).append(case)
        if len(groups[g]) == 1:
            examples.append("UNEXPLAINED difference (%s) for %s\n NSD:\n%s"
                            "\n Knot:\n%s" % (
                                ", ".join(diff), describe(case),
                                dnsclient.format_summary(n),
                                dnsclient.format_summary(k)))
        if len(report) < MAX_REPORTED:
            report.append("UNEXPLAINED difference (%s) for %s\n NSD:\n%s\n"
                          " Knot (- NSD only, + Knot only):\n%s" % (
                              ", ".join(diff), describe(case),
                              dnsclient.format_summary(n), "\n".join(
                                  summary_diff(nsd_minimal(n, case.qname)[0],
                                               k, ("NSD", "Knot")))))
    lines = ["", "NSD vs Knot on signed zones: %d queries, known "
             "differences:" % len(cases)]
    for kd in [NSD_AUTHORITY_NS] + KNOWN_DIFFERENCES:
        lines.append("  %-20s %5d  (tandemd: like %s)%s" % (
            kd.id, kd.hits, "NSD" if kd.choose == "nsd" else "Knot",
            "  e.g. " + describe(kd.example) if kd.example
            else "  [not seen]"))
    lines += report
    if groups:
        lines.append("unexplained differences by (qtype, transport, "
                     "fields):")
        for g, lst in sorted(groups.items(), key=lambda x: -len(x[1])):
            lines.append("  %5d  %s %s %s  e.g. %s" % (
                len(lst), g[0], g[1], "+".join(g[2]),
                "; ".join(c.qname for c in lst[:3])))
    # the reference is not vacuous: with DO most answers are signed, and
    # without DO no answer has a DNSSEC RR the QTYPE did not ask for
    signed_do = unsigned_leak = do_total = 0
    for i, case in enumerate(cases):
        k = res["knot"][i]
        if isinstance(k, str):
            continue
        rrs = k["answer"] + k["authority"]
        if case.transport == "do":
            do_total += 1
            signed_do += any(rr[2] == "RRSIG" for rr in rrs)
        elif case.transport == "nodo" and case.qtype not in (
                "RRSIG", "NSEC", "NSEC3", "ANY"):
            unsigned_leak += any(rr[2] in ("RRSIG", "NSEC", "NSEC3")
                                 for rr in rrs + k["additional"])
    lines.append("reference: %d of %d DO answers carry RRSIGs; %d DO-clear "
                 "answers carry DNSSEC RRs not asked for" % (
                     signed_do, do_total, unsigned_leak))
    lines.append("dnssec differential: %d passed, %d failed"
                 % (passed, failed))
    _emit(capsys, "\n".join(lines))
    assert signed_do > 0.8 * do_total and unsigned_leak == 0
    if os.environ.get("DNSSEC_DUMP"):
        # one example of every group of unexplained differences
        with open(os.environ["DNSSEC_DUMP"], "w") as f:
            f.write("\n".join(examples) + "\n")
    if failed:
        pytest.fail("%d unexplained NSD/Knot differences" % failed,
                    pytrace=False)


def test_dnssec_tandemd_vs_reference(signed, dnssec_peers, dnssec_tandemd,
                                     capsys):
    """tandemd answers every signed-zone query as the reference: what
    NSD and Knot agree on, the choice of KNOWN_DIFFERENCES, and the
    RFC_OVERRIDES."""
    _reset_counts()
    cases, res = peer_results(signed, dnssec_peers)
    mine = run_parallel([dnssec_tandemd], cases)["tandemd"]
    passed = failed = 0
    report, groups = [], {}
    for i, case in enumerate(cases):
        n, k = res["nsd"][i], res["knot"][i]
        if isinstance(n, str) or isinstance(k, str):
            expected = n if n == k else None
            kd = None
        else:
            expected, kd, _ = classify(case, n, k)
        if expected is None:
            continue    # no reference (reported by test_dnssec_nsd_vs_knot)
        expected = expected_for_tandemd(case, expected)
        got = mine[i]
        diff = dnsclient.diff_summaries(expected, got)
        if not diff:
            passed += 1
            continue
        failed += 1
        group = (kd.id if kd else "agreed", case.qtype, tuple(diff))
        groups.setdefault(group, []).append(case)
        if len(report) < MAX_REPORTED:
            report.append("MISMATCH (%s) for %s%s\n expected:\n%s\n "
                          "tandemd (- missing, + extra):\n%s" % (
                              ", ".join(diff), describe(case),
                              " [known difference %s: like %s]" % (
                                  kd.id, kd.choose) if kd else "",
                              dnsclient.format_summary(expected),
                              "\n".join(summary_diff(expected, got, (
                                  "expected", "tandemd")))))
    for o in RFC_OVERRIDES:
        report.append("RFC override %s applied to %d answers" % (o.id,
                                                                 o.hits))
    if groups:
        report.append("tandemd mismatches by (reference, qtype, fields):")
        ranked = sorted(groups.items(), key=lambda g: -len(g[1]))
        for (ref, qtype, fields), lst in ranked[:MAX_GROUPS]:
            report.append("  %5d  %s / %s / %s  e.g. %s" % (
                len(lst), ref, qtype, "+".join(fields), "; ".join(
                    describe(c) for c in lst[:3])))
        if len(ranked) > MAX_GROUPS:
            report.append("  ... %d more groups" % (len(ranked) - MAX_GROUPS))
    report.append("dnssec differential: %d passed, %d failed"
                  % (passed, failed))
    _emit(capsys, "\n".join(report))
    if failed:
        pytest.fail("%d answers of tandemd differ from the reference"
                    % failed, pytrace=False)


# ---------------------------------------------------------------------------
# Validation: delv with the zone's trust anchor (+root=APEX -a FILE)

# (name relative to the apex ("@" = apex), type, kind): every kind must be
# "fully validated"; a wildcard answer in an opt-out zone is "unsigned
# answer" for BIND's validator (the next closer name is covered by an
# opt-out NSEC3, so it may be an unsigned delegation: RFC 5155 §9.2) --
# proven on NSD and Knot by test_validation[nsd-*] / [knot-*].
VALIDATION_CASES = [
    ("www", "A", "positive"),
    ("@", "MX", "positive"),
    ("@", "DNSKEY", "positive"),
    ("multi", "TXT", "positive"),
    ("nx", "A", "nxdomain"),
    ("zzzz", "A", "nxdomain"),
    ("a.b.c.nx", "AAAA", "nxdomain"),
    ("www", "MX", "nodata"),
    ("b.c", "A", "nodata"),             # empty non-terminal
    ("foo.wild", "A", "wildcard"),
    ("a.b.wild", "TXT", "wildcard"),
    ("foo.wild", "MX", "nodata"),       # wildcard NODATA
    ("x.wc", "AAAA", "wildcard"),       # wildcard CNAME -> www
    ("cname", "A", "positive"),
    ("cnx", "A", "nxdomain"),
    ("a.dn", "A", "positive"),          # DNAME
    ("kid", "DS", "positive"),          # DS of the signed (served) child
    ("secure", "DS", "positive"),       # DS of the signed child elsewhere
    ("insecure", "DS", "nodata"),       # no DS at the unsigned child
    ("www.kid", "A", "positive"),       # through the DS into the child
    ("nx.kid", "A", "nxdomain"),
    ("x.any.kid", "TXT", "wildcard"),
]

DELV_TIMEOUT = 20
SECURE = ("; fully validated", "; negative response, fully validated")
INSECURE = "; unsigned answer"
# a line with one of these means the validator found something wrong
BOGUS_MARKS = ("broken trust chain", "no valid signature", "bogus",
               "expired", "insecurity proof failed", "resolution failed: "
               "failure", "not yet valid", "no valid RRSIG",
               "resolution failed: SERVFAIL", "resolution failed: timed out")


def delv(port, zone, qname, qtype):
    """delv's output (stdout + stderr) for one query, validating with the
    zone's trust anchor."""
    cmd = ["delv", "@127.0.0.1", "-p", str(port), "-a", zone.anchor_file,
           "+root=%s" % zone.apex, qname, qtype]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=DELV_TIMEOUT)
    except subprocess.TimeoutExpired:
        return ";; delv timed out (resolution failed: timed out)"
    return p.stdout.decode("utf-8", "replace")


def delv_problem(text, qtype, kind, optout):
    """None if delv's output is what kind expects, else why not."""
    lines = text.splitlines()
    bad = [l for l in lines if any(m in l for m in BOGUS_MARKS)]
    if bad:
        return "bogus/failed: %s" % bad[0]
    statuses = [l for l in lines if l in SECURE or l == INSECURE]
    if not statuses:
        return "no validation status"
    allowed = SECURE + ((INSECURE,) if kind == "wildcard" and optout
                        else ())
    if any(s not in allowed for s in statuses):
        return "not secure: %s" % ", ".join(statuses)
    if kind in ("positive", "wildcard"):
        if not any(not l.startswith(";") and "\tIN\t%s\t" % qtype in l
                   for l in lines):
            return "no %s record in the answer" % qtype
    elif kind == "nxdomain" and ";-$NXDOMAIN" not in text:
        return "not NXDOMAIN"
    elif kind == "nodata" and ";-$NXRRSET" not in text:
        return "not NODATA"
    return None


def validation_failures(port, zone):
    """[(query, why, delv output)] over VALIDATION_CASES for one zone."""
    out = []
    optout = zone.variant.optout
    for rel, qtype, kind in VALIDATION_CASES:
        qname = zone.apex if rel == "@" else "%s.%s" % (rel, zone.apex)
        text = delv(port, zone, qname, qtype)
        why = delv_problem(text, qtype, kind, optout)
        if why:
            out.append(("%s %s (%s)" % (qname, qtype, kind), why, text))
    return out


def _report_validation(failures, limit=6):
    lines = []
    for q, why, text in failures[:limit]:
        lines.append("%s: %s\n%s" % (q, why, "\n".join(
            "    " + l for l in text.splitlines()[:12])))
    return "\n".join(lines)


# ---- the unsigned child's referral, checked with dnspython

def _types_of(rd):
    """The type bitmap of an NSEC / NSEC3 rdata as a set of names."""
    fields = rd.to_text().split()
    return set(fields[1:] if rd.rdtype == dns.rdatatype.NSEC else fields[5:])


def _b32(h):
    return h.lower()


def _covers_hash(owner_hash, next_hash, h):
    """NSEC3 owner_hash -> next_hash covers h (strictly), with wrap."""
    if owner_hash < next_hash:
        return owner_hash < h < next_hash
    return h > owner_hash or h < next_hash


def validated_keys(port, zone):
    """The zone's DNSKEY RRset from the server, validated against the
    trust anchor (its KSK) -- {apex name: rrset} for dns.dnssec."""
    apex = dns.name.from_text(zone.apex)
    r = dnsclient.query(port, zone.apex, "DNSKEY", edns=0, do=True,
                        payload=4096, tcp=True)
    m = dns.message.from_wire(r.wire)
    keys = m.find_rrset(m.answer, apex, dns.rdataclass.IN,
                        dns.rdatatype.DNSKEY)
    sigs = m.find_rrset(m.answer, apex, dns.rdataclass.IN,
                        dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
    anchor = zone.ksk_dnskey()
    assert anchor in keys, "the trust anchor's KSK is not served"
    ksk_only = dns.rrset.from_rdata(apex, keys.ttl, anchor)
    dns.dnssec.validate(keys, sigs, {apex: ksk_only})
    return {apex: keys}


def referral_problem(port, zone, cut_rel, qname_rel):
    """None if the DO referral for qname below the unsigned cut proves,
    with validly signed NSEC/NSEC3 RRs, that the cut has no DS; else
    why not."""
    apex = dns.name.from_text(zone.apex)
    cut = dns.name.from_text(cut_rel, apex)
    qname = dns.name.from_text(qname_rel, apex)
    r = dnsclient.query(port, qname, "A", edns=0, do=True, payload=4096,
                        tcp=True)
    if r.wire is None:
        return "no reply"
    m = dns.message.from_wire(r.wire)
    if m.rcode() != 0 or m.flags & dns.flags.AA or m.answer:
        return "not a referral: %s" % m.to_text()
    try:
        m.find_rrset(m.authority, cut, dns.rdataclass.IN, dns.rdatatype.NS)
    except KeyError:
        return "no NS RRset of the cut in authority"
    try:
        keys = validated_keys(port, zone)
    except dns.dnssec.ValidationFailure as e:
        return "the DNSKEY RRset does not validate: %r" % e
    proofs = [rs for rs in m.authority
              if rs.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)]
    if not proofs:
        return "no NSEC/NSEC3 in the referral"
    for rs in proofs:
        try:
            sigs = m.find_rrset(m.authority, rs.name, dns.rdataclass.IN,
                                dns.rdatatype.RRSIG, rs.rdtype)
            dns.dnssec.validate(rs, sigs, keys)
        except (KeyError, dns.dnssec.ValidationFailure) as e:
            return "%s %s does not validate: %r" % (
                rs.name, dns.rdatatype.to_text(rs.rdtype), e)
    if any(rs.rdtype == dns.rdatatype.DS for rs in m.authority):
        return "a DS at an unsigned cut"
    if proofs[0].rdtype == dns.rdatatype.NSEC:
        for rs in proofs:
            if rs.name == cut:
                t = _types_of(rs[0])
                if "NS" in t and "DS" not in t and "SOA" not in t:
                    return None
                return "NSEC at the cut has types %s" % sorted(t)
        return "no NSEC at the cut"
    # NSEC3: the cut's own NSEC3 (NS, no DS), or opt-out (RFC 5155
    # §7.2.7): the closest provable encloser's NSEC3 and an opt-out NSEC3
    # covering the next closer name
    rd0 = proofs[0][0]

    def h(name):
        return _b32(dns.dnssec.nsec3_hash(name, rd0.salt, rd0.iterations,
                                          rd0.algorithm))
    by_hash = {rs.name.labels[0].decode().lower(): rs for rs in proofs}
    own = by_hash.get(h(cut))
    if own is not None:
        t = _types_of(own[0])
        if "NS" in t and "DS" not in t and "SOA" not in t:
            return None
        return "NSEC3 of the cut has types %s" % sorted(t)
    encloser, next_closer = cut.parent(), cut
    while len(encloser) >= len(apex):
        if h(encloser) in by_hash:
            break
        encloser, next_closer = encloser.parent(), encloser
    else:
        return "no NSEC3 matches an encloser of the cut"
    hn = h(next_closer)
    for rs in proofs:
        rd = rs[0]
        nxt = base64.b32encode(rd.next).decode().translate(_B32HEX).lower()
        if _covers_hash(rs.name.labels[0].decode().lower(), nxt, hn):
            if rd.flags & 1:
                return None
            return "the NSEC3 covering %s lacks opt-out" % next_closer
    return "no NSEC3 covers the next closer name %s" % next_closer


_B32HEX = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
                        "0123456789ABCDEFGHIJKLMNOPQRSTUV")

REFERRALS = [("insecure", "x.insecure"), ("insecure2", "x.insecure2"),
             ("zz-insecure", "a.zz-insecure")]


def signed_referral_problem(port, zone):
    """None if the referral to the signed child 'secure' carries its DS
    RRset with a valid RRSIG; else why not."""
    apex = dns.name.from_text(zone.apex)
    cut = dns.name.from_text("secure", apex)
    r = dnsclient.query(port, "x.secure." + zone.apex, "A", edns=0,
                        do=True, payload=4096, tcp=True)
    if r.wire is None:
        return "no reply"
    m = dns.message.from_wire(r.wire)
    if m.flags & dns.flags.AA or m.answer:
        return "not a referral"
    try:
        ds = m.find_rrset(m.authority, cut, dns.rdataclass.IN,
                          dns.rdatatype.DS)
        sigs = m.find_rrset(m.authority, cut, dns.rdataclass.IN,
                            dns.rdatatype.RRSIG, dns.rdatatype.DS)
        dns.dnssec.validate(ds, sigs, validated_keys(port, zone))
    except KeyError:
        return "no DS + RRSIG DS in the referral"
    except dns.dnssec.ValidationFailure as e:
        return "DS does not validate: %r" % e
    return None


def _variant_zones(signed, name):
    s = signed[name]
    return [s.parent, s.child]


VARIANT_NAMES = [v.name for v in dnssec_zones.VARIANTS]


def _server(who, dnssec_peers, request):
    if who == "tandemd":
        return request.getfixturevalue("dnssec_tandemd")
    return dnssec_peers[who]


@pytest.mark.parametrize("variant", VARIANT_NAMES)
@pytest.mark.parametrize("who", ["nsd", "knot", "tandemd"])
def test_validation(signed, dnssec_peers, request, who, variant):
    """delv validates every kind of answer (positive, NXDOMAIN, NODATA,
    empty non-terminal, wildcard, wildcard NODATA, CNAME/DNAME, DS of
    the signed children, no DS at the unsigned one, into the child zone)
    as secure; the referrals to the unsigned children prove the missing
    DS and the referral to the signed child carries a valid DS.  On NSD
    and Knot this proves the expectations; tandemd must match."""
    if shutil.which("delv") is None:
        pytest.skip("delv not installed (bind9-dnsutils)")
    srv = _server(who, dnssec_peers, request)
    zone = signed[variant].parent
    failures = validation_failures(srv.port, zone)
    for cut, qname in REFERRALS:
        why = referral_problem(srv.port, zone, cut, qname)
        if why:
            failures.append(("%s.%s A (unsigned referral)" % (qname,
                                                              zone.apex),
                             why, ""))
    why = signed_referral_problem(srv.port, zone)
    if why:
        failures.append(("x.secure.%s A (signed referral)" % zone.apex,
                         why, ""))
    srv.check_alive()
    assert not failures, "%s, %s: %d of %d checks fail:\n%s" % (
        who, zone.apex, len(failures), len(VALIDATION_CASES) +
        len(REFERRALS) + 1, _report_validation(failures))


def test_validator_catches_bogus(signed, tmp_path):
    """The checks above cannot pass vacuously: the same delv and
    dnspython checks against NSD serving a copy with two broken RRSIGs
    (www A, the NSEC of 'insecure') and a copy whose signatures expired
    in 2020 report them bogus, while the untouched names still
    validate."""
    if shutil.which("delv") is None:
        pytest.skip("delv not installed (bind9-dnsutils)")
    nsec = signed["nsec"].parent
    nsec3 = signed["nsec3"].parent
    tampered = dnssec_zones.tampered_copy(
        nsec, tmp_path / ("%s.tampered" % nsec.apex),
        [("www", "A"), ("insecure", "NSEC")])
    expired = dnssec_zones.expired_copy(
        nsec3, tmp_path / ("%s.expired" % nsec3.apex))
    srv = _start_peer("nsd", str(tmp_path / "nsd"),
                      [(nsec.apex, tampered), (nsec3.apex, expired)])
    try:
        # tampered: www A bogus, the referral's NSEC does not validate
        text = delv(srv.port, nsec, "www." + nsec.apex, "A")
        assert delv_problem(text, "A", "positive", False), text
        assert "fully validated" not in text, text
        why = referral_problem(srv.port, nsec, "insecure", "x.insecure")
        assert why and "does not validate" in why, why
        # ... while the rest of that zone still validates
        text = delv(srv.port, nsec, "mail." + nsec.apex, "A")
        assert delv_problem(text, "A", "positive", False) is None, text
        assert referral_problem(srv.port, nsec, "insecure2",
                                "x.insecure2") is None
        # expired: everything is bogus, positive and negative
        for qname, qtype, kind in (("www", "A", "positive"),
                                   ("nx", "A", "nxdomain")):
            text = delv(srv.port, nsec3, "%s.%s" % (qname, nsec3.apex),
                        qtype)
            assert delv_problem(text, qtype, kind, False), text
            assert "fully validated" not in text, text
        why = referral_problem(srv.port, nsec3, "insecure", "x.insecure")
        assert why and "does not validate" in why, why
    finally:
        srv.stop(check=True)


# ---------------------------------------------------------------------------
# Truncation: EDNS payload 512 with DO (RFC 4035 §3.1.1, RFC 9471 §3)

TRUNC_PAYLOAD = 512
TRUNC_CASES = [("fat", "TXT"), ("nx", "A"), ("a.b.c.nx", "AAAA"),
               ("@", "MX"), ("@", "NS"), ("@", "DNSKEY"),
               ("x.insecure", "A"), ("x.secure", "A"), ("kid", "DS"),
               ("foo.wild", "MX"), ("foo.wild", "TXT"), ("www.dn", "A"),
               ("multi", "ANY")]

# Problems the peers have (allowed for them, not for tandemd):
TRUNCATION_PEER_QUIRKS = {
    # Knot writes a section's RRSIGs after its RRsets, so a TC answer
    # keeps RRsets whose RRSIGs were cut (fat TXT: the TXT RRset without
    # its RRSIG; NSEC3 NXDOMAIN: NSEC3s without RRSIGs).  TC is set, so it
    # is not wrong (RFC 4035 §3.1.1), but tandemd must not.
    ("knot", "rrsig-split-on-tc"),
    # NSD keeps only one of the two glue RRsets of ns1.insecure (A, not
    # AAAA) at 512 octets and clears TC; RFC 9471 §3: in-domain glue
    # that does not fit MUST set TC (Knot does).
    ("nsd", "glue-missing-without-tc"),
}


def _rrsets(rrs):
    """{(owner lowercase, type): [RRs]} and {(owner, covered): [RRSIGs]}
    of a section (summary tuples)."""
    data, sigs = {}, {}
    for rr in rrs:
        if rr[2] == "RRSIG":
            sigs.setdefault((rr[0].lower(), _covers(rr)), []).append(rr)
        else:
            data.setdefault((rr[0].lower(), rr[2]), []).append(rr)
    return data, sigs


def truncation_problems(small, full, wire_len):
    """Problem codes of a reply (summary) to a 512-octet DO query,
    compared with the full answer over TCP."""
    out = []
    if wire_len > TRUNC_PAYLOAD:
        out.append("oversize (%d octets)" % wire_len)
    tc = "TC" in small["flags"]
    for sec in ("answer", "authority", "additional"):
        data, sigs = _rrsets(small[sec])
        fdata, fsigs = _rrsets(full[sec])
        for key, rrs in data.items():
            if sorted(rrs) != sorted(fdata.get(key, [])):
                out.append("partial or foreign RRset %s %s in %s" % (
                    key[0], key[1], sec))
            want = sorted(fsigs.get(key, []))
            if sec != "additional" and sorted(sigs.get(key, [])) != want:
                out.append("rrsig-split-on-tc" if tc else
                           "RRset without its RRSIGs, TC clear")
        for key in sigs:
            if key not in data and sec != "answer":
                out.append("RRSIG %s %s without its RRset in %s" % (
                    key[0], key[1], sec))
    if not tc:
        for sec in ("answer", "authority"):
            if small[sec] != full[sec]:
                out.append("%s differs from the full answer, TC clear" % sec)
        if not set(small["additional"]) <= set(full["additional"]):
            out.append("additional not a subset of the full answer's")
        # RFC 9471: in-domain glue of a referral must all be there
        referral = "AA" not in small["flags"] and not small["answer"]
        if referral:
            cuts = {rr[0].lower() for rr in full["authority"]
                    if rr[2] == "NS"}
            glue = {rr for rr in full["additional"]
                    if rr[2] in ("A", "AAAA") and
                    any(rr[0].lower().endswith("." + c) for c in cuts)}
            if not glue <= set(small["additional"]):
                out.append("glue-missing-without-tc")
    return sorted(set(out))


def trunc_query(srv, qname, qtype, **kw):
    r = srv.query(qname, qtype, edns=0, do=True, **kw)
    if r.wire is None:
        r = srv.query(qname, qtype, edns=0, do=True, **kw)
    return r


def truncation_run(srv, zone):
    """{(qname, qtype): (small summary, full summary, wire length)}"""
    out = {}
    for rel, qtype in TRUNC_CASES:
        qname = zone.apex + "." if rel == "@" else "%s.%s." % (rel,
                                                               zone.apex)
        small = trunc_query(srv, qname, qtype, payload=TRUNC_PAYLOAD)
        full = trunc_query(srv, qname, qtype, payload=4096, tcp=True)
        assert small.msg is not None and full.msg is not None, \
            "%s: no reply to %s %s" % (srv.name, qname, qtype)
        small_s, full_s = (dnsclient.summarize(small),
                           dnsclient.summarize(full))
        if srv.name == "nsd":
            # without the apex NS NSD adds (nsd-authority-ns)
            small_s = nsd_minimal(small_s, qname)[0]
            full_s = nsd_minimal(full_s, qname)[0]
        out[(qname, qtype)] = (small_s, full_s, len(small.wire))
    srv.check_alive()
    return out


def expected_tc(nsd_small, knot_small, full):
    """The TC flag tandemd must set: the peers' when they agree; for a
    referral where they differ, Knot's (RFC 9471 §3, see
    TRUNCATION_PEER_QUIRKS); None when unexplained."""
    n, k = "TC" in nsd_small["flags"], "TC" in knot_small["flags"]
    if n == k:
        return n
    if "AA" not in full["flags"] and not full["answer"]:
        return k
    return None


def _fat_checks(srv, zone):
    """The RRset 'fat' fits in 512 octets without its RRSIG: no TC and the
    whole RRset without DO (EDNS 512, and no EDNS at all), and the
    signature alone (64 octets) would not fit beside it."""
    problems = []
    qname = "fat.%s." % zone.apex
    for opts in (dict(edns=0, payload=512, do=False), dict(edns=None)):
        r = srv.query(qname, "TXT", **opts)
        s = dnsclient.summarize(r)
        if isinstance(s, str) or "TC" in s["flags"] or \
                len([rr for rr in s["answer"] if rr[2] == "TXT"]) != 4 or \
                any(rr[2] == "RRSIG" for rr in s["answer"]):
            problems.append("fat TXT without DO (%s): %s" % (
                opts, dnsclient.format_summary(s)))
        elif len(r.wire) + 64 <= TRUNC_PAYLOAD:
            problems.append("fat TXT is too small to test truncation "
                            "(%d octets)" % len(r.wire))
    return problems


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_truncation_peers(signed, dnssec_peers, variant):
    """NSD and Knot at 512 octets with DO: every problem is one of
    TRUNCATION_PEER_QUIRKS, and their TC flags agree except where
    expected_tc explains it.  (Proves the checks tandemd gets.)"""
    zone = signed[variant].parent
    res = {who: truncation_run(dnssec_peers[who], zone)
           for who in ("nsd", "knot")}
    problems = []
    for who in ("nsd", "knot"):
        problems += ["%s: %s" % (who, p)
                     for p in _fat_checks(dnssec_peers[who], zone)]
        for q, (small, full, n) in res[who].items():
            for p in truncation_problems(small, full, n):
                if (who, p) not in TRUNCATION_PEER_QUIRKS:
                    problems.append("%s %s %s: %s" % (who, q[0], q[1], p))
    for q in res["nsd"]:
        if expected_tc(res["nsd"][q][0], res["knot"][q][0],
                       res["knot"][q][1]) is None:
            problems.append("%s %s: NSD and Knot disagree on TC" % q)
    fat = ("fat.%s." % zone.apex, "TXT")
    for who in ("nsd", "knot"):
        assert "TC" in res[who][fat][0]["flags"], (who, res[who][fat])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_truncation_tandemd(signed, dnssec_peers, dnssec_tandemd, variant):
    """tandemd at 512 octets with DO: TC exactly where the reference sets
    it; a TC answer never holds an RRset without its RRSIGs (fat TXT: TC,
    no TXT without RRSIG TXT) nor a partial RRset; without TC, answer and
    authority are complete, the additional section a subset of complete
    RRsets and all in-domain glue of a referral."""
    zone = signed[variant].parent
    ref = {who: truncation_run(dnssec_peers[who], zone)
           for who in ("nsd", "knot")}
    mine = truncation_run(dnssec_tandemd, zone)
    problems = _fat_checks(dnssec_tandemd, zone)
    for q, (small, full, n) in mine.items():
        for p in truncation_problems(small, full, n):
            problems.append("%s %s: %s\n%s" % (q[0], q[1], p,
                                               dnsclient.format_summary(
                                                   small)))
        want = expected_tc(ref["nsd"][q][0], ref["knot"][q][0],
                           ref["knot"][q][1])
        if want is not None and want != ("TC" in small["flags"]):
            problems.append("%s %s: TC %s, the reference %s\n%s" % (
                q[0], q[1], "set" if not want else "clear",
                "sets it" if want else "does not", dnsclient.format_summary(
                    small)))
        # TC or not, the full answers (TCP) must be the reference's too
        # (test_dnssec_tandemd_vs_reference covers them in detail)
    fat = ("fat.%s." % zone.apex, "TXT")
    small = mine[fat][0]
    assert "TC" in small["flags"], dnsclient.format_summary(small)
    assert not problems, "%d problems:\n%s" % (len(problems),
                                              "\n".join(problems[:12]))


# ---------------------------------------------------------------------------
# Transfers: AXFR carries every DNSSEC record; IXFR of a re-signed zone

XFR_TIMERS = {"refresh-min": 1, "retry-min": 1, "expire-min": 1}
RESIGN_INCEPTION = "20240201000000"


def axfr_rrs(port, apex):
    """The zone by AXFR as a sorted list of replication.rr_key tuples
    (a multiset: a duplicated RR shows), without the closing SOA."""
    rcode, msgs, rrs = replication.transfer(port, apex, "AXFR")
    assert rcode == dns.rcode.NOERROR, "AXFR %s: %s" % (
        apex, dns.rcode.to_text(rcode))
    return sorted(replication.rr_key(*rr) for rr in rrs[:-1])


def file_rrs(zone):
    return sorted(dnssec_zones.rrs_of_file(zone.path, zone.apex))


def _type_counts(rrs):
    out = {}
    for rr in rrs:
        out[rr[3]] = out.get(rr[3], 0) + 1
    return out


def _multiset_diff(a, b, limit=8):
    ca, cb = collections.Counter(a), collections.Counter(b)
    return "only in the first (%d): %s\nonly in the second (%d): %s" % (
        sum((ca - cb).values()), sorted((ca - cb).elements())[:limit],
        sum((cb - ca).values()), sorted((cb - ca).elements())[:limit])


def apply_ixfr(old, rrs, apex):
    """Apply an incremental IXFR answer (RRs in order) to old (a list of
    rr_key tuples): the new zone as a sorted list.  AssertionError when
    a deletion removes what is not there."""
    zname = dns.name.from_text(apex)
    cur = collections.Counter(old)
    adding = None
    for rr in rrs[1:-1]:
        k = replication.rr_key(*rr)
        if rr[3] == dns.rdatatype.SOA and rr[0] == zname:
            adding = adding is False    # alternates: delete, add, ...
        if adding:
            cur[k] += 1
        else:
            assert cur[k] > 0, "IXFR deletes %s, which is not in the " \
                               "old zone" % (k,)
            cur[k] -= 1
    return sorted(cur.elements())


def test_axfr_equals_signed_file(signed, tmp_path, build_dir, need,
                                 started):
    """AXFR from tandemd of every signed zone (parent and child, six
    signing variants) is exactly the signed zone file: every RRSIG,
    NSEC, NSEC3, NSEC3PARAM and DNSKEY, as a multiset."""
    need("axfr_out")
    zones = [z for s in signed.values() for z in (s.parent, s.child)]
    t = replication.TandemdNode(
        tmp_path / "t", build_dir,
        [replication.ZoneConf(z.apex, "primary", file=z.path,
                              allow_transfer=[replication.Acl(None)])
         for z in zones])
    t.start()
    started.append(t)
    problems = []
    for z in zones:
        want = file_rrs(z)
        got = axfr_rrs(t.port, z.apex)
        if got != want:
            problems.append("%s: AXFR differs from the file (types in "
                            "file %s, in AXFR %s)\n%s" % (
                                z.apex, _type_counts(want),
                                _type_counts(got), _multiset_diff(want, got)))
        counts = _type_counts(got)
        for rdtype in ("RRSIG", "DNSKEY", "NSEC3PARAM" if
                       z.variant.nsec3 else "NSEC",
                       "NSEC3" if z.variant.nsec3 else "NSEC"):
            if not counts.get(rdtype):
                problems.append("%s: no %s in the AXFR" % (z.apex, rdtype))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("variant", ["nsec", "nsec3", "boptout"])
def test_ixfr_resigned(signed, tmp_path, build_dir, need, started, variant):
    """tandemd primary of a signed zone; the zone is re-signed (serial
    2, new inception: every RRSIG changes; one name added, so the NSEC /
    NSEC3 chain changes) and reloaded: IXFR from serial 1 is incremental
    and turns the old AXFR into the new one; a tandemd secondary gets
    serial 2 and answers DO queries exactly as the primary, with the new
    signatures."""
    need("axfr_out", "ixfr_out", "xfr_in")
    zone = signed[variant].parent.copy_to(tmp_path / "zone")
    apex = zone.apex
    pport, sport = servers.free_port(), servers.free_port()
    prim = replication.TandemdNode(
        tmp_path / "p", build_dir,
        [replication.ZoneConf(apex, "primary", file=zone.path,
                              allow_transfer=[replication.Acl(None)],
                              notify=[replication.Remote(sport)])],
        port=pport)
    sec = replication.TandemdNode(
        tmp_path / "s", build_dir,
        [replication.ZoneConf(apex, "secondary",
                              primaries=[replication.Remote(pport)],
                              allow_notify=[replication.Acl(None)],
                              allow_transfer=[replication.Acl(None)])],
        port=sport, timers=XFR_TIMERS)
    prim.start()
    started.append(prim)
    sec.start()
    started.append(sec)
    replication.wait_serial(sec, apex, 1, timeout=10)
    old = axfr_rrs(pport, apex)
    assert old == file_rrs(zone), _multiset_diff(old, file_rrs(zone))
    assert axfr_rrs(sport, apex) == old

    before = os.stat(zone.path).st_mtime
    zone.sign(serial=2, inception=RESIGN_INCEPTION,
              extra=zone.extra + 'added IN TXT "new in serial 2"\n')
    os.utime(zone.path, (before + 2, before + 2))   # a visible change
    prim.reload(apex)
    replication.wait_serial(prim, apex, 2, timeout=10)
    new = axfr_rrs(pport, apex)
    assert new == file_rrs(zone), _multiset_diff(new, file_rrs(zone))

    rcode, msgs, rrs = replication.transfer(pport, apex, "IXFR", serial=1)
    assert rcode == dns.rcode.NOERROR
    assert replication.ixfr_is_incremental(rrs, apex), \
        "IXFR from 1 is not incremental: %s" % [str(r[0]) for r in rrs[:3]]
    got = apply_ixfr(old, rrs, apex)
    assert got == new, "old AXFR + IXFR != new AXFR\n" + \
        _multiset_diff(got, new)
    old_sigs = {rr for rr in old if rr[3] == "RRSIG"}
    assert not old_sigs & set(new), "RRSIGs of serial 1 still in serial 2"

    replication.wait_serial(sec, apex, 2, timeout=10)
    sec_rrs = axfr_rrs(sport, apex)
    assert sec_rrs == new, _multiset_diff(sec_rrs, new)
    print("secondary took serial 2 by %s" % (
        "IXFR" if "IXFR" in sec.log_text() else "AXFR (no IXFR in its log)"))

    queries = []
    zone_queries(zone, lambda q, t: queries.append(Case(q, t, "do",
                                                        variant)))
    for rel in ("nx", "foo.wild", "x.insecure", "x.secure", "added"):
        for t in ("A", "TXT", "DS"):
            queries.append(Case("%s.%s." % (rel, apex), t, "do", variant))
    a = _run_chunk(pport, queries)
    b = _run_chunk(sport, queries)
    diffs = [(c, x, y) for c, x, y in zip(queries, a, b) if x != y]
    assert not diffs, "%d DO answers differ between primary and " \
        "secondary, e.g. %s\n primary:\n%s\n secondary:\n%s" % (
            len(diffs), describe(diffs[0][0]),
            dnsclient.format_summary(diffs[0][1]),
            dnsclient.format_summary(diffs[0][2]))
    # real content: the new signatures are served, with DO
    for srv in (prim, sec):
        r = srv.query("added." + apex, "TXT", edns=0, do=True)
        sigs = [rr for rr in dnsclient.summarize(r)["answer"]
                if rr[2] == "RRSIG" and _covers(rr) == "TXT"]
        assert sigs and RESIGN_INCEPTION in sigs[0][4], \
            "%s: added TXT without its new RRSIG:\n%s" % (srv.name, r)
    nsigs = sum(1 for s in a if not isinstance(s, str)
                for rr in s["answer"] + s["authority"] if rr[2] == "RRSIG")
    assert nsigs > len(queries), "too few RRSIGs in the DO answers (%d)" \
        % nsigs
