"""Start and stop DNS servers for the system tests: tandemd, NSD and Knot.

Every server runs in the foreground, unprivileged port on 127.0.0.1, in its
own temporary directory with a config file written here, with its log in
WORKDIR/server.log.  It is stopped by PID: SIGTERM, then SIGKILL of its own
process group after STOP_TIMEOUT seconds.

All servers take the same knobs (mapped to each one's config syntax), so a
test can be run unchanged against tandemd, NSD and Knot:

    identity  -- CH TXT id.server / hostname.bind; "hide" refuses
    version   -- CH TXT version.bind / version.server; "hide" refuses
    nsid      -- EDNS NSID (RFC 5001) as an ASCII string; None: off
    edns_size -- the server's EDNS UDP buffer size
    tcp_idle_timeout -- seconds
"""

import errno
import os
import shutil
import signal
import socket
import subprocess
import time

import dnsclient

HERE = os.path.dirname(os.path.abspath(__file__))
ZONES_DIR = os.path.join(HERE, "zones")

# (zone name, file name in ZONES_DIR).  The first zone is the one probed
# for readiness.
DEFAULT_ZONES = [
    ("example.com", "example.com.zone"),
    ("child.example.com", "child.example.com.zone"),
    ("example.org", "example.org.zone"),
    ("example", "example.zone"),
]

SERVER_NAMES = ("tandemd", "nsd", "knot")

# Knobs of the session-wide instances (all three servers get the same).
SHARED_KNOBS = dict(identity="ns1.example.net", version="tandem-test 1.0",
                    nsid="ns1-test", edns_size=1232, tcp_idle_timeout=10)

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

_used_ports = set()


def free_port(attempts=50):
    """A port free for both UDP and TCP on 127.0.0.1 and (if the machine
    has IPv6 loopback) on ::1: bind port 0 on UDP, then try the same port
    on the others.  Never returns the same port twice in one test run."""
    for _ in range(attempts):
        socks = []
        try:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(u)
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            if port in _used_ports:
                continue
            try:
                for fam, typ, host in ((socket.AF_INET, socket.SOCK_STREAM,
                                        "127.0.0.1"),
                                       (socket.AF_INET6, socket.SOCK_DGRAM,
                                        "::1"),
                                       (socket.AF_INET6, socket.SOCK_STREAM,
                                        "::1")):
                    t = socket.socket(fam, typ)
                    socks.append(t)
                    try:
                        t.bind((host, port))
                    except OSError as e:
                        if host == "::1" and e.errno in (
                                errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                            continue  # no IPv6 loopback here
                        raise
            except OSError:
                continue
            _used_ports.add(port)
            return port
        finally:
            for x in socks:
                x.close()
    raise RuntimeError("no free UDP+TCP port found on loopback")


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "WARNING: ThreadSanitizer")


def stop_all(nodes):
    """Stops every server in `nodes` (in that order), each checked for a
    clean exit and no sanitizer report, and fails the test with all the
    reports if any was not clean: one bad server does not leave the
    others running."""
    errors = []
    for n in nodes:
        try:
            n.stop(check=True)
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        import pytest
        pytest.fail("\n\n".join(errors), pytrace=False)


class ServerDied(AssertionError):
    pass


