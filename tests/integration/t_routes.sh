#!/bin/bash
# The route suite, run twice: vcoded under spawn-fcgi (4 processes) and
# vcoded's own prefork pool (3 workers), both behind nginx. Every route of
# the three dialects, every code they can answer without breaking Redis,
# the keys and TTLs (README, "What it serves"), one attempt per captcha, ?pre=, the HTTP level
# (README, "What it serves"), a garbage set that must leave every worker alive, and 50
# concurrent requests racing for one captcha and for one throttle.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

ZH_OK=发送短信成功
ZH_THROTTLE=发送短信过于频繁
ZH_IMG_GONE=图形验证码失效
ZH_IMG_WRONG=输入图形验证码有误

# wrong_text ANSWER: a text of the same length that is not ANSWER in any case.
wrong_text() {
	local w=${1//?/9}
	[ "${1,,}" = "$w" ] && w=${1//?/8}
	echo "$w"
}

# pad_json JSON SIZE: JSON with spaces inserted after '{' to SIZE bytes.
pad_json() {
	local n=$(($2 - ${#1}))
	printf '{%*s%s' "$n" '' "${1#\{}"
}

health() {
	http GET /healthz
	expect_eq "$P healthz" '200 {"status":"ok"}' "$H_STATUS $(jv .)"
	expect_match "$P healthz content-type" '^application/json' "$H_CTYPE"
	http GET /healthz/
	expect_eq "$P healthz/ (trailing slash)" '200 {"status":"ok"}' "$H_STATUS $(jv .)"
}

images() {
	local d=$1 id id2 t
	id=$(new_id)
	image "$d" "$id"
	expect_eq "$P $d image: status" 200 "$H_STATUS"
	expect_eq "$P $d image: content-type" image/png "$H_CTYPE"
	expect_match "$P $d image: Cache-Control no-store" 'no-store' "$(hdr Cache-Control)"
	expect_eq "$P $d image: PNG 120x40" 120x40 "$(png_size "$T/last.body")"
	t=$(rcli get "$(ckey "$d" "$id")")
	expect_match "$P $d image: answer in $(ckey "$d" ID) is 4 letters/digits" \
	    '^[0-9A-Za-z]{4}$' "$t"
	expect_range "$P $d image: captcha TTL" 290 300 "$(rcli ttl "$(ckey "$d" "$id")")"
	expect_eq "$P $d image: captcha is a plain string" string "$(rcli type "$(ckey "$d" "$id")")"

	# the other spelling of the route (trailing slash optional)
	id2=$(new_id)
	case $d in
	meiduo) http GET "/image_codes/$id2" ;;
	ihome)	http GET "/image_code?uuid=$id2" ;;
	news)	http GET "/passport/image_code/?code_id=$id2" ;;
	esac
	expect_eq "$P $d image, other trailing slash: 200 image/png" "200 image/png" "$H_STATUS $H_CTYPE"
	expect_eq "$P $d image, other trailing slash: key written" 1 "$(rcli exists "$(ckey "$d" "$id2")")"

	# id bounds: 8 and 64 accepted, 7, 65 and a foreign character not
	image "$d" abcdefgh
	expect_eq "$P $d image: 8-char id accepted" 200 "$H_STATUS"
	image "$d" "$(printf 'A%.0s' {1..64})"
	expect_eq "$P $d image: 64-char id accepted" 200 "$H_STATUS"
	image "$d" abcdefg
	expect_code "$P $d image: 7-char id -> 400 PARAMERR" "$d" 400 PARAM
	expect_match "$P $d image: error is JSON" '^application/json' "$H_CTYPE"
	image "$d" "$(printf 'B%.0s' {1..65})"
	expect_code "$P $d image: 65-char id -> 400 PARAMERR" "$d" 400 PARAM
	image "$d" 'abcd.efgh'
	expect_code "$P $d image: id with '.' -> 400 PARAMERR" "$d" 400 PARAM
	expect_eq "$P $d image: no key for a refused id" 0 "$(rcli exists "$(ckey "$d" abcd.efgh)")"
	image "$d" 'abcd%20efgh'
	expect_code "$P $d image: id with a space -> 400 PARAMERR" "$d" 400 PARAM

	# missing id (query dialects)
	case $d in
	ihome)
		http GET /image_code/
		expect_code "$P ihome image: no uuid -> 400 NODATA" ihome 400 NECESSARY
		http GET '/image_code/?uuid='
		expect_code "$P ihome image: empty uuid -> 400 NODATA" ihome 400 NECESSARY
		;;
	news)
		http GET /passport/image_code
		expect_code "$P news image: no code_id -> 400 NODATA" news 400 NECESSARY
		http GET '/passport/image_code?code_id='
		expect_code "$P news image: empty code_id -> 400 NODATA" news 400 NECESSARY
		;;
	meiduo)
		# ?pre= deletes the previous captcha, and only that one
		local other
		other=$(new_id)
		captcha meiduo "$other"
		id2=$(new_id)
		image meiduo "$id2" "pre=$id"
		expect_eq "$P meiduo image ?pre=: 200" 200 "$H_STATUS"
		expect_eq "$P meiduo image ?pre=: old captcha deleted" 0 "$(rcli exists "img_$id")"
		expect_eq "$P meiduo image ?pre=: new captcha stored" 1 "$(rcli exists "img_$id2")"
		expect_eq "$P meiduo image ?pre=: unrelated captcha kept" 1 "$(rcli exists "img_$other")"
		;;
	esac
}

