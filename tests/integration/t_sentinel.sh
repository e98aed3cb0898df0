#!/bin/bash
# Redis Sentinel. A primary and its replica (a password each, database 2)
# behind three sentinels (a password too), all on loopback ports; vcoded
# (prefork, 4 workers, 2 senders of queued delivery) is given the
# sentinels, and its redis URL only the password and database:
#  - every dialect's flow works, the URL's host (port 1) being ignored, and
#    -t prints the sentinels with both passwords masked;
#  - SIGKILL of the primary during a stream of captcha and SMS requests:
#    once Sentinel has promoted the replica, every worker succeeds again
#    without a restart (20 requests in a row, then 16 at once); how many
#    failed and how long it took are printed (README, "Redis Sentinel");
#  - the SMS asked after the switch are delivered by the senders;
#  - a list whose first sentinel is down still works (the other one
#    given as [::1]:PORT where the loopback has IPv6);
#  - a wrong redis_master or a wrong sentinel password: 503 DBERR JSON, the
#    workers alive, and the log says why without a password.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
command -v redis-sentinel >/dev/null ||
    it_bail "redis-sentinel not found (apt-get install redis-sentinel)"
command -v python3 >/dev/null || it_bail "python3 not found (fake_sms.py needs it)"
fake_init
fake_start
start_nginx

NAME=vcmaster
DPASS=data-pw-0123456789
SPASS=sentinel-pw-0123456789
DB=2

# rcli: the test's reads go to the primary's socket in database 2.
rcli() {
	timeout 5 redis-cli -s "$REDIS_SOCK" -a "$DPASS" --no-auth-warning \
	    -n "$DB" "$@"
}
# scli PORT ARGS...: a sentinel.
scli() {
	timeout 5 redis-cli -h 127.0.0.1 -p "$1" -a "$SPASS" --no-auth-warning \
	    "${@:2}"
}

TCP_REDIS_PASS=$DPASS
start_tcp_redis primary --unixsocket "$T/primary.sock" --unixsocketperm 777 \
    --requirepass "$DPASS" --masterauth "$DPASS" ||
    it_bail "the primary did not start (see primary.log)"
P_PORT=$TCP_REDIS_PORT
P_PID=$TCP_REDIS_PID
start_tcp_redis replica --unixsocket "$T/replica.sock" --unixsocketperm 777 \
    --requirepass "$DPASS" --masterauth "$DPASS" \
    --replicaof 127.0.0.1 "$P_PORT" ||
    it_bail "the replica did not start (see replica.log)"
R_PORT=$TCP_REDIS_PORT
REDIS_SOCK=$T/primary.sock
wait_for 10 'redis-cli -p "$R_PORT" -a "$DPASS" --no-auth-warning info replication |
    grep -q "master_link_status:up"' || it_bail "the replica did not sync"

# start_sentinel: one more sentinel on a free port (appended to SPORTS and
# SPIDS), watching the primary with a quorum of 2 and short timeouts.
SPORTS=()
SPIDS=()
start_sentinel() {
	local i=${#SPORTS[@]} tries=5 port pid
	while [ $tries -gt 0 ]; do
		port=$(free_port) || return 1
		cat >"$T/sentinel$i.conf" <<EOF
port $port
bind 127.0.0.1 -::1
daemonize no
dir $T
logfile $T/sentinel$i.log
requirepass $SPASS
sentinel sentinel-pass $SPASS
sentinel monitor $NAME 127.0.0.1 $P_PORT 2
sentinel auth-pass $NAME $DPASS
sentinel down-after-milliseconds $NAME 1000
sentinel failover-timeout $NAME 5000
sentinel parallel-syncs $NAME 1
EOF
		redis-sentinel "$T/sentinel$i.conf" >/dev/null 2>&1 &
		pid=$!
		track "$pid"
		if wait_for 5 '[ "$(scli "$port" ping 2>/dev/null)" = PONG ] ||
		    ! alive "$pid"' && alive "$pid"; then
			SPORTS+=("$port")
			SPIDS+=("$pid")
			return 0
		fi
		stop_pid "$pid"
		tries=$((tries - 1))
	done
	return 1
}
for i in 1 2 3; do
	start_sentinel || it_bail "sentinel $i did not start (see sentinel*.log)"
done
# quorate: every sentinel sees the other two and can fail over.
quorate() {
	local p
	for p in "${SPORTS[@]}"; do
		scli "$p" sentinel ckquorum "$NAME" 2>/dev/null |
		    grep -q '^OK 3 usable' || return 1
		[ "$(scli "$p" sentinel replicas "$NAME" 2>/dev/null |
		    grep -c '^name$')" = 1 ] || return 1
	done
}
wait_for 30 quorate || it_bail "the sentinels did not find each other and the replica"
it_note "primary :$P_PORT, replica :$R_PORT, sentinels :${SPORTS[*]}"

# primary_port: the primary's port as the first live sentinel names it.
primary_port() {
	local p i
	for i in 0 1 2; do
		alive "${SPIDS[$i]}" || continue
		p=$(scli "${SPORTS[$i]}" sentinel get-master-addr-by-name "$NAME" |
		    sed -n 2p)
		[ -n "$p" ] && { echo "$p"; return; }
	done
}
# follow: the test reads where the sentinels say the primary is.
follow() {
	case $(primary_port) in
	"$P_PORT") REDIS_SOCK=$T/primary.sock ;;
	"$R_PORT") REDIS_SOCK=$T/replica.sock ;;
	esac
}

