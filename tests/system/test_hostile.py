"""Hostile clients (issue 9): one test per attack.

Each test sends what a hostile or broken client sends, checks that the
server did the right thing with it, then that normal queries still answer
in the usual time (hostile.assert_healthy: ALL of N UDP and N/10 TCP
queries, each under 1 s).  Tests that hold server resources (connections,
buffers) run on a private tandemd and also check that its resident memory
(VmRSS) returns to its baseline (+4 MB or +10 %).

Not repeated from test_answers.py: the self-pointer and the forward
pointer in the QNAME, cut headers and questions, bare-header QDCOUNT=0,
one-question QDCOUNT=2, two OPT RRs over UDP, QR=1 on a plain query,
opcodes 1-3, 5-7, 15 over UDP, split TCP writes, the idle timeout of a
silent connection.

Tests on the `server` fixture run on tandemd, NSD 4.6 and Knot 3.2; their
tables give each server's outcome, tandemd's being the one it must keep.
Differences found here (beyond test_differential.py's table):

 message                         NSD          Knot          tandemd
 two-pointer loop; pointer past  FORMERR      dropped       FORMERR
   the end / into the header                                (header: REFUSED,
                                                             QNAME \\000.)
 legal backward pointers in      FORMERR      followed      followed
   additional RR owners                                     (RFC 1035 4.1.4)
 QDCOUNT=0 with only an OPT      NOERROR      FORMERR+OPT   FORMERR
 ... and a client COOKIE         NOERROR      FORMERR+OPT   NOERROR + cookie
   (RFC 7873 5.4 cookie query)
 QR=1 inside a TCP stream        reset        reset         skipped
 zero-length TCP message         reset        reset         skipped
 UDP query > 4096 octets         answered     answered      dropped
 TCP message that stops coming   idle timeout 500 ms        idle timeout
 one octet per second            kept open    closed, 500ms closed at the idle timeout

Resource limits tested: tcp-max-clients (split over the workers; over the
cap a connection is closed at once), tcp-idle-timeout (frees the slot of a
silent connection, of a message that stops half-way, of a client that
stops reading), the per-connection output high-water mark (RFC 7766
§6.2.1.1), the 65535-octet TCP message.  Three tandemd failures these
tests found are fixed: a client trickling one octet at a time kept its
slot (only whole messages re-arm the idle timer now), the accept loop
spun when out of descriptors (it pauses 100 ms and warns once a minute;
tandemd raises its descriptor limit at start), and the 64 KB input
buffers of a flood stayed resident (buffers of 32 KB and more are
mapped on their own).

Run time: about 50 s, mostly idle timeouts (2 s) on private instances.
"""

import socket
import struct
import time

import dns.rcode
import pytest

import dnsclient
import hostile
import servers
from hostile import (CLASS_IN, OPT_NSID, QR, TYPE_A, TYPE_NS, TYPE_SOA,
                     TYPE_TXT, assert_healthy, assert_rss_back, baseline,
                     closed_by_peer, close_all, cpu_seconds, flags_for, frame,
                     header, name_wire, open_many, opt, option, padded_query,
                     pointer, query_wire, question, rr, rss_kb, socket_fds,
                     tsig_rr, udp_burst, with_id)

NOERROR, FORMERR, NOTIMP, REFUSED, NOTAUTH = (
    dns.rcode.NOERROR, dns.rcode.FORMERR, dns.rcode.NOTIMP,
    dns.rcode.REFUSED, dns.rcode.NOTAUTH)

TRANSPORT = pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
DROP = "dropped"
# how long to wait for a reply that may legitimately never come
DROP_WAIT = 0.4
IDLE = 2            # tcp-idle-timeout of the private instances, seconds


# ---------------------------------------------------------------------------
# fixtures and helpers

@pytest.fixture(scope="module", autouse=True)
def _descriptors():
    """Room for the many-connection tests: this process (and the servers
    it starts, which inherit the limit) may open a few thousand sockets."""
    hostile.raise_nofile(8192)


@pytest.fixture
def private_tandemd(tmp_path, build_dir, tandemd_bin):
    """private_tandemd(tcp_max_clients=.., workers=.., tcp_idle_timeout=..)
    starts a tandemd of our own (hostile.LimitedTandemd), stopped and
    checked (no crash, clean exit, no sanitizer report) at teardown."""
    started = []

    def make(**kw):
        knobs = dict(servers.SHARED_KNOBS)
        knobs["tcp_idle_timeout"] = IDLE
        knobs.update(kw)
        srv = hostile.LimitedTandemd(tmp_path / ("tandemd-%d" % len(started)),
                                     build_dir, **knobs)
        srv.start()
        started.append(srv)
        return srv

    yield make
    servers.stop_all(started)


def outcome(reply, sent):
    """DROP, or the reply's RCODE name; a reply must be a response (QR)
    to what was sent (same ID)."""
    if reply.wire is None:
        return DROP
    h = reply.header
    assert h is not None, "reply shorter than a header: %r" % reply.wire
    assert h["qr"], "reply without QR"
    assert h["id"] == struct.unpack("!H", sent[:2])[0], "reply ID differs"
    return dns.rcode.to_text(h["rcode"])


