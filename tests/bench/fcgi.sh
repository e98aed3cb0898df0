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
#   2. vcoded's prefork pool (BENCH_WORKERS, default: the configuration's
#      default) on the captcha route.
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
write_conf "log_level = warn" ${BENCH_WORKERS:+"workers = $BENCH_WORKERS"}

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
	load "nothing$r" || exit 1
	stop_nothing
	start_vcoded prefork || exit 1
	load "captcha$r" || exit 1
	stop_vcoded
	rcli flushall >/dev/null
	awk -v r="$r" -v nr="$(fig "nothing$r" rps)" -v np="$(fig "nothing$r" p99_ms)" \
	    -v cr="$(fig "captcha$r" rps)" -v cp="$(fig "captcha$r" p99_ms)" \
	    'BEGIN { printf "fcgi round %d: do-nothing responder %.0f req/s p99 %.1f ms; captcha %.0f req/s p99 %.1f ms; ratio %.2f\n",
		r, nr, np, cr, cp, cr / nr; print cr / nr >>"/dev/stderr" }' \
	    2>>"$T/ratios"
done
sort -n "$T/ratios" | awk -v c="$CONNS" -v t="$THREADS" -v s="$SECS" '
    { v[NR] = $1 }
    END { printf "fcgi: captcha / do-nothing over %d rounds (wrk -t%d -c%d, %d s): median %.2f, min %.2f, max %.2f; goal >= 0.50: %s\n",
	NR, t, c, s, v[int((NR + 1) / 2)], v[1], v[NR],
	(v[int((NR + 1) / 2)] >= 0.5 ? "met" : "NOT met") }'
it_cleanup
