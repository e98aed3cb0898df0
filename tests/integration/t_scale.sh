#!/bin/bash
# Scale-out: two vcoded instances (two prefork masters on two sockets, as
# on two hosts) behind one nginx upstream, sharing one Redis. Every limit
# is a Redis counter or flag written in the request's one script, so each
# holds across the instances as on one: the resend interval, the daily
# and per-address caps, the number block's and the budget, and the fraud
# guard's network floor. Both instances take requests (round robin).
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

B_SOCK=$T/vcoded-b.sock
# One upstream of both sockets, in place of the one socket.
sed -i -e "s|^http {|http {\n\tupstream vcode_pool { server unix:$VC_SOCK; server unix:$B_SOCK; }|" \
    -e "s|fastcgi_pass unix:$VC_SOCK;|fastcgi_pass vcode_pool;|g" "$T/nginx.conf"
nginx -c "$T/nginx.conf" -p "$T" -s reload >>"$T/nginx-start.log" 2>&1
expect_eq "nginx: one upstream of the two instances' sockets" 2 \
    "$(grep -c 'fastcgi_pass vcode_pool' "$T/nginx.conf")"

# start_b [VCODE_KEY=VALUE...]: the second instance, its own master and
# configuration (listen on its own socket), the same Redis.
start_b() {
	sed "s|^listen = .*|listen = unix:$B_SOCK|" "$CONF" >"$T/vcode-b.conf"
	rm -f "$B_SOCK"
	env "$@" "$VCODED" -c "$T/vcode-b.conf" >>"$T/vcoded-b.stderr" 2>&1 &
	B_MASTER=$!
	track "$B_MASTER"
	wait_for 5 '[ -S "$B_SOCK" ]' || it_bail "the second vcoded did not start"
}
stop_b() {
	kill -TERM "$B_MASTER" 2>/dev/null
	wait_gone 10 "$B_MASTER"
}
# both ENV...: both instances with these overrides, Redis emptied.
both() {
	rcli flushall >/dev/null
	# B first: start_vcoded's health probe through nginx must not find
	# B's socket gone, or nginx would leave B out for fail_timeout.
	start_b "$@"
	start_vcoded prefork "$@" || return 1
	: >"$T/served"
}
# ask_from XFF MOBILE [DIALECT]: one solved SMS request; its outcome word
# (OK or THROTTLE or the code) appended to OUT.
ask_from() {
	local d=${3:-meiduo} id c
	id=$(new_id)
	# A captcha the test has read (its image fetch would take a turn of
	# the round robin, and the SMS requests would all land on one side).
	rcli set "$(ckey "$d" "$id")" abcd EX 300 >/dev/null
	sms "$d" "$2" abcd "$id" -H "X-Forwarded-For: $1"
	c=$(jv "$(field "$d")")
	if [ "$c" = "$(code "$d" OK)" ]; then c=OK
	elif [ "$c" = "$(code "$d" THROTTLE)" ]; then c=THROTTLE; fi
	OUT="${OUT:+$OUT }$c"
}
COMMON=(VCODE_TRUSTED_PROXIES=127.0.0.1 VCODE_SMS_INTERVAL=0
    VCODE_IP_HOURLY_LIMIT=0 VCODE_PREFIX_HOURLY_LIMIT=0
    VCODE_SMS_HOURLY_BUDGET=0 VCODE_SMS_DAILY_LIMIT=0)

P="[address]"
if both "${COMMON[@]}" VCODE_IP_HOURLY_LIMIT=5; then
	OUT=""
	for i in $(seq 12); do ask_from 198.51.100.7 "$(new_mobile)"; done
	expect_eq "$P ip_hourly_limit 5 across two instances: 5 served, 7 refused" \
	    "OK OK OK OK OK THROTTLE THROTTLE THROTTLE THROTTLE THROTTLE THROTTLE THROTTLE" "$OUT"
	na=$(grep -Ec 'sms (code sent|refused)' "$T/vcoded.stderr")
	nb=$(grep -Ec 'sms (code sent|refused)' "$T/vcoded-b.stderr")
	expect_eq "$P ... the 12 decided by both instances (A $na, B $nb)" "12 yes yes" \
	    "$((na + nb)) $([ "$na" -gt 0 ] && echo yes || echo no) $([ "$nb" -gt 0 ] && echo yes || echo no)"
	stop_b
	stop_vcoded
fi

P="[interval]"
if both "${COMMON[@]}" VCODE_SMS_INTERVAL=60; then
	OUT=""
	m=$(new_mobile)
	for i in 1 2 3 4; do ask_from "198.51.100.$i" "$m" meiduo; done
	ask_from 198.51.100.9 "$m" ihome
	expect_eq "$P one mobile, five requests over both instances and two dialects: 1 served" \
	    "OK THROTTLE THROTTLE THROTTLE THROTTLE" "$OUT"
	stop_b
	stop_vcoded
fi

P="[daily, block, budget]"
if both "${COMMON[@]}" VCODE_SMS_DAILY_LIMIT=3; then
	OUT=""
	m=$(new_mobile)
	for i in 1 2 3 4 5; do ask_from "198.51.100.$i" "$m"; done
	expect_eq "$P sms_daily_limit 3: 3 served" "OK OK OK THROTTLE THROTTLE" "$OUT"
	stop_b
	stop_vcoded
fi
if both "${COMMON[@]}" VCODE_PREFIX_HOURLY_LIMIT=4; then
	OUT=""
	for i in 1 2 3 4 5 6; do ask_from "198.51.100.$i" "1370999000$i"; done
	expect_eq "$P prefix_hourly_limit 4 (block 1370999): 4 served" \
	    "OK OK OK OK THROTTLE THROTTLE" "$OUT"
	stop_b
	stop_vcoded
fi
if both "${COMMON[@]}" VCODE_SMS_HOURLY_BUDGET=6; then
	OUT=""
	for i in $(seq 9); do ask_from "198.51.100.$i" "$(new_mobile)"; done
	expect_eq "$P sms_hourly_budget 6: 6 served" \
	    "OK OK OK OK OK OK THROTTLE THROTTLE THROTTLE" "$OUT"
	stop_b
	stop_vcoded
fi

P="[fraud]"
if both "${COMMON[@]}" VCODE_FRAUD_GUARD=enforce VCODE_FRAUD_LEARN_HOURS=0 \
    VCODE_FRAUD_NET_FLOOR=3 VCODE_FRAUD_UNTRUSTED_SHARE=100 \
    VCODE_SMS_HOURLY_BUDGET=1000; then
	m=$(new_mobile)
	OUT=""
	ask_from 192.0.2.1 "$m"
	verify "$m" "$(rcli get "sms_$m")"
	expect_code "$P armed: a code verified" meiduo 200 OK
	OUT=""
	for i in 1 2 3 4 5; do ask_from "203.0.113.$i" "$(new_mobile)"; done
	expect_eq "$P fraud_net_floor 3 for 203.0.113.0/24 across both: 3 served" \
	    "OK OK OK THROTTLE THROTTLE" "$OUT"
	check_ttls "$P every key has a TTL"
	stop_b
	stop_vcoded
fi
P="[both]"
na=$(grep -Ec 'sms (code sent|refused)' "$T/vcoded.stderr")
nb=$(grep -Ec 'sms (code sent|refused)' "$T/vcoded-b.stderr")
expect_eq "each instance decided at least 10 of the SMS requests (A $na, B $nb)" "yes yes" \
    "$([ "$na" -ge 10 ] && echo yes || echo no) $([ "$nb" -ge 10 ] && echo yes || echo no)"
it_done
