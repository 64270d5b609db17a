#!/usr/bin/env bash
# Runs the libFuzzer targets built in BUILD (cmake -DTANDEM_FUZZ=ON, clang;
# `make fuzz` does both), each for SECONDS, JOBS at a time, and prints one
# line per target: executions, executions per second, coverage, corpus size
# and the result. Exits 1 when any target found a crash, a hang (one input
# over 10 s), a leak, an out-of-memory or a sanitizer report; the input is
# saved under BUILD/fuzz/artifacts/TARGET/ and the report is in
# BUILD/fuzz/logs/TARGET.log.
#
#   tests/fuzz/run.sh [-b BUILD] [-t SECONDS] [-j JOBS] [--keep-going] [TARGET...]
#   tests/fuzz/run.sh [-b BUILD] --replay [TARGET...]
#
# Each target starts from its seeds (tests/fuzz/corpus/TARGET, read only)
# and from what earlier runs found (BUILD/fuzz/corpus/TARGET, where new
# inputs go). --replay runs the saved reproducers of tests/fuzz/crashes/
# once each and says which still fail: for checking a fix, not part of
# `make fuzz`. --keep-going restarts a target that failed for the time it
# has left (a long run past a known bug); its result counts the failures.
# FUZZ_FLAGS adds libFuzzer flags to every run.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=build-fuzz
seconds=60
jobs=2
replay=0
keep_going=0
all_targets="answer msg zone_load xfrin tsig conf control"

while [ $# -gt 0 ]; do
	case "$1" in
	-b) build=$2; shift 2 ;;
	-t) seconds=$2; shift 2 ;;
	-j) jobs=$2; shift 2 ;;
	--replay) replay=1; shift ;;
	--keep-going) keep_going=1; shift ;;
	-h|--help) sed -n '2,22p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
targets=${*:-$all_targets}
bin=$build/tests/fuzz
work=$build/fuzz
for t in $targets; do
	if [ ! -x "$bin/fuzz_$t" ]; then
		echo "run.sh: $bin/fuzz_$t is not built (make fuzz builds it)" >&2
		exit 2
	fi
done

# Leaks are findings; UBSan stops at the first report (the build also
# has -fno-sanitize-recover=undefined).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A leak inside ldns is not ours to fix (see lsan.supp).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
# Extra libFuzzer flags for every target, e.g. FUZZ_FLAGS="-jobs=4".
flags=${FUZZ_FLAGS:-}

# Per-target libFuzzer options.
options() {
	case "$1" in
	control) echo "-max_len=8192" ;; # past CONTROL_MAX_REQUEST
	zone_load) echo "-max_len=8192" ;;
	*) echo "" ;;
	esac
	if [ -f "$here/$1.dict" ]; then
		echo "-dict=$here/$1.dict"
	fi
}

if [ "$replay" = 1 ]; then
	status=0
	mkdir -p "$work"
	for t in $targets; do
		dir=$here/crashes/$t
		[ -d "$dir" ] || continue
		for f in "$dir"/*; do
			[ -f "$f" ] || continue
			if timeout -k 5 60 "$bin/fuzz_$t" -timeout=10 \
				$(options "$t") "$f" >"$work/replay.log" 2>&1; then
				echo "$t: $(basename "$f"): passes now"
			else
				echo "$t: $(basename "$f"): still fails"
				status=1
			fi
		done
	done
	exit $status
fi

mkdir -p "$work/logs"
# One target for $seconds: one libFuzzer run, or with --keep-going a new
# run for the time left after each failure. Writes TARGET.log (all runs),
# TARGET.rc (the first failure's exit status, else 0), TARGET.fails and
# TARGET.secs.
run_one() {
	local t=$1
	local corpus=$work/corpus/$t artifacts=$work/artifacts/$t/
	local log=$work/logs/$t.log begin now left rc first=0 fails=0
	mkdir -p "$corpus" "$artifacts"
	: >"$log"
	begin=$(date +%s)
	left=$seconds
	while [ "$left" -gt 0 ]; do
		# timeout(1) is the backstop for a fuzzer that does not stop
		# by itself: startup and the final report get two minutes.
		timeout -k 10 $((left + 120)) "$bin/fuzz_$t" \
			-max_total_time="$left" -timeout=10 -rss_limit_mb=2560 \
			-print_final_stats=1 -artifact_prefix="$artifacts" \
			$(options "$t") $flags "$corpus" "$here/corpus/$t" \
			>>"$log" 2>&1
		rc=$?
		now=$(date +%s)
		left=$((seconds - (now - begin)))
		[ "$rc" = 0 ] && break
		fails=$((fails + 1))
		[ "$first" = 0 ] && first=$rc
		[ "$keep_going" = 1 ] || break
		echo "fuzz: $t failed (exit $rc), going on for ${left}s" >&2
	done
	echo "$first" >"$work/logs/$t.rc"
	echo "$fails" >"$work/logs/$t.fails"
	echo $(($(date +%s) - begin)) >"$work/logs/$t.secs"
}

start=$(date +%s)
for t in $targets; do
	rm -f "$work/logs/$t.rc"
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	echo "fuzz: $t for ${seconds}s" >&2
	run_one "$t" &
done
wait

status=0
printf '%-10s %11s %7s %5s %6s %10s  %s\n' target executions exec/s cov ft corpus result
for t in $targets; do
	log=$work/logs/$t.log
	rc=$(cat "$work/logs/$t.rc" 2>/dev/null || echo "?")
	fails=$(cat "$work/logs/$t.fails" 2>/dev/null || echo "?")
	secs=$(cat "$work/logs/$t.secs" 2>/dev/null || echo 0)
	# summed over the runs (several with --keep-going)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
		awk '{ n += $1 } END { print n + 0 }')
	speed=$(awk -v n="$execs" -v s="$secs" 'BEGIN { if (s > 0) printf "%d", n / s; else print "-" }')
	last=$(grep -a -E '^#[0-9]+.*cov: ' "$log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
	if [ "$rc" = 0 ]; then
		result=ok
	else
		status=1
		case "$rc" in
		124|137) result="killed by timeout(1)" ;;
		*) result="FAILED (exit $rc): $(grep -a -m1 -E 'ERROR:|invariant failed' "$log" | cut -c1-100)" ;;
		esac
		[ "$fails" != 1 ] && result="$fails failures, first: $result"
		result="$result; see $log"
	fi
	printf '%-10s %11s %7s %5s %6s %10s  %s\n' "$t" "${execs:--}" \
		"${speed:--}" "${cov:--}" "${ft:--}" "${corp:--}" "$result"
done
echo "fuzz: $(($(date +%s) - start))s in all" >&2
if [ "$status" != 0 ]; then
	echo "fuzz: failing inputs are in $work/artifacts/" >&2
fi
exit $status
