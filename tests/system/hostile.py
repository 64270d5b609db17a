"""Helpers for the hostile-client system tests (test_hostile.py).

Raw wire builders for messages dnspython will not write (pointer loops,
misplaced OPT RRs, lying counts), /proc readers for a server's memory,
CPU time and open descriptors, a health check that measures latency, and
many-connection helpers that stay bounded in count and time.

Everything talks to loopback only; every loop has a count and a deadline.
"""

import errno
import os
import resource
import select
import socket
import struct
import time

import dnsclient
import servers

# ---------------------------------------------------------------------------
# wire builders

TYPE_A, TYPE_NS, TYPE_SOA, TYPE_TXT, TYPE_OPT = 1, 2, 6, 16, 41
CLASS_IN = 1
OPT_PADDING = 12      # RFC 7830
OPT_NSID = 3          # RFC 5001

QR = 0x8000


def header(qid=0x4242, flags=0, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def flags_for(opcode=0, qr=False, rd=False, rcode=0):
    return (QR if qr else 0) | (opcode & 0xF) << 11 | \
        (0x0100 if rd else 0) | (rcode & 0xF)


def name_wire(text):
    """Uncompressed wire form of a dotted name ('' or '.' = root)."""
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def pointer(offset):
    return struct.pack("!H", 0xC000 | offset)


def question(qname="www.example.com", qtype=TYPE_A, qclass=CLASS_IN):
    owner = qname if isinstance(qname, bytes) else name_wire(qname)
    return owner + struct.pack("!HH", qtype, qclass)


def rr(owner=b"\x00", rtype=TYPE_A, rclass=CLASS_IN, ttl=0, rdata=b"",
       rdlen=None):
    """One RR; owner is wire octets; rdlen overrides the real length."""
    n = len(rdata) if rdlen is None else rdlen
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, n) + rdata


def opt(payload=1232, owner=b"\x00", options=b"", ext_rcode=0, version=0,
        do=False):
    """An OPT pseudo-RR (RFC 6891 §6.1.2)."""
    ttl = ext_rcode << 24 | version << 16 | (0x8000 if do else 0)
    return rr(owner, TYPE_OPT, payload, ttl, options)


def option(code, data=b""):
    return struct.pack("!HH", code, len(data)) + data


TYPE_TSIG, CLASS_ANY = 250, 255


def tsig_rr(key="nokey.example", algorithm="hmac-sha256", signed=None,
            orig_id=0x4242):
    """A TSIG RR (RFC 8945 §4.2) with a zero MAC: well-formed, never
    valid (the key is unknown to every server)."""
    signed = int(time.time()) if signed is None else signed
    rdata = (name_wire(algorithm) + struct.pack("!HI", signed >> 32,
                                                signed & 0xFFFFFFFF) +
             struct.pack("!HH", 300, 32) + b"\x00" * 32 +
             struct.pack("!HHH", orig_id, 0, 0))
    return rr(name_wire(key), TYPE_TSIG, CLASS_ANY, 0, rdata)


def query_wire(qname="www.example.com", qtype=TYPE_A, qid=0x4242, flags=0,
               edns=False, options=b""):
    """A plain query, optionally with an OPT RR."""
    if edns:
        return header(qid, flags, ar=1) + question(qname, qtype) + \
            opt(options=options)
    return header(qid, flags) + question(qname, qtype)


def padded_query(total, qid=0x5151):
    """A well-formed query of exactly `total` octets: www.example.com A
    with an EDNS Padding option (RFC 7830) filling the rest."""
    base = header(qid, 0, ar=1) + question()
    fixed = len(base) + 11 + 4          # OPT RR + the option's header
    if total < fixed or total - fixed > 65535 - 4:
        raise ValueError("cannot pad a query to %d octets" % total)
    return base + opt(options=option(OPT_PADDING, b"\x00" * (total - fixed)))


def with_id(wire, qid):
    return struct.pack("!H", qid) + wire[2:]


def frame(wire):
    return struct.pack("!H", len(wire)) + wire


# ---------------------------------------------------------------------------
# what a reply is

def header_of(wire):
    return dnsclient.parse_header(wire)


def rcode_of(wire):
    h = header_of(wire)
    return None if h is None else h["rcode"]


# ---------------------------------------------------------------------------
# /proc

