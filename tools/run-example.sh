#!/bin/sh
# Serves conf.example/ with tandemd in the foreground on 127.0.0.1:5353
# and [::1]:5353 (logs on stderr; Ctrl-C stops it).
# Usage: sh tools/run-example.sh BUILD_DIR   (called by `make run`)
set -eu

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
tandemd="$build/server/tandemd"
case $tandemd in
/*) ;;
*) tandemd="$here/$tandemd" ;;
esac

if [ ! -x "$tandemd" ]; then
    echo "run-example: $tandemd not found; build first (make build)" >&2
    exit 1
fi

conf="$here/conf.example/tandemd.conf"
"$tandemd" -t -c "$conf"
echo "run-example: serving $here/conf.example on 127.0.0.1:5353; try" >&2
echo "  dig @127.0.0.1 -p 5353 www.example.com" >&2
exec "$tandemd" -c "$conf"
