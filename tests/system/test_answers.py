"""Explicit per-behaviour tests of query answering.

Every test that takes the `server` fixture runs against tandemd (skipped
until BUILD/server/tandemd exists), NSD and Knot: NSD and Knot prove today
that the expectations are right.  Where NSD or Knot deliberately differ
from what tandemd must do, the test says so with `server.name == ...` and
the reason (see also KNOWN_DIFFERENCES in test_differential.py).

Zones: tests/system/zones (example.com, child.example.com, example.org and
example. -- the RFC 4592 §2.2.1 zone).
"""

import random
import socket
import struct
import time

import dns.edns
import dns.flags
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

import dnsclient
import servers
from servers import SERVER_NAMES, SHARED_KNOBS
from dnsclient import make_query

TRANSPORT = pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN = (
    dns.rcode.NOERROR, dns.rcode.FORMERR, dns.rcode.SERVFAIL,
    dns.rcode.NXDOMAIN, dns.rcode.NOTIMP, dns.rcode.REFUSED,
    dns.rcode.YXDOMAIN)
BADVERS = dns.rcode.BADVERS
OPT_NSID = 3

EXAMPLE_COM_SOA = ("ns1.example.com. hostmaster.example.com. 2024010101 "
                   "7200 3600 1209600 300")


# ---------------------------------------------------------------------------
# helpers

def rrs(reply, section="answer"):
    """Set of (owner text as sent, type, TTL, rdata text) of a section."""
    out = set()
    for rrset in getattr(reply.msg, section):
        for rd in rrset:
            out.add((rrset.name.to_text(), dns.rdatatype.to_text(
                rrset.rdtype), rrset.ttl, rd.to_text()))
    return out


def types_in(reply, section="answer"):
    return {t for (_, t, _, _) in rrs(reply, section)}


def ok(reply, rcode=NOERROR, aa=True):
    """Assert a parseable reply with this RCODE and AA, QR set, RA clear."""
    assert reply.wire is not None, "no reply"
    assert reply.msg is not None, "unparseable reply: %s" % reply.error
    assert reply.rcode == rcode, "rcode %s, expected %s\n%r" % (
        dns.rcode.to_text(reply.rcode), dns.rcode.to_text(rcode), reply)
    assert reply.flag("QR")
    assert reply.flag("AA") == aa, "AA=%s, expected %s\n%r" % (
        reply.flag("AA"), aa, reply)
    assert not reply.flag("RA"), "RA must never be set"
    return reply


def minimal_authority(server, reply):
    """Positive answers carry nothing in authority -- except NSD, whose
    default minimal-responses: no adds the apex NS RRset
    (known difference nsd-authority-ns; tandemd: like Knot)."""
    if server.name == "nsd":
        assert types_in(reply, "authority") <= {"NS"}
    else:
        assert not rrs(reply, "authority"), reply


def soa_in_authority(reply, apex, ttl):
    soa = [rr for rr in rrs(reply, "authority") if rr[1] == "SOA"]
    assert len(soa) == 1 and len(rrs(reply, "authority")) == 1, reply
    owner, _, got_ttl, _ = soa[0]
    assert owner.lower() == apex.lower()
    assert got_ttl == ttl, "negative TTL %d, expected %d" % (got_ttl, ttl)


def still_answers(server):
    """The server is alive and answers (after abuse)."""
    server.check_alive()
    r = server.query("example.com", "SOA")
    ok(r)


def raw_query(qname="www.example.com", qtype="A", **kw):
    return make_query(qname, qtype, **kw).to_wire()


# ---------------------------------------------------------------------------
# exact answers, case, CNAME, DNAME

@TRANSPORT
def test_exact_answer_authoritative(server, tcp):
    r = ok(server.query("www.example.com", "A", tcp=tcp))
    assert rrs(r) == {("www.example.com.", "A", 3600, "192.0.2.80")}
    minimal_authority(server, r)


@TRANSPORT
def test_rrset_with_own_ttl(server, tcp):
    r = ok(server.query("ftp.example.com", "A", tcp=tcp))
    assert rrs(r) == {("ftp.example.com.", "A", 300, "192.0.2.21")}
    r = ok(server.query("ttl0.example.com", "A", tcp=tcp))
    assert rrs(r) == {("ttl0.example.com.", "A", 0, "192.0.2.22")}


@TRANSPORT
def test_qname_case_preserved(server, tcp):
    r = ok(server.query("wWw.ExAmPlE.cOm", "A", tcp=tcp))
    assert r.msg.question[0].name.to_text() == "wWw.ExAmPlE.cOm."
    assert rrs(r) == {("wWw.ExAmPlE.cOm.", "A", 3600, "192.0.2.80")}


def test_owner_stored_with_case_answered_in_query_case(server):
    # the zone has "MixedCase"; the answer echoes the case of the query
    r = ok(server.query("mixedcase.EXAMPLE.com", "A"))
    assert rrs(r) == {("mixedcase.EXAMPLE.com.", "A", 3600, "192.0.2.153")}


@pytest.mark.parametrize("qname,addr", [
    ("weird\\.name.example.com", "192.0.2.150"),
    ("sp\\032ace.example.com", "192.0.2.151"),
    ("nul\\000byte.example.com", "192.0.2.152"),
    ("bin\\255\\128.example.com", "192.0.2.154"),
])
def test_escaped_owner_names(server, qname, addr):
    r = ok(server.query(qname, "A"))
    assert rrs(r) == {(dns.name.from_text(qname).to_text(), "A", 3600, addr)}
    # the label "weird.name" is not the two labels weird + name
    if "weird" in qname:
        ok(server.query("name.example.com", "A"), NXDOMAIN)


