"""Issue 6: tandemd as a (stealth) secondary of BIND, NSD, Knot and
tandemd primaries, and of a misbehaving primary (fakeprimary.py).

For each peer (named, nsd, knot) as primary, hmac-sha256:
- initial AXFR: the exact zone;
- an edit on the peer + its NOTIFY -> tandemd serves the new serial
  within 5 s with identical content, by IXFR (the peer's log says it
  served an IXFR, tandemd's says "IXFR from");
- tandemd restarted with a wrong key: the peer refuses it (BADSIG in the
  peer's log), tandemd keeps serving its stored copy.
tandem -> tandem -> tandem: the chain converges.
Faults (fakeprimary.py, its own process):
- the primary SIGKILLed in the middle of a 200,000-RR AXFR: the old
  version keeps serving; a later retry succeeds;
- the primary goes silent: tandemd retries, then answers SERVFAIL after
  the SOA expire (4 s); the primary back: the zone comes back;
- the expiry clock survives a restart;
- tandemd SIGKILLed right after a transfer, restarted with the primary
  down: the transferred serial is served at once;
- out-of-zone records, an AXFR whose SOAs differ: rejected, old copy
  kept, zonestatus last-error; IXFR deltas that do not chain or delete
  what does not exist, NOTIMP to IXFR: discarded, AXFR instead.
NOTIFY in: only from allow-notify with the right key; a burst coalesces.

Each test SKIPS until tandemd has the features it needs
(tandemfeatures.py).
"""

import os
import re
import time

import dns.rcode
import dns.zone
import pytest

from replication import (Acl, EditableZone, FakePrimary, Key, PEER_CLASSES,
                         Remote, TandemdNode, ZoneConf, axfr_view,
                         diff_views, peer_installed, replace_key, send_notify,
                         soa_rcode, soa_serial, wait_serial, wait_until)
import servers

ZONE = "example.net"
PEERS = ["named", "nsd", "knot"]
FEATURES = ("keys", "tsig", "xfr_in", "axfr_out")
TIMERS = {"refresh-min": 1, "retry-min": 1, "expire-min": 1}


def _secondary(tmp_path, build_dir, primaries, key=None, port=None,
               name="t", notify=(), **kw):
    """A tandemd secondary of ZONE (not started)."""
    return TandemdNode(
        tmp_path / name, build_dir,
        [ZoneConf(ZONE, "secondary", primaries=primaries,
                  allow_notify=[Acl(key)], allow_transfer=[Acl(key)],
                  notify=list(notify))],
        keys=[key] if key else [], port=port, timers=TIMERS, **kw)


def _view(node, key=None):
    return axfr_view(node.port, ZONE, key)


# ---------------------------------------------------------------- peers

def _peer_primary(tmp_path, build_dir, peer_name, key, started, **zkw):
    if not peer_installed(peer_name):
        pytest.skip("%s is not installed" % peer_name)
    z = EditableZone(tmp_path / peer_name / "zones" / "example.net.zone",
                     ZONE, **zkw)
    z.write(1)
    pport, tport = servers.free_port(), servers.free_port()
    peer = PEER_CLASSES[peer_name](
        tmp_path / peer_name,
        [ZoneConf(ZONE, "primary", file=z.path, notify=[Remote(tport, key)],
                  allow_transfer=[Acl(key)])], keys=[key], port=pport)
    t = _secondary(tmp_path, build_dir, [Remote(pport, key)], key, tport)
    peer.start()
    started.append(peer)
    t.start()
    started.append(t)
    wait_serial(t, ZONE, 1, timeout=10)
    return z, peer, t


