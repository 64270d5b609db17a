"""Differential test: tandemd must answer exactly as NSD and Knot.

NSD 4.6 and Knot 3.2 are started on the same zones (tests/system/zones)
and every query of the corpus (corpus.py: every owner x common types,
nonexistent names, names below delegations, wildcard matches, DNAME
rewrites, case variations, names outside every zone) is sent to each over
UDP without EDNS, UDP with EDNS (DO clear and DO set) and TCP.

Compared: RCODE, opcode, flags (QR AA TC RD RA AD CD), the question, the
answer / authority / additional sections as multisets of RRs (owner case,
class, type, TTL, RDATA; order-insensitive), and EDNS (version, DO,
payload, options).

- test_nsd_vs_knot: runs today.  Every place where NSD and Knot differ must
  be explained by an entry of KNOWN_DIFFERENCES below (else it fails as an
  "unexplained difference"), and every entry says which behaviour tandemd
  must have and why.
- test_tandemd_vs_reference: (skipped until BUILD/server/tandemd exists)
  where NSD and Knot agree, tandemd must give the same answer; where they
  differ, tandemd must give the chosen one.

Each test prints a final line `differential: N passed, N failed`.

KNOWN DIFFERENCES between NSD 4.6.1 and Knot 3.2.6 (default settings, see
servers.py), as found by this test -- the queries are examples from the
corpus; the full lists are in the entries below:

 id                   | example query                       | NSD                              | Knot                           | tandemd
 ---------------------+-------------------------------------+----------------------------------+--------------------------------+---------
 nsd-authority-ns     | www.example.com A                   | + apex NS in authority, + their  | answer only                    | Knot
                      |                                     |   A/AAAA in additional           |                                |
 cname-chain-length   | ch0.example.com A (13 CNAMEs)       | follows the whole chain (stops   | stops after 5 CNAMEs           | NSD
                      |                                     |   after ~27 links)               |                                |
 cross-zone-chase     | corg.example.com A, www.dnorg...,   | follows CNAME/DNAME into another | stops where the chain leaves   | Knot
                      | nx.dnorg.example.com A, www.dnchild | zone it serves (its data, its    |   the zone (NOERROR, no SOA);  |
                      |                                     | NS/SOA, NXDOMAIN from it)        |   a delegation on the way ->   |
                      |                                     |                                  |   referral data, AA kept       |
 rrsig-at-cname       | c1.example.com RRSIG                | follows the CNAME (even NXDOMAIN | NODATA at the CNAME owner      | Knot
                      |                                     |   for cnx.example.com RRSIG)     |                                |
 any-at-apex          | example.com ANY                     | the SOA                          | the lowest-type RRset (A; NS + | Knot
                      |                                     |                                  |   glue at example./example.org)|
 svcb-additional      | _dns.example.com SVCB / ANY         | no additional for SVCB target    | A/AAAA of the in-zone target   | Knot
 ede                  | authors.bind CH TXT, 61-octet       | EDE 21 on REFUSED, EDE 0 "DNAME  | no EDE option there            | Knot
                      |   prefix .dnlong.example.com A      |   expansion became too large"    |                                |
 unknown-class        | www.example.com HS A                | REFUSED, QDCOUNT=0, EDE 21       | REFUSED, question echoed       | Knot
 qclass-any           | www.example.com ANY-class A         | AA clear                         | AA set                         | NSD

Differences outside the corpus (malformed or unusual messages), found and
checked in test_answers.py:

 query                                   | NSD                   | Knot                  | tandemd
 ----------------------------------------+-----------------------+-----------------------+---------------------
 QDCOUNT=2 (RFC 9619)                    | FORMERR               | dropped               | FORMERR
 QDCOUNT=0 over TCP                      | connection closed     | FORMERR               | FORMERR
 header only, QDCOUNT=1; pointer loop;   | FORMERR               | dropped               | FORMERR or dropped
   label types 01/10; qname > 255        |                       |                       |
 octets after the question               | answered normally     | FORMERR               | either
 OPT with a non-root owner               | FORMERR               | OPT accepted          | either
 UPDATE (opcode 5)                       | NOTIMP                | NOTAUTH (has DDNS)    | NOTIMP (RFC 2136 §3)
 opcodes 1,2,3,6,7,15                    | NOTIMP, QDCOUNT=0     | NOTIMP, question kept | NOTIMP
 CD=1 in a query                         | CD clear in reply     | CD clear in reply     | CD copied (RFC 4035 §3.1.6; test_dnssec.py)

Where they AGREE (and tandemd must too), notably: REFUSED for a name
outside every zone carries, when the query has EDNS, the option EDE 20
"Not Authoritative" (RFC 8914 §4.21) and no AA; QTYPE ANY is answered
with ONE RRset (RFC 8482) by both -- the RRset of the lowest type code
(multi.example.com ANY -> the A RRset; host3.example ANY -> the wildcard
MX with host1.example A in additional) -- except at the apex (any-at-apex);
RD is copied, RA is never set; TC answers over UDP carry no records at
all (empty answer/authority/additional, only the OPT); DS at the cut of a
served child zone is answered from the parent (RFC 4035 §3.1.4.1);
referrals have AA clear; NXDOMAIN/NODATA carry the SOA with TTL =
min(SOA TTL, MINIMUM); a DNAME whose result exceeds 255 octets gives
YXDOMAIN with the DNAME in the answer; CNAME loops stop after each name
appeared once.
"""