@TRANSPORT
def test_cname_chain_followed_in_zone(server, tcp):
    r = ok(server.query("c1.example.com", "A", tcp=tcp))
    assert rrs(r) == {
        ("c1.example.com.", "CNAME", 3600, "c2.example.com."),
        ("c2.example.com.", "CNAME", 3600, "c3.example.com."),
        ("c3.example.com.", "CNAME", 3600, "www.example.com."),
        ("www.example.com.", "A", 3600, "192.0.2.80")}
    minimal_authority(server, r)


def test_cname_query_for_cname_type_not_followed(server):
    r = ok(server.query("c1.example.com", "CNAME"))
    assert rrs(r) == {("c1.example.com.", "CNAME", 3600, "c2.example.com.")}


def test_long_cname_chain(server):
    """13 links ch0 -> ... -> ch12 -> www: known difference
    cname-chain-length -- Knot stops after 5 CNAMEs, tandemd follows the
    chain to its end like NSD."""
    r = ok(server.query("ch0.example.com", "A"))
    cnames = [rr for rr in rrs(r) if rr[1] == "CNAME"]
    if server.name == "knot":
        assert len(cnames) == 5
        return
    assert len(cnames) == 13
    assert ("www.example.com.", "A", 3600, "192.0.2.80") in rrs(r)


def test_cname_to_nxdomain(server):
    # RFC 6604 §3: the RCODE is that of the last name in the chain
    r = ok(server.query("cnx.example.com", "A"), NXDOMAIN)
    assert rrs(r) == {("cnx.example.com.", "CNAME", 3600,
                       "nothere.example.com.")}
    soa_in_authority(r, "example.com.", 300)


def test_cname_to_nodata(server):
    r = ok(server.query("cnodata.example.com", "A"))
    assert rrs(r) == {("cnodata.example.com.", "CNAME", 3600,
                       "rptxt.example.com.")}
    soa_in_authority(r, "example.com.", 300)


@TRANSPORT
def test_cname_loop_terminates(server, tcp):
    r = ok(server.query("cloop1.example.com", "A", tcp=tcp))
    assert rrs(r) == {
        ("cloop1.example.com.", "CNAME", 3600, "cloop2.example.com."),
        ("cloop2.example.com.", "CNAME", 3600, "cloop1.example.com.")}
    r = ok(server.query("cself.example.com", "A", tcp=tcp))
    assert rrs(r) == {("cself.example.com.", "CNAME", 3600,
                       "cself.example.com.")}


def test_cname_leaving_the_zones(server):
    r = ok(server.query("cext.example.com", "A"))
    assert rrs(r) == {("cext.example.com.", "CNAME", 3600,
                       "www.example.net.")}
    assert not rrs(r, "authority")


def test_cname_into_other_served_zone(server):
    """Known difference cross-zone-chase: NSD continues into example.org,
    Knot (and tandemd) stop at the zone boundary."""
    r = ok(server.query("corg.example.com", "A"))
    first = ("corg.example.com.", "CNAME", 3600, "www.example.org.")
    if server.name == "nsd":
        assert rrs(r) == {first, ("www.example.org.", "A", 3600,
                                  "192.0.2.210")}
    else:
        assert rrs(r) == {first}
        assert not rrs(r, "authority")


def test_cname_to_delegation_gives_referral_data(server):
    r = ok(server.query("cdeleg.example.com", "A"))
    assert rrs(r) == {("cdeleg.example.com.", "CNAME", 3600,
                       "www.sub.example.com.")}
    assert types_in(r, "authority") == {"NS"}
    assert {rr[0] for rr in rrs(r, "authority")} == {"sub.example.com."}


def test_cname_to_wildcard(server):
    r = ok(server.query("cwild.example.com", "A"))
    assert rrs(r) == {
        ("cwild.example.com.", "CNAME", 3600, "foo.wild.example.com."),
        ("foo.wild.example.com.", "A", 3600, "192.0.2.200")}


@TRANSPORT
def test_dname_synthesis(server, tcp):
    """RFC 6672 §2/§3: the DNAME, the synthesized CNAME with the DNAME's
    TTL (7200, not the zone's 3600), then the target's data."""
    r = ok(server.query("www.dn.example.com", "A", tcp=tcp))
    assert rrs(r) == {
        ("dn.example.com.", "DNAME", 7200, "target.example.com."),
        ("www.dn.example.com.", "CNAME", 7200, "www.target.example.com."),
        ("www.target.example.com.", "A", 3600, "192.0.2.140")}
    minimal_authority(server, r)


def test_dname_synthesis_keeps_query_case(server):
    r = ok(server.query("WWW.DN.example.com", "A"))
    cname = [rr for rr in rrs(r) if rr[1] == "CNAME"]
    assert len(cname) == 1
    owner, _, ttl, target = cname[0]
    assert owner == "WWW.DN.example.com." and ttl == 7200
    assert target.lower() == "www.target.example.com."


def test_dname_to_nxdomain(server):
    r = ok(server.query("nx.dn.example.com", "A"), NXDOMAIN)
    assert ("dn.example.com.", "DNAME", 7200, "target.example.com.") \
        in rrs(r)
    soa_in_authority(r, "example.com.", 300)