@pytest.mark.interop
@pytest.mark.parametrize("peer_name", PEERS)
def test_secondary_of_peer_axfr_notify_ixfr(tmp_path, build_dir, need,
                                            started, peer_name):
    need(*FEATURES)
    key = Key.generate()
    z, peer, t = _peer_primary(tmp_path, build_dir, peer_name, key, started)
    got = _view(t, key)
    assert got == z.view(), diff_views(got, z.view())
    mark_t, mark_p = t.log_mark(), peer.log_mark()
    z.bump()
    t0 = time.monotonic()
    peer.reload(ZONE)               # the peer NOTIFYs tandemd
    took = wait_serial(t, ZONE, 2, timeout=5)
    print("%s -> tandemd: serial 2 served %.2fs after the peer's reload"
          % (peer_name, time.monotonic() - t0))
    got = _view(t, key)
    assert got == z.view(), diff_views(got, z.view())
    assert took < 5
    ok, ev = peer.ixfr_out_proof(ZONE, 2, mark_p)
    assert ok, "%s did not serve an IXFR: %s\n%s" % (peer_name, ev,
                                                     peer.log_tail())
    tlog = t.log_text()[mark_t:]
    assert re.search(r"IXFR from \S+", tlog), tlog
    if t.has_control():
        st = t.zonestatus(ZONE)
        assert st.get("role") == "secondary", st["_lines"]
        assert st.get("serial") == "2", st["_lines"]
        assert str(peer.port) in st.get("primary", ""), st["_lines"]
        for k in ("last-refresh", "next-refresh", "expires-at"):
            assert st.get(k), (k, st["_lines"])


@pytest.mark.interop
@pytest.mark.parametrize("peer_name", PEERS)
def test_secondary_wrong_key_refused_keeps_copy(tmp_path, build_dir, need,
                                                started, peer_name):
    need(*FEATURES)
    key = Key.generate()
    # short SOA timers: tandemd asks again by itself every ~2 s
    z, peer, t = _peer_primary(tmp_path, build_dir, peer_name, key, started,
                               refresh=2, retry=1)
    t.stop(check=True)
    replace_key(t, key.wrong())
    t.start()
    assert soa_serial(t.port, ZONE) == 1, t.log_tail()
    mark = peer.log_mark()
    z.bump()
    peer.reload(ZONE)
    # the refresh command, or else the SOA refresh timer (2 s)
    window = 4
    if t.has_control():
        t.ctl("refresh %s" % ZONE, check=False)
        window = 2
    deadline = time.monotonic() + window
    for _ in range(50):
        assert soa_serial(t.port, ZONE) == 1, "serial 2 with a wrong key"
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    log = peer.log_text()[mark:]
    assert re.search(r"BADSIG|bad tsig", log, re.I), \
        "%s did not refuse tandemd's signature\n%s" % (peer_name,
                                                        peer.log_tail())
    if t.has_control():
        st = t.zonestatus(ZONE)
        assert st.get("last-error") not in (None, "", "-"), st["_lines"]


def test_chain_tandem_tandem_tandem(tmp_path, build_dir, need, started):
    need(*FEATURES + ("notify_out",))
    key = Key.generate()
    pa, pb, pc = (servers.free_port() for _ in range(3))
    z = EditableZone(tmp_path / "a" / "zones" / "example.net.zone", ZONE)
    z.write(1)
    a = TandemdNode(tmp_path / "a", build_dir,
                    [ZoneConf(ZONE, "primary", file=z.path,
                              notify=[Remote(pb, key)],
                              allow_transfer=[Acl(key)])],
                    keys=[key], port=pa)
    b = _secondary(tmp_path, build_dir, [Remote(pa, key)], key, pb, "b",
                   notify=[Remote(pc, key)])
    c = _secondary(tmp_path, build_dir, [Remote(pb, key)], key, pc, "c")
    for n in (a, b, c):
        n.start()
        started.append(n)
    wait_serial(c, ZONE, 1, timeout=10)
    for serial in (2, 3):
        z.write(serial)
        t0 = time.monotonic()
        a.reload(ZONE)
        wait_serial(c, ZONE, serial, timeout=10)
        print("chain: serial %d at the tertiary %.2fs after the reload"
              % (serial, time.monotonic() - t0))
    va, vb, vc = _view(a, key), _view(b, key), _view(c, key)
    assert va == z.view(), diff_views(va, z.view())
    assert vb == va, diff_views(vb, va)
    assert vc == va, diff_views(vc, va)
    assert re.search(r"IXFR from", c.log_text()), c.log_tail()