import concurrent.futures
import re

import corpus
import dnsclient
import servers

ZONE_APEXES = [z for z, _ in servers.DEFAULT_ZONES]


# ---------------------------------------------------------------------------
# NSD's default `minimal-responses: no` -- a normalization applied to every
# NSD answer before comparison (and to NSD answers chosen for tandemd).

def _apex_of(owner):
    owner = owner.lower()
    best = None
    for apex in ZONE_APEXES:
        a = apex.lower() + "."
        if owner == a or owner.endswith("." + a):
            if best is None or len(a) > len(best):
                best = a
    return best


def _targets(rr):
    """Lowercased target names of an RR tuple (owner, class, type, ttl,
    rdata text) that get additional-section processing."""
    fields = rr[4].split()
    if rr[2] in ("NS", "MX", "SRV", "AFSDB"):
        return [fields[-1].lower()]
    if rr[2] in ("SVCB", "HTTPS"):
        return [fields[1].lower()]
    return []


def nsd_minimal(s):
    """Remove what NSD adds with minimal-responses: no to a positive
    answer: the apex NS RRset of a zone in the authority section and the
    A/AAAA of those name servers in the additional section (unless the
    answer itself is an NS RRset, or they serve another answer RR).
    Returns (new summary, changed)."""
    if isinstance(s, str) or s["rcode"] != "NOERROR" or not s["answer"]:
        return s, False
    auth = s["authority"]
    ns_rrs = [rr for rr in auth
              if rr[2] == "NS" and _apex_of(rr[0]) == rr[0].lower()]
    if not ns_rrs or len(ns_rrs) != len(auth):
        return s, False
    targets = {rr[4].lower() for rr in ns_rrs}
    # names still needed: targets of NS/MX/SRV/SVCB... in the answer
    needed = {t for rr in s["answer"] for t in _targets(rr)}
    add = tuple(rr for rr in s["additional"]
                if not (rr[2] in ("A", "AAAA") and rr[0].lower() in targets
                        and rr[0].lower() not in needed))
    out = dict(s)
    out["authority"] = ()
    out["additional"] = add
    return out, True


# ---------------------------------------------------------------------------
# The table.  Entries are tried in order; the first whose `when` matches a
# (case, nsd, knot) that differs (after nsd_minimal) explains it, provided
# only the listed fields differ.  `choose` is what tandemd must answer.

class KnownDifference:
    def __init__(self, id, choose, fields, when, reason):
        self.id = id
        self.choose = choose
        self.fields = set(fields)
        self.when = when
        self.reason = reason
        self.hits = 0
        self.example = None


