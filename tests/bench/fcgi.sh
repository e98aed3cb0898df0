#!/bin/bash
# shellcheck disable=SC2046  # lists of PIDs are meant to split into words
# tests/bench/fcgi.sh: vcoded's routes against FastCGI itself and against
# the seed's Python view (make benchfcgi; the first part of make bench).
#
#   bash tests/bench/fcgi.sh NOTHING
#
# Behind one nginx, against one private Redis on a unix socket, with the
# same load (wrk, BENCH_THREADS threads and BENCH_CONNECTIONS connections
# for BENCH_SECONDS, a new captcha id per request: tests/load/captcha.lua;
# tests/load/sms.lua for the SMS route), each round measures:
#   1. NOTHING (tests/bench/nothing.c), a libfcgi responder of 4 processes
#      under spawn-fcgi answering a fixed 1 KiB body;
#   2. vcoded's prefork pool (BENCH_WORKERS, default 4 as vcode.conf's
#      default), one pool for three routes in turn: the captcha
#      (GET /image_codes/ID/), the audio challenge (GET
#      /image_codes/ID/audio) and the SMS route (GET /sms_codes/MOBILE/,
#      sms_provider = log: nothing leaves the machine);
#   3. the seed's captcha view as the Python tutorials teach it
#      (tests/bench/seed_flask.py: Flask, Pillow, redis-py) under gunicorn
#      with 4 sync workers on a socket in the test's folder, proxied by the
#      same nginx at /api/v1.0/ (a copy of deploy/nginx.conf.in with that
#      location added, for this run only);
#   4. with BENCH_AGAINST naming another vcoded binary (an earlier
#      build), its captcha route too, so that a change is measured in one
#      run.
# Every reply must be a 200, and every JSON reply a success (code 0): a
# pool answering errors or refusals fast proves nothing. The SMS route
# therefore gets a new mobile per request and a captcha answer seeded in
# Redis for each (the load cannot read images; loadtest.sh's method), and
# the configuration raises ip_hourly_limit, prefix_hourly_limit and
# sms_hourly_budget to 1000000 (every request comes from 127.0.0.1);
# sms_interval and sms_daily_limit stay as shipped and are not reached.
# The run prints those settings first.
#
# For each route: requests/s, p99, and the CPU its processes used per
# request (user and system; vcoded's master and workers, gunicorn's
# master and workers, the responder's 4), a figure the other load on the
# machine disturbs far less than requests/s. Each round prints its
# figures and the ratios captcha / do-nothing (goal >= 0.5) and vcode
# captcha / seed view; the end, per route the median over BENCH_ROUNDS
# rounds (default 3) with the spread, and the two ratios' medians.
# Figures, not checks: the machine is shared, and only a ratio within one
# round means much.
. "$(dirname "$0")/../integration/lib.sh"
NOTHING_SRC=$1
SECS=${BENCH_SECONDS:-8}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-1}
ROUNDS=${BENCH_ROUNDS:-3}
WORKERS=${BENCH_WORKERS:-4}
# Captcha answers seeded for the SMS route per second of its load: more
# than it can take, since an id that came round again is refused.
SMS_IDS=$((${BENCH_SMS_IDS_PER_SECOND:-15000} * SECS))
LOAD_DIR=$ROOT/tests/load
export LOAD_DIR
[ -x "$VCODED" ] && [ -x "$NOTHING_SRC" ] ||
    { echo "bench: build first (make bench builds both)" >&2; exit 1; }
for t in wrk gunicorn; do
	command -v "$t" >/dev/null ||
	    { echo "bench: $t missing (sh deploy/deps.sh load)" >&2; exit 1; }
done
# Debian's gunicorn runs Debian's python3, whatever python3 PATH finds.
/usr/bin/python3 -c 'import flask, PIL, redis' 2>/dev/null ||
    { echo "bench: Flask, Pillow or redis-py missing (sh deploy/deps.sh load)" >&2; exit 1; }