def expect(table, server):
    """The allowed outcomes of `server` from an EXPECT table entry: a set,
    or a dict of server name -> set."""
    allowed = table[server.name] if isinstance(table, dict) else table
    return {a if isinstance(a, str) else dns.rcode.to_text(a)
            for a in allowed}


def answered_www(reply):
    """The reply is the normal answer to www.example.com A."""
    return (reply.msg is not None and reply.rcode == NOERROR and
            any(rd.to_text() == hostile.HEALTH_ADDR
                for rrset in reply.msg.answer for rd in rrset))


def check_case(server, wire, table, tcp):
    r = server.send_raw(wire, tcp=tcp, timeout=DROP_WAIT)
    got = outcome(r, wire)
    allowed = expect(table, server)
    assert got in allowed, "%s answered %s, expected one of %s\n%r" % (
        server.name, got, sorted(allowed), r)
    if got == "NOERROR" and r.header["qdcount"] == 1:
        assert answered_www(r), "NOERROR but not the normal answer:\n%r" % r
    assert_healthy(server, n=20)
    return r


def a_rr(owner):
    return rr(owner, TYPE_A, CLASS_IN, 0, b"\xc0\x00\x02\x01")


QNAME_LEN = len(name_wire("www.example.com"))      # 17
AR_START = 12 + QNAME_LEN + 4                      # after the question


def pointer_chain(hops):
    """www.example.com A with `hops` additional A RRs, each owned by
    'a' + a pointer to the previous owner (the first to the QNAME): all
    pointers backward, the last owner 17 + 2*hops octets long."""
    w = bytearray(header(ar=hops) + question())
    prev = 12
    for _ in range(hops):
        here = len(w)
        w += a_rr(b"\x01a" + pointer(prev))
        prev = here
    return bytes(w)


def bare_pointer_chain(size=4000):
    """Additional RRs owned by a bare pointer to the previous owner (the
    first to the QNAME): every owner is www.example.com, reached through
    up to ~250 pointers, all backward."""
    w = bytearray(header() + question())
    prev, n = 12, 0
    while len(w) + 16 < size:
        here = len(w)
        w += a_rr(pointer(prev))
        prev, n = here, n + 1
    w[10:12] = struct.pack("!H", n)
    return bytes(w)


# ---------------------------------------------------------------------------
# compression pointers (RFC 1035 §4.1.4)

POINTER_CASES = [
    ("two-pointer loop in the QNAME",
     header() + pointer(14) + pointer(12) + b"\x00\x01\x00\x01",
     {"tandemd": {FORMERR}, "nsd": {FORMERR}, "knot": {DROP}}),
    ("self-loop in an additional RR owner",
     header(ar=1) + question() + a_rr(pointer(AR_START)),
     {FORMERR}),
    ("forward pointer in an additional RR owner",
     header(ar=1) + question() + a_rr(pointer(AR_START + 16)) +
     name_wire("x.example"),
     {FORMERR}),
    ("self-loop in the NS rdata of an additional RR",
     header(ar=1) + question() +
     rr(b"\x00", TYPE_NS, CLASS_IN, 0, pointer(AR_START + 11)),
     {FORMERR}),
    ("pointer beyond the end of the message",
     header() + pointer(0x3FFF) + b"\x00\x01\x00\x01",
     {"tandemd": {FORMERR}, "nsd": {FORMERR}, "knot": {DROP}}),
    ("pointer into the header (QNAME \\000.)",
     header() + pointer(5) + b"\x00\x01\x00\x01",
     {"tandemd": {REFUSED}, "nsd": {FORMERR}, "knot": {DROP}}),
    ("owner 257 octets long through 120 backward pointers",
     pointer_chain(120),
     {FORMERR}),
    # legal compression that must be followed
    ("backward pointer to the QNAME's root label",
     header(ar=1) + question() + a_rr(pointer(12 + QNAME_LEN - 1)),
     {"tandemd": {NOERROR}, "nsd": {FORMERR}, "knot": {NOERROR}}),
    ("owner exactly 255 octets through 119 backward pointers",
     pointer_chain(119),
     {"tandemd": {NOERROR}, "nsd": {FORMERR}, "knot": {NOERROR}}),
    ("~250 owners that are bare pointers to the previous one",
     bare_pointer_chain(),
     {"tandemd": {NOERROR}, "nsd": {FORMERR}, "knot": {NOERROR}}),
]


@TRANSPORT
@pytest.mark.parametrize("label,wire,table", POINTER_CASES,
                         ids=[c[0] for c in POINTER_CASES])
def test_compression_pointers(server, tcp, label, wire, table):
    """Compression-pointer attacks: loops through more than one pointer,
    loops and forward pointers in RR owners and rdata after the question,
    pointers past the end or into the header, names over 255 octets built
    from pointers.  RFC 1035 §4.1.4 allows a pointer only to a PRIOR
    occurrence, so every loop has a forward pointer: FORMERR (or, Knot,
    dropped), never a hang or a crash.  Long chains of backward pointers
    are legal and must still be followed as long as the name stays within
    255 octets (RFC 1035 §3.1)."""
    check_case(server, wire, table, tcp)


