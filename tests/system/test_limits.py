"""Resource limits (issue 9): each configurable limit shown to act.

Every test starts a private tandemd (replication.TandemdNode: a control
socket, its own storage) with the limit set low, pushes past it with a
client of its own, and checks what the README promises: the connection
or request refused or closed, when, what the log and `stats` say, and
that everything else is still answered.

  tcp-max-clients-per-worker  each worker holds N, whatever tcp-max-clients
  tcp-max-time                a busy connection, and a client reading an
                              AXFR a little at a time, closed at the limit
  tcp-max-message-size        a longer length prefix closes at once
  control-max-request         a longer request line: error: request too long
  control-timeout             a silent control client dropped at the limit
  control-max-clients         the next one: error: too many control clients
  max-transfer-time-in        a primary that trickles an AXFR (never idle)
                              abandoned at the limit; at full speed, fine
  reconfig                    the limits it can change apply at once; the
                              ones it cannot get a note: line

Loopback only; every loop is bounded in count and time; the only
processes stopped are the tandemd started here, by PID.  Run time: about
40 s, mostly waiting for the limits.
"""

import json
import os
import shutil
import socket
import struct
import threading
import time

import dns.rcode

import dnsclient
import fakeprimary
import hostile
import servers
from hostile import (assert_healthy, close_all, closed_by_peer,
                     connections_held, frame,
                     open_many, padded_query, query_wire, socket_fds)
from replication import (Acl, Remote, TandemdNode, ZoneConf, control_request,
                         parse_kv, soa_rcode, wait_serial, wait_until)

TYPE_AXFR = 252


# ---------------------------------------------------------------------------
# fixtures and helpers

def _example_com(tmp_path):
    """A copy of the test zone example.com (www.example.com A 192.0.2.80,
    what hostile.assert_healthy asks)."""
    path = tmp_path / "example.com.zone"
    shutil.copy(os.path.join(servers.ZONES_DIR, "example.com.zone"), path)
    return ZoneConf("example.com", "primary", file=path)


def _big_zone(tmp_path, names):
    """big.test with `names` A records, transferable from 127.0.0.1."""
    path = tmp_path / "big.test.zone"
    with open(path, "w") as f:
        f.write("$ORIGIN big.test.\n$TTL 300\n"
                "@ SOA ns1 hostmaster 1 3600 600 1209600 60\n"
                "@ NS ns1\nns1 A 192.0.2.1\n")
        for i in range(names):
            f.write("h%d A 10.%d.%d.%d\n" % (i, (i >> 16) & 255,
                                             (i >> 8) & 255, i & 255))
    return ZoneConf("big.test", "primary", file=path,
                    allow_transfer=[Acl(None)])


def _start(tmp_path, build_dir, nodes, server_extra=(), zones=None,
           workers=1, name="t"):
    node = TandemdNode(tmp_path / name, build_dir,
                       zones or [_example_com(tmp_path)], workers=workers,
                       server_extra=list(server_extra), control=True)
    node.start()
    nodes.append(node)
    return node


def _stats(node):
    ok, lines = node.ctl("stats")
    return {k: int(v) for k, v in parse_kv(lines[:-1]).items()
            if v.isdigit()}


def _answered(wire):
    """The reply is the normal answer to www.example.com A."""
    r = dnsclient.Reply(wire)
    return (r.msg is not None and r.rcode == dns.rcode.NOERROR and
            any(rd.to_text() == hostile.HEALTH_ADDR
                for rrset in r.msg.answer for rd in rrset))


def _reconfig(node, server_extra):
    """Rewrites the config with other server: lines and runs reconfig:
    the answer's lines (the last one ok)."""
    node.server_extra = list(server_extra)
    node.write_config()
    ok, lines = node.ctl("reconfig")
    return lines


# ---------------------------------------------------------------------------
# tcp-max-clients-per-worker