def test_dname_owner_itself_is_not_rewritten(server):
    r = ok(server.query("dn.example.com", "DNAME"))
    assert rrs(r) == {("dn.example.com.", "DNAME", 7200,
                       "target.example.com.")}
    r = ok(server.query("dn.example.com", "A"))
    assert not rrs(r)
    soa_in_authority(r, "example.com.", 300)


def test_dname_out_of_zone(server):
    r = ok(server.query("www.dnext.example.com", "A"))
    assert rrs(r) == {
        ("dnext.example.com.", "DNAME", 3600, "example.net."),
        ("www.dnext.example.com.", "CNAME", 3600, "www.example.net.")}


@TRANSPORT
def test_dname_overflow_yxdomain(server, tcp):
    """RFC 6672 §2.2: a result longer than 255 octets -> YXDOMAIN, the
    DNAME in the answer, no CNAME."""
    qname = "a" * 60 + ".dnlong.example.com"
    r = ok(server.query(qname, "A", tcp=tcp), YXDOMAIN)
    assert types_in(r) == {"DNAME"}
    # a short prefix still fits
    r = ok(server.query("x.dnlong.example.com", "A", tcp=tcp))
    assert types_in(r) == {"DNAME", "CNAME"}


# ---------------------------------------------------------------------------
# wildcards (RFC 4592)

RFC4592_CASES = [
    # RFC 4592 §2.2.1 "The following responses would be synthesized ..."
    ("host3.example.", "MX", NOERROR, {("host3.example.", "MX", 3600,
                                        "10 host1.example.")}),
    ("host3.example.", "A", NOERROR, set()),          # NODATA (wildcard)
    ("foo.bar.example.", "TXT", NOERROR, {("foo.bar.example.", "TXT", 3600,
                                           '"this is a wildcard"')}),
    # "... would not be synthesized"
    ("host1.example.", "MX", NOERROR, set()),         # name exists
    ("sub.*.example.", "MX", NOERROR, set()),         # name exists
    ("_telnet._tcp.host1.example.", "SRV", NXDOMAIN, set()),  # ENT encloser
    ("ghost.*.example.", "MX", NXDOMAIN, set()),      # *.example is encloser
    # and more
    ("_ssh._tcp.host3.example.", "TXT", NOERROR, {(
        "_ssh._tcp.host3.example.", "TXT", 3600, '"this is a wildcard"')}),
    ("_tcp.host1.example.", "A", NOERROR, set()),     # empty non-terminal
    ("*.example.", "TXT", NOERROR, {("*.example.", "TXT", 3600,
                                     '"this is a wildcard"')}),
]


@pytest.mark.parametrize("qname,qtype,rcode,answer", RFC4592_CASES,
                         ids=["%s/%s" % (c[0], c[1]) for c in RFC4592_CASES])
def test_rfc4592_examples(server, qname, qtype, rcode, answer):
    r = ok(server.query(qname, qtype), rcode)
    assert rrs(r) == answer
    if not answer:
        soa_in_authority(r, "example.", 3600)


def test_rfc4592_wildcard_below_delegation_is_referral(server):
    r = ok(server.query("host.subdel.example", "A"), aa=False)
    assert not rrs(r)
    assert {rr[3] for rr in rrs(r, "authority")} == {"ns.example.com.",
                                                     "ns.example.net."}


@TRANSPORT
def test_wildcard_synthesis(server, tcp):
    r = ok(server.query("foo.wild.example.com", "A", tcp=tcp))
    assert rrs(r) == {("foo.wild.example.com.", "A", 3600, "192.0.2.200")}
    r = ok(server.query("a.b.wild.example.com", "TXT", tcp=tcp))
    assert rrs(r) == {("a.b.wild.example.com.", "TXT", 3600,
                       '"wildcard"')}


def test_wildcard_mx_with_additional(server):
    r = ok(server.query("foo.wild.example.com", "MX"))
    assert rrs(r) == {("foo.wild.example.com.", "MX", 3600,
                       "10 mail.example.com.")}
    add = rrs(r, "additional")
    assert ("mail.example.com.", "A", 3600, "192.0.2.25") in add
    assert ("mail.example.com.", "AAAA", 3600, "2001:db8::25") in add


def test_wildcard_keeps_query_case(server):
    r = ok(server.query("Foo.Wild.Example.Com", "A"))
    assert rrs(r) == {("Foo.Wild.Example.Com.", "A", 3600, "192.0.2.200")}


def test_exact_name_beats_wildcard(server):
    r = ok(server.query("explicit.wild.example.com", "A"))
    assert rrs(r) == {("explicit.wild.example.com.", "A", 3600,
                       "192.0.2.201")}
    r = ok(server.query("explicit.wild.example.com", "MX"))   # NODATA
    assert not rrs(r)


def test_empty_non_terminal_blocks_wildcard(server):
    # ent2.wild exists as an empty non-terminal (x.ent2.wild has data)
    r = ok(server.query("ent2.wild.example.com", "A"))        # NODATA
    assert not rrs(r)
    soa_in_authority(r, "example.com.", 300)
    r = ok(server.query("y.ent2.wild.example.com", "A"), NXDOMAIN)
    soa_in_authority(r, "example.com.", 300)


def test_wildcard_cname_followed(server):
    r = ok(server.query("x.wcname.example.com", "A"))
    assert rrs(r) == {
        ("x.wcname.example.com.", "CNAME", 3600, "www.example.com."),
        ("www.example.com.", "A", 3600, "192.0.2.80")}
    r = ok(server.query("x.wcchain.example.com", "A"))
    assert ("www.example.com.", "A", 3600, "192.0.2.80") in rrs(r)
    assert len(rrs(r)) == 5