# ---------------------------------------------------------------------------
# truncated messages

def _signed_query():
    return header(ar=2) + question() + opt() + tsig_rr()


TRUNCATION_BASES = [
    ("query with OPT and NSID", query_wire(edns=True,
                                           options=option(OPT_NSID))),
    ("query with OPT and TSIG", _signed_query()),
]


@pytest.mark.parametrize("label,base", TRUNCATION_BASES,
                         ids=[b[0] for b in TRUNCATION_BASES])
def test_every_truncation(server, label, base):
    """A query cut after every octet from the end of the header on (the
    question, the OPT RR and its option, a TSIG RR: type, class, TTL,
    RDLENGTH, each RDATA field), over UDP and TCP.  Each prefix is a
    message whose counts promise more than it holds: FORMERR (RFC 1035
    §4.1.1) or dropped -- never an answer as if it were complete."""
    prefixes = [with_id(base[:k], 0x1000 + k) for k in range(12, len(base))]
    replies = udp_burst(server, prefixes, wait=1.0)
    bad = []
    for qid, ws in replies.items():
        for w in ws:
            h = hostile.header_of(w)
            if not (h and h["qr"] and h["rcode"] == FORMERR and
                    0x1000 + 12 <= qid < 0x1000 + len(base)):
                bad.append((qid - 0x1000, h))
    assert not bad, "%s answered cut messages (length, header): %s" % (
        server.name, bad[:5])
    if server.name == "tandemd":
        assert len(replies) == len(prefixes), \
            "tandemd answers FORMERR to every cut query (got %d of %d)" % (
                len(replies), len(prefixes))
    for w in prefixes:
        r = server.send_raw(w, tcp=True, timeout=DROP_WAIT)
        got = outcome(r, w)
        assert got in ("FORMERR", DROP), "%s: %s to %d octets over TCP" % (
            server.name, got, len(w))
        if server.name == "tandemd":
            assert got == "FORMERR"
    # the whole message: the unknown key is refused (RFC 8945 §5.2.1)
    want = "NOTAUTH" if "TSIG" in label else "NOERROR"
    assert outcome(server.send_raw(base), base) == want
    assert_healthy(server, n=20)


# ---------------------------------------------------------------------------
# QDCOUNT (RFC 9619, RFC 7873 §5.4)

QDCOUNT_CASES = [
    ("QDCOUNT=2 with two complete questions",
     header(qd=2) + question() + question("mail.example.com"),
     {"tandemd": {FORMERR}, "nsd": {FORMERR}, "knot": {DROP}}),
    ("QDCOUNT=65535 with one question",
     header(qd=65535) + question(),
     {"tandemd": {FORMERR}, "nsd": {FORMERR}, "knot": {DROP}}),
    ("QDCOUNT=0 followed by a question anyway",
     header(qd=0) + question(),
     {"tandemd": {FORMERR}, "nsd": {FORMERR}, "knot": {DROP}}),
    ("QDCOUNT=0 with only an OPT",
     header(qd=0, ar=1) + opt(),
     {"tandemd": {FORMERR}, "nsd": {NOERROR}, "knot": {FORMERR}}),
    ("QDCOUNT=0 with only an OPT carrying a client COOKIE",
     header(qd=0, ar=1) + opt(options=option(10, b"8 octets")),
     {"tandemd": {NOERROR}, "nsd": {NOERROR}, "knot": {FORMERR}}),
]


@TRANSPORT
@pytest.mark.parametrize("label,wire,table", QDCOUNT_CASES,
                         ids=[c[0] for c in QDCOUNT_CASES])
def test_question_count(server, tcp, label, wire, table):
    """QDCOUNT other than 1.  RFC 9619: a query with more than one
    question is FORMERR (Knot 3.2 drops it); a count that lies about the
    questions present is FORMERR.  QDCOUNT=0 with an OPT and a COOKIE
    option is how RFC 7873 §5.4 asks for a server cookie: NOERROR with the
    cookie (tandemd, NSD; Knot 3.2 answers FORMERR); without a cookie it
    is FORMERR (RFC 9619; NSD answers NOERROR)."""
    r = check_case(server, wire, table, tcp)
    if server.name == "tandemd" and r.wire is not None:
        assert r.header["qdcount"] == 0, "no question to repeat"


# ---------------------------------------------------------------------------
# OPT in the wrong place (RFC 6891 §6.1.1)

