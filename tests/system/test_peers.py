"""The peers alone: BIND, NSD and Knot replicating to each other with
hmac-sha256 TSIG, on loopback, configured by replication.py.

These prove the peer configurations and the helpers that the tandemd
interop tests (test_primary.py, test_secondary.py) stand on: if one of
these fails, a failure there says nothing about tandemd.  Each peer is a
primary once and a secondary once:

    named -> knot,   nsd -> named,   knot -> nsd
"""

import time

import dns.opcode
import dns.rcode
import pytest

from replication import (Acl, EditableZone, FakePrimary, Key, PEER_CLASSES,
                         Remote, send_notify,
                         ZoneConf, XfrError, axfr_size, axfr_view, diff_views,
                         ixfr_is_incremental, peer_installed, replace_key,
                         soa_serial, transfer, wait_serial)
import servers

PAIRS = [("named", "knot"), ("nsd", "named"), ("knot", "nsd")]
ZONE = "example.com"


def _need(*names):
    for n in names:
        if not peer_installed(n):
            pytest.skip("%s is not installed" % n)


class Pair:
    """A primary peer and a secondary peer of one zone, both with key."""

    def __init__(self, tmp_path, prim_name, sec_name, key, **zone_kw):
        self.key = key
        self.zone = EditableZone(tmp_path / "p" / "zones" / "example.com.zone",
                                 ZONE, **zone_kw)
        self.zone.write(1)
        pport, sport = servers.free_port(), servers.free_port()
        self.prim = PEER_CLASSES[prim_name](
            tmp_path / "p",
            [ZoneConf(ZONE, "primary", file=self.zone.path,
                      notify=[Remote(sport, key)],
                      allow_transfer=[Acl(key)])], keys=[key], port=pport)
        self.sec = PEER_CLASSES[sec_name](
            tmp_path / "s",
            [ZoneConf(ZONE, "secondary", primaries=[Remote(pport, key)],
                      allow_notify=[Acl(key)], allow_transfer=[Acl(key)])],
            keys=[key], port=sport)

    def stop(self):
        servers.stop_all((self.sec, self.prim))


@pytest.fixture
def pair(request, tmp_path):
    made = []

    def make(prim_name, sec_name, key, **kw):
        _need(prim_name, sec_name)
        p = Pair(tmp_path, prim_name, sec_name, key, **kw)
        made.append(p)
        p.prim.start()
        p.sec.start()
        return p
    yield make
    for p in made:
        p.stop()


@pytest.mark.parametrize("prim_name,sec_name", PAIRS,
                         ids=["%s-to-%s" % p for p in PAIRS])
def test_peer_pair_axfr_notify_ixfr(pair, prim_name, sec_name):
    key = Key.generate()
    p = pair(prim_name, sec_name, key)
    # initial AXFR: the exact zone
    wait_serial(p.sec, ZONE, 1, timeout=10)
    want = p.zone.view()
    got = axfr_view(p.sec.port, ZONE, key)
    assert got == want, diff_views(got, want)
    assert axfr_view(p.prim.port, ZONE, key) == want
    full_rrs, full_bytes = axfr_size(p.prim.port, ZONE, key)

    # edit + reload -> NOTIFY -> the secondary serves serial 2 within 5 s
    mark_p, mark_s = p.prim.log_mark(), p.sec.log_mark()
    p.zone.bump()
    p.prim.reload(ZONE)
    took = wait_serial(p.sec, ZONE, 2, timeout=5)
    want = p.zone.view()
    got = axfr_view(p.sec.port, ZONE, key)
    assert got == want, diff_views(got, want)
    print("%s -> %s: serial 2 served %.2fs after the reload"
          % (prim_name, sec_name, took))

    # ...by IXFR: the secondary's log and the primary's
    ok, ev = p.sec.ixfr_in_proof(ZONE, 2, full_rrs, full_bytes, mark_s)
    assert ok, "%s: no proof of IXFR in: %s\n%s" % (sec_name, ev,
                                                     p.sec.log_tail())
    ok, ev = p.prim.ixfr_out_proof(ZONE, 2, mark_p)
    assert ok, "%s: no proof of IXFR out: %s\n%s" % (prim_name, ev,
                                                      p.prim.log_tail())

    # the primary's IXFR from 1, signed, every message verified
    rcode, msgs, rrs = transfer(p.prim.port, ZONE, "IXFR", key=key, serial=1)
    assert rcode == dns.rcode.NOERROR
    assert ixfr_is_incremental(rrs, ZONE), rrs[:3]


