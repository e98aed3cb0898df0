#!/bin/bash
# The abuse limits (vcode.conf(5)) and the configuration keys that shape replies:
# resend interval, daily limit per mobile, hourly limit per client IP (with
# and without trusted proxies and X-Forwarded-For), TTL keys, lang = en,
# mobile_pattern, dialects, key_prefix, and a provider that cannot be
# reached (SMSSENDERR with the code and throttle rolled back).
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

# throttled_keeps_captcha NAME DIALECT MOBILE [CURL ARGS]: a real captcha,
# a throttled reply, and the captcha still in Redis.
throttled_keeps_captcha() {
	local name=$1 d=$2 m=$3 id
	shift 3
	id=$(new_id)
	captcha "$d" "$id"
	sms "$d" "$m" "$ANSWER" "$id" "$@"
	expect_code "$name: THROTTLE" "$d" 200 THROTTLE
	expect_eq "$name: captcha left in Redis" "$ANSWER" "$(rcli get "$(ckey "$d" "$id")")"
}

# ---- resend interval ------------------------------------------------------
P="[interval=2]"
if restart VCODE_SMS_INTERVAL=2 VCODE_IP_HOURLY_LIMIT=0 VCODE_CAPTCHA_TTL=120 \
    VCODE_SMS_CODE_TTL=180; then
	for d in $DIALECTS; do
		m=$(new_mobile)
		id=$(new_id)
		captcha "$d" "$id"
		expect_range "$P $d captcha_ttl=120 applied" 115 120 "$(rcli ttl "$(ckey "$d" "$id")")"
		sms "$d" "$m" "$ANSWER" "$id"
		expect_code "$P $d first SMS" "$d" 200 OK
		expect_range "$P $d sms_code_ttl=180 applied" 175 180 "$(rcli ttl "$(skey "$d" "$m")")"
		expect_match "$P $d dev SMS says minutes=3" 'minutes=3( |$)' "$(grep -a "mobile=$m " "$SMS_LOG" | tail -n 1)"
		expect_range "$P $d $(fkey "$d" MOBILE) TTL <= 2" 1 2 "$(rcli ttl "$(fkey "$d" "$m")")"
		throttled_keeps_captcha "$P $d resend at once" "$d" "$m"
		n=60
		while [ $n -gt 0 ] && [ "$(rcli exists "$(fkey "$d" "$m")")" = 1 ]; do
			sleep 0.05
			n=$((n - 1))
		done
		expect_eq "$P $d throttle key expired within 3 s" 0 "$(rcli exists "$(fkey "$d" "$m")")"
		send_ok "$d" "$m"
		expect_code "$P $d resend after the interval: OK" "$d" 200 OK
		expect_eq "$P $d two SMS sent" 2 "$(log_count "$m")"
	done
	# meiduo and news share send_flag_{mobile} (README, "What it serves")
	m=$(new_mobile)
	send_ok meiduo "$m"
	throttled_keeps_captcha "$P news after meiduo (shared send_flag_)" news "$m"
	m=$(new_mobile)
	send_ok news "$m"
	throttled_keeps_captcha "$P meiduo after news (shared send_flag_)" meiduo "$m"
	# One interval per mobile across all dialects, whatever the legacy
	# flag keys are called (ihome's is send_sms_code_).
	for pair in "meiduo ihome" "ihome news" "news ihome" "ihome meiduo"; do
		set -- $pair
		m=$(new_mobile)
		send_ok "$1" "$m"
		throttled_keeps_captcha "$P $2 after $1 (one interval per mobile)" "$2" "$m"
		expect_eq "$P $1's legacy flag still written" 1 "$(rcli exists "$(fkey "$1" "$m")")"
	done
fi