OPT_CASES = [
    ("two OPT RRs", header(ar=2) + question() + opt() + opt(), {FORMERR},
     ("tcp",)),
    ("OPT owned by example.com, not the root",
     header(ar=1) + question() + opt(owner=name_wire("example.com")),
     {"tandemd": {FORMERR, NOERROR}, "nsd": {FORMERR}, "knot": {NOERROR}},
     ("udp", "tcp")),
    ("OPT in the answer section", header(an=1) + question() + opt(),
     {FORMERR}, ("udp", "tcp")),
    ("OPT in the authority section", header(ns=1) + question() + opt(),
     {FORMERR}, ("udp", "tcp")),
    ("OPT in the answer and in the additional section",
     header(an=1, ar=1) + question() + opt() + opt(), {FORMERR},
     ("udp", "tcp")),
    ("OPT with an extended RCODE set in a query",
     header(ar=1) + question() + opt(ext_rcode=5), {NOERROR},
     ("udp", "tcp")),
]


@pytest.mark.parametrize("label,wire,table,tcp", [
    (label, wire, table, t == "tcp")
    for label, wire, table, ts in OPT_CASES for t in ts],
    ids=["%s-%s" % (label, t) for label, _, _, ts in OPT_CASES for t in ts])
def test_bad_opt(server, label, wire, table, tcp):
    """Bad OPT RRs.  RFC 6891 §6.1.1: more than one OPT is FORMERR (the UDP
    case is in test_answers.py), and an OPT belongs in the additional
    section only, so one in the answer or authority section makes a
    query with records where none may be (FORMERR, as NSD and Knot).
    §6.1.2: the owner MUST be the root; NSD says FORMERR, Knot accepts
    it, tandemd may do either (test_differential.py's table).  The
    extended RCODE bits of a query mean nothing and are ignored."""
    check_case(server, wire, table, tcp)


# ---------------------------------------------------------------------------
# QR=1: never answered (RFC 1035 §4.1.1; no reflection)

def _responses():
    """Messages with QR=1, each with its own ID: every opcode, error
    rcodes, TC, a reflected-looking answer, malformed ones."""
    out = [header(qid=0x100 + op, flags=flags_for(op, qr=True)) + question()
           for op in range(16)]
    q = question()
    out += [
        header(qid=0x200, flags=QR | FORMERR) + q,
        header(qid=0x201, flags=QR | REFUSED) + q,
        header(qid=0x202, flags=QR | 0x0200) + q,                 # TC
        header(qid=0x203, flags=QR | 0x0400, an=1) + q +
        a_rr(pointer(12)),                                      # an answer
        header(qid=0x204, flags=flags_for(4, qr=True) | 0x0400) +
        question("example.com", TYPE_SOA),                      # NOTIFY resp.
        header(qid=0x205, flags=QR, qd=0),                      # header only
        header(qid=0x206, flags=QR) + pointer(12) + b"\x00\x01\x00\x01",
        header(qid=0x207, flags=QR, qd=2) + q,
        header(qid=0x208, flags=QR) + q[:5],                    # cut
        header(qid=0x209, flags=QR, ar=1) + q + opt(version=1),
        header(qid=0x20A, flags=QR, ar=2) + q + opt() + tsig_rr(),
        b"\xff" * 40,                                           # all ones
    ]
    return out


def test_responses_never_answered_udp(server):
    """No reflection: a message with QR=1 is a response and is never
    answered (RFC 1035 §4.1.1; answering responses lets two servers loop
    and makes the server a reflector) -- whatever its opcode or rcode,
    well-formed or not.  28 such datagrams, not one reply."""
    replies = udp_burst(server, _responses(), wait=1.0)
    assert not replies, "%s answered QR=1 messages: %s" % (
        server.name, {hex(k): hostile.header_of(v[0])
                      for k, v in replies.items()})
    assert_healthy(server, n=20)


def test_responses_never_answered_tcp(server):
    """The same QR=1 messages pipelined on one TCP connection between two
    queries: none is answered.  tandemd skips them and answers the query
    after them (RFC 7766 §6.2.1.1 keeps the connection for the client);
    NSD and Knot reset the connection at the first one."""
    good1, good2 = query_wire(qid=1), query_wire(qid=2)
    blob = frame(good1) + b"".join(frame(w) for w in _responses()) + \
        frame(good2)
    ids = []
    with server.tcp_conn(timeout=2) as c:
        c.sock.sendall(blob)
        for _ in range(40):
            try:
                ids.append(struct.unpack("!H", c.recv(timeout=1.0)[:2])[0])
            except (socket.timeout, ConnectionError, OSError):
                break
    assert ids[:1] == [1], "%s did not answer the first query: %s" % (
        server.name, ids)
    assert set(ids) <= {1, 2}, "%s answered QR=1 messages: %s" % (
        server.name, [hex(i) for i in ids])
    if server.name == "tandemd":
        assert ids == [1, 2]
    assert_healthy(server, n=20)


# ---------------------------------------------------------------------------
# every opcode (RFC 6895 §2.2)

def _opcode_rcodes(server, opcode):
    if opcode == 0:
        return {NOERROR}
    if opcode == 4:
        # NOTIFY for a zone it is primary of, from a host not allowed
        return {NOTAUTH} if server.name == "knot" else {REFUSED}
    if opcode == 5 and server.name == "knot":
        return {FORMERR, NOTAUTH, REFUSED}    # Knot implements UPDATE
    return {NOTIMP}


