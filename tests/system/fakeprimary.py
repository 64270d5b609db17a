#!/usr/bin/python3
"""A scriptable primary for one zone, for the fault tests of a secondary:
well-behaved, hostile (out-of-zone records, SOA sequences that do not
close or chain), silent, or stalling in the middle of a large AXFR.

Run as a process of its own (so a test can SIGKILL it by PID mid-transfer):

    fakeprimary.py --port P --zone example.net --state STATE.json --log LOG

STATE.json is re-read for every request, so a test changes the primary's
behaviour by rewriting it (FakePrimary.set()).  Keys:

    serial      the zone's current serial (default 1)
    names       bulk A records h0..h{names-1} (default 20)
    mode        good            AXFR; IXFR incremental from any older serial
                axfr-only       IXFR answered AXFR-style
                notimp-ixfr     IXFR answered NOTIMP
                refuse          everything REFUSED
                silent          no answer on UDP, TCP closed at once
                out-of-zone     transfers carry one RR outside the zone
                soa-mismatch    AXFR's last SOA has another serial
                ixfr-gap        IXFR: one delta from client serial + 1
                ixfr-delete-missing  IXFR deletes an RR that does not exist
                slow            IXFR answered NOTIMP; AXFR stalls after
                                pause_after messages
    pause_after messages sent before a "slow" transfer stalls (default 3)
    per_message RRs per message (default 200)
    refresh, retry, expire, minimum  SOA timers (3600 600 1209600 60)
    soa_delay   seconds before an SOA answer over UDP leaves (default 0)

Zone content for serial S (the same shape as replication.EditableZone):
SOA(S), NS ns1, NS ns2, ns1/ns2 A, ver TXT "serial S" "part i" (4 RRs),
h0..hN A, sS A.  Every request is appended to LOG as one line:
"<time> <transport> <qtype> [serial=<client serial>] <what was done>";
"slow" writes "paused" before stalling.  Unsigned only (no TSIG).
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

T_A, T_NS, T_SOA, T_TXT, T_AXFR, T_IXFR = 1, 2, 6, 16, 252, 251
PTR = b"\xc0\x0c"        # the zone name in the question, at offset 12
TTL = 300


def label(text):
    out = b""
    for part in text.split("."):
        if part:
            out += bytes([len(part)]) + part.encode()
    return out


def owner(rel):
    """A name relative to the zone: labels + pointer to the apex."""
    return PTR if rel == "@" else label(rel) + PTR


def absname(text):
    return label(text) + b"\x00"


def rr(own, rtype, rdata, ttl=TTL):
    return own + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def soa_rr(serial, st):
    rdata = owner("ns1") + owner("hostmaster") + struct.pack(
        "!IIIII", serial, *timers(st))
    return rr(PTR, T_SOA, rdata)


def timers(st):
    return (st.get("refresh", 3600), st.get("retry", 600),
            st.get("expire", 1209600), st.get("minimum", 60))


def txt(*strings):
    out = b""
    for s in strings:
        b = s.encode()
        out += bytes([len(b)]) + b
    return out


def a(i, base=(198, 51, 100)):
    return bytes(base) + bytes([i % 250 + 1])


def version_rrs(serial):
    """The RRs that exist only in this serial."""
    rrs = [rr(owner("ver"), T_TXT, txt("serial %d" % serial, "part %d" % i))
           for i in range(4)]
    rrs.append(rr(owner("s%d" % serial), T_A,
                  bytes((203, 0, 113, serial % 250 + 1))))
    return rrs


def zone_rrs(st):
    """Every RR except the SOA, for serial st['serial']."""
    yield rr(PTR, T_NS, owner("ns1"))
    yield rr(PTR, T_NS, owner("ns2"))
    yield rr(owner("ns1"), T_A, bytes((192, 0, 2, 1)))
    yield rr(owner("ns2"), T_A, bytes((192, 0, 2, 2)))
    for x in version_rrs(st["serial"]):
        yield x
    for i in range(st.get("names", 20)):
        yield rr(owner("h%d" % i), T_A, bytes((10, (i >> 16) & 255,
                                               (i >> 8) & 255, i & 255)))


class Request:
    def __init__(self, wire):
        self.wire = wire
        (self.id, self.flags, qd, an, ns, ar) = struct.unpack("!HHHHHH",
                                                              wire[:12])
        # the question name: uncompressed labels
        pos = 12
        for _ in range(128):
            n = wire[pos]
            pos += 1 + n
            if n == 0:
                break
        self.qname_wire = wire[12:pos]
        self.qtype, self.qclass = struct.unpack("!HH", wire[pos:pos + 4])
        self.question = wire[12:pos + 4]
        self.opcode = (self.flags >> 11) & 15
        self.client_serial = None
        if self.qtype == T_IXFR and ns >= 1:
            # authority: the client's SOA; name compressed or not
            p = pos + 4
            if wire[p] & 0xC0 == 0xC0:
                p += 2
            else:
                for _ in range(128):
                    n = wire[p]
                    p += 1 + n
                    if n == 0:
                        break
            p += 10                     # type class ttl rdlength
            for _ in range(2):          # mname, rname
                for _ in range(128):
                    n = wire[p]
                    if n & 0xC0 == 0xC0:
                        p += 2
                        break
                    p += 1 + n
                    if n == 0:
                        break
            self.client_serial = struct.unpack("!I", wire[p:p + 4])[0]


def header(req, rcode, ancount, aa=True):
    flags = 0x8000 | (req.opcode << 11) | (0x0400 if aa else 0) | rcode
    return struct.pack("!HHHHHH", req.id, flags, 1, ancount, 0, 0)


def messages(req, rrs, per_message):
    """Pack RRs into messages of at most per_message RRs (and < 60 KiB)."""
    batch, size = [], 0
    for x in rrs:
        if batch and (len(batch) >= per_message or size + len(x) > 60000):
            yield header(req, 0, len(batch)) + req.question + b"".join(batch)
            batch, size = [], 0
        batch.append(x)
        size += len(x)
    yield header(req, 0, len(batch)) + req.question + b"".join(batch)


class Primary:
    def __init__(self, zone, statepath, logpath):
        self.zone_wire = absname(zone)
        self.statepath = statepath
        self.logpath = logpath
        self.loglock = threading.Lock()

    def state(self):
        try:
            with open(self.statepath) as f:
                st = json.load(f)
        except (OSError, ValueError):
            st = {}
        st.setdefault("serial", 1)
        st.setdefault("mode", "good")
        st.setdefault("names", 20)
        st.setdefault("pause_after", 3)
        st.setdefault("per_message", 200)
        return st

    def log(self, line):
        with self.loglock:
            with open(self.logpath, "a") as f:
                f.write("%.3f %s\n" % (time.time(), line))

    def for_us(self, req):
        return req.qname_wire.lower() == self.zone_wire.lower()

    def answer(self, req, transport):
        """A list of response messages (wire), or [] for no answer."""
        st = self.state()
        mode = st["mode"]
        qt = {T_SOA: "SOA", T_AXFR: "AXFR", T_IXFR: "IXFR"}.get(
            req.qtype, str(req.qtype))
        desc = "%s %s" % (transport, qt)
        if req.client_serial is not None:
            desc += " serial=%d" % req.client_serial
        if req.opcode == 4:                   # NOTIFY to us: acknowledge
            self.log(desc + " notify")
            return [header(req, 0, 0) + req.question]
        if mode == "silent":
            self.log(desc + " dropped")
            return []
        if mode == "refuse" or not self.for_us(req):
            self.log(desc + " refused")
            return [header(req, 5, 0, aa=False) + req.question]
        serial = st["serial"]
        soa = soa_rr(serial, st)
        if req.qtype == T_SOA:
            self.log(desc + " answered %d" % serial)
            return [header(req, 0, 1) + req.question + soa]
        if req.qtype not in (T_AXFR, T_IXFR):
            self.log(desc + " nodata")
            return [header(req, 0, 0) + req.question]
        if transport == "udp":
            self.log(desc + " udp: SOA only")
            return [header(req, 0, 1) + req.question + soa]
        if req.qtype == T_IXFR and mode in ("notimp-ixfr", "slow"):
            self.log(desc + " NOTIMP")
            return [header(req, 4, 0) + req.question]
        per = st["per_message"]
        if req.qtype == T_IXFR and req.client_serial is not None and \
                mode in ("good", "ixfr-gap", "ixfr-delete-missing") \
                and req.client_serial < serial:
            c = req.client_serial
            if mode == "ixfr-gap":
                # one delta that does not start at the client's serial
                steps = [(c + 1, serial)]
            else:
                steps = [(s, s + 1) for s in range(c, serial)]
            body = [soa]
            for old, new in steps:
                body.append(soa_rr(old, st))
                body += version_rrs(old)
                if mode == "ixfr-delete-missing" and old == c:
                    body.append(rr(owner("nonexistent"), T_A,
                                   bytes((192, 0, 2, 99))))
                body.append(soa_rr(new, st))
                body += version_rrs(new)
            body.append(soa)
            self.log(desc + " incremental %s %d -> %d" % (
                mode, req.client_serial, serial))
            return list(messages(req, body, per))
        if req.qtype == T_IXFR and req.client_serial is not None and \
                req.client_serial >= serial:
            self.log(desc + " up to date %d" % serial)
            return [header(req, 0, 1) + req.question + soa]
        # AXFR, or IXFR answered AXFR-style
        body = [soa] + list(zone_rrs(st))
        if mode == "out-of-zone":
            body.insert(3, rr(absname("evil.example.org"), T_A,
                              bytes((192, 0, 2, 66))))
        closing = soa_rr(serial + 1, st) if mode == "soa-mismatch" else soa
        body.append(closing)
        self.log(desc + " full %s %d (%d RRs)" % (mode, serial, len(body)))
        return list(messages(req, body, per))

    def serve_udp(self, sock):
        for _ in iter(int, 1):
            try:
                data, addr = sock.recvfrom(65535)
                req = Request(data)
            except (OSError, IndexError, struct.error):
                continue
            msgs = self.answer(req, "udp")[:1]
            delay = self.state().get("soa_delay", 0)
            if msgs and delay and req.qtype == T_SOA:
                threading.Timer(delay, sock.sendto, (msgs[0], addr)).start()
                continue
            for m in msgs:
                sock.sendto(m, addr)

    def serve_tcp_conn(self, conn):
        conn.settimeout(30)
        try:
            for _ in range(1000):
                hdr = self._recv(conn, 2)
                if hdr is None:
                    return
                (n,) = struct.unpack("!H", hdr)
                data = self._recv(conn, n)
                if data is None:
                    return
                req = Request(data)
                st = self.state()
                if st["mode"] == "silent":
                    self.answer(req, "tcp")     # logs it
                    return
                msgs = self.answer(req, "tcp")
                for i, m in enumerate(msgs):
                    if st["mode"] == "slow" and req.qtype in (T_AXFR,
                                                             T_IXFR) and \
                            i == st["pause_after"]:
                        self.log("paused after %d of %d messages"
                                 % (i, len(msgs)))
                        time.sleep(120)         # until killed
                        return
                    conn.sendall(struct.pack("!H", len(m)) + m)
        except (OSError, IndexError, struct.error):
            return
        finally:
            conn.close()

    @staticmethod
    def _recv(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def serve_tcp(self, lsock):
        for _ in iter(int, 1):
            try:
                conn, _ = lsock.accept()
            except OSError:
                continue
            threading.Thread(target=self.serve_tcp_conn, args=(conn,),
                             daemon=True).start()


def zone_text(zone, st):
    """The zone of state st as a master file (for comparisons)."""
    s = st.get("serial", 1)
    lines = ["$ORIGIN %s." % zone, "$TTL %d" % TTL,
             "@ SOA ns1 hostmaster %d %d %d %d %d" % ((s,) + timers(st)),
             "@ NS ns1", "@ NS ns2", "ns1 A 192.0.2.1", "ns2 A 192.0.2.2"]
    lines += ['ver TXT "serial %d" "part %d"' % (s, i) for i in range(4)]
    lines.append("s%d A 203.0.113.%d" % (s, s % 250 + 1))
    for i in range(st.get("names", 20)):
        lines.append("h%d A 10.%d.%d.%d" % (i, (i >> 16) & 255,
                                            (i >> 8) & 255, i & 255))
    return "\n".join(lines) + "\n"


def main():
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--zone", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    p = Primary(args.zone, args.state, args.log)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind((args.host, args.port))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((args.host, args.port))
    t.listen(64)
    threading.Thread(target=p.serve_udp, args=(u,), daemon=True).start()
    print("fakeprimary: serving %s on %s@%d" % (args.zone, args.host,
                                                args.port), flush=True)
    p.serve_tcp(t)


if __name__ == "__main__":
    sys.exit(main())
