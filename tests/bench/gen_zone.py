#!/usr/bin/python3
"""Deterministic zone generator for benchmarks and load measurements.

    gen_zone.py ORIGIN NAMES > zone

Writes a zone of about NAMES owner names with a realistic mix: A (all
hosts), AAAA (1 in 3), MX and TXT (1 in 10), CNAME (1 in 12), delegations
with in-bailiwick glue (1 in 50), names under empty non-terminals (1 in
20), and a wildcard. The same arguments always give the same file.
"""
import random
import sys


def main():
    origin = sys.argv[1].rstrip('.') + '.'
    names = int(sys.argv[2])
    rng = random.Random(20261124)
    out = sys.stdout
    w = out.write
    w(f"$ORIGIN {origin}\n$TTL 3600\n")
    w("@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n")
    w("@ IN NS ns1\n@ IN NS ns2\n@ IN MX 10 mail\n")
    w("ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\nmail IN A 192.0.2.3\n")
    w("*.wild IN A 192.0.2.4\n")
    for i in range(names):
        kind = i % 100
        if kind == 0:
            # delegation with glue
            w(f"d{i} IN NS ns.d{i}\nns.d{i} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")
            continue
        if kind % 20 == 7:
            owner = f"h{i}.ent{i % 1000}"
        else:
            owner = f"h{i}"
        if kind % 12 == 5:
            w(f"{owner} IN CNAME h{rng.randrange(names)}\n")
            continue
        w(f"{owner} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")
        if kind % 3 == 0:
            w(f"{owner} IN AAAA 2001:db8::{i >> 16 & 0xffff:x}:{i & 0xffff:x}\n")
        if kind % 10 == 1:
            w(f"{owner} IN MX 10 mail\n")
        if kind % 10 == 2:
            w(f'{owner} IN TXT "v=spf1 ip4:10.0.0.0/8 -all" "id {rng.getrandbits(64):x}"\n')


if __name__ == "__main__":
    main()
