#!/bin/sh
# tests/load/loadtest.sh: load and fault runs against the real stack
# (make loadtest; not part of make test).
#
#   sh tests/load/loadtest.sh
#   PHASE_SECONDS=10 sh tests/load/loadtest.sh      # a quick look
#
# The stack is the integration tests' (tests/integration/lib.sh): a
# private redis-server (appendonly yes) on a socket in a temporary
# folder, nginx on a free 127.0.0.1 port, vcoded's prefork pool with
# queued delivery (sms_delivery = queue, its master running smsd_workers
# senders) to the stand-in provider (fake_sms.py, webhook). wrk drives
# it; each phase lasts PHASE_SECONDS:
#   1. captcha: GET /image_codes/ID/, a new id per request;
#   2. sms: GET /sms_codes/MOBILE/?image_code=&uuid=, answers seeded in
#      Redis (the load cannot read images);
#   3. captcha and SMS load together, and a third of the way in one fault:
#      a worker SIGKILLed (the master respawns it); Redis stopped and
#      started on the same socket; the provider stopped for 10 s; and,
#      when this vcoded takes redis_sentinels, the primary of a Sentinel
#      set (primary, replica, 3 sentinels) SIGKILLed.
# Each phase prints requests/s, p50/p99 latency, failures by cause and the
# web workers' RSS before and after. At the end, once the queue is empty,
# every SMS the server accepted is looked for at the provider. The report
# is printed and written to tests/load/last.txt (LOAD_OUT). README.md in
# this folder says how to read it.
#
# Knobs (environment): PHASE_SECONDS (60), LOAD_WORKERS (4), LOAD_SENDERS
# (2), LOAD_CONNECTIONS (32), LOAD_THREADS (2, the wrk threads of phases
# 1 and 2), LOAD_REPEAT (4 SMS requests per mobile, one of them sent),
# LOAD_IDS_PER_SECOND (5000 seeded captcha answers per second of a
# phase), LOAD_RECOVER (5 s after a fault in which failures are still
# forgiven), LOAD_DRAIN (180 s to wait for the queue to empty), LOAD_OUT,
# IT_KEEP=1 keeps the temporary folder (logs, wrk's output per phase).
#
# Exit status: 0 when every invariant holds (worker RSS within 10 % of
# the warm baseline; no SMS lost or delivered twice, none sent twice to
# one mobile within the resend interval; a killed worker replaced; no
# failed reply outside a fault and its LOAD_RECOVER seconds; every reply
# that said sent counted by the server), 1 otherwise, 2 when a tool is
# missing.

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

LOAD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/lib.sh
. "$LOAD_DIR/../integration/lib.sh"
export LOAD_DIR

PHASE=${PHASE_SECONDS:-60}
WORKERS=${LOAD_WORKERS:-4}
SENDERS=${LOAD_SENDERS:-2}
CONNS=${LOAD_CONNECTIONS:-32}
THREADS=${LOAD_THREADS:-2}
REPEAT=${LOAD_REPEAT:-4}
IDS_PER_SECOND=${LOAD_IDS_PER_SECOND:-5000}
RECOVER=${LOAD_RECOVER:-5}
DRAIN=${LOAD_DRAIN:-180}
OUT=${LOAD_OUT:-$LOAD_DIR/last.txt}
NIDS=$((IDS_PER_SECOND * PHASE))
WARM=5

for t in wrk redis-server redis-cli nginx python3 jq; do
	command -v "$t" >/dev/null ||
	    { echo "loadtest: $t not found (make loadtest installs it)" >&2; exit 2; }
done
[ "$PHASE" -ge 10 ] 2>/dev/null ||
    { echo "loadtest: PHASE_SECONDS must be a number >= 10" >&2; exit 2; }

need_vcoded
it_init
it_move vcode-load
REPORT=$T/report
ROWS=$T/rows
: >"$REPORT"
: >"$ROWS"
FAILS=0
# The Redis the phase runs against, for lcli.
LCLI_ARGS="-s $REDIS_SOCK"

# ---- reporting --------------------------------------------------------------

# say TEXT: a line of the report (printed and kept for last.txt).
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }

# invariant NAME OK DETAIL: OK is yes or no; a no counts against the exit
# status.
invariant() {
	if [ "$2" = yes ]; then
		say "  ok    $1: $3"
	else
		FAILS=$((FAILS + 1))
		say "  FAIL  $1: $3"
	fi
}

