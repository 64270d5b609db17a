"""Signed zones for the DNSSEC system tests (test_dnssec.py, issue 7).

From the hand-written unsigned sources in zones/dnssec/ (parent.zone,
signed once per variant under its own apex, and kid.zone, its signed child
served by the same servers), build() produces in a temporary directory,
with keys generated there for this session (Ed25519: small signatures, and
deterministic, so one key signs the same data the same way every time):

 variant | apex            | signer                        | denial
 --------+-----------------+-------------------------------+------------------
 nsec    | nsec.example    | ldns-keygen + ldns-signzone   | NSEC
 nsec3   | nsec3.example   | ldns-signzone -n -t 10 -s ... | NSEC3, 10 iter.
 optout  | optout.example  | ldns-signzone -n -p           | NSEC3 opt-out
 bnsec   | bnsec.example   | dnssec-keygen + dnssec-signzone | NSEC
 bnsec3  | bnsec3.example  | dnssec-signzone -3 SALT -H 5  | NSEC3, 5 iter.
 boptout | boptout.example | dnssec-signzone -3 ab -H 0 -A | NSEC3 opt-out

Each variant's child kid.APEX is signed with the same tool and denial;
ldns-signzone -p only sets the opt-out flag (every insecure delegation
keeps its NSEC3), dnssec-signzone -A really leaves the unsigned
delegations out of the chain (RFC 5155 §6), so both kinds are served;
its DS (from the child's KSK) is appended to the parent before the parent
is signed, so the chain apex -> kid validates.  Inception and expiration
are fixed (INCEPTION, EXPIRATION), so a run does not depend on the clock
(until 2037).  RFC 9276 §3.1 asks for 0 iterations and no salt; the issue
wants iterations and a salt served too, and NSD 4.6 / Knot 3.2 serve them
(BIND 9.18 validates up to 150 iterations).

    zones = build(workdir)                # {variant: SignedSet}
    s = zones["nsec3"]
    s.zones                               # [(apex, signed path), ...]
    s.parent.anchor_file                  # delv -a: trust-anchors { }
    resign(s.parent, serial=2, inception=...)   # same keys, new RRSIGs
    expired_copy(s.parent, path)          # signatures already expired
    tampered_copy(s.parent, path, "www", "A")   # one broken RRSIG

Run as a script to build into a directory and print what was made:
    /usr/bin/python3 tests/system/dnssec_zones.py /tmp/dz
"""

import base64
import os
import re
import shutil
import subprocess

import dns.dnssec
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.join(HERE, "zones", "dnssec")
PARENT_SOURCE = os.path.join(SOURCE_DIR, "parent.zone")
CHILD_SOURCE = os.path.join(SOURCE_DIR, "kid.zone")
CHILD_LABEL = "kid"

INCEPTION = "20240101000000"
EXPIRATION = "20370101000000"
EXPIRED_INCEPTION = "20200101000000"
EXPIRED_EXPIRATION = "20200201000000"

ALGORITHM = "ED25519"           # DNSKEY algorithm 15
TOOL_TIMEOUT = 60


class Variant:
    def __init__(self, name, tool, nsec3=False, iterations=0, salt=None,
                 optout=False):
        self.name = name
        self.apex = "%s.example" % name
        self.tool = tool            # "ldns" or "bind"
        self.nsec3 = nsec3
        self.iterations = iterations
        self.salt = salt
        self.optout = optout

    @property
    def denial(self):
        return ("nsec3-optout" if self.optout else "nsec3") if self.nsec3 \
            else "nsec"

    def __repr__(self):
        return "<Variant %s: %s %s>" % (self.name, self.tool, self.denial)


VARIANTS = [
    Variant("nsec", "ldns"),
    Variant("nsec3", "ldns", nsec3=True, iterations=10, salt="cafe0042"),
    Variant("optout", "ldns", nsec3=True, iterations=10, salt="beef",
            optout=True),
    Variant("bnsec", "bind"),
    Variant("bnsec3", "bind", nsec3=True, iterations=5, salt="abcd1234"),
    Variant("boptout", "bind", nsec3=True, iterations=0, salt="ab",
            optout=True),
]
VARIANT_BY_NAME = {v.name: v for v in VARIANTS}