@TRANSPORT
def test_every_opcode(server, tcp):
    """Opcodes 0 to 15 with an ordinary question: each is answered with
    QR set, its own opcode and ID -- QUERY normally, NOTIFY from a host
    no allow-notify names with REFUSED (RFC 1996 §4.7 leaves the rcode
    open; Knot says NOTAUTH), everything else (IQUERY, STATUS, the
    unassigned ones, DSO) with NOTIMP (RFC 1035 §4.1.1, RFC 6895 §2.2)."""
    for opcode in range(16):
        q = question("example.com", TYPE_SOA) if opcode == 4 else question()
        w = header(qid=0x300 + opcode,
                   flags=flags_for(opcode) | (0x0400 if opcode == 4 else 0)
                   ) + q
        r = server.send_raw(w, tcp=tcp, timeout=1.0)
        h = r.header
        assert h is not None, "%s: no reply to opcode %d" % (server.name,
                                                             opcode)
        assert h["qr"] and h["id"] == 0x300 + opcode
        assert h["opcode"] == opcode
        assert h["rcode"] in _opcode_rcodes(server, opcode), \
            "%s: rcode %s to opcode %d" % (server.name,
                                           dns.rcode.to_text(h["rcode"]),
                                           opcode)
    assert_healthy(server, n=20)


# ---------------------------------------------------------------------------
# TCP length prefixes that lie (RFC 1035 §4.2.2, RFC 7766 §8)

def test_tcp_prefix_longer_then_eof(server):
    """A length prefix 10 octets longer than the query, then the client
    closes its side: the message can never complete, so nothing is
    answered and the server closes at once (not after the idle timeout)."""
    w = query_wire()
    with server.tcp_conn() as c:
        c.sock.sendall(struct.pack("!H", len(w) + 10) + w)
        c.sock.shutdown(socket.SHUT_WR)
        data, closed, dt = hostile.read_until_close(c.sock, 3.0)
    assert data == b"", "%s answered a message that never arrived" % (
        server.name)
    assert closed and dt < 1.0, "%s did not close at EOF (%.1f s)" % (
        server.name, dt)
    assert_healthy(server, n=20)


@pytest.mark.parametrize("name", servers.SERVER_NAMES)
def test_tcp_prefix_longer_then_silence(make_server, name):
    """A length prefix 10 octets longer than the query, then silence:
    nothing is answered, and the connection is closed by the idle timeout
    (RFC 7766 §6.2.3; 2 s here).  Knot closes after its 500 ms
    tcp-io-timeout instead."""
    srv = make_server(name, tcp_idle_timeout=IDLE)
    w = query_wire()
    with srv.tcp_conn() as c:
        c.sock.sendall(struct.pack("!H", len(w) + 10) + w)
        data, closed, dt = hostile.read_until_close(c.sock, IDLE + 3.0)
    assert data == b""
    assert closed, "%s kept a half-sent message open %.1f s" % (name, dt)
    if name == "tandemd":
        assert IDLE - 0.5 <= dt <= IDLE + 1.5, "closed after %.1f s" % dt
    assert_healthy(srv, n=20)


def test_tcp_prefix_shorter_than_message(server):
    """A length prefix 3 octets short: the message it frames ends inside
    the OPT RR -- FORMERR, not an answer to the query without its OPT; the
    3 octets left over start a frame that never completes."""
    w = query_wire(edns=True)
    cut = w[:-3]
    with server.tcp_conn(timeout=2) as c:
        c.sock.sendall(struct.pack("!H", len(cut)) + w)
        r = dnsclient.Reply(c.recv())
    assert r.header["rcode"] == FORMERR, r
    assert_healthy(server, n=20)


def test_tcp_zero_length_message(server):
    """A zero length prefix, then a query.  A message shorter than a
    header is not a DNS message: NSD and Knot reset the connection,
    tandemd skips it and answers the query after it.  Either way no reply
    to the empty message and no hang."""
    w = query_wire(qid=77)
    with server.tcp_conn(timeout=2) as c:
        c.sock.sendall(b"\x00\x00" + frame(w))
        try:
            reply = c.recv(timeout=2.0)
        except (ConnectionError, OSError):
            reply = None
    if server.name == "tandemd":
        assert reply is not None
    if reply is not None:
        assert answered_www(dnsclient.Reply(reply))
        assert reply[:2] == w[:2]
    assert_healthy(server, n=20)


def test_tcp_query_of_65535_octets(server):
    """The largest message a length prefix can frame (RFC 1035 §4.2.2): a
    query padded to 65535 octets with EDNS Padding (RFC 7830) is a valid
    query and is answered normally."""
    w = padded_query(65535)
    r = server.send_raw(w, tcp=True, timeout=2.0)
    assert answered_www(r), r
    assert_healthy(server, n=20)


