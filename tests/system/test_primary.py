"""Issue 5: tandemd as the hidden primary of BIND, NSD and Knot
secondaries, with hmac-sha256 TSIG.

For each peer (named, nsd, knot):
- the initial AXFR brings the exact zone;
- an edit + reload (control socket, or SIGHUP) -> NOTIFY -> the peer
  serves the new serial within 5 s, and its AXFR equals ours
  (order-insensitive);
- the peer used IXFR: its own log (replication.*Peer.ixfr_in_proof,
  proven on the peers alone in test_peers.py) and tandemd's "IXFR to";
- the peer restarted with a wrong secret is refused (its refresh gets
  BADSIG, tandemd logs the peer and zone) and keeps serving its copy.

And, with dnspython as the client: unsigned AXFR/IXFR where the ACL
names a key -> REFUSED; a source the ACL does not name, and a zone
without allow-transfer -> REFUSED; AXFR over UDP refused; a signed AXFR of
a multi-message zone and an IXFR, every message signed and verified
(MACs chained); IXFR from the current serial -> one SOA; from a serial the
journal does not cover -> AXFR-style; wrong secret -> BADSIG, unknown key
-> BADKEY, clock off by an hour -> BADTIME (RFC 8945 5.2); NOTIFY out is
signed with the key the notify: line names.

Each test SKIPS until tandemd has the features it needs
(tandemfeatures.py).
"""

import re
import socket
import time

import dns.message
import dns.opcode
import dns.rcode
import dns.tsig
import pytest

from replication import (Acl, EditableZone, Key, PEER_CLASSES, Remote,
                         TandemdNode, ZoneConf, XfrError, axfr_size,
                         axfr_view, diff_views, ixfr_is_incremental,
                         peer_installed, replace_key, soa_serial, transfer,
                         view_of_axfr, wait_serial, wait_until)
import dnsclient
import servers

ZONE = "example.com"
PEERS = ["named", "nsd", "knot"]
PRIMARY_FEATURES = ("keys", "tsig", "axfr_out", "ixfr_out", "notify_out")


def _hidden_primary(tmp_path, build_dir, peer_name, key, started, **zkw):
    """tandemd primary of ZONE, notifying and allowing one peer secondary
    of that kind; returns (zone, tandemd, peer), both running, the peer
    holding serial 1."""
    if not peer_installed(peer_name):
        pytest.skip("%s is not installed" % peer_name)
    z = EditableZone(tmp_path / "t" / "zones" / "example.com.zone", ZONE,
                     **zkw)
    z.write(1)
    tport, sport = servers.free_port(), servers.free_port()
    t = TandemdNode(tmp_path / "t", build_dir,
                    [ZoneConf(ZONE, "primary", file=z.path,
                              notify=[Remote(sport, key)],
                              allow_transfer=[Acl(key)])],
                    keys=[key], port=tport)
    peer = PEER_CLASSES[peer_name](
        tmp_path / peer_name,
        [ZoneConf(ZONE, "secondary", primaries=[Remote(tport, key)],
                  allow_notify=[Acl(key)], allow_transfer=[Acl(key)])],
        keys=[key], port=sport)
    t.start()
    started.append(t)
    peer.start()
    started.append(peer)
    return z, t, peer


@pytest.mark.interop
@pytest.mark.parametrize("peer_name", PEERS)
def test_peer_secondary_axfr_notify_ixfr(tmp_path, build_dir, need, started,
                                         peer_name):
    need(*PRIMARY_FEATURES)
    key = Key.generate()
    z, t, peer = _hidden_primary(tmp_path, build_dir, peer_name, key,
                                 started)
    # initial AXFR: the exact zone
    wait_serial(peer, ZONE, 1, timeout=10)
    want = z.view()
    ours = axfr_view(t.port, ZONE, key)
    assert ours == want, diff_views(ours, want)
    got = axfr_view(peer.port, ZONE, key)
    assert got == want, diff_views(got, want)
    full_rrs, full_bytes = axfr_size(t.port, ZONE, key)

    # edit + reload -> NOTIFY -> new serial at the peer within 5 s
    mark_t, mark_p = t.log_mark(), peer.log_mark()
    z.bump()
    t0 = time.monotonic()
    t.reload(ZONE)
    took = wait_serial(peer, ZONE, 2, timeout=5)
    print("tandemd -> %s: serial 2 served %.2fs after `reload`"
          % (peer_name, time.monotonic() - t0))
    ours = axfr_view(t.port, ZONE, key)
    assert ours == z.view(), diff_views(ours, z.view())
    got = axfr_view(peer.port, ZONE, key)
    assert got == ours, diff_views(got, ours)
    assert took < 5

    # by IXFR: the peer's log, and ours
    ok, ev = peer.ixfr_in_proof(ZONE, 2, full_rrs, full_bytes, mark_p)
    assert ok, "%s did not take an IXFR: %s\n%s" % (peer_name, ev,
                                                    peer.log_tail())
    tlog = t.log_text()[mark_t:]
    assert re.search(r"IXFR to \S+", tlog), tlog


