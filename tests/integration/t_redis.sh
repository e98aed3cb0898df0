#!/bin/bash
# Redis stopped and restarted under a running vcoded (prefork), then Redis
# hung (SIGSTOP) past redis_timeout_ms: DBERR / 503 / healthz 503 while it
# is away, the same workers throughout, and service again once it is back,
# without restarting vcoded.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

# flows NAME: one full captcha + SMS round per dialect, each must be OK.
flows() {
	local d
	for d in $DIALECTS; do
		send_ok "$d" "$(new_mobile)"
		expect_code "$1 $d full flow" "$d" 200 OK
	done
}

# while_down NAME: what every route answers while Redis is unreachable.
while_down() {
	local P=$1 i codes="" d
	for i in 1 2 3 4 5 6; do
		http GET /healthz
		codes="$codes $H_STATUS$(jv .status)"
	done
	expect_eq "$P healthz x6: 503 unavailable" \
	    "$(printf ' 503"unavailable"%.0s' 1 2 3 4 5 6)" "$codes"
	for d in $DIALECTS; do
		image "$d" "$(new_id)"
		expect_code "$P $d image: 503 DBERR" "$d" 503 DB
		expect_match "$P $d image: JSON, not a PNG" '^application/json' "$H_CTYPE"
		sms "$d" "$(new_mobile)" abcd "$(new_id)"
		expect_code "$P $d sms: 200 DBERR" "$d" 200 DB
		expect_shape "$P $d sms: DBERR JSON shape" "$d"
		sms "$d" 12345678901 abcd "$(new_id)"
		expect_code "$P $d bad mobile still MOBILEERR (no store needed)" "$d" 200 MOBILE
	done
	verify "$(new_mobile)" 123456
	expect_reply "$P verify: 200 DBERR" 200 .code 5000
}

# wait_healthy SECONDS: polls /healthz until 200.
wait_healthy() {
	local n=$(($1 * 20))
	while [ $n -gt 0 ]; do
		http GET /healthz
		[ "$H_STATUS" = 200 ] && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# all_healthy NAME: 12 requests in a row, every one 200.
all_healthy() {
	local i codes=""
	for i in $(seq 1 12); do
		http GET /healthz
		codes="$codes$H_STATUS "
	done
	expect_eq "$1" "$(printf '200 %.0s' $(seq 1 12))" "$codes"
}

P="[redis restart]"
if start_vcoded prefork VCODE_IP_HOURLY_LIMIT=0 VCODE_WORKERS=3 VCODE_REDIS_TIMEOUT_MS=500; then
	wait_workers 3
	w0=$(workers)
	flows "$P before:"
	stop_redis
	expect_eq "$P (redis stopped, socket gone)" no "$([ -e "$REDIS_SOCK" ] && echo yes || echo no)"
	while_down "$P down:"
	expect_eq "$P down: workers alive and unchanged" "$w0" "$(workers)"
	start_redis
	if wait_healthy 5; then ok "$P back: healthz 200 within 5 s"
	else fail "$P back: healthz 200 within 5 s" 200 "$H_STATUS"; fi
	all_healthy "$P back: 12 healthz in a row all 200"
	flows "$P back:"
	expect_eq "$P back: same workers" "$w0" "$(workers)"

	P="[redis hung]"
	kill -STOP "$REDIS_PID"
	t0=$(date +%s%N)
	image meiduo "$(new_id)"
	ms=$((($(date +%s%N) - t0) / 1000000))
	expect_code "$P image: 503 DBERR" meiduo 503 DB
	expect_range "$P image answered within 2 s (ms)" 0 2000 "$ms"
	t0=$(date +%s%N)
	sms ihome "$(new_mobile)" abcd "$(new_id)"
	ms=$((($(date +%s%N) - t0) / 1000000))
	expect_code "$P sms: 200 DBERR" ihome 200 DB
	expect_range "$P sms answered within 2 s (ms)" 0 2000 "$ms"
	for i in 1 2 3 4 5 6; do http GET /healthz; done
	expect_eq "$P healthz: 503" 503 "$H_STATUS"
	kill -CONT "$REDIS_PID"
	if wait_healthy 5; then ok "$P resumed: healthz 200 within 5 s"
	else fail "$P resumed: healthz 200 within 5 s" 200 "$H_STATUS"; fi
	all_healthy "$P resumed: 12 healthz in a row all 200"
	# stale replies from the timed-out commands must not be read as answers
	flows "$P resumed (1):"
	flows "$P resumed (2):"
	expect_eq "$P same workers" "$w0" "$(workers)"
	check_ttls "$P every key has a TTL"

	# The answer goes to Redis while the picture is drawn: a write Redis
	# answers with an error must still be a DBERR, never a picture whose
	# answer was not stored.
	P="[redis refuses writes]"
	rcli config set maxmemory-policy noeviction >/dev/null
	rcli config set maxmemory 1 >/dev/null
	for d in $DIALECTS; do
		image "$d" "$(new_id)"
		expect_code "$P $d image: 503 DBERR" "$d" 503 DB
		expect_match "$P $d image: JSON, not a PNG" '^application/json' "$H_CTYPE"
	done
	http GET "/image_codes/$(new_id)/audio"
	expect_code "$P audio: 503 DBERR" meiduo 503 DB
	expect_match "$P audio: JSON, not a WAV" '^application/json' "$H_CTYPE"
	rcli config set maxmemory 0 >/dev/null
	flows "$P writes taken again:"
	expect_eq "$P same workers" "$w0" "$(workers)"
fi
stop_vcoded

# redis://[:PASSWORD@]HOST:PORT/DB: a second redis-server on a loopback
# port with a password; the keys land in the named database.
P="[redis url]"
RPASS=tEst-pw_1
TCP_REDIS_PASS=$RPASS start_tcp_redis redis2 --requirepass "$RPASS"
RPORT=$TCP_REDIS_PORT
R2=$TCP_REDIS_PID
r2() { timeout 5 redis-cli -h 127.0.0.1 -p "$RPORT" -a "$RPASS" --no-auth-warning "$@"; }
expect_eq "$P (second redis-server answers)" PONG "$(r2 ping 2>/dev/null)"
if start_vcoded spawn "VCODE_REDIS=redis://:$RPASS@127.0.0.1:$RPORT/3" VCODE_IP_HOURLY_LIMIT=0; then
	m=$(new_mobile)
	id=$(new_id)
	image meiduo "$id"
	expect_eq "$P image served" 200 "$H_STATUS"
	a=$(r2 -n 3 get "img_$id")
	expect_match "$P captcha stored in DB 3" '^[0-9A-Za-z]{4}$' "$a"
	expect_eq "$P nothing in DB 0" 0 "$(r2 -n 0 dbsize)"
	sms meiduo "$m" "$a" "$id"
	expect_code "$P SMS over TCP with AUTH and SELECT" meiduo 200 OK
	expect_eq "$P code in DB 3" "$(log_code "$m")" "$(r2 -n 3 get "sms_$m")"
	stop_vcoded
fi
if VC_READY_ANY=1 start_vcoded spawn "VCODE_REDIS=redis://127.0.0.1:$RPORT/0" VCODE_IP_HOURLY_LIMIT=0; then
	http GET /healthz
	expect_eq "$P no password: healthz 503" 503 "$H_STATUS"
	image meiduo "$(new_id)"
	expect_code "$P no password: image 503 DBERR" meiduo 503 DB
fi
stop_vcoded
stop_pid "$R2"
it_done