# ---- daily limit per mobile -------------------------------------------
P="[daily=3]"
if restart VCODE_SMS_INTERVAL=0 VCODE_SMS_DAILY_LIMIT=3 VCODE_IP_HOURLY_LIMIT=0; then
	m=$(new_mobile)
	send_ok meiduo "$m"
	expect_code "$P 1st SMS (meiduo), interval 0" meiduo 200 OK
	expect_eq "$P interval 0: no throttle key" "0 0" \
	    "$(rcli exists "send_flag_$m") $(rcli exists "send_sms_code_$m")"
	send_ok ihome "$m"
	expect_code "$P 2nd SMS (ihome): OK" ihome 200 OK
	expect_eq "$P counter = 2 (shared by dialects)" 2 "$(rcli get "vcode:daily:$m")"
	id=$(new_id)
	captcha news "$id"
	sms news "$m" "$(printf '%s' "$ANSWER" | tr '0-9A-Za-z' '1-90B-Zab-za')" "$id"
	expect_code "$P wrong captcha" news 200 IMG_WRONG
	expect_eq "$P a refused SMS does not count" 2 "$(rcli get "vcode:daily:$m")"
	send_ok news "$m"
	expect_code "$P 3rd SMS (news): OK" news 200 OK
	expect_eq "$P counter = 3" 3 "$(rcli get "vcode:daily:$m")"
	expect_range "$P counter TTL (set at the first SMS)" 86390 86400 "$(rcli ttl "vcode:daily:$m")"
	throttled_keeps_captcha "$P 4th SMS (meiduo)" meiduo "$m"
	throttled_keeps_captcha "$P 4th SMS (ihome)" ihome "$m"
	throttled_keeps_captcha "$P 4th SMS (news)" news "$m"
	expect_eq "$P three SMS sent in all" 3 "$(log_count "$m")"
	send_ok meiduo "$(new_mobile)"
	expect_code "$P another mobile is not limited" meiduo 200 OK

	# 20 concurrent requests, each with its own captcha: exactly 3 pass
	m=$(new_mobile)
	mkdir -p "$T/daily"
	for i in $(seq 1 20); do
		id=$(new_id)
		captcha meiduo "$id"
		echo "$BASE/sms_codes/$m/?image_code=$ANSWER&uuid=$id" >"$T/daily/u$i"
	done
	seq 1 20 | xargs -P 20 -I{} sh -c 'curl -s --max-time 20 -o "$1/r$2" "$(cat "$1/u$2")"' \
	    sh "$T/daily" {} 2>/dev/null
	ok0=0 thr=0 other=0
	for i in $(seq 1 20); do
		case $(jq -c .code "$T/daily/r$i" 2>/dev/null) in
		0) ok0=$((ok0 + 1)) ;; 4002) thr=$((thr + 1)) ;; *) other=$((other + 1)) ;;
		esac
	done
	expect_eq "$P 20 concurrent for one mobile: OK/THROTTLE/other" 3/17/0 "$ok0/$thr/$other"
	expect_eq "$P 20 concurrent: three SMS sent" 3 "$(log_count "$m")"
fi

# ---- hourly limit per client IP, no trusted proxy ----------------------
P="[ip=3]"
if restart VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=3; then
	sms meiduo 12345678901 abcd "$(new_id)"
	expect_code "$P bad mobile" meiduo 200 MOBILE
	sms ihome "$(new_mobile)" "" "$(new_id)"
	expect_code "$P missing field" ihome 200 NECESSARY
	sms news "$(new_mobile)" abcd short
	expect_code "$P bad id" news 200 PARAM
	expect_eq "$P refused by validation: not counted" "" "$(rcli get vcode:ip:127.0.0.1)"
	image meiduo "$(new_id)"
	expect_eq "$P image requests: not counted" "" "$(rcli get vcode:ip:127.0.0.1)"
	for d in $DIALECTS; do
		sms "$d" "$(new_mobile)" abcd "$(new_id)"
		expect_code "$P $d request under the limit (no captcha)" "$d" 200 IMG_MISSING
	done
	expect_eq "$P vcode:ip:127.0.0.1 = 3" 3 "$(rcli get vcode:ip:127.0.0.1)"
	expect_range "$P vcode:ip TTL" 3590 3600 "$(rcli ttl vcode:ip:127.0.0.1)"
	for d in $DIALECTS; do
		throttled_keeps_captcha "$P $d 4th request" "$d" "$(new_mobile)"
	done
	throttled_keeps_captcha "$P X-Forwarded-For from an untrusted peer is ignored" \
	    meiduo "$(new_mobile)" -H 'X-Forwarded-For: 203.0.113.99'
	expect_eq "$P no counter for the spoofed address" 0 "$(rcli exists vcode:ip:203.0.113.99)"
fi

