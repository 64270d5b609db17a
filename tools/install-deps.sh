#!/bin/sh
# Install every Debian package tandem's build and tests need.
# As root: apt-get update once, then install only what is missing.
# As another user: print the one command to run and exit non-zero.
set -eu

PACKAGES="
build-essential cmake pkg-config clang
libclang-rt-dev llvm
libevent-dev libldns-dev libssl-dev libsodium-dev liburcu-dev check
python3 python3-pytest python3-dnspython
bind9 bind9-utils nsd knot knot-dnsutils dnsutils ldnsutils dnsperf
socat procps iproute2 util-linux valgrind
"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "tandem: missing Debian packages:$missing" >&2
    echo "run as root:  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi

echo "tandem: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# Peers (bind9, nsd, knot) must not start system-wide services on install:
# the tests start their own instances on loopback ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >&2