class ToolError(AssertionError):
    pass


def run(cmd, cwd=None, timeout=TOOL_TIMEOUT):
    """Run a signing tool; its stdout, or ToolError with the output."""
    p = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if p.returncode != 0:
        raise ToolError("%s exited %d:\n%s%s" % (
            " ".join(cmd), p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace")))
    return p.stdout.decode("utf-8", "replace")


def tools_missing():
    """Names of the missing programs (empty list: all there)."""
    need = ["ldns-keygen", "ldns-signzone", "dnssec-keygen",
            "dnssec-signzone"]
    return [t for t in need if shutil.which(t) is None]


# ---------------------------------------------------------------- keys

class Keys:
    """A KSK and a ZSK of one zone: base paths (no .key/.private)."""

    def __init__(self, apex, tool, keydir, ksk, zsk):
        self.apex = apex
        self.tool = tool
        self.keydir = keydir
        self.ksk = ksk
        self.zsk = zsk


def make_keys(tool, apex, keydir):
    os.makedirs(keydir, exist_ok=True)
    if tool == "ldns":
        # ldns-keygen writes K<apex>+015+<id>.{key,private,ds} in its cwd
        ksk = run(["ldns-keygen", "-a", ALGORITHM, "-k", apex + "."],
                  cwd=keydir).strip()
        zsk = run(["ldns-keygen", "-a", ALGORITHM, apex + "."],
                  cwd=keydir).strip()
    else:
        ksk = run(["dnssec-keygen", "-q", "-a", ALGORITHM, "-f", "KSK",
                   "-K", keydir, "-n", "ZONE", apex + "."]).strip()
        zsk = run(["dnssec-keygen", "-q", "-a", ALGORITHM, "-K", keydir,
                   "-n", "ZONE", apex + "."]).strip()
    return Keys(apex, tool, keydir, os.path.join(keydir, ksk),
                os.path.join(keydir, zsk))


# ---------------------------------------------------------------- signing

def source_text(path, serial=1, extra=""):
    """The unsigned source with the SOA serial replaced and extra lines
    appended."""
    with open(path) as f:
        text = f.read()
    text, n = re.subn(r"(IN SOA\s+\S+\s+\S+\s+)\d+", r"\g<1>%d" % serial,
                      text, count=1)
    assert n == 1, "no SOA line in %s" % path
    if extra:
        text += extra.rstrip("\n") + "\n"
    return text


def sign(variant, keys, unsigned_path, out_path, inception=INCEPTION,
         expiration=EXPIRATION):
    """Sign unsigned_path into out_path with the variant's tool and
    denial of existence."""
    apex = keys.apex + "."
    if variant.tool == "ldns":
        cmd = ["ldns-signzone", "-i", inception, "-e", expiration,
               "-o", apex, "-f", out_path]
        if variant.nsec3:
            cmd += ["-n", "-a", "1", "-t", str(variant.iterations),
                    "-s", variant.salt or "-"]
            if variant.optout:
                cmd.append("-p")
        cmd += [unsigned_path, keys.ksk, keys.zsk]
        run(cmd, cwd=keys.keydir)
    else:
        # dnssec-signzone signs with the keys whose DNSKEY is in the zone
        with open(unsigned_path, "a") as f:
            for base in (keys.ksk, keys.zsk):
                with open(base + ".key") as k:
                    f.writelines(l for l in k if not l.startswith(";"))
        cmd = ["dnssec-signzone", "-q", "-K", keys.keydir,
               "-d", keys.keydir, "-s", inception, "-e", expiration,
               "-o", apex, "-f", out_path, "-x", "-P"]
        if variant.nsec3:
            cmd += ["-3", variant.salt or "-", "-H", str(variant.iterations)]
            if variant.optout:
                cmd.append("-A")
        cmd += ["-k", keys.ksk + ".key", unsigned_path, keys.zsk + ".key"]
        run(cmd, cwd=keys.keydir)
    return out_path


class SignedZone:
    """One signed zone: apex (no trailing dot), path of the signed file,
    its variant, keys and unsigned source."""

    def __init__(self, variant, apex, source, keys, workdir, serial=1,
                 extra=""):
        self.variant = variant
        self.apex = apex
        self.source = source
        self.keys = keys
        self.workdir = workdir
        self.serial = serial
        self.extra = extra
        self.path = os.path.join(workdir, "%s.signed" % apex)
        self.unsigned_path = os.path.join(workdir, "%s.unsigned" % apex)
        self.anchor_file = os.path.join(workdir, "%s.anchor" % apex)
        self.inception = INCEPTION
        self.expiration = EXPIRATION

    def sign(self, serial=None, extra=None, inception=None, expiration=None,
             out_path=None):
        """(Re-)sign with this zone's keys; returns the signed path."""
        if serial is not None:
            self.serial = serial
        if extra is not None:
            self.extra = extra
        inception = inception or self.inception
        expiration = expiration or self.expiration
        with open(self.unsigned_path, "w") as f:
            f.write(source_text(self.source, self.serial, self.extra))
        out = out_path or self.path
        tmp = out + ".tmp"
        sign(self.variant, self.keys, self.unsigned_path, tmp, inception,
             expiration)
        os.rename(tmp, out)
        if out_path is None:
            self.inception, self.expiration = inception, expiration
            self.write_anchor()
        return out

    def copy_to(self, workdir):
        """The same zone (same keys, source, serial and extra lines) with
        its files in workdir, signed there: a copy a test may re-sign."""
        os.makedirs(str(workdir), exist_ok=True)
        other = SignedZone(self.variant, self.apex, self.source, self.keys,
                           str(workdir), self.serial, self.extra)
        other.sign()
        return other

    def zone(self):
        """The signed zone, parsed by dnspython (absolute names)."""
        return dns.zone.from_file(self.path, self.apex, relativize=False,
                                  check_origin=False)

    def ksk_dnskey(self):
        """The DNSKEY rdata of the KSK (SEP flag) in the signed zone."""
        z = self.zone()
        rds = z.find_rdataset(self.apex + ".", "DNSKEY")
        ksks = [rd for rd in rds if rd.flags & 0x0001]
        assert len(ksks) == 1, "expected one SEP key at %s: %s" % (
            self.apex, list(rds))
        return ksks[0]

    def ds_texts(self):
        """DS RRs (text, owner apex.) of the KSK, SHA-256."""
        ds = dns.dnssec.make_ds(dns.name.from_text(self.apex),
                                self.ksk_dnskey(), "SHA256")
        return ["%s. 3600 IN DS %s" % (self.apex, ds.to_text())]

    def anchor_text(self):
        """The trust anchor in BIND's format (delv -a)."""
        k = self.ksk_dnskey()
        return ('trust-anchors {\n    "%s." static-key %d %d %d "%s";\n};\n'
                % (self.apex, k.flags, k.protocol, k.algorithm,
                   base64.b64encode(k.key).decode()))

    def write_anchor(self):
        with open(self.anchor_file, "w") as f:
            f.write(self.anchor_text())
        return self.anchor_file

    def __repr__(self):
        return "<SignedZone %s (%s)>" % (self.apex, self.variant.name)


class SignedSet:
    """A variant's parent zone and its signed child kid.APEX."""

    def __init__(self, variant, parent, child):
        self.variant = variant
        self.parent = parent
        self.child = child

    @property
    def name(self):
        return self.variant.name

    @property
    def zones(self):
        """[(apex, signed path)], parent first (the readiness probe)."""
        return [(self.parent.apex, self.parent.path),
                (self.child.apex, self.child.path)]


def child_ds_lines(child, parent_apex):
    """The DS RRset of the child as lines relative to the parent."""
    out = []
    for t in child.ds_texts():
        owner, rest = t.split(" ", 1)
        assert owner.endswith("." + parent_apex + ".")
        out.append("%s %s" % (owner[:-len(parent_apex) - 2], rest))
    return "\n".join(out) + "\n"


def build_variant(variant, workdir):
    d = os.path.join(workdir, variant.name)
    os.makedirs(d, exist_ok=True)
    keydir = os.path.join(d, "keys")
    apex = variant.apex
    child_apex = "%s.%s" % (CHILD_LABEL, apex)
    child = SignedZone(variant, child_apex, CHILD_SOURCE,
                       make_keys(variant.tool, child_apex, keydir), d)
    child.sign()
    parent = SignedZone(variant, apex, PARENT_SOURCE,
                        make_keys(variant.tool, apex, keydir), d,
                        extra=child_ds_lines(child, apex))
    parent.sign()
    return SignedSet(variant, parent, child)


def build(workdir, variants=None):
    """Keys and signed zones for every variant (or the named ones) under
    workdir; {variant name: SignedSet}."""
    os.makedirs(workdir, exist_ok=True)
    out = {}
    for v in variants or VARIANTS:
        if isinstance(v, str):
            v = VARIANT_BY_NAME[v]
        out[v.name] = build_variant(v, str(workdir))
    return out


# ---------------------------------------------------------------- broken

def expired_copy(zone, out_path):
    """The same zone signed with the same keys, but every signature
    expired in 2020 (a validator must call it bogus)."""
    zone.sign(inception=EXPIRED_INCEPTION, expiration=EXPIRED_EXPIRATION,
              out_path=str(out_path))
    return str(out_path)


def tampered_copy(zone, out_path, targets):
    """A copy of the signed zone in which every RRSIG covering one of
    targets [(owner relative to the apex, type)] has one signature octet
    changed (bogus)."""
    z = zone.zone()
    for owner, rdtype in targets:
        name = dns.name.from_text(owner, dns.name.from_text(zone.apex))
        node = z.find_node(name)
        rrsigs = node.find_rdataset(dns.rdataclass.IN, dns.rdatatype.RRSIG,
                                    dns.rdatatype.from_text(rdtype))
        assert len(rrsigs) >= 1, (owner, rdtype)
        ttl = rrsigs.ttl
        for old in list(rrsigs):
            sig = bytearray(old.signature)
            sig[10] ^= 0x5a
            rrsigs.remove(old)
            rrsigs.add(old.replace(signature=bytes(sig)), ttl)
    z.to_file(str(out_path), relativize=False)
    return str(out_path)


# ---------------------------------------------------------------- reading

def rrs_of_file(path, apex):
    """Every RR of a zone file as comparable tuples (replication.rr_key
    form: lowercased owner, ttl, class, type, rdata text)."""
    import replication
    z = dns.zone.from_file(path, apex, relativize=False, check_origin=False)
    out = []
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            for rd in rds:
                out.append(replication.rr_key(name, rds.ttl, rds.rdclass,
                                              rds.rdtype, rd))
    return out


def nsec3_params(zone):
    """(algorithm, iterations, salt bytes) from the NSEC3PARAM at the
    apex, or None for an NSEC zone."""
    z = zone.zone()
    rds = z.get_rdataset(zone.apex + ".", "NSEC3PARAM")
    if not rds:
        return None
    rd = rds[0]
    return rd.algorithm, rd.iterations, rd.salt


def nsec3_hash(zone, name):
    """The NSEC3 owner name (hash.APEX.) of name in this zone."""
    alg, it, salt = nsec3_params(zone)
    h = dns.dnssec.nsec3_hash(name, salt, it, alg)
    return "%s.%s." % (h.lower(), zone.apex)


if __name__ == "__main__":
    import sys
    target = sys.argv[1] if len(sys.argv) > 1 else "/tmp/dnssec-zones"
    for name, s in build(target).items():
        for z in (s.parent, s.child):
            print("%-8s %-20s %s  anchor %s" % (name, z.apex, z.path,
                                                z.anchor_file))