# ---- one phone, many spellings ---------------------------------------------
P="[spellings]"
if restart VCODE_SMS_INTERVAL=0 VCODE_SMS_DAILY_LIMIT=2 VCODE_IP_HOURLY_LIMIT=0 \
    'VCODE_MOBILE_PATTERN=^(\+?86|0086)?1[3-9][0-9]{9}$'; then
	codes=""
	for m in 13700000077 8613700000077 +8613700000077 008613700000077; do
		send_ok ihome "$m"
		codes="$codes $(jv .errno)"
	done
	expect_eq "$P 4 spellings of one number, daily limit 2: OK OK THROTTLE THROTTLE" \
	    ' "0" "0" "4201" "4201"' "$codes"
	expect_eq "$P one daily counter, on the national number" 2 \
	    "$(rcli get vcode:daily:13700000077)"
	expect_eq "$P the legacy code key keeps the form sent" 1 \
	    "$(rcli exists sms_code_8613700000077)"
	expect_eq "$P no counter for a prefixed spelling" 0 \
	    "$(rcli exists vcode:daily:8613700000077)"
fi
if restart VCODE_SMS_INTERVAL=60 VCODE_IP_HOURLY_LIMIT=0 \
    'VCODE_MOBILE_PATTERN=^(\+?86|0086)?1[3-9][0-9]{9}$'; then
	send_ok meiduo 13700000088
	expect_code "$P first SMS to 13700000088" meiduo 200 OK
	throttled_keeps_captcha "$P +8613700000088 within the interval" ihome +8613700000088
	throttled_keeps_captcha "$P 008613700000088 within the interval" news 008613700000088
fi
out=$(VCODE_COUNTRY_CODE=+86 timeout 10 "$VCODED" -t -c "$CONF" 2>&1 >/dev/null)
expect_match "$P -t refuses country_code = +86, naming the key" country_code "$out"

# ---- trusted proxy: the client is the last untrusted X-Forwarded-For hop --
P="[ip=3 trusted]"
if restart VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=3 \
    'VCODE_TRUSTED_PROXIES=10.9.8.7, 127.0.0.1 ::1'; then
	throttled_keeps_captcha "$P no X-Forwarded-For: REMOTE_ADDR (already over)" \
	    meiduo "$(new_mobile)"
	xff=(-H 'X-Forwarded-For: 203.0.113.7')
	for i in 1 2 3; do
		sms ihome "$(new_mobile)" abcd "$(new_id)" "${xff[@]}"
		expect_code "$P 203.0.113.7 request $i: under the limit" ihome 200 IMG_MISSING
	done
	expect_eq "$P vcode:ip:203.0.113.7 = 3" 3 "$(rcli get vcode:ip:203.0.113.7)"
	expect_range "$P vcode:ip:203.0.113.7 TTL" 3590 3600 "$(rcli ttl vcode:ip:203.0.113.7)"
	throttled_keeps_captcha "$P 203.0.113.7 4th request" news "$(new_mobile)" "${xff[@]}"
	sms meiduo "$(new_mobile)" abcd "$(new_id)" -H 'X-Forwarded-For: 203.0.113.8'
	expect_code "$P 203.0.113.8 has its own counter" meiduo 200 IMG_MISSING
	sms meiduo "$(new_mobile)" abcd "$(new_id)" \
	    -H 'X-Forwarded-For: 198.51.100.20, 10.9.8.7, 127.0.0.1'
	expect_code "$P chain ending in trusted hops: served" meiduo 200 IMG_MISSING
	expect_eq "$P trusted hops skipped: counted for 198.51.100.20" 1 "$(rcli get vcode:ip:198.51.100.20)"
	sms meiduo "$(new_mobile)" abcd "$(new_id)" -H 'X-Forwarded-For: 203.0.113.7, 198.51.100.21'
	expect_code "$P spoofed left entry 203.0.113.7 is not the client" meiduo 200 IMG_MISSING
	expect_eq "$P rightmost untrusted 198.51.100.21 counted" 1 "$(rcli get vcode:ip:198.51.100.21)"
	sms meiduo "$(new_mobile)" abcd "$(new_id)" -H 'X-Forwarded-For: 198.51.100.22,203.0.113.7'
	expect_code "$P 203.0.113.7 as rightmost (no space after comma): THROTTLE" meiduo 200 THROTTLE
	# Other spellings of one address are that address.
	for a in ::ffff:203.0.113.7 0:0:0:0:0:ffff:cb00:7107 ::FFFF:203.0.113.7; do
		sms meiduo "$(new_mobile)" abcd "$(new_id)" -H "X-Forwarded-For: $a"
		expect_code "$P $a is 203.0.113.7: THROTTLE" meiduo 200 THROTTLE
	done
	# A client's IPv6 /64 is one counter (ip6_prefix = 64).
	codes=""
	for i in $(seq 1 6); do
		sms ihome "$(new_mobile)" abcd "$(new_id)" \
		    -H "X-Forwarded-For: 2001:db8:7:7:$i:${i}a:${i}b:$((i * 7))"
		codes="$codes $(jv .errno)"
	done
	expect_eq "$P 6 addresses of 2001:db8:7:7::/64: 3 served, then THROTTLE" \
	    ' "4002" "4002" "4002" "4201" "4201" "4201"' "$codes"
	expect_eq "$P ... one counter, written ADDR/64" 3 "$(rcli get 'vcode:ip:2001:db8:7:7::/64')"
	sms ihome "$(new_mobile)" abcd "$(new_id)" -H "X-Forwarded-For: 2001:db8:7:8::1"
	expect_code "$P the next /64 has its own counter" ihome 200 IMG_MISSING
	sms ihome "$(new_mobile)" abcd "$(new_id)" -H "X-Forwarded-For: 2001:0db8:0007:0007:0000:0000:0000:0099"
	expect_code "$P a long spelling of the first /64: THROTTLE" ihome 200 THROTTLE
	check_ttls "$P every key has a TTL"