# ---------------------------------------------------------------------------
# referrals and glue

@TRANSPORT
def test_referral_with_in_bailiwick_glue(server, tcp):
    r = ok(server.query("www.sub.example.com", "A", tcp=tcp), aa=False)
    assert not rrs(r)
    assert rrs(r, "authority") == {
        ("sub.example.com.", "NS", 3600, "ns1.sub.example.com."),
        ("sub.example.com.", "NS", 3600, "ns2.sub.example.com.")}
    assert rrs(r, "additional") == {
        ("ns1.sub.example.com.", "A", 3600, "192.0.2.101"),
        ("ns1.sub.example.com.", "AAAA", 3600, "2001:db8::101"),
        ("ns2.sub.example.com.", "A", 3600, "192.0.2.102")}


def test_referral_with_do_unsigned_zone(server):
    # example.com is not signed: no DNSSEC processing, so a DO=1 referral
    # carries the NS RRset only, even though the cut has a DS RRset (NSD
    # and Knot agree)
    r = ok(server.query("www.sub.example.com", "A", edns=0, do=True),
           aa=False)
    assert types_in(r, "authority") == {"NS"}
    assert r.msg.ednsflags & dns.flags.DO


def test_glue_is_not_authoritative(server):
    # data at or below the cut is only glue: a referral, never an answer
    for qname in ("ns1.sub.example.com", "occluded.sub.example.com",
                  "sub.example.com"):
        r = ok(server.query(qname, "A"), aa=False)
        assert not rrs(r), qname
        assert types_in(r, "authority") == {"NS"}, qname


def test_ds_at_cut_answered_by_parent(server):
    r = ok(server.query("sub.example.com", "DS"))
    assert types_in(r) == {"DS"}
    # the DS of a served child zone comes from the parent: NODATA there
    # (RFC 4035 §3.1.4.1)
    r = ok(server.query("child.example.com", "DS"))
    assert not rrs(r)
    soa_in_authority(r, "example.com.", 300)


def test_referral_out_of_bailiwick_ns_no_glue(server):
    r = ok(server.query("x.ext.example.com", "A"), aa=False)
    assert {rr[3] for rr in rrs(r, "authority")} == {
        "ns1.example.net.", "ns2.example.org."}
    assert not rrs(r, "additional")


def test_referral_sibling_addresses(server):
    r = ok(server.query("x.sib.example.com", "A"), aa=False)
    add = rrs(r, "additional")
    assert ("ns1.example.com.", "A", 3600, "192.0.2.53") in add
    assert ("ns1.sub.example.com.", "A", 3600, "192.0.2.101") in add


# ---------------------------------------------------------------------------
# negative answers (RFC 2308 §3: SOA TTL = min(SOA TTL, SOA MINIMUM))

@TRANSPORT
@pytest.mark.parametrize("qname,apex,ttl", [
    ("nx.example.com", "example.com.", 300),         # min(3600, 300)
    ("a.b.nx.example.com", "example.com.", 300),
    ("x.www.example.com", "example.com.", 300),
    ("nx.example.org", "example.org.", 600),         # min(600, 3600)
    ("nx.child.example.com", "child.example.com.", 900),  # min(1800, 900)
    ("_x._tcp.host1.example", "example.", 3600),   # min(3600, 3600)
])
def test_nxdomain(server, tcp, qname, apex, ttl):
    r = ok(server.query(qname, "A", tcp=tcp), NXDOMAIN)
    assert not rrs(r)
    soa_in_authority(r, apex, ttl)
    assert not rrs(r, "additional")


@TRANSPORT
@pytest.mark.parametrize("qname,qtype,apex,ttl", [
    ("www.example.com", "MX", "example.com.", 300),
    ("ent.example.com", "A", "example.com.", 300),    # empty non-terminal
    ("b.ent.example.com", "TXT", "example.com.", 300),
    ("www.example.org", "TXT", "example.org.", 600),
    ("example.com", "DS", "example.com.", 300),
])
def test_nodata(server, tcp, qname, qtype, apex, ttl):
    r = ok(server.query(qname, qtype, tcp=tcp))
    assert not rrs(r)
    soa_in_authority(r, apex, ttl)


# ---------------------------------------------------------------------------
# additional section

def test_mx_additional(server):
    r = ok(server.query("example.com", "MX"))
    add = rrs(r, "additional")
    for rr in [("mail.example.com.", "A", 3600, "192.0.2.25"),
               ("mail.example.com.", "AAAA", 3600, "2001:db8::25"),
               ("mail2.example.com.", "A", 3600, "192.0.2.26")]:
        assert rr in add
    assert not any(o.startswith("mx.example.net") for (o, _, _, _) in add)


def test_ns_additional(server):
    r = ok(server.query("example.com", "NS"))
    assert len(rrs(r)) == 3
    add = rrs(r, "additional")
    assert ("ns1.example.com.", "A", 3600, "192.0.2.53") in add
    assert ("ns1.example.com.", "AAAA", 3600, "2001:db8::53") in add
    assert ("ns2.example.com.", "A", 3600, "192.0.2.54") in add


