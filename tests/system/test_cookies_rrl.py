"""DNS Cookies (RFC 7873, RFC 9018) and response rate limiting (issue 9).

Cookies: a client cookie gets a server cookie back, which the server then
echoes; a stale (two hours old) or forged server cookie gets a new one; a
cookie of a wrong length is a FORMERR; a query with no question gets a
server cookie (RFC 7873 §5.4); with cookie-require, UDP without a valid
server cookie gets BADCOOKIE and TCP is answered. The server cookies are
recomputed here from the configured secret with SipHash-2-4 (a pure
Python implementation below), which proves them interoperable: any RFC
9018 server sharing the secret makes the same ones.

Rate limiting: a bounded flood of identical queries from one client
prefix is limited (most dropped, every second limited one sent truncated,
TC set), while a second prefix is answered in full; exempt netblocks and
clients with a valid server cookie are not limited; counters in `stats`.

Reconfig: rate limiting (rate, exempt netblocks) and cookie-require change
at `tandemctl reconfig` without a restart, also while queries arrive.
"""

import os
import socket
import struct
import subprocess
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import dnsclient

SECRET = bytes.fromhex("e5e973e5a6b2a43f48e7dc849e37bfcf")
CLIENT = bytes.fromhex("2464c4abcf10c957")
COOKIE = 10


# ---- SipHash-2-4 (https://131002.net/siphash/ reference algorithm) -------

def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & 0xFFFFFFFFFFFFFFFF


def siphash24(key, data):
    k0, k1 = struct.unpack("<QQ", key)
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    m = 0xFFFFFFFFFFFFFFFF

    def rounds(n):
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & m
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & m
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & m
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & m
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)

    end = len(data) - len(data) % 8
    for i in range(0, end, 8):
        word, = struct.unpack("<Q", data[i:i + 8])
        v3 ^= word
        rounds(2)
        v0 ^= word
    last = (len(data) & 0xFF) << 56
    for i, b in enumerate(data[end:]):
        last |= b << (8 * i)
    v3 ^= last
    rounds(2)
    v0 ^= last
    v2 ^= 0xFF
    rounds(4)
    return struct.pack("<Q", v0 ^ v1 ^ v2 ^ v3)


def server_cookie(when, client=CLIENT, addr="127.0.0.1", secret=SECRET):
    """RFC 9018 §4: version 1, reserved, timestamp, SipHash-2-4 over the
    client cookie, those, and the client address."""
    head = bytes([1, 0, 0, 0]) + struct.pack(">I", when)
    return head + siphash24(secret, client + head + socket.inet_aton(addr))


def test_siphash_rfc9018_vector():
    """RFC 9018 Appendix A.1, so the reference here is right."""
    got = server_cookie(1559731985, addr="198.51.100.100")
    assert got.hex() == "010000005cf79f111f8130c3eee29480"


# ---- helpers --------------------------------------------------------------

def _query(qname="www.example.com", qtype="A", cookie=None, question=True):
    """A query (with no question when question is False) carrying a
    COOKIE option when cookie is given, and its wire form."""
    if question:
        q = dns.message.make_query(qname, qtype)
    else:
        q = dns.message.Message()
    options = [] if cookie is None else [dns.edns.GenericOption(COOKIE,
                                                                cookie)]
    q.use_edns(0, 0, 1232, options=options)
    return q, q.to_wire()


def _cookie_of(msg):
    for o in msg.options:
        if o.otype == COOKIE:
            return o.data if hasattr(o, "data") else o.to_wire()
    return None


def _ask(srv, cookie=None, tcp=False, question=True, source="127.0.0.1"):
    q, wire = _query(cookie=cookie, question=question)
    if tcp:
        raw = dnsclient.tcp_exchange(wire, srv.port)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind((source, 0))
            s.settimeout(2)
            s.sendto(wire, ("127.0.0.1", srv.port))
            raw, _ = s.recvfrom(65535)
        finally:
            s.close()
    m = dns.message.from_wire(raw)
    return m, _cookie_of(m)


def _rcode(m):
    return m.rcode()