def test_udp_query_size(server):
    """Large UDP queries (valid ones, grown with EDNS Padding).  A
    4096-octet query is answered by all three.  Above that tandemd drops
    the datagram (its fixed 4096-octet receive buffer, UDP_IN_SIZE: not
    configurable) -- the attack this guards against is answering from
    the first 4096 octets of a longer datagram, so a FORMERR or any other
    answer than the complete one fails; NSD and Knot answer up to the
    largest datagram (65507 octets)."""
    w = padded_query(4096)
    assert answered_www(server.send_raw(w, timeout=1.0))
    for size in (4097, 16384, 65507):
        w = padded_query(size)
        r = server.send_raw(w, timeout=DROP_WAIT)
        got = outcome(r, w)
        if server.name == "tandemd":
            assert got == DROP or answered_www(r), \
                "tandemd answered %s to a %d-octet query" % (got, size)
        else:
            assert got == "NOERROR" and answered_www(r)
    assert_healthy(server, n=20)


def test_tcp_64k_prefixes_memory(private_tandemd):
    """900 connections each announce a 65535-octet message and send 60,000
    octets of it: tandemd buffers them (about 55 MB) while UDP and other
    TCP clients are answered as usual; once the clients go, the buffers
    are freed and RSS returns to its baseline.  (NSD and Knot stay flat
    under the same attack: NSD's buffers are allocated at start, Knot
    drops each connection after 500 ms.)"""
    srv = private_tandemd(tcp_idle_timeout=10)
    pid = srv.proc.pid
    baseline(srv)
    before = rss_kb(pid)
    socks = open_many(srv.host, srv.port, 900)
    try:
        blob = struct.pack("!H", 65535) + b"\x00" * 60000
        for s in socks:
            s.setblocking(True)
            s.settimeout(2)
            try:
                s.sendall(blob)
            except OSError:
                pass
        time.sleep(0.5)
        during = rss_kb(pid)
        assert_healthy(srv, n=50, what="900 half-sent 64 KB messages")
    finally:
        close_all(socks)
    after = hostile.settle_rss(pid, 1.5)
    assert during - before > 20000, (
        "the attack did not reach the server? RSS %d -> %d KiB" % (before,
                                                                   during))
    assert_rss_back(srv, before, after_kb=after,
                    what="900 half-sent 64 KB messages (peak %d KiB)" % during)
    assert_healthy(srv, n=50)


# ---------------------------------------------------------------------------
# slow clients

def test_slow_clients_one_octet_at_a_time(private_tandemd):
    """Six clients send their query one octet every 0.3 s (four octets,
    well within a 10 s idle timeout: a trickle past it is closed, see
    test_slow_clients_cannot_hold_the_slots): meanwhile every other query
    is answered in the usual time; when they send the rest, each gets its
    own correct answer (the per-connection state survived the trickle)."""
    srv = private_tandemd(tcp_idle_timeout=10)
    baseline(srv)
    before = rss_kb(srv.proc.pid)
    wires = [frame(query_wire(qid=0x600 + i)) for i in range(6)]
    conns = [srv.tcp_conn(timeout=3) for _ in wires]
    try:
        for sec in range(4):
            for c, w in zip(conns, wires):
                c.sock.sendall(w[sec:sec + 1])
            t0 = time.monotonic()
            assert_healthy(srv, n=10, tcp=True,
                           what="%d octets of trickling clients"
                           % (sec + 1))
            time.sleep(max(0.0, 0.3 - (time.monotonic() - t0)))
        for c, w in zip(conns, wires):
            c.sock.sendall(w[4:])
        for i, c in enumerate(conns):
            r = dnsclient.Reply(c.recv())
            assert r.msg.id == 0x600 + i and answered_www(r), r
    finally:
        for c in conns:
            c.close()
    assert_rss_back(srv, before, after_kb=hostile.settle_rss(srv.proc.pid,
                                                              0.5))
    assert_healthy(srv)


def test_slow_clients_cannot_hold_the_slots(private_tandemd):
    """Slowloris: tcp-max-clients 2 (one worker), two clients that keep
    sending one octet per second of a message they never finish.  A
    server must bound the time a message may take (Knot: tcp-io-timeout,
    500 ms; the 'total-transfer time' of issue 9), else the attacker keeps
    every slot.  Expected: both closed within 3 x tcp-idle-timeout (6 s),
    and a new TCP client answered after that.  UDP is answered all along."""
    srv = private_tandemd(tcp_max_clients=2, workers=1)
    baseline(srv)
    w = frame(padded_query(400))       # 402 octets: never completes here
    slow = [srv.tcp_conn(timeout=1) for _ in range(2)]
    open_ = list(slow)
    refused_meanwhile = 0
    t0 = time.monotonic()
    try:
        for sec in range(8):
            for c in list(open_):
                try:
                    c.sock.sendall(w[sec:sec + 1])
                    if c.closed_by_peer(0.01):
                        open_.remove(c)
                except OSError:
                    open_.remove(c)
            if not open_:
                break
            if sec == 3:
                r = srv.query("www.example.com", "A", tcp=True, timeout=0.5)
                refused_meanwhile += r.wire is None
            assert_healthy(srv, n=5, tcp=False, what="the slow clients")
            time.sleep(max(0.0, (sec + 1) - (time.monotonic() - t0)))
        held = time.monotonic() - t0
        assert not open_, (
            "%d of 2 one-octet-per-second clients still connected after "
            "%.1f s (tcp-idle-timeout %d s); a new TCP client was %s while "
            "they held the slots" % (len(open_), held, IDLE,
                                     "refused" if refused_meanwhile
                                     else "answered"))
    finally:
        for c in slow:
            c.close()
    assert_healthy(srv)


