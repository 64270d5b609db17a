#!/usr/bin/python3
"""Side-by-side benchmark of tandemd, NSD and Knot on the same zone.

    /usr/bin/python3 tests/bench/run.py [--sizes 10k,1M] [--reps 3] ...

For each zone size: generate the zone and a dnsperf query file
(gen_zone.py), then run the servers interleaved (tandemd, nsd, knot,
tandemd, nsd, knot, ...; one server alive at a time, each started fresh
per repetition, 1 worker, same zone file).  Mode "split": every thread of
the server is pinned to one core (re-pinned after start, since Knot sets
its own affinity), dnsperf, dig and this script to the other.

Per server and repetition:
  start -> first SOA  time from exec to the first NOERROR+AA SOA answer
  throughput          dnsperf for --duration s: raw qps, loss, and answered
                      queries per server CPU-second (utime+stime of the
                      server's processes from /proc/PID/stat over the run)
  latency             dnsperf -Q --rate for --latency-duration s, p50/p99
                      of the per-query latencies dnsperf -v prints
  AXFR                dig AXFR +noall +stats, timed; "n/a" when the
                      server refuses (REFUSED, NOTIMP, ...)
  memory              RSS and PSS (/proc/PID/smaps_rollup) after the load
Once per server: the rcode of each of the first --replay queries, compared
query by query across servers (a mismatch is reported loudly), and
user-space instructions per query under valgrind --tool=callgrind: the
server runs under callgrind, the same --replay queries are sent one at a
time by a small UDP sender, and callgrind_control dumps the counters
before and after the replay and after an idle period of the same length;
Ir per query = (replay - idle) / answered.

Writes a Markdown table and a JSON file (--out, default BUILD/bench/),
prints the table.  Medians over the repetitions; ratios are tandemd's
value divided by Knot's and by NSD's.  A server that fails to start is
reported and the others go on.
"""

import argparse
import datetime
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import gen_zone  # noqa: E402

ORIGIN = "bench.example."
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
SERVER_NAMES = ("tandemd", "nsd", "knot")

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED", 9: "NOTAUTH"}


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


# --- DNS on the wire (just enough for probes and the replay) -------------

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16,
          "AAAA": 28, "AXFR": 252}


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def wire_query(qid, name, qtype):
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + wire_name(name) + \
        struct.pack("!HH", QTYPES[qtype], 1)


def header(msg):
    """(id, flags, qd, an, ns, ar) of a message, or None if too short."""
    if len(msg) < 12:
        return None
    return struct.unpack("!HHHHHH", msg[:12])