sms_flow() {
	local d=$1 m m2 id id2 c t w n
	m=$(new_mobile)
	id=$(new_id)
	captcha "$d" "$id"
	expect_match "$P $d captcha fetched" '^.+$' "$ANSWER"
	sms "$d" "$m" "$ANSWER" "$id"
	expect_eq "$P $d sms: 200 OK $ZH_OK" "200 $(code "$d" OK) \"$ZH_OK\"" \
	    "$H_STATUS $(jv "$(field "$d")") $(jv .errmsg)"
	expect_match "$P $d sms: content-type" '^application/json' "$H_CTYPE"
	expect_shape "$P $d sms: JSON shape" "$d"
	expect_eq "$P $d sms: captcha deleted after use" 0 "$(rcli exists "$(ckey "$d" "$id")")"
	expect_eq "$P $d sms: one dev SMS line" 1 "$(log_count "$m")"
	[ "$d" = meiduo ] && expect_match "$P dev SMS line format (decided)" \
	    "^\[vcode dev sms\] mobile=$m code=[0-9]{6} minutes=5$" \
	    "$(grep -a "mobile=$m " "$SMS_LOG" | tail -n 1)"
	c=$(log_code "$m")
	expect_eq "$P $d sms: $(skey "$d" MOBILE) holds the plain code" "$c" "$(rcli get "$(skey "$d" "$m")")"
	expect_eq "$P $d sms: $(skey "$d" MOBILE) is a string" string "$(rcli type "$(skey "$d" "$m")")"
	expect_range "$P $d sms: code TTL" 290 300 "$(rcli ttl "$(skey "$d" "$m")")"
	expect_range "$P $d sms: $(fkey "$d" MOBILE) TTL" 55 60 "$(rcli ttl "$(fkey "$d" "$m")")"
	expect_eq "$P $d sms: vcode:daily:MOBILE = 1" 1 "$(rcli get "vcode:daily:$m")"
	expect_range "$P $d sms: vcode:daily TTL" 86390 86400 "$(rcli ttl "vcode:daily:$m")"

	# resend within the interval: throttled, captcha left in Redis
	local a1=$ANSWER
	id2=$(new_id)
	captcha "$d" "$id2"
	t=$ANSWER
	sms "$d" "$m" "$t" "$id2"
	expect_eq "$P $d resend: 200 THROTTLE $ZH_THROTTLE" "200 $(code "$d" THROTTLE) \"$ZH_THROTTLE\"" \
	    "$H_STATUS $(jv "$(field "$d")") $(jv .errmsg)"
	expect_eq "$P $d resend: captcha not consumed" "$t" "$(rcli get "$(ckey "$d" "$id2")")"
	expect_eq "$P $d resend: no second SMS" 1 "$(log_count "$m")"
	# validation comes before the throttle
	sms "$d" "$m" "$t" short
	expect_code "$P $d throttled mobile, bad id: PARAMERR first" "$d" 200 PARAM
	sms "$d" "$m" "" "$id2"
	expect_code "$P $d throttled mobile, empty text: NECESSARY first" "$d" 200 NECESSARY
	expect_eq "$P $d throttled mobile: captcha still there" "$t" "$(rcli get "$(ckey "$d" "$id2")")"

	# the used captcha is gone: a second mobile cannot use it
	m2=$(new_mobile)
	sms "$d" "$m2" "$a1" "$id"
	expect_eq "$P $d reused captcha: IMG missing $ZH_IMG_GONE" \
	    "200 $(code "$d" IMG_MISSING) \"$ZH_IMG_GONE\"" \
	    "$H_STATUS $(jv "$(field "$d")") $(jv .errmsg)"

	# one attempt: wrong text burns the captcha
	id=$(new_id)
	captcha "$d" "$id"
	t=$ANSWER
	w=$(wrong_text "$t")
	sms "$d" "$m2" "$w" "$id"
	expect_eq "$P $d wrong text: IMG wrong $ZH_IMG_WRONG" \
	    "200 $(code "$d" IMG_WRONG) \"$ZH_IMG_WRONG\"" \
	    "$H_STATUS $(jv "$(field "$d")") $(jv .errmsg)"
	expect_eq "$P $d wrong text: captcha deleted" 0 "$(rcli exists "$(ckey "$d" "$id")")"
	sms "$d" "$m2" "$t" "$id"
	expect_code "$P $d right text after a wrong one: refused" "$d" 200 IMG_MISSING
	expect_eq "$P $d refused captcha: no SMS, no code key" "0 0" \
	    "$(log_count "$m2") $(rcli exists "$(skey "$d" "$m2")")"
	expect_eq "$P $d refused captcha: no throttle set" 0 "$(rcli exists "$(fkey "$d" "$m2")")"

	# case-insensitive comparison (find a captcha with a letter in it)
	n=10
	while [ $n -gt 0 ]; do
		id=$(new_id)
		captcha "$d" "$id"
		[[ $ANSWER =~ [A-Za-z] ]] && break
		n=$((n - 1))
	done
	t=$(printf '%s' "$ANSWER" | tr 'a-zA-Z' 'A-Za-z')
	sms "$d" "$(new_mobile)" "$t" "$id"
	expect_code "$P $d captcha compared case-insensitively ($ANSWER as $t)" "$d" 200 OK

	# a never-issued captcha id
	sms "$d" "$(new_mobile)" abcd "$(new_id)"
	expect_code "$P $d unknown captcha id: IMG missing" "$d" 200 IMG_MISSING

	# the other spelling of the route
	m=$(new_mobile)
	id=$(new_id)
	captcha "$d" "$id"
	case $d in
	meiduo)	http GET "/sms_codes/$m" -G --data-urlencode "image_code=$ANSWER" \
		    --data-urlencode "uuid=$id" ;;
	ihome)	http POST /sms_code/ -H 'Content-Type: application/json' \
		    --data-binary "$(sms_json ihome "$m" "$ANSWER" "$id")" ;;
	news)	http POST /passport/sms_code/ -H 'Content-Type: application/json' \
		    --data-binary "$(sms_json news "$m" "$ANSWER" "$id")" ;;
	esac
	expect_code "$P $d sms, other trailing slash: OK" "$d" 200 OK
}