def _names(*names):
    names = {n.lower() for n in names}
    return lambda c, n, k: c.qname.lower() in names


def _re(pattern):
    rx = re.compile(pattern, re.I)
    return lambda c, n, k: rx.fullmatch(c.qname) is not None


def _and(*preds):
    return lambda c, n, k: all(p(c, n, k) for p in preds)


def _qtype(*types):
    return lambda c, n, k: c.qtype in types


def _qclass(*classes):
    return lambda c, n, k: c.qclass in classes


def _edns_only_ede(c, n, k):
    """NSD's EDNS carries an EDE option, Knot's none; else equal."""
    if isinstance(n, str) or isinstance(k, str):
        return False
    ne, ke = n["edns"], k["edns"]
    if ne is None or ke is None:
        return False
    strip = dict(ne)
    strip["options"] = tuple(o for o in ne["options"] if o[0] != 15)
    return strip == ke and ne["options"] != ke["options"]


NSD_AUTHORITY_NS = KnownDifference(
    "nsd-authority-ns", "knot", ("authority", "additional"), None,
    "NSD's default (minimal-responses: no) copies the zone's apex NS RRset "
    "into the authority section of every positive answer and the "
    "addresses of those name servers into the additional section; Knot "
    "sends the answer only.  Both are allowed (RFC 1034 §4.3.2 step 6, RFC "
    "2181 §5.4.1 ranks such data low).  tandemd: like Knot -- no NS in "
    "authority of positive answers (smaller answers, fewer truncations, "
    "less amplification; the resolver has the NS set from the referral).")

CROSS_ZONE_NAMES = (
    "corg.example.com.", "back.example.org.", "www.dnorg.example.com.",
    "back.dnorg.example.com.", "nx.dnorg.example.com.",
    "www.dnchild.example.com.")