def test_client_that_never_reads(private_tandemd):
    """Twenty clients pipeline queries for a 64 KB answer (huge.example.com
    TXT) with a tiny receive window and never read.  The server stops
    answering a connection whose output backs up (RFC 7766 §6.2.1.1, a
    64 KB high-water mark), the others are served as usual, each stalled
    connection is closed by the idle timeout (no progress for 2 s), and
    the queued answers are freed (RSS back to its baseline)."""
    srv = private_tandemd()
    pid = srv.proc.pid
    baseline(srv)
    time.sleep(0.3)         # the baseline's TCP connections are gone
    before, before_socks = rss_kb(pid), socket_fds(pid)
    q = frame(query_wire("huge.example.com", TYPE_TXT, edns=True))
    conns = []
    try:
        for _ in range(20):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect((srv.host, srv.port))
            s.setblocking(False)
            try:
                s.send(q * 50)
            except BlockingIOError:
                pass
            conns.append(s)
        time.sleep(0.5)
        during = rss_kb(pid)
        held = socket_fds(pid) - before_socks
        assert held == 20, "%d of 20 connections held" % held
        assert_healthy(srv, n=50, what="20 clients that never read")
        # The server's close cannot reach these clients (its FIN waits
        # behind answers they never take), so count the server's sockets.
        deadline = time.monotonic() + IDLE + 3.0
        while socket_fds(pid) > before_socks and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        held = socket_fds(pid) - before_socks
        assert held <= 0, "%d of 20 stalled connections not closed " \
            "within %d s (tcp-idle-timeout %d s)" % (held, IDLE + 3, IDLE)
    finally:
        close_all(conns)
    assert during - before < 20 * 1024, (
        "20 stalled clients cost %d KiB: output is not bounded" %
        (during - before))
    assert_rss_back(srv, before, after_kb=hostile.settle_rss(pid, 0.5),
                    what="20 clients that never read")
    assert_healthy(srv)


# ---------------------------------------------------------------------------
# connection limits: tcp-max-clients, tcp-idle-timeout

def test_tcp_max_clients_enforced(private_tandemd):
    """tcp-max-clients 3 with one worker: of ten connections three are
    kept and answered, the other seven are closed at once (not left in
    the backlog).  Closing one frees its slot for a new client; the idle
    timeout frees the others.  UDP is answered all along."""
    srv = private_tandemd(tcp_max_clients=3, workers=1)
    baseline(srv)
    socks = open_many(srv.host, srv.port, 10)
    try:
        assert len(socks) == 10
        closed, held = closed_by_peer(socks, 0.5)
        assert len(held) == 3 and len(closed) == 7, (
            "cap 3: %d connections held, %d closed" % (len(held),
                                                        len(closed)))
        assert_healthy(srv, n=20, tcp=False, what="a full TCP table")
        r = srv.query("www.example.com", "A", tcp=True, timeout=0.5)
        assert r.wire is None, "a fourth TCP client was served at cap 3"
        for i, s in enumerate(held):
            s.setblocking(True)
            s.settimeout(1)
            s.sendall(frame(query_wire(qid=0x700 + i)))
        for i, s in enumerate(held):
            n = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
            body = s.recv(n, socket.MSG_WAITALL)
            assert struct.unpack("!H", body[:2])[0] == 0x700 + i
        held[0].close()
        time.sleep(0.2)
        assert answered_www(srv.query("www.example.com", "A", tcp=True)), \
            "the slot of a closed connection was not freed"
        t0 = time.monotonic()
        closed2, still = closed_by_peer(held[1:], IDLE + 3.0)
        assert not still, "idle connections not closed after %.1f s" % (
            time.monotonic() - t0)
    finally:
        close_all(socks)
    assert_healthy(srv)


def test_tcp_max_clients_split_over_workers(private_tandemd):
    """tcp-max-clients is for the whole server, split over the workers
    (README): with 4 over 2 workers, never more than 4 connections are
    held, however the kernel spreads twenty of them."""
    srv = private_tandemd(tcp_max_clients=4, workers=2)
    socks = open_many(srv.host, srv.port, 20)
    try:
        closed, held = closed_by_peer(socks, 0.5)
        assert 1 <= len(held) <= 4, "cap 4: %d held" % len(held)
        assert_healthy(srv, n=20, tcp=False)
    finally:
        close_all(socks)
    time.sleep(0.3)
    assert_healthy(srv)