def rss_kb(pid):
    """Resident set size of a process in KiB (VmRSS)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def cpu_seconds(pid):
    """User + system CPU time of a process (all its threads), seconds."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def open_fds(pid):
    """Number of open descriptors of a process."""
    return len(os.listdir("/proc/%d/fd" % pid))


def socket_fds(pid):
    """Number of open sockets of a process."""
    n = 0
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            if os.readlink(os.path.join(d, fd)).startswith("socket:"):
                n += 1
        except OSError:
            pass            # closed meanwhile
    return n


def settle_rss(pid, seconds=1.0):
    """RSS after a short pause (lets the server finish closing)."""
    time.sleep(seconds)
    return rss_kb(pid)


def sanitizer_build(srv):
    """True for a tandemd of a build configured with TANDEM_SANITIZE=ON."""
    build_dir = getattr(srv, "build_dir", None)
    if build_dir is None:
        return False
    try:
        with open(os.path.join(str(build_dir), "CMakeCache.txt")) as f:
            return "TANDEM_SANITIZE:BOOL=ON" in f.read()
    except OSError:
        return False


def assert_rss_back(srv, before_kb, *, after_kb=None, margin_kb=4096,
                    fraction=0.10, what="the attack"):
    """RSS is back within max(margin_kb, fraction * before) of its baseline.
    Not checked in the ASan build: its allocator keeps freed memory in
    quarantine and ignores mallopt, so RSS says nothing there (LeakSanitizer
    checks for leaks at exit instead)."""
    after = after_kb if after_kb is not None else rss_kb(srv.proc.pid)
    if sanitizer_build(srv):
        return after
    allowed = max(margin_kb, int(before_kb * fraction))
    assert after - before_kb <= allowed, (
        "%s RSS %d KiB before %s, %d KiB after (+%d KiB, allowed +%d)\n%s"
        % (srv.name, before_kb, what, after, after - before_kb, allowed,
           srv.log_tail(20)))
    return after


# ---------------------------------------------------------------------------
# health and latency

HEALTH_QNAME = "www.example.com"
HEALTH_ADDR = "192.0.2.80"


def _timed_query(srv, tcp, timeout):
    t0 = time.monotonic()
    r = dnsclient.query(srv.port, HEALTH_QNAME, "A", tcp=tcp, host=srv.host,
                        timeout=timeout)
    dt = time.monotonic() - t0
    good = (r.msg is not None and r.rcode == 0 and r.flag("QR") and
            any(rd.to_text() == HEALTH_ADDR for rrset in r.msg.answer
                for rd in rrset))
    return good, dt