# Order of checks and field validation (README, "What it serves").
sms_checks() {
	local d=$1 id m
	m=$(new_mobile)
	id=$(new_id)
	captcha "$d" "$id"
	local a=$ANSWER
	# (b) mobile pattern first, even with everything else missing
	if [ "$d" = meiduo ]; then
		http GET /sms_codes/12345678901/
		expect_code "$P meiduo mobile 12..., no query: MOBILEERR first" meiduo 200 MOBILE
		http GET /sms_codes/1380013800/ -G --data-urlencode "image_code=$a" --data-urlencode "uuid=$id"
		expect_code "$P meiduo 10-digit mobile: MOBILEERR" meiduo 200 MOBILE
		http GET /sms_codes/13800a38000/ -G --data-urlencode "image_code=$a" --data-urlencode "uuid=$id"
		expect_code "$P meiduo mobile with a letter: MOBILEERR" meiduo 200 MOBILE
		http GET /sms_codes/138001380001/ -G --data-urlencode "image_code=$a" --data-urlencode "uuid=$id"
		expect_code "$P meiduo 12-digit mobile: MOBILEERR" meiduo 200 MOBILE
		# (c) missing / empty
		http GET "/sms_codes/$m/?uuid=$id"
		expect_code "$P meiduo no image_code: NECESSARY" meiduo 200 NECESSARY
		http GET "/sms_codes/$m/?image_code=$a"
		expect_code "$P meiduo no uuid: NECESSARY" meiduo 200 NECESSARY
		http GET "/sms_codes/$m/?image_code=&uuid=$id"
		expect_code "$P meiduo empty image_code: NECESSARY" meiduo 200 NECESSARY
		http GET "/sms_codes/$m/?image_code&uuid"
		expect_code "$P meiduo bare names without '=': NECESSARY" meiduo 200 NECESSARY
		http GET "/sms_codes/$m/"
		expect_code "$P meiduo no query: NECESSARY" meiduo 200 NECESSARY
		http GET "/sms_codes/$m/?image_code=$a&uuid=x"
		expect_code "$P meiduo short uuid: PARAMERR" meiduo 200 PARAM
		http GET "/sms_codes/$m/?uuid=x"
		expect_code "$P meiduo short uuid + no text: NECESSARY before PARAMERR" meiduo 200 NECESSARY
		http GET "/sms_codes/$m/?image_code=%ZZ&uuid=$id"
		expect_code "$P meiduo bad escape %ZZ: PARAMERR" meiduo 200 PARAM
		http GET "/sms_codes/$m/?image_code=$a&uuid=$id%"
		expect_code "$P meiduo truncated escape: PARAMERR" meiduo 200 PARAM
		http GET "/sms_codes/$m/?image_code=$a&uuid=$id&pad=$(printf 'x%.0s' {1..2100})"
		expect_code "$P meiduo query over 2048 bytes: PARAMERR" meiduo 200 PARAM
		http GET "/sms_codes/$m/?image_code=$(printf 'A%.0s' {1..17})&uuid=$id"
		expect_code "$P meiduo 17-byte text: PARAMERR" meiduo 200 PARAM
		http GET "/sms_codes/$m/?image_code=%E4%B8%AD%E4%B8%AD%E4%B8%AD%E4%B8%AD%E4%B8%AD%E4%B8%AD&uuid=$id"
		expect_code "$P meiduo 6 CJK chars = 18 bytes: PARAMERR" meiduo 200 PARAM
		expect_eq "$P meiduo captcha untouched by refused requests" "$a" "$(rcli get "img_$id")"
		http GET "/sms_codes/$m/?image_code=$(printf 'A%.0s' {1..16})&uuid=$id"
		expect_code "$P meiduo 16-byte text passes validation (wrong)" meiduo 200 IMG_WRONG
		http GET "/sms_codes/$m/?image_code=$a&uuid=$id"
		expect_code "$P meiduo captcha gone after the 16-byte try" meiduo 200 IMG_MISSING
		expect_eq "$P meiduo no SMS for $m" 0 "$(log_count "$m")"
		return
	fi
	local idf=uuid
	[ "$d" = news ] && idf=image_code_id
	sms_raw "$d" '{"mobile":"12345678901"}'
	expect_code "$P $d mobile 12..., rest missing: DATAERR first" "$d" 200 MOBILE
	sms_raw "$d" "{\"mobile\":13800138000,\"image_code\":\"$a\",\"$idf\":\"$id\"}"
	expect_code "$P $d mobile as a number: DATAERR" "$d" 200 MOBILE
	sms_raw "$d" "{\"mobile\":\"13800a38000\",\"image_code\":\"$a\",\"$idf\":\"$id\"}"
	expect_code "$P $d mobile with a letter: DATAERR" "$d" 200 MOBILE
	sms_raw "$d" "{\"mobile\":\"1380013800\",\"image_code\":\"$a\",\"$idf\":\"$id\"}"
	expect_code "$P $d 10-digit mobile: DATAERR" "$d" 200 MOBILE
	sms_raw "$d" "{\"image_code\":\"$a\",\"$idf\":\"$id\"}"
	expect_code "$P $d no mobile: NODATA" "$d" 200 NECESSARY
	sms_raw "$d" "{\"mobile\":\"\",\"image_code\":\"$a\",\"$idf\":\"$id\"}"
	expect_code "$P $d empty mobile: NODATA" "$d" 200 NECESSARY
	sms_raw "$d" "{\"mobile\":\"$m\",\"$idf\":\"$id\"}"
	expect_code "$P $d no image_code: NODATA" "$d" 200 NECESSARY
	sms_raw "$d" "{\"mobile\":\"$m\",\"image_code\":\"\",\"$idf\":\"$id\"}"
	expect_code "$P $d empty image_code: NODATA" "$d" 200 NECESSARY
	sms_raw "$d" "{\"mobile\":\"$m\",\"image_code\":\"$a\"}"
	expect_code "$P $d no $idf: NODATA" "$d" 200 NECESSARY
	sms_raw "$d" '{}'
	expect_code "$P $d {}: NODATA" "$d" 200 NECESSARY
	sms_raw "$d" "{\"mobile\":\"$m\",\"image_code\":\"$a\",\"$idf\":\"short\"}"
	expect_code "$P $d short $idf: PARAMERR" "$d" 200 PARAM
	sms_raw "$d" "{\"mobile\":\"$m\",\"image_code\":\"$a\",\"$idf\":12345678}"
	expect_code "$P $d $idf as a number: PARAMERR" "$d" 200 PARAM
	sms_raw "$d" "{\"mobile\":\"$m\",\"image_code\":1234,\"$idf\":\"$id\"}"
	expect_code "$P $d image_code as a number: PARAMERR" "$d" 200 PARAM
	sms_raw "$d" "{\"mobile\":\"$m\",\"image_code\":\"$(printf 'A%.0s' {1..17})\",\"$idf\":\"$id\"}"
	expect_code "$P $d 17-byte image_code: PARAMERR" "$d" 200 PARAM
	sms_raw "$d" "{\"mobile\":\"$m\",\"image_code\":\"$a\",\"$idf\":\"$(printf 'c%.0s' {1..65})\"}"
	expect_code "$P $d 65-char $idf: PARAMERR" "$d" 200 PARAM
	sms_raw "$d" 'hello'
	expect_code "$P $d body not JSON: PARAMERR" "$d" 200 PARAM
	sms_raw "$d" "[\"$m\",\"$a\",\"$id\"]"
	expect_code "$P $d body a JSON array: PARAMERR" "$d" 200 PARAM
	expect_eq "$P $d captcha untouched by refused requests" "$a" "$(rcli get "$(ckey "$d" "$id")")"
	expect_eq "$P $d no SMS for $m" 0 "$(log_count "$m")"
}