LIST="127.0.0.1:${SPORTS[0]},127.0.0.1:${SPORTS[1]},127.0.0.1:${SPORTS[2]}"
VC_ENV=("VCODE_REDIS=redis://:$DPASS@127.0.0.1:1/$DB"
    "VCODE_REDIS_SENTINELS=$LIST" "VCODE_REDIS_MASTER=$NAME"
    "VCODE_REDIS_SENTINEL_PASSWORD=$SPASS" VCODE_WORKERS=4
    VCODE_REDIS_TIMEOUT_MS=500 VCODE_SMS_INTERVAL=0
    VCODE_IP_HOURLY_LIMIT=0 VCODE_PREFIX_HOURLY_LIMIT=0
    VCODE_SMS_DAILY_LIMIT=0 VCODE_SMS_HOURLY_BUDGET=0
    VCODE_SMS_DELIVERY=queue VCODE_SMS_PROVIDER=webhook
    "VCODE_WEBHOOK_URL=http://127.0.0.1:$FP/hook"
    "VCODE_WEBHOOK_SECRET=$WSECRET" VCODE_SMSD_WORKERS=2)
NPROC=6		# 4 workers and 2 senders under the master

# ---- -t ----------------------------------------------------------------------
P="[-t]"
out=$(env "${VC_ENV[@]}" timeout 10 "$VCODED" -t -c "$CONF" 2>&1)
expect_eq "$P exit 0" 0 "$?"
expect_match "$P prints the sentinels" "redis_sentinels = $LIST" "$out"
expect_match "$P prints the name" "redis_master = $NAME" "$out"
expect_match "$P masks the sentinels' password" \
    'redis_sentinel_password = \(set\)' "$out"
expect_eq "$P neither password printed" no \
    "$(printf '%s' "$out" | grep -qF -e "$SPASS" -e "$DPASS" && echo yes || echo no)"
out=$(VCODE_REDIS_SENTINELS="127.0.0.1:${SPORTS[0]},,x" timeout 10 \
    "$VCODED" -t -c "$CONF" 2>&1)
expect_eq "$P a bad list: exit 1" 1 "$?"
expect_match "$P ... the message names redis_sentinels" "redis_sentinels" "$out"

# ---- through the sentinels -----------------------------------------------------
P="[sentinel]"
start_vcoded prefork "${VC_ENV[@]}" || it_done
wait_workers "$NPROC" || fail "$P workers and senders" "$NPROC" "$(nworkers)"
w0=$(workers)
for d in $DIALECTS; do
	m=$(new_mobile)
	send_ok "$d" "$m"
	expect_code "$P $d flow: OK" "$d" 200 OK
	expect_match "$P ... the code is on the primary, db $DB" '^[0-9]{6}$' \
	    "$(redis-cli -s "$T/primary.sock" -a "$DPASS" --no-auth-warning \
	    -n "$DB" get "$(skey "$d" "$m")")"
	wait_for 10 '[ "$(fcount "$m")" = 1 ]'
	expect_eq "$P ... delivered once by a sender" 1 "$(fcount "$m")"
done
http GET /healthz
expect_eq "$P healthz" 200 "$H_STATUS"

# ---- failover under a stream of requests ----------------------------------------
P="[failover]"
REQ_T=()	# per request after the kill: seconds since the kill
REQ_OK=()	# 1 or 0
kill_at=""
switch_at=""
: >"$T/after.mobiles"
: >"$T/before.mobiles"