@pytest.mark.interop
@pytest.mark.parametrize("peer_name", PEERS)
def test_peer_with_wrong_secret_refused_keeps_copy(tmp_path, build_dir, need,
                                                   started, peer_name):
    need(*PRIMARY_FEATURES)
    key = Key.generate()
    z, t, peer = _hidden_primary(tmp_path, build_dir, peer_name, key,
                                 started)
    wait_serial(peer, ZONE, 1, timeout=10)
    if peer_name == "nsd":
        time.sleep(1.2)             # NSD writes its copy every second
    replace_key(peer, key.wrong())
    peer.restart()
    assert soa_serial(peer.port, ZONE) == 1, peer.log_tail()
    mark = t.log_mark()
    z.bump()
    t.reload(ZONE)
    peer.refresh(ZONE)
    deadline = time.monotonic() + 2
    for _ in range(30):
        assert soa_serial(peer.port, ZONE) == 1, \
            "%s got serial 2 with a wrong secret" % peer_name
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    # tandemd refused the peer's signed requests (not only our NOTIFY,
    # which the peer answered BADSIG)
    lines = [l for l in t.log_text()[mark:].splitlines()
             if "127.0.0.1" in l and "NOTIFY to" not in l and
             re.search(r"BADSIG|bad sig|signature", l, re.I)]
    assert lines, "tandemd did not log refusing the peer:\n" + \
        t.log_tail(30)


# ---------------------------------------------------------------- dnspython

@pytest.fixture
def primary(tmp_path, build_dir, need, started):
    """tandemd with:
      example.com  allow-transfer 127.0.0.1 key K (10000 hosts: several
                   messages per AXFR)
      open.test    allow-transfer 127.0.0.1 key NONE
      v6only.test  allow-transfer ::1 key K (we connect from 127.0.0.1)
      closed.test  no allow-transfer at all"""
    need("keys", "tsig", "axfr_out")
    key = Key.generate()
    zs = {
        ZONE: EditableZone(tmp_path / "zones" / "example.com.zone", ZONE,
                           hosts=10000),
        "open.test": EditableZone(tmp_path / "zones" / "open.zone",
                                  "open.test"),
        "v6only.test": EditableZone(tmp_path / "zones" / "v6only.zone",
                                    "v6only.test"),
        "closed.test": EditableZone(tmp_path / "zones" / "closed.zone",
                                    "closed.test"),
    }
    for z in zs.values():
        z.write(1)
    t = TandemdNode(tmp_path / "t", build_dir, [
        ZoneConf(ZONE, "primary", file=zs[ZONE].path,
                 allow_transfer=[Acl(key)]),
        ZoneConf("open.test", "primary", file=zs["open.test"].path,
                 allow_transfer=[Acl(None)]),
        ZoneConf("v6only.test", "primary", file=zs["v6only.test"].path,
                 allow_transfer=[Acl(key, "::1")]),
        ZoneConf("closed.test", "primary", file=zs["closed.test"].path),
    ], keys=[key]).start()
    started.append(t)
    t.key = key
    t.zs = zs
    return t


def test_unsigned_transfer_refused_when_acl_names_key(primary):
    for qtype in ("AXFR", "IXFR"):
        rcode, msgs, rrs = transfer(primary.port, ZONE, qtype, serial=1)
        assert rcode == dns.rcode.REFUSED, (qtype, dns.rcode.to_text(rcode))
        assert not rrs
    # the log names the peer and the zone
    lines = [l for l in primary.log_text().splitlines()
             if ZONE in l and "127.0.0.1" in l and re.search("refus|denied",
                                                             l, re.I)]
    assert lines, primary.log_tail(20)


