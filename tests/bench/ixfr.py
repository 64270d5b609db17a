#!/usr/bin/python3
"""IXFR in, measured (issue 8): how long after the last message of a
1-record IXFR the new version is served, and tandemd's memory after many
of them against a fresh load of the same zone.

Knot is the primary of the generated zone (gen_zone.py); each round adds
one record with knotc zone-begin / zone-set / zone-commit (Knot raises
the serial and sends NOTIFY); tandemd, its secondary, takes the IXFR and
logs "served X ms after the last message". After the rounds tandemd's
RSS is read, then tandemd is restarted (it loads its stored copy and
replays its journal: a fresh load of the same zone) and its RSS read
again.

    /usr/bin/python3 tests/bench/ixfr.py --names 1000000 --rounds 1000

Prints the figures and exits 0; exits 1 when a round does not complete.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (the benchmark's helpers: ports, queries, memory)

ORIGIN = run.ORIGIN


def knot_conf(w, zonefile, port, notify_port):
    q = lambda s: '"%s"' % s  # noqa: E731
    return "\n".join([
        "server:",
        "    rundir: %s" % q(w),
        "    listen: 127.0.0.1@%d" % port,
        "control:",
        "    listen: %s" % q(os.path.join(w, "knot.sock")),
        "database:",
        "    storage: %s" % q(os.path.join(w, "db")),
        "log:",
        "  - target: stderr",
        "    any: info",
        "remote:",
        "  - id: sec",
        "    address: 127.0.0.1@%d" % notify_port,
        "acl:",
        "  - id: xfr",
        "    address: 127.0.0.1",
        "    action: transfer",
        "template:",
        "  - id: default",
        "    storage: %s" % q(w),
        "    zonefile-load: whole",
        "    zonefile-sync: -1",
        "    journal-content: changes",
        "    semantic-checks: off",
        "zone:",
        "  - domain: %s" % q(ORIGIN),
        "    file: %s" % q(zonefile),
        "    acl: xfr",
        "    notify: sec",
    ]) + "\n"


def tandemd_conf(w, port, primary_port):
    return "\n".join([
        "server:",
        "    listen: 127.0.0.1@%d" % port,
        "    workers: 1",
        "    storage: %s" % os.path.join(w, "storage"),
        "zone:",
        "    name: %s" % ORIGIN.rstrip("."),
        "    primary: 127.0.0.1@%d" % primary_port,
        "    allow-notify: 127.0.0.1",
    ]) + "\n"


def start(cmd, cwd, logpath):
    logf = open(logpath, "ab")
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=logf,
                         stderr=subprocess.STDOUT, start_new_session=True)
    logf.close()
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.01)
    raise SystemExit("timed out waiting for %s" % what)


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def status_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--names", type=int, default=1000000)
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--build-dir", default=os.path.join(HERE, "..", "..",
                                                         "build"))
    ap.add_argument("--workdir")
    args = ap.parse_args(argv)
    tandemd = os.path.join(os.path.abspath(args.build_dir), "server",
                           "tandemd")
    work = args.workdir or tempfile.mkdtemp(prefix="tandem-ixfr-")
    os.makedirs(work, exist_ok=True)
    procs = []
    try:
        zonefile = os.path.join(work, "zone")
        with open(zonefile, "w") as f:
            subprocess.run([sys.executable, os.path.join(HERE, "gen_zone.py"),
                            ORIGIN.rstrip("."), str(args.names)], stdout=f,
                           check=True)
        kw = os.path.join(work, "knot")
        tw = os.path.join(work, "tandemd")
        for d in (kw, os.path.join(kw, "db"), tw, os.path.join(tw, "storage")):
            os.makedirs(d, exist_ok=True)
        kport, tport = run.free_port(), run.free_port()
        with open(os.path.join(kw, "knot.conf"), "w") as f:
            f.write(knot_conf(kw, zonefile, kport, tport))
        with open(os.path.join(tw, "tandemd.conf"), "w") as f:
            f.write(tandemd_conf(tw, tport, kport))
        knot = start(["/usr/sbin/knotd", "-c", os.path.join(kw, "knot.conf")],
                     kw, os.path.join(kw, "log"))
        procs.append(knot)
        wait_for(lambda: run.soa_ok(run.udp_query(kport, ORIGIN, "SOA", 0.2)),
                 600, "Knot's first SOA")
        tlog = os.path.join(tw, "log")
        t = start([tandemd, "-c", os.path.join(tw, "tandemd.conf")], tw, tlog)
        procs.append(t)
        wait_for(lambda: "AXFR from" in read(tlog) and
                 "served" in read(tlog), 900, "tandemd's AXFR")
        time.sleep(2)
        rss_axfr = status_kb(t.pid, "VmRSS")
        knotc = ["knotc", "-s", os.path.join(kw, "knot.sock")]
        served = []
        for i in range(args.rounds):
            n = len(re.findall(r"served ([0-9.]+) ms", read(tlog)))
            for cmd in (["zone-begin", ORIGIN],
                        ["zone-set", ORIGIN, "ixfr%d" % i, "300", "A",
                         "192.0.2.%d" % (i % 250 + 1)],
                        ["zone-commit", ORIGIN]):
                r = subprocess.run(knotc + cmd, capture_output=True,
                                   text=True, timeout=60)
                if r.returncode != 0:
                    raise SystemExit("knotc %s: %s" % (cmd, r.stdout +
                                                       r.stderr))
            got = wait_for(lambda: re.findall(r"served ([0-9.]+) ms",
                                              read(tlog))[n:] or None, 30,
                           "IXFR round %d" % i)
            served.append(float(got[0]))
        time.sleep(1)
        rss_after = status_kb(t.pid, "VmRSS")
        hwm = status_kb(t.pid, "VmHWM")
        stop(t)
        procs.remove(t)
        t = start([tandemd, "-c", os.path.join(tw, "tandemd.conf")], tw, tlog)
        procs.append(t)
        wait_for(lambda: run.soa_ok(run.udp_query(tport, ORIGIN, "SOA", 0.2)),
                 600, "tandemd's restart")
        time.sleep(3)
        rss_fresh = status_kb(t.pid, "VmRSS")
        served.sort()
        pick = lambda p: served[min(len(served) - 1,  # noqa: E731
                                    int(p * len(served)))]
        print("zone: %d names; %d rounds of a 1-record IXFR (Knot primary)"
              % (args.names, args.rounds))
        print("served after the last message: median %.2f ms, p99 %.2f ms, "
              "max %.2f ms" % (pick(0.5), pick(0.99), served[-1]))
        print("RSS after the AXFR %d KiB, after the IXFRs %d KiB (peak %d "
              "KiB), after a restart (fresh load) %d KiB: %.3fx fresh"
              % (rss_axfr, rss_after, hwm, rss_fresh, rss_after / rss_fresh))
        return 0
    finally:
        for p in procs:
            stop(p)
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