def test_tcp_max_clients_per_worker_wins(tmp_path, build_dir, tandemd_bin,
                                         nodes):
    """tcp-max-clients-per-worker 3 (one worker) next to tcp-max-clients
    1: the per-worker value is the one used.  Of ten connections three
    are held and answered, seven closed at once (stats: tcp-refused)."""
    node = _start(tmp_path, build_dir, nodes,
                  ["tcp-max-clients: 1", "tcp-max-clients-per-worker: 3"])
    socks = open_many(node.host, node.port, 10)
    try:
        assert len(socks) == 10
        closed, held = closed_by_peer(socks, 0.5)
        assert len(held) == 3 and len(closed) == 7, (
            "per worker 3: %d held, %d closed" % (len(held), len(closed)))
        for i, s in enumerate(held):
            s.setblocking(True)
            s.settimeout(2)
            s.sendall(frame(query_wire(qid=0x300 + i)))
            n = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
            reply = s.recv(n, socket.MSG_WAITALL)
            assert _answered(reply) and reply[:2] == struct.pack("!H",
                                                                0x300 + i)
    finally:
        close_all(socks)
    assert _stats(node)["tcp-refused"] >= 7
    assert_healthy(node, n=20)


def test_tcp_max_clients_per_worker_each_worker(tmp_path, build_dir,
                                                tandemd_bin, nodes):
    """Two workers with 2 each: twenty connections (spread by the
    kernel's SO_REUSEPORT hash) leave exactly 4 held -- not the 1 per
    worker that tcp-max-clients 1 split over them would give."""
    node = _start(tmp_path, build_dir, nodes,
                  ["tcp-max-clients: 1", "tcp-max-clients-per-worker: 2"],
                  workers=2)
    held = connections_held(node.host, node.port, 20, 0.5)
    assert held == 4, "2 per worker x 2: %d held" % held
    assert_healthy(node, n=20)


# ---------------------------------------------------------------------------
# tcp-max-time

def test_tcp_max_time_closes_a_busy_connection(tmp_path, build_dir,
                                               tandemd_bin, nodes):
    """tcp-max-time 2 with tcp-idle-timeout 10: a client asking a query
    every 0.2 s is never idle, and is still closed about 2 s after it
    connected (stats: tcp-overtime, not tcp-timeouts)."""
    node = _start(tmp_path, build_dir, nodes,
                  ["tcp-max-time: 2", "tcp-idle-timeout: 10"])
    answered, closed_after = 0, None
    t0 = time.monotonic()
    with dnsclient.TcpConn(node.port, node.host, timeout=1.0) as c:
        for i in range(40):             # 40 x 0.2 s: at most 8 s
            try:
                c.send(query_wire(qid=i))
                reply = c.recv(timeout=1.0)
            except (OSError, ConnectionError):
                closed_after = time.monotonic() - t0
                break
            assert _answered(reply)
            answered += 1
            time.sleep(0.2)
    assert closed_after is not None, "still open after 8 s of queries"
    assert 1.5 <= closed_after <= 4.0, "closed after %.1f s" % closed_after
    assert answered >= 5
    st = _stats(node)
    assert st["tcp-overtime"] >= 1 and st["tcp-timeouts"] == 0, st
    assert_healthy(node, n=20)


def test_tcp_max_time_cuts_a_slow_transfer_out(tmp_path, build_dir,
                                               tandemd_bin, nodes):
    """A client asks for the AXFR of a 100,000-name zone (about 2 MB) with
    a 4 KB receive buffer and 536-octet segments (so that the server's
    socket buffer stays small too), and reads 4 KB every 0.1 s: steady
    progress, so the idle timeout (10 s) never fires, but the whole
    transfer would take minutes.  tcp-max-time 3 closes it after 3 s: the log names the
    zone and the client, the server's socket is gone (counted on the
    server: its FIN waits behind data the client has not read), stats
    count it, and queries were answered all along."""
    node = _start(tmp_path, build_dir, nodes, ["tcp-max-time: 3"],
                  zones=[_example_com(tmp_path),
                         _big_zone(tmp_path, 100000)])
    pid = node.proc.pid
    time.sleep(0.3)     # the readiness probes' connections are gone
    before = socket_fds(pid)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    got, gone_after, checked = 0, None, False
    try:
        s.connect((node.host, node.port))
        t0 = time.monotonic()
        s.sendall(frame(query_wire("big.test", TYPE_AXFR, qid=7)))
        s.settimeout(0.5)
        for _ in range(80):             # 80 x 0.1 s: at most 8 s (+ reads)
            try:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += len(chunk)
            except socket.timeout:
                pass
            if socket_fds(pid) <= before:
                gone_after = time.monotonic() - t0
                break
            if not checked and got > 20000:
                checked = True
                assert_healthy(node, n=10, tcp=False,
                               what="a slow transfer out")
            time.sleep(0.1)
    finally:
        s.close()
    assert gone_after is not None, (
        "the slow transfer still held its connection after 8 s "
        "(%d octets read)" % got)
    assert 2.5 <= gone_after <= 5.0, "closed after %.1f s" % gone_after
    assert got >= 40000, "the client made too little progress: %d" % got
    log = node.log_text()
    assert "zone big.test.: transfer to 127.0.0.1" in log and \
        "reached tcp-max-time (3 s)" in log and "done:" not in log, \
        node.log_tail(20)
    assert _stats(node)["tcp-overtime"] >= 1
    assert_healthy(node, n=20)


