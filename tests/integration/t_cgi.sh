#!/bin/bash
# CGI mode: build/vcoded run directly with GATEWAY_INTERFACE=CGI/1.1, the
# request in the environment and stdin, the way a CGI host runs
# /cgi-bin/vcode.cgi: SCRIPT_NAME=/cgi-bin/vcode.cgi, the route in PATH_INFO,
# mount=/cgi-bin/vcode.cgi in the configuration file.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
write_conf "mount = /cgi-bin/vcode.cgi" "ip_hourly_limit = 0"
SN=/cgi-bin/vcode.cgi
KEY=cgi-api-key

# cgi METHOD SCRIPT_NAME PATH_INFO QUERY BODY [NAME=VALUE...]: one CGI run.
# Sets C_RC (exit status, 124 = killed after 10 s), H_STATUS (from the
# Status header, "none" if absent), H_CTYPE, H_BODY and $T/last.body,
# $T/last.hdr like http() does.
cgi() {
	local method=$1 sn=$2 pi=$3 q=$4 body=$5 len
	shift 5
	printf '%s' "$body" >"$T/cgi.in"
	len=$(wc -c <"$T/cgi.in")
	local -a cl=()
	[ "$method" = POST ] && cl=("CONTENT_LENGTH=$len" CONTENT_TYPE=application/json)
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
	    REQUEST_METHOD="$method" SCRIPT_NAME="$sn" PATH_INFO="$pi" \
	    QUERY_STRING="$q" REMOTE_ADDR=127.0.0.1 VCODE_CONFIG="$CONF" \
	    "${cl[@]}" "$@" timeout 10 "$VCODED" <"$T/cgi.in" >"$T/cgi.out" 2>"$T/cgi.err"
	C_RC=$?
	cgi_parse
}

# cgi_parse: splits $T/cgi.out at the first empty line.
cgi_parse() {
	local hlen
	sed -n '1,/^\r\{0,1\}$/p' "$T/cgi.out" >"$T/last.hdr"
	hlen=$(wc -c <"$T/last.hdr")
	tail -c +$((hlen + 1)) "$T/cgi.out" >"$T/last.body"
	H_STATUS=$(hdr Status | cut -d' ' -f1)
	[ -n "$H_STATUS" ] || H_STATUS=none
	H_CTYPE=$(hdr Content-Type)
	H_BODY=$(tr -d '\000' <"$T/last.body")
}

P="[cgi]"
# images, the three dialects
id=$(new_id)
cgi GET "$SN" "/image_codes/$id/" "" ""
expect_eq "$P meiduo image: exit 0" 0 "$C_RC"
expect_eq "$P meiduo image: Status 200, image/png" "200 image/png" "$H_STATUS $H_CTYPE"
expect_eq "$P meiduo image: PNG 120x40" 120x40 "$(png_size "$T/last.body")"
expect_match "$P meiduo image: Cache-Control no-store" no-store "$(hdr Cache-Control)"
expect_match "$P header lines end in CRLF" $'\r$' "$(head -n 1 "$T/cgi.out")"
expect_match "$P meiduo image: answer stored" '^[0-9A-Za-z]{4}$' "$(rcli get "img_$id")"
expect_range "$P meiduo image: TTL" 290 300 "$(rcli ttl "img_$id")"
id2=$(new_id)
cgi GET "$SN" "/image_codes/$id2" "pre=$id" ""
expect_eq "$P meiduo image ?pre=: old deleted, new stored" "200 0 1" \
    "$H_STATUS $(rcli exists "img_$id") $(rcli exists "img_$id2")"
cgi GET "$SN" /image_code/ "uuid=$id" ""
expect_eq "$P ihome image: 200 image/png" "200 image/png" "$H_STATUS $H_CTYPE"
expect_eq "$P ihome image: key" 1 "$(rcli exists "image_code_$id")"
cgi GET "$SN" /passport/image_code "code_id=$id" ""
expect_eq "$P news image: 200 image/png" "200 image/png" "$H_STATUS $H_CTYPE"
expect_eq "$P news image: key" 1 "$(rcli exists "ImageCode_$id")"
cgi GET "$SN" /image_codes/short/ "" ""
expect_code "$P meiduo bad id: 400 PARAMERR" meiduo 400 PARAM
cgi GET "$SN" /image_code/ "" ""
expect_code "$P ihome no uuid: 400 NODATA" ihome 400 NECESSARY