# note OK: one request's outcome, timed from the kill.
note() {
	[ -n "$kill_at" ] || return 0
	REQ_T+=("$(awk -v a="$kill_at" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')")
	REQ_OK+=("$1")
}

# round N: a captcha GET, and every second round an SMS request with its
# answer, each noted; a dialect in turn.
round() {
	local n=$1 d id m
	set -- $DIALECTS
	shift $((n % 3))
	d=$1
	id=$(new_id)
	image "$d" "$id"
	if [ "$H_STATUS" != 200 ]; then note 0; return; fi
	note 1
	[ $((n % 2)) = 1 ] || return 0
	[ -n "$kill_at" ] && follow
	ANSWER=$(rcli get "$(ckey "$d" "$id")" 2>/dev/null)
	m=$(new_mobile)
	sms "$d" "$m" "$ANSWER" "$id"
	if [ "$(jv "$(field "$d")")" = "$(code "$d" OK)" ]; then
		note 1
		if [ -n "$kill_at" ]; then echo "$m" >>"$T/after.mobiles"
		else echo "$m" >>"$T/before.mobiles"; fi
	else
		note 0
	fi
}

n=0
streak=0
while :; do
	n=$((n + 1))
	if [ -z "$kill_at" ] && [ $n -gt 10 ]; then
		kill -KILL "$P_PID"
		kill_at=$EPOCHREALTIME
		wait "$P_PID" 2>/dev/null
	fi
	before=${#REQ_OK[@]}
	round "$n"
	if [ -n "$kill_at" ]; then
		if [ -z "$switch_at" ] && [ "$(primary_port)" = "$R_PORT" ]; then
			switch_at=$(awk -v a="$kill_at" -v b="$EPOCHREALTIME" \
			    'BEGIN { printf "%.3f", b - a }')
		fi
		for ((k = before; k < ${#REQ_OK[@]}; k++)); do
			if [ "${REQ_OK[$k]}" = 1 ]; then streak=$((streak + 1))
			else streak=0; fi
		done
		[ $streak -ge 20 ] && break
		[ "${REQ_T[${#REQ_T[@]} - 1]%.*}" -ge 60 ] && break
	fi
done
total=${#REQ_OK[@]}
failed=0
for v in "${REQ_OK[@]}"; do [ "$v" = 0 ] && failed=$((failed + 1)); done
resumed=""
[ $streak -ge 20 ] && resumed=${REQ_T[$((total - streak))]}
expect_eq "$P the primary is gone" no "$(alive "$P_PID" && echo yes || echo no)"
expect_eq "$P 20 requests in a row succeed again, within 60 s" yes \
    "$([ $streak -ge 20 ] && echo yes || echo no)"
expect_eq "$P the sentinels name the replica" "$R_PORT" "$(primary_port)"
expect_range "$P success resumed within 15 s of the kill (ms)" 0 15000 \
    "$(awk -v t="${resumed:-999}" 'BEGIN { printf "%d", t * 1000 }')"
expect_range "$P some requests failed while there was no primary" 1 "$total" \
    "$failed"
it_note "$P measured: $failed of $total requests after SIGKILL failed;" \
    "the sentinels named the replica at ${switch_at:-never} s;" \
    "success resumed ${resumed:-never} s after the kill"
expect_eq "$P same workers and senders, none restarted" "$w0" "$(workers)"
REDIS_SOCK=$T/replica.sock
# Every worker: 16 at once over 4 workers.
cpids=()
for k in $(seq 16); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$BASE/healthz" \
	    >"$T/hc.$k" &
	cpids+=($!)
done
wait "${cpids[@]}"
expect_eq "$P 16 healthz at once: all 200" "$(printf '200 %.0s' $(seq 16))" \
    "$(for k in $(seq 16); do printf '%s ' "$(cat "$T/hc.$k")"; done)"
# The metrics saw it: failed store calls, and connections made again to
# the promoted replica.
http GET /metrics
expect_eq "$P /metrics: Redis errors counted ($failed requests failed), reconnections too, Redis up" \
    "yes yes 1" "$([ "$(printf '%s\n' "$H_BODY" | sed -n 's/^vcode_redis_errors_total //p')" -ge "$failed" ] && echo yes) $([ "$(printf '%s\n' "$H_BODY" | sed -n 's/^vcode_redis_reconnects_total //p')" -ge 1 ] && echo yes) $(printf '%s\n' "$H_BODY" | sed -n 's/^vcode_redis_up //p')"
for d in $DIALECTS; do
	m=$(new_mobile)
	send_ok "$d" "$m"
	expect_code "$P $d flow after the failover: OK" "$d" 200 OK
	expect_match "$P ... the code is on the promoted replica" '^[0-9]{6}$' \
	    "$(rcli get "$(skey "$d" "$m")")"
	echo "$m" >>"$T/after.mobiles"
done
# The senders: every SMS asked once the new primary took it is delivered.
na=$(wc -l <"$T/after.mobiles")
undelivered() {
	local m c=0
	while read -r m; do
		[ "$(fcount "$m")" -ge 1 ] || c=$((c + 1))
	done <"$T/after.mobiles"
	echo "$c"
}
wait_for 20 '[ "$(undelivered)" = 0 ]'
expect_eq "$P the senders delivered the $na SMS asked after the switch" 0 \
    "$(undelivered)"
nb=$(wc -l <"$T/before.mobiles")
lost=0
while read -r m; do
	[ "$(fcount "$m")" -ge 1 ] || lost=$((lost + 1))
done <"$T/before.mobiles"
it_note "$P asked before the kill: $nb, of which $lost not delivered"
expect_eq "$P a sender logged the outage and the recovery" yes \
    "$(grep -q 'redis answers again' "$T/vcoded.stderr" && echo yes || echo no)"
expect_eq "$P no password in vcoded's log" no \
    "$(grep -qF -e "$SPASS" -e "$DPASS" "$T/vcoded.stderr" && echo yes || echo no)"
stop_vcoded

# ---- the first sentinel down ------------------------------------------------------
P="[first down]"
kill -KILL "${SPIDS[0]}"
wait "${SPIDS[0]}" 2>/dev/null
# The other one listed by its IPv6 address where the loopback has one:
# the only way to the primary, so that address form is used for real.
s2=127.0.0.1:${SPORTS[1]}
[ "$(redis-cli -h ::1 -p "${SPORTS[1]}" -a "$SPASS" --no-auth-warning \
    ping 2>/dev/null)" = PONG ] && s2="[::1]:${SPORTS[1]}"
it_note "$P redis_sentinels = 127.0.0.1:${SPORTS[0]} (down),$s2"
if start_vcoded prefork "${VC_ENV[@]}" \
    "VCODE_REDIS_SENTINELS=127.0.0.1:${SPORTS[0]},$s2"; then
	for d in $DIALECTS; do
		send_ok "$d" "$(new_mobile)"
		expect_code "$P $d flow: OK" "$d" 200 OK
	done
	stop_vcoded
fi

# ---- a wrong name, a wrong password ------------------------------------------------
# refused NAME PATTERN SECRET [VCODE_KEY=VALUE...]: vcoded starts, every
# dialect's captcha is a 503 DBERR JSON, the workers live, and the log
# matches PATTERN without SECRET in it.
refused() {
	local P=$1 pat=$2 secret=$3 d w from log
	shift 3
	from=$(($(wc -l <"$T/vcoded.stderr") + 1))
	VC_READY_ANY=1 start_vcoded prefork "${VC_ENV[@]}" "$@" || return
	wait_workers "$NPROC"
	w=$(workers)
	http GET /healthz
	expect_eq "$P healthz 503" 503 "$H_STATUS"
	for d in $DIALECTS; do
		image "$d" "$(new_id)"
		expect_code "$P $d captcha: 503 DBERR" "$d" 503 DB
		expect_match "$P ... JSON" '^application/json' "$H_CTYPE"
		sms "$d" "$(new_mobile)" abcd "$(new_id)"
		expect_code "$P $d sms: DBERR" "$d" 200 DB
	done
	expect_eq "$P the workers live on" "$w" "$(workers)"
	log=$(tail -n "+$from" "$T/vcoded.stderr")
	expect_match "$P the log says why" "$pat" "$log"
	expect_eq "$P ... without the password" no \
	    "$(printf '%s' "$log" | grep -qF -e "$secret" -e "$DPASS" && echo yes || echo no)"
	stop_vcoded
}
refused "[wrong name]" "monitors no primary named 'nosuch'" "$SPASS" \
    VCODE_REDIS_MASTER=nosuch
refused "[wrong sentinel password]" "AUTH refused" wrong-sentinel-pw-42 \
    VCODE_REDIS_SENTINEL_PASSWORD=wrong-sentinel-pw-42
it_done