def test_bad_signature_log_names_peer_and_zone(primary):
    """Issue 5: a refusal logs a line naming the peer and the zone, a bad
    signature too."""
    mark = primary.log_mark()
    with pytest.raises(XfrError, match="PeerBadSignature"):
        transfer(primary.port, ZONE, "AXFR", key=primary.key.wrong())
    lines = wait_until(
        lambda: [l for l in primary.log_text()[mark:].splitlines()
                 if "127.0.0.1" in l and ZONE in l and
                 re.search(r"sig|refus", l, re.I)],
        2, what="a log line naming peer and zone")
    print(lines[0])


def test_transfer_acl_source_and_missing_acl(primary):
    key = primary.key
    rcode, _, _ = transfer(primary.port, "v6only.test", "AXFR", key=key)
    assert rcode == dns.rcode.REFUSED, dns.rcode.to_text(rcode)
    for k in (None, key):
        rcode, _, _ = transfer(primary.port, "closed.test", "AXFR", key=k)
        assert rcode == dns.rcode.REFUSED, dns.rcode.to_text(rcode)
    # key NONE: unsigned allowed
    got = axfr_view(primary.port, "open.test")
    assert got == primary.zs["open.test"].view()


def test_axfr_over_udp_refused(primary):
    q = dns.message.make_query(ZONE, "AXFR")
    primary.key.sign(q)
    r = dnsclient.udp_exchange(q.to_wire(), primary.port)
    assert r is not None, "no answer to AXFR over UDP"
    m = dns.message.from_wire(r, keyring=primary.key.keyring(),
                              request_mac=q.mac)
    assert m.rcode() in (dns.rcode.REFUSED, dns.rcode.NOTIMP,
                         dns.rcode.FORMERR), dns.rcode.to_text(m.rcode())
    assert not m.answer


def test_signed_axfr_ixfr_every_message_verified(primary):
    key = primary.key
    z = primary.zs[ZONE]
    rcode, msgs, rrs = transfer(primary.port, ZONE, "AXFR", key=key)
    assert rcode == dns.rcode.NOERROR
    assert len(msgs) >= 2, "expected a multi-message AXFR, got %d" % len(msgs)
    assert all(m.had_tsig for m in msgs)
    assert max(m.wire_len for m in msgs) <= 65535
    assert view_of_axfr(rrs) == z.view()
    # up to date: one SOA
    rcode, msgs, rrs = transfer(primary.port, ZONE, "IXFR", key=key,
                                serial=1)
    assert rcode == dns.rcode.NOERROR
    assert len(rrs) == 1 and rrs[0][4].serial == 1
    # two edits -> IXFR from 1 is the deltas 1->2->3
    for serial in (2, 3):
        z.write(serial)
        primary.reload(ZONE)
        wait_serial(primary, ZONE, serial, timeout=10)
    rcode, msgs, rrs = transfer(primary.port, ZONE, "IXFR", key=key,
                                serial=1)
    assert rcode == dns.rcode.NOERROR
    assert ixfr_is_incremental(rrs, ZONE), rrs[:3]
    soas = [rd.serial for (n, _, _, t, rd) in rrs if t == 6]
    assert soas == [3, 1, 2, 2, 3, 3], soas
    assert all(m.had_tsig for m in msgs)
    rcode, msgs, rrs = transfer(primary.port, ZONE, "IXFR", key=key,
                                serial=2)
    soas = [rd.serial for (n, _, _, t, rd) in rrs if t == 6]
    assert soas == [3, 2, 3, 3], soas
    # a serial the journal does not cover: the whole zone, AXFR-style
    rcode, msgs, rrs = transfer(primary.port, ZONE, "IXFR", key=key,
                                serial=0)
    assert rcode == dns.rcode.NOERROR
    assert not ixfr_is_incremental(rrs, ZONE)
    assert view_of_axfr(rrs) == z.view()
    assert all(m.had_tsig for m in msgs)