def udp_query(port, name, qtype, timeout):
    """Header tuple of the answer, or None on timeout or error."""
    qid = random.getrandbits(16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(("127.0.0.1", port))
            s.send(wire_query(qid, name, qtype))
            while True:
                h = header(s.recv(65535))
                if h and h[0] == qid:
                    return h
        except OSError:
            return None


def soa_ok(h):
    return h is not None and h[1] & 0x8000 and h[1] & 0x0400 and \
        h[1] & 0xF == 0 and h[3] >= 1


def axfr_probe(port, zone, timeout=10.0):
    """rcode name of the first AXFR message, or an error string."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout) as s:
            q = wire_query(0x4242, zone, "AXFR")
            s.sendall(struct.pack("!H", len(q)) + q)
            buf = b""
            while len(buf) < 14:
                chunk = s.recv(65535)
                if not chunk:
                    return "connection closed"
                buf += chunk
            h = header(buf[2:])
            return RCODES.get(h[1] & 0xF, "RCODE%d" % (h[1] & 0xF))
    except OSError as e:
        return "error: %s" % e


def replay(port, queries, per_query_timeout=2.0, deadline=None):
    """Send `queries` ((name, type) pairs) one at a time over UDP, each
    waiting for its answer.  Returns (list of (rcode, aa, an, ns, ar) or
    None per query, seconds taken)."""
    results = []
    t0 = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("127.0.0.1", port))
        s.settimeout(per_query_timeout)
        for n, (name, qtype) in enumerate(queries):
            if deadline is not None and time.monotonic() > deadline:
                results += [None] * (len(queries) - n)
                break
            qid = n & 0xFFFF
            s.send(wire_query(qid, name, qtype))
            res = None
            try:
                while True:
                    h = header(s.recv(65535))
                    if h and h[0] == qid:
                        res = (h[1] & 0xF, bool(h[1] & 0x0400), h[3], h[4],
                               h[5])
                        break
            except socket.timeout:
                pass
            except OSError:
                pass
            results.append(res)
    return results, time.monotonic() - t0


def free_port():
    """A port free on 127.0.0.1 for UDP and TCP, outside the ephemeral range
    (so that no client's connect() on this busy machine takes it between
    this check and the server's bind)."""
    lo, hi = 32768, 60999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split()[:2])
    except (OSError, ValueError):
        pass
    span = (10000, lo) if lo > 11000 else (hi + 1, 65536)
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(*span)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                u.bind(("127.0.0.1", port))
                t.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port on 127.0.0.1")


# --- /proc ---------------------------------------------------------------

def proc_tree(pid):
    """pid and all its descendants that are alive."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if os.path.exists("/proc/%d" % p):
            out.append(p)
        todo += children.get(p, [])
    return out


def cpu_split(pids):
    """(utime, stime) of the processes (all their threads), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    user = kernel = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        user += int(fields[11])
        kernel += int(fields[12])
    return user / tick, kernel / tick


def cpu_seconds(pids):
    """utime+stime of the processes (all their threads), in seconds."""
    return sum(cpu_split(pids))


def memory(pids):
    """(RSS, PSS) in bytes, summed over the processes."""
    rss = pss = 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k == "Rss":
                        rss += int(v.split()[0]) * 1024
                    elif k == "Pss":
                        pss += int(v.split()[0]) * 1024
        except OSError:
            pass
    return rss, pss


def off_cpu_threads(pids, cpu):
    """Threads of the processes whose affinity is not exactly {cpu}."""
    n = 0
    for p in pids:
        try:
            tids = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tids:
            try:
                if os.sched_getaffinity(int(t)) != {cpu}:
                    n += 1
            except OSError:
                pass
    return n


def pin(pids, cpu):
    """Pin every thread of the processes to `cpu`.  Returns the number of
    threads that are not pinned after it (0 is success)."""
    bad = 0
    for p in pids:
        try:
            tids = [int(t) for t in os.listdir("/proc/%d/task" % p)]
        except OSError:
            continue
        for t in tids:
            try:
                os.sched_setaffinity(t, {cpu})
                if os.sched_getaffinity(t) != {cpu}:
                    bad += 1
            except OSError:
                if os.path.exists("/proc/%d/task/%d" % (p, t)):
                    bad += 1
    return bad


# --- servers ---------------------------------------------------------------

class StartFailed(Exception):
    pass


class Server:
    name = "?"

    def __init__(self, workdir, zonefile, args):
        self.workdir = workdir
        self.zonefile = zonefile
        self.args = args
        self.port = free_port()
        self.proc = None
        self.logpath = os.path.join(workdir, "server.log")
        self.pids = []
        os.makedirs(workdir, exist_ok=True)

    def available(self):
        b = self.binary()
        return os.path.isfile(b) and os.access(b, os.X_OK)

    def binary(self):
        raise NotImplementedError

    def write_config(self):
        raise NotImplementedError

    def command(self):
        raise NotImplementedError

    def start(self, timeout, wrapper=(), probe_interval=0.005):
        """Start pinned to the server core; return seconds to first SOA.
        On a port taken meanwhile by someone else, retry on another."""
        for attempt in range(3):
            try:
                before = os.path.getsize(self.logpath)
            except OSError:
                before = 0
            try:
                return self._start(timeout, wrapper, probe_interval)
            except StartFailed:
                with open(self.logpath, "rb") as f:
                    f.seek(before)
                    new = f.read().decode("utf-8", "replace")
                if "in use" not in new or attempt == 2:
                    raise
                log("%s: port %d in use, retrying on another"
                    % (self.name, self.port))
                self.port = free_port()

    def _start(self, timeout, wrapper, probe_interval):
        self.write_config()
        cmd = ["taskset", "-c", str(self.args.server_cpu)] + list(wrapper) + \
            self.command()
        logf = open(self.logpath, "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=self.workdir,
                                     stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        logf.close()
        deadline = t0 + timeout
        while True:
            if self.proc.poll() is not None:
                raise StartFailed("%s exited with status %s during start\n%s"
                                  % (self.name, self.proc.returncode,
                                     self.log_tail()))
            if soa_ok(udp_query(self.port, ORIGIN, "SOA",
                                max(0.05, probe_interval))):
                elapsed = time.monotonic() - t0
                break
            if time.monotonic() > deadline:
                self.stop()
                raise StartFailed("%s did not answer SOA within %.0f s\n%s"
                                  % (self.name, timeout, self.log_tail()))
            time.sleep(probe_interval)
        self.refresh_pids()
        return elapsed

    def settle(self, timeout, window=1.0, busy=0.03):
        """Wait until the server uses less than `busy` of a CPU over
        `window` seconds: some servers go on working after their first
        answer (Knot adjusts the zone in the background), and that work
        must not count against the queries.  Returns the seconds waited."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            pids = self.refresh_pids()
            c0 = cpu_seconds(pids)
            time.sleep(window)
            if cpu_seconds(pids) - c0 < busy * window:
                break
        return time.monotonic() - t0

    def refresh_pids(self):
        self.pids = proc_tree(self.proc.pid)
        return self.pids

    def pin(self):
        return pin(self.refresh_pids(), self.args.server_cpu)

    def stop(self, timeout=20.0):
        """SIGTERM, bounded wait, then SIGKILL to the process group this
        script created for it."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log("%s (pid %d) ignored SIGTERM for %.0f s: SIGKILL"
                    % (self.name, self.proc.pid, timeout))
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(10)
        # children (NSD's) that outlived their parent
        for p in self.pids:
            if p != self.proc.pid and os.path.exists("/proc/%d" % p):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        rc = self.proc.returncode
        self.proc = None
        return rc

    def log_tail(self, n=15):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return "\n".join("    " + x for x in lines[-n:])

    def version(self):
        return ""


class Tandemd(Server):
    name = "tandemd"

    def binary(self):
        return os.path.join(self.args.build_dir, "server", "tandemd")

    AXFR_LINE = "allow-transfer: 127.0.0.1"
    _axfr_known = {}  # binary -> whether its config takes AXFR_LINE

    def config_text(self, zone_lines):
        storage = os.path.join(self.workdir, "storage")
        os.makedirs(storage, exist_ok=True)
        lines = ["server:",
                 "    listen: 127.0.0.1@%d" % self.port,
                 "    workers: 1",
                 "    storage: %s" % storage,
                 "zone:",
                 "    name: %s" % ORIGIN.rstrip("."),
                 "    file: %s" % self.zonefile]
        lines += ["    " + x for x in zone_lines]
        return "\n".join(lines) + "\n"

    def axfr_supported(self):
        """Whether this tandemd takes allow-transfer: (older builds have
        no AXFR out): asks `tandemd -t` once per binary."""
        b = self.binary()
        if b not in Tandemd._axfr_known:
            path = os.path.join(self.workdir, "axfr-probe.conf")
            with open(path, "w") as f:
                f.write(self.config_text([self.AXFR_LINE]).replace(
                    self.zonefile, "/dev/null"))
            out = run_text([b, "-t", "-c", path])
            Tandemd._axfr_known[b] = "allow-transfer" not in out
        return Tandemd._axfr_known[b]

    def write_config(self):
        extra = list(self.args.tandemd_zone_option)
        if self.axfr_supported():
            extra.insert(0, self.AXFR_LINE)
        self.confpath = os.path.join(self.workdir, "tandemd.conf")
        with open(self.confpath, "w") as f:
            f.write(self.config_text(extra))

    def command(self):
        return [self.binary(), "-c", self.confpath]

    def version(self):
        return run_text([self.binary(), "-V"])


class Nsd(Server):
    name = "nsd"

    def binary(self):
        return "/usr/sbin/nsd"

    def write_config(self):
        w = self.workdir
        lines = [
            "server:",
            "    ip-address: 127.0.0.1@%d" % self.port,
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
            "    rrl-ratelimit: 0",
            "    rrl-whitelist-ratelimit: 0",
            "remote-control:",
            "    control-enable: no",
            "zone:",
            "    name: \"%s\"" % ORIGIN,
            "    zonefile: \"%s\"" % self.zonefile,
            "    provide-xfr: 127.0.0.1 NOKEY",
        ]
        self.confpath = os.path.join(w, "nsd.conf")
        with open(self.confpath, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        return [self.binary(), "-d", "-c", self.confpath]

    def version(self):
        return run_text([self.binary(), "-v"]).splitlines()[0]


class Knot(Server):
    name = "knot"

    def binary(self):
        return "/usr/sbin/knotd"

    def write_config(self):
        w = self.workdir
        os.makedirs(os.path.join(w, "db"), exist_ok=True)

        def q(s):
            return "\"%s\"" % s
        lines = [
            "server:",
            "    rundir: %s" % q(w),
            "    pidfile: %s" % q(os.path.join(w, "knot.pid")),
            "    listen: 127.0.0.1@%d" % self.port,
            "    udp-workers: 1",
            "    tcp-workers: 1",
            "    background-workers: 1",
            "control:",
            "    listen: %s" % q(os.path.join(w, "knot.sock")),
            "database:",
            "    storage: %s" % q(os.path.join(w, "db")),
            "log:",
            "  - target: stderr",
            "    any: info",
            "acl:",
            "  - id: local-xfr",
            "    address: 127.0.0.1",
            "    action: transfer",
            "template:",
            "  - id: default",
            "    storage: %s" % q(w),
            "    zonefile-load: whole",
            "    zonefile-sync: -1",
            "    journal-content: none",
            "    semantic-checks: off",
            "zone:",
            "  - domain: %s" % q(ORIGIN),
            "    file: %s" % q(self.zonefile),
            "    acl: local-xfr",
        ]
        self.confpath = os.path.join(w, "knot.conf")
        with open(self.confpath, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        return [self.binary(), "-c", self.confpath]

    def version(self):
        return run_text([self.binary(), "-V"])


SERVER_CLASSES = {"tandemd": Tandemd, "nsd": Nsd, "knot": Knot}


# --- measurements ----------------------------------------------------------

def run_text(cmd, timeout=30):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return p.stdout.decode("utf-8", "replace").strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "error: %s" % e


def client_cmd(args, cmd):
    return ["taskset", "-c", str(args.client_cpu)] + cmd


def parse_dnsperf(text):
    r = {}
    m = re.search(r"Queries sent:\s+(\d+)", text)
    r["sent"] = int(m.group(1)) if m else None
    m = re.search(r"Queries completed:\s+(\d+)", text)
    r["completed"] = int(m.group(1)) if m else None
    m = re.search(r"Queries lost:\s+(\d+)", text)
    r["lost"] = int(m.group(1)) if m else None
    m = re.search(r"Queries per second:\s+([\d.]+)", text)
    r["qps"] = float(m.group(1)) if m else None
    m = re.search(r"Run time \(s\):\s+([\d.]+)", text)
    r["runtime"] = float(m.group(1)) if m else None
    m = re.search(r"Response codes:\s+(.*)", text)
    codes = {}
    if m:
        for name, n in re.findall(r"([A-Z]+) (\d+) \(", m.group(1)):
            codes[name] = int(n)
    r["rcodes"] = codes
    return r


def dnsperf_throughput(srv, args, qfile):
    """dnsperf at full speed; server CPU from /proc over the run."""
    cmd = client_cmd(args, ["dnsperf", "-s", "127.0.0.1", "-p",
                            str(srv.port), "-d", qfile, "-l",
                            str(args.duration), "-c", str(args.clients),
                            "-q", str(args.outstanding), "-t", "2"])
    pids = srv.refresh_pids()
    (u0, k0), t0 = cpu_split(pids), time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=args.duration + 60)
    (u1, k1), t1 = cpu_split(pids), time.monotonic()
    cpu0, cpu1 = u0 + k0, u1 + k1
    out = p.stdout.decode("utf-8", "replace")
    r = parse_dnsperf(out)
    if r["completed"] is None:
        raise RuntimeError("dnsperf failed:\n" + out[-2000:])
    r["server_cpu_s"] = cpu1 - cpu0
    r["wall_s"] = t1 - t0
    r["answered_per_cpu_s"] = (r["completed"] / r["server_cpu_s"]
                               if r["server_cpu_s"] > 0 else None)
    # Where that CPU went: the server's own code (user) and the kernel
    # (syscalls, and on loopback the delivery of each response into the
    # client's socket, done in the sender's context).
    if r["completed"]:
        r["user_us_per_query"] = 1e6 * (u1 - u0) / r["completed"]
        r["kernel_us_per_query"] = 1e6 * (k1 - k0) / r["completed"]
    r["loss_pct"] = 100.0 * r["lost"] / r["sent"] if r["sent"] else None
    return r


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    k = (len(sorted_vals) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def dnsperf_latency(srv, args, qfile):
    """dnsperf at a fixed rate, -v: one line per query with its latency."""
    cmd = client_cmd(args, ["dnsperf", "-s", "127.0.0.1", "-p",
                            str(srv.port), "-d", qfile, "-l",
                            str(args.latency_duration), "-Q",
                            str(args.rate), "-q", "1000", "-t", "1", "-v"])
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=args.latency_duration + 60)
    out = p.stdout.decode("utf-8", "replace")
    lat = []
    for m in re.finditer(r"^> [A-Z]+ \S+ \S+ ([\d.]+)$", out, re.M):
        lat.append(float(m.group(1)))
    lat.sort()
    r = parse_dnsperf(out)
    r["p50_us"] = percentile(lat, 50) * 1e6 if lat else None
    r["p99_us"] = percentile(lat, 99) * 1e6 if lat else None
    r["max_us"] = lat[-1] * 1e6 if lat else None
    r["samples"] = len(lat)
    return r


def axfr(srv, args):
    rc = axfr_probe(srv.port, ORIGIN)
    if rc != "NOERROR":
        return {"status": rc}
    cmd = client_cmd(args, ["dig", "@127.0.0.1", "-p", str(srv.port),
                            ORIGIN, "AXFR", "+noall", "+stats", "+time=60",
                            "+tries=1"])
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=600)
    elapsed = time.monotonic() - t0
    out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"XFR size: (\d+) records \(messages (\d+), bytes (\d+)\)",
                  out)
    if p.returncode != 0 or not m or "Transfer failed" in out:
        return {"status": "failed", "output": out[-500:]}
    return {"status": "NOERROR", "seconds": elapsed,
            "records": int(m.group(1)), "messages": int(m.group(2)),
            "bytes": int(m.group(3))}