# lcli ARGS...: redis-cli on the phase's Redis.
# shellcheck disable=SC2086
lcli() { timeout 10 redis-cli $LCLI_ARGS "$@"; }

ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- the web workers and their memory ------------------------------------------

# senders: PIDs of the master's senders (each logs "sending from" once).
senders() {
	sed -n 's/.*vcoded\[\([0-9]*\)\].*sending from.*/\1/p' "$T/vcoded.stderr" |
	    sort -u | tr '\n' ' '
}

# web_workers: the master's live children that are not senders.
web_workers() {
	local s p out=""
	s=" $(senders) "
	for p in $(children "$VC_MASTER"); do
		case $s in *" $p "*) ;; *) out="$out $p" ;; esac
	done
	echo "${out# }"
}

# senders_up: the master has SENDERS children that said "sending from".
senders_up() {
	[ $(($(children "$VC_MASTER" | wc -w) - $(web_workers | wc -w))) -ge "$SENDERS" ]
}

# rss_snap FILE: "PID KB" for each web worker (VmRSS).
rss_snap() {
	local p
	for p in $(web_workers); do
		echo "$p $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)"
	done >"$1"
}

# rss_show FILE: "SUM MiB (PID KB, ...)".
rss_show() {
	awk '{ s += $2; l = l sep $1 " " $2; sep = ", " }
	    END { printf "%.1f MiB (%s kB)", s / 1024, l }' "$1"
}

