"""Zone replication test helpers: TSIG keys, editable zones, transfers with
dnspython, and BIND / NSD / Knot / tandemd started as primaries or
secondaries of each other on loopback.

Everything is bounded in time: every wait takes a timeout and polls a
bounded number of times; processes are stopped by PID (servers.Server).

    key = Key.generate("xfr.example")
    z = EditableZone(tmp_path / "p" / "example.com.zone", "example.com")
    z.write(1)
    prim = NamedPeer(tmp_path / "p", [ZoneConf("example.com", "primary",
                     file=z.path, notify=[...], allow_transfer=[...])],
                     keys=[key]).start()
    ...
    prim.reload("example.com")       # after z.write(2): rndc reload
    wait_serial(sec, "example.com", 2, timeout=5)
    assert axfr_view(prim.port, "example.com", key) == \
        axfr_view(sec.port, "example.com", key)

A ZoneConf says what a zone is on one server; the config syntax of each
server is generated from it:

    role            "primary" or "secondary"
    file            primary: the zone file (absolute); secondary: where the
                    server keeps its copy (optional, default in workdir)
    primaries       [Remote]: where a secondary transfers from
    notify          [Remote]: whom to NOTIFY after a new serial
    allow_transfer  [Acl]: who may AXFR/IXFR, with which key
    allow_notify    [Acl]: whose NOTIFY a secondary accepts
"""

import base64
import os
import re
import signal
import socket
import struct
import subprocess
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.serial
import dns.tsig
import dns.zone

import dnsclient
import servers

HOST = "127.0.0.1"
CMD_TIMEOUT = 20          # any control command (rndc, nsd-control, knotc)


# ---------------------------------------------------------------- waiting

def wait_until(pred, timeout, interval=0.05, what="condition"):
    """Poll pred() until it returns a true value (returned) or timeout
    seconds pass (AssertionError).  Bounded in time and count."""
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(int(timeout / interval) + 2):
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                         % (timeout, what, last))


# ---------------------------------------------------------------- TSIG keys

class Key:
    """A TSIG key: name, algorithm (hmac-sha256 etc.), base64 secret."""

    def __init__(self, name, secret, algorithm="hmac-sha256"):
        self.name = name.rstrip(".")
        self.secret = secret
        self.algorithm = algorithm

    @classmethod
    def generate(cls, name="xfr.example", algorithm="hmac-sha256", size=32):
        return cls(name, base64.b64encode(os.urandom(size)).decode(),
                   algorithm)

    def wrong(self):
        """Same name and algorithm, another secret."""
        return Key(self.name, base64.b64encode(os.urandom(32)).decode(),
                   self.algorithm)

    def alg_name(self):
        """The algorithm as a dnspython name (hmac-md5 is
        HMAC-MD5.SIG-ALG.REG.INT on the wire)."""
        if self.algorithm.lower() == "hmac-md5":
            return dns.tsig.HMAC_MD5
        return dns.name.from_text(self.algorithm)

    def dns_key(self):
        return dns.tsig.Key(self.name + ".", self.secret, self.alg_name())

    def sign(self, msg):
        """TSIG-sign a dns.message.Message with this key."""
        msg.use_tsig(self.keyring(), self.name + ".",
                     algorithm=self.alg_name())

    def keyring(self):
        return {dns.name.from_text(self.name): self.dns_key()}

    def __repr__(self):
        return "<Key %s %s>" % (self.name, self.algorithm)


class Remote:
    """A server to talk to: address, port, key (Key or None = unsigned)."""

    def __init__(self, port, key=None, host=HOST):
        self.host = host
        self.port = port
        self.key = key


class Acl:
    """An address (or prefix) and the key it must sign with (None =
    unsigned)."""

    def __init__(self, key=None, address=HOST):
        self.address = address
        self.key = key


class ZoneConf:
    def __init__(self, name, role="primary", file=None, primaries=(),
                 notify=(), allow_transfer=(), allow_notify=(), extra=None):
        assert role in ("primary", "secondary")
        self.name = name.rstrip(".")
        self.role = role
        self.file = str(file) if file else None
        self.primaries = list(primaries)
        self.notify = list(notify)
        self.allow_transfer = list(allow_transfer)
        self.allow_notify = list(allow_notify)
        self.extra = dict(extra or {})   # per-server extra lines


# ---------------------------------------------------------------- zones

class EditableZone:
    """A small zone file that the tests edit.  Every serial has its own
    content: the TXT RRset at ver.ORIGIN carries the serial in every
    record, and the name sSERIAL exists only in that serial, so a diff
    between two serials is small (SOA, ver TXT, one A deleted, one added)
    and a mix of two versions is detectable."""

    def __init__(self, path, origin, hosts=100, refresh=3600, retry=600,
                 expire=1209600, minimum=60, ttl=300, big=None):
        self.path = str(path)
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.origin = origin.rstrip(".")
        self.hosts = hosts
        self.timers = (refresh, retry, expire, minimum)
        self.ttl = ttl
        self.big = big              # path of a bulk file appended verbatim
        self.serial = None
        self._mtime = 0

    def text(self, serial, extra=""):
        r, rt, e, m = self.timers
        lines = ["$ORIGIN %s." % self.origin, "$TTL %d" % self.ttl,
                 "@ IN SOA ns1 hostmaster %d %d %d %d %d" % (serial, r, rt, e,
                                                            m),
                 "@ IN NS ns1", "@ IN NS ns2",
                 "ns1 IN A 192.0.2.1", "ns2 IN A 192.0.2.2"]
        lines += ['ver IN TXT "serial %d" "part %d"' % (serial, i)
                  for i in range(4)]
        lines += ["h%d IN A 198.51.100.%d" % (i, i % 250 + 1)
                  for i in range(self.hosts)]
        lines.append("s%d IN A 203.0.113.%d" % (serial, serial % 250 + 1))
        if extra:
            lines.append(extra.rstrip("\n"))
        return "\n".join(lines) + "\n"

    def write(self, serial, extra=""):
        """Write the zone with this serial (atomically) and move its mtime
        forward by at least one second, so that servers that look at the
        mtime (BIND, NSD, Knot) see a change even within one second."""
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(self.text(serial, extra))
            if self.big:
                with open(self.big) as b:
                    for chunk in iter(lambda: b.read(1 << 20), ""):
                        f.write(chunk)
        self._mtime = max(self._mtime + 1, int(time.time()) + 1)
        os.utime(tmp, (self._mtime, self._mtime))
        os.rename(tmp, self.path)
        self.serial = serial
        return serial

    def bump(self, extra=""):
        return self.write(self.serial + 1, extra)

    def view(self):
        """The zone as an order-insensitive set (see rr_view)."""
        z = dns.zone.from_file(self.path, self.origin, relativize=False,
                               check_origin=False)
        out = set()
        for name, node in z.nodes.items():
            for rds in node.rdatasets:
                for rd in rds:
                    out.add(rr_key(name, rds.ttl, rds.rdclass, rds.rdtype, rd))
        return out