SECRET_LINES = "    cookie-secret: %s\n" % SECRET.hex()


@pytest.fixture
def cookie_server(make_server):
    return make_server("tandemd", extra=SECRET_LINES)


# ---- cookies --------------------------------------------------------------

def test_client_cookie_round_trip(cookie_server):
    """RFC 7873 §5.2.3 then §5.2.5: a client cookie alone gets the answer
    and a server cookie; sent back, that cookie is echoed unchanged. The
    server cookie is the RFC 9018 one for our address and its time."""
    m, c = _ask(cookie_server, CLIENT)
    assert _rcode(m) == dns.rcode.NOERROR and len(m.answer) == 1
    assert c is not None and len(c) == 24 and c[:8] == CLIENT, c
    when = struct.unpack(">I", c[12:16])[0]
    assert abs(when - time.time()) < 5
    assert c[8:] == server_cookie(when), "not the RFC 9018 cookie"
    m2, c2 = _ask(cookie_server, c)
    assert _rcode(m2) == dns.rcode.NOERROR and len(m2.answer) == 1
    assert c2 == c


def test_stale_and_forged_server_cookies(cookie_server):
    """A server cookie two hours old (RFC 9018 §4.3: valid for an hour), or
    one with a bit flipped, is answered normally with a fresh cookie."""
    now = int(time.time())
    stale = CLIENT + server_cookie(now - 7200)
    m, c = _ask(cookie_server, stale)
    assert _rcode(m) == dns.rcode.NOERROR and len(m.answer) == 1
    assert c[:8] == CLIENT and c != stale
    assert abs(struct.unpack(">I", c[12:16])[0] - now) < 5
    forged = bytearray(CLIENT + server_cookie(now))
    forged[-1] ^= 1
    m, c = _ask(cookie_server, bytes(forged))
    assert _rcode(m) == dns.rcode.NOERROR
    assert c != bytes(forged) and c[8:] == server_cookie(
        struct.unpack(">I", c[12:16])[0])
    # Forty minutes old: valid, but renewed (RFC 9018 §4.3).
    old = CLIENT + server_cookie(now - 2400)
    m, c = _ask(cookie_server, old)
    assert c != old and abs(struct.unpack(">I", c[12:16])[0] - now) < 5


@pytest.mark.parametrize("length", [1, 7, 9, 15, 41])
def test_malformed_cookie_is_formerr(cookie_server, length):
    """RFC 7873 §5.2.2: a COOKIE option of a wrong length is a FORMERR."""
    m, c = _ask(cookie_server, bytes(range(length)))
    assert _rcode(m) == dns.rcode.FORMERR
    assert c is None


def test_cookie_without_question(cookie_server):
    """RFC 7873 §5.4: QDCOUNT 0 with a COOKIE option asks for a server
    cookie: NOERROR, no question, the cookie."""
    m, c = _ask(cookie_server, CLIENT, question=False)
    assert _rcode(m) == dns.rcode.NOERROR and not m.question
    assert c is not None and c[:8] == CLIENT and len(c) == 24


def test_cookie_require(make_server):
    """cookie-require: a UDP query without a valid server cookie gets
    BADCOOKIE (RFC 7873 §5.2.3) and a cookie; retried with it, the
    answer; over TCP always the answer."""
    srv = make_server("tandemd", extra=SECRET_LINES +
                      "    cookie-require: yes\n")
    m, c = _ask(srv, CLIENT)
    assert _rcode(m) == dns.rcode.BADCOOKIE and not m.answer
    assert c is not None and len(c) == 24
    m, c2 = _ask(srv, c)
    assert _rcode(m) == dns.rcode.NOERROR and len(m.answer) == 1
    m, _ = _ask(srv, CLIENT, tcp=True)
    assert _rcode(m) == dns.rcode.NOERROR and len(m.answer) == 1
    # No COOKIE option at all: answered (cookies are optional, RFC 7873
    # §5.2.1).
    m, c = _ask(srv, None)
    assert _rcode(m) == dns.rcode.NOERROR and c is None


# ---- response rate limiting ----------------------------------------------