# the SMS flow through CGI, each dialect
for d in $DIALECTS; do
	m=$(new_mobile)
	id=$(new_id)
	case $d in
	meiduo)
		cgi GET "$SN" "/image_codes/$id/" "" ""
		a=$(rcli get "img_$id")
		cgi GET "$SN" "/sms_codes/$m/" "image_code=$a&uuid=$id" "" ;;
	ihome)
		cgi GET "$SN" /image_code "uuid=$id" ""
		a=$(rcli get "image_code_$id")
		cgi POST "$SN" /sms_code "" "$(sms_json ihome "$m" "$a" "$id")" ;;
	news)
		cgi GET "$SN" /passport/image_code/ "code_id=$id" ""
		a=$(rcli get "ImageCode_$id")
		cgi POST "$SN" /passport/sms_code/ "" "$(sms_json news "$m" "$a" "$id")" ;;
	esac
	expect_code "$P $d sms: OK" "$d" 200 OK
	expect_match "$P $d sms: JSON" '^application/json' "$H_CTYPE"
	expect_eq "$P $d sms: exit 0" 0 "$C_RC"
	expect_eq "$P $d sms: plain code in $(skey "$d" MOBILE)" "$(log_code "$m")" "$(rcli get "$(skey "$d" "$m")")"
	expect_eq "$P $d sms: captcha used up" 0 "$(rcli exists "$(ckey "$d" "$id")")"
	m=$(new_mobile)
	case $d in
	meiduo)	cgi GET "$SN" "/sms_codes/$m/" "image_code=$a&uuid=$id" "" ;;
	*)	cgi POST "$SN" "$([ "$d" = ihome ] && echo /sms_code || echo /passport/sms_code)" "" \
		    "$(sms_json "$d" "$m" "$a" "$id")" ;;
	esac
	expect_code "$P $d sms with the used captcha: refused" "$d" 200 IMG_MISSING
done

# verify, with an API key from the environment
m=$(new_mobile)
id=$(new_id)
cgi GET "$SN" "/image_codes/$id/" "" ""
cgi GET "$SN" "/sms_codes/$m/" "image_code=$(rcli get "img_$id")&uuid=$id" ""
c=$(log_code "$m")
cgi POST "$SN" "/sms_codes/$m/verify" "" "{\"sms_code\":\"$c\"}" "VCODE_API_KEY=$KEY"
expect_reply "$P verify without Authorization: 401 4101" 401 .code 4101
cgi POST "$SN" "/sms_codes/$m/verify" "" "{\"sms_code\":\"$c\"}" "VCODE_API_KEY=$KEY" \
    "HTTP_AUTHORIZATION=Bearer $KEY"
expect_code "$P verify with Bearer: OK" meiduo 200 OK
cgi POST "$SN" "/sms_codes/$m/verify" "" "{\"sms_code\":\"$c\"}" "VCODE_API_KEY=$KEY" \
    "HTTP_AUTHORIZATION=Bearer $KEY"
expect_reply "$P verify again: 4008" 200 .code 4008