class Server:
    """Base class.  Subclasses define name, binary(), write_config(),
    command()."""

    name = "server"

    def __init__(self, workdir, zones=None, *, identity="ns1.example.net",
                 version="tandem-test 1.0", nsid=None, edns_size=1232,
                 tcp_idle_timeout=10, listen6=False, port=None, extra=""):
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.zones = list(zones or DEFAULT_ZONES)
        self.identity = identity
        self.version = version
        self.nsid = nsid
        self.edns_size = edns_size
        self.tcp_idle_timeout = tcp_idle_timeout
        self.extra = extra
        self.listen6 = listen6   # also listen on [::1] at the same port
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.proc = None
        self.logpath = os.path.join(self.workdir, "server.log")
        self.confpath = None
        self._logf = None
        self.stopped = False
        # copy the zone files so that nothing is ever written to the tree
        zdir = os.path.join(self.workdir, "zones")
        os.makedirs(zdir, exist_ok=True)
        for _, fname in self.zones:
            src = fname if os.path.isabs(fname) else os.path.join(ZONES_DIR,
                                                                  fname)
            shutil.copy(src, os.path.join(zdir, os.path.basename(fname)))

    # -- to override -------------------------------------------------------
    @classmethod
    def binary(cls, build_dir=None):
        raise NotImplementedError

    def write_config(self):
        raise NotImplementedError

    def cwd(self):
        return self.workdir

    def command(self):
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------
    def zone_file(self, fname):
        return os.path.join(self.workdir, "zones", os.path.basename(fname))

    def start(self, timeout=START_TIMEOUT):
        self.write_config()
        self._logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.command(), cwd=self.cwd(),
                                     stdin=subprocess.DEVNULL,
                                     stdout=self._logf,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.stopped = False
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        """Bounded wait until the server answers an SOA query for its first
        zone over UDP with NOERROR+AA."""
        apex = self.zones[0][0]
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 1):
            if self.proc.poll() is not None:
                raise ServerDied("%s exited with status %s during start-up\n"
                                 "%s" % (self.name, self.proc.returncode,
                                         self.log_tail()))
            r = dnsclient.query(self.port, apex, "SOA", timeout=0.2)
            if r.msg is not None and r.rcode == 0 and r.flag("AA"):
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        raise AssertionError("%s did not answer SOA %s on port %d within "
                             "%.0fs\n%s" % (self.name, apex, self.port,
                                            timeout, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        """Raise (with the log) if the server died unexpectedly."""
        if self.proc is not None and not self.stopped and \
                self.proc.poll() is not None:
            raise ServerDied("%s (pid %d) died unexpectedly with status %s\n"
                             "%s" % (self.name, self.proc.pid,
                                     self.proc.returncode, self.log_tail()))

    def stop(self, check=True):
        """Stop by PID: SIGTERM, bounded wait, SIGKILL to the process group
        that start() created.  With check=True, raise (with the log) if it
        had died on its own, needed SIGKILL, exited non-zero after SIGTERM,
        or a sanitizer reported an error in its log."""
        if self.proc is None or self.stopped:
            return
        died = self.proc.poll() is not None
        killed = False
        if not died:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                killed = True
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(STOP_TIMEOUT)
        self.stopped = True
        if self._logf:
            self._logf.close()
            self._logf = None
        if not check:
            return
        problem = None
        if died:
            problem = "had died before stop, status %s" % self.proc.returncode
        elif killed:
            problem = "did not stop within %.0fs of SIGTERM (SIGKILLed)" % \
                STOP_TIMEOUT
        elif self.proc.returncode != 0:
            problem = "exited with status %s after SIGTERM" % \
                self.proc.returncode
        else:
            log = self.log_text()
            marks = [m for m in SANITIZER_MARKERS if m in log]
            if marks:
                problem = "sanitizer report in its log (%s)" % ", ".join(marks)
        if problem:
            raise ServerDied("%s (pid %d) %s\n%s" % (
                self.name, self.proc.pid, problem, self.log_tail(120)))

    def log_text(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=60):
        text = self.log_text().splitlines()
        return "---- %s log (%s), last %d lines ----\n%s" % (
            self.name, self.logpath, lines, "\n".join(text[-lines:]))

    # -- querying ----------------------------------------------------------
    def query(self, qname, qtype="A", tcp=False, host=None, **opts):
        return dnsclient.query(self.port, qname, qtype, tcp=tcp,
                               host=host or self.host, **opts)

    def send_raw(self, wire, tcp=False, timeout=dnsclient.DEFAULT_TIMEOUT):
        return dnsclient.send_raw(self.port, wire, tcp=tcp, host=self.host,
                                  timeout=timeout)

    def tcp_conn(self, timeout=dnsclient.DEFAULT_TIMEOUT):
        return dnsclient.TcpConn(self.port, self.host, timeout)

    def __repr__(self):
        return "<%s port %s>" % (self.name, self.port)


class Tandemd(Server):
    name = "tandemd"

    def __init__(self, workdir, build_dir, zones=None, workers=2, **kw):
        self.build_dir = build_dir
        self.workers = workers
        super().__init__(workdir, zones, **kw)

    @classmethod
    def binary(cls, build_dir=None):
        return os.path.join(build_dir, "server", "tandemd")

    def config_text(self):
        lines = ["server:",
                 "    listen: %s@%d" % (self.host, self.port)]
        if self.listen6:
            lines.append("    listen: ::1@%d" % self.port)
        lines.append("    workers: %d" % self.workers)
        if self.identity is not None:
            lines.append("    identity: %s" % self.identity)
        if self.version is not None:
            lines.append("    version: %s" % self.version)
        if self.nsid is not None:
            lines.append("    nsid: %s" % self.nsid)
        lines += ["    edns-buffer-size: %d" % self.edns_size,
                  "    tcp-idle-timeout: %d" % self.tcp_idle_timeout,
                  "    tcp-max-clients: 1000",
                  "    storage: %s" % os.path.join(self.workdir, "storage")]
        if self.extra:
            lines.append(self.extra.rstrip("\n"))
        for name, fname in self.zones:
            # relative to the config file, as the spec says
            lines += ["zone:", "    name: %s" % name,
                      "    file: zones/%s" % os.path.basename(fname)]
        return "\n".join(lines) + "\n"

    def write_config(self):
        os.makedirs(os.path.join(self.workdir, "storage"), exist_ok=True)
        self.confpath = os.path.join(self.workdir, "tandemd.conf")
        with open(self.confpath, "w") as f:
            f.write(self.config_text())

    def cwd(self):
        # not the config's directory: relative zone paths must resolve
        # against the config file, not the working directory
        return "/"

    def command(self):
        return [self.binary(self.build_dir), "-c", self.confpath]


class Nsd(Server):
    name = "nsd"
    BIN = "/usr/sbin/nsd"

    @classmethod
    def binary(cls, build_dir=None):
        return cls.BIN

    def write_config(self):
        w = self.workdir
        lines = [
            "server:",
            "    ip-address: %s@%d" % (self.host, self.port),
        ] + (["    ip-address: ::1@%d" % self.port] if self.listen6 else []) + [
            "    server-count: 1",
            "    username: \"\"",
            "    chroot: \"\"",
            "    zonesdir: \"%s\"" % w,
            "    database: \"\"",
            "    zonelistfile: \"%s/zone.list\"" % w,
            "    xfrdfile: \"%s/xfrd.state\"" % w,
            "    xfrdir: \"%s\"" % w,
            "    pidfile: \"%s/nsd.pid\"" % w,
            "    verbosity: 1",
            "    reuseport: no",
            "    ipv4-edns-size: %d" % self.edns_size,
            "    ipv6-edns-size: %d" % self.edns_size,
            "    tcp-timeout: %d" % self.tcp_idle_timeout,
            "    rrl-ratelimit: 0",
            "    rrl-whitelist-ratelimit: 0",
        ]
        if self.identity == "hide":
            lines.append("    hide-identity: yes")
        elif self.identity is not None:
            lines.append("    identity: \"%s\"" % self.identity)
        if self.version == "hide":
            lines.append("    hide-version: yes")
        elif self.version is not None:
            lines.append("    version: \"%s\"" % self.version)
        if self.nsid is not None:
            lines.append("    nsid: \"ascii_%s\"" % self.nsid)
        if self.extra:
            lines.append(self.extra.rstrip("\n"))
        lines += ["remote-control:", "    control-enable: no"]
        for name, fname in self.zones:
            lines += ["zone:", "    name: \"%s\"" % name,
                      "    zonefile: \"%s\"" % self.zone_file(fname)]
        self.confpath = os.path.join(w, "nsd.conf")
        with open(self.confpath, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        return [self.BIN, "-d", "-c", self.confpath]


class Knot(Server):
    name = "knot"
    BIN = "/usr/sbin/knotd"

    @classmethod
    def binary(cls, build_dir=None):
        return cls.BIN

    def write_config(self):
        w = self.workdir
        os.makedirs(os.path.join(w, "db"), exist_ok=True)

        def q(s):
            return "\"%s\"" % s
        lines = [
            "server:",
            "    rundir: %s" % q(w),
            "    pidfile: %s" % q(os.path.join(w, "knot.pid")),
            "    listen: [ %s@%d%s ]" % (self.host, self.port,
                                         ", ::1@%d" % self.port
                                         if self.listen6 else ""),
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "    udp-max-payload: %d" % self.edns_size,
            "    tcp-idle-timeout: %d" % self.tcp_idle_timeout,
        ]
        # Knot: an empty value disables (REFUSED)
        if self.identity is not None:
            lines.append("    identity: %s" % q("" if self.identity == "hide"
                                                else self.identity))
        if self.version is not None:
            lines.append("    version: %s" % q("" if self.version == "hide"
                                               else self.version))
        lines.append("    nsid: %s" % q(self.nsid or ""))
        if self.extra:
            lines.append(self.extra.rstrip("\n"))
        lines += [
            "control:",
            "    listen: %s" % q(os.path.join(w, "knot.sock")),
            "database:",
            "    storage: %s" % q(os.path.join(w, "db")),
            "log:",
            "  - target: stderr",
            "    any: info",
            "template:",
            "  - id: default",
            "    storage: %s" % q(os.path.join(w, "zones")),
            "    zonefile-load: whole",
            "    zonefile-sync: -1",
            "    journal-content: none",
            "    semantic-checks: off",
            "    dnssec-signing: off",
            "zone:",
        ]
        for name, fname in self.zones:
            lines += ["  - domain: %s" % q(name),
                      "    file: %s" % q(self.zone_file(fname))]
        self.confpath = os.path.join(w, "knot.conf")
        with open(self.confpath, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        return [self.BIN, "-c", self.confpath]


PEERS = {"nsd": Nsd, "knot": Knot}