def _flood(srv, n, source, cookie=None):
    """n identical queries from `source`, sent without waiting, then the
    replies read for a bounded time: (answered, truncated)."""
    q, wire = _query(cookie=cookie)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    answered = truncated = 0
    try:
        for _ in range(n):
            s.sendto(wire, ("127.0.0.1", srv.port))
        s.settimeout(0.3)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                raw, _ = s.recvfrom(65535)
            except socket.timeout:
                break
            flags = struct.unpack(">H", raw[2:4])[0]
            if flags & dns.flags.TC:
                truncated += 1
            else:
                answered += 1
    finally:
        s.close()
    return answered, truncated


RRL = ("    rrl-rate: 20\n"
       "    rrl-slip: 2\n")


def test_rrl_limits_one_prefix_not_another(make_server, tandemd_bin):
    """200 identical queries from 127.0.0.1 at once: about a second's rate
    (20) answered, the rest limited, half of those sent truncated (slip
    2); meanwhile a client in another /24 (127.0.1.1) gets every answer;
    the counters say so."""
    srv = make_server("tandemd", workers=1, extra=SECRET_LINES + RRL)
    answered, truncated = _flood(srv, 200, "127.0.0.1")
    assert 15 <= answered <= 45, (answered, truncated)
    assert 60 <= truncated <= 110, (answered, truncated)
    for _ in range(20):
        m, _ = _ask(srv, source="127.0.1.1")
        assert _rcode(m) == dns.rcode.NOERROR and len(m.answer) == 1
        assert not m.flags & dns.flags.TC
    stats = _stats(srv, tandemd_bin)
    assert stats.get("rrl-dropped", 0) >= 60, stats
    assert stats.get("rrl-slipped", 0) >= 60, stats


def test_rrl_valid_cookie_and_exempt_not_limited(make_server):
    """A client with a valid server cookie has proved its address (RFC
    7873 §5.3) and is not limited; nor is an exempt netblock."""
    srv = make_server("tandemd", workers=1, extra=SECRET_LINES + RRL +
                      "    rrl-exempt: 127.0.2.0/24\n")
    _, c = _ask(srv, CLIENT)
    c = CLIENT + server_cookie(struct.unpack(">I", c[12:16])[0])
    answered, truncated = _flood(srv, 100, "127.0.0.1", cookie=c)
    assert answered >= 95 and truncated == 0, (answered, truncated)
    answered, truncated = _flood(srv, 100, "127.0.2.9")
    assert answered >= 95 and truncated == 0, (answered, truncated)


def _stats(srv, tandemd_bin):
    """tandemctl stats of a server with a control socket in its storage."""
    import subprocess
    ctl = os.path.join(os.path.dirname(os.path.dirname(tandemd_bin)),
                       "tools", "tandemctl")
    out = subprocess.run([ctl, "-c", srv.confpath, "stats"],
                         capture_output=True, text=True, timeout=10).stdout
    res = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            res[parts[0].rstrip(":")] = int(parts[1])
    return res


# ---- reconfig -------------------------------------------------------------