KNOWN_DIFFERENCES = [
    KnownDifference(
        "unknown-class", "knot", ("question", "edns"), _qclass("HS"),
        "QCLASS HS (no zone of that class): NSD answers REFUSED with "
        "QDCOUNT=0 and EDE 21, Knot answers REFUSED echoing the question. "
        "tandemd: like Knot -- a response repeats the question (RFC 1035 "
        "§4.1.1, RFC 8906 §3.1.1), REFUSED, no EDE."),
    KnownDifference(
        "qclass-any", "nsd", ("flags",), _qclass("ANY"),
        "QCLASS ANY (*) for IN data: NSD answers with AA clear, Knot with "
        "AA set.  tandemd: like NSD -- an answer to QCLASS * covers only "
        "the classes the server has, so it must not be authoritative "
        "(RFC 6895 §3.2)."),
    KnownDifference(
        "ede", "knot", ("edns",), _edns_only_ede,
        "NSD attaches Extended DNS Errors: EDE 21 (Not Supported) to "
        "REFUSED for CH names it does not know and for CH types other than "
        "TXT, EDE 0 'DNAME expansion became too large' to YXDOMAIN; Knot "
        "sends none there.  EDE is optional (RFC 8914 §3).  tandemd: like "
        "Knot -- no EDE in these cases.  (Both DO send EDE 20 'Not "
        "Authoritative' with REFUSED for a name outside every zone, so "
        "tandemd must too.)"),
    KnownDifference(
        "rrsig-at-cname", "knot", ("rcode", "answer", "authority",
                                   "additional"),
        _qtype("RRSIG"),
        "QTYPE RRSIG at a CNAME owner (unsigned zone): NSD follows the "
        "CNAME as for any type (even NXDOMAIN for cnx.example.com); Knot "
        "answers NODATA at the owner.  tandemd: like Knot -- RRSIG (like "
        "NSEC) may coexist with a CNAME (RFC 2181 §10.1.1, RFC 4035 §2.5), "
        "so a query for it is answered at the CNAME owner itself, as for "
        "QTYPE CNAME."),
    KnownDifference(
        "cross-zone-chase", "knot", ("rcode", "answer", "authority",
                                     "additional"),
        _names(*CROSS_ZONE_NAMES),
        "A CNAME/DNAME chain that leaves the zone into ANOTHER zone the "
        "server also serves (example.org, child.example.com): NSD restarts "
        "the lookup in that zone (its data, its NS in authority, its SOA "
        "for NODATA, its NXDOMAIN); Knot stops where the chain leaves the "
        "zone: NOERROR, no SOA, and a delegation met inside the zone gives "
        "the referral NS + glue in authority/additional with AA kept.  "
        "tandemd: like Knot -- answer only from the zone closest to the "
        "QNAME; RFC 1034 §4.3.2 3a allows both, but resolvers discard the "
        "other zone's records as out of bailiwick (RFC 2181 §5.4.1), and "
        "RFC 6604 §3 makes the RCODE that of the last in-zone step."),
    KnownDifference(
        "cname-chain-length", "nsd", ("answer", "authority", "additional",
                                      "rcode"),
        _re(r"ch[0-7]\.example\.com\."),
        "An in-zone CNAME chain of 6..13 links (ch0..ch7 -> ... -> ch12 "
        "-> www): NSD follows it to the end (it stops after ~27 links); "
        "Knot stops after 5 CNAMEs (no final RRset, no SOA).  tandemd: "
        "like NSD -- RFC 1034 §4.3.2 step 3a restarts with the canonical "
        "name until the data is found; a complete answer spares the "
        "resolver a round trip per 5 links.  Follow at least 16 in-zone "
        "links, and stop at a loop (each owner once)."),
    KnownDifference(
        "any-at-apex", "knot", ("answer", "additional"),
        _and(_qtype("ANY"), _names("example.com.", "example.org.",
                                   "example.", "child.example.com.",
                                   "ExAmPlE.CoM.")),
        "QTYPE ANY at a zone apex: both answer ONE RRset (RFC 8482 §4.1), "
        "NSD the SOA, Knot the RRset with the lowest type code (A at "
        "example.com and child.example.com; NS -- with the name servers' "
        "addresses in additional -- at example. and example.org).  "
        "tandemd: like Knot -- one rule everywhere (the lowest type "
        "present), which is also what both do below the apex."),
    KnownDifference(
        "svcb-additional", "knot", ("additional",),
        _names("_dns.example.com."),
        "SVCB/HTTPS with an in-zone TargetName (_dns.example.com SVCB 1 "
        "ns1.example.com.): Knot adds the target's A/AAAA to the "
        "additional section, NSD does not.  tandemd: like Knot -- RFC 9460 "
        "§4.1/§4.2 recommends that authoritative servers include the "
        "target's address records as additional data."),
]


def classify(case, nsd_s, knot_s):
    """Return (expected summary for tandemd, KnownDifference or None,
    list of fields still differing if unexplained)."""
    nsd_n, changed = nsd_minimal(nsd_s)
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


# ---------------------------------------------------------------------------
# Running the corpus

def run_corpus(srv, cases):
    """Send every case to srv (sequentially); list of summaries."""
    out = []
    for i, c in enumerate(cases):
        opts = dict(corpus.TRANSPORTS[c.transport])
        tcp = opts.pop("tcp")
        r = srv.query(c.qname, c.qtype, tcp=tcp, qclass=c.qclass, **opts)
        if r.wire is None:
            # one retry for a lost datagram before recording NO REPLY
            r = srv.query(c.qname, c.qtype, tcp=tcp, qclass=c.qclass, **opts)
        out.append(dnsclient.summarize(r))
        if i % 500 == 0:
            srv.check_alive()
    srv.check_alive()
    return out


def run_parallel(srvs, cases):
    with concurrent.futures.ThreadPoolExecutor(len(srvs)) as ex:
        futs = {s.name: ex.submit(run_corpus, s, cases) for s in srvs}
        return {name: f.result() for name, f in futs.items()}


_CACHE = {}


