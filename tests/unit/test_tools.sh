#!/bin/sh
# test_tools.sh -- tandemctl, tandem-keygen and tandem-checkzone run as
# programs.
#
#   sh test_tools.sh TANDEMCTL TANDEM-KEYGEN TANDEM-CHECKZONE DATA-DIR
#
# tandemctl talks to a fake daemon (a few lines of Python on a UNIX socket)
# that records the request and sends a canned answer. Every program runs
# under timeout(1); the temp directory and the fake daemons are removed on
# exit. Prints "tools: N passed, N failed" and exits 1 if any failed.

CTL=$1
KEYGEN=$2
CHECKZONE=$3
DATA=$4
PY=/usr/bin/python3
if [ ! -x "$CTL" ] || [ ! -x "$KEYGEN" ] || [ ! -x "$CHECKZONE" ] ||
	[ ! -d "$DATA" ]; then
	echo "usage: sh test_tools.sh TANDEMCTL TANDEM-KEYGEN" \
		"TANDEM-CHECKZONE DATA-DIR" >&2
	exit 2
fi

tmp=$(mktemp -d /tmp/tandem-tools-XXXXXX) || exit 2
pids=
cleanup() {
	for pid in $pids; do
		kill "$pid" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

passed=0
failed=0
pass() {
	passed=$((passed + 1))
	echo "ok - $1"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL - $1"
	if [ -s "$tmp/out" ]; then sed 's/^/  stdout: /' "$tmp/out"; fi
	if [ -s "$tmp/err" ]; then sed 's/^/  stderr: /' "$tmp/err"; fi
	echo "  exit: $rc"
}
# check DESCRIPTION CONDITION: passes when the shell condition (evaluated
# now, so quote it) holds.
check() {
	if eval "$2"; then pass "$1"; else fail "$1"; fi
}
# run PROGRAM ARGS...: runs it bounded, output in $tmp/out and $tmp/err,
# exit code in $rc.
run() {
	timeout 20 "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
out_is() { [ "$(cat "$tmp/out")" = "$1" ]; }
err_is() { [ "$(cat "$tmp/err")" = "$1" ]; }
err_has() { grep -qF -- "$1" "$tmp/err"; }

# ---- tandem-keygen -------------------------------------------------------

run "$KEYGEN" xfr.example
check "keygen: exit 0" '[ "$rc" = 0 ]'
check "keygen: four lines" '[ "$(wc -l <"$tmp/out")" = 4 ]'
check "keygen: clause and name" '[ "$(sed -n 1,2p "$tmp/out")" = "key:
    name: xfr.example" ]'
check "keygen: default algorithm" \
	'[ "$(sed -n 3p "$tmp/out")" = "    algorithm: hmac-sha256" ]'
check "keygen: quoted base64 secret" \
	'grep -qE "^    secret: \"[A-Za-z0-9+/]+=*\"\$" "$tmp/out"'
first=$(sed -n 4p "$tmp/out")
run "$KEYGEN" xfr.example
check "keygen: a fresh secret each time" \
	'[ "$(sed -n 4p "$tmp/out")" != "$first" ]'

for pair in md5:16 sha1:20 sha224:28 sha256:32 sha384:48 sha512:64; do
	alg=hmac-${pair%:*}
	want=${pair#*:}
	run "$KEYGEN" key.example. "$alg"
	secret=$(sed -n 's/^    secret: "\(.*\)"$/\1/p' "$tmp/out")
	got=$(printf '%s' "$secret" | base64 -d 2>/dev/null | wc -c)
	check "keygen: $alg secret is $want bytes" \
		'[ "$rc" = 0 ] && [ "$got" -eq "$want" ] &&
		[ "$(sed -n 3p "$tmp/out")" = "    algorithm: $alg" ]'
done

run "$KEYGEN" k.example HMAC-SHA384
check "keygen: algorithm case-insensitive, printed canonically" \
	'[ "$rc" = 0 ] && [ "$(sed -n 3p "$tmp/out")" = "    algorithm: hmac-sha384" ]'
run "$KEYGEN" 'odd#name.example'
want='    name: "odd#name.example"'
check "keygen: a name with '#' is quoted" '[ "$(sed -n 2p "$tmp/out")" = "$want" ]'
run "$KEYGEN" k.example hmac-sha3
check "keygen: unknown algorithm -> exit 1" \
	'[ "$rc" = 1 ] && err_has "unknown algorithm" && [ ! -s "$tmp/out" ]'
run "$KEYGEN" 'a..b'
check "keygen: bad name -> exit 1" '[ "$rc" = 1 ] && err_has "bad key name"'
long=$(printf '%070d' 0)
run "$KEYGEN" "$long.example"
check "keygen: label over 63 -> exit 1" '[ "$rc" = 1 ]'
run "$KEYGEN"
check "keygen: no name -> exit 2" '[ "$rc" = 2 ] && err_has usage'
run "$KEYGEN" a b c
check "keygen: too many arguments -> exit 2" '[ "$rc" = 2 ]'

# ---- tandemctl: finding the socket ---------------------------------------

run "$CTL" -s "$tmp/none.ctl" status
check "ctl: missing socket -> exit 2 naming it" '[ "$rc" = 2 ] &&
	err_is "tandemctl: cannot connect to $tmp/none.ctl: No such file or directory"'

mkdir "$tmp/etc"
etc=$(cd "$tmp/etc" && pwd -P)
cat >"$tmp/etc/a.conf" <<'EOF'
# control: /wrong/top-level.ctl
server:
    listen: 127.0.0.1@5353   # a comment
    storage: /wrong/storage
    control: run/ctl.sock    # relative to this file
zone:
    name: example.com
    control: /wrong/zone.ctl
EOF
run "$CTL" -c "$tmp/etc/a.conf" status
check "ctl -c: control: relative to the config's directory" \
	'[ "$rc" = 2 ] && err_has "cannot connect to $etc/run/ctl.sock:"'

cat >"$tmp/etc/b.conf" <<EOF
server:
	storage: "st" # quoted
zone:
	name: example.com
server:
	workers: 2
EOF
run "$CTL" -c "$tmp/etc/b.conf" status
check "ctl -c: storage: gives <storage>/tandemd.ctl" \
	'[ "$rc" = 2 ] && err_has "cannot connect to $etc/st/tandemd.ctl:"'

cat >"$tmp/etc/c.conf" <<EOF
server:
    control: "$tmp/odd#name.ctl"   # '#' inside quotes is data
    storage: /wrong
EOF
run "$CTL" -c "$tmp/etc/c.conf" status
check "ctl -c: quoted control: with '#', absolute" \
	'[ "$rc" = 2 ] && err_has "cannot connect to $tmp/odd#name.ctl:"'

printf 'server:\n    workers: 1\n' >"$tmp/etc/d.conf"
run "$CTL" -c "$tmp/etc/d.conf" status
check "ctl -c: neither gives /run/tandem/tandemd.ctl" \
	'err_has "/run/tandem/tandemd.ctl"'

run "$CTL" -c "$tmp/etc/missing.conf" status
check "ctl -c: unreadable config -> exit 2" \
	'[ "$rc" = 2 ] && err_has "cannot read $tmp/etc/missing.conf"'
run "$CTL" -c "$tmp/etc/a.conf" -s "$tmp/x" status
check "ctl: -c and -s together -> exit 2" '[ "$rc" = 2 ] && err_has usage'
run "$CTL" -s "$tmp/x"
check "ctl: no command -> exit 2" '[ "$rc" = 2 ] && err_has usage'
run "$CTL" -t soon -s "$tmp/x" status
check "ctl: bad -t -> exit 2" '[ "$rc" = 2 ]'

# ---- tandemctl against a fake daemon -------------------------------------

cat >"$tmp/fake.py" <<'EOF'
# fake.py SOCKET ANSWER-FILE REQUEST-FILE READY-FILE: serves one client.
import socket, sys, time
path, answer_file, request_file, ready = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
open(ready, "w").close()
s.settimeout(20)
c, _ = s.accept()
c.settimeout(20)
data = b""
while b"\n" not in data:
    chunk = c.recv(4096)
    if not chunk:
        break
    data += chunk
open(request_file, "wb").write(data)
answer = open(answer_file, "rb").read()
if answer == b"SILENT":
    time.sleep(20)
c.sendall(answer)
c.close()
EOF

n=0
# fake ANSWER: starts a fake daemon at $sock that answers ANSWER (printf
# format) to one client and records the request in $tmp/request.
fake() {
	n=$((n + 1))
	sock=$tmp/fake$n.ctl
	printf "$1" >"$tmp/answer"
	rm -f "$tmp/ready" "$tmp/request"
	$PY "$tmp/fake.py" "$sock" "$tmp/answer" "$tmp/request" "$tmp/ready" &
	fake_pid=$!
	pids="$pids $fake_pid"
	i=0
	while [ ! -e "$tmp/ready" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
# Waits for the fake daemon to finish (it has its own timeouts).
fake_done() {
	wait "$fake_pid" 2>/dev/null
}

fake 'line one\nline two\nok\n'
run "$CTL" -s "$sock" status
fake_done
check "ctl: ok -> exit 0, lines on stdout" '[ "$rc" = 0 ] && out_is "line one
line two" && [ ! -s "$tmp/err" ]'
check "ctl: sends the command line" '[ "$(cat "$tmp/request")" = status ]'

fake 'partial\nerror: no such zone\n'
run "$CTL" -s "$sock" zonestatus nowhere.example
fake_done
check "ctl: error -> exit 1, reason on stderr" \
	'[ "$rc" = 1 ] && out_is partial && err_is "error: no such zone"'

fake 'ok\n'
run "$CTL" -s "$sock" reload 'a b.example' 'q"x' '' 'back\slash' plain
fake_done
want='reload "a b.example" "q\"x" "" back\slash plain'
check "ctl: arguments with blanks or quotes are quoted" \
	'[ "$rc" = 0 ] && [ "$(cat "$tmp/request")" = "$want" ]'

fake 'ok'
run "$CTL" -s "$sock" stats
fake_done
check "ctl: a last line without newline counts" '[ "$rc" = 0 ] && out_is ""'

fake 'something\n'
run "$CTL" -s "$sock" status
fake_done
check "ctl: no ok/error at the end -> exit 2" \
	'[ "$rc" = 2 ] && out_is something && err_has "without ok or error"'

fake ''
run "$CTL" -s "$sock" status
fake_done
check "ctl: closed without an answer -> exit 2" \
	'[ "$rc" = 2 ] && err_has "without ok or error"'

fake 'SILENT'
start=$(date +%s)
run "$CTL" -t 1 -s "$sock" status
took=$(($(date +%s) - start))
kill "$fake_pid" 2>/dev/null
fake_done
check "ctl: -t bounds the wait -> exit 2" \
	'[ "$rc" = 2 ] && err_has "in time" && [ "$took" -le 5 ]'

run "$CTL" -s "$tmp/x" status "$(printf 'a\nb')"
check "ctl: an argument with a newline -> exit 2" \
	'[ "$rc" = 2 ] && err_has "line break"'
run "$CTL" -s "$tmp/x" status "$(printf '%05000d' 0)"
check "ctl: request over the limit -> exit 2" \
	'[ "$rc" = 2 ] && err_has "longer than"'

# ---- tandem-checkzone ----------------------------------------------------

run "$CHECKZONE" example.com "$DATA/example.com.zone"
check "checkzone: a good zone -> exit 0 and the summary" \
	'[ "$rc" = 0 ] && out_is "zone example.com.: serial 2024010101, 38 names, 47 RRs"'
run "$CHECKZONE" example. "$DATA/signed-nsec3.zone"
check "checkzone: NSEC3-signed zone" \
	'[ "$rc" = 0 ] && [ "$(sed -n 2p "$tmp/out")" = "dnssec: signed, NSEC3 (iterations 3, salt 00ff), 9 NSEC3 owners" ]'
run "$CHECKZONE" example. "$DATA/signed-nsec.zone"
check "checkzone: NSEC-signed zone" \
	'[ "$rc" = 0 ] && [ "$(sed -n 2p "$tmp/out")" = "dnssec: signed, NSEC" ]'
printf '$TTL 300\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nwww CNAME a\nwww A 192.0.2.1\n' \
	>"$tmp/bad.zone"
run "$CHECKZONE" bad.example "$tmp/bad.zone"
check "checkzone: CNAME and other data -> exit 1 with file:line" \
	'[ "$rc" = 1 ] && err_has "$tmp/bad.zone:4" && err_has "CNAME and other data"'
run "$CHECKZONE" example.com "$tmp/missing.zone"
check "checkzone: missing file -> exit 1" '[ "$rc" = 1 ] && [ -s "$tmp/err" ]'

echo "tools: $passed passed, $failed failed"
[ "$failed" = 0 ]