def _reconfig(srv, tandemd_bin, extra):
    """Rewrites the server: lines after the fixed ones and runs tandemctl
    reconfig; returns its output (exit 0 asserted)."""
    ctl = os.path.join(os.path.dirname(os.path.dirname(tandemd_bin)),
                       "tools", "tandemctl")
    srv.extra = extra
    srv.write_config()
    p = subprocess.run([ctl, "-c", srv.confpath, "reconfig"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_reconfig_turns_rate_limiting_on_off_and_exempts(make_server,
                                                         tandemd_bin):
    """Rate limiting follows reconfig, no restart: off, then rrl-rate 20
    (a flood is limited as in test_rrl_limits_one_prefix_not_another),
    then the same with rrl-exempt covering the client (answered in full),
    then rrl-rate 0 again (answered in full)."""
    srv = make_server("tandemd", workers=1, extra=SECRET_LINES)
    answered, truncated = _flood(srv, 100, "127.0.0.1")
    assert answered >= 95 and truncated == 0, (answered, truncated)
    _reconfig(srv, tandemd_bin, SECRET_LINES + RRL)
    answered, truncated = _flood(srv, 200, "127.0.0.1")
    assert 15 <= answered <= 45 and 60 <= truncated <= 110, (answered,
                                                             truncated)
    _reconfig(srv, tandemd_bin, SECRET_LINES + RRL +
              "    rrl-exempt: 127.0.0.0/8\n")
    answered, truncated = _flood(srv, 100, "127.0.0.1")
    assert answered >= 95 and truncated == 0, (answered, truncated)
    _reconfig(srv, tandemd_bin, SECRET_LINES + "    rrl-rate: 0\n")
    answered, truncated = _flood(srv, 100, "127.0.0.1")
    assert answered >= 95 and truncated == 0, (answered, truncated)


def test_reconfig_turns_cookie_require_on_and_off(make_server, tandemd_bin):
    """cookie-require follows reconfig: a UDP query with only a client
    cookie is answered, gets BADCOOKIE once reconfig turned it on, and is
    answered again once reconfig turned it off."""
    srv = make_server("tandemd", extra=SECRET_LINES)
    m, _ = _ask(srv, CLIENT)
    assert _rcode(m) == dns.rcode.NOERROR and len(m.answer) == 1
    _reconfig(srv, tandemd_bin, SECRET_LINES + "    cookie-require: yes\n")
    m, c = _ask(srv, CLIENT)
    assert _rcode(m) == dns.rcode.BADCOOKIE and len(c) == 24
    m, _ = _ask(srv, c)
    assert _rcode(m) == dns.rcode.NOERROR and len(m.answer) == 1
    _reconfig(srv, tandemd_bin, SECRET_LINES + "    cookie-require: no\n")
    m, _ = _ask(srv, CLIENT)
    assert _rcode(m) == dns.rcode.NOERROR and len(m.answer) == 1


def test_reconfig_under_load_never_mixes_settings(make_server, tandemd_bin):
    """Two threads query over UDP one query at a time (each bounded to
    8 s) while reconfig switches 20 times between two configs: A, rate
    limiting with rrl-rate 5 and slip 1 (every limited response sent
    truncated, none dropped), and B, the same with the clients' netblock
    exempt.  Every query gets an answer or a truncated one, none is lost
    and the server stays alive; both kinds are seen, so both configs
    were in force in turn.  Under ASan this also shows that no worker
    reads a replaced setting after it is freed."""
    a = SECRET_LINES + "    rrl-rate: 5\n    rrl-slip: 1\n"
    b = a + "    rrl-exempt: 127.0.0.0/8\n"
    srv = make_server("tandemd", workers=2, extra=a)
    stop = threading.Event()
    results = {"answered": 0, "truncated": 0, "bad": 0, "lost": 0}
    lock = threading.Lock()

    def client(seed):
        q, wire = _query()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        deadline = time.monotonic() + 8
        try:
            for i in range(100000):
                if stop.is_set() or time.monotonic() > deadline:
                    break
                w = struct.pack(">H", (seed + i) & 0xFFFF) + wire[2:]
                s.sendto(w, ("127.0.0.1", srv.port))
                try:
                    raw, _ = s.recvfrom(65535)
                except socket.timeout:
                    key = "lost"
                else:
                    m = dns.message.from_wire(raw)
                    if m.flags & dns.flags.TC and not m.answer:
                        key = "truncated"
                    elif m.rcode() == dns.rcode.NOERROR and \
                            len(m.answer) == 1:
                        key = "answered"
                    else:
                        key = "bad"
                with lock:
                    results[key] += 1
        finally:
            s.close()

    threads = [threading.Thread(target=client, args=(k << 12,))
               for k in range(2)]
    for t in threads:
        t.start()
    try:
        for i in range(20):
            _reconfig(srv, tandemd_bin, b if i % 2 == 0 else a)
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    srv.check_alive()
    print("20 reconfigs under load: %s" % results)
    assert results["bad"] == 0 and results["lost"] == 0, results
    assert results["answered"] > 20 and results["truncated"] > 20, results