it_init
cp "$NOTHING_SRC" "$T/nothing"
start_redis
# The seed's route in the same nginx: one location more, before vcode's.
awk '/^[ \t]*location @vcode \{/ {
	print "\t\tlocation /api/v1.0/ {"
	print "\t\t\tproxy_pass http://unix:@RUNDIR@/seed.sock;"
	print "\t\t}"
	print ""
	n++
    }
    { print }
    END { exit n != 1 }' "$ROOT/deploy/nginx.conf.in" >"$T/nginx-bench.conf.in" ||
    { echo "bench: no single 'location @vcode' in deploy/nginx.conf.in" >&2; exit 1; }
NGINX_CONF_IN=$T/nginx-bench.conf.in start_nginx
LIMITS="ip_hourly_limit = 1000000|prefix_hourly_limit = 1000000|sms_hourly_budget = 1000000"
IFS='|' read -r -a limits <<<"$LIMITS"
write_conf "log_level = warn" "workers = $WORKERS" "lang = en" "${limits[@]}"
echo "fcgi: $(nproc) cores; wrk -t$THREADS -c$CONNS, $SECS s a route, $ROUNDS rounds; vcoded workers = $WORKERS, fraud_guard = off, sms_provider = log, lang = en;"
echo "  raised for the SMS route (all requests come from 127.0.0.1): ${LIMITS//|/, };"
echo "  sms_interval and sms_daily_limit as shipped, not reached: each SMS request asks for a new mobile, its captcha answer seeded in Redis"

# load NAME [SCRIPT [ARGS...]]: wrk on the running pool with SCRIPT
# (default captcha.lua, its id tag NAME); its figures in $T/wrk.NAME.
load() {
	local name=$1 script=${2:-captcha.lua} bad
	shift
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] || set -- "$name"
	LOAD_THREADS=$THREADS wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" \
	    --timeout 5s --latency -s "$LOAD_DIR/$script" "$BASE" -- "$@" \
	    >"$T/wrk.$name" 2>&1
	grep -q '^rps ' "$T/wrk.$name" ||
	    { echo "bench: wrk failed: $(tail -n 3 "$T/wrk.$name")" >&2; return 1; }
	# Every reply a 200: a pool answering errors fast proves nothing.
	if [ "$(awk '$1 == "status" && $2 != 200 { n += $3 } END { print n + 0 }' \
	    "$T/wrk.$name")" != 0 ]; then
		echo "bench: $name: replies other than 200:" \
		    "$(grep '^status ' "$T/wrk.$name" | tr '\n' ' ')" >&2
		return 1
	fi
	# Nor refusals in a 200 (the SMS route's limits, a missing captcha).
	bad=$(awk '$1 == "code" && $3 != 0 { n += $2 } END { print n + 0 }' \
	    "$T/wrk.$name")
	if [ "$bad" != 0 ]; then
		echo "bench: $name: $bad JSON replies not a success:" \
		    "$(grep '^code ' "$T/wrk.$name" | tr '\n' ' ')" >&2
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

# measure NAME SCRIPT_ARGS PID...: load NAME (SCRIPT_ARGS: load's script
# and its arguments, one word, split on spaces; "" for captcha.lua with
# tag NAME), and the CPU those processes spent per request (user and
# system, microseconds) into $T/cpu.NAME.
measure() {
	local name=$1 t0 t1
	local -a args
	read -r -a args <<<"$2"
	shift 2
	t0=$(ticks "$@")
	load "$name" "${args[@]}" || return 1
	t1=$(ticks "$@")
	awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" \
	    -v n="$(fig "$name" requests)" \
	    'BEGIN { printf "%.0f\n", t * 1e6 / hz / n }' >"$T/cpu.$name"
}

# fig NAME KEY: one of tally.lua's figures.
fig() { awk -v k="$2" '$1 == k { print $2 }' "$T/wrk.$1"; }

# row ROUTE ROUND: the route's figures of the round, for the summary.
row() {
	echo "$1 $(fig "$1$2" rps) $(fig "$1$2" p99_ms) $(cat "$T/cpu.$1$2")" \
	    >>"$T/rows"
}

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