# verify without an api_key: this host only, whatever the web server lets in
other() { printf '%06d\n' $(((10#$1 + 1) % 1000000)); }
m=$(new_mobile)
id=$(new_id)
cgi GET "$SN" "/image_codes/$id/" "" ""
cgi GET "$SN" "/sms_codes/$m/" "image_code=$(rcli get "img_$id")&uuid=$id" ""
c=$(log_code "$m")
seen=""
for i in 1 2 3 4 5; do
	cgi POST "$SN" "/sms_codes/$m/verify" "" "{\"sms_code\":\"$(other "$c")\"}" \
	    REMOTE_ADDR=127.0.0.2 "HTTP_AUTHORIZATION=Bearer anything"
	seen="$seen $H_STATUS $(jv .code)"
done
expect_eq "$P no api_key: 5 wrong guesses from REMOTE_ADDR 127.0.0.2: 401 4101 each" \
    "$(printf ' 401 4101%.0s' 1 2 3 4 5)" "$seen"
expect_eq "$P ... no attempt counted" 0 "$(rcli exists "vcode:verify:sms_$m")"
expect_match "$P ... logged, the mobile masked" \
    "${m:0:3}\\*\\*\\*\\*${m: -4} from 127.0.0.2 refused" "$(cat "$T/cgi.err")"
expect_nomatch "$P ... the log line does not hold the whole mobile" "$m" "$(cat "$T/cgi.err")"
for a in ::ffff:127.0.0.2 127.0.0.1x ''; do
	cgi POST "$SN" "/sms_codes/$m/verify" "" "{\"sms_code\":\"$c\"}" "REMOTE_ADDR=$a"
	expect_reply "$P no api_key: REMOTE_ADDR '$a' is not this host: 401" 401 .code 4101
done
expect_eq "$P ... the code is still there" "$c" "$(rcli get "sms_$m")"
for a in 127.0.0.1 ::1 ::ffff:127.0.0.1; do
	cgi POST "$SN" "/sms_codes/$m/verify" "" "{\"sms_code\":\"$(other "$c")\"}" "REMOTE_ADDR=$a"
	expect_reply "$P no api_key: a wrong guess from $a reaches the code: 4008" 200 .code 4008
done
expect_eq "$P ... and counts: 3 attempts" 3 "$(rcli get "vcode:verify:sms_$m")"
cgi POST "$SN" "/sms_codes/$m/verify" "" "{\"sms_code\":\"$c\"}" REMOTE_ADDR=::ffff:127.0.0.1
expect_code "$P no api_key: the right code from ::ffff:127.0.0.1: OK" meiduo 200 OK
m=$(new_mobile)
id=$(new_id)
cgi GET "$SN" "/image_codes/$id/" "" ""
cgi GET "$SN" "/sms_codes/$m/" "image_code=$(rcli get "img_$id")&uuid=$id" ""
c=$(log_code "$m")
cgi POST "$SN" "/sms_codes/$m/verify" "" "{\"sms_code\":\"$c\"}" "VCODE_API_KEY=$KEY" \
    REMOTE_ADDR=127.0.0.2
expect_reply "$P api_key set: from 127.0.0.2 without the Bearer: 401" 401 .code 4101
cgi POST "$SN" "/sms_codes/$m/verify" "" "{\"sms_code\":\"$c\"}" "VCODE_API_KEY=$KEY" \
    REMOTE_ADDR=127.0.0.2 "HTTP_AUTHORIZATION=Bearer $KEY"
expect_code "$P api_key set: the right Bearer from 127.0.0.2: OK" meiduo 200 OK

# a proxy that speaks IPv4-mapped IPv6 is the proxy of trusted_proxies
m=$(new_mobile)
cgi GET "$SN" "/sms_codes/$m/" "image_code=abcd&uuid=$(new_id)" "" \
    REMOTE_ADDR=::ffff:127.0.0.1 HTTP_X_FORWARDED_FOR=203.0.113.61 \
    VCODE_TRUSTED_PROXIES=127.0.0.1 VCODE_IP_HOURLY_LIMIT=20
expect_code "$P REMOTE_ADDR ::ffff:127.0.0.1, trusted 127.0.0.1: served" meiduo 200 IMG_MISSING
expect_eq "$P ... counted on the forwarded client 203.0.113.61, not the proxy" "1 0" \
    "$(rcli get vcode:ip:203.0.113.61) $(rcli exists vcode:ip:127.0.0.1)"

# routing on SCRIPT_NAME + PATH_INFO minus mount
cgi GET "$SN" /healthz "" ""
expect_eq "$P healthz via PATH_INFO" '200 {"status":"ok"}' "$H_STATUS $(jv .)"
cgi GET "$SN/healthz" "" "" ""
expect_eq "$P whole path in SCRIPT_NAME (nginx style)" '200 {"status":"ok"}' "$H_STATUS $(jv .)"
cgi GET "$SN/healthz/" "" "" ""
expect_eq "$P whole path in SCRIPT_NAME, trailing slash" 200 "$H_STATUS"
cgi GET "" "/cgi-bin/vcode.cgi/healthz" "" ""
expect_eq "$P whole path in PATH_INFO, SCRIPT_NAME empty" 200 "$H_STATUS"
cgi GET /other.cgi /healthz "" ""
expect_reply "$P SCRIPT_NAME outside the mount: 404 5006" 404 .code 5006
cgi GET /cgi-bin/vcode.cgix /healthz "" ""
expect_reply "$P mount is a path prefix, not a string prefix: 404" 404 .code 5006
cgi GET "$SN" /nope "" ""
expect_reply "$P unknown route: 404 5006" 404 .code 5006
expect_eq "$P unknown route: exit 0" 0 "$C_RC"
cgi GET "" /healthz "" "" VCODE_MOUNT=
expect_eq "$P mount overridden empty by env: /healthz" 200 "$H_STATUS"
cgi GET /app /healthz "" "" VCODE_MOUNT=/app
expect_eq "$P mount overridden by env (/app)" 200 "$H_STATUS"
cgi POST "$SN" /healthz "" ""
expect_eq "$P POST /healthz: 405" 405 "$H_STATUS"
expect_match "$P POST /healthz: Allow" 'GET' "$(hdr Allow)"
cgi GET "$SN" "/x$(printf 'y%.0s' {1..10000})" "" ""
expect_reply "$P 10000-byte PATH_INFO: 414 5006" 414 .code 5006

# weird paths, hostile input: a Status, a JSON body, exit 0, within 10 s
for pi in /../healthz /image_codes/../healthz //healthz /image_codes//abcdefgh// \
    /sms_codes/13800138000/../13800138000/ /./healthz '/image_codes/ab%2e%2e/' \
    "/image_codes/$(printf '\xff\xfe')abcdefgh/" /sms_codes/ /sms_codes// / ''; do
	cgi GET "$SN" "$pi" "" ""
	expect_eq "$P weird PATH_INFO '$pi': status, JSON, exit 0" "yes json 0" \
	    "$([ "$H_STATUS" != none ] && echo yes || echo no) $(jq -e . "$T/last.body" >/dev/null 2>&1 && echo json || echo not-json) $C_RC"
done
for q in "uuid=abcdefgh%00" "uuid=%" "uuid=%zz" "uuid=$(printf 'a%.0s' {1..5000})" \
    "uuid=a&uuid=b&uuid=c"; do
	cgi GET "$SN" /image_code/ "$q" ""
	expect_code "$P image query '${q:0:20}': 400 PARAMERR" ihome 400 PARAM
done
printf '{"mobile":"13800138000"}' >"$T/short.in"
env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST SCRIPT_NAME="$SN" \
    PATH_INFO=/sms_code CONTENT_LENGTH=100 CONTENT_TYPE=application/json \
    REMOTE_ADDR=127.0.0.1 VCODE_CONFIG="$CONF" timeout 10 "$VCODED" \
    <"$T/short.in" >"$T/cgi.out" 2>"$T/cgi.err"
C_RC=$?
cgi_parse
expect_eq "$P CONTENT_LENGTH 100, 24 bytes sent: answers, no hang" 0 "$C_RC"
expect_in "$P short body: a clean JSON answer" '200 "4103"|200 "4002"|400 "4103"' "$H_STATUS $(jv .errno)"
# a body that stops coming: the same answer as a short one, within the
# read's deadline (timeout 8 kills a process that waits for more)
cgi_stall() {
	local staller
	rm -f "$T/stall"
	mkfifo "$T/stall"
	( printf '0123456789'; exec sleep 10 ) >"$T/stall" &
	staller=$!
	track "$staller"
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST SCRIPT_NAME="$SN" \
	    PATH_INFO=/sms_code CONTENT_LENGTH=100 CONTENT_TYPE=application/json \
	    REMOTE_ADDR=127.0.0.1 VCODE_CONFIG="$CONF" timeout 8 "$VCODED" \
	    <"$T/stall" >"$T/cgi.out" 2>"$T/cgi.err"
	C_RC=$?
	stop_pid "$staller"
	cgi_parse
}
printf '0123456789' >"$T/ten.in"
env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST SCRIPT_NAME="$SN" \
    PATH_INFO=/sms_code CONTENT_LENGTH=100 CONTENT_TYPE=application/json \
    REMOTE_ADDR=127.0.0.1 VCODE_CONFIG="$CONF" timeout 8 "$VCODED" \
    <"$T/ten.in" >"$T/cgi.out" 2>"$T/cgi.err"
cgi_parse
short="$H_STATUS $(jv .errno)"
expect_eq "$P CONTENT_LENGTH 100, 10 bytes then EOF: PARAMERR" '200 "4103"' "$short"
cgi_stall
expect_eq "$P CONTENT_LENGTH 100, 10 bytes then a stalled stdin: exits within 8 s, status 0" 0 "$C_RC"
expect_eq "$P ... answers as for a short body" "$short" "$H_STATUS $(jv .errno)"
for cl in -5 abc 99999999999999999999 1e3 ' 12' 0x10; do
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST SCRIPT_NAME="$SN" \
	    PATH_INFO=/sms_code CONTENT_LENGTH="$cl" CONTENT_TYPE=application/json \
	    REMOTE_ADDR=127.0.0.1 VCODE_CONFIG="$CONF" timeout 10 "$VCODED" \
	    <"$T/short.in" >"$T/cgi.out" 2>"$T/cgi.err"
	C_RC=$?
	cgi_parse
	expect_eq "$P CONTENT_LENGTH '$cl': exit 0, JSON" "0 json" \
	    "$C_RC $(jq -e . "$T/last.body" >/dev/null 2>&1 && echo json || echo not-json)"
	expect_eq "$P CONTENT_LENGTH '$cl' (not a sane number): 413 PARAMERR" \
	    '413 "4103"' "$H_STATUS $(jv .errno)"
done
env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST SCRIPT_NAME="$SN" \
    PATH_INFO=/sms_code CONTENT_LENGTH= CONTENT_TYPE=application/json \
    REMOTE_ADDR=127.0.0.1 VCODE_CONFIG="$CONF" timeout 10 "$VCODED" \
    <"$T/short.in" >"$T/cgi.out" 2>"$T/cgi.err"
cgi_parse
expect_eq "$P CONTENT_LENGTH empty (no body): 200 PARAMERR" '200 "4103"' "$H_STATUS $(jv .errno)"
cgi POST "$SN" /sms_code "" '{"mobile":"13800138000"}' CONTENT_TYPE=text/plain
expect_code "$P Content-Type text/plain: 415 PARAMERR" ihome 415 PARAM
cgi POST "$SN" /sms_code "" "$(printf '{"mobile":"1","x":"%s"}' "$(printf 'p%.0s' {1..5000})")"
expect_code "$P 5 KB body: 413 PARAMERR" ihome 413 PARAM
cgi POST "$SN" /sms_code "" "$(printf '[%.0s' {1..3000})"
expect_code "$P deep array body: PARAMERR" ihome 200 PARAM
env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 SCRIPT_NAME="$SN" PATH_INFO=/healthz \
    VCODE_CONFIG="$CONF" timeout 10 "$VCODED" </dev/null >"$T/cgi.out" 2>"$T/cgi.err"
C_RC=$?
cgi_parse
expect_eq "$P no REQUEST_METHOD: a Status and exit 0" "yes 0" \
    "$([ "$H_STATUS" != none ] && echo yes || echo no) $C_RC"

# Redis down: the image route answers 503 DBERR, /healthz 503
stop_redis
cgi GET "$SN" "/image_codes/$(new_id)/" "" ""
expect_code "$P redis down: meiduo image 503 DBERR" meiduo 503 DB
cgi GET "$SN" /image_code/ "uuid=$(new_id)" ""
expect_code "$P redis down: ihome image 503 DBERR" ihome 503 DB
cgi GET "$SN" "/sms_codes/$(new_mobile)/" "image_code=abcd&uuid=$(new_id)" ""
expect_code "$P redis down: meiduo sms 200 DBERR" meiduo 200 DB
cgi GET "$SN" /healthz "" ""
expect_eq "$P redis down: healthz 503" '503 {"status":"unavailable"}' "$H_STATUS $(jv .)"
expect_eq "$P redis down: exit 0" 0 "$C_RC"
start_redis
cgi GET "$SN" /healthz "" ""
expect_eq "$P redis back: healthz 200" 200 "$H_STATUS"
check_ttls "$P every key has a TTL"
it_done