def rr_key(name, ttl, rdclass, rdtype, rd):
    """A comparable form of one RR: owner (lowercase), TTL, class, type,
    canonical rdata in presentation form."""
    if isinstance(name, str):
        name = dns.name.from_text(name)
    return (name.canonicalize().to_text(), int(ttl),
            dns.rdataclass.to_text(rdclass), dns.rdatatype.to_text(rdtype),
            rd.to_text(origin=None, relativize=False).lower()
            if rdtype not in (dns.rdatatype.TXT,) else rd.to_text())


# ---------------------------------------------------------------- transfers

class XfrError(AssertionError):
    pass


def _read_framed(sock, deadline):
    hdr = dnsclient._recv_exact(sock, 2, deadline)
    (n,) = struct.unpack("!H", hdr)
    return dnsclient._recv_exact(sock, n, deadline)


def transfer(port, zone, rdtype="AXFR", key=None, serial=None, host=HOST,
             timeout=20.0, require_tsig_every=True, max_messages=1000000):
    """Request AXFR or IXFR (from serial) over TCP and read the whole
    transfer.  With key, the request is TSIG-signed and every message of
    the answer must carry a TSIG RR that dnspython verifies, each MAC
    chained to the previous (RFC 8945 5.3.1); require_tsig_every=False
    allows the unsigned intermediates RFC 8945 tolerates.

    Returns (rcode, messages, rrs): rcode of the first message (on an
    error, messages holds just that one), the dns.message.Message list
    and the RRs of the answer sections in order, as (name, ttl, rdclass,
    rdtype, rdata) tuples.  Raises XfrError on a malformed transfer."""
    zname = dns.name.from_text(zone)
    rdt = dns.rdatatype.from_text(rdtype)
    q = dns.message.make_query(zname, rdt)
    if rdt == dns.rdatatype.IXFR:
        soa = dns.rrset.from_text(zname, 0, "IN", "SOA",
                                  ". . %d 0 0 0 0" % serial)
        q.authority.append(soa)
    if key is not None:
        key.sign(q)
    wire = q.to_wire()
    deadline = time.monotonic() + timeout
    msgs, rrs = [], []
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        ctx = None
        st = _XfrEnd(zname, rdt, serial)
        for i in range(max_messages):
            try:
                data = _read_framed(s, deadline)
            except ConnectionError as e:
                if not msgs:
                    raise XfrError("connection closed without an answer: "
                                   "%s" % e)
                raise XfrError("transfer cut after %d messages: %s"
                               % (len(msgs), e))
            try:
                m = dns.message.from_wire(
                    data, keyring=key.keyring() if key else None,
                    request_mac=q.mac if key else b"", xfr=True,
                    tsig_ctx=ctx, multi=True, one_rr_per_rrset=True)
            except dns.exception.DNSException as e:
                raise XfrError("message %d of the transfer does not verify "
                               "or parse: %r" % (i, e))
            if m.id != q.id:
                raise XfrError("message %d has ID %d, query %d"
                               % (i, m.id, q.id))
            m.wire_len = len(data)
            msgs.append(m)
            if key is not None and require_tsig_every and not m.had_tsig:
                raise XfrError("message %d of the transfer is not signed" % i)
            ctx = m.tsig_ctx
            if m.rcode() != dns.rcode.NOERROR:
                if i == 0:
                    return m.rcode(), msgs, rrs
                raise XfrError("rcode %s in message %d"
                               % (dns.rcode.to_text(m.rcode()), i))
            for rrset in m.answer:
                for rd in rrset:
                    rr = (rrset.name, rrset.ttl, rrset.rdclass, rrset.rdtype,
                          rd)
                    if st.done:
                        raise XfrError("RRs after the final SOA")
                    rrs.append(rr)
                    st.feed(rr)
            if not rrs:
                raise XfrError("first message has no answer")
            if st.done or st.single_soa_ok():
                break
        else:
            raise XfrError("more than %d messages" % max_messages)
    return dns.rcode.NOERROR, msgs, rrs