# ---------------------------------------------------------------- faults

def _fake_and_secondary(tmp_path, build_dir, started, **state):
    fp = FakePrimary(tmp_path / "fp", ZONE, **state).start()
    started.append(fp)
    t = _secondary(tmp_path, build_dir, [Remote(fp.port)])
    t.start()
    started.append(t)
    wait_serial(t, ZONE, state.get("serial", 1), timeout=10)
    return fp, t


def _requests_after(fp, n):
    return fp.requests()[n:]


def test_primary_killed_mid_axfr(tmp_path, build_dir, need, started):
    need(*FEATURES)
    fp, t = _fake_and_secondary(tmp_path, build_dir, started, names=20,
                                retry=1)
    old = _view(t)
    assert old == fp.view()
    n = len(fp.requests())
    fp.set(serial=2, mode="slow", names=200000, per_message=500,
           pause_after=20)
    send_notify(t.port, ZONE, serial=2)
    wait_until(lambda: any(l.split(" ", 1)[1].startswith("paused")
                           for l in _requests_after(fp, n)),
               15, 0.05, "the transfer to stall")
    stalled = [l for l in _requests_after(fp, n)
               if " tcp AXFR full slow 2" in l]
    assert stalled, fp.requests()
    fp.kill9()                              # mid-transfer, by PID
    time.sleep(0.5)
    assert soa_serial(t.port, ZONE) == 1
    assert _view(t) == old
    # the primary back (same port), good: a retry brings serial 2, by a
    # full transfer again (IXFR answered AXFR-style: its deltas would not
    # describe the 200,000 new names)
    fp2 = FakePrimary(tmp_path / "fp2", ZONE, port=fp.port, serial=2,
                      names=200000, retry=1, per_message=500,
                      mode="axfr-only")
    fp2.start()
    started.append(fp2)
    wait_serial(t, ZONE, 2, timeout=30)
    for name, rcode in (("h0", 0), ("h199999", 0), ("s2", 0),
                        ("s1", dns.rcode.NXDOMAIN)):
        r = t.query("%s.%s" % (name, ZONE), "A")
        assert r.rcode == rcode, (name, r)


def test_primary_unreachable_then_servfail_after_expire(tmp_path, build_dir,
                                                       need, started):
    need(*FEATURES)
    EXPIRE = 4
    fp, t = _fake_and_secondary(tmp_path, build_dir, started, refresh=1,
                                retry=1, expire=EXPIRE)
    # refreshes happen (SOA checks every ~1 s)
    n = len(fp.requests())
    wait_until(lambda: sum(" SOA " in l for l in _requests_after(fp, n)) >= 2,
               6, 0.1, "two SOA refreshes")
    fp.set(mode="silent")
    t_silent = time.monotonic()
    n = len(fp.requests())
    wait_until(lambda: soa_rcode(t.port, ZONE) == dns.rcode.SERVFAIL,
               EXPIRE + 8, 0.1, "SERVFAIL after expire")
    el = time.monotonic() - t_silent
    print("expired %.1fs after the primary went silent (expire %d s)"
          % (el, EXPIRE))
    assert el >= EXPIRE - 2.5, "expired too early: %.1fs" % el
    tried = [l for l in _requests_after(fp, n) if "dropped" in l]
    assert len(tried) >= 2, "no retries: %s" % fp.requests()[-10:]
    assert t.query("h0." + ZONE, "A").rcode == dns.rcode.SERVFAIL
    if t.has_control():
        st = t.zonestatus(ZONE)
        assert "expire" in "\n".join(st["_lines"]).lower(), st["_lines"]
    # the primary back, with a new serial: the zone comes back
    fp.set(mode="good", serial=2)
    wait_serial(t, ZONE, 2, timeout=10)
    assert _view(t) == fp.view()


