"""Small DNS client helpers for the system tests (dnspython 2.3).

Everything here is bounded: every socket has a timeout, every loop a count.
Only loopback addresses are ever used.

- make_query(): a dns.message.Message with the knobs the tests need
  (RD, EDNS version/payload/DO/options, class, id).
- udp_exchange() / tcp_exchange(): send a wire message, return the raw reply (or None on
  timeout / connection closed without a reply).
- TcpConn: one TCP connection for pipelining, partial writes, idle tests.
- query(): build, send, parse in one call; returns a Reply.
- summarize(): an order-insensitive, comparable view of a reply.
"""

import socket
import struct
import time

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype

DEFAULT_TIMEOUT = 2.0
HOST = "127.0.0.1"


def make_query(qname, qtype="A", qclass="IN", *, rd=False, edns=None,
               payload=1232, do=False, options=None, qid=None,
               opcode=dns.opcode.QUERY, cd=False, ad=False):
    """Build a query.  edns=None: no OPT; edns=0 (or another int): OPT with
    that EDNS version, the given payload, DO bit and options."""
    if isinstance(qname, str):
        qname = dns.name.from_text(qname)
    flags = 0
    if rd:
        flags |= dns.flags.RD
    if cd:
        flags |= dns.flags.CD
    if ad:
        flags |= dns.flags.AD
    msg = dns.message.make_query(qname, dns.rdatatype.from_text(qtype)
                                 if isinstance(qtype, str) else qtype,
                                 dns.rdataclass.from_text(qclass)
                                 if isinstance(qclass, str) else qclass,
                                 flags=flags, id=qid)
    if edns is not None:
        # (make_query's use_edns= ignores the version in dnspython 2.3)
        msg.use_edns(edns=edns, ednsflags=dns.flags.DO if do else 0,
                     payload=payload, options=list(options or []))
    msg.set_opcode(opcode)
    return msg


def _recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out")
        sock.settimeout(remaining)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by peer after %d of %d"
                                  " octets" % (len(buf), n))
        buf += chunk
    return buf


def udp_exchange(wire, port, host=HOST, timeout=DEFAULT_TIMEOUT, expect_id=None):
    """Send one datagram, return the first reply datagram (bytes) or None
    if nothing arrived within timeout.  Replies with a different ID (if
    expect_id is given) are skipped (bounded)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.connect((host, port))
        s.send(wire)
        deadline = time.monotonic() + timeout
        for _ in range(16):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            s.settimeout(remaining)
            try:
                data = s.recv(65535)
            except socket.timeout:
                return None
            except ConnectionRefusedError:
                return None
            if expect_id is None or (len(data) >= 2 and
                                     struct.unpack("!H", data[:2])[0]
                                     == expect_id):
                return data
        return None


class TcpConn:
    """A TCP connection to a DNS server, with explicit framing control."""

    def __init__(self, port, host=HOST, timeout=DEFAULT_TIMEOUT):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.timeout = timeout

    def send(self, wire, *, framed=True, chunk=None, delay=0.0):
        """Send a message (2-octet length prefix unless framed=False).
        chunk=N writes N octets at a time with `delay` seconds between."""
        data = (struct.pack("!H", len(wire)) + wire) if framed else wire
        if not chunk:
            self.sock.sendall(data)
            return
        for i in range(0, len(data), chunk):
            self.sock.sendall(data[i:i + chunk])
            if delay:
                time.sleep(delay)

    def recv(self, timeout=None):
        """Receive one framed message; raises socket.timeout or
        ConnectionError."""
        deadline = time.monotonic() + (timeout or self.timeout)
        (n,) = struct.unpack("!H", _recv_exact(self.sock, 2, deadline))
        return _recv_exact(self.sock, n, deadline)

    def closed_by_peer(self, timeout):
        """True if the peer closes the connection (EOF or reset) within
        timeout seconds without sending anything."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        return data == b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def tcp_exchange(wire, port, host=HOST, timeout=DEFAULT_TIMEOUT):
    """One query over a fresh TCP connection; reply bytes or None."""
    try:
        with TcpConn(port, host, timeout) as c:
            c.send(wire)
            return c.recv()
    except (socket.timeout, ConnectionError, OSError):
        return None


def parse_header(wire):
    """The 12-octet header as a dict (works for replies dnspython cannot
    parse, e.g. unknown opcodes), or None if shorter than 12 octets."""
    if wire is None or len(wire) < 12:
        return None
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
    return {
        "id": qid, "qr": bool(flags & 0x8000), "opcode": (flags >> 11) & 0xF,
        "aa": bool(flags & 0x0400), "tc": bool(flags & 0x0200),
        "rd": bool(flags & 0x0100), "ra": bool(flags & 0x0080),
        "z": bool(flags & 0x0040), "ad": bool(flags & 0x0020),
        "cd": bool(flags & 0x0010), "rcode": flags & 0xF,
        "qdcount": qd, "ancount": an, "nscount": ns, "arcount": ar,
    }