fi

# ---- lang = en, mobile_pattern, dialects, key_prefix -----------------------
P="[en]"
if restart VCODE_LANG=en VCODE_IP_HOURLY_LIMIT=0; then
	m=$(new_mobile)
	for what in OK THROTTLE IMG_WRONG IMG_MISSING; do
		case $what in
		OK|THROTTLE) send_ok meiduo "$m" ;;
		IMG_WRONG)
			id=$(new_id)
			captcha meiduo "$id"
			sms meiduo "$(new_mobile)" "$(printf '%s' "$ANSWER" | tr '0-9A-Za-z' '1-90B-Zab-za')" "$id" ;;
		IMG_MISSING) sms meiduo "$(new_mobile)" abcd "$(new_id)" ;;
		esac
		expect_code "$P $what" meiduo 200 "$what"
		expect_match "$P $what errmsg is English" '^"[ -~]+"$' "$(jv .errmsg)"
	done
	sms ihome 1 abcd "$(new_id)"
	expect_match "$P ihome DATAERR errmsg is English" '^"[ -~]+"$' "$(jv .errmsg)"
fi
P="[pattern]"
if restart 'VCODE_MOBILE_PATTERN=^9[0-9]{4}$' VCODE_DIALECTS=meiduo \
    VCODE_KEY_PREFIX=vc2: VCODE_IP_HOURLY_LIMIT=0; then
	send_ok meiduo 98765
	expect_code "$P mobile_pattern ^9[0-9]{4}\$: 98765 OK" meiduo 200 OK
	expect_eq "$P key_prefix vc2: names the daily counter" "1 0" \
	    "$(rcli get vc2:daily:98765) $(rcli exists vcode:daily:98765)"
	sms meiduo 13800138000 abcd "$(new_id)"
	expect_code "$P 13800138000 fails the custom pattern" meiduo 200 MOBILE
	http GET "/image_code/?uuid=$(new_id)"
	expect_eq "$P dialects=meiduo: ihome image route is 404" 404 "$H_STATUS"
	http POST /passport/sms_code -H 'Content-Type: application/json' --data-binary '{}'
	expect_eq "$P dialects=meiduo: news sms route is 404" 404 "$H_STATUS"
	http GET /healthz
	expect_eq "$P dialects=meiduo: /healthz still served" 200 "$H_STATUS"
fi

# ---- the provider fails: SMSSENDERR, code and throttle rolled back -------
# The log provider writing to /dev/full fails at fflush (ENOSPC): a
# provider that refuses, without any network.
P="[provider fails]"
if restart VCODE_SMS_LOG_FILE=/dev/full VCODE_IP_HOURLY_LIMIT=0; then
	for d in $DIALECTS; do
		m=$(new_mobile)
		for try in 1 2; do
			id=$(new_id)
			captcha "$d" "$id"
			sms "$d" "$m" "$ANSWER" "$id"
			expect_code "$P $d try $try: SMSSENDERR (no throttle after a rollback)" "$d" 200 SEND
		done
		expect_eq "$P $d code and throttle rolled back" "0 0" \
		    "$(rcli exists "$(skey "$d" "$m")") $(rcli exists "$(fkey "$d" "$m")")"
		v=$(rcli get "vcode:daily:$m")
		expect_eq "$P $d nothing sent is not counted (daily counter)" 0 "${v:-0}"
	done
fi
stop_vcoded
check_ttls "every key has a TTL"
it_done
