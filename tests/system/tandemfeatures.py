"""Which of the features of issues 4-6 the tandemd under test has.

The control socket, TSIG, transfers out and in, and NOTIFY are being
built while these tests are written.  A test that needs one calls
need(name) (conftest fixture `tandem_features`) and is SKIPPED, with the
reason, until the feature answers; the moment it does, the test runs.
Each probe tries the simplest form of the feature once per session, on
a tandemd of its own:

    keys        `tandemd -t` accepts a key: clause and `... key NAME`
    control     the control socket answers `status` with ok
    tandemctl   BUILD/tools/tandemctl exists
    keygen      BUILD/tools/tandem-keygen exists
    axfr_out    an unsigned AXFR is served where allow-transfer says
                `key NONE`
    tsig        a TSIG-signed AXFR is answered signed
    notify_out  a NOTIFY reaches a `notify:` target after start-up
    ixfr_out    after a reload with a new serial, IXFR from the old serial
                is incremental
    xfr_in      a secondary zone is transferred in from fakeprimary.py

Set TANDEM_REQUIRE_FEATURES=1 (or a comma-separated list of names) to
make a missing feature FAIL instead of skip, once they have all landed.
"""

import os
import re
import socket
import subprocess

import dns.rcode

import replication
from replication import (Acl, EditableZone, FakePrimary, Key, Remote,
                         TandemdNode, ZoneConf)

ALL = ("keys", "control", "tandemctl", "keygen", "axfr_out", "tsig",
       "notify_out", "ixfr_out", "xfr_in")


