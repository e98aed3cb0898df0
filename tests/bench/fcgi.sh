#!/bin/bash
# tests/bench/fcgi.sh: the captcha route against FastCGI itself (make bench).
#
#   bash tests/bench/fcgi.sh NOTHING
#
# Behind one nginx, against one private Redis on a unix socket, with the
# same load (wrk, BENCH_THREADS threads and BENCH_CONNECTIONS connections
# for BENCH_SECONDS, a new captcha id per request: tests/load/captcha.lua):
#   1. NOTHING (tests/bench/nothing.c), a libfcgi responder of 4 processes
#      under spawn-fcgi answering a fixed 1 KiB body;
#   2. vcoded's prefork pool (BENCH_WORKERS, default 4 as vcode.conf's
#      default) on the captcha route.
#   3. with BENCH_AGAINST naming another vcoded binary (an earlier
#      build), that one too, so that a change is measured in one run.
# BENCH_ROUNDS rounds (default 3), the two taking turns; each round prints
# both routes' requests/s and p99 and the ratio vcode / nothing, then the
# ratios' median and spread. The goal is a ratio >= 0.5. Figures, not
# checks: the machine is shared, and only a ratio within one round means
# much.
. "$(dirname "$0")/../integration/lib.sh"
NOTHING_SRC=$1
SECS=${BENCH_SECONDS:-8}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-1}
ROUNDS=${BENCH_ROUNDS:-3}
LOAD_DIR=$ROOT/tests/load
export LOAD_DIR
[ -x "$VCODED" ] && [ -x "$NOTHING_SRC" ] ||
    { echo "bench: build first (make bench builds both)" >&2; exit 1; }
command -v wrk >/dev/null ||
    { echo "bench: wrk missing (sh deploy/deps.sh load)" >&2; exit 1; }
it_init
cp "$NOTHING_SRC" "$T/nothing"
start_redis
start_nginx
write_conf "log_level = warn" "workers = ${BENCH_WORKERS:-4}"

# load NAME: wrk on the running pool; its figures in $T/wrk.NAME.
load() {
	wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 5s --latency \
	    -s "$LOAD_DIR/captcha.lua" "$BASE" -- "$1" >"$T/wrk.$1" 2>&1
	grep -q '^rps ' "$T/wrk.$1" ||
	    { echo "bench: wrk failed: $(tail -n 3 "$T/wrk.$1")" >&2; return 1; }
	# Every reply a 200: a pool answering errors fast proves nothing.
	if [ "$(awk '$1 == "status" && $2 != 200 { n += $3 } END { print n + 0 }' \
	    "$T/wrk.$1")" != 0 ]; then
		echo "bench: $1: replies other than 200:" \
		    "$(grep '^status ' "$T/wrk.$1" | tr '\n' ' ')" >&2
		return 1
	fi
}

# ticks PID...: CPU time used so far by these processes, in clock ticks.
ticks() {
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null ||
		    echo 0)))
	done
	echo "$t"
}

# measure NAME PID...: load NAME, and the CPU those processes spent per
# request (user and system, microseconds) into $T/cpu.NAME: a figure the
# other engineers' load on the machine disturbs far less than req/s.
measure() {
	local name=$1 t0 t1
	shift
	t0=$(ticks "$@")
	load "$name" || return 1
	t1=$(ticks "$@")
	awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" \
	    -v n="$(fig "$name" requests)" \
	    'BEGIN { printf "%.0f\n", t * 1e6 / hz / n }' >"$T/cpu.$name"
}

# fig NAME KEY: one of tally.lua's figures.
fig() { awk -v k="$2" '$1 == k { print $2 }' "$T/wrk.$1"; }

start_nothing() {
	local own=""
	[ "$(id -u)" = 0 ] && own="-U www-data -G www-data -u www-data -g www-data"
	rm -f "$VC_SOCK" "$T/nothing.pids"
	# shellcheck disable=SC2086
	spawn-fcgi -s "$VC_SOCK" -M 0660 $own -F 4 -P "$T/nothing.pids" \
	    -- "$T/nothing" >"$T/nothing.out" 2>&1 || return 1
	for p in $(cat "$T/nothing.pids"); do track "$p"; done
	wait_for 5 '[ "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/x")" = 200 ]'
}

stop_nothing() {
	local p
	for p in $(cat "$T/nothing.pids" 2>/dev/null); do stop_pid "$p"; done
	rm -f "$VC_SOCK"
}

: >"$T/ratios"
for r in $(seq "$ROUNDS"); do
	start_nothing || { echo "bench: the responder did not start" >&2; exit 1; }
	measure "nothing$r" $(cat "$T/nothing.pids") || exit 1
	stop_nothing
	start_vcoded prefork && wait_workers "${BENCH_WORKERS:-4}" || exit 1
	measure "captcha$r" $(workers) || exit 1
	stop_vcoded
	rcli flushall >/dev/null
	awk -v r="$r" -v nr="$(fig "nothing$r" rps)" -v np="$(fig "nothing$r" p99_ms)" \
	    -v cr="$(fig "captcha$r" rps)" -v cp="$(fig "captcha$r" p99_ms)" \
	    -v nc="$(cat "$T/cpu.nothing$r")" -v cc="$(cat "$T/cpu.captcha$r")" \
	    'BEGIN { printf "fcgi round %d: do-nothing responder %.0f req/s p99 %.1f ms (%d us CPU a request); captcha %.0f req/s p99 %.1f ms (%d us); ratio %.2f\n",
		r, nr, np, nc, cr, cp, cc, cr / nr; print cr / nr >>"/dev/stderr" }' \
	    2>>"$T/ratios"
	if [ -n "${BENCH_AGAINST:-}" ]; then
		cp "$BENCH_AGAINST" "$T/against"
		this=$VCODED
		VCODED=$T/against
		start_vcoded prefork && wait_workers "${BENCH_WORKERS:-4}" || exit 1
		measure "against$r" $(workers) || exit 1
		stop_vcoded
		VCODED=$this
		rcli flushall >/dev/null
		awk -v r="$r" -v nr="$(fig "nothing$r" rps)" \
		    -v cr="$(fig "against$r" rps)" -v cp="$(fig "against$r" p99_ms)" \
		    -v cc="$(cat "$T/cpu.against$r")" \
		    'BEGIN { printf "fcgi round %d: BENCH_AGAINST captcha %.0f req/s p99 %.1f ms (%d us); ratio %.2f\n",
			r, cr, cp, cc, cr / nr }'
	fi
done
sort -n "$T/ratios" | awk -v c="$CONNS" -v t="$THREADS" -v s="$SECS" '
    { v[NR] = $1 }
    END { printf "fcgi: captcha / do-nothing over %d rounds (wrk -t%d -c%d, %d s): median %.2f, min %.2f, max %.2f; goal >= 0.50: %s\n",
	NR, t, c, s, v[int((NR + 1) / 2)], v[1], v[NR],
	(v[int((NR + 1) / 2)] >= 0.5 ? "met" : "NOT met") }'
it_cleanup