# ---------------------------------------------------------------------------
# tcp-max-message-size

def test_tcp_max_message_size(tmp_path, build_dir, tandemd_bin, nodes):
    """tcp-max-message-size 512: a 512-octet query is answered; a length
    prefix of 513 or 65535 closes the connection at once, before the
    message is sent (nothing is buffered for it); a query before such a
    prefix on the same connection is still answered."""
    node = _start(tmp_path, build_dir, nodes, ["tcp-max-message-size: 512"])
    assert _answered(node.send_raw(padded_query(512), tcp=True,
                                   timeout=2.0).wire)
    for size in (513, 65535):
        with dnsclient.TcpConn(node.port, node.host, timeout=2.0) as c:
            c.sock.sendall(struct.pack("!H", size) + b"\x00" * 12)
            t0 = time.monotonic()
            assert c.closed_by_peer(1.5), "prefix %d not refused" % size
            assert time.monotonic() - t0 < 1.0
    with dnsclient.TcpConn(node.port, node.host, timeout=2.0) as c:
        c.sock.sendall(frame(query_wire(qid=0x515)) +
                       struct.pack("!H", 600))
        reply = c.recv(timeout=2.0)
        assert _answered(reply) and reply[:2] == b"\x05\x15"
        assert c.closed_by_peer(1.5)
    assert _stats(node)["tcp-oversize"] == 3
    assert_healthy(node, n=20)


# ---------------------------------------------------------------------------
# the control socket

def _control_connect(node):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(node.ctl_path)
    return s


def test_control_max_request(tmp_path, build_dir, tandemd_bin, nodes):
    """control-max-request 300: a 300-octet request line is run, a
    301-octet one answered 'error: request too long'."""
    node = _start(tmp_path, build_dir, nodes, ["control-max-request: 300"])
    ok, lines = control_request(node.ctl_path, "status" + " " * 294)
    assert ok and "workers: 1" in lines, lines
    ok, lines = control_request(node.ctl_path, "status" + " " * 295)
    assert not ok and lines == ["error: request too long"], lines


def test_control_timeout(tmp_path, build_dir, tandemd_bin, nodes):
    """control-timeout 1: a client that says nothing is dropped after
    1 s (the default would keep it 10 s); another one is answered
    meanwhile."""
    node = _start(tmp_path, build_dir, nodes, ["control-timeout: 1"])
    silent = _control_connect(node)
    try:
        ok, _ = control_request(node.ctl_path, "status")
        assert ok
        data, closed, after = hostile.read_until_close(silent, 5.0)
    finally:
        silent.close()
    assert data == b"" and closed, "not dropped within 5 s"
    assert 0.7 <= after <= 2.5, "dropped after %.1f s" % after