verify_basic() {
	local m c
	m=$(new_mobile)
	send_ok meiduo "$m"
	c=$(log_code "$m")
	verify "$m" "$c"
	expect_code "$P verify right code (no api_key, no header): OK" meiduo 200 OK
	expect_shape "$P verify: JSON shape" meiduo
	expect_eq "$P verify: code key deleted" 0 "$(rcli exists "sms_$m")"
	verify "$m" "$c"
	expect_reply "$P verify reused code: SMSCODERR" 200 .code 4008
	m=$(new_mobile)
	send_ok meiduo "$m"
	http POST "/sms_codes/$m/verify/" -H 'Content-Type: application/json' \
	    --data-binary "{\"sms_code\":\"$(log_code "$m")\"}"
	expect_code "$P verify/ (trailing slash): OK" meiduo 200 OK
	verify "$(new_mobile)" 123456
	expect_reply "$P verify with no code sent: SMSCODERR" 200 .code 4008
}

http_level() {
	local id b m
	id=$(new_id)
	for p in /nope /index.php /passport/nothing "/image_codes/$id/extra" "/sms_codes/13800138000/verify/x" \
	    /healthz/x /sms_codes/13800138000/verify/../../x/y; do
		http GET "$p"
		expect_reply "$P unknown route GET $p: 404 JSON 5006" 404 .code 5006
	done
	expect_match "$P 404 content-type" '^application/json' "$H_CTYPE"

	http POST "/image_codes/$id/"
	expect_reply "$P POST meiduo image: 405 PARAMERR" 405 .code 5006
	expect_match "$P POST meiduo image: Allow names GET" '(^|[ ,])GET($|[ ,])' "$(hdr Allow)"
	http POST "/sms_codes/13800138000/"
	expect_reply "$P POST meiduo sms: 405" 405 .code 5006
	expect_match "$P POST meiduo sms: Allow names GET" '(^|[ ,])GET($|[ ,])' "$(hdr Allow)"
	http GET "/sms_codes/13800138000/verify"
	expect_reply "$P GET verify: 405" 405 .code 5006
	expect_match "$P GET verify: Allow names POST" '(^|[ ,])POST($|[ ,])' "$(hdr Allow)"
	http GET /sms_code
	expect_reply "$P GET ihome sms: 405 \"4103\"" 405 .errno '"4103"'
	expect_match "$P GET ihome sms: Allow names POST" '(^|[ ,])POST($|[ ,])' "$(hdr Allow)"
	http PUT /passport/sms_code -H 'Content-Type: application/json' --data-binary '{}'
	expect_reply "$P PUT news sms: 405 \"4103\"" 405 .errno '"4103"'
	http DELETE "/image_code/?uuid=$id"
	expect_reply "$P DELETE ihome image: 405 \"4103\"" 405 .errno '"4103"'
	expect_match "$P DELETE ihome image: Allow names GET" '(^|[ ,])GET($|[ ,])' "$(hdr Allow)"
	http PATCH "/sms_codes/13800138000/verify" --data-binary '{}'
	expect_reply "$P PATCH verify: 405" 405 .code 5006
	http FOO "/passport/image_code?code_id=$id"
	expect_reply "$P method FOO on news image: 405" 405 .errno '"4103"'
	http POST /healthz
	expect_eq "$P POST /healthz: 405" 405 "$H_STATUS"
	expect_match "$P POST /healthz: Allow names GET" '(^|[ ,])GET($|[ ,])' "$(hdr Allow)"

	# body size: 4096 is served, 4097 is 413 in the dialect's JSON
	m=$(new_mobile)
	id=$(new_id)
	captcha ihome "$id"
	b=$(pad_json "$(sms_json ihome "$m" "$ANSWER" "$id")" 4096)
	expect_eq "$P (test body is 4096 bytes)" 4096 "${#b}"
	sms_raw ihome "$b"
	expect_code "$P ihome 4096-byte body served: OK" ihome 200 OK
	id=$(new_id)
	captcha ihome "$id"
	b=$(pad_json "$(sms_json ihome "$(new_mobile)" "$ANSWER" "$id")" 4097)
	sms_raw ihome "$b"
	expect_code "$P ihome 4097-byte body: 413 PARAMERR" ihome 413 PARAM
	expect_eq "$P 413 leaves the captcha alone" "$ANSWER" "$(rcli get "image_code_$id")"
	sms_raw news "$(pad_json '{"mobile":"13800138000"}' 7000)"
	expect_code "$P news 7000-byte body: 413 PARAMERR" news 413 PARAM
	sms_raw ihome "$(pad_json '{"mobile":"13800138000"}' 20000)"
	expect_code "$P ihome 20 KB body (nginx passes up to 64k): 413 PARAMERR" ihome 413 PARAM
	sms_raw ihome "$(pad_json '{"mobile":"13800138000"}' 70000)"
	expect_eq "$P 70 KB body: nginx's own 413" 413 "$H_STATUS"
	http POST /sms_codes/13800138000/verify -H 'Content-Type: application/json' \
	    --data-binary "$(pad_json '{"sms_code":"123456"}' 5000)"
	expect_reply "$P verify 5000-byte body: 413 5006" 413 .code 5006
	# A worker closes at once a connection whose request it read to the
	# end (the bodies above that no route takes included): nginx must
	# never see that as a reset or a reply cut short.
	expect_eq "$P nginx logged no upstream reset or short reply" "" \
	    "$(grep -E 'reset by peer|prematurely closed|upstream' "$T/nginx-error.log" | head -n 3)"

	# POST bodies must be JSON (README, "What it serves"): a cross-site HTML form cannot post.
	local ct
	for ct in text/plain application/x-www-form-urlencoded multipart/form-data \
	    application/jsonx "text/json" ""; do
		m=$(new_mobile)
		id=$(new_id)
		captcha ihome "$id"
		http POST /sms_code -H "Content-Type: $ct" \
		    --data-binary "$(sms_json ihome "$m" "$ANSWER" "$id")"
		expect_code "$P ihome Content-Type '$ct': 415 PARAMERR" ihome 415 PARAM
		expect_eq "$P ... the captcha is left alone" "$ANSWER" "$(rcli get "image_code_$id")"
		http POST /passport/sms_code -H "Content-Type: $ct" --data-binary '{}'
		expect_code "$P news Content-Type '$ct': 415 PARAMERR" news 415 PARAM
		http POST "/sms_codes/$m/verify" -H "Content-Type: $ct" --data-binary '{"sms_code":"123456"}'
		expect_reply "$P verify Content-Type '$ct': 415 5006" 415 .code 5006
	done
	for ct in "application/json; charset=utf-8" "Application/JSON" "application/json ;charset=UTF-8"; do
		m=$(new_mobile)
		id=$(new_id)
		captcha news "$id"
		http POST /passport/sms_code -H "Content-Type: $ct" \
		    --data-binary "$(sms_json news "$m" "$ANSWER" "$id")"
		expect_code "$P news Content-Type '$ct': served, OK" news 200 OK
	done

	# A long id on a known route is a malformed id, not an unknown route.
	local long
	long=$(printf 'a%.0s' {1..5000})
	http GET "/image_codes/$long/"
	expect_code "$P meiduo image, 5000-character id: 400 PARAMERR" meiduo 400 PARAM
	http GET "/image_codes/$long/audio"
	expect_code "$P meiduo audio, 5000-character id: 400 PARAMERR" meiduo 400 PARAM
	http GET "/sms_codes/$long/?image_code=abcd&uuid=$(new_id)"
	expect_code "$P meiduo sms, 5000-character mobile: MOBILEERR" meiduo 200 MOBILE
	# (nginx answers a 10,000-byte path with its own 414 before vcode sees
	# it; t_cgi checks vcode's.)
	http GET "/image_codes/$long$long/"
	expect_eq "$P path of 10,000 bytes: 414" 414 "$H_STATUS"
}