def test_srv_additional(server):
    r = ok(server.query("_sip._udp.example.com", "SRV"))
    add = rrs(r, "additional")
    assert ("sip.example.com.", "A", 3600, "192.0.2.60") in add
    assert ("sip.example.com.", "AAAA", 3600, "2001:db8::60") in add


# ---------------------------------------------------------------------------
# zone selection, REFUSED

@TRANSPORT
def test_longest_match_zone_selection(server, tcp):
    r = ok(server.query("www.child.example.com", "A", tcp=tcp))
    assert rrs(r) == {("www.child.example.com.", "A", 1800, "192.0.2.112")}
    r = ok(server.query("child.example.com", "SOA", tcp=tcp))
    assert {rr[0] for rr in rrs(r)} == {"child.example.com."}
    assert rrs(r) and list(rrs(r))[0][2] == 1800


@TRANSPORT
@pytest.mark.parametrize("qname", ["www.example.net", "example.net", "com",
                                   ".", "xexample.com", "org"])
def test_refused_outside_zones(server, tcp, qname):
    r = ok(server.query(qname, "A", tcp=tcp, rd=True), REFUSED, aa=False)
    assert not rrs(r) and not rrs(r, "authority")
    assert r.flag("RD")


# ---------------------------------------------------------------------------
# QTYPE ANY (RFC 8482), QCLASS CH

@TRANSPORT
def test_any_returns_one_rrset(server, tcp):
    """Both NSD and Knot answer ANY with one RRset, over UDP and TCP; the
    lowest type below the apex (multi: A,AAAA,TXT,MX -> A)."""
    r = ok(server.query("multi.example.com", "ANY", tcp=tcp))
    assert types_in(r) == {"A"} and len(rrs(r)) == 3
    r = ok(server.query("www.example.com", "ANY", tcp=tcp))
    assert types_in(r) == {"A"}


def test_any_at_apex(server):
    """Known difference any-at-apex: NSD answers the SOA, Knot and tandemd
    the lowest type (A)."""
    r = ok(server.query("example.com", "ANY"))
    assert len({(o, t) for (o, t, _, _) in rrs(r)}) == 1
    assert types_in(r) == ({"SOA"} if server.name == "nsd" else {"A"})


def test_any_nxdomain(server):
    r = ok(server.query("nx.example.com", "ANY"), NXDOMAIN)
    soa_in_authority(r, "example.com.", 300)


@pytest.mark.parametrize("qname,knob", [
    ("id.server", "identity"), ("hostname.bind", "identity"),
    ("version.bind", "version"), ("version.server", "version"),
    ("ID.SERVER", "identity"),
])
def test_chaos_txt(server, qname, knob):
    r = ok(server.query(qname, "TXT", qclass="CH"), aa=False)
    assert r.msg.answer[0].rdclass == dns.rdataclass.CH
    assert rrs(r) == {(qname + ".", "TXT", 0, '"%s"' % SHARED_KNOBS[knob])}


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_chaos_hidden_is_refused(make_server, name):
    srv = make_server(name, identity="hide", version="hide")
    for qname in ("id.server", "hostname.bind", "version.bind",
                  "version.server"):
        r = ok(srv.query(qname, "TXT", qclass="CH"), REFUSED, aa=False)
        assert not rrs(r)


def test_chaos_unknown_name_refused(server):
    ok(server.query("authors.bind", "TXT", qclass="CH"), REFUSED, aa=False)
    ok(server.query("id.server", "A", qclass="CH"), REFUSED, aa=False)


# ---------------------------------------------------------------------------
# header: opcodes, QR, QDCOUNT, RD/RA

@pytest.mark.parametrize("opcode", [1, 2, 3, 6, 7, 15])
def test_unknown_opcode_notimp(server, opcode):
    wire = raw_query(opcode=opcode)
    r = server.send_raw(wire)
    h = r.header
    assert h is not None, "no reply to opcode %d" % opcode
    assert h["qr"] and h["opcode"] == opcode and h["rcode"] == NOTIMP
    assert h["id"] == struct.unpack("!H", wire[:2])[0]
    still_answers(server)


def test_update_notimp(server):
    """UPDATE (opcode 5) is not supported by tandemd (nor NSD): NOTIMP
    (RFC 2136 §3).  Knot implements RFC 2136 and refuses it for lack of an
    ACL (NOTAUTH)."""
    r = server.send_raw(raw_query("example.com", "SOA",
                                  opcode=dns.opcode.UPDATE))
    h = r.header
    assert h is not None and h["qr"]
    if server.name == "knot":
        assert h["rcode"] in (FORMERR, dns.rcode.NOTAUTH, REFUSED)
    else:
        assert h["rcode"] == NOTIMP


@TRANSPORT
def test_qr_set_is_dropped(server, tcp):
    q = make_query("www.example.com", "A")
    q.flags |= dns.flags.QR
    r = server.send_raw(q.to_wire(), tcp=tcp, timeout=0.5)
    assert r.wire is None, "a message with QR=1 must not be answered"
    still_answers(server)


def _with_qdcount(wire, n):
    return wire[:4] + struct.pack("!H", n) + wire[6:]


@TRANSPORT
def test_qdcount_zero_formerr(server, tcp):
    """QDCOUNT=0 (a bare header): FORMERR.  NSD closes the TCP connection
    without an answer instead."""
    wire = raw_query()
    r = server.send_raw(_with_qdcount(wire, 0)[:12], tcp=tcp, timeout=1.0)
    if server.name == "nsd" and tcp:
        assert r.wire is None or r.header["rcode"] == FORMERR
    else:
        assert r.header is not None and r.header["rcode"] == FORMERR
    still_answers(server)


