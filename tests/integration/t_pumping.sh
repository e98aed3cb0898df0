#!/bin/bash
# SMS pumping against the limits a bot farm cannot spread around: a walk
# through one number block (prefix_hourly_limit), the whole site's hourly
# budget (sms_hourly_budget), and the verify cap of a code, which another
# dialect's send for the same mobile must not reset. Every refusal is
# logged with its kind and a masked mobile, and no code reaches the log.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

# sent_count: SMS the dev provider has written so far.
sent_count() { grep -ac 'vcode dev sms' "$SMS_LOG"; }

P="[block]"
if start_vcoded prefork VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=0 \
    VCODE_PREFIX_HOURLY_LIMIT=5 VCODE_SMS_HOURLY_BUDGET=0; then
	before=$(sent_count)
	ok=0 refused=0 other=""
	for i in $(seq 0 199); do
		m=$(printf '1370123%04d' "$i")
		if send_ok meiduo "$m"; then
			ok=$((ok + 1))
		elif [ "$(jv .code)" = 4002 ]; then
			refused=$((refused + 1))
		else
			other="$other $(jv .code)"
		fi
	done
	expect_eq "$P 200 numbers of block 1370123: OK for prefix_hourly_limit (5)" 5 "$ok"
	expect_eq "$P ... the other 195 THROTTLING" "195 " "$refused $other"
	expect_eq "$P ... and 5 SMS sent" 5 "$(( $(sent_count) - before ))"
	expect_range "$P block counter's TTL is an hour (set at the first SMS)" 3000 3600 \
	    "$(rcli ttl vcode:block:1370123)"
	send_ok ihome 13701240001
	expect_code "$P the next block is not affected" ihome 200 OK
	stop_vcoded
	expect_match "$P refusals logged by kind, mobile masked" \
	    'sms refused for 137\*\*\*\*[0-9]{4} \(meiduo\): number block limit' \
	    "$(cat "$T/vcoded.stderr")"
fi

P="[budget]"
if start_vcoded prefork VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=0 \
    VCODE_PREFIX_HOURLY_LIMIT=0 VCODE_SMS_HOURLY_BUDGET=12; then
	before=$(sent_count)
	ok=0
	for i in $(seq 60); do
		d=meiduo
		[ $((i % 3)) = 1 ] && d=ihome
		[ $((i % 3)) = 2 ] && d=news
		send_ok "$d" "$(new_mobile)" && ok=$((ok + 1))
	done
	expect_eq "$P 60 mobiles, 3 dialects: OK for sms_hourly_budget (12)" 12 "$ok"
	expect_eq "$P ... and 12 SMS sent" 12 "$(( $(sent_count) - before ))"
	send_ok news "$(new_mobile)"
	expect_code "$P a request beyond the budget: THROTTLING" news 200 THROTTLE
	stop_vcoded
	expect_match "$P a warn line says the budget is spent" \
	    'warn: sms budget of 12 an hour is spent' "$(cat "$T/vcoded.stderr")"
fi

# solved ID: a captcha whose answer the test knows (it plays the human).
solved() { rcli set "img_$1" abcd EX 300 >/dev/null; }

# pump N MOBILE XFF: N meiduo SMS requests, each with a solved captcha,
# in one curl (a config of url/header/next blocks) through nginx. MOBILE
# "new" takes a new number each time; XFF is a function printing the
# X-Forwarded-For of request i. Sets PUMP_200 (answers with HTTP 200) and
# PUMP_SENT (SMS the provider wrote).
pump() {
	local n=$1 mobile=$2 xff=$3 i id m before
	before=$(sent_count)
	for i in $(seq "$n"); do
		id=$(printf 'pump%08d' "$i")
		solved "$id"
		m=$mobile
		[ "$m" = new ] && m=$(new_mobile)
		printf 'url = "%s/sms_codes/%s/?image_code=abcd&uuid=%s"\n' "$BASE" "$m" "$id"
		printf 'header = "X-Forwarded-For: %s"\n' "$($xff "$i")"
		printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n'
	done >"$T/batch.cfg"
	curl -s --max-time 120 -K "$T/batch.cfg" >"$T/batch.out" 2>/dev/null
	PUMP_200=$(grep -c '^200$' "$T/batch.out")
	PUMP_SENT=$(( $(sent_count) - before ))
}
v4_of() { printf '198.18.%d.%d' $(($1 / 250)) $(($1 % 250 + 1)); }
v6_of() { printf '2001:db8:64:64:%x:%x::%x' $(($1 * 7)) $(($1 * 13)) "$1"; }

P="[1000 addresses]"
if start_vcoded prefork VCODE_SMS_INTERVAL=0 VCODE_SMS_DAILY_LIMIT=10 \
    VCODE_IP_HOURLY_LIMIT=20 'VCODE_TRUSTED_PROXIES=127.0.0.1' \
    VCODE_PREFIX_HOURLY_LIMIT=0 VCODE_SMS_HOURLY_BUDGET=0; then
	pump 1000 "$(new_mobile)" v4_of
	expect_eq "$P 1000 requests answered 200" 1000 "$PUMP_200"
	expect_eq "$P one mobile from 1000 addresses: sms_daily_limit (10) sent" 10 "$PUMP_SENT"
	stop_vcoded
fi

P="[one /64]"
if start_vcoded prefork VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=20 \
    'VCODE_TRUSTED_PROXIES=127.0.0.1' VCODE_PREFIX_HOURLY_LIMIT=0 \
    VCODE_SMS_HOURLY_BUDGET=0; then
	pump 1000 new v6_of
	expect_eq "$P 1000 requests answered 200" 1000 "$PUMP_200"
	expect_eq "$P 1000 addresses of one /64, many mobiles: ip_hourly_limit (20) sent" 20 "$PUMP_SENT"
	stop_vcoded
fi

P="[verify-cap]"
if start_vcoded prefork VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=0 \
    VCODE_VERIFY_ATTEMPTS=5; then
	m=$(new_mobile)
	send_ok meiduo "$m"
	code=$(log_code "$m")
	wrong=$(printf '%06d' $(((10#$code + 1) % 1000000)))
	for i in 1 2 3; do verify "$m" "$wrong"; done
	# Another dialect's code for the same mobile: its own attempts.
	send_ok ihome "$m"
	expect_code "$P an ihome send between the tries: OK" ihome 200 OK
	for i in 4 5; do verify "$m" "$wrong"; done
	verify "$m" "$code"
	expect_reply "$P meiduo's code burned after 5 wrong tries in all" 200 .code 4008
	expect_eq "$P ... the code is gone" "" "$(rcli get "sms_$m")"
	stop_vcoded
fi

P="[logs]"
leaks=0
for c in $(sed -n 's/.* code=\([0-9]*\).*/\1/p' "$SMS_LOG"); do
	grep -qw "$c" "$T/vcoded.stderr" && leaks=$((leaks + 1))
done
expect_eq "$P no code of the $(sent_count) sent in vcoded's log" 0 "$leaks"
expect_eq "$P no full mobile of this file in vcoded's log" 0 \
    "$(grep -cE '1370123[0-9]{4}|13701240001' "$T/vcoded.stderr")"
it_done