# Garbage that reaches vcode through nginx: each gets a clean JSON answer.
garbage() {
	local id m deep obj i
	id=$(new_id)
	m=$(new_mobile)
	http GET "/image_code/?uuid=$(printf 'u%.0s' {1..3000})"
	expect_code "$P garbage: ihome 3000-char uuid: 400 PARAMERR" ihome 400 PARAM
	http GET "/sms_codes/$m/?image_code=abcd&uuid=$id&x=$(printf '%%41%.0s' {1..1000})"
	expect_code "$P garbage: 3000-byte query of escapes: PARAMERR" meiduo 200 PARAM
	http GET "/sms_codes/$m/?image_code=%FF%FE%FD&uuid=$id"
	expect_in "$P garbage: bad UTF-8 captcha text: clean JSON" '200 4001|200 5006' "$H_STATUS $(jv .code)"
	http GET "/sms_codes/%FF%FE%FD%FC%FB%FA%F9%F8%F7%F6%F5/?image_code=abcd&uuid=$id"
	expect_code "$P garbage: bad UTF-8 mobile: MOBILEERR" meiduo 200 MOBILE
	sms_raw ihome "$(printf '{"mobile":"%s","image_code":"\xff\xfe","uuid":"%s"}' "$m" "$id")"
	expect_code "$P garbage: raw bad UTF-8 in a JSON body: PARAMERR" ihome 200 PARAM
	sms_raw news "{\"mobile\":\"$m\",\"image_code\":\"\\ud800\",\"image_code_id\":\"$id\"}"
	expect_code "$P garbage: lone surrogate escape: PARAMERR" news 200 PARAM
	for q in "image_code=%G1&uuid=$id" "image_code=%4&uuid=$id" "image_code=abcd&uuid=%zz$id" \
	    "image_code=abcd%&uuid=$id"; do
		http GET "/sms_codes/$m/?$q"
		expect_code "$P garbage: bad escape in ?${q:0:22}: PARAMERR" meiduo 200 PARAM
	done
	http GET "/image_code/?uuid=%zz345678"
	expect_code "$P garbage: bad escape in image uuid: 400 PARAMERR" ihome 400 PARAM
	http GET "/sms_codes/$m/?image_code=ab%00cd&uuid=$id"
	expect_code "$P garbage: %00 in captcha text: PARAMERR" meiduo 200 PARAM
	http GET "/sms_codes/$m/?image_code=abcd&uuid=abcdefgh%00zz"
	expect_code "$P garbage: %00 in uuid: PARAMERR" meiduo 200 PARAM
	http GET "/image_code/?uuid=zyxwvuts%00"
	expect_code "$P garbage: %00 in image uuid: 400 PARAMERR" ihome 400 PARAM
	expect_eq "$P garbage: no captcha key for the %00-truncated id" 0 "$(rcli exists image_code_zyxwvuts)"
	sms_raw ihome "{\"mobile\":\"$m\",\"image_code\":\"abcd\",\"uuid\":\"abcdefgh\\u0000\"}"
	expect_code "$P garbage: \\u0000 in a JSON uuid: PARAMERR" ihome 200 PARAM
	sms_raw ihome "{\"mobile\":\"$m\\u0000\",\"image_code\":\"abcd\",\"uuid\":\"$id\"}"
	expect_in "$P garbage: \\u0000 in a JSON mobile: PARAMERR or DATAERR" \
	    '200 "4103"|200 "4004"' "$H_STATUS $(jv .errno)"
	for b in '' ' ' '123' '"s"' 'null' 'true' '[]' '[1,2]' '{"mobile":' '{}x' '{}{}' \
	    '{"mobile":"1","mobile":' "{'mobile':'$m'}"; do
		sms_raw ihome "$b"
		expect_code "$P garbage: ihome body '$b': PARAMERR" ihome 200 PARAM
	done
	deep=$(printf '[%.0s' {1..2000})$(printf ']%.0s' {1..2000})
	sms_raw news "$deep"
	expect_code "$P garbage: array nested 2000 deep: PARAMERR" news 200 PARAM
	obj=""
	for ((i = 0; i < 600; i++)); do obj+='{"a":'; done
	obj+=1
	for ((i = 0; i < 600; i++)); do obj+='}'; done
	sms_raw news "$obj"
	expect_code "$P garbage: object nested 600 deep, fields missing: NODATA" news 200 NECESSARY
	sms_raw ihome "{\"mobile\":${obj},\"image_code\":\"abcd\",\"uuid\":\"$id\"}"
	expect_code "$P garbage: mobile is a deep object: DATAERR" ihome 200 MOBILE
	http POST /sms_codes/13800138000/verify -H 'Content-Type: application/json' --data-binary '[]'
	expect_reply "$P garbage: verify body []: 5006" 200 .code 5006
	http POST /sms_codes/13800138000/verify -H 'Content-Type: application/json' --data-binary "$deep"
	expect_reply "$P garbage: verify deep array: 5006" 200 .code 5006
	http POST /sms_codes/13800138000/verify -H 'Content-Type: application/json' --data-binary 'not json'
	expect_reply "$P garbage: verify body not JSON: 5006" 200 .code 5006
	sms_raw ihome "$(printf '{"mobile":"%s",%*s"x":1}' "$m" 7800 '')"
	expect_code "$P garbage: 7.8 KB body: 413 PARAMERR" ihome 413 PARAM
	http GET "/image_codes/$(printf 'z%.0s' {1..3000})/"
	expect_in "$P garbage: 3000-char path: 400/404 JSON 5006" '400 5006|404 5006' "$H_STATUS $(jv .code)"
	http GET "/sms_codes/$(printf '1%.0s' {1..3000})/?image_code=abcd&uuid=$id"
	expect_in "$P garbage: 3000-digit mobile: MOBILEERR or 404" '200 4007|404 5006' "$H_STATUS $(jv .code)"
	http GET "/image_codes/a%2Fbcdefghi/"
	expect_reply "$P garbage: %2F in the id: 404 5006" 404 .code 5006
	http GET "/image_codes/%3Cscript%3Ealert/"
	expect_code "$P garbage: <script> id: 400 PARAMERR" meiduo 400 PARAM
	http GET "//image_codes//$id//"
	expect_eq "$P garbage: //image_codes//ID// (nginx merges): 200 image/png" "200 image/png" "$H_STATUS $H_CTYPE"
	http GET "/sms_codes/$m/?image_code=abcd&uuid=$id" -H "X-Forwarded-For: $(printf '1.2.3.4, %.0s' {1..300})9.9.9.9"
	expect_code "$P garbage: huge X-Forwarded-For: served" meiduo 200 IMG_MISSING
	http GET "/sms_codes/$m/?image_code=%E4%B8%AD%E6%96%87&uuid=$id&image_code=x"
	expect_in "$P garbage: repeated field: clean JSON" '200 4001|200 5006' "$H_STATUS $(jv .code)"
	http POST /sms_code -H 'Content-Type: text/plain' --data-binary 'mobile=1&x=2'
	expect_code "$P garbage: form body: 415 PARAMERR" ihome 415 PARAM
	http POST /sms_code -H 'Content-Type: application/json' --data-binary 'mobile=1&x=2'
	expect_code "$P garbage: form body labelled JSON: PARAMERR" ihome 200 PARAM
	http POST /sms_code -H 'Content-Type: application/json'
	expect_code "$P garbage: POST without body: PARAMERR" ihome 200 PARAM
}

