#!/usr/bin/python3
"""Reload under query load, measured (issue 8): tandemd's peak RSS during a
reload of the zone against its steady RSS, and the queries lost meanwhile.

tandemd loads the generated zone (gen_zone.py) with a control socket; its
RSS is read once it answers, then its high-water mark is reset (writing 5
to /proc/PID/clear_refs). dnsperf sends the benchmark's queries at a fixed
rate for a bounded time; a few seconds in, the zone file's serial is
raised and `tandemctl reload` run; once the new serial is served and
dnsperf has finished, the high-water mark and dnsperf's counts are read.

    /usr/bin/python3 tests/bench/reload.py --names 1000000

Prints the figures and exits 0; exits 1 when a query was lost or the new
serial was not served.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (the benchmark's helpers: ports, queries)
from ixfr import read, start, status_kb, stop, wait_for  # noqa: E402

ORIGIN = run.ORIGIN


def tandemd_conf(w, port):
    return "\n".join([
        "server:",
        "    listen: 127.0.0.1@%d" % port,
        "    workers: 1",
        "    storage: %s" % os.path.join(w, "storage"),
        "    control: %s" % os.path.join(w, "ctl.sock"),
        "zone:",
        "    name: %s" % ORIGIN.rstrip("."),
        "    file: %s" % os.path.join(w, "zone"),
    ]) + "\n"


def bump_serial(path):
    """Raises the SOA serial of the generated zone file by one; returns
    the new serial."""
    with open(path) as f:
        text = f.read()
    m = re.search(r"(\sSOA\s+\S+\s+\S+\s+)(\d+)", text)
    if m is None:
        raise SystemExit("no SOA in %s" % path)
    serial = int(m.group(2)) + 1
    with open(path + ".new", "w") as f:
        f.write(text[:m.start(2)] + str(serial) + text[m.end(2):])
    os.replace(path + ".new", path)
    return serial


def served_serial(port):
    """The SOA serial tandemd answers with, or None."""
    try:
        r = dns.query.udp(dns.message.make_query(ORIGIN, "SOA"),
                          "127.0.0.1", port=port, timeout=0.5)
    except (OSError, dns.exception.DNSException):
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--names", type=int, default=1000000)
    ap.add_argument("--qps", type=int, default=20000,
                    help="dnsperf's fixed rate during the reload")
    ap.add_argument("--seconds", type=int, default=25,
                    help="how long dnsperf runs (the reload starts 3 s in)")
    ap.add_argument("--build-dir", default=os.path.join(HERE, "..", "..",
                                                         "build"))
    ap.add_argument("--workdir")
    args = ap.parse_args(argv)
    build = os.path.abspath(args.build_dir)
    tandemd = os.path.join(build, "server", "tandemd")
    tandemctl = os.path.join(build, "tools", "tandemctl")
    work = args.workdir or tempfile.mkdtemp(prefix="tandem-reload-")
    os.makedirs(os.path.join(work, "storage"), exist_ok=True)
    procs = []
    try:
        zonefile = os.path.join(work, "zone")
        queries = os.path.join(work, "queries")
        gen = [sys.executable, os.path.join(HERE, "gen_zone.py")]
        with open(zonefile, "w") as f:
            subprocess.run(gen + [ORIGIN.rstrip("."), str(args.names)],
                           stdout=f, check=True)
        with open(queries, "w") as f:
            subprocess.run(gen + ["--queries", "100000", ORIGIN.rstrip("."),
                                  str(args.names)], stdout=f, check=True)
        port = run.free_port()
        conf = os.path.join(work, "tandemd.conf")
        with open(conf, "w") as f:
            f.write(tandemd_conf(work, port))
        log = os.path.join(work, "log")
        t = start([tandemd, "-c", conf], work, log)
        procs.append(t)
        old = wait_for(lambda: served_serial(port), 600, "the first SOA")
        time.sleep(2)
        steady = status_kb(t.pid, "VmRSS")
        with open("/proc/%d/clear_refs" % t.pid, "w") as f:
            f.write("5")  # VmHWM := VmRSS
        dnsperf = subprocess.Popen(
            ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", queries,
             "-l", str(args.seconds), "-Q", str(args.qps), "-t", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(dnsperf)
        time.sleep(3)
        new = bump_serial(zonefile)
        t0 = time.monotonic()
        r = subprocess.run([tandemctl, "-s", os.path.join(work, "ctl.sock"),
                            "reload", ORIGIN.rstrip(".")],
                           capture_output=True, text=True, timeout=300)
        took = time.monotonic() - t0
        if r.returncode != 0:
            raise SystemExit("tandemctl reload: %s" % (r.stdout + r.stderr))
        wait_for(lambda: served_serial(port) == new, 60, "serial %d" % new)
        out, _ = dnsperf.communicate(timeout=args.seconds + 60)
        procs.remove(dnsperf)
        peak = status_kb(t.pid, "VmHWM")
        after = status_kb(t.pid, "VmRSS")
        sent = re.search(r"Queries sent:\s+(\d+)", out)
        lost = re.search(r"Queries lost:\s+(\d+)", out)
        if sent is None or lost is None:
            raise SystemExit("dnsperf said:\n" + out)
        print("zone: %d names; reload from serial %d to %d under %d qps "
              "(tandemctl returned after %.2f s)"
              % (args.names, old, new, args.qps, took))
        print("RSS steady %d KiB, peak during the reload %d KiB (%.3fx), "
              "after %d KiB" % (steady, peak, peak / steady, after))
        print("queries: %s sent, %s lost" % (sent.group(1), lost.group(1)))
        if "reloaded, serial %d" % new not in read(log):
            print("tandemd did not log the reload")
            return 1
        return 0 if int(lost.group(1)) == 0 else 1
    finally:
        for p in procs:
            stop(p)
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