class Reply:
    """A parsed reply: .wire (bytes or None), .msg (Message or None),
    .error (parse error text or None)."""

    def __init__(self, wire, query=None):
        self.wire = wire
        self.query = query
        self.msg = None
        self.error = None
        if wire is None:
            return
        try:
            self.msg = dns.message.from_wire(wire, one_rr_per_rrset=True)
        except Exception as e:  # keep the reason, the test decides
            self.error = "%s: %s" % (type(e).__name__, e)

    @property
    def timeout(self):
        return self.wire is None

    @property
    def header(self):
        return parse_header(self.wire)

    @property
    def rcode(self):
        return self.msg.rcode()

    def flag(self, name):
        return bool(self.msg.flags & dns.flags.from_text(name))

    def section(self, name):
        """RRs of a section (one RRset per RR), OPT/TSIG excluded."""
        return list(getattr(self.msg, name))

    def rrs(self, name, rdtype=None, owner=None):
        out = []
        for rrset in self.section(name):
            if rdtype is not None and rrset.rdtype != (
                    dns.rdatatype.from_text(rdtype)
                    if isinstance(rdtype, str) else rdtype):
                continue
            if owner is not None and rrset.name != dns.name.from_text(owner):
                continue
            for rd in rrset:
                out.append((rrset.name, rrset.ttl, rd))
        return out

    def __repr__(self):
        if self.wire is None:
            return "<no reply>"
        if self.msg is None:
            return "<unparseable reply: %s>" % self.error
        return self.msg.to_text()


def query(port, qname, qtype="A", tcp=False, host=HOST,
          timeout=DEFAULT_TIMEOUT, **opts):
    """Build a query with make_query(**opts), send it, return a Reply."""
    q = make_query(qname, qtype, **opts)
    wire = q.to_wire()
    if tcp:
        raw = tcp_exchange(wire, port, host, timeout)
    else:
        raw = udp_exchange(wire, port, host, timeout, expect_id=q.id)
    return Reply(raw, q)


def send_raw(port, wire, tcp=False, host=HOST, timeout=DEFAULT_TIMEOUT):
    """Send arbitrary octets (malformed packets); return a Reply."""
    if tcp:
        return Reply(tcp_exchange(wire, port, host, timeout))
    return Reply(udp_exchange(wire, port, host, timeout))


# ---------------------------------------------------------------------------
# Comparable summaries (differential testing)

FLAG_NAMES = ("QR", "AA", "TC", "RD", "RA", "AD", "CD")


def rr_key(rrset):
    """One RR (dnspython RRset of size 1 with one_rr_per_rrset) as a tuple:
    owner (case preserved), class, type, TTL, rdata text."""
    out = []
    for rd in rrset:
        out.append((rrset.name.to_text(), dns.rdataclass.to_text(
            rrset.rdclass), dns.rdatatype.to_text(rrset.rdtype), rrset.ttl,
            rd.to_text()))
    return out


def section_key(rrsets):
    """A section as a sorted tuple of RRs (multiset semantics: a duplicate
    or a partial RRset shows as a difference)."""
    rrs = []
    for rrset in rrsets:
        rrs.extend(rr_key(rrset))
    return tuple(sorted(rrs))


def summarize(reply):
    """A dict of comparable facts about a reply, or a string for
    no-reply / unparseable."""
    if reply.wire is None:
        return "NO REPLY"
    if reply.msg is None:
        return "UNPARSEABLE (%s)" % reply.error
    m = reply.msg
    flags = tuple(f for f in FLAG_NAMES
                  if m.flags & dns.flags.from_text(f))
    edns = None
    if m.edns >= 0:
        edns = {
            "version": m.edns,
            "DO": bool(m.ednsflags & dns.flags.DO),
            "payload": m.payload,
            "options": tuple(sorted((o.otype, o.to_wire()
                                     if hasattr(o, "to_wire") else b"")
                                    for o in m.options)),
        }
    return {
        "rcode": dns.rcode.to_text(m.rcode()),
        "opcode": dns.opcode.to_text(m.opcode()),
        "flags": flags,
        "question": tuple((q.name.to_text(), dns.rdataclass.to_text(
            q.rdclass), dns.rdatatype.to_text(q.rdtype)) for q in m.question),
        "answer": section_key(m.answer),
        "authority": section_key(m.authority),
        "additional": section_key(m.additional),
        "edns": edns,
    }


def diff_summaries(a, b):
    """List of field names in which two summaries differ."""
    if isinstance(a, str) or isinstance(b, str):
        return [] if a == b else ["reply"]
    return [k for k in a if a[k] != b.get(k)]


def format_summary(s):
    if isinstance(s, str):
        return "    " + s
    lines = ["    rcode=%s flags=%s edns=%s" % (s["rcode"], " ".join(s["flags"]),
                                                s["edns"]),
             "    question=%s" % (s["question"],)]
    for sec in ("answer", "authority", "additional"):
        rrs = s[sec]
        if not rrs:
            continue
        lines.append("    ;; %s (%d)" % (sec, len(rrs)))
        for i, rr in enumerate(rrs):
            if i >= 8:
                lines.append("      ... %d more" % (len(rrs) - i))
                break
            text = " ".join(str(x) for x in rr)
            lines.append("      " + (text if len(text) < 120
                                     else text[:117] + "..."))
    return "\n".join(lines)