# 50 concurrent requests: one captcha for 50 mobiles, then 50 captchas
# for one mobile (the resend throttle).
concurrency() {
	local id dir m i n0 nimg nthr nother ms=() code
	dir=$T/conc.$MODE
	mkdir -p "$dir"
	id=$(new_id)
	captcha meiduo "$id"
	for i in $(seq 1 50); do ms+=("$(new_mobile)"); done
	printf '%s\n' "${ms[@]}" | xargs -P 50 -I{} curl -s --max-time 20 \
	    -o "$dir/{}.json" -w '%{http_code}\n' \
	    "$BASE/sms_codes/{}/?image_code=$ANSWER&uuid=$id" >"$dir/status" 2>/dev/null
	n0=0 nimg=0 nother=0
	for m in "${ms[@]}"; do
		code=$(jq -c .code "$dir/$m.json" 2>/dev/null)
		case $code in
		0) n0=$((n0 + 1)) ;;
		4001) nimg=$((nimg + 1)) ;;
		*) nother=$((nother + 1)) ;;
		esac
	done
	expect_eq "$P 50 concurrent SMS, one captcha: OK/IMG/other" "1/49/0" "$n0/$nimg/$nother"
	expect_eq "$P 50 concurrent: all HTTP 200" 50 "$(grep -c '^200$' "$dir/status")"
	local sent=0
	for m in "${ms[@]}"; do sent=$((sent + $(log_count "$m"))); done
	expect_eq "$P 50 concurrent: one SMS sent" 1 "$sent"

	m=$(new_mobile)
	local ids=()
	for i in $(seq 1 50); do
		id=$(new_id)
		ids+=("$id")
		captcha ihome "$id"
		sms_json ihome "$m" "$ANSWER" "$id" >"$dir/b$i"
	done
	seq 1 50 | xargs -P 50 -I{} curl -s --max-time 20 -o "$dir/r{}" \
	    -H 'Content-Type: application/json' --data-binary "@$dir/b{}" \
	    "$BASE/sms_code" 2>/dev/null
	n0=0 nthr=0 nother=0
	for i in $(seq 1 50); do
		code=$(jq -r .errno "$dir/r$i" 2>/dev/null)
		case $code in
		0) n0=$((n0 + 1)) ;;
		4201) nthr=$((nthr + 1)) ;;
		*) nother=$((nother + 1))
		   echo "# one mobile, request $i answered: $(head -c 200 "$dir/r$i" 2>/dev/null)" ;;
		esac
	done
	expect_eq "$P 50 concurrent SMS, one mobile: OK/THROTTLE/other" "1/49/0" "$n0/$nthr/$nother"
	expect_eq "$P 50 concurrent, one mobile: one SMS sent" 1 "$(log_count "$m")"
	n0=0
	for id in "${ids[@]}"; do n0=$((n0 + $(rcli exists "image_code_$id"))); done
	expect_eq "$P 50 concurrent, one mobile: 49 captchas left" 49 "$n0"
}