class Features:
    def __init__(self, build_dir, workdir):
        self.build_dir = build_dir
        self.workdir = str(workdir)
        self.results = None         # name -> (bool, reason)

    def get(self, name):
        if self.results is None:
            self.results = self._probe()
        return self.results[name]

    def have(self, name):
        return self.get(name)[0]

    def summary(self):
        if self.results is None:
            return []
        return ["%-10s %s" % (k, "yes" if v[0] else "no: " + v[1])
                for k, v in sorted(self.results.items())]

    # -----------------------------------------------------------------
    def _probe(self):
        res = {}
        tandemd = TandemdNode.binary(self.build_dir)
        for tool, name in (("tandemctl", "tandemctl"),
                           ("tandem-keygen", "keygen")):
            path = TandemdNode.tools(self.build_dir, tool)
            res[name] = (os.access(path, os.X_OK),
                         "%s not built yet (%s)" % (tool, path))
        if not os.access(tandemd, os.X_OK):
            for n in ALL:
                res.setdefault(n, (False, "tandemd not built yet"))
            return res
        key = Key.generate("probe.key")
        w = self.workdir
        zp = EditableZone(os.path.join(w, "zones", "probe.com.zone"),
                          "probe.com", hosts=5)
        zp.write(1)
        zk = EditableZone(os.path.join(w, "zones", "probe.org.zone"),
                          "probe.org", hosts=5)
        zk.write(1)
        # a UDP socket to receive tandemd's NOTIFY
        nsock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        nsock.bind(("127.0.0.1", 0))
        nport = nsock.getsockname()[1]
        prim = TandemdNode(
            os.path.join(w, "primary"), self.build_dir,
            [ZoneConf("probe.com", "primary", file=zp.path,
                      allow_transfer=[Acl(None)],
                      notify=[Remote(nport, None)]),
             ZoneConf("probe.org", "primary", file=zk.path,
                      allow_transfer=[Acl(key)])],
            keys=[key])
        # keys: the config check
        prim.write_config()
        p = subprocess.run([tandemd, "-t", "-c", prim.confpath],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        res["keys"] = (p.returncode == 0,
                       "tandemd -t rejects key: / allow-transfer: / notify: "
                       "(%s)" % _first_line(p.stdout))
        primary_feats = ("control", "notify_out", "axfr_out", "tsig",
                         "ixfr_out")
        if not res["keys"][0]:
            # the rest without the key: clause
            prim.zconfs = prim.zconfs[:1]
            prim.keys = {}
        try:
            prim.start()
        except AssertionError as e:
            for n in primary_feats:
                res[n] = (False, "tandemd does not start with a primary "
                                 "zone with notify:/allow-transfer: (%s)"
                          % _first_error(e))
            prim = None
        if prim is not None:
            try:
                self._probe_primary(res, prim, key, zp, nsock)
            finally:
                prim.stop(check=False)
        nsock.close()
        fp = FakePrimary(os.path.join(w, "fp"), "probe.net")
        sec = TandemdNode(
            os.path.join(w, "secondary"), self.build_dir,
            [ZoneConf("probe.net", "secondary", primaries=[Remote(fp.port)],
                      allow_notify=[Acl(None)])],
            timers={"refresh-min": 1, "retry-min": 1})
        try:
            fp.start()
            sec.start()
        except AssertionError as e:
            res["xfr_in"] = (False, "tandemd does not start with a secondary "
                                    "zone (%s)" % _first_error(e))
            sec.stop(check=False)
            fp.stop(check=False)
            return res
        try:
            replication.wait_until(
                lambda: replication.soa_serial(sec.port, "probe.net") == 1,
                5, 0.1, "secondary zone")
            res["xfr_in"] = (True, "")
        except AssertionError:
            res["xfr_in"] = (False, "a secondary zone is not transferred in "
                                    "within 5 s (SOA answered rcode %s)" %
                             replication.soa_rcode(sec.port, "probe.net"))
        finally:
            sec.stop(check=False)
            fp.stop(check=False)
        return res

    def _probe_primary(self, res, node, key, zp, nsock):
        # control
        try:
            replication.wait_until(node.has_control, 3, 0.1,
                                   "control socket")
            res["control"] = (True, "")
        except AssertionError:
            res["control"] = (False, "no control socket answering `status` "
                                     "at %s" % node.ctl_path)
        # NOTIFY out at start-up
        nsock.settimeout(3)
        try:
            data, _ = nsock.recvfrom(65535)
            opcode = (data[2] >> 3) & 15 if len(data) > 3 else None
            res["notify_out"] = (opcode == 4, "a datagram that is not a "
                                              "NOTIFY arrived")
        except socket.timeout:
            res["notify_out"] = (False, "no NOTIFY to a notify: target "
                                        "within 3 s of start-up")
        # AXFR out, unsigned
        try:
            rcode, msgs, rrs = replication.transfer(node.port, "probe.com",
                                                    "AXFR", timeout=5)
            res["axfr_out"] = (rcode == dns.rcode.NOERROR and len(rrs) > 2,
                               "AXFR with allow-transfer key NONE answered "
                               "%s" % dns.rcode.to_text(rcode))
        except (AssertionError, OSError) as e:
            res["axfr_out"] = (False, "AXFR not served: %s" % _first_error(e))
        # TSIG
        if not node.keys:
            res["tsig"] = (False, "needs key:")
        else:
            try:
                rcode, msgs, rrs = replication.transfer(
                    node.port, "probe.org", "AXFR", key=key, timeout=5)
                res["tsig"] = (rcode == dns.rcode.NOERROR and
                               msgs[0].had_tsig,
                               "signed AXFR answered %s%s" % (
                                   dns.rcode.to_text(rcode),
                                   "" if msgs[0].had_tsig else ", unsigned"))
            except (AssertionError, OSError) as e:
                res["tsig"] = (False, "signed AXFR not served: %s"
                               % _first_error(e))
        # IXFR out: reload with a new serial (control socket or SIGHUP)
        res["ixfr_out"] = (False, "needs AXFR out")
        if res["axfr_out"][0]:
            try:
                zp.write(2)
                node.reload("probe.com")
                replication.wait_until(
                    lambda: replication.soa_serial(node.port,
                                                   "probe.com") == 2,
                    5, what="reloaded serial 2")
                rcode, msgs, rrs = replication.transfer(
                    node.port, "probe.com", "IXFR", serial=1, timeout=5)
                inc = rcode == dns.rcode.NOERROR and \
                    replication.ixfr_is_incremental(rrs, "probe.com")
                res["ixfr_out"] = (inc, "IXFR from serial 1 after a reload "
                                        "to 2 is not incremental")
            except (AssertionError, OSError) as e:
                res["ixfr_out"] = (False, "IXFR after a reload: %s"
                                   % _first_error(e))


def _first_line(out):
    text = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[0][-200:] if lines else ""


def _first_error(e):
    """The first line of a server log that looks like an error, else the
    first line of the exception."""
    text = str(e)
    for l in text.splitlines():
        if re.search(r"error|unknown|: \d+: |cannot|bad ", l, re.I) and \
                "----" not in l:
            return l.strip()[-200:]
    return _first_line(text)


def required():
    v = os.environ.get("TANDEM_REQUIRE_FEATURES", "")
    if v in ("1", "all", "yes"):
        return set(ALL)
    return {x.strip() for x in v.split(",") if x.strip()}

