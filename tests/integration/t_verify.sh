#!/bin/bash
# Verification (README, "What it serves"): POST /sms_codes/{mobile}/verify with an api_key set.
# Bearer required (401 4101), right code once, wrong codes counted and the
# code burned after verify_attempts, a new code starts afresh; and the
# keyed-hash storage (sms_code_storage = hash).
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

KEY='s3cret-Key_1'
AUTH=(-H "Authorization: Bearer $KEY")

# other CODE: a 6-digit code that is not CODE.
other() { printf '%06d\n' $(((10#$1 + 1) % 1000000)); }

P="[verify]"
if start_vcoded prefork "VCODE_API_KEY=$KEY" VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=0; then
	m=$(new_mobile)
	send_ok meiduo "$m"
	expect_code "$P SMS sent" meiduo 200 OK
	c=$(log_code "$m")
	expect_match "$P code read from the dev SMS log" '^[0-9]{6}$' "$c"

	verify "$m" "$c"
	expect_reply "$P no Authorization: 401 4101" 401 .code 4101
	expect_match "$P 401 is JSON" '^application/json' "$H_CTYPE"
	verify "$m" "$c" -H "Authorization: Bearer wrong-key"
	expect_reply "$P wrong Bearer: 401 4101" 401 .code 4101
	verify "$m" "$c" -H "Authorization: Bearer ${KEY}x"
	expect_reply "$P key with an extra char: 401" 401 .code 4101
	verify "$m" "$c" -H "Authorization: Bearer ${KEY%?}"
	expect_reply "$P key missing its last char: 401" 401 .code 4101
	verify "$m" "$c" -H "Authorization: Basic $(printf 'x:%s' "$KEY" | base64)"
	expect_reply "$P Basic auth: 401" 401 .code 4101
	verify "$m" "$c" -H "Authorization: $KEY"
	expect_reply "$P key without 'Bearer ': 401" 401 .code 4101
	verify "$m" "$c" -H "Authorization: Bearer"
	expect_reply "$P 'Bearer' alone: 401" 401 .code 4101
	expect_eq "$P refused verifies leave the code" "$c" "$(rcli get "sms_$m")"
	expect_eq "$P refused verifies count no attempt" 0 "$(rcli exists "vcode:verify:sms_$m")"

	verify "$m" "$c" "${AUTH[@]}"
	expect_code "$P right code: OK" meiduo 200 OK
	expect_eq "$P right code: code deleted" 0 "$(rcli exists "sms_$m")"
	verify "$m" "$c" "${AUTH[@]}"
	expect_reply "$P code used twice: 4008" 200 .code 4008

	# wrong codes below the cap, then the right one still works
	m=$(new_mobile)
	send_ok meiduo "$m"
	c=$(log_code "$m")
	for i in 1 2 3 4; do
		verify "$m" "$(other "$c")" "${AUTH[@]}"
		expect_reply "$P wrong code $i/4: 4008" 200 .code 4008
	done
	expect_eq "$P 4 wrong codes counted" 4 "$(rcli get "vcode:verify:sms_$m")"
	t=$(rcli ttl "vcode:verify:sms_$m")
	expect_range "$P attempt counter has a TTL" 1 300 "$t"
	expect_eq "$P code kept below the cap" "$c" "$(rcli get "sms_$m")"
	verify "$m" "$c" "${AUTH[@]}"
	expect_code "$P right code after 4 wrong: OK" meiduo 200 OK

	# the 5th wrong code burns it
	m=$(new_mobile)
	send_ok meiduo "$m"
	c=$(log_code "$m")
	for i in 1 2 3 4 5; do
		verify "$m" "$(other "$c")" "${AUTH[@]}"
		expect_reply "$P burn: wrong code $i/5: 4008" 200 .code 4008
	done
	expect_eq "$P code deleted after 5 wrong" 0 "$(rcli exists "sms_$m")"
	verify "$m" "$c" "${AUTH[@]}"
	expect_reply "$P right code after the cap: 4008" 200 .code 4008
	verify "$m" "$c" "${AUTH[@]}"
	expect_reply "$P and again: 4008" 200 .code 4008
	send_ok meiduo "$m"
	expect_code "$P a new code can be sent" meiduo 200 OK
	c2=$(log_code "$m")
	verify "$m" "$c2" "${AUTH[@]}"
	expect_code "$P the new code verifies (attempts reset)" meiduo 200 OK

	# attempts after a code is gone do not leave keys without TTL
	m=$(new_mobile)
	for i in 1 2 3; do verify "$m" 123456 "${AUTH[@]}"; done
	expect_reply "$P no code ever sent: 4008" 200 .code 4008

	# fields
	m=$(new_mobile)
	send_ok meiduo "$m"
	c=$(log_code "$m")
	http POST "/sms_codes/$m/verify" "${AUTH[@]}" -H 'Content-Type: application/json' --data-binary '{}'
	expect_reply "$P no sms_code: 4003" 200 .code 4003
	http POST "/sms_codes/$m/verify" "${AUTH[@]}" -H 'Content-Type: application/json' \
	    --data-binary '{"code":"123456"}'
	expect_reply "$P other field only: 4003" 200 .code 4003
	verify "$m" 12a456 "${AUTH[@]}"
	expect_reply "$P non-digit code: 5006" 200 .code 5006
	verify "$m" 1234567890123 "${AUTH[@]}"
	expect_reply "$P 13-digit code: 5006" 200 .code 5006
	verify "$m" "$c " "${AUTH[@]}"
	expect_reply "$P code with a trailing space: 5006" 200 .code 5006
	http POST "/sms_codes/$m/verify" "${AUTH[@]}" -H 'Content-Type: application/json' \
	    --data-binary "{\"sms_code\":$c}"
	expect_reply "$P code as a JSON number: 5006" 200 .code 5006
	http POST "/sms_codes/$m/verify" "${AUTH[@]}" -H 'Content-Type: application/json' \
	    --data-binary 'sms_code=123456'
	expect_reply "$P form body: 5006" 200 .code 5006
	verify 12345678901 "$c" "${AUTH[@]}"
	expect_reply "$P bad mobile: 4007" 200 .code 4007
	verify 1380013800 "$c" "${AUTH[@]}"
	expect_reply "$P 10-digit mobile: 4007" 200 .code 4007
	expect_eq "$P malformed requests burned nothing" "$c" "$(rcli get "sms_$m")"
	verify "$m" "$c" "${AUTH[@]}"
	expect_code "$P code still good after malformed requests" meiduo 200 OK
	check_ttls "$P every key has a TTL"
fi
stop_vcoded

P="[hash storage]"
if start_vcoded prefork "VCODE_API_KEY=$KEY" VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=0 \
    VCODE_SMS_CODE_STORAGE=hash VCODE_SMS_CODE_KEY=hmac-test-key-0123456789; then
	m=$(new_mobile)
	send_ok meiduo "$m"
	expect_code "$P SMS sent" meiduo 200 OK
	c=$(log_code "$m")
	v=$(rcli get "sms_$m")
	expect_match "$P something is stored" '^.+$' "$v"
	if [ "$v" = "$c" ]; then fail "$P stored value is not the plain code" "not $c" "$v"
	else ok "$P stored value is not the plain code"; fi
	expect_range "$P hashed code TTL" 290 300 "$(rcli ttl "sms_$m")"
	verify "$m" "$(other "$c")" "${AUTH[@]}"
	expect_reply "$P wrong code: 4008" 200 .code 4008
	verify "$m" "$c" "${AUTH[@]}"
	expect_code "$P right code: OK" meiduo 200 OK
	verify "$m" "$c" "${AUTH[@]}"
	expect_reply "$P used twice: 4008" 200 .code 4008
	check_ttls "$P every key has a TTL"
fi
stop_vcoded
it_done