# start_seed: gunicorn, 4 sync workers (as www-data when we are root, as
# vcoded's and the responder's workers run), on $T/seed.sock; sets
# SEED_PID (the master). Waits for the 4 workers and one captcha.
start_seed() {
	local own=()
	[ "$(id -u)" = 0 ] && own=(-u www-data -g www-data)
	rm -f "$T/seed.sock"
	# No bytecode beside the source: the workers may not write there.
	PYTHONDONTWRITEBYTECODE=1 VCODE_BENCH_REDIS=$REDIS_SOCK \
	    gunicorn -w 4 -b "unix:$T/seed.sock" "${own[@]}" \
	    --chdir "$ROOT/tests/bench" --error-logfile "$T/seed.log" \
	    seed_flask:app >>"$T/seed.log" 2>&1 &
	SEED_PID=$!
	track "$SEED_PID"
	wait_for 20 '[ "$(set -- $(children "$SEED_PID"); echo $#)" = 4 ] &&
	    [ "$(curl -s -o /dev/null -w "%{http_code} %{content_type}" \
	    "$BASE/api/v1.0/image_codes/probe-seed")" = "200 image/png" ]' ||
	    { echo "bench: gunicorn did not serve the seed view: $(tail -n 3 "$T/seed.log")" >&2; return 1; }
}

stop_seed() {
	local p c
	c=$(children "$SEED_PID")
	stop_pid "$SEED_PID"
	for p in $c; do stop_pid "$p"; done
	rm -f "$T/seed.sock"
}

# seed_answers TAG: SMS_IDS captcha answers in Redis (answers_pipe).
seed_answers() {
	answers_pipe "$1" "$SMS_IDS" $((SECS + 300)) |
	    timeout 120 redis-cli -s "$REDIS_SOCK" --pipe >"$T/seed.out" 2>&1 ||
	    { echo "bench: seeding captcha answers failed: $(tail -n 2 "$T/seed.out")" >&2; return 1; }
}