@TRANSPORT
def test_qdcount_two_formerr(server, tcp):
    """QDCOUNT=2 (RFC 9619): FORMERR.  Knot 3.2 drops such queries."""
    wire = raw_query()
    r = server.send_raw(_with_qdcount(wire, 2) + wire[12:], tcp=tcp,
                        timeout=1.0)
    if server.name == "knot":
        assert r.wire is None or r.header["rcode"] == FORMERR
    else:
        assert r.header is not None and r.header["rcode"] == FORMERR
    still_answers(server)


@TRANSPORT
@pytest.mark.parametrize("rd", [False, True], ids=["rd0", "rd1"])
@pytest.mark.parametrize("qname,rcode,aa", [
    ("www.example.com", NOERROR, True),
    ("nx.example.com", NXDOMAIN, True),
    ("www.sub.example.com", NOERROR, False),
    ("www.example.net", REFUSED, False),
])
def test_rd_copied_ra_clear(server, tcp, rd, qname, rcode, aa):
    r = ok(server.query(qname, "A", tcp=tcp, rd=rd), rcode, aa=aa)
    assert r.flag("RD") == rd
    assert not r.flag("RA")
    assert r.msg.id == r.query.id


# ---------------------------------------------------------------------------
# malformed packets: FORMERR or dropped, never a crash