def peer_results(nsd, knot):
    """The peers' answers, computed once per session."""
    if "peers" not in _CACHE:
        cases = corpus.cases()
        _CACHE["peers"] = (cases, run_parallel([nsd, knot], cases))
    return _CACHE["peers"]


def describe(case):
    return "%s %s %s over %s" % (case.qname, case.qclass, case.qtype,
                                 case.transport)


MAX_REPORTED = 40


def _emit(capsys, text):
    with capsys.disabled():
        print(text)


def test_nsd_vs_knot(nsd, knot, capsys):
    """NSD and Knot agree everywhere except for the documented, explained
    differences."""
    for kd in [NSD_AUTHORITY_NS] + KNOWN_DIFFERENCES:
        kd.hits = 0
        kd.example = None
    cases, res = peer_results(nsd, knot)
    passed = failed = 0
    report = []
    for i, case in enumerate(cases):
        n, k = res["nsd"][i], res["knot"][i]
        if isinstance(n, str) or isinstance(k, str):
            # a peer did not answer or sent garbage: nothing to learn from
            if n == k:
                passed += 1
                continue
        expected, kd, diff = classify(case, n, k)
        if expected is not None:
            passed += 1
            continue
        failed += 1
        if len(report) < MAX_REPORTED:
            report.append("UNEXPLAINED difference (%s) for %s\n NSD:\n%s\n"
                          " Knot:\n%s" % (", ".join(diff), describe(case),
                                          dnsclient.format_summary(n),
                                          dnsclient.format_summary(k)))
    lines = ["", "NSD vs Knot: %d queries, known differences:" % len(cases)]
    for kd in [NSD_AUTHORITY_NS] + KNOWN_DIFFERENCES:
        lines.append("  %-20s %5d  (tandemd: like %s)%s" % (
            kd.id, kd.hits, kd.choose.upper() if kd.choose == "nsd"
            else "Knot", "  e.g. " + describe(kd.example)
            if kd.example else "  [not seen]"))
    lines += report
    lines.append("differential: %d passed, %d failed" % (passed, failed))
    _emit(capsys, "\n".join(lines))
    assert failed == 0, "%d unexplained NSD/Knot differences" % failed


def test_tandemd_vs_reference(tandemd, nsd, knot, capsys):
    """tandemd answers every corpus query as the reference: the answer NSD
    and Knot agree on, or the one chosen in KNOWN_DIFFERENCES."""
    cases, res = peer_results(nsd, knot)
    mine = run_parallel([tandemd], cases)["tandemd"]
    passed = failed = 0
    report = []
    groups = {}
    for i, case in enumerate(cases):
        n, k = res["nsd"][i], res["knot"][i]
        if isinstance(n, str) or isinstance(k, str):
            expected = n if n == k else None
            kd = None
        else:
            expected, kd, _ = classify(case, n, k)
        if expected is None:
            continue  # no reference (reported by test_nsd_vs_knot)
        got = mine[i]
        diff = dnsclient.diff_summaries(expected, got)
        if not diff:
            passed += 1
            continue
        failed += 1
        group = (kd.id if kd else "agreed", tuple(diff))
        groups.setdefault(group, []).append(case)
        if len(report) < MAX_REPORTED:
            report.append("MISMATCH (%s) for %s%s\n expected:\n%s\n "
                          "tandemd:\n%s" % (
                              ", ".join(diff), describe(case),
                              " [known difference %s: like %s]" % (
                                  kd.id, kd.choose) if kd else "",
                              dnsclient.format_summary(expected),
                              dnsclient.format_summary(got)))
    if groups:
        report.append("tandemd mismatches by (reference, fields):")
        for (ref, fields), lst in sorted(groups.items(),
                                         key=lambda g: -len(g[1])):
            report.append("  %5d  %s / %s  e.g. %s" % (
                len(lst), ref, "+".join(fields), "; ".join(
                    describe(c) for c in lst[:3])))
    report.append("differential: %d passed, %d failed" % (passed, failed))
    _emit(capsys, "\n".join(report))
    assert failed == 0, "%d answers of tandemd differ from the reference" \
        % failed