def test_2000_idle_tcp_connections(private_tandemd):
    """2,000 TCP connections that never send anything, against the
    default cap of 1,000 (2 workers, idle timeout 2 s): the server holds
    at most 1,000 sockets and closes the rest at once, answers UDP in the
    usual time meanwhile, uses almost no CPU waiting, and after the idle
    timeout has closed every connection and freed every slot (new TCP
    answered, RSS back to its baseline)."""
    if hostile.raise_nofile(8192) < 2300:
        pytest.skip("RLIMIT_NOFILE hard limit too low for 2,000 sockets")
    srv = private_tandemd()
    pid = srv.proc.pid
    baseline(srv)
    time.sleep(0.3)         # the baseline's TCP connections are gone
    before_rss, before_socks = rss_kb(pid), socket_fds(pid)
    cpu0 = cpu_seconds(pid)
    socks = open_many(srv.host, srv.port, 2000, deadline_s=15)
    try:
        assert len(socks) >= 1900, "only %d connections made" % len(socks)
        # (counted on the server's side: a connection the client sees as
        # established may still wait in a full accept queue)
        closed, held = closed_by_peer(socks, 0.5)
        server_socks = socket_fds(pid) - before_socks
        assert server_socks <= 1000, "%d sockets held (cap 1000)" % (
            server_socks)
        assert len(closed) >= 500, "over the cap, connections must be " \
            "closed at once: %d of %d closed" % (len(closed), len(socks))
        assert_healthy(srv, n=50, tcp=False, what="2,000 idle connections")
        # Every slot is freed by the idle timeout.  Counted on the
        # server: the last connections out of a full accept queue come
        # late (SYN-ACK retransmission) and wait their own idle timeout,
        # and a few the kernel answered with SYN cookies and then dropped
        # stay "established" on the client side only.
        deadline = time.monotonic() + IDLE + 5.0
        while socket_fds(pid) > before_socks and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        left = socket_fds(pid) - before_socks
        assert left <= 0, "%d idle connections still held after %d s" % (
            left, IDLE + 5)
    finally:
        close_all(socks)
    cpu = cpu_seconds(pid) - cpu0
    assert cpu < 2.0, "%.2f s of CPU for 2,000 idle connections" % cpu
    assert_rss_back(srv, before_rss, what="2,000 idle connections")
    assert_healthy(srv)


def test_out_of_descriptors_does_not_spin(private_tandemd):
    """tandemd with the default tcp-max-clients (1000) but only 20 spare
    descriptors (its RLIMIT_NOFILE lowered with prlimit -- the common soft
    limit of 1024 does the same to a full default cap), then 60 idle
    connections.  UDP must still be answered; the connections it cannot
    accept must wait in the backlog without costing CPU or flooding the
    log (expected: < 0.3 s of CPU and < 100 log lines per second); once
    descriptors are free again, new TCP clients are answered."""
    resource = pytest.importorskip("resource")
    srv = private_tandemd()
    pid = srv.proc.pid
    baseline(srv)
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE,
                     (hostile.open_fds(pid) + 20, hard))
    lines0 = len(srv.log_text().splitlines())
    socks = open_many(srv.host, srv.port, 60)
    try:
        cpu0 = cpu_seconds(pid)
        time.sleep(0.5)
        cpu = (cpu_seconds(pid) - cpu0) / 0.5
        assert_healthy(srv, n=20, tcp=False, what="descriptor exhaustion")
    finally:
        close_all(socks)
    # the accepted ones see EOF and close; the backlog drains
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        ok = srv.query("www.example.com", "A", tcp=True, timeout=0.3)
        if answered_www(ok):
            break
        time.sleep(0.1)
    assert answered_www(ok), "TCP not answered once descriptors are free"
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    lines = len(srv.log_text().splitlines()) - lines0
    assert cpu < 0.3 and lines < 100, (
        "out of descriptors: %.0f %% of a CPU and %d log lines (e.g. %r)"
        % (cpu * 100, lines, srv.log_text().splitlines()[-1][:100]))


# ---------------------------------------------------------------------------
# memory after a flood of every malformed message above

def test_malformed_flood_memory_flat(private_tandemd):
    """Every malformed message of this file, 40 times over UDP and once per
    TCP connection: RSS returns to its baseline (nothing allocated for a
    bad message is kept) and normal queries answer in the usual time."""
    srv = private_tandemd()
    pid = srv.proc.pid
    baseline(srv)
    wires = [c[1] for c in POINTER_CASES + QDCOUNT_CASES] + \
        [c[1] for c in OPT_CASES] + _responses() + \
        [b[:k] for _, b in TRUNCATION_BASES for k in range(12, len(b))]
    before = rss_kb(pid)
    for rnd in range(40):
        udp_burst(srv, [with_id(w, (rnd << 9) + i) for i, w in
                        enumerate(wires) if len(w) >= 12], wait=0.05)
    for w in wires:
        # framed, then EOF: everything sent before the FIN is answered
        # and the server closes
        with srv.tcp_conn(timeout=1) as c:
            c.sock.sendall(frame(w))
            c.sock.shutdown(socket.SHUT_WR)
            hostile.read_until_close(c.sock, 1.0)
    assert_rss_back(srv, before, after_kb=hostile.settle_rss(pid, 0.5),
                    what="%d malformed messages" % (41 * len(wires)))
    assert_healthy(srv)