def _malformed():
    q = raw_query()
    hdr = q[:12]
    return [
        ("empty", b""),
        ("3 octets", q[:3]),
        ("11 octets", q[:11]),
        ("header only, QDCOUNT=1", hdr),
        ("qname cut", q[:20]),
        ("no qtype", q[:12 + 17]),
        ("qclass cut", q[:-1]),
        ("pointer loop", hdr + b"\xc0\x0c\x00\x01\x00\x01"),
        ("pointer forward", hdr + b"\xc0\x20\x00\x01\x00\x01"),
        ("label type 01", hdr + b"\x41abc\x00\x00\x01\x00\x01"),
        ("label type 10", hdr + b"\x81abc\x00\x00\x01\x00\x01"),
        ("qname > 255", hdr + (b"\x3f" + b"a" * 63) * 5 +
         b"\x00\x00\x01\x00\x01"),
        ("label runs off the end", hdr + b"\x3fabc"),
        ("ANCOUNT=1, no RR", q[:6] + b"\x00\x01" + q[8:]),
        ("ARCOUNT=1, no RR", q[:10] + b"\x00\x01" + q[12:]),
        ("OPT rdlen too long", q[:10] + b"\x00\x01" + q[12:] +
         b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x10\x00\x03"),
        ("OPT option runs off", q[:10] + b"\x00\x01" + q[12:] +
         b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x04\x00\x03\x00\x09"),
        ("all ones", b"\xff" * 40),
    ]


MALFORMED = _malformed()


@TRANSPORT
@pytest.mark.parametrize("label,wire", MALFORMED,
                         ids=[m[0] for m in MALFORMED])
def test_malformed_formerr_or_dropped(server, tcp, label, wire):
    if tcp and not wire:
        pytest.skip("a zero-length TCP message is the framing test's job")
    r = server.send_raw(wire, tcp=tcp, timeout=0.5)
    if r.wire is not None:
        h = r.header
        assert h is not None, "reply shorter than a header"
        assert h["qr"]
        assert h["rcode"] in (FORMERR, NOTIMP), "rcode %d to %s" % (
            h["rcode"], label)
    still_answers(server)


def test_trailing_garbage_is_harmless(server):
    """Octets after the question: NSD ignores them and answers, Knot says
    FORMERR; either is acceptable (tandemd: either), never a crash."""
    r = server.send_raw(raw_query() + b"\x00\x01\x02", timeout=1.0)
    if r.wire is not None:
        assert r.header["rcode"] in (NOERROR, FORMERR)
    still_answers(server)


def _mutations(seed, count):
    """Deterministic pseudo-random mutations of a valid query; the ID is
    the index, QR is kept clear."""
    rnd = random.Random(seed)
    base = raw_query("www.example.com", "A", edns=0)
    out = []
    for i in range(count):
        w = bytearray(base)
        for _ in range(rnd.randint(1, 6)):
            pos = rnd.randrange(2, len(w))
            w[pos] = rnd.randrange(256)
        if rnd.random() < 0.3:
            w = w[:rnd.randrange(12, len(w))]
        w[0:2] = struct.pack("!H", i)
        w[2] &= 0x7F  # QR=0
        out.append(bytes(w))
    return out


def test_random_packets_udp_do_not_kill(server):
    """500 mutated queries sent in a burst: every reply is a response to
    one of them (QR set, a known ID); the server still answers after."""
    packets = _mutations(4592, 500)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((server.host, server.port))
        replies = []
        for i, w in enumerate(packets):
            s.send(w)
            if i % 50 == 49:
                time.sleep(0.01)   # let the server keep up: no overflow
        deadline = time.monotonic() + 1.5
        for _ in range(len(packets)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            s.settimeout(remaining)
            try:
                replies.append(s.recv(65535))
            except (socket.timeout, ConnectionRefusedError):
                break
    for w in replies:
        h = dnsclient.parse_header(w)
        assert h is not None and h["qr"] and h["id"] < len(packets)
    still_answers(server)


def test_random_packets_tcp_do_not_kill(server):
    """100 mutated queries, one TCP connection each (bounded: 30 s)."""
    deadline = time.monotonic() + 30
    for w in _mutations(7766, 100):
        if time.monotonic() > deadline:
            break
        r = server.send_raw(w, tcp=True, timeout=0.2)
        if r.wire is not None and len(r.wire) >= 12:
            assert r.header["qr"] and r.wire[:2] == w[:2]
    still_answers(server)


# ---------------------------------------------------------------------------
# EDNS (RFC 6891)

@TRANSPORT
def test_opt_in_reply_with_our_buffer_size(server, tcp):
    r = ok(server.query("www.example.com", "A", tcp=tcp, edns=0,
                        payload=4096))
    assert r.msg.edns == 0
    assert r.msg.payload == SHARED_KNOBS["edns_size"]
    r = ok(server.query("www.example.com", "A", tcp=tcp))
    assert r.msg.edns == -1, "no OPT in the query: none in the reply"


@pytest.mark.parametrize("qname,rcode", [
    ("nx.example.com", NXDOMAIN), ("www.example.net", REFUSED),
    ("www.sub.example.com", NOERROR)])
def test_opt_in_every_reply(server, qname, rcode):
    r = server.query(qname, "A", edns=0)
    assert r.rcode == rcode and r.msg.edns == 0


def test_do_bit_copied(server):
    # RFC 3225 §3
    r = ok(server.query("www.example.com", "A", edns=0, do=True))
    assert r.msg.ednsflags & dns.flags.DO
    r = ok(server.query("www.example.com", "A", edns=0, do=False))
    assert not r.msg.ednsflags & dns.flags.DO


@TRANSPORT
def test_badvers(server, tcp):
    # RFC 6891 §6.1.3: version 1 -> BADVERS, OPT version 0, no answer
    r = server.query("www.example.com", "A", tcp=tcp, edns=1)
    assert r.msg is not None
    assert r.rcode == BADVERS
    assert r.msg.edns == 0
    assert not r.msg.answer


def test_two_opt_formerr(server):
    q = raw_query(edns=0)
    opt = q[-11:]
    wire = q[:10] + b"\x00\x02" + q[12:] + opt
    r = server.send_raw(wire)
    assert r.header is not None and r.header["rcode"] == FORMERR
    still_answers(server)


def test_unknown_option_ignored(server):
    r = ok(server.query("www.example.com", "A", edns=0, options=[
        dns.edns.GenericOption(65001, b"hello")]))
    assert rrs(r) == {("www.example.com.", "A", 3600, "192.0.2.80")}
    assert not any(o.otype == 65001 for o in r.msg.options)


def _nsid(reply):
    return [o for o in reply.msg.options if o.otype == OPT_NSID]


@TRANSPORT
def test_nsid_when_configured_and_asked(server, tcp):
    r = ok(server.query("www.example.com", "A", tcp=tcp, edns=0, options=[
        dns.edns.GenericOption(OPT_NSID, b"")]))
    nsid = _nsid(r)
    assert len(nsid) == 1
    assert nsid[0].to_wire() == SHARED_KNOBS["nsid"].encode()
    r = ok(server.query("www.example.com", "A", tcp=tcp, edns=0))
    assert not _nsid(r), "NSID only when asked (RFC 5001 §2.1)"


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_no_nsid_when_not_configured(make_server, name):
    srv = make_server(name, nsid=None)
    r = ok(srv.query("www.example.com", "A", edns=0, options=[
        dns.edns.GenericOption(OPT_NSID, b"")]))
    assert not _nsid(r)


# ---------------------------------------------------------------------------
# UDP truncation

def _no_partial_rrset(r, owner, rtype, full):
    got = [rr for rr in rrs(r) if rr[0] == owner and rr[1] == rtype]
    assert len(got) in (0, full), "partial RRset: %d of %d" % (len(got),
                                                                full)


def test_truncation_512_without_edns(server):
    r = ok(server.query("manya.example.com", "A"))
    assert r.flag("TC")
    assert len(r.wire) <= 512
    _no_partial_rrset(r, "manya.example.com.", "A", 40)
    # with EDNS 1232 it fits
    r = ok(server.query("manya.example.com", "A", edns=0, payload=1232))
    assert not r.flag("TC") and len(rrs(r)) == 40


def test_truncation_min_of_client_and_server(server):
    # the client's size is smaller than ours (600 < 1232)
    r = ok(server.query("manya.example.com", "A", edns=0, payload=600))
    assert r.flag("TC") and len(r.wire) <= 600
    _no_partial_rrset(r, "manya.example.com.", "A", 40)
    # ours is smaller than the client's (1232 < 65000)
    r = ok(server.query("mid.example.com", "TXT", edns=0, payload=65000))
    assert r.flag("TC") and len(r.wire) <= SHARED_KNOBS["edns_size"]
    _no_partial_rrset(r, "mid.example.com.", "TXT", 30)


def test_payload_below_512_means_512(server):
    # RFC 6891 §6.2.5
    r = ok(server.query("www.example.com", "A", edns=0, payload=100))
    assert not r.flag("TC") and len(rrs(r)) == 1
    r = ok(server.query("manya.example.com", "A", edns=0, payload=100))
    assert r.flag("TC") and len(r.wire) <= 512


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_edns_buffer_size_knob(make_server, name):
    srv = make_server(name, edns_size=4096)
    r = ok(srv.query("mid.example.com", "TXT", edns=0, payload=65000))
    assert r.msg.payload == 4096
    assert not r.flag("TC") and len(rrs(r)) == 30
    r = ok(srv.query("big.example.com", "TXT", edns=0, payload=65000))
    assert r.flag("TC") and len(r.wire) <= 4096


def test_truncated_query_over_tcp_gets_everything(server):
    for qname, n in (("manya.example.com", 40), ("big.example.com", 60)):
        qtype = "A" if qname.startswith("manya") else "TXT"
        r = ok(server.query(qname, qtype, tcp=True))
        assert not r.flag("TC")
        assert len([rr for rr in rrs(r) if rr[1] == qtype]) == n


# ---------------------------------------------------------------------------
# TCP (RFC 7766)

def test_tcp_answer_near_64k(server):
    r = ok(server.query("huge.example.com", "TXT", tcp=True, edns=0))
    assert len([rr for rr in rrs(r) if rr[1] == "TXT"]) == 240
    assert 60000 < len(r.wire) <= 65535


def test_tcp_partial_writes(server):
    """The query, length prefix included, one octet at a time."""
    q = make_query("www.example.com", "A")
    with server.tcp_conn(timeout=5) as c:
        c.send(q.to_wire(), chunk=1, delay=0.005)
        r = dnsclient.Reply(c.recv())
    ok(r)
    assert r.msg.id == q.id


def test_tcp_length_prefix_split(server):
    q = make_query("www.example.com", "A")
    w = q.to_wire()
    with server.tcp_conn(timeout=5) as c:
        c.sock.sendall(struct.pack("!H", len(w))[:1])
        time.sleep(0.1)
        c.sock.sendall(struct.pack("!H", len(w))[1:] + w[:5])
        time.sleep(0.1)
        c.sock.sendall(w[5:])
        r = dnsclient.Reply(c.recv())
    ok(r)


def test_tcp_pipelined_queries(server):
    """Ten queries written at once on one connection are all answered
    (RFC 7766 §6.2.1.1); tandemd answers in order of arrival."""
    names = ["www.example.com", "nx.example.com", "mail.example.com",
             "c1.example.com", "www.sub.example.com", "example.com",
             "foo.wild.example.com", "www.example.net", "ns1.example.com",
             "www.child.example.com"]
    qs = [make_query(n, "A") for n in names]
    blob = b"".join(struct.pack("!H", len(w)) + w
                    for w in (q.to_wire() for q in qs))
    with server.tcp_conn(timeout=5) as c:
        c.sock.sendall(blob)
        replies = [dnsclient.Reply(c.recv()) for _ in qs]
    ids = [r.msg.id for r in replies]
    assert sorted(ids) == sorted(q.id for q in qs)
    by_id = {r.msg.id: r for r in replies}
    for q in qs:
        assert by_id[q.id].msg.question[0].name == q.question[0].name
    if server.name == "tandemd":
        assert ids == [q.id for q in qs]


def test_tcp_many_queries_one_connection(server):
    with server.tcp_conn(timeout=5) as c:
        for i in range(50):
            q = make_query("www.example.com" if i % 2 else "nx.example.com",
                           "A")
            c.send(q.to_wire())
            r = dnsclient.Reply(c.recv())
            assert r.msg.id == q.id


@pytest.mark.parametrize("name", SERVER_NAMES)
def test_tcp_idle_timeout(make_server, name):
    srv = make_server(name, tcp_idle_timeout=2)
    # a connection that never sends anything
    with srv.tcp_conn() as c:
        t0 = time.monotonic()
        assert c.closed_by_peer(10), "idle connection not closed in 10 s"
        assert time.monotonic() - t0 >= 1.0
    # a connection idle after one query
    with srv.tcp_conn() as c:
        c.send(raw_query())
        ok(dnsclient.Reply(c.recv()))
        t0 = time.monotonic()
        assert c.closed_by_peer(10), "idle connection not closed in 10 s"
        assert time.monotonic() - t0 >= 1.0
    still_answers(srv)


def test_tcp_malformed_then_healthy(server):
    """Garbage on one TCP connection does not disturb others."""
    with server.tcp_conn(timeout=2) as bad:
        try:
            bad.send(b"\x00\x05\xff\xff\xff\xff\xff", framed=False)
            bad.send(b"\x00\x00", framed=False)   # zero-length message
            bad.closed_by_peer(1)
        except (ConnectionError, OSError):
            pass
    still_answers(server)
    r = ok(server.query("www.example.com", "A", tcp=True))
    assert rrs(r)


def test_tcp_client_closes_early(server):
    """A client that sends half a query and closes, or resets."""
    w = raw_query()
    for _ in range(5):
        with server.tcp_conn() as c:
            c.sock.sendall(struct.pack("!H", len(w)) + w[:7])
        with server.tcp_conn() as c:
            c.send(w)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))  # RST on close
    still_answers(server)


# ---------------------------------------------------------------------------
# listening

@pytest.mark.parametrize("name", SERVER_NAMES)
def test_ipv6_loopback_listen(make_server, name):
    """`listen:` is repeatable: 127.0.0.1 and ::1 on the same port, UDP and
    TCP on both."""
    if not servers.has_ipv6_loopback():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    srv = make_server(name, listen6=True)
    for host in ("127.0.0.1", "::1"):
        for tcp in (False, True):
            r = ok(srv.query("www.example.com", "A", tcp=tcp, host=host))
            assert rrs(r) == {("www.example.com.", "A", 3600, "192.0.2.80")}