def latency(srv, n=20, tcp=False, timeout=1.0):
    """(answered, max seconds, median seconds) over n sequential queries."""
    times = []
    answered = 0
    for _ in range(n):
        good, dt = _timed_query(srv, tcp, timeout)
        answered += good
        times.append(dt)
    times.sort()
    return answered, times[-1], times[len(times) // 2]


def baseline(srv, n=20):
    """Latency before an attack: every query must be answered; returns the
    worst UDP and TCP latency seen."""
    srv.check_alive()
    ua, umax, _ = latency(srv, n)
    ta, tmax, _ = latency(srv, max(3, n // 4), tcp=True)
    assert ua == n and ta == max(3, n // 4), \
        "%s does not answer reliably before the attack" % srv.name
    return max(umax, tmax)


def assert_healthy(srv, n=50, bound=1.0, tcp=True, what="the attack"):
    """The server is alive, and n UDP queries (and n/10 TCP ones) are ALL
    answered correctly, each within `bound` seconds."""
    srv.check_alive()
    ua, umax, umed = latency(srv, n, timeout=bound)
    assert ua == n and umax < bound, (
        "%s after %s: %d of %d UDP queries answered, slowest %.3f s "
        "(median %.4f s, bound %.1f s)\n%s" % (srv.name, what, ua, n, umax,
                                                umed, bound,
                                                srv.log_tail(20)))
    if tcp:
        k = max(3, n // 10)
        ta, tmax, _ = latency(srv, k, tcp=True, timeout=bound)
        assert ta == k and tmax < bound, (
            "%s after %s: %d of %d TCP queries answered, slowest %.3f s\n%s"
            % (srv.name, what, ta, k, tmax, srv.log_tail(20)))
    srv.check_alive()


def udp_burst(srv, wires, wait=1.0):
    """Send each datagram (their IDs should differ) from one socket;
    return {id: [reply, ...]} of everything that came back within `wait`
    seconds after the last send."""
    replies = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((srv.host, srv.port))
        for i, w in enumerate(wires):
            s.send(w)
            if i % 32 == 31:
                time.sleep(0.005)
        deadline = time.monotonic() + wait
        for _ in range(4 * len(wires) + 4):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            s.settimeout(remaining)
            try:
                data = s.recv(65535)
            except socket.timeout:
                break
            except ConnectionRefusedError:
                continue
            qid = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else -1
            replies.setdefault(qid, []).append(data)
    return replies


# ---------------------------------------------------------------------------
# descriptors and many connections

def raise_nofile(want):
    """Raise this process's soft RLIMIT_NOFILE towards `want` (never above
    the hard limit).  Children started afterwards inherit it.  Returns the
    soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_many(host, port, count, deadline_s=10.0):
    """Open up to `count` TCP connections with non-blocking connects,
    bounded by `deadline_s`.  Returns the list of connected sockets (the
    others are closed)."""
    pending = {}
    done = []
    deadline = time.monotonic() + deadline_s
    poller = select.poll()
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex((host, port))
        if rc in (0,):
            done.append(s)
        elif rc in (errno.EINPROGRESS, errno.EAGAIN):
            pending[s.fileno()] = s
            poller.register(s, select.POLLOUT)
        else:
            s.close()
    while pending and time.monotonic() < deadline:
        for fd, ev in poller.poll(100):
            s = pending.pop(fd, None)
            if s is None:
                continue
            poller.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done.append(s)
            else:
                s.close()
    for s in pending.values():
        s.close()
    return done


TCP_ESTABLISHED = 1


def tcp_state(sock):
    """The kernel's TCP state of a socket (TCP_INFO tcpi_state): 1
    ESTABLISHED, 8 CLOSE_WAIT (the peer sent FIN), 7 CLOSE (reset)."""
    try:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    except OSError:
        return 7


def closed_by_peer(socks, wait):
    """Split sockets into (closed, open): closed = the peer closed (FIN)
    or reset the connection within `wait` seconds.  Nothing is read, so
    a socket with unread data still counts as closed once the peer went
    away.  Polls every 50 ms."""
    pending = list(socks)
    closed = []
    deadline = time.monotonic() + wait
    for _ in range(int(wait / 0.05) + 2):
        still = []
        for s in pending:
            (still if tcp_state(s) == TCP_ESTABLISHED else closed).append(s)
        pending = still
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    return closed, pending


def connections_held(host, port, count, wait):
    """Opens `count` TCP connections, waits `wait` seconds, and returns
    how many the server still holds (did not close or reset); all are
    closed again before it returns."""
    socks = open_many(host, port, count)
    try:
        closed, held = closed_by_peer(socks, wait)
        return len(held)
    finally:
        close_all(socks)


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def read_until_close(sock, timeout):
    """What the peer sends until it closes: (octets read, closed?,
    seconds) -- bounded by timeout and by 1000 reads."""
    t0 = time.monotonic()
    data = b""
    deadline = t0 + timeout
    for _ in range(1000):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return data, False, time.monotonic() - t0
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False, time.monotonic() - t0
        except (ConnectionResetError, BrokenPipeError):
            return data, True, time.monotonic() - t0
        if not chunk:
            return data, True, time.monotonic() - t0
        data += chunk
    return data, False, time.monotonic() - t0


# ---------------------------------------------------------------------------
# a tandemd with other resource limits

class LimitedTandemd(servers.Tandemd):
    """servers.Tandemd with another tcp-max-clients (the base class writes
    1000, and a second `tcp-max-clients:` line would be a config error)."""

    def __init__(self, workdir, build_dir, tcp_max_clients=1000, **kw):
        self.tcp_max_clients = tcp_max_clients
        super().__init__(workdir, build_dir, **kw)

    def config_text(self):
        text = super().config_text()
        old = "    tcp-max-clients: 1000\n"
        assert old in text, "servers.Tandemd no longer writes %r" % old
        return text.replace(old, "    tcp-max-clients: %d\n" %
                            self.tcp_max_clients)