def test_control_max_clients(tmp_path, build_dir, tandemd_bin, nodes):
    """control-max-clients 2: with two clients connected (and silent), a
    third gets 'error: too many control clients' at once and is closed,
    tandemctl says so and exits 1; once one of the two leaves, requests
    are served again.  A flood of connections that never read their
    refusal holds at most 2 more descriptors in tandemd."""
    node = _start(tmp_path, build_dir, nodes,
                  ["control-max-clients: 2", "control-timeout: 30"])
    pid = node.proc.pid
    before = socket_fds(pid)
    held = [_control_connect(node) for _ in range(2)]
    try:
        time.sleep(0.3)                 # both accepted
        flood = [_control_connect(node) for _ in range(10)]
        time.sleep(0.3)
        during = socket_fds(pid) - before
        for s in flood:
            s.close()
        assert during <= 4, "%d control connections held" % during
        time.sleep(0.2)
        t0 = time.monotonic()
        third = _control_connect(node)
        third.sendall(b"status\n")
        data, closed, after = hostile.read_until_close(third, 3.0)
        third.close()
        assert data == b"error: too many control clients\n", data
        assert closed and after < 1.0
        rc, out = node.tandemctl("status")
        assert rc == 1 and "too many control clients" in out, (rc, out)
        held.pop().close()
        ok, lines = wait_until(
            lambda: _ok_or_none(node, "status"), 3.0,
            what="a control request served once a slot is free")
        assert "workers: 1" in lines
    finally:
        for s in held:
            s.close()
    assert time.monotonic() - t0 < 10


def _ok_or_none(node, line):
    try:
        ok, lines = control_request(node.ctl_path, line, timeout=2)
    except OSError:
        return None
    return (ok, lines) if ok else None


# ---------------------------------------------------------------------------
# max-transfer-time-in, against a primary that trickles

class TricklePrimary:
    """fakeprimary.Primary's zone and answers, served from threads of this
    process on loopback: SOA over UDP; AXFR over TCP `chunk` octets every
    `gap` seconds (steady progress, far too slowly) while `trickle` is
    set, else at once.  Each AXFR connection is recorded in `conns` as a
    dict: started, ended (monotonic), sent (octets), total (octets).
    Bounded: every loop ends at stop() or after LIFETIME seconds."""

    LIFETIME = 60

    def __init__(self, workdir, zone, names, chunk=256, gap=0.1):
        os.makedirs(str(workdir), exist_ok=True)
        state = os.path.join(str(workdir), "state.json")
        with open(state, "w") as f:
            json.dump({"serial": 1, "names": names}, f)
        self.primary = fakeprimary.Primary(
            zone, state, os.path.join(str(workdir), "requests.log"))
        self.chunk, self.gap = chunk, gap
        self.trickle = True
        self.conns = []
        self.port = servers.free_port()
        self.stopping = threading.Event()
        self.deadline = time.monotonic() + self.LIFETIME
        self.threads = []
        self.socks = []

    def start(self):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        u.bind(("127.0.0.1", self.port))
        t.bind(("127.0.0.1", self.port))
        t.listen(8)
        for s in (u, t):
            s.settimeout(0.2)
        self.socks = [u, t]
        for fn, s in ((self._udp, u), (self._tcp, t)):
            th = threading.Thread(target=fn, args=(s,), daemon=True)
            th.start()
            self.threads.append(th)
        return self

    def running(self):
        return not self.stopping.is_set() and \
            time.monotonic() < self.deadline

    def stop(self):
        self.stopping.set()
        for th in self.threads:
            th.join(5)
        for s in self.socks:
            s.close()

    def _udp(self, sock):
        while self.running():
            try:
                data, addr = sock.recvfrom(65535)
                req = fakeprimary.Request(data)
            except socket.timeout:
                continue
            except (IndexError, struct.error):
                continue
            for m in self.primary.answer(req, "udp")[:1]:
                sock.sendto(m, addr)

    def _tcp(self, lsock):
        while self.running():
            try:
                conn, _ = lsock.accept()
            except socket.timeout:
                continue
            th = threading.Thread(target=self._conn, args=(conn,),
                                  daemon=True)
            th.start()
            self.threads.append(th)

    @staticmethod
    def _recv(conn, n):
        buf = b""
        for _ in range(100):
            if len(buf) >= n:
                break
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf if len(buf) == n else None

    def _conn(self, conn):
        conn.settimeout(5)
        rec = None
        try:
            hdr = self._recv(conn, 2)
            body = hdr and self._recv(conn, struct.unpack("!H", hdr)[0])
            if not body:
                return
            req = fakeprimary.Request(body)
            data = b"".join(frame(m) for m in
                            self.primary.answer(req, "tcp"))
            rec = dict(started=time.monotonic(), ended=None, sent=0,
                       total=len(data), qtype=req.qtype)
            self.conns.append(rec)
            step = self.chunk if self.trickle else len(data)
            for off in range(0, len(data), step):
                if not self.running():
                    break
                conn.sendall(data[off:off + step])
                rec["sent"] = min(len(data), off + step)
                if step < len(data):
                    time.sleep(self.gap)
            # the client closes once it has it all (or abandons it)
            conn.recv(1)
        except (OSError, IndexError, struct.error):
            pass
        finally:
            if rec is not None:
                rec["ended"] = time.monotonic()
            conn.close()