def test_expiry_clock_survives_restart(tmp_path, build_dir, need, started):
    need(*FEATURES)
    EXPIRE = 6
    fp, t = _fake_and_secondary(tmp_path, build_dir, started, refresh=1,
                                retry=1, expire=EXPIRE)
    fp.set(mode="silent")
    t_silent = time.monotonic()
    time.sleep(3)
    t.restart()
    assert soa_serial(t.port, ZONE) == 1      # stored copy, not expired yet
    wait_until(lambda: soa_rcode(t.port, ZONE) == dns.rcode.SERVFAIL,
               EXPIRE + 4, 0.1, "SERVFAIL after expire across a restart")
    el = time.monotonic() - t_silent
    # a restart that reset the clock would expire EXPIRE s after it
    assert el < 3 + EXPIRE - 0.5, \
        "expired %.1fs after silence: the restart reset the clock" % el


def test_sigkill_after_transfer_restart_serves_stored_copy(tmp_path,
                                                           build_dir, need,
                                                           started):
    need(*FEATURES)
    fp, t = _fake_and_secondary(tmp_path, build_dir, started)
    fp.set(serial=2)
    send_notify(t.port, ZONE, serial=2)
    wait_until(lambda: soa_serial(t.port, ZONE) == 2, 5, 0.005,
               "serial 2")
    t.kill9()                               # right after the transfer
    fp.stop(check=True)
    t0 = time.monotonic()
    t.start()
    first = soa_serial(t.port, ZONE)
    el = time.monotonic() - t0
    assert first == 2, "first answer after restart: serial %r\n%s" % (
        first, t.log_tail())
    print("restarted with the primary down: serial 2 served %.2fs after "
          "the start" % el)
    assert _view(t) == fp.view()
    # The stored copy (default: in storage:) is always a whole zone file,
    # of serial 1 or 2: a kill just after the transfer may come before the
    # copy is rewritten, the journal then carried serial 2 over the
    # restart. Once serving, tandemd brings the copy up to serial 2.
    def stored_serial():
        stored = [f for f in os.listdir(t.storage) if f.endswith(".zone")]
        assert stored, os.listdir(t.storage)
        z = dns.zone.from_file(os.path.join(t.storage, stored[0]), ZONE,
                               relativize=False)
        return z.get_rdataset(ZONE + ".", "SOA")[0].serial
    assert stored_serial() in (1, 2)
    wait_until(lambda: stored_serial() == 2, 10, 0.05,
               "the stored copy at serial 2")


@pytest.mark.parametrize("mode", ["out-of-zone", "soa-mismatch"])
def test_rogue_primary_rejected(tmp_path, build_dir, need, started, mode):
    need(*FEATURES)
    fp, t = _fake_and_secondary(tmp_path, build_dir, started)
    old = _view(t)
    n = len(fp.requests())
    fp.set(serial=2, mode=mode)
    send_notify(t.port, ZONE, serial=2)
    wait_until(lambda: any(" full %s 2" % mode in l
                           for l in _requests_after(fp, n)),
               5, 0.05, "the bad transfer")
    time.sleep(1)
    assert soa_serial(t.port, ZONE) == 1
    assert _view(t) == old
    assert t.query("evil.example.org", "A").rcode == dns.rcode.REFUSED
    if t.has_control():
        st = t.zonestatus(ZONE)
        assert st.get("last-error") not in (None, "", "-"), st["_lines"]
        print("%s: last-error: %s" % (mode, st.get("last-error")))
    # a good transfer afterwards
    fp.set(mode="good")
    send_notify(t.port, ZONE, serial=2)
    wait_serial(t, ZONE, 2, timeout=5)
    assert _view(t) == fp.view()


@pytest.mark.parametrize("mode", ["ixfr-gap", "ixfr-delete-missing",
                                  "notimp-ixfr", "axfr-only"])
