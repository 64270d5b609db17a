#!/usr/bin/python3
"""Deterministic zone and query generator for benchmarks.

    gen_zone.py ORIGIN NAMES > zone
    gen_zone.py --queries COUNT ORIGIN NAMES > queries

Writes a zone of about NAMES owner names with a realistic mix: A (all
hosts), AAAA (1 in 3), MX and TXT (1 in 10), CNAME (1 in 12), delegations
with in-bailiwick glue (1 in 100), names under empty non-terminals (1 in
20), and a wildcard. The same arguments always give the same file.

With --queries, writes COUNT dnsperf query lines ("name type") that match
that zone: existing names (with and without data of the asked type), CNAME
owners, NXDOMAIN names, referrals into delegations, wildcard hits and apex
queries. The same arguments always give the same file too.
"""
import argparse
import random
import sys

ZONE_SEED = 20261124
QUERY_SEED = 20261125


def host_owner(i):
    """Relative owner name of the i-th generated name, and what it is:
    'delegation', 'cname' or 'host' (a name with A and maybe more)."""
    kind = i % 100
    if kind == 0:
        return f"d{i}", "delegation"
    if kind % 20 == 7:
        owner = f"h{i}.ent{i % 1000}"
    else:
        owner = f"h{i}"
    if kind % 12 == 5:
        return owner, "cname"
    return owner, "host"


def host_types(i):
    """RR types at a 'host' name i (A always)."""
    kind = i % 100
    types = ["A"]
    if kind % 3 == 0:
        types.append("AAAA")
    if kind % 10 == 1:
        types.append("MX")
    if kind % 10 == 2:
        types.append("TXT")
    return types


def write_zone(origin, names, out):
    """The zone file.  Its bytes must not change for given arguments: the
    benchmark numbers of different commits are compared on it."""
    rng = random.Random(ZONE_SEED)
    w = out.write
    w(f"$ORIGIN {origin}\n$TTL 3600\n")
    w("@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n")
    w("@ IN NS ns1\n@ IN NS ns2\n@ IN MX 10 mail\n")
    w("ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\nmail IN A 192.0.2.3\n")
    w("*.wild IN A 192.0.2.4\n")
    for i in range(names):
        kind = i % 100
        owner, what = host_owner(i)
        if what == "delegation":
            # delegation with glue
            w(f"{owner} IN NS ns.{owner}\nns.{owner} IN A "
              f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")
            continue
        if what == "cname":
            w(f"{owner} IN CNAME h{rng.randrange(names)}\n")
            continue
        w(f"{owner} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")
        if kind % 3 == 0:
            w(f"{owner} IN AAAA 2001:db8::{i >> 16 & 0xffff:x}:{i & 0xffff:x}\n")
        if kind % 10 == 1:
            w(f"{owner} IN MX 10 mail\n")
        if kind % 10 == 2:
            w(f'{owner} IN TXT "v=spf1 ip4:10.0.0.0/8 -all" "id {rng.getrandbits(64):x}"\n')


# (share in percent, category) of the query mix
QUERY_MIX = [
    (50, "existing"),    # a host name, one of its types
    (5, "nodata"),       # a host name, a type it does not have; or an ENT
    (10, "cname"),       # a CNAME owner, type A
    (15, "nxdomain"),    # a name that does not exist
    (10, "referral"),    # a name at or below a delegation
    (8, "wildcard"),     # a name synthesised from *.wild
    (2, "apex"),         # SOA, NS, MX at the apex
]


def _pick(rng, names, what):
    """A random index i < names whose host_owner(i) is of kind `what`."""
    if what == "delegation":
        # 1 in 100: draw among the multiples of 100 directly
        return 100 * rng.randrange((names + 99) // 100)
    for _ in range(1000):
        i = rng.randrange(names)
        if host_owner(i)[1] == what:
            return i
    raise ValueError(f"zone of {names} names has no {what} name")


def query_lines(origin, names, count):
    """Yield `count` dnsperf lines "name type" for the zone of `names`
    names under `origin` (absolute, with the trailing dot)."""
    rng = random.Random(QUERY_SEED)
    cats = []
    for share, cat in QUERY_MIX:
        cats += [cat] * share
    has_delegation = names > 0
    for _ in range(count):
        cat = rng.choice(cats)
        if cat == "referral" and not has_delegation:
            cat = "nxdomain"
        if cat == "existing":
            i = _pick(rng, names, "host")
            types = host_types(i)
            # A most of the time, otherwise one of the other types present
            qtype = "A" if len(types) == 1 or rng.random() < 0.6 \
                else rng.choice(types[1:])
            yield f"{host_owner(i)[0]}.{origin} {qtype}"
        elif cat == "nodata":
            if rng.random() < 0.3:
                # entK exists (empty) when K = i % 1000 for a name i with
                # i % 20 == 7 (see host_owner)
                k = 20 * rng.randrange(max(1, min(names, 1000) // 20)) + 7
                yield f"ent{k}.{origin} A"
            else:
                i = _pick(rng, names, "host")
                missing = [t for t in ("AAAA", "MX", "TXT")
                           if t not in host_types(i)]
                yield f"{host_owner(i)[0]}.{origin} {rng.choice(missing)}"
        elif cat == "cname":
            i = _pick(rng, names, "cname")
            yield f"{host_owner(i)[0]}.{origin} A"
        elif cat == "nxdomain":
            r = rng.random()
            if r < 0.6:
                yield f"nx{rng.getrandbits(32):x}.{origin} A"
            elif r < 0.8:
                i = _pick(rng, names, "host")
                yield f"www.{host_owner(i)[0]}.{origin} A"
            else:
                yield f"h{names + rng.randrange(names)}.{origin} AAAA"
        elif cat == "referral":
            i = _pick(rng, names, "delegation")
            r = rng.random()
            if r < 0.5:
                yield f"www.d{i}.{origin} A"
            elif r < 0.8:
                yield f"d{i}.{origin} A"
            else:
                yield f"ns.d{i}.{origin} A"
        elif cat == "wildcard":
            if rng.random() < 0.8:
                yield f"w{rng.getrandbits(24):x}.wild.{origin} A"
            else:
                yield f"a{rng.randrange(100)}.b.wild.{origin} A"
        else:  # apex
            yield f"{origin} {rng.choice(('SOA', 'NS', 'MX'))}"


def write_queries(origin, names, count, out):
    for line in query_lines(origin, names, count):
        out.write(line + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=int, metavar="COUNT",
                    help="write COUNT dnsperf query lines instead of the zone")
    ap.add_argument("origin")
    ap.add_argument("names", type=int)
    args = ap.parse_args()
    origin = args.origin.rstrip(".") + "."
    if args.queries is not None:
        write_queries(origin, args.names, args.queries, sys.stdout)
    else:
        write_zone(origin, args.names, sys.stdout)


if __name__ == "__main__":
    main()