# rss_check NAME BEFORE AFTER: the sum, and each worker alive in both, at
# most 10 % above BEFORE.
rss_check() {
	local verdict
	verdict=$(awk 'NR == FNR { b[$1] = $2; bs += $2; next }
	    { as += $2; if ($1 in b && $2 > b[$1] * 1.10) grew = grew " " $1 }
	    END { ok = (as <= bs * 1.10 && grew == "") ? "yes" : "no"
		printf "%s sum %+.1f %%%s\n", ok, (as - bs) * 100 / bs,
		    grew == "" ? "" : ", grown over 10 %:" grew }' "$2" "$3")
	invariant "$1" "${verdict%% *}" "${verdict#* }; before $(rss_show "$2"), after $(rss_show "$3")"
}

# ---- the load -------------------------------------------------------------------

# seed TAG: NIDS captcha answers in Redis (answers_pipe).
seed() {
	# shellcheck disable=SC2086
	answers_pipe "$1" "$NIDS" $((PHASE + 300)) |
	    timeout 300 redis-cli $LCLI_ARGS --pipe >"$T/seed.out" 2>&1 ||
	    it_bail "seeding captcha answers failed: $(tail -n 2 "$T/seed.out")"
}

# wrk_start OUT SCRIPT CONNECTIONS THREADS SECONDS [SCRIPT ARGS...]: wrk
# in the background (WRK_PID), its output in OUT.
wrk_start() {
	local out=$1 script=$2 c=$3 th=$4 s=$5
	shift 5
	LOAD_THREADS=$th wrk -t"$th" -c"$c" -d"${s}s" --timeout 5s --latency \
	    -s "$LOAD_DIR/$script" "$BASE" -- "$@" >"$out" 2>&1 &
	WRK_PID=$!
	track "$WRK_PID"
}

# figures NAME ROUTE OUT T0 FROM TO: one route's figures of a phase, from
# tally.lua's lines in OUT (wrk started at T0). Replies that failed (a
# 5xx, DBERR, SMSSENDERR) count against the run unless they fall within
# [FROM, TO + RECOVER] (epoch seconds; FROM -1: no failure is forgiven).
# Appends a row to ROWS.
figures() {
	local name=$1 route=$2 out=$3 t0=$4 from=$5 to=$6 line outside
	if ! grep -q '^rps ' "$out"; then
		invariant "$name/$route: wrk ran" no "$(tail -n 3 "$out" | tr '\n' ' ')"
		return
	fi
	line=$(sort -k1,1 -k2,2nr "$out" | awk -v t0="$t0" -v from="$from" \
	    -v to="$to" -v rec="$RECOVER" -v name="$name" -v route="$route" \
	    -v nids="$NIDS" '
	    $1 == "rps" { rps = $2 }
	    $1 == "requests" { req = $2 }
	    $1 == "p50_ms" { p50 = $2 }
	    $1 == "p99_ms" { p99 = $2 }
	    $1 == "max_ms" { max = $2 }
	    $1 == "socket" { if ($3 > 0) { sk = sk sep2 $2 " " $3; sep2 = ", " }
		skn += $3 }
	    $1 == "status" { st = st sep1 $2 " x" $3; sep1 = ", " }
	    $1 == "code" { n = $2; c = $3; $1 = $2 = $3 = ""; sub(/^ +/, "")
		cd = cd sprintf("\n      %7d  %s %s", n, c, $0)
		if (c == "0" && $0 ~ /sent/) sent += n }
	    $1 == "sec" { if ($4 > 0) {
		t = $2 - t0; bad += $4
		if (first == "" || t < first) first = t
		if (last == "" || t > last) last = t
		if (from < 0 || $2 < from || $2 > to + rec) outside += $4 } }
	    END {
		printf "  %-8s %8.1f req/s  p50 %7.2f ms  p99 %7.2f ms  max %7.1f ms  (%d requests)\n",
		    route, rps, p50, p99, max, req
		printf "           HTTP %s; socket errors: %s\n", st, sk == "" ? "none" : sk
		if (cd != "") printf "           replies by code:%s\n", cd
		if (bad > 0) printf "           failed replies: %d, from +%d s to +%d s of the phase\n", bad, first, last
		if (route == "sms" && req > nids) printf "           note: %d requests, more than the %d seeded captcha answers: ids came round again\n", req, nids
		printf "ROW %s %s %.1f %.2f %.2f %d %d %d %d\n", name, route, rps,
		    p50, p99, bad + 0, skn + 0, sent + 0, outside + 0
	    }')
	printf '%s\n' "$line" | grep -v '^ROW ' | tee -a "$REPORT"
	printf '%s\n' "$line" | sed -n 's/^ROW //p' >>"$ROWS"
	outside=$(printf '%s\n' "$line" | sed -n 's/^ROW .* \([0-9]*\)$/\1/p')
	if [ "$from" -lt 0 ]; then
		invariant "$name/$route: no failed reply" \
		    "$([ "$outside" = 0 ] && echo yes || echo no)" "$outside failed"
	else
		invariant "$name/$route: no failed reply outside the fault and $RECOVER s after it" \
		    "$([ "$outside" = 0 ] && echo yes || echo no)" "$outside failed outside it"
	fi
}

# ---- the phases -------------------------------------------------------------------

# warm_up TAG DIGIT: a few seconds of each route, so that the RSS
# measured after it is a warm worker's (glyphs rasterised, buffers grown),
# not a fresh one's.
warm_up() {
	wrk_start "$T/wrk-warm-captcha.out" captcha.lua "$CONNS" "$THREADS" "$WARM" "w$1"
	wait "$WRK_PID"
	seed "w$1"
	wrk_start "$T/wrk-warm-sms.out" sms.lua "$CONNS" "$THREADS" "$WARM" "w$1" \
	    "$NIDS" "$2" "$REPEAT"
	wait "$WRK_PID"
	grep '^code ' "$T/wrk-warm-sms.out" | awk '$3 == 0 { s += $2 }
	    END { print s + 0 }' >>"$T/warm.sent"
}

# phase_single NAME ROUTE: one route alone, THREADS threads, CONNS
# connections.
phase_single() {
	local name=$1 route=$2 t0
	say ""
	say "phase $name: $route route alone, $CONNS connections, $PHASE s"
	rss_snap "$T/rss-$name.before"
	if [ "$route" = sms ]; then
		seed "$name"
		t0=$(date +%s)
		wrk_start "$T/wrk-$name-sms.out" sms.lua "$CONNS" "$THREADS" "$PHASE" \
		    "$name" "$NIDS" 4 "$REPEAT"
	else
		t0=$(date +%s)
		wrk_start "$T/wrk-$name-captcha.out" captcha.lua "$CONNS" "$THREADS" \
		    "$PHASE" "$name"
	fi
	wait "$WRK_PID"
	rss_snap "$T/rss-$name.after"
	figures "$name" "$route" "$T/wrk-$name-$route.out" "$t0" -1 -1
	say "           worker RSS: before $(rss_show "$T/rss-$name.before"), after $(rss_show "$T/rss-$name.after")"
}

# phase_fault NAME DIGIT INJECT: captcha and SMS load together (one wrk
# thread and half the connections each) for PHASE seconds; a third of the
# way in, the function INJECT causes the fault and sets FAULT_FROM and
# FAULT_TO (epoch seconds; FAULT_FROM -1 when no reply may fail for it)
# and FAULT_NOTE. The SMS mobiles begin 1DIGIT.
phase_fault() {
	local name=$1 digit=$2 inject=$3 t0 cw sw half=$((CONNS / 2))
	say ""
	say "phase $name: captcha + SMS load ($half connections each), $PHASE s; the fault at +$((PHASE / 3)) s"
	seed "$name"
	rss_snap "$T/rss-$name.before"
	t0=$(date +%s)
	wrk_start "$T/wrk-$name-captcha.out" captcha.lua "$half" 1 "$PHASE" "$name"
	cw=$WRK_PID
	wrk_start "$T/wrk-$name-sms.out" sms.lua "$half" 1 "$PHASE" "$name" \
	    "$NIDS" "$digit" "$REPEAT"
	sw=$WRK_PID
	sleep $((PHASE / 3))
	FAULT_FROM=-1
	FAULT_TO=-1
	FAULT_NOTE=""
	"$inject"
	wait "$cw" "$sw"
	rss_snap "$T/rss-$name.after"
	if [ "$FAULT_FROM" -ge 0 ]; then
		say "  fault: $FAULT_NOTE (+$((FAULT_FROM - t0)) s to +$((FAULT_TO - t0)) s)"
	else
		say "  fault: $FAULT_NOTE"
	fi
	figures "$name" captcha "$T/wrk-$name-captcha.out" "$t0" "$FAULT_FROM" "$FAULT_TO"
	figures "$name" sms "$T/wrk-$name-sms.out" "$t0" "$FAULT_FROM" "$FAULT_TO"
	say "           worker RSS: before $(rss_show "$T/rss-$name.before"), after $(rss_show "$T/rss-$name.after")"
	invariant "$name: $WORKERS web workers at the end" \
	    "$(set -- $(web_workers); [ $# = "$WORKERS" ] && echo yes || echo no)" \
	    "$(set -- $(web_workers); echo $#)"
}

# ---- the faults ---------------------------------------------------------------------
# Each runs inside phase_fault, and reports its invariants under that
# phase's name.

# kill_worker: SIGKILL to one web worker; the fault lasts until the master
# has WORKERS again (the time is as polled, every 50 ms or so).
kill_worker() {
	local victim t1 t2 ok=no
	victim=$(set -- $(web_workers); echo "${1:-}")
	[ -n "$victim" ] || { FAULT_NOTE="no worker to kill"; return; }
	FAULT_FROM=$(date +%s)
	t1=$(ms)
	kill -KILL "$victim"
	if wait_for 10 '! alive "$victim" && [ "$(set -- $(web_workers); echo $#)" = "$WORKERS" ]'; then
		ok=yes
	fi
	t2=$(ms)
	FAULT_TO=$(date +%s)
	FAULT_NOTE="worker $victim SIGKILLed; $(set -- $(web_workers); echo $#) workers again within $((t2 - t1)) ms"
	invariant "$name: the master replaced the killed worker" "$ok" \
	    "$(web_workers | wc -w) of $WORKERS web workers within $((t2 - t1)) ms"
}

# restart_redis: redis-server stopped (SIGTERM: it writes the AOF) and
# started again on the same socket; the fault lasts until it answers.
restart_redis() {
	local t1 t2 t3
	FAULT_FROM=$(date +%s)
	t1=$(ms)
	stop_redis
	t2=$(ms)
	start_redis --appendonly yes
	t3=$(ms)
	FAULT_TO=$(date +%s)
	FAULT_NOTE="redis-server stopped (SIGTERM) in $((t2 - t1)) ms, started again on the same socket, answering PING $((t3 - t2)) ms later"
}

# stop_provider: the stand-in away for 10 s (connections refused: the
# senders retry); no reply may fail for it, delivery being queued.
stop_provider() {
	local port=$FP backlog back left=$((PHASE - PHASE / 3 - 10))
	fake_stop
	sleep 10
	backlog="$(lcli xlen vcode:outbox) in the stream, $(lcli zcard vcode:outbox:retry) waiting to retry"
	fake_start "$port"
	back=$(date +%s)
	[ "$left" -ge 1 ] || left=1
	if wait_for "$left" '[ "$(lcli zcard vcode:outbox:retry)" = 0 ]'; then
		back="retry set empty $(($(date +%s) - back)) s after it came back"
	else
		back="retry set not yet empty at the end of the phase"
	fi
	FAULT_NOTE="provider stopped for 10 s (port $port); when it came back: $backlog; $back"
}

# ---- delivery ---------------------------------------------------------------------

# drained: nothing waits in the outbox, the retry set, the senders' hands.
drained() {
	[ "$(lcli xlen vcode:outbox)" = 0 ] &&
	    [ "$(lcli zcard vcode:outbox:retry)" = 0 ] &&
	    [ "$(lcli hlen vcode:outbox:sending)" = 0 ] &&
	    [ "$(lcli xpending vcode:outbox vcode-smsd | head -n 1)" = 0 ]
}

# account NAME DIGITS SENT: per mobile whose second digit is one of
# DIGITS, the SMS the server accepted (vcode:daily:MOBILE, counted by the
# same script that queues the message) against the (mobile, code) pairs
# the stand-in received and accepted. SENT: the replies that said sent.
account() {
	local name=$1 digits=$2 sent=$3 t1 res k unk now last="" moved
	say ""
	say "delivery ($name):"
	t1=$(date +%s)
	# Up to DRAIN seconds, or until nothing has moved for 30 s with no
	# message waiting out a back-off (the senders are not sending).
	while ! drained && [ $(($(date +%s) - t1)) -lt "$DRAIN" ]; do
		set -- "$(lcli xlen vcode:outbox)" "$(lcli zcard vcode:outbox:retry)" \
		    "$(lcli hlen vcode:outbox:sending)" "$(wc -l <"$FLOG")"
		now="$*"
		if [ "$now" != "$last" ]; then
			last=$now
			moved=$(date +%s)
		elif [ "$2" = 0 ] && [ $(($(date +%s) - moved)) -ge 30 ]; then
			break
		fi
		sleep 0.5
	done
	if drained; then
		say "  queue empty $(($(date +%s) - t1)) s after the load ended"
	else
		say "  queue NOT empty after $(($(date +%s) - t1)) s: stream $(lcli xlen vcode:outbox), retry $(lcli zcard vcode:outbox:retry), in hand $(lcli hlen vcode:outbox:sending)"
	fi
	sleep 1
	# Over a million keys by now (the seeded answers, the captchas):
	# SCAN in large steps (redis-cli --scan takes 10 keys a step).
	: >"$T/daily.keys"
	k=0
	while :; do
		lcli scan "$k" match 'vcode:daily:*' count 10000 >"$T/scan.out" ||
		    { invariant "$name: the server's counters read" no "SCAN failed"; break; }
		k=$(head -n 1 "$T/scan.out")
		sed 1d "$T/scan.out" | sed '/^$/d' >>"$T/daily.keys"
		[ "$k" = 0 ] && break
	done
	: >"$T/daily.txt"
	rm -f "$T"/daily.part.*
	split -l 500 "$T/daily.keys" "$T/daily.part."
	for k in "$T"/daily.part.*; do
		[ -s "$k" ] || continue
		# shellcheck disable=SC2046
		lcli mget $(cat "$k") | paste "$k" - >>"$T/daily.txt"
	done
	jq -r 'select(.kind == "webhook") | "\(.ok) \(.mobile) \(.code)"' "$FLOG" \
	    >"$T/delivered.txt"
	res=$(awk -v d="$digits" '
	    function mine(m) { return index(d, substr(m, 2, 1)) > 0 }
	    FILENAME == ARGV[1] { m = $1; sub(/^.*:/, "", m); if (mine(m)) acc[m] = $2; next }
	    !mine($2) { next }
	    $1 != "true" { bad++; next }
	    { t[$2]++; if (!seen[$2 " " $3]++) u[$2]++ }
	    END {
		for (m in acc) all[m] = 1
		for (m in u) all[m] = 1
		for (m in all) {
			a = acc[m] + 0; n = u[m] + 0
			A += a; U += n; N += t[m]; dup += t[m] - n
			if (a > n) lost += a - n
			if (n > a) extra += n - a
			if (a > 1) twice++
		}
		printf "%d %d %d %d %d %d %d %d %d\n", A, N, U, dup, lost, extra, bad,
		    twice, length(acc)
	    }' "$T/daily.txt" "$T/delivered.txt")
	set -- $res
	unk=$(lcli hget vcode:outbox:stats unknown_final)
	unk=${unk:-0}
	say "  accepted: $sent replies said sent; the server counted $1 (vcode:daily:*)"
	[ "$sent" -lt "$1" ] &&
	    say "  note: $(($1 - sent)) accepted without a reply saying so (the script ran, the reply was lost to the fault)"
	invariant "$name: every reply that said sent was counted by the server" \
	    "$([ "$sent" -le "$1" ] && echo yes || echo no)" \
	    "$sent replies, $1 counted"
	say "  provider: $2 requests received, $3 distinct (mobile, code); $7 refused as malformed"
	# A mobile's REPEAT requests come together, well within sms_interval:
	# the one script per request must let exactly one through.
	invariant "$name: one SMS per mobile (its requests came at once)" \
	    "$([ "$8" = 0 ] && echo yes || echo no)" "$8 of $9 mobiles sent more than one"
	say "  outbox stats: $(lcli --json hgetall vcode:outbox:stats | jq -c . 2>/dev/null)"
	say "  dead letters: $(lcli xlen vcode:outbox:dead)"
	invariant "$name: no SMS delivered twice" "$([ "$4" = 0 ] && echo yes || echo no)" \
	    "$4 duplicates"
	# A request that went out and got no answer (the provider died
	# mid-request) is of unknown fate: queued delivery sends it at most
	# once and does not resend it (README, "Inline or queued";
	# sms_resend_unknown = 0). Those may be missing; any other is lost.
	if [ "$5" = 0 ]; then
		invariant "$name: no accepted SMS lost" yes "every accepted SMS received"
	elif [ "$5" -le "$unk" ]; then
		invariant "$name: no accepted SMS lost beyond deliveries of unknown fate" yes \
		    "$5 never received, no more than the $unk deliveries of unknown fate (in flight when the provider went away; not resent, by design)"
	else
		invariant "$name: no accepted SMS lost" no \
		    "$5 accepted and never received ($unk of unknown fate)"
	fi
	[ "$6" = 0 ] || say "  note: $6 received beyond what the server counted"
}

# ---- the run ------------------------------------------------------------------------

began=$(date +%s)
fake_init
fake_start
start_redis --appendonly yes
start_nginx
# load_conf [LINE...]: queued delivery through the stand-in, and the
# limits of this run (the report's first lines say which and why).
load_conf() {
	write_conf "sms_delivery = queue" "sms_provider = webhook" \
	    "webhook_url = http://127.0.0.1:$FP/hook" \
	    "webhook_secret = $WSECRET" "workers = $WORKERS" \
	    "smsd_workers = $SENDERS" "lang = en" \
	    "sms_interval = 60" "sms_daily_limit = 10" \
	    "ip_hourly_limit = 1000000" "prefix_hourly_limit = 1000000" \
	    "sms_hourly_budget = 1000000" "$@"
}
load_conf
start_vcoded prefork || it_done
wait_for 5 senders_up || it_bail "the master's $SENDERS senders did not start"

say "loadtest: $(nproc) cores, PHASE_SECONDS=$PHASE, vcoded $WORKERS workers + $SENDERS senders (sms_delivery = queue), wrk $CONNS connections"
say "  config: lang = en, fraud_guard = off, sms_interval = 60, sms_daily_limit = 10;"
say "  raised for the load (all requests come from 127.0.0.1): ip_hourly_limit,"
say "  prefix_hourly_limit and sms_hourly_budget = 1000000; Redis appendonly yes"
say "  (appendfsync everysec); each mobile asked $REPEAT times at once (one is sent),"
say "  $NIDS captcha answers seeded per phase"
: >"$T/warm.sent"
warm_up a 3
rss_snap "$T/rss-baseline"
say "  warm-up: ${WARM} s captcha + ${WARM} s SMS; worker RSS then $(rss_show "$T/rss-baseline")"

# The SMS mobiles of each phase begin with 1 and a digit of its own: 3 the
# warm-up, 4 sms, 5 to 7 the faults, 8 and 9 the Sentinel phase.
phase_single captcha captcha
phase_single sms sms
phase_fault kill-worker 5 kill_worker
phase_fault redis-restart 6 restart_redis
phase_fault provider-stop 7 stop_provider
rss_snap "$T/rss-end"
say ""
say "worker memory:"
rss_check "worker RSS after the phases within 10 % of the warm baseline" \
    "$T/rss-baseline" "$T/rss-end"

sent=$(($(awk '{ s += $1 } END { print s + 0 }' "$T/warm.sent") +
    $(awk '$2 == "sms" { s += $8 } END { print s + 0 }' "$ROWS")))
account "private Redis" 34567 "$sent"

# ---- Sentinel ------------------------------------------------------------------------

sentinel_conf() {
	load_conf "redis = redis://127.0.0.1:$1/0" \
	    "redis_sentinels = 127.0.0.1:$2,127.0.0.1:$3,127.0.0.1:$4" \
	    "redis_master = vcode"
}

# within SECONDS CODE: polls the shell code CODE every 100 ms until it
# succeeds (0) or SECONDS of the wall clock have passed (1).
within() {
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -lt "$end" ]; do
		eval "$2" && return 0
		sleep 0.1
	done
	return 1
}

# primary_port: the port the first sentinel names for vcode.
primary_port() {
	redis-cli -p "$S_PORT1" sentinel get-master-addr-by-name vcode 2>/dev/null |
	    tail -n 1
}

# kill_primary: SIGKILL the primary; the fault lasts until the sentinels
# name another and /healthz answers 200 again (vcoded found it).
kill_primary() {
	local t1 t2 t3 ok=no
	FAULT_FROM=$(date +%s)
	t1=$(ms)
	kill -KILL "$S_PRIMARY_PID"
	wait "$S_PRIMARY_PID" 2>/dev/null
	S_NEW=""
	if within 30 'p=$(primary_port); [ -n "$p" ] && [ "$p" != "$S_PRIMARY" ]'; then
		S_NEW=$(primary_port)
	fi
	t2=$(ms)
	within 30 '[ "$(curl -s -o /dev/null -w "%{http_code}" --max-time 1 "$BASE/healthz")" = 200 ]' &&
	    ok=yes
	t3=$(ms)
	FAULT_TO=$(date +%s)
	FAULT_NOTE="primary :$S_PRIMARY SIGKILLed; the sentinels named $([ -n "$S_NEW" ] && echo ":$S_NEW" || echo "no other primary") $((t2 - t1)) ms later; /healthz $([ $ok = yes ] && echo 200 || echo "not 200") $((t3 - t1)) ms after the kill"
	invariant "$name: vcoded serves again after the failover" "$ok" \
	    "/healthz $([ $ok = yes ] && echo "200 $((t3 - t1)) ms after the kill" || echo "not 200 within 30 s of the new primary")"
}

sentinel_phase() {
	local p i s t1
	say ""
	# The probe: the same keys with placeholder ports, in a file of its
	# own. Only an unknown key means no Sentinel support; any other
	# refusal (a -t that tries the sentinels, say) is left to the check
	# with the real ports below.
	CONF=$T/probe.conf sentinel_conf 1 2 3 4
	if ! "$VCODED" -t -c "$T/probe.conf" >/dev/null 2>"$T/probe.err" &&
	    grep -q "unknown key 'redis_sentinels'" "$T/probe.err"; then
		say "sentinel phase skipped: this build has no redis_sentinels ($(head -n 1 "$T/probe.err"))"
		return
	fi
	if ! command -v redis-sentinel >/dev/null; then
		say "sentinel phase skipped: redis-sentinel not installed (apt-get install redis-sentinel)"
		return
	fi
	# Each its own folder: the private Redis's appendonlydir is in $T.
	mkdir -p "$T/s-primary" "$T/s-replica"
	start_tcp_redis s-primary --appendonly yes --dir "$T/s-primary" ||
	    it_bail "primary did not start"
	S_PRIMARY=$TCP_REDIS_PORT
	S_PRIMARY_PID=$TCP_REDIS_PID
	start_tcp_redis s-replica --appendonly yes --dir "$T/s-replica" \
	    --replicaof 127.0.0.1 "$S_PRIMARY" ||
	    it_bail "replica did not start"
	S_REPLICA=$TCP_REDIS_PORT
	wait_for 20 'redis-cli -p "$S_REPLICA" info replication | grep -q "master_link_status:up"' ||
	    it_bail "the replica did not sync"
	for i in 1 2 3; do
		p=$(free_port) || it_bail "no free port"
		cat >"$T/sentinel-$i.conf" <<EOC
port $p
bind 127.0.0.1
daemonize no
dir $T
logfile $T/sentinel-$i.log
sentinel monitor vcode 127.0.0.1 $S_PRIMARY 2
sentinel down-after-milliseconds vcode 1000
sentinel failover-timeout vcode 5000
sentinel parallel-syncs vcode 1
EOC
		redis-sentinel "$T/sentinel-$i.conf" >/dev/null 2>&1 &
		track "$!"
		eval "S_PORT$i=$p"
		wait_for 5 '[ "$(redis-cli -p "$p" ping 2>/dev/null)" = PONG ]' ||
		    it_bail "sentinel $i did not answer"
	done
	# Each sentinel must know the replica and the two others before a
	# failover can be agreed on (hello messages every 2 s).
	for i in 1 2 3; do
		eval "s=\$S_PORT$i"
		wait_for 30 '[ "$(redis-cli -p "$s" sentinel replicas vcode | grep -c "^name$")" -ge 1 ] &&
		    [ "$(redis-cli -p "$s" sentinel sentinels vcode | grep -c "^name$")" -ge 2 ]' ||
		    it_bail "sentinel $i did not see the replica and the other sentinels"
	done
	CONF=$T/probe.conf sentinel_conf "$S_PRIMARY" "$S_PORT1" "$S_PORT2" "$S_PORT3"
	if ! "$VCODED" -t -c "$T/probe.conf" >/dev/null 2>"$T/probe.err"; then
		invariant "sentinel: vcoded -t takes the Sentinel configuration" no \
		    "$(head -n 2 "$T/probe.err" | tr '\n' ' ')"
		return
	fi
	stop_vcoded
	sentinel_conf "$S_PRIMARY" "$S_PORT1" "$S_PORT2" "$S_PORT3"
	start_vcoded prefork || it_bail "vcoded did not start through the sentinels"
	wait_for 5 senders_up || it_bail "the master's $SENDERS senders did not start"
	LCLI_ARGS="-h 127.0.0.1 -p $S_PRIMARY"
	say "sentinel: primary :$S_PRIMARY, replica :$S_REPLICA, sentinels :$S_PORT1 :$S_PORT2 :$S_PORT3 (down-after 1000 ms, failover-timeout 5000 ms, quorum 2)"
	: >"$T/warm.sent"
	warm_up b 9
	rss_snap "$T/rss-sentinel-baseline"
	phase_fault sentinel-failover 8 kill_primary
	rss_check "sentinel: worker RSS within 10 % of its warm baseline" \
	    "$T/rss-sentinel-baseline" "$T/rss-sentinel-failover.after"
	[ -n "${S_NEW:-}" ] && LCLI_ARGS="-h 127.0.0.1 -p $S_NEW"
	sent=$(($(awk '{ s += $1 } END { print s + 0 }' "$T/warm.sent") +
	    $(awk '$1 == "sentinel-failover" && $2 == "sms" { s += $8 } END { print s + 0 }' "$ROWS")))
	account "Sentinel failover" 89 "$sent"
}
sentinel_phase
stop_vcoded

# ---- the summary ----------------------------------------------------------------------

{
	echo "loadtest: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, PHASE_SECONDS=$PHASE, runtime $(( ($(date +%s) - began) / 60 )) min $(( ($(date +%s) - began) % 60 )) s"
	echo
	printf '%-18s %-8s %9s %9s %9s %7s %7s %7s\n' phase route 'req/s' 'p50 ms' \
	    'p99 ms' failed socket sent
	awk '{ printf "%-18s %-8s %9.1f %9.2f %9.2f %7d %7d %7d\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$ROWS"
	grep '^sentinel phase skipped' "$REPORT"
	echo
	if [ "$FAILS" = 0 ]; then
		echo "every invariant holds"
	else
		echo "$FAILS invariant(s) FAILED"
	fi
	echo
	echo "details:"
	cat "$REPORT"
} >"$T/summary"
echo
sed -n '1,/^details:/p' "$T/summary" | sed '$d'
cp "$T/summary" "$OUT" 2>/dev/null || echo "loadtest: cannot write $OUT" >&2
[ "$FAILS" = 0 ]
exit $?