class _XfrEnd:
    """Finds the end of an AXFR / IXFR answer (as dnspython's xfr does):
    AXFR and AXFR-style IXFR end at the SOA equal to the first one; an
    incremental IXFR alternates deletions and additions between SOAs and
    ends at the first SOA equal to the first one in deletion position."""

    def __init__(self, zname, rdtype, serial):
        self.zname = zname
        self.ixfr = rdtype == dns.rdatatype.IXFR
        self.serial = serial
        self.first = None
        self.count = 0
        self.incremental = None
        self.delete_mode = True
        self.done = False

    def feed(self, rr):
        name, _, _, rdtype, rd = rr
        self.count += 1
        is_soa = rdtype == dns.rdatatype.SOA and name == self.zname
        if self.count == 1:
            if not is_soa:
                raise XfrError("transfer does not start with the SOA")
            self.first = rd
            return
        if self.count == 2 and self.ixfr:
            self.incremental = is_soa
            if is_soa:
                return              # first deletion SOA
        if not is_soa:
            return
        if self.ixfr and self.incremental:
            self.delete_mode = not self.delete_mode
            if rd == self.first and self.delete_mode:
                self.done = True
        elif rd == self.first:
            self.done = True
        else:
            raise XfrError("SOA serial %d inside an AXFR" % rd.serial)

    def single_soa_ok(self):
        """IXFR answered with the single current SOA: up to date."""
        return self.ixfr and self.count == 1 and self.serial is not None \
            and dns.serial.Serial(self.first.serial) <= self.serial


def ixfr_is_incremental(rrs, zname):
    """An IXFR answer is incremental (not AXFR-style) when its second RR
    is an SOA (RFC 1995 4)."""
    zname = dns.name.from_text(zname) if isinstance(zname, str) else zname
    return len(rrs) > 2 and rrs[1][3] == dns.rdatatype.SOA and \
        rrs[1][0] == zname


def view_of_axfr(rrs):
    """An AXFR's RRs as a set, without the closing SOA."""
    out = set()
    for (name, ttl, rdclass, rdtype, rd) in rrs[:-1]:
        out.add(rr_key(name, ttl, rdclass, rdtype, rd))
    return out


def axfr_view(port, zone, key=None, host=HOST, timeout=20.0):
    """The zone at port as an order-insensitive set of RRs (via AXFR);
    fails the test if the transfer is refused."""
    rcode, msgs, rrs = transfer(port, zone, "AXFR", key=key, host=host,
                                timeout=timeout)
    if rcode != dns.rcode.NOERROR:
        raise XfrError("AXFR %s from port %d: %s" % (
            zone, port, dns.rcode.to_text(rcode)))
    return view_of_axfr(rrs)


def diff_views(a, b, limit=10):
    only_a = sorted(a - b)[:limit]
    only_b = sorted(b - a)[:limit]
    return "only in first: %s\nonly in second: %s" % (only_a, only_b)


def soa_serial(port, zone, host=HOST, tcp=False, timeout=1.0):
    """The SOA serial the server at port answers with AA, or None (timeout,
    error rcode, no AA).  A UDP query that gets no reply is sent once more:
    on a loaded 2-core machine one datagram may wait past the timeout."""
    r = dnsclient.query(port, zone, "SOA", tcp=tcp, host=host,
                        timeout=timeout)
    if r.msg is None and not tcp:
        r = dnsclient.query(port, zone, "SOA", host=host, timeout=timeout)
    if r.msg is None or r.rcode != 0 or not r.flag("AA"):
        return None
    for rrset in r.msg.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def soa_rcode(port, zone, host=HOST, timeout=1.0):
    r = dnsclient.query(port, zone, "SOA", host=host, timeout=timeout)
    return None if r.msg is None else r.rcode


def wait_serial(srv, zone, serial, timeout=5.0):
    """Wait until srv answers the SOA of zone with exactly this serial;
    returns the seconds it took."""
    t0 = time.monotonic()
    try:
        wait_until(lambda: soa_serial(srv.port, zone) == serial, timeout,
                   what="%s to serve %s serial %d" % (srv.name, zone, serial))
    except AssertionError as e:
        raise AssertionError("%s\n(now serving serial %r)\n%s" % (
            e, soa_serial(srv.port, zone), srv.log_tail(40)))
    return time.monotonic() - t0


def send_notify(port, zone, serial=None, key=None, host=HOST, timeout=2.0):
    """Send a NOTIFY (opcode 4, AA, SOA question) and return the reply
    (dns.message.Message) or None."""
    zone = dns.name.from_text(zone) if isinstance(zone, str) else zone
    q = dns.message.make_query(zone, "SOA")
    q.flags = dns.flags.AA
    q.set_opcode(dns.opcode.NOTIFY)
    if serial is not None:
        q.answer.append(dns.rrset.from_text(zone, 0, "IN", "SOA",
                                            ". . %d 0 0 0 0" % serial))
    if key is not None:
        key.sign(q)
    wire = q.to_wire()
    r = dnsclient.udp_exchange(wire, port, host=host, timeout=timeout,
                               expect_id=q.id)
    if r is None:
        return None
    return dns.message.from_wire(r, keyring=key.keyring() if key else None,
                                 request_mac=q.mac if key else b"")


# ---------------------------------------------------------------- servers

def run(cmd, timeout=CMD_TIMEOUT, check=True, cwd=None):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, cwd=cwd)
    out = p.stdout.decode("utf-8", "replace")
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(cmd),
                                                    p.returncode, out))
    return p.returncode, out