def test_bad_ixfr_falls_back_to_axfr(tmp_path, build_dir, need, started,
                                     mode):
    """Deltas that do not chain from our serial or delete what we do not
    have are discarded (never applied), NOTIMP to IXFR too, and the zone
    is fetched by AXFR; an AXFR-style answer to IXFR is taken as is."""
    need(*FEATURES)
    fp, t = _fake_and_secondary(tmp_path, build_dir, started)
    n = len(fp.requests())
    fp.set(serial=2, mode=mode)
    send_notify(t.port, ZONE, serial=2)
    wait_serial(t, ZONE, 2, timeout=5)
    got = _view(t)
    want = fp.view()
    assert got == want, diff_views(got, want)
    reqs = _requests_after(fp, n)
    kinds = [l.split()[2] for l in reqs if l.split()[1] == "tcp"]
    assert kinds and kinds[0] == "IXFR", reqs
    if mode != "axfr-only":
        assert "AXFR" in kinds[1:], reqs


def test_notify_acl_and_burst(tmp_path, build_dir, need, started):
    """NOTIFY: unsigned or wrongly signed when allow-notify names a key ->
    refused, no SOA check; signed -> answered, SOA check; 20 at once ->
    a few SOA checks, not 20."""
    need(*FEATURES)
    key = Key.generate()
    fp = FakePrimary(tmp_path / "fp", ZONE).start()
    started.append(fp)
    t = _secondary(tmp_path, build_dir, [Remote(fp.port)], None)
    t.zconfs[0].allow_notify = [Acl(key)]
    t.keys[key.name] = key
    t.start()
    started.append(t)
    wait_serial(t, ZONE, 1, timeout=10)
    time.sleep(0.3)
    n = len(fp.requests())
    r = send_notify(t.port, ZONE, serial=2)
    assert r is not None and r.rcode() in (dns.rcode.REFUSED,
                                           dns.rcode.NOTAUTH), r
    try:
        r = send_notify(t.port, ZONE, serial=2, key=key.wrong())
        assert r is None or r.rcode() == dns.rcode.NOTAUTH, r
    except Exception as e:          # noqa: BLE001 -- dnspython's BADSIG
        assert "BadSignature" in type(e).__name__, e
    time.sleep(1)
    assert not [l for l in _requests_after(fp, n) if " SOA " in l], \
        fp.requests()
    r = send_notify(t.port, ZONE, serial=1, key=key)
    assert r is not None and r.rcode() == dns.rcode.NOERROR and r.had_tsig
    wait_until(lambda: [l for l in _requests_after(fp, n) if " SOA " in l],
               5, 0.05, "an SOA check after the NOTIFY")
    # a burst while an SOA check is in flight (the primary takes 1 s to
    # answer it): one more check at most, not one per NOTIFY
    time.sleep(0.5)
    fp.set(soa_delay=1.0)
    n = len(fp.requests())
    for _ in range(20):
        send_notify(t.port, ZONE, serial=1, key=key, timeout=1)
    time.sleep(2.5)
    checks = [l for l in _requests_after(fp, n) if " SOA " in l]
    print("20 NOTIFYs -> %d SOA checks" % len(checks))
    assert 1 <= len(checks) <= 3, checks


def test_refresh_and_retransfer_commands(tmp_path, build_dir, need, started):
    need(*FEATURES + ("control",))
    fp, t = _fake_and_secondary(tmp_path, build_dir, started)
    n = len(fp.requests())
    fp.set(serial=2)
    t.refresh(ZONE)
    wait_serial(t, ZONE, 2, timeout=5)
    assert any("IXFR serial=1 incremental" in l
               for l in _requests_after(fp, n)), fp.requests()
    n = len(fp.requests())
    t.retransfer(ZONE)
    wait_until(lambda: any(" tcp AXFR " in l
                           for l in _requests_after(fp, n)),
               5, 0.05, "an AXFR after retransfer")
    assert soa_serial(t.port, ZONE) == 2
    st = t.zonestatus(ZONE)
    assert st.get("role") == "secondary" and st.get("serial") == "2", \
        st["_lines"]
    assert str(fp.port) in st.get("primary", ""), st["_lines"]