def test_tsig_errors(primary):
    key = primary.key
    # wrong secret: NOTAUTH + BADSIG (the TSIG of the answer is unsigned)
    with pytest.raises(XfrError, match="PeerBadSignature"):
        transfer(primary.port, ZONE, "AXFR", key=key.wrong())
    # unknown key name
    with pytest.raises(XfrError, match="PeerBadKey"):
        transfer(primary.port, ZONE, "AXFR",
                 key=Key("unknown.key", key.secret))
    # the clock an hour off: BADTIME
    import dns.message as dm

    class Skewed:
        @staticmethod
        def time():
            return time.time() - 3600
    real = dm.time
    dm.time = Skewed
    try:
        q = dns.message.make_query(ZONE, "SOA")
        key.sign(q)
        wire = q.to_wire()
    finally:
        dm.time = real
    r = dnsclient.udp_exchange(wire, primary.port)
    assert r is not None
    with pytest.raises(dns.tsig.PeerBadTime):
        dns.message.from_wire(r, keyring=key.keyring(), request_mac=q.mac)
    # a signed ordinary query is answered signed
    q = dns.message.make_query(ZONE, "SOA")
    key.sign(q)
    r = dnsclient.udp_exchange(q.to_wire(), primary.port)
    m = dns.message.from_wire(r, keyring=key.keyring(), request_mac=q.mac)
    assert m.had_tsig and m.rcode() == dns.rcode.NOERROR


@pytest.mark.parametrize("algorithm", ["hmac-md5", "hmac-sha1",
                                       "hmac-sha224", "hmac-sha256",
                                       "hmac-sha384", "hmac-sha512"])
def test_tsig_algorithms_axfr(tmp_path, build_dir, need, started, algorithm):
    """Every algorithm of the issue, signed AXFR verified by dnspython."""
    need("keys", "tsig", "axfr_out")
    key = Key.generate("k-" + algorithm, algorithm)
    z = EditableZone(tmp_path / "zones" / "example.com.zone", ZONE)
    z.write(1)
    t = TandemdNode(tmp_path / "t", build_dir,
                    [ZoneConf(ZONE, "primary", file=z.path,
                              allow_transfer=[Acl(key)])],
                    keys=[key]).start()
    started.append(t)
    assert axfr_view(t.port, ZONE, key) == z.view()


def test_notify_out_signed_and_retried(tmp_path, build_dir, need, started):
    """NOTIFY to a notify: target with a key: signed with it; not
    acknowledged -> sent again (bounded); acknowledged -> no more."""
    need("keys", "tsig", "notify_out")
    key = Key.generate()
    z = EditableZone(tmp_path / "zones" / "example.com.zone", ZONE)
    z.write(1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    try:
        t = TandemdNode(tmp_path / "t", build_dir,
                        [ZoneConf(ZONE, "primary", file=z.path,
                                  notify=[Remote(port, key)])],
                        keys=[key]).start()
        started.append(t)
        sock.settimeout(10)
        got = []
        # the start-up NOTIFY, unanswered: it comes again
        for _ in range(2):
            data, addr = sock.recvfrom(65535)
            m = dns.message.from_wire(data, keyring=key.keyring())
            assert m.opcode() == dns.opcode.NOTIFY
            assert m.had_tsig
            assert str(m.question[0].name) == ZONE + "."
            got.append(m.id)
        # acknowledge the next one (signed); after that, a reload's NOTIFY
        data, addr = sock.recvfrom(65535)
        m = dns.message.from_wire(data, keyring=key.keyring())
        resp = dns.message.make_response(m)
        resp.set_opcode(dns.opcode.NOTIFY)
        key.sign(resp)
        sock.sendto(resp.to_wire(), addr)
        z.bump()
        t.reload(ZONE)
        deadline = time.monotonic() + 10
        for _ in range(50):
            data, addr = sock.recvfrom(65535)
            m = dns.message.from_wire(data, keyring=key.keyring())
            soa = [rs for rs in m.answer if rs.rdtype == 6]
            if soa and soa[0][0].serial == 2:
                break
            assert time.monotonic() < deadline, "no NOTIFY for serial 2"
        else:
            raise AssertionError("no NOTIFY for serial 2")
        assert m.had_tsig
    finally:
        sock.close()