class XfrServer(servers.Server):
    """A server with zones given as ZoneConf (primary or secondary) and TSIG
    keys.  Subclasses: NamedPeer, NsdPeer, KnotPeer, TandemdNode.

    Common operations (each server's own tool underneath):
      reload(zone)   re-read an edited primary zone file (and NOTIFY)
      refresh(zone)  secondary: check the primary's SOA now
      retransfer(zone) secondary: full AXFR now
      notify(zone)   primary: send NOTIFY now
      kill9()        SIGKILL by PID (fault tests)
      log_text()     its log (stderr), for proofs such as "IXFR"
    """

    def __init__(self, workdir, zones, keys=(), port=None, verbose=True):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.zconfs = list(zones)
        self.keys = {}
        for k in keys:
            self.keys[k.name] = k
        for z in self.zconfs:
            for r in z.primaries + z.notify + z.allow_transfer + \
                    z.allow_notify:
                if r.key is not None:
                    assert self.keys.get(r.key.name, r.key) is r.key or \
                        self.keys[r.key.name].secret == r.key.secret, \
                        "two secrets for key %s" % r.key.name
                    self.keys.setdefault(r.key.name, r.key)
        self.zones = [(z.name, z.file) for z in self.zconfs]
        self.verbose = verbose
        self.port = port or servers.free_port()
        self.host = HOST
        self.proc = None
        self.logpath = os.path.join(self.workdir, "server.log")
        self.confpath = None
        self._logf = None
        self.stopped = False
        self.identity = self.version = self.nsid = None
        self.edns_size = 1232
        self.tcp_idle_timeout = 10
        self.extra = ""
        self.listen6 = False

    def secondary_file(self, z):
        return z.file or os.path.join(self.workdir, "%s.sec" % z.name)

    def wait_ready(self, timeout=servers.START_TIMEOUT):
        """Ready when every primary zone answers its SOA with AA; with no
        primary zone, when the server answers anything at all."""
        prim = [z.name for z in self.zconfs if z.role == "primary"]
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            if self.proc.poll() is not None:
                raise servers.ServerDied(
                    "%s exited with status %s during start-up\n%s" % (
                        self.name, self.proc.returncode, self.log_tail()))
            if prim:
                if all(soa_serial(self.port, z, timeout=0.2) is not None
                       for z in prim):
                    return
            else:
                name = self.zconfs[0].name if self.zconfs else "."
                r = dnsclient.query(self.port, name, "SOA", timeout=0.2)
                if r.msg is not None:
                    return
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise AssertionError("%s did not become ready on port %d within "
                             "%.0fs\n%s" % (self.name, self.port, timeout,
                                            self.log_tail()))

    def zconf(self, name):
        for z in self.zconfs:
            if z.name == name.rstrip("."):
                return z
        raise KeyError(name)

    def kill9(self):
        """SIGKILL by PID; the server counts as stopped (no check)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(servers.STOP_TIMEOUT)
        self.stopped = True
        if self._logf:
            self._logf.close()
            self._logf = None

    def restart(self, timeout=servers.START_TIMEOUT):
        """Stop (checked) and start again with the same port and files
        (the config is rewritten from self.zconfs / self.keys)."""
        self.stop(check=True)
        return self.start(timeout)

    def log_since(self, mark):
        return self.log_text()[mark:]

    def log_mark(self):
        return len(self.log_text())

    # to override
    def reload(self, zone):
        raise NotImplementedError

    def refresh(self, zone):
        raise NotImplementedError

    def notify(self, zone):
        raise NotImplementedError


# ---- BIND ------------------------------------------------------------------

class NamedPeer(XfrServer):
    """BIND 9 named -g (foreground, log to stderr), controlled with rndc
    over a loopback TCP port and its own key.

    Gotchas (BIND 9.18): notify-delay defaults to 5 s (set 0); "notify
    yes" would also notify the NS names' addresses, so "notify explicit"
    with also-notify; ixfr-from-differences is needed to serve IXFR after
    a zone file edit; min-refresh-time/min-retry-time default to 300/500
    s; rndc reload looks at the file's mtime (EditableZone moves it)."""

    name = "named"
    BIN = "/usr/sbin/named"
    RNDC = "/usr/sbin/rndc"

    @classmethod
    def binary(cls, build_dir=None):
        return cls.BIN

    @staticmethod
    def _keyref(k):
        return " key \"%s\"" % k.name if k is not None else ""

    def _acl(self, acls):
        items = []
        for a in acls:
            if a.key is not None:
                # source AND key: a nested list must match both
                items.append("!{ !%s; any; }; key \"%s\";" % (a.address,
                                                              a.key.name))
            else:
                items.append("%s;" % a.address)
        return "{ %s }" % " ".join(items) if items else "{ none; }"

    def write_config(self):
        w = self.workdir
        if not hasattr(self, "rndc_port"):
            self.rndc_port = servers.free_port()
            self.rndc_key = Key.generate("rndc-key")
        lines = []
        for k in list(self.keys.values()) + [self.rndc_key]:
            lines += ['key "%s" {' % k.name,
                      "    algorithm %s;" % k.algorithm,
                      '    secret "%s";' % k.secret, "};"]
        lines += [
            "controls {",
            '    inet 127.0.0.1 port %d allow { 127.0.0.1; } keys { "%s"; };'
            % (self.rndc_port, self.rndc_key.name),
            "};",
            "options {",
            '    directory "%s";' % w,
            '    pid-file "%s/named.pid";' % w,
            '    session-keyfile "%s/session.key";' % w,
            '    managed-keys-directory "%s";' % w,
            "    listen-on port %d { 127.0.0.1; };" % self.port,
            "    listen-on-v6 { none; };",
            "    recursion no;",
            "    dnssec-validation no;",
            "    notify explicit;",
            "    notify-delay 0;",
            "    ixfr-from-differences yes;",
            "    min-refresh-time 1;",
            "    min-retry-time 1;",
            "    max-retry-time 2;",
            "    transfer-source 127.0.0.1;",
            "    notify-source 127.0.0.1;",
            "    query-source address 127.0.0.1;",
            "    allow-query { any; };",
            "    allow-transfer { none; };",
            "};",
        ]
        for z in self.zconfs:
            lines.append('zone "%s" {' % z.name)
            if z.role == "primary":
                lines += ["    type primary;", '    file "%s";' % z.file]
            else:
                lines += ["    type secondary;",
                          '    file "%s";' % self.secondary_file(z),
                          "    primaries { %s };" % " ".join(
                              "%s port %d%s;" % (r.host, r.port,
                                                 self._keyref(r.key))
                              for r in z.primaries),
                          "    allow-notify %s;" % self._acl(z.allow_notify)]
            if z.notify:
                lines.append("    also-notify { %s };" % " ".join(
                    "%s port %d%s;" % (r.host, r.port, self._keyref(r.key))
                    for r in z.notify))
            lines.append("    allow-transfer %s;" % self._acl(
                z.allow_transfer))
            lines += z.extra.get("named", [])
            lines.append("};")
        self.confpath = os.path.join(w, "named.conf")
        with open(self.confpath, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(w, "rndc.conf"), "w") as f:
            f.write('key "%s" { algorithm %s; secret "%s"; };\n'
                    'options { default-key "%s"; default-server 127.0.0.1; '
                    'default-port %d; };\n' % (
                        self.rndc_key.name, self.rndc_key.algorithm,
                        self.rndc_key.secret, self.rndc_key.name,
                        self.rndc_port))

    def command(self):
        return [self.BIN, "-g", "-4", "-n", "1", "-d", "1", "-c", self.confpath]

    def rndc(self, *args, check=True):
        return run([self.RNDC, "-c", os.path.join(self.workdir, "rndc.conf")]
                   + list(args), check=check)

    def reload(self, zone):
        return self.rndc("reload", zone)

    def refresh(self, zone):
        return self.rndc("refresh", zone)

    def retransfer(self, zone):
        return self.rndc("retransfer", zone)

    def notify(self, zone):
        return self.rndc("notify", zone)

    def ixfr_in_proof(self, zone, serial, full_rrs, full_bytes, since=0):
        """named (-d 1) logs "requesting IXFR from" and then
        "Transfer completed: M messages, R records, B bytes ... (serial
        S)"; it does not say whether the answer was incremental, but an
        AXFR-style answer carries every record of the zone."""
        log = self.log_text()[since:]
        m = None
        for m in re.finditer(
                r"transfer of '%s/IN' from \S+: Transfer completed: "
                r"(\d+) messages, (\d+) records, (\d+) bytes.*\(serial "
                r"%d\)" % (re.escape(zone), serial), log):
            pass
        if m is None:
            return False, "no 'Transfer completed ... (serial %d)'" % serial
        recs = int(m.group(2))
        asked = "zone %s/IN: requesting IXFR from" % zone in log
        return asked and recs < full_rrs / 2, \
            "%s (IXFR requested: %s; the zone has %d RRs)" % (
                m.group(0), asked, full_rrs)

    def ixfr_out_proof(self, zone, serial, since=0):
        log = self.log_text()[since:]
        m = re.search(r"transfer of '%s/IN': IXFR started.*\(serial \d+ -> "
                      r"%d\)" % (re.escape(zone), serial), log)
        return m is not None, m.group(0) if m else "no 'IXFR started'"