def read_queries(qfile, n):
    out = []
    with open(qfile) as f:
        for line in f:
            name, qtype = line.split()
            out.append((name, qtype))
            if len(out) == n:
                break
    return out


# --- callgrind ---------------------------------------------------------------
#
# Two ways to isolate the instructions of the replay:
#  "dump"     every process of the server can be reached by vgdb (threads
#             of one process: tandemd, Knot): callgrind_control dumps (and
#             zeroes) the counters at the first SOA answer, after the replay
#             and after an idle period as long as the replay.
#  "two-run"  the server answers from forked children (NSD), which vgdb
#             cannot reach and which inherit their parent's counters: one
#             run with the replay, one idle run as long, each started fresh
#             and stopped; the difference of the final totals.

def callgrind_functions(path):
    """{(object, file, function): exclusive Ir} of one callgrind dump.
    The cost line after a calls= line is the inclusive cost of that call
    and is skipped (callgrind_annotate counts the call costs of the frames
    still active at a mid-run dump as their own)."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    cur = {"ob": "?", "fl": "?", "fn": "?"}
    costs = {}
    skip_next = False
    total = 0

    def name_of(kind, val):
        m = re.match(r"\((\d+)\)(?: (.*))?$", val)
        if not m:
            return val
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            return m.group(2)
        return names[kind].get(m.group(1), "?")

    with open(path, errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    ir = int(parts[1])
                    key = (cur["ob"], cur["fl"], cur["fn"])
                    costs[key] = costs.get(key, 0) + ir
                    total += ir
                continue
            key, _, val = line.rstrip("\n").partition("=")
            if key in ("ob", "fl", "fn"):
                cur[key] = name_of(key, val)
            elif key in ("cob", "cfi", "cfl"):
                name_of("ob" if key == "cob" else "fl", val)
            elif key == "cfn":
                name_of("fn", val)
            elif key in ("fi", "fe"):
                name_of("fl", val)  # inlined code: still the same function
            elif key == "calls":
                skip_next = True
    return costs


def profile(files_plus, files_minus=()):
    """Exclusive Ir per function summed over files_plus, minus files_minus
    (the idle baseline)."""
    acc = {}
    for sign, files in ((1, files_plus), (-1, files_minus)):
        for p in files:
            for k, v in callgrind_functions(p).items():
                acc[k] = acc.get(k, 0) + sign * v
    return acc


def top_functions(prof, n, per=1):
    total = sum(prof.values()) or 1
    out = []
    for (ob, fl, fn), ir in sorted(prof.items(), key=lambda kv: -kv[1])[:n]:
        out.append({"function": fn, "file": fl, "object":
                    os.path.basename(ob), "ir": ir,
                    "ir_per_query": ir / per, "pct": 100.0 * ir / total})
    return out


def callgrind_total(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    return 0


def vgdb_pids():
    out = run_text(["vgdb", "-l"], timeout=30)
    return {int(m) for m in re.findall(r"--pid=(\d+)", out)}


def callgrind_dump(pids, outdir, part):
    """Dump (and zero) the counters of every process; return the sum of
    the Ir in the new dump files and their paths."""
    for p in pids:
        run_text(["callgrind_control", "-d", str(p)], timeout=120)
    total, files = 0, []
    for p in pids:
        path = os.path.join(outdir, "callgrind.out.%d.%d" % (p, part))
        for _ in range(200):
            if os.path.exists(path) and os.path.getsize(path) > 0:
                break
            time.sleep(0.05)
        if os.path.exists(path):
            total += callgrind_total(path)
            files.append(path)
    return total, files


VALGRIND = ["valgrind", "--tool=callgrind", "--vgdb=yes"]


def callgrind_start(cls, wd, zonefile, args):
    os.makedirs(wd, exist_ok=True)
    srv = cls(wd, zonefile, args)
    wrapper = VALGRIND + ["--callgrind-out-file=%s/callgrind.out.%%p" % wd]
    t = srv.start(args.callgrind_start_timeout, wrapper, probe_interval=0.25)
    srv.settle(args.callgrind_start_timeout)
    return srv, t


def final_files(wd):
    return [os.path.join(wd, f) for f in os.listdir(wd)
            if re.fullmatch(r"callgrind\.out\.\d+", f)]


def callgrind_run(cls, workroot, zonefile, args, queries):
    try:
        return callgrind_measure(cls, workroot, zonefile, args, queries)
    except Exception as e:  # report it, go on with the other servers
        return {"error": "%s: %s" % (type(e).__name__, e)}


def callgrind_measure(cls, workroot, zonefile, args, queries):
    """Ir per answered query of the replay, Ir of start + zone load, and
    the top functions of the replay."""
    res = {}
    wd = os.path.join(workroot, "callgrind")
    try:
        srv, res["start_to_soa_s"] = callgrind_start(cls, wd, zonefile, args)
    except StartFailed as e:
        return {"error": str(e)}
    stop_timeout = args.callgrind_start_timeout
    try:
        pids = srv.refresh_pids()
        res["method"] = "dump" if set(pids) <= vgdb_pids() else "two-run"
        if res["method"] == "dump":
            res["load_ir"], _ = callgrind_dump(pids, wd, 1)
        answers, t_replay = replay(srv.port, queries, 5.0,
                                   time.monotonic() + args.callgrind_timeout)
        res["answered"] = answered = sum(1 for a in answers if a is not None)
        res["replay_s"] = t_replay
        if srv.proc.poll() is not None:
            return dict(res, error="%s died during the replay\n%s"
                        % (cls.name, srv.log_tail()))
        if res["method"] == "dump":
            res["replay_ir"], files = callgrind_dump(pids, wd, 2)
            time.sleep(t_replay)
            res["idle_ir"], idle_files = callgrind_dump(pids, wd, 3)
    finally:
        srv.stop(timeout=stop_timeout)
    if res["method"] == "two-run":
        files = final_files(wd)
        res["replay_ir"] = sum(callgrind_total(p) for p in files)
        wd_idle = os.path.join(workroot, "callgrind-idle")
        try:
            srv, _ = callgrind_start(cls, wd_idle, zonefile, args)
        except StartFailed as e:
            return dict(res, error="idle run: " + str(e))
        try:
            time.sleep(t_replay)
        finally:
            srv.stop(timeout=stop_timeout)
        idle_files = final_files(wd_idle)
        res["idle_ir"] = sum(callgrind_total(p) for p in idle_files)
        # each process counts what its parents did before fork(): the
        # largest total is close to (and at most) the whole start + load
        res["load_ir"] = max((callgrind_total(p) for p in idle_files),
                             default=None)
        res["load_ir_note"] = "largest per-process total of the idle run"
    res["ir_per_query"] = ((res["replay_ir"] - res["idle_ir"]) / answered
                           if answered else None)
    res["top"] = top_functions(profile(files, idle_files), 30,
                               max(answered, 1))
    return res


# --- report ----------------------------------------------------------------

def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, kind):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if kind == "int":
        return "{:,.0f}".format(v)
    if kind == "pct":
        return "%.2f %%" % v
    if kind == "s":
        return "%.3f s" % v
    if kind == "us":
        return "%.0f µs" % v
    if kind == "us2":
        return "%.2f µs" % v
    if kind == "mb":
        return "%.1f MB" % (v / 1e6)
    if kind == "ms":
        return "%.1f ms" % (v * 1e3)
    return str(v)


ROWS = [
    # key, label, kind
    ("answered_per_cpu_s", "answered queries / server CPU-second (higher is better)", "int"),
    ("user_us_per_query", "server user-space CPU per answered query", "us2"),
    ("kernel_us_per_query", "server kernel CPU per answered query", "us2"),
    ("qps", "raw qps, dnsperf", "int"),
    ("loss_pct", "loss (dnsperf)", "pct"),
    ("cpu_pct", "server CPU during the run", "pct"),
    ("p50_us", "latency p50 @ fixed rate", "us"),
    ("p99_us", "latency p99 @ fixed rate", "us"),
    ("rss", "RSS after load", "mb"),
    ("pss", "PSS after load", "mb"),
    ("start_to_soa_s", "start to first SOA", "s"),
    ("axfr_s", "AXFR of the whole zone (dig)", "s"),
    ("ir_per_query", "callgrind Ir per query", "int"),
    ("load_ir", "callgrind Ir start + zone load", "int"),
]


def summarize(size_res, servers):
    """Medians per server and metric."""
    summ = {}
    for name in servers:
        reps = [r for r in size_res["runs"].get(name, []) if "error" not in r]
        s = {}
        for key in ("answered_per_cpu_s", "user_us_per_query",
                    "kernel_us_per_query", "qps", "loss_pct", "cpu_pct",
                    "p50_us", "p99_us", "rss", "pss", "start_to_soa_s"):
            s[key] = median([r.get(key) for r in reps])
        ax = [r["axfr"] for r in reps if "axfr" in r]
        ok = [a["seconds"] for a in ax if a.get("status") == "NOERROR"]
        if ok:
            s["axfr_s"] = median(ok)
            s["axfr_records"] = ax[0].get("records")
        elif ax:
            s["axfr_s"] = "n/a (%s)" % ax[0].get("status")
        else:
            s["axfr_s"] = None
        cg = size_res.get("callgrind", {}).get(name, {})
        s["ir_per_query"] = cg.get("ir_per_query")
        s["load_ir"] = cg.get("load_ir")
        s["reps_ok"] = len(reps)
        s["errors"] = [r["error"] for r in size_res["runs"].get(name, [])
                       if "error" in r]
        summ[name] = s
    return summ


def ratio(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        return "%.2f×" % (a / b)
    return "—"


def args_top(results):
    return results["args"].get("top", 20)


def markdown(results, servers):
    m = results["machine"]
    out = ["# tandem benchmark",
           "",
           "%s — %s, %d cores (%s), Linux %s; mode split: server on CPU %d, "
           "dnsperf on CPU %d; 1 worker; %d repetitions interleaved, medians."
           % (results["date"], m["hostname"], m["nproc"], m["cpu_model"],
              m["kernel"], results["args"]["server_cpu"],
              results["args"]["client_cpu"], results["args"]["reps"]),
           "",
           "Versions: " + "; ".join("%s: %s" % (k, v) for k, v in
                                    results["versions"].items()),
           "",
           "Command: `%s`" % results["command"],
           ""]
    for size, sr in results["sizes"].items():
        summ = sr["summary"]
        out.append("## %s zone (%s names, %s RRs in the AXFR)"
                   % (size, "{:,}".format(sr["names"]),
                      fmt(next((summ[s].get("axfr_records") for s in servers
                                if summ[s].get("axfr_records")), None),
                          "int")))
        out.append("")
        cols = list(servers)
        hdr = "| metric | " + " | ".join(cols) + " |"
        has_ratio = "tandemd" in servers
        others = [s for s in ("knot", "nsd") if s in servers]
        if has_ratio:
            hdr += "".join(" tandemd/%s |" % o for o in others)
        out.append(hdr)
        out.append("|" + "---|" * (1 + len(cols) +
                                    (len(others) if has_ratio else 0)))
        for key, label, kind in ROWS:
            if key in ("p50_us", "p99_us"):
                label += " (%d qps)" % results["args"]["rate"]
            row = "| %s | " % label + " | ".join(
                fmt(summ[s].get(key), kind) for s in cols) + " |"
            if has_ratio:
                row += "".join(" %s |" % ratio(summ["tandemd"].get(key),
                                              summ[o].get(key))
                               for o in others)
            out.append(row)
        out.append("")
        cgs = sr.get("callgrind", {})
        if any(c.get("ir_per_query") for c in cgs.values()):
            out.append("Ir per query: %d queries replayed one at a time "
                       "(each answer awaited), idle baseline of the same "
                       "length subtracted; %s." % (
                           results["args"]["replay"],
                           "; ".join("%s: %s" % (s, cgs[s].get("method"))
                                     for s in cols
                                     if cgs.get(s, {}).get("method"))))
            for s in cols:
                if cgs.get(s, {}).get("load_ir_note"):
                    out.append("%s's start + load Ir: %s." % (
                        s, cgs[s]["load_ir_note"]))
            out.append("")
        mix = sr.get("rcode_mix", {})
        if mix:
            out.append("Answer rcodes of the first %d queries (Python replay):"
                       % results["args"]["replay"])
            out.append("")
            for s in cols:
                if s in mix:
                    tot = sum(mix[s].values()) or 1
                    out.append("- %s: %s" % (s, ", ".join(
                        "%s %d (%.1f %%)" % (k, v, 100.0 * v / tot)
                        for k, v in sorted(mix[s].items()))))
            out.append("")
        mm = sr.get("rcode_mismatch")
        if mm:
            out.append("**RCODE MISMATCH: %d of %d queries differ between "
                       "servers.** First ones:" % (mm["count"], mm["total"]))
            out.append("")
            for ex in mm["examples"]:
                out.append("- `%s %s`: %s" % (ex["query"], ex["type"], ", ".join(
                    "%s %s" % (k, v) for k, v in ex["rcodes"].items())))
            out.append("")
        elif mix:
            out.append("All servers agree on the rcode of every query.")
            out.append("")
        for o, d in sorted(sr.get("shape_diff", {}).items()):
            if d["count"]:
                ex = d["examples"][0]
                out.append("- same rcode, other AA flag or answer/authority "
                           "counts than %s: %d queries (e.g. `%s`: tandemd "
                           "aa/an/ns %s, %s %s)"
                           % (o, d["count"], ex["query"],
                              "/".join(str(int(x)) for x in
                                       ex["tandemd aa/an/ns"]), o,
                              "/".join(str(int(x)) for x in
                                       ex["%s aa/an/ns" % o])))
        if any(d["count"] for d in sr.get("shape_diff", {}).values()):
            out.append("")
        for s in cols:
            for e in summ[s]["errors"]:
                lines = [x.strip() for x in e.splitlines() if x.strip()
                         and not x.strip().startswith("==")]
                out.append("- **%s failed**: %s" % (s, " — ".join(
                    lines[:1] + lines[-1:] if len(lines) > 1 else lines)))
        notes = sr.get("notes", [])
        for n in notes:
            out.append("- note: %s" % n)
        if notes or any(summ[s]["errors"] for s in cols):
            out.append("")
        cg = sr.get("callgrind", {}).get("tandemd", {})
        if cg.get("top"):
            out.append("tandemd under callgrind: top functions by exclusive "
                       "Ir over the replay of %d queries (idle baseline "
                       "subtracted):" % cg["answered"])
            out.append("")
            out.append("| Ir/query | % | function | file |")
            out.append("|---:|---:|---|---|")
            for t in cg["top"][:args_top(results)]:
                out.append("| {:,.0f} | {:.1f} | `{}` | {} |".format(
                    t["ir_per_query"], t["pct"], t["function"],
                    os.path.relpath(t["file"], REPO)
                    if t["file"].startswith(REPO) else
                    "%s (%s)" % (os.path.basename(t["file"]), t["object"])))
            out.append("")
    return "\n".join(out) + "\n"


# --- main --------------------------------------------------------------------

def machine_info():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"hostname": platform.node(), "nproc": os.cpu_count(),
            "cpu_model": model, "kernel": platform.release(),
            "loadavg_start": os.getloadavg()}


def git_rev(build_dir):
    """Commit of the tree tandemd was built from (the source directory in
    the build's CMakeCache.txt), "-dirty" if its C sources differ."""
    src = REPO
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_HOME_DIRECTORY:"):
                    src = line.split("=", 1)[1].strip()
    except OSError:
        pass
    rev = run_text(["git", "-C", src, "rev-parse", "--short", "HEAD"])
    if rev.startswith("error") or "fatal" in rev:
        return "unknown (%s)" % src
    dirty = run_text(["git", "-C", src, "status", "--porcelain", "--",
                      "dns", "zonedb", "xfr", "server"])
    return "%s%s (%s)" % (rev, "-dirty" if dirty else "", src)


def gen_files(size, names, workroot, args):
    zonefile = os.path.join(workroot, "%s.zone" % size)
    qfile = os.path.join(workroot, "%s.queries" % size)
    t0 = time.monotonic()
    with open(zonefile, "w") as f:
        gen_zone.write_zone(ORIGIN, names, f)
    nq = args.query_count or min(max(100_000, names), 1_000_000)
    with open(qfile, "w") as f:
        gen_zone.write_queries(ORIGIN, names, nq, f)
    log("%s: zone %s (%.1f MB) and %d queries written in %.1f s"
        % (size, zonefile, os.path.getsize(zonefile) / 1e6, nq,
           time.monotonic() - t0))
    return zonefile, qfile


def one_run(cls, wd, zonefile, qfile, args, do_axfr=True):
    srv = cls(wd, zonefile, args)
    r = {}
    try:
        r["start_to_soa_s"] = srv.start(args.start_timeout)
    except StartFailed as e:
        return {"error": str(e)}
    try:
        r["settle_s"] = srv.settle(args.start_timeout)
        r["threads_off_core_at_start"] = off_cpu_threads(
            srv.refresh_pids(), args.server_cpu)
        r["threads"] = sum(len(os.listdir("/proc/%d/task" % p))
                           for p in srv.pids if os.path.exists("/proc/%d" % p))
        r["unpinned_threads"] = srv.pin()
        r["rss_start"], r["pss_start"] = memory(srv.pids)
        tp = dnsperf_throughput(srv, args, qfile)
        r["throughput"] = tp
        r["qps"] = tp["qps"]
        r["loss_pct"] = tp["loss_pct"]
        r["answered_per_cpu_s"] = tp["answered_per_cpu_s"]
        r["user_us_per_query"] = tp.get("user_us_per_query")
        r["kernel_us_per_query"] = tp.get("kernel_us_per_query")
        r["cpu_pct"] = 100.0 * tp["server_cpu_s"] / tp["wall_s"]
        srv.pin()
        lt = dnsperf_latency(srv, args, qfile)
        r["latency"] = lt
        r["p50_us"], r["p99_us"] = lt["p50_us"], lt["p99_us"]
        r["rss"], r["pss"] = memory(srv.refresh_pids())
        if do_axfr:
            r["axfr"] = axfr(srv, args)
        if srv.proc.poll() is not None:
            raise RuntimeError("died during the run")
    except Exception as e:  # report it, go on with the other servers
        r["error"] = "%s: %s: %s\n%s" % (cls.name, type(e).__name__, e,
                                         srv.log_tail())
    finally:
        rc = srv.stop()
        r["exit_status"] = rc
    return r


def rcode_check(cls, wd, zonefile, args, queries):
    srv = cls(wd, zonefile, args)
    try:
        srv.start(args.start_timeout)
    except StartFailed as e:
        return None, str(e)
    try:
        srv.pin()
        answers, _ = replay(srv.port, queries, 2.0,
                            time.monotonic() + 120)
    except Exception as e:  # report it, go on with the other servers
        return None, "%s: %s" % (type(e).__name__, e)
    finally:
        srv.stop()
    return answers, None


def compare_rcodes(answers, queries):
    names = [s for s in answers if answers[s] is not None]
    mix = {}
    for s in names:
        c = {}
        for a in answers[s]:
            k = "timeout" if a is None else RCODES.get(a[0], str(a[0]))
            c[k] = c.get(k, 0) + 1
        mix[s] = c
    diff, examples = 0, []
    for i, q in enumerate(queries):
        codes = {s: ("timeout" if answers[s][i] is None
                     else RCODES.get(answers[s][i][0], str(answers[s][i][0])))
                 for s in names}
        if len(set(codes.values())) > 1:
            diff += 1
            if len(examples) < 10:
                examples.append({"query": q[0], "type": q[1],
                                 "rcodes": codes})
    mismatch = ({"count": diff, "total": len(queries), "examples": examples}
                if diff else None)
    # informational: same rcode but other AA flag or answer/authority counts
    shape = {}
    if "tandemd" in names:
        for o in names:
            if o == "tandemd":
                continue
            n, ex = 0, []
            for i, q in enumerate(queries):
                a, b = answers["tandemd"][i], answers[o][i]
                if a and b and a[0] == b[0] and a[1:4] != b[1:4]:
                    n += 1
                    if len(ex) < 5:
                        ex.append({"query": "%s %s" % q,
                                   "tandemd aa/an/ns": a[1:4],
                                   "%s aa/an/ns" % o: b[1:4]})
            shape[o] = {"count": n, "examples": ex}
    return mix, mismatch, shape


def bench_size(size, names, servers, workroot, args):
    sr = {"names": names, "runs": {s: [] for s in servers}, "notes": []}
    zonefile, qfile = gen_files(size, names, workroot, args)
    queries = read_queries(qfile, args.replay)

    # rcode agreement, query by query
    answers = {}
    for s in servers:
        log("%s: %s rcode replay of %d queries" % (size, s, len(queries)))
        a, err = rcode_check(SERVER_CLASSES[s],
                             os.path.join(workroot, size, s, "rcodes"),
                             zonefile, args, queries)
        if err:
            log("%s: %s FAILED to start: %s" % (size, s, err))
        answers[s] = a
    sr["rcode_mix"], sr["rcode_mismatch"], sr["shape_diff"] = \
        compare_rcodes(answers, queries)
    if sr["rcode_mismatch"]:
        mm = sr["rcode_mismatch"]
        log("!" * 70)
        log("RCODE MISMATCH on %s zone: %d of %d queries differ, e.g. %s"
            % (size, mm["count"], mm["total"], mm["examples"][:3]))
        log("!" * 70)

    # interleaved repetitions
    for rep in range(args.reps):
        if time.monotonic() > args.deadline and rep >= 1:
            sr["notes"].append("time limit reached: %d of %d repetitions"
                               % (rep, args.reps))
            log("time limit reached after %d repetitions" % rep)
            break
        for s in servers:
            log("%s: rep %d/%d %s" % (size, rep + 1, args.reps, s))
            wd = os.path.join(workroot, size, s, "rep%d" % rep)
            r = one_run(SERVER_CLASSES[s], wd, zonefile, qfile, args)
            if "error" in r:
                log("%s: %s rep %d FAILED: %s" % (size, s, rep + 1,
                                                 r["error"]))
            else:
                log("%s: %s: %.0f answered/CPU-s, %.0f qps, loss %.2f %%, "
                    "CPU %.0f %%, p50 %s µs p99 %s µs, PSS %.1f MB, "
                    "SOA after %.3f s, AXFR %s"
                    % (size, s, r["answered_per_cpu_s"] or 0, r["qps"] or 0,
                       r["loss_pct"] or 0, r["cpu_pct"],
                       fmt(r["p50_us"], "int"), fmt(r["p99_us"], "int"),
                       r["pss"] / 1e6, r["start_to_soa_s"],
                       r.get("axfr", {}).get("seconds",
                                             r.get("axfr", {}).get("status"))))
                if r["threads_off_core_at_start"] and rep == 0:
                    sr["notes"].append(
                        "%s: %d of its %d threads had left CPU %d by the first "
                        "SOA answer (its own affinity); re-pinned"
                        % (s, r["threads_off_core_at_start"], r["threads"],
                           args.server_cpu))
                if r["unpinned_threads"]:
                    sr["notes"].append("%s rep %d: %d threads could not be "
                                       "pinned" % (s, rep + 1,
                                                   r["unpinned_threads"]))
                if r["exit_status"] not in (0, None):
                    sr["notes"].append("%s rep %d: exit status %s after "
                                       "SIGTERM" % (s, rep + 1,
                                                    r["exit_status"]))
            sr["runs"][s].append(r)

    # callgrind
    sr["callgrind"] = {}
    if not args.no_callgrind:
        for s in servers:
            if time.monotonic() > args.deadline:
                sr["notes"].append("time limit reached: %s not run under "
                                   "callgrind" % s)
                log("time limit reached: %s not run under callgrind" % s)
                continue
            log("%s: %s under callgrind, %d queries" % (size, s,
                                                         len(queries)))
            cg = callgrind_run(SERVER_CLASSES[s],
                               os.path.join(workroot, size, s), zonefile,
                               args, queries)
            if "error" in cg:
                log("%s: %s under callgrind FAILED: %s" % (size, s,
                                                          cg["error"]))
                sr["notes"].append("%s under callgrind failed: %s"
                                   % (s, cg["error"].splitlines()[0]))
            else:
                log("%s: %s: %s Ir/query (%d answered), load %s Ir"
                    % (size, s, fmt(cg["ir_per_query"], "int"),
                       cg["answered"], fmt(cg["load_ir"], "int")))
                if cg["answered"] < len(queries):
                    sr["notes"].append("%s under callgrind: %d of %d queries "
                                       "unanswered" % (s, len(queries) -
                                                       cg["answered"],
                                                       len(queries)))
            sr["callgrind"][s] = cg
    sr["summary"] = summarize(sr, servers)
    counts = {s: sr["summary"][s].get("axfr_records") for s in servers
              if sr["summary"][s].get("axfr_records")}
    if len(set(counts.values())) > 1:
        sr["notes"].append("AXFR record counts differ: %s" % ", ".join(
            "%s %d" % kv for kv in counts.items()))
        log("AXFR record counts differ: %s" % counts)
    return sr


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="tandemd vs NSD vs Knot, side by side (tests/bench)")
    ap.add_argument("--sizes", default="10k",
                    help="comma-separated zone sizes: %s (default 10k)"
                    % ", ".join(SIZES))
    ap.add_argument("--servers", default=",".join(SERVER_NAMES))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10,
                    help="seconds of each full-speed dnsperf run")
    ap.add_argument("--latency-duration", type=int, default=5,
                    help="seconds of each fixed-rate dnsperf run")
    ap.add_argument("--rate", type=int, default=10000,
                    help="queries per second of the fixed-rate run")
    ap.add_argument("--clients", type=int, default=8,
                    help="dnsperf -c (client sockets)")
    ap.add_argument("--outstanding", type=int, default=100,
                    help="dnsperf -q (queries in flight)")
    ap.add_argument("--replay", type=int, default=20000,
                    help="queries of the rcode check and the callgrind "
                    "replay")
    ap.add_argument("--query-count", type=int, default=0,
                    help="lines of the dnsperf query file (default: the "
                    "number of names, at least 100k, at most 1M)")
    ap.add_argument("--report", metavar="JSON",
                    help="print the Markdown table of an earlier run's JSON "
                    "file and exit")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--top", type=int, default=20,
                    help="functions of tandemd's profile in the report")
    ap.add_argument("--callgrind-timeout", type=int, default=300,
                    help="bound on the callgrind replay, seconds")
    ap.add_argument("--start-timeout", type=float, default=0,
                    help="seconds to wait for the first SOA (default: 30, "
                    "300 for zones of 1M names)")
    ap.add_argument("--callgrind-start-timeout", type=float, default=0,
                    help="the same under callgrind (default: 120, 3600 for "
                    "1M)")
    ap.add_argument("--time-limit", type=int, default=0,
                    help="seconds per zone size after which no further "
                    "repetition or callgrind run starts (default: 840, "
                    "7200 for 1M)")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    ap.add_argument("--out", default="",
                    help="directory for results (default BUILD/bench)")
    ap.add_argument("--workdir", default="",
                    help="scratch directory (default: a temp dir, removed)")
    ap.add_argument("--tandemd-zone-option", action="append", default=[],
                    metavar="LINE",
                    help="extra 'key: value' line for tandemd's zone: "
                    "clause (e.g. to allow AXFR once tandemd has it)")
    args = ap.parse_args(argv)
    args.build_dir = os.path.abspath(args.build_dir)
    args.out = os.path.abspath(args.out or os.path.join(args.build_dir,
                                                        "bench"))
    return args


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if args.report:
        with open(args.report) as f:
            results = json.load(f)
        print(markdown(results, results["servers"]))
        return 0
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    for s in sizes:
        if s not in SIZES:
            sys.exit("run.py: unknown size %r (known: %s)" % (s, ", ".join(SIZES)))
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    for s in servers:
        if s not in SERVER_CLASSES:
            sys.exit("run.py: unknown server %r" % s)
    ncpu = os.cpu_count()
    if max(args.server_cpu, args.client_cpu) >= ncpu or \
            args.server_cpu == args.client_cpu:
        sys.exit("run.py: need two distinct CPUs < %d for the split mode"
                 % ncpu)
    for tool in ("dnsperf", "dig", "taskset"):
        if not shutil.which(tool):
            sys.exit("run.py: %s not found (Debian: dnsperf, dnsutils, "
                     "util-linux)" % tool)
    if not args.no_callgrind and not (shutil.which("valgrind") and
                                      shutil.which("callgrind_control") and
                                      shutil.which("vgdb")):
        log("valgrind not found (Debian: valgrind): no callgrind figures")
        args.no_callgrind = True

    # this script, dnsperf and dig stay off the server's core
    os.sched_setaffinity(0, {args.client_cpu})

    workroot = args.workdir or tempfile.mkdtemp(prefix="tandem-bench-")
    os.makedirs(workroot, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)

    avail = []
    probe = os.path.join(workroot, "probe")
    for s in servers:
        srv = SERVER_CLASSES[s](probe, "/dev/null", args)
        if srv.available():
            avail.append(s)
        else:
            log("%s: %s not found or not executable: skipped"
                % (s, srv.binary()))
    versions = {s: SERVER_CLASSES[s](probe, "/dev/null", args).version()
                for s in avail}
    versions["tandem commit"] = git_rev(args.build_dir)
    versions["dnsperf"] = (re.search(r"Version (\S+)",
                                     run_text(["dnsperf", "-h"])) or
                           re.search("(.*)", "?")).group(1)
    versions["valgrind"] = run_text(["valgrind", "--version"])

    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["/usr/bin/python3",
                             os.path.relpath(os.path.abspath(__file__), REPO)]
                            + (argv if argv is not None else sys.argv[1:])),
        "machine": machine_info(),
        "versions": versions,
        "args": vars(args),
        "servers": avail,
        "sizes": {},
    }
    t0 = time.monotonic()
    try:
        for size in sizes:
            names = SIZES[size]
            big = names >= 1_000_000
            size_args = argparse.Namespace(**vars(args))
            size_args.start_timeout = args.start_timeout or \
                (300.0 if big else 30.0)
            size_args.callgrind_start_timeout = \
                args.callgrind_start_timeout or (3600.0 if big else 120.0)
            size_args.deadline = time.monotonic() + (
                args.time_limit or (7200 if big else 840))
            results["sizes"][size] = bench_size(size, names, avail, workroot,
                                                size_args)
    finally:
        results["machine"]["loadavg_end"] = os.getloadavg()
        results["elapsed_s"] = time.monotonic() - t0
        if not args.workdir:
            shutil.rmtree(workroot, ignore_errors=True)
    md = markdown(results, avail)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(args.out, "bench-%s.json" % stamp), "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(os.path.join(args.out, "bench-%s.md" % stamp), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "latest.md"), "w") as f:
        f.write(md)
    print(md)
    log("results in %s (bench-%s.{md,json}), %.0f s"
        % (args.out, stamp, results["elapsed_s"]))
    mism = [s for s, sr in results["sizes"].items() if sr["rcode_mismatch"]]
    if mism:
        log("RCODE MISMATCH between servers on: %s" % ", ".join(mism))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