def test_max_transfer_time_in(tmp_path, build_dir, tandemd_bin, nodes):
    """A primary sends the AXFR of a 3,000-name zone (about 70 KB) 256
    octets every 0.1 s: never idle for tandemd's 30 s read timeout, but
    it would take half a minute.  With max-transfer-time-in 3 tandemd
    abandons it 3 s after it started (log and zonestatus last-error say
    so), answers SERVFAIL for the zone meanwhile rather than anything
    partial, and once the primary sends at full speed, `retransfer`
    brings the zone in."""
    zone = "example.net"
    prim = TricklePrimary(tmp_path / "primary", zone, names=3000).start()
    try:
        node = TandemdNode(
            tmp_path / "t", build_dir,
            [ZoneConf(zone, "secondary", primaries=[Remote(prim.port)],
                      extra={"tandemd": ["max-transfer-time-in: 3"]})],
            workers=1, timers={"refresh-min": 1, "retry-min": 1},
            control=True)
        node.start()
        nodes.append(node)
        axfr = wait_until(
            lambda: [c for c in prim.conns if c["qtype"] == TYPE_AXFR
                     and c["ended"] is not None], 10.0,
            what="the first AXFR to end")[0]
        took = axfr["ended"] - axfr["started"]
        assert 2.5 <= took <= 5.0, "abandoned after %.1f s" % took
        assert 5000 <= axfr["sent"] < axfr["total"], axfr
        wait_until(lambda: "max-transfer-time-in" in node.log_text(), 3.0,
                   what="the log line")
        assert "took more than 3 s (max-transfer-time-in)" in \
            node.log_text(), node.log_tail(20)
        st = node.zonestatus(zone)
        assert "max-transfer-time-in" in st.get("last-error", ""), st
        assert soa_rcode(node.port, zone) == dns.rcode.SERVFAIL
        prim.trickle = False
        node.ctl("retransfer %s" % zone)
        wait_serial(node, zone, 1, timeout=10)
    finally:
        prim.stop()


# ---------------------------------------------------------------------------
# reconfig

def test_reconfig_applies_limits(tmp_path, build_dir, tandemd_bin, nodes):
    """reconfig applies tcp-max-message-size, tcp-max-time and the control
    limits to new connections at once; a tcp-max-clients change is kept
    for the restart and the answer says so in a note: line."""
    node = _start(tmp_path, build_dir, nodes, ["control-max-request: 300"])
    long_status = "status" + " " * 994          # 1000 octets
    ok, lines = control_request(node.ctl_path, long_status)
    assert not ok and lines == ["error: request too long"]
    big = padded_query(1000)
    assert _answered(node.send_raw(big, tcp=True, timeout=2.0).wire)

    lines = _reconfig(node, ["control-max-request: 4096",
                             "tcp-max-message-size: 512",
                             "tcp-max-time: 1",
                             "tcp-max-clients: 5"])
    assert "note: tcp-max-clients and tcp-max-clients-per-worker changes " \
        "need a restart" in lines, lines
    ok, lines = control_request(node.ctl_path, long_status)
    assert ok, lines
    assert node.send_raw(big, tcp=True, timeout=1.0).wire is None
    assert _stats(node)["tcp-oversize"] == 1
    with dnsclient.TcpConn(node.port, node.host, timeout=2.0) as c:
        t0 = time.monotonic()
        assert c.closed_by_peer(3.0), "tcp-max-time 1 not applied"
        assert 0.7 <= time.monotonic() - t0 <= 2.0
    # tcp-max-clients 5 is not in force: 10 connections are all held
    held = connections_held(node.host, node.port, 10, 0.3)
    assert held == 10, "%d held" % held
    assert_healthy(node, n=20, tcp=False)