# ---- NSD -------------------------------------------------------------------

class NsdPeer(XfrServer):
    """NSD 4 in the foreground (-d), controlled with nsd-control over a
    UNIX socket (control-interface: /path, no certificates).

    Gotchas (NSD 4.6): IXFR out of an edited zone file needs both
    store-ixfr and create-ixfr; min-refresh-time etc. bound the SOA
    timers; with database "" a secondary's copy is written to its
    zonefile only every zonefiles-write seconds or at stop."""

    name = "nsd"
    BIN = "/usr/sbin/nsd"
    CTL = "/usr/sbin/nsd-control"

    @classmethod
    def binary(cls, build_dir=None):
        return cls.BIN

    def write_config(self):
        w = self.workdir
        self.ctl_path = os.path.join(w, "nsd.ctl")
        lines = [
            "server:",
            "    ip-address: %s@%d" % (self.host, self.port),
            "    server-count: 1",
            "    username: \"\"",
            "    chroot: \"\"",
            "    zonesdir: \"%s\"" % w,
            "    database: \"\"",
            "    zonelistfile: \"%s/zone.list\"" % w,
            "    xfrdfile: \"%s/xfrd.state\"" % w,
            "    xfrdir: \"%s\"" % w,
            "    pidfile: \"%s/nsd.pid\"" % w,
            "    verbosity: %d" % (3 if self.verbose else 1),
            "    reuseport: no",
            "    rrl-ratelimit: 0",
            "    zonefiles-write: 1",
            "    xfrd-reload-timeout: 0",
            "remote-control:",
            "    control-enable: yes",
            "    control-interface: \"%s\"" % self.ctl_path,
        ]
        for k in self.keys.values():
            lines += ["key:", "    name: \"%s\"" % k.name,
                      "    algorithm: %s" % k.algorithm,
                      "    secret: \"%s\"" % k.secret]

        def kn(k):
            return k.name if k is not None else "NOKEY"
        for z in self.zconfs:
            lines += ["zone:", "    name: \"%s\"" % z.name]
            if z.role == "primary":
                lines += ["    zonefile: \"%s\"" % z.file,
                          "    store-ixfr: yes", "    create-ixfr: yes"]
            else:
                lines.append("    zonefile: \"%s\"" % self.secondary_file(z))
                for r in z.primaries:
                    lines.append("    request-xfr: %s@%d %s" % (r.host, r.port,
                                                               kn(r.key)))
                for a in z.allow_notify:
                    lines.append("    allow-notify: %s %s" % (a.address,
                                                             kn(a.key)))
                lines += ["    min-refresh-time: 1", "    min-retry-time: 1",
                          "    max-retry-time: 2", "    store-ixfr: yes"]
            for r in z.notify:
                lines.append("    notify: %s@%d %s" % (r.host, r.port,
                                                      kn(r.key)))
            for a in z.allow_transfer:
                lines.append("    provide-xfr: %s %s" % (a.address, kn(a.key)))
            lines += z.extra.get("nsd", [])
        self.confpath = os.path.join(w, "nsd.conf")
        with open(self.confpath, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        return [self.BIN, "-d", "-c", self.confpath]

    def ctl(self, *args, check=True):
        rc, out = run([self.CTL, "-c", self.confpath] + list(args),
                      check=check)
        if check and out.startswith("error"):
            raise AssertionError("nsd-control %s: %s" % (" ".join(args), out))
        return rc, out

    def reload(self, zone):
        return self.ctl("reload", zone)

    def refresh(self, zone):
        return self.ctl("transfer", zone)

    def retransfer(self, zone):
        return self.ctl("force_transfer", zone)

    def notify(self, zone):
        return self.ctl("notify", zone)

    def ixfr_in_proof(self, zone, serial, full_rrs, full_bytes, since=0):
        """NSD does not log the kind of transfer it received, but "received
        update to serial S ... of B bytes": an IXFR of a small change is a
        fraction of the zone's AXFR."""
        log = self.log_text()[since:]
        m = None
        for m in re.finditer(r"zone %s\. received update to serial %d .* of "
                             r"(\d+) bytes" % (re.escape(zone), serial), log):
            pass
        if m is None:
            return False, "no 'received update to serial %d'" % serial
        return int(m.group(1)) < full_bytes / 2, \
            "%s (a full AXFR is %d bytes)" % (m.group(0), full_bytes)

    def ixfr_out_proof(self, zone, serial, since=0):
        log = self.log_text()[since:]
        m = re.search(r"ixfr for %s\. from \S+" % re.escape(zone), log)
        return m is not None, m.group(0) if m else "no 'ixfr for'"


# ---- Knot ------------------------------------------------------------------

class KnotPeer(XfrServer):
    """knotd in the foreground, controlled with knotc over its UNIX socket.

    Gotchas (Knot 3.2): the primary list is still called "master"; a
    primary computes IXFR from zone file edits with zonefile-load:
    difference and journal-content: changes; refresh-min-interval >= 2,
    retry-min-interval >= 1, expire-min-interval >= 3 (s)."""

    name = "knot"
    BIN = "/usr/sbin/knotd"
    CTL = "/usr/sbin/knotc"

    @classmethod
    def binary(cls, build_dir=None):
        return cls.BIN

    def write_config(self):
        w = self.workdir
        os.makedirs(os.path.join(w, "db"), exist_ok=True)
        self.ctl_path = os.path.join(w, "knot.sock")

        def q(s):
            return "\"%s\"" % s
        lines = [
            "server:",
            "    rundir: %s" % q(w),
            "    pidfile: %s" % q(os.path.join(w, "knot.pid")),
            "    listen: %s@%d" % (self.host, self.port),
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "control:",
            "    listen: %s" % q(self.ctl_path),
            "database:",
            "    storage: %s" % q(os.path.join(w, "db")),
            "log:",
            "  - target: stderr",
            "    any: %s" % ("debug" if self.verbose else "info"),
        ]
        if self.keys:
            lines.append("key:")
            for k in self.keys.values():
                lines += ["  - id: %s" % k.name,
                          "    algorithm: %s" % k.algorithm,
                          "    secret: %s" % k.secret]
        remotes, acls = [], []

        def remote(r):
            rid = "r%d" % len(remotes)
            remotes.append("  - id: %s\n    address: %s@%d%s" % (
                rid, r.host, r.port,
                "\n    key: %s" % r.key.name if r.key else ""))
            return rid

        def acl(a, action):
            aid = "a%d" % len(acls)
            acls.append("  - id: %s\n    address: %s\n    action: %s%s" % (
                aid, a.address, action,
                "\n    key: %s" % a.key.name if a.key else ""))
            return aid
        zlines = ["zone:"]
        for z in self.zconfs:
            zlines += ["  - domain: %s" % q(z.name)]
            zacl = [acl(a, "transfer") for a in z.allow_transfer] + \
                [acl(a, "notify") for a in z.allow_notify]
            if z.role == "primary":
                zlines += ["    file: %s" % q(z.file),
                           "    zonefile-load: difference",
                           "    journal-content: changes",
                           "    zonefile-sync: -1"]
            else:
                zlines += ["    file: %s" % q(self.secondary_file(z)),
                           "    master: [ %s ]" % ", ".join(
                               remote(r) for r in z.primaries),
                           "    zonefile-sync: 0",
                           "    journal-content: changes",
                           "    refresh-min-interval: 2",
                           "    retry-min-interval: 1",
                           "    retry-max-interval: 2",
                           "    expire-min-interval: 3"]
            if z.notify:
                zlines.append("    notify: [ %s ]" % ", ".join(
                    remote(r) for r in z.notify))
            if zacl:
                zlines.append("    acl: [ %s ]" % ", ".join(zacl))
            zlines += ["    semantic-checks: off", "    dnssec-signing: off"]
            zlines += z.extra.get("knot", [])
        if remotes:
            lines += ["remote:"] + remotes
        if acls:
            lines += ["acl:"] + acls
        lines += zlines
        self.confpath = os.path.join(w, "knot.conf")
        with open(self.confpath, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        return [self.BIN, "-c", self.confpath]

    def ctl(self, *args, check=True):
        return run([self.CTL, "-s", self.ctl_path, "-t", "10"] + list(args),
                   check=check)

    def reload(self, zone):
        return self.ctl("zone-reload", zone)

    def refresh(self, zone):
        return self.ctl("zone-refresh", zone)

    def retransfer(self, zone):
        return self.ctl("zone-retransfer", zone)

    def notify(self, zone):
        return self.ctl("zone-notify", zone)

    def ixfr_in_proof(self, zone, serial, full_rrs, full_bytes, since=0):
        """Knot logs "IXFR, incoming, ... finished"; an AXFR-style answer
        is logged as "receiving AXFR-style IXFR" then "AXFR, incoming"."""
        log = self.log_text()[since:]
        lines = [l for l in log.splitlines()
                 if "[%s.]" % zone in l and ", incoming," in l
                 and "finished" in l]
        if not lines:
            return False, "no incoming transfer finished"
        return "IXFR, incoming" in lines[-1], lines[-1]

    def ixfr_out_proof(self, zone, serial, since=0):
        log = self.log_text()[since:]
        m = re.search(r"\[%s\.\] IXFR, outgoing, remote \S+ started, "
                      r"serial \d+ -> %d" % (re.escape(zone), serial), log)
        return m is not None, m.group(0) if m else "no 'IXFR, outgoing'"


PEER_CLASSES = {"named": NamedPeer, "nsd": NsdPeer, "knot": KnotPeer}


def peer_installed(name):
    cls = PEER_CLASSES[name]
    return os.access(cls.BIN, os.X_OK) and os.access(
        getattr(cls, "CTL", getattr(cls, "RNDC", cls.BIN)), os.X_OK)


# ---------------------------------------------------------------- key change

def replace_key(srv, key):
    """Give srv another secret for the key of that name (everywhere it is
    used); takes effect at the next start()."""
    def sub(k):
        return key if (k is not None and k.name == key.name) else k
    srv.keys[key.name] = key
    for z in srv.zconfs:
        z.primaries = [Remote(r.port, sub(r.key), r.host) for r in z.primaries]
        z.notify = [Remote(r.port, sub(r.key), r.host) for r in z.notify]
        z.allow_transfer = [Acl(sub(a.key), a.address)
                            for a in z.allow_transfer]
        z.allow_notify = [Acl(sub(a.key), a.address) for a in z.allow_notify]


# ---------------------------------------------------------------- IXFR proofs

def axfr_size(port, zone, key=None):
    """(number of RRs, octets of DNS messages) of a full AXFR."""
    rcode, msgs, rrs = transfer(port, zone, "AXFR", key=key)
    assert rcode == dns.rcode.NOERROR, dns.rcode.to_text(rcode)
    return len(rrs), sum(m.wire_len for m in msgs)


# ---- tandemd ---------------------------------------------------------------

class ControlError(AssertionError):
    pass


def control_request(path, line, timeout=30.0, max_bytes=1 << 22):
    """One request on tandemd's control socket (the protocol of issue 4:
    one line in, lines out, the last "ok" or "error: <reason>").  Returns
    (ok, lines) where lines excludes the final status line, and the final
    line as lines[-1] is kept in .status of the ControlError on failure.
    Raises OSError when the socket cannot be reached."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(line.encode() + b"\n")
        buf = b""
        while len(buf) < max_bytes:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            if buf.endswith(b"ok\n") or re.search(rb"(^|\n)error: [^\n]*\n$",
                                                  buf):
                # the daemon closes after the status line; do not depend
                # on it
                if buf.endswith(b"\n"):
                    tail = buf.rstrip(b"\n").rsplit(b"\n", 1)[-1]
                    if tail == b"ok" or tail.startswith(b"error: "):
                        break
    lines = buf.decode("utf-8", "replace").rstrip("\n").split("\n")
    if not lines or not (lines[-1] == "ok" or lines[-1].startswith("error:")):
        raise ControlError("no status line in the answer to %r: %r"
                           % (line, buf[-500:]))
    return lines[-1] == "ok", lines


def parse_kv(lines):
    """'key: value' lines into a dict (first occurrence wins)."""
    out = {}
    for l in lines:
        if ":" in l:
            k, v = l.split(":", 1)
            out.setdefault(k.strip(), v.strip())
    return out


class TandemdNode(XfrServer):
    """tandemd with keys, primary and secondary zones, a control socket
    (server: control:) and its own storage: directory.

    timers: the zone options refresh-min etc. (dict) for secondaries.
    server_extra / zone_extra: lines added to server: / every zone:."""

    name = "tandemd"

    _control_ok = {}      # tandemd binary -> does it know server: control:

    def __init__(self, workdir, build_dir, zones, keys=(), port=None,
                 workers=2, timers=None, server_extra=(), log_level="info",
                 control=None):
        super().__init__(workdir, zones, keys=keys, port=port)
        self.control = control      # None: when this tandemd knows it
        self.build_dir = build_dir
        self.workers = workers
        self.timers = dict(timers or {})
        self.server_extra = list(server_extra)
        self.log_level = log_level
        self.storage = os.path.join(self.workdir, "storage")
        self.ctl_path = os.path.join(self.workdir, "tandemd.ctl")

    @classmethod
    def binary(cls, build_dir=None):
        return os.path.join(build_dir, "server", "tandemd")

    @staticmethod
    def tools(build_dir, name):
        return os.path.join(build_dir, "tools", name)

    def config_text(self):
        lines = []
        for k in self.keys.values():
            lines += ["key:", "    name: %s" % k.name,
                      "    algorithm: %s" % k.algorithm,
                      '    secret: "%s"' % k.secret]
        lines += ["server:",
                  "    listen: %s@%d" % (self.host, self.port),
                  "    workers: %d" % self.workers,
                  "    storage: %s" % self.storage,
                  "    log-level: %s" % self.log_level]
        if self.control or (self.control is None and
                            self.knows_control(self.build_dir)):
            lines.append("    control: %s" % self.ctl_path)
        lines += ["    " + l for l in self.server_extra]

        def kref(k, acl):
            if k is None:
                return " key NONE" if acl else ""
            return " key %s" % k.name
        for z in self.zconfs:
            lines += ["zone:", "    name: %s" % z.name]
            if z.file:
                lines.append("    file: %s" % z.file)
            for r in z.primaries:
                lines.append("    primary: %s@%d%s" % (r.host, r.port,
                                                      kref(r.key, False)))
            for a in z.allow_notify:
                lines.append("    allow-notify: %s%s" % (a.address,
                                                        kref(a.key, True)))
            for r in z.notify:
                lines.append("    notify: %s@%d%s" % (r.host, r.port,
                                                     kref(r.key, False)))
            for a in z.allow_transfer:
                lines.append("    allow-transfer: %s%s" % (a.address,
                                                          kref(a.key, True)))
            if z.role == "secondary":
                for k, v in sorted(self.timers.items()):
                    lines.append("    %s: %s" % (k, v))
            lines += ["    " + l for l in z.extra.get("tandemd", [])]
        return "\n".join(lines) + "\n"

    @classmethod
    def knows_control(cls, build_dir):
        """Does this tandemd accept server: control: (tandemd -t on a
        config with no zone)?  Asked once per binary."""
        binary = cls.binary(build_dir)
        if binary not in cls._control_ok:
            import tempfile
            with tempfile.TemporaryDirectory() as d:
                conf = os.path.join(d, "t.conf")
                with open(conf, "w") as f:
                    f.write("server:\n    listen: 127.0.0.1@53\n"
                            "    control: %s/t.ctl\n" % d)
                rc, out = run([binary, "-t", "-c", conf], check=False)
            cls._control_ok[binary] = "control" not in out
        return cls._control_ok[binary]

    def write_config(self):
        os.makedirs(self.storage, exist_ok=True)
        self.confpath = os.path.join(self.workdir, "tandemd.conf")
        with open(self.confpath, "w") as f:
            f.write(self.config_text())

    def cwd(self):
        return "/"

    def command(self):
        return [self.binary(self.build_dir), "-c", self.confpath]

    # -- control -----------------------------------------------------------
    def has_control(self):
        if not os.path.exists(self.ctl_path):
            return False
        try:
            ok, _ = control_request(self.ctl_path, "status", timeout=5)
            return ok
        except (OSError, ControlError):
            return False

    def ctl(self, line, check=True, timeout=60.0):
        """(ok, lines) of one control request; check: raise on error."""
        ok, lines = control_request(self.ctl_path, line, timeout=timeout)
        if check and not ok:
            raise ControlError("tandemd: %r answered %s\n%s" % (
                line, lines[-1], self.log_tail(30)))
        return ok, lines

    def tandemctl(self, *args, timeout=CMD_TIMEOUT):
        """Run BUILD/tools/tandemctl -s SOCKET ARGS: (exit status, output)."""
        return run([self.tools(self.build_dir, "tandemctl"), "-s",
                    self.ctl_path] + list(args), timeout=timeout, check=False)

    def zonestatus(self, zone):
        ok, lines = self.ctl("zonestatus %s" % zone, check=False)
        d = parse_kv(lines[:-1])
        d["_ok"] = ok
        d["_lines"] = lines
        return d

    def reload(self, zone=None):
        """`reload ZONE` on the control socket when there is one, else
        SIGHUP (= reload, issue 4)."""
        if os.path.exists(self.ctl_path):
            return self.ctl("reload %s" % zone if zone else "reload")
        os.kill(self.proc.pid, signal.SIGHUP)
        return True, ["ok"]

    def refresh(self, zone):
        return self.ctl("refresh %s" % zone)

    def retransfer(self, zone):
        return self.ctl("retransfer %s" % zone)

    def notify(self, zone):
        return self.ctl("notify %s" % zone)

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for l in f:
                if l.startswith("VmRSS:"):
                    return int(l.split()[1])
        return None


# ---- the scriptable primary (fakeprimary.py) -------------------------------

class FakePrimary(XfrServer):
    """fakeprimary.py as a process of its own, so that a test can SIGKILL
    it mid-transfer.  set(**state) changes its behaviour at once."""

    name = "fakeprimary"
    SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "fakeprimary.py")

    def __init__(self, workdir, zone, port=None, **state):
        super().__init__(workdir, [ZoneConf(zone, "primary",
                                            file="(generated)")], port=port)
        self.zone = zone
        self.statepath = os.path.join(self.workdir, "state.json")
        self.reqlog = os.path.join(self.workdir, "requests.log")
        self.st = dict(serial=1, mode="good", names=20)
        self.st.update(state)

    @classmethod
    def binary(cls, build_dir=None):
        return cls.SCRIPT

    def write_config(self):
        self.set()

    def set(self, **kw):
        import json
        self.st.update(kw)
        tmp = self.statepath + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.st, f)
        os.rename(tmp, self.statepath)

    def command(self):
        import sys
        return [sys.executable, self.SCRIPT, "--port", str(self.port),
                "--zone", self.zone, "--state", self.statepath,
                "--log", self.reqlog]

    def requests(self):
        try:
            with open(self.reqlog) as f:
                return f.read().splitlines()
        except OSError:
            return []

    def view(self, **override):
        import fakeprimary
        st = dict(self.st)
        st.update(override)
        z = dns.zone.from_text(fakeprimary.zone_text(self.zone, st),
                               self.zone, relativize=False)
        out = set()
        for name, node in z.nodes.items():
            for rds in node.rdatasets:
                for rd in rds:
                    out.add(rr_key(name, rds.ttl, rds.rdclass, rds.rdtype, rd))
        return out