@pytest.mark.parametrize("prim_name", ["named", "nsd", "knot"])
def test_peer_primary_refuses_unsigned_and_wrong_key(pair, prim_name):
    """allow-transfer names a key: an unsigned AXFR is refused (named and
    NSD: REFUSED; Knot: NOTAUTH), a wrong secret gets BADSIG."""
    sec_name = {"named": "knot", "nsd": "named", "knot": "nsd"}[prim_name]
    key = Key.generate()
    p = pair(prim_name, sec_name, key)
    rcode, msgs, rrs = transfer(p.prim.port, ZONE, "AXFR")
    assert rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH), \
        dns.rcode.to_text(rcode)
    assert not rrs
    with pytest.raises(XfrError, match="PeerBadSignature|BADSIG"):
        transfer(p.prim.port, ZONE, "AXFR", key=key.wrong())


@pytest.mark.parametrize("prim_name,sec_name", PAIRS,
                         ids=["%s-to-%s" % p for p in PAIRS])
def test_peer_secondary_wrong_secret_keeps_old_copy(pair, prim_name,
                                                    sec_name):
    """The secondary gets serial 1, is restarted with a wrong secret: it
    serves its stored serial 1 at once, the primary refuses it (BADSIG),
    and it keeps serving serial 1 after serial 2 appears."""
    key = Key.generate()
    p = pair(prim_name, sec_name, key)
    wait_serial(p.sec, ZONE, 1, timeout=10)
    if sec_name == "nsd":
        time.sleep(1.2)         # NSD writes its copy every second
    replace_key(p.sec, key.wrong())
    p.sec.restart()
    assert soa_serial(p.sec.port, ZONE) == 1, p.sec.log_tail()
    mark = p.prim.log_mark()
    p.zone.bump()
    p.prim.reload(ZONE)
    p.sec.refresh(ZONE)
    deadline = time.monotonic() + 2
    for _ in range(30):
        assert soa_serial(p.sec.port, ZONE) == 1
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    log = p.prim.log_text()[mark:]
    assert "BADSIG" in log or "bad tsig" in log, \
        "%s did not log the refusal\n%s" % (prim_name, p.prim.log_tail())


@pytest.mark.parametrize("sec_name", ["named", "nsd", "knot"])
def test_fakeprimary_feeds_real_secondaries(tmp_path, sec_name):
    """fakeprimary.py (the scriptable primary of the fault tests) speaks
    correct DNS: each peer takes its AXFR and, after a NOTIFY, its IXFR."""
    _need(sec_name)
    zone = "example.net"
    fp = FakePrimary(tmp_path / "fp", zone, names=50).start()
    sec = PEER_CLASSES[sec_name](
        tmp_path / "s", [ZoneConf(zone, "secondary",
                                  primaries=[Remote(fp.port)],
                                  allow_notify=[Acl()],
                                  allow_transfer=[Acl()])])
    try:
        sec.start()
        wait_serial(sec, zone, 1, timeout=10)
        got = axfr_view(sec.port, zone)
        assert got == fp.view(), diff_views(got, fp.view())
        fp.set(serial=2)
        r = send_notify(sec.port, zone, serial=2)
        assert r is not None and r.rcode() == dns.rcode.NOERROR and \
            r.opcode() == dns.opcode.NOTIFY, r
        wait_serial(sec, zone, 2, timeout=5)
        # NSD answers the new SOA from one server process while another
        # may still serve the old zone for a moment: poll, bounded.
        deadline = time.monotonic() + 5
        got = axfr_view(sec.port, zone)
        while got != fp.view() and time.monotonic() < deadline:
            time.sleep(0.2)
            got = axfr_view(sec.port, zone)
        assert got == fp.view(), diff_views(got, fp.view())
        reqs = fp.requests()
        assert any("IXFR serial=1 incremental good 1 -> 2" in l
                   for l in reqs), reqs
    finally:
        sec.stop(check=True)
        fp.stop(check=True)