suite() {
	local w0 w1 acc0 n
	P="[$MODE]"
	w0=$(workers)
	acc0=$(wc -l <"$T/nginx-access.log")
	expect_eq "$P worker count" "$1" "$(nworkers)"
	health
	for d in $DIALECTS; do images "$d"; done
	for d in $DIALECTS; do sms_flow "$d"; done
	for d in $DIALECTS; do sms_checks "$d"; done
	verify_basic
	http_level
	garbage
	concurrency
	check_ttls "$P every key has a TTL"
	w1=$(workers)
	expect_eq "$P same worker PIDs after everything" "$w0" "$w1"
	n=$(tail -n +$((acc0 + 1)) "$T/nginx-access.log" | awk '$9 == 502 || $9 == 504' | wc -l)
	expect_eq "$P no 502/504 in the nginx access log" 0 "$n"
	if [ "$MODE" = prefork ]; then
		# Codes and full mobile numbers never reach a log line
		local leaks c
		leaks=$(grep -aoE '(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)' "$T/vcoded.stderr" | head -n 3 | tr '\n' ' ')
		expect_eq "$P no full mobile number in vcoded's log" "" "$leaks"
		leaks=""
		sed -E 's/\[[0-9]+\]//g' "$T/vcoded.stderr" >"$T/log.nopid"
		for c in $(sed -n 's/.* code=\([0-9]*\).*/\1/p' "$SMS_LOG" | sort -u); do
			grep -qw -- "$c" "$T/log.nopid" && leaks="$leaks $c"
		done
		expect_eq "$P no SMS code in vcoded's log" "" "${leaks# }"
		expect_match "$P (vcoded's log is not empty)" '.' "$(head -c 1 "$T/vcoded.stderr")"
	fi
}

if start_vcoded spawn VCODE_IP_HOURLY_LIMIT=0; then
	suite 4
fi
stop_vcoded
if start_vcoded prefork VCODE_IP_HOURLY_LIMIT=0 VCODE_WORKERS=3; then
	wait_workers 3
	suite 3
fi
stop_vcoded
it_done