: >"$T/ratios"
: >"$T/seedratios"
: >"$T/rows"
for r in $(seq "$ROUNDS"); do
	start_nothing || { echo "bench: the responder did not start" >&2; exit 1; }
	measure "nothing$r" "" $(cat "$T/nothing.pids") || exit 1
	stop_nothing
	# Before the pool starts, so that seeding does not run beside it.
	seed_answers "sms$r" || exit 1
	start_vcoded prefork && wait_workers "$WORKERS" || exit 1
	measure "captcha$r" "" "$VC_MASTER" $(workers) || exit 1
	measure "audio$r" "captcha.lua audio$r /image_codes/%s/audio" \
	    "$VC_MASTER" $(workers) || exit 1
	# One request per mobile (REPEAT 1), mobiles 15NNNNNNNNN.
	if ! measure "sms$r" "sms.lua sms$r $SMS_IDS 5 1" "$VC_MASTER" $(workers); then
		n=$(fig "sms$r" requests)
		[ "${n:-0}" -gt "$SMS_IDS" ] &&
		    echo "bench: sms$r: $n requests, more than the $SMS_IDS answers seeded: raise BENCH_SMS_IDS_PER_SECOND" >&2
		exit 1
	fi
	stop_vcoded
	rcli flushall >/dev/null
	start_seed || exit 1
	measure "seed$r" "captcha.lua seed$r /api/v1.0/image_codes/%s" \
	    "$SEED_PID" $(children "$SEED_PID") || exit 1
	stop_seed
	rcli flushall >/dev/null
	for k in nothing captcha audio sms seed; do row "$k" "$r"; done
	awk -v r="$r" -v nr="$(fig "nothing$r" rps)" -v np="$(fig "nothing$r" p99_ms)" \
	    -v cr="$(fig "captcha$r" rps)" -v cp="$(fig "captcha$r" p99_ms)" \
	    -v nc="$(cat "$T/cpu.nothing$r")" -v cc="$(cat "$T/cpu.captcha$r")" \
	    'BEGIN { printf "fcgi round %d: do-nothing responder %.0f req/s p99 %.1f ms (%d us CPU a request); captcha %.0f req/s p99 %.1f ms (%d us); ratio %.2f\n",
		r, nr, np, nc, cr, cp, cc, cr / nr; print cr / nr >>"/dev/stderr" }' \
	    2>>"$T/ratios"
	awk -v r="$r" -v ar="$(fig "audio$r" rps)" -v ap="$(fig "audio$r" p99_ms)" \
	    -v ac="$(cat "$T/cpu.audio$r")" -v sr="$(fig "sms$r" rps)" \
	    -v sp="$(fig "sms$r" p99_ms)" -v sc="$(cat "$T/cpu.sms$r")" \
	    'BEGIN { printf "fcgi round %d: audio %.0f req/s p99 %.1f ms (%d us); SMS %.0f req/s p99 %.1f ms (%d us), every one sent\n",
		r, ar, ap, ac, sr, sp, sc }'
	awk -v r="$r" -v fr="$(fig "seed$r" rps)" -v fp="$(fig "seed$r" p99_ms)" \
	    -v fc="$(cat "$T/cpu.seed$r")" -v cr="$(fig "captcha$r" rps)" \
	    'BEGIN { printf "fcgi round %d: seed Flask view (gunicorn, 4 sync workers) %.0f req/s p99 %.1f ms (%d us); vcode captcha / seed %.1f\n",
		r, fr, fp, fc, cr / fr; print cr / fr >>"/dev/stderr" }' \
	    2>>"$T/seedratios"
	if [ -n "${BENCH_AGAINST:-}" ]; then
		cp "$BENCH_AGAINST" "$T/against"
		this=$VCODED
		VCODED=$T/against
		start_vcoded prefork && wait_workers "$WORKERS" || exit 1
		measure "against$r" "" "$VC_MASTER" $(workers) || exit 1
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
# med ROUTE FIELD FORMAT: the median of a figure over the rounds (FIELD of
# $T/rows: 2 req/s, 3 p99, 4 CPU) and its spread, "M [MIN - MAX]".
med() {
	awk -v k="$1" '$1 == k' "$T/rows" | sort -n -k"$2,$2" |
	    awk -v f="$2" -v fmt="$3 [$3 - $3]" '{ v[NR] = $f }
	    END { printf fmt, v[int((NR + 1) / 2)], v[1], v[NR] }'
}

# Per route, in the order measured.
echo "fcgi: medians over $ROUNDS rounds [min - max]:"
printf '  %-44s %-22s %-22s %s\n' route 'req/s' 'p99 ms' 'CPU us a request'
for k in nothing captcha audio sms seed; do
	case $k in
	nothing) l="do-nothing libfcgi responder (4 processes)" ;;
	captcha) l="vcoded captcha" ;;
	audio) l="vcoded audio" ;;
	sms) l="vcoded SMS (log provider, all sent)" ;;
	seed) l="seed Flask view (gunicorn, 4 sync workers)" ;;
	esac
	printf '  %-44s %-22s %-22s %s\n' "$l" "$(med "$k" 2 %.0f)" \
	    "$(med "$k" 3 %.1f)" "$(med "$k" 4 %.0f)"
done
sort -n "$T/ratios" | awk -v c="$CONNS" -v t="$THREADS" -v s="$SECS" '
    { v[NR] = $1 }
    END { printf "fcgi: captcha / do-nothing over %d rounds (wrk -t%d -c%d, %d s): median %.2f, min %.2f, max %.2f; goal >= 0.50: %s\n",
	NR, t, c, s, v[int((NR + 1) / 2)], v[1], v[NR],
	(v[int((NR + 1) / 2)] >= 0.5 ? "met" : "NOT met") }'
sort -n "$T/seedratios" | awk '
    { v[NR] = $1 }
    END { printf "fcgi: vcode captcha / seed Flask view over %d rounds: median %.1f, min %.1f, max %.1f\n",
	NR, v[int((NR + 1) / 2)], v[1], v[NR] }'
it_cleanup
