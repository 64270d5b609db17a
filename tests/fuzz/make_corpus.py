#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/.

    /usr/bin/python3 tests/fuzz/make_corpus.py

DNS messages are made with dnspython (Debian: python3-dnspython), an
implementation independent of ours; zone files, config files and control
lines are written out as text. Every seed is deterministic (fixed IDs,
fixed TSIG time), so running this again changes nothing unless the script
changed. Each directory is emptied first.

The input formats (see each fuzz_<target>.c):
  answer     one query; its ID picks transport, buffer size and zones
  msg        one message
  zone_load  a zone file for example.com. (or ";apex NAME" first line)
  xfrin      mode octet, then 2-octet length + message, repeated
  tsig       mode octet, then 2-octet length + message, repeated
  conf       a tandemd.conf
  control    what a control client sends
"""
import base64
import hashlib
import os
import shutil
import struct
import time

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.rcode
import dns.tsig
import dns.update
import dns.zone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "tests", "data")
CORPUS = os.path.join(HERE, "corpus")

TIME = 1700000000  # the fuzz targets' clock
SECRET = base64.b64encode(bytes(range(1, 33))).decode()
XFR_ID = 0x4242
REQUEST_MAC = b"\xa5" * 32  # fuzz_xfrin.c: the request the stream answers
# dnspython shuffles the RRs of an RRset when it renders a message; the
# seeds must not change from one run to the next.
_rdataset_to_wire = dns.rdataset.Rdataset.to_wire


def _to_wire_unshuffled(self, *args, **kw):
    kw["want_shuffle"] = False
    return _rdataset_to_wire(self, *args, **kw)


dns.rdataset.Rdataset.to_wire = _to_wire_unshuffled

ALGS = {
    "hmac-md5": dns.tsig.HMAC_MD5, "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224, "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384, "hmac-sha512": dns.tsig.HMAC_SHA512,
}


class Corpus:
    """One target's directory; names are made unique and readable."""

    def __init__(self, target):
        self.dir = os.path.join(CORPUS, target)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.count = 0

    def add(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        path = os.path.join(self.dir, f"{self.count:03d}-{safe[:40]}")
        with open(path, "wb") as f:
            f.write(data)
        self.count += 1


def stream(*messages, mode=None):
    """Messages as a TCP stream, after a mode octet when given."""
    out = b"" if mode is None else bytes([mode])
    for m in messages:
        out += struct.pack("!H", len(m)) + m
    return out


def load(origin, file):
    return dns.zone.from_file(os.path.join(DATA, file), origin=origin,
                              relativize=False)


def rrsets(zone):
    for name, node in sorted(zone.nodes.items()):
        for rds in node.rdatasets:
            rrs = dns.rrset.RRset(name, rds.rdclass, rds.rdtype, rds.covers)
            rrs.ttl = rds.ttl
            rrs.update(rds)
            yield rrs


# ---- answer ---------------------------------------------------------------

def query(name, rdtype="A", rdclass="IN", qid=0, flags=dns.flags.RD,
          edns=-1, payload=1232, do=False, options=None, opcode=None):
    q = dns.message.make_query(name, rdtype, rdclass, use_edns=edns,
                               payload=payload, want_dnssec=do,
                               options=options)
    q.id = qid
    q.flags = flags
    if opcode is not None:
        q.set_opcode(opcode)
    return q


def answer_corpus():
    c = Corpus("answer")
    nsid = [dns.edns.GenericOption(dns.edns.NSID, b"")]
    cookie = [dns.edns.GenericOption(dns.edns.COOKIE, bytes(range(8)))]
    # (name, type, class, extra) -- extra: "edns", "do", "nsid", ...
    cases = [
        ("example.com.", "SOA"), ("example.com.", "NS"),
        ("example.com.", "MX"), ("example.com.", "ANY"),
        ("example.com.", "DNSKEY", "do"), ("example.com.", "TXT"),
        ("WwW.ExAmPlE.CoM.", "A"), ("www.example.com.", "A", "edns"),
        ("ftp.example.com.", "A"), ("ns1.example.com.", "AAAA"),
        ("x.wild.example.com.", "A"), ("x.wild.example.com.", "MX"),
        ("foo.cname.example.com.", "A"), ("a.ent.example.com.", "A"),
        ("x.a.ent.example.com.", "A"), ("nx.example.com.", "A", "edns"),
        ("nothere.nx.example.com.", "TXT"), ("deep.below.sub.example.com.", "A"),
        ("sub.example.com.", "DS"), ("sub.example.com.", "NS"),
        ("other.example.com.", "A"), ("www.dn.example.com.", "A"),
        ("dn.example.com.", "DNAME"), ("weird\\.name.example.com.", "A"),
        ("sp\\032ace.example.com.", "A"), ("_sip._udp.example.com.", "SRV"),
        ("svc.example.com.", "HTTPS"), ("svc.example.com.", "SVCB"),
        ("sig.example.com.", "A", "do"), ("unknown.example.com.", "TYPE65280"),
        ("2.0.192.in-addr.example.com.", "PTR"), ("naptr.example.com.", "NAPTR"),
        ("child.example.com.", "SOA"), ("child.example.com.", "DS"),
        ("ns1.child.example.com.", "A"), ("x.child.example.com.", "TXT"),
        ("broken.example.com.", "A"), ("example.org.", "A", "edns"),
        ("example.", "SOA", "do"), ("example.", "DNSKEY", "do"),
        ("example.", "NSEC3PARAM", "do"), ("a.b.c.example.", "A", "do"),
        ("b.c.example.", "A", "do"), ("nx.example.", "A", "do"),
        ("x.wild.example.", "TXT", "do"), ("x.wild.example.", "A", "do"),
        ("www.example.", "AAAA", "do"), ("sub.example.", "A", "do"),
        ("ns.sub.example.", "A", "do"), ("sub.example.", "DS", "do"),
        ("example.", "ANY", "do"), ("www.example.", "RRSIG", "do"),
        ("version.bind.", "TXT", "CH"), ("id.server.", "TXT", "CH"),
        ("hostname.bind.", "TXT", "CH"), ("version.server.", "TXT", "CH"),
        ("version.bind.", "A", "CH"), ("example.com.", "SOA", "ANYCLASS"),
        ("example.com.", "SOA", "HS"), ("example.com.", "A", "nsid"),
        ("example.com.", "A", "cookie"), ("example.com.", "A", "small"),
        ("example.com.", "A", "big"), ("example.com.", "AXFR"),
        ("example.com.", "IXFR"), ("example.com.", "SOA", "notify"),
        ("example.com.", "SOA", "update"), ("example.com.", "SOA", "ednsv1"),
    ]
    for i, case in enumerate(cases):
        name, rdtype = case[0], case[1]
        extra = case[2] if len(case) > 2 else ""
        # spread the ID-selected settings over the seeds
        qid = (i * 37) & 0x3F
        rdclass = {"CH": "CH", "ANYCLASS": "ANY", "HS": "HS"}.get(extra, "IN")
        kw = {}
        if extra in ("edns", "do", "nsid", "cookie", "small", "big", "ednsv1"):
            kw["edns"] = 0
        if extra == "do":
            kw["do"] = True
        if extra == "nsid":
            kw["options"] = nsid
        if extra == "cookie":
            kw["options"] = cookie
        if extra == "small":
            kw["payload"] = 100
        if extra == "big":
            kw["payload"] = 65535
        if extra == "notify":
            kw["opcode"] = dns.opcode.NOTIFY
            kw["flags"] = dns.flags.AA
        if extra == "update":
            kw["opcode"] = dns.opcode.UPDATE
        q = query(name, rdtype, rdclass, qid=qid, **kw)
        if extra == "ednsv1":
            q.use_edns(1, 0, 1232)
        if rdtype == "IXFR":
            q.authority.append(dns.rrset.from_text(
                name, 3600, "IN", "SOA",
                "ns1.example.com. hostmaster.example.com. 2024010100 1 2 3 4"))
        c.add(f"{name}-{rdtype}-{extra}-id{qid}", q.to_wire())
    # DNS Cookies: ID bit 6 turns them on, bit 7 requires them over UDP
    client = bytes(range(1, 9))
    for qid, cookie, label in [
            (0x40, client, "client-only"), (0xC0, client, "required"),
            (0xC0, client + bytes(16), "bad-server-cookie"),
            (0x41, client + bytes(range(16)), "tcp"),
            (0x40, client[:5], "malformed"), (0xC0, None, "none")]:
        opts = [] if cookie is None else [
            dns.edns.GenericOption(dns.edns.COOKIE, cookie)]
        q = query("www.example.com.", "A", qid=qid, edns=0, options=opts)
        c.add(f"cookie-{label}-id{qid}", q.to_wire())
    # TSIG-signed query (the TSIG is skipped by the answer path)
    key = dns.tsig.Key("xfr.example.", SECRET, dns.tsig.HMAC_SHA256)
    q = query("example.com.", "SOA", qid=1)
    q.use_tsig(key, fudge=300)
    c.add("signed-SOA", q.to_wire())
    # not quite queries
    good = query("www.example.com.", "A", qid=0).to_wire()
    c.add("qdcount0", good[:4] + b"\0\0" + good[6:12])
    c.add("qdcount2", good[:4] + b"\0\2" + good[6:] + good[12:])
    c.add("short-question", good[:-3])
    c.add("response", good[:2] + bytes([good[2] | 0x80]) + good[3:])
    c.add("ancount1", good[:6] + b"\0\1" + good[8:])
    c.add("header-only", good[:12])
    two_opt = query("www.example.com.", "A", qid=0, edns=0)
    wire = two_opt.to_wire()
    opt = wire[-11:]
    c.add("two-opt", wire[:10] + b"\0\2" + wire[12:] + opt)
    return c.count


# ---- msg ------------------------------------------------------------------

def msg_corpus():
    c = Corpus("msg")
    com = load("example.com.", "example.com.zone")
    nsec3 = load("example.", "signed-nsec3.zone")
    nsec = load("example.", "signed-nsec.zone")
    for name, rdtype in [("www.example.com.", "A"), ("example.", "DNSKEY")]:
        q = query(name, rdtype, qid=7, edns=0, do=True,
                  options=[dns.edns.GenericOption(dns.edns.NSID, b""),
                           dns.edns.GenericOption(dns.edns.COOKIE,
                                                  bytes(range(8)))])
        c.add(f"query-{name}-{rdtype}", q.to_wire())
    # every RR type the zones have, compressed by dnspython
    for label, zone in [("com", com), ("nsec3", nsec3), ("nsec", nsec)]:
        q = query(zone.origin, "AXFR", qid=XFR_ID, flags=0)
        r = dns.message.make_response(q)
        for rrs in rrsets(zone):
            r.answer.append(rrs)
        c.add(f"all-rrs-{label}", r.to_wire())
    # per-type responses, answer + authority + additional
    q = query("example.com.", "MX", qid=9, edns=0)
    r = dns.message.make_response(q)
    for rrs in rrsets(com):
        if rrs.rdtype == dns.rdatatype.MX:
            r.answer.append(rrs)
        elif rrs.rdtype == dns.rdatatype.NS and rrs.name == com.origin:
            r.authority.append(rrs)
        elif rrs.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            r.additional.append(rrs)
    c.add("response-mx", r.to_wire())
    # UPDATE: class NONE and ANY RRs with empty rdata (RFC 2136)
    upd = dns.update.UpdateMessage("example.com.", id=11)
    upd.delete("www.example.com.", "A", "192.0.2.80")  # class NONE
    upd.delete("old.example.com.", "A")                # class ANY, empty
    upd.add("new.example.com.", 300, "A", "192.0.2.99")
    c.add("update", upd.to_wire())
    # signed: query, response, a stream of three
    key = dns.tsig.Key("xfr.example.", SECRET, dns.tsig.HMAC_SHA256)
    q = query("example.com.", "AXFR", qid=XFR_ID, flags=0)
    q.use_tsig(key, fudge=300)
    c.add("tsig-query", q.to_wire())
    r = dns.message.make_response(q)
    r.answer.append(next(rrsets(com)))
    c.add("tsig-response", r.to_wire())
    # compression pointer edge cases, by hand
    hdr = struct.pack("!HHHHHH", 1, 0x8000, 1, 1, 0, 0)
    qname = b"\3www\7example\3com\0"
    question = qname + struct.pack("!HH", 1, 1)
    a_rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + bytes([192, 0, 2, 1])
    c.add("ptr-to-question", hdr + question + a_rr)
    c.add("ptr-forward", hdr + question + struct.pack("!HHHIH", 0xC0FF, 1, 1,
                                                      300, 4) + b"\1\2\3\4")
    c.add("ptr-self", hdr + question + b"\xc0" + bytes([len(hdr + question)])
          + struct.pack("!HHIH", 1, 1, 300, 4) + b"\1\2\3\4")
    cname = struct.pack("!HHHIH", 0xC00C, 5, 1, 300, 2) + b"\xc0\x10"
    c.add("cname-compressed-rdata", hdr + question + cname)
    return c.count


# ---- xfrin ----------------------------------------------------------------

def soa(serial):
    return dns.rrset.from_text(
        "example.com.", 3600, "IN", "SOA",
        f"ns1.example.com. hostmaster.example.com. {serial} 7200 900 "
        "1209600 300")


def xfr_messages(qtype, sections, key=None):
    """Response messages (lists of RRsets) to our request, as wire."""
    q = query("example.com.", qtype, qid=XFR_ID, flags=0)
    out, ctx = [], None
    for n, rrs in enumerate(sections):
        m = dns.message.make_response(q)
        m.flags = dns.flags.QR | dns.flags.AA
        if n > 0:
            m.question = []
        for r in rrs:
            m.answer.append(r)
        if key is not None:
            m.use_tsig(key, fudge=300)
            m.request_mac = REQUEST_MAC
            wire = m.to_wire(multi=True, tsig_ctx=ctx)
            ctx = m.tsig_ctx
        else:
            wire = m.to_wire()
        out.append(wire)
    return out


def rr(name, rdtype, text, ttl=3600):
    return dns.rrset.from_text(name, ttl, "IN", rdtype, text)


def xfrin_corpus():
    c = Corpus("xfrin")
    com = load("example.com.", "example.com.zone")
    base = 2024010101
    body = [r for r in rrsets(com) if r.rdtype != dns.rdatatype.SOA]
    new = soa(base + 5)
    axfr = [[new] + body[:10], body[10:25], body[25:] + [new]]
    key = dns.tsig.Key("xfr.example.", SECRET, dns.tsig.HMAC_SHA256)
    # one RR per message at the end too, as BIND sends small zones
    c.add("axfr-3msgs", stream(*xfr_messages("AXFR", axfr), mode=0))
    c.add("axfr-1msg", stream(*xfr_messages("AXFR", [sum(axfr, [])]), mode=0))
    c.add("axfr-signed", stream(*xfr_messages("AXFR", axfr, key), mode=2))
    c.add("axfr-limited", stream(*xfr_messages("AXFR", axfr), mode=4))
    # IXFR: two differences, base -> base+1 -> base+2
    diffs = [
        soa(base + 2), soa(base), rr("mail.example.com.", "A", "192.0.2.2"),
        soa(base + 1), rr("mail.example.com.", "A", "192.0.2.22"),
        soa(base + 1), rr("www.example.com.", "CNAME", "mail.example.com."),
        soa(base + 2), rr("www.example.com.", "A", "192.0.2.80"),
        rr("new.example.com.", "TXT", '"added"', 300), soa(base + 2)]
    ixfr = [diffs[:6], diffs[6:]]
    c.add("ixfr-2diffs", stream(*xfr_messages("IXFR", ixfr), mode=1))
    c.add("ixfr-signed", stream(*xfr_messages("IXFR", ixfr, key), mode=3))
    c.add("ixfr-uptodate", stream(*xfr_messages("IXFR", [[soa(base)]]),
                                  mode=1))
    c.add("ixfr-as-axfr", stream(*xfr_messages("IXFR", axfr), mode=1))
    # refused, and an out-of-zone RR
    refused = xfr_messages("AXFR", [[]])[0]
    refused = refused[:3] + bytes([refused[3] | 5]) + refused[4:]
    c.add("axfr-refused", stream(refused, mode=0))
    c.add("axfr-outofzone", stream(*xfr_messages(
        "AXFR", [[new, rr("www.example.net.", "A", "192.0.2.1"), new]]),
        mode=0))
    return c.count


# ---- tsig -----------------------------------------------------------------

def tsig_corpus():
    c = Corpus("tsig")
    time.time = lambda: TIME  # dnspython signs with the current time
    for alg, algname in ALGS.items():
        for mode, keyname in [(0, "xfr.example."), (1, "other-key.example.")]:
            if mode == 0 and alg != "hmac-sha256":
                continue  # the fixed key is hmac-sha256
            key = dns.tsig.Key(keyname, SECRET, algname)
            q = query("example.com.", "AXFR", qid=0x1234, flags=0)
            q.use_tsig(key, fudge=300)
            msgs = [q.to_wire()]
            ctx = None
            for n in range(3):
                m = dns.message.make_response(q)
                m.answer.append(rr(f"h{n}.example.com.", "A", f"192.0.2.{n}"))
                msgs.append(m.to_wire(multi=True, tsig_ctx=ctx))
                ctx = m.tsig_ctx
            c.add(f"{alg}-{keyname}-stream", stream(*msgs, mode=mode))
            c.add(f"{alg}-{keyname}-request", stream(msgs[0], mode=mode))
    # a BADTIME request: signed an hour early
    time.time = lambda: TIME - 3600
    key = dns.tsig.Key("xfr.example.", SECRET, dns.tsig.HMAC_SHA256)
    q = query("example.com.", "SOA", qid=0x99, flags=0)
    q.use_tsig(key, fudge=300)
    c.add("badtime", stream(q.to_wire(), mode=0))
    time.time = lambda: TIME
    # an error TSIG with an empty MAC, as BADKEY answers carry
    q = query("example.com.", "SOA", qid=0x98, flags=0)
    q.use_tsig(key, fudge=300, tsig_error=dns.rcode.BADKEY)
    wire = q.to_wire()
    c.add("other-data", stream(wire, mode=1))
    return c.count


# ---- text targets ---------------------------------------------------------

ZONES = {
    "minimal": """$ORIGIN example.com.
$TTL 300
@ SOA ns1 hostmaster 1 7200 900 1209600 300
@ NS ns1
ns1 A 192.0.2.1
""",
    "include": """$ORIGIN example.com.
@ 3600 IN SOA ns1 hostmaster ( 2 7200 900
      1209600 300 ) ; a comment
  NS ns1
ns1 A 192.0.2.1
$INCLUDE inc
$INCLUDE inc sub.example.com.
""",
    "escapes-generic": r"""$TTL 1h
$ORIGIN example.com.
@ IN SOA ns1.example.com. a\.b.example.com. 3 1d 2h 4w 5m
@ IN NS ns1
ns1 IN A 192.0.2.1
\065\066c IN TXT "quoted \"text\" ; not a comment" plain
sp\ ace IN TYPE65280 \# 4 0a0b0c0d
gen IN A \# 4 c0000202
gen IN TYPE1 \# 4 c0000203
cl IN CLASS1 TXT "class1"
*.w IN MX 0 .
caa IN CAA 128 tbs "Unknown"
svc IN SVCB 2 . mandatory=alpn alpn=h2,h3 ech=AAAA ipv4hint=192.0.2.1
""",
    "errors": """$ORIGIN example.com.
@ SOA ns1 hostmaster 1 2 3 4 5
@ SOA ns1 hostmaster 2 2 3 4 5
www CNAME a
www A 192.0.2.1
out.example.net. A 192.0.2.1
bad A 300.1.1.1
( unbalanced
ch CH TXT "class"
$BOGUS x
""",
    "delegation-dname": """$ORIGIN example.com.
@ SOA ns1 hostmaster 4 2 3 4 5
@ NS ns1
ns1 A 192.0.2.1
sub NS ns.sub
ns.sub A 192.0.2.2
deep.ns.sub A 192.0.2.3
dn DNAME example.net.
x.dn A 192.0.2.4
ttl 10 A 192.0.2.5
ttl 20 A 192.0.2.6
""",
}


def zone_corpus():
    c = Corpus("zone_load")
    for name, text in ZONES.items():
        c.add(name, text)
    with open(os.path.join(DATA, "example.com.zone")) as f:
        c.add("example.com", f.read())
    for file in ("signed-nsec3.zone", "signed-nsec.zone", "rfc4592.zone"):
        with open(os.path.join(DATA, file)) as f:
            c.add(file, ";apex example.\n" + f.read())
    return c.count


CONFS = {
    "full": f"""# everything
key:
    name: xfr.example
    algorithm: hmac-sha256
    secret: "{SECRET}"
key:
    name: md5.example.
    algorithm: HMAC-MD5.SIG-ALG.REG.INT
    secret: {base64.b64encode(b"0123456789abcdef").decode()}

server:
    listen: 127.0.0.1@5353
    listen: ::1@5353
    listen: 192.0.2.1
    workers: 2
    identity: "ns1 # not a comment"
    version: hide
    nsid: 0x6e7331
    edns-buffer-size: 1232
    tcp-idle-timeout: 10
    tcp-max-clients: 1000
    log-level: debug
    storage: /var/lib/tandem
    pidfile: /run/tandemd.pid
    control: tandemd.ctl
    control-mode: 0660

zone:
    name: example.com
    file: zones/example.com.zone
    notify: 192.0.2.2@53 key xfr.example
    allow-transfer: 192.0.2.0/24 key xfr.example
    allow-transfer: 2001:db8::/32 key NONE
    journal-max-size: 64M

zone:
    name: example.net.
    primary: 198.51.100.1@53 key xfr.example
    primary: 2001:db8::1 key md5.example
    allow-notify: 198.51.100.1 key xfr.example
    notify: 203.0.113.7 key xfr.example
    allow-transfer: 203.0.113.7 key xfr.example
    refresh-min: 60
    refresh-max: 86400
    retry-min: 60
    retry-max: 3600
    expire-min: 3600
    expire-max: 2419200
    max-zone-size: 10000000
""",
    "minimal": """server:
    storage: /tmp
zone:
    name: example.com
    file: example.com.zone
""",
    "errors": """server:
    listen: 300.1.1.1@99999
    workers: 0
    edns-buffer-size: 100
    bogus: 1
    nsid: 0xZZ
    identity: "unterminated
key:
    name: k
    algorithm: hmac-sha3
    secret: !!!
zone:
    name: bad..name
    primary: 1.2.3.4 key missing
zone:
    name: example.com
zone:
    name: example.com
stray line
""",
}


def conf_corpus():
    c = Corpus("conf")
    for name, text in CONFS.items():
        c.add(name, text)
    with open(os.path.join(ROOT, "conf.example", "tandemd.conf")) as f:
        c.add("conf.example", f.read())
    return c.count


CONTROL = [
    "status\n", "reload\n", "reload example.com\n", "zonestatus\n",
    "zonestatus example.net.\n", 'zonestatus "sp\\\\032ace.example"\n',
    "notify example.com\n", "refresh nosuch.example\n",
    "retransfer example.net\n", "stats\n", "stats reset\n", "stats bogus\n",
    "stop\n", "status\r\n", "\n", "   \t \n", 'echo "unterminated\n',
    'reload "a b" c\\ d "q\\"uote" \'single\'\n', "status\0hidden\n",
    "status", "status\nsecond line\n", "log-reopen\n", "reconfig\n",
    "a" * 5000 + "\n", "status " + "x" * 4090 + "\r\n",
]


def control_corpus():
    c = Corpus("control")
    for i, line in enumerate(CONTROL):
        c.add(line.split()[0] if line.split() else "blank", line)
    return c.count


def main():
    time.time = lambda: TIME
    counts = {
        "answer": answer_corpus(),
        "msg": msg_corpus(),
        "xfrin": xfrin_corpus(),
        "tsig": tsig_corpus(),
        "zone_load": zone_corpus(),
        "conf": conf_corpus(),
        "control": control_corpus(),
    }
    for target, n in counts.items():
        print(f"{target}: {n} seeds")


if __name__ == "__main__":
    main()
