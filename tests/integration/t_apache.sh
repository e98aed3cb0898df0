#!/bin/bash
# Apache 2.4 (Debian's apache2, an unprivileged instance with its own
# ServerRoot on a free loopback port) with each configuration of
# deploy/apache, included as shipped:
#   vcode-proxy-fcgi.conf  mod_proxy_fcgi to vcoded's own socket;
#   vcode-fcgid.conf       mod_fcgid starting vcoded itself, several
#                          processes;
#   vcode-cgi.conf         plain CGI (mod_cgid), one process a request.
# Through each, with curl: deploy/smoke.sh (vcode-smoke) passes; every
# dialect's captcha -> SMS, the code
# verified, 404, 405 and 413 in JSON, Redis down answered cleanly and
# recovered; the verify route's Bearer token through CGI (CGIPassAuth);
# the verify route from another address (127.0.0.2): refused by the file
# as shipped, refused by vcoded when the file's Bearer line is on
# (VCODE_API_KEY_SET) but api_key is not, served with the right Bearer
# when both are.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
mkdir -p "$T/cgi-bin"
cp "$VCODED" "$T/cgi-bin/vcode.cgi"

# round NAME PREFIX: the whole flow through Apache under PREFIX.
round() {
	local name=$1 d m c rc
	BASE=$ABASE$2
	sh "$ROOT/deploy/smoke.sh" "$ABASE" --mount "$2" >"$T/smoke.out" 2>&1
	rc=$?
	expect_eq "$name: vcode-smoke passes, 37 checks (exit status 0)" \
	    "0 # 37 checks, 0 failed" "$rc $(tail -n 1 "$T/smoke.out")"
	[ "$rc" = 0 ] || it_note "$(grep '^FAIL' "$T/smoke.out")"
	for d in $DIALECTS; do
		m=$(new_mobile)
		send_ok "$d" "$m"
		expect_code "$name: $d captcha then SMS" "$d" 200 OK
		c=$(rcli get "$(skey "$d" "$m")")
		expect_eq "$name: $d SMS code stored, the dev provider wrote it" "$c" "$(log_code "$m")"
	done
	m=$(new_mobile)
	send_ok meiduo "$m"
	verify "$m" "$(rcli get "sms_$m")"
	expect_code "$name: the code verifies" meiduo 200 OK
	http GET /passport/no_such_route
	expect_reply "$name: unknown route 404 in JSON" 404 .code 5006
	http DELETE "/image_codes/$(new_id)/"
	expect_reply "$name: DELETE on the captcha 405 in JSON" 405 .code 5006
	sms_raw ihome "$(printf '{"mobile":"1","x":"%s"}' "$(printf 'p%.0s' {1..5000})")"
	expect_code "$name: 5 KB body 413 in JSON" ihome 413 PARAM
	image meiduo "$(new_id)"
	expect_eq "$name: a PNG" image/png "$H_CTYPE"
	stop_redis
	image meiduo "$(new_id)"
	expect_code "$name: Redis down: captcha 503 DBERR" meiduo 503 DB
	sms meiduo "$(new_mobile)" abcd "$(new_id)"
	expect_code "$name: Redis down: SMS DBERR" meiduo 200 DB
	http GET /healthz
	expect_eq "$name: Redis down: healthz 503" '503 {"status":"unavailable"}' "$H_STATUS $(jv .)"
	start_redis
	http GET /healthz
	expect_eq "$name: Redis back: healthz 200" 200 "$H_STATUS"
	m=$(new_mobile)
	send_ok news "$m"
	expect_code "$name: Redis back: SMS again" news 200 OK
}

AKEY=apache-verify-key-0123456789


# keyed SNIPPET NAME PREFIX: the file with its Bearer line on
# (VCODE_API_KEY_SET): without api_key vcoded still refuses 127.0.0.2;
# with api_key the right Bearer from 127.0.0.2 verifies.
keyed() {
	local snip=$1 name=$2 m c
	APACHE_DEFINES=VCODE_API_KEY_SET start_apache "$snip"
	BASE=$ABASE$3
	outsider "$name, VCODE_API_KEY_SET without api_key" 401
	stop_apache
	write_conf "api_key = $AKEY"
	[ "$MODE" = prefork ] && { stop_vcoded; start_vcoded_alone; }
	APACHE_DEFINES=VCODE_API_KEY_SET start_apache "$snip"
	BASE=$ABASE$3
	m=$(new_mobile)
	send_ok meiduo "$m"
	c=$(rcli get "sms_$m")
	verify "$m" "$c" --interface 127.0.0.2 -H 'Authorization: Bearer anything'
	expect_reply "$name + api_key: a wrong Bearer from 127.0.0.2: 401" 401 .code 4101
	verify "$m" "$c" --interface 127.0.0.2 -H "Authorization: Bearer $AKEY"
	expect_code "$name + api_key: the right Bearer from 127.0.0.2 verifies" meiduo 200 OK
	stop_apache
	write_conf
	[ "$MODE" = prefork ] && { stop_vcoded; start_vcoded_alone; }
}

# ---- 1. mod_proxy_fcgi to vcoded's socket ---------------------------------
start_vcoded_alone() {
	"$VCODED" -c "$CONF" >>"$T/vcoded.stderr" 2>&1 &
	VC_MASTER=$!
	MODE=prefork
	track "$VC_MASTER"
	wait_for 5 '[ -S "$VC_SOCK" ]'
	wait_workers 3
}
start_vcoded_alone
start_apache vcode-proxy-fcgi.conf
round "proxy_fcgi" ""
http GET /index.html
expect_nomatch "proxy_fcgi: paths outside vcode's routes stay Apache's (not vcode's JSON)" \
    'errno|errmsg' "$H_BODY"
outsider "proxy_fcgi as shipped" 403
stop_apache
keyed vcode-proxy-fcgi.conf proxy_fcgi ""
stop_vcoded

# ---- 2. mod_fcgid starting vcoded -----------------------------------------
start_apache vcode-fcgid.conf
round "fcgid" /vcode
outsider "fcgid as shipped" 403
: >"$T/fcgid.par"
# mod_fcgid starts another process when a request finds every one busy:
# rounds of 24 captchas at once until it has.
n=0
for round in 1 2 3 4 5 6; do
	cpids=()
	for i in $(seq 24); do
		curl -s -o /dev/null -w '%{http_code}\n' "$ABASE/vcode/image_codes/$(new_id)/" >>"$T/fcgid.par" &
		cpids+=($!)
	done
	wait "${cpids[@]}"
	n=$(pgrep -fc "^$VCODED( |\$)")
	[ "$n" -ge 2 ] && break
	sleep 1
done
expect_eq "fcgid: every captcha of the rounds 200" "$(wc -l <"$T/fcgid.par")" "$(grep -c '^200$' "$T/fcgid.par")"
expect_range "fcgid: Apache started several vcoded processes" 2 4 "$n"
it_note "fcgid: $n vcoded processes"
expect_match "fcgid: they run as Apache's user" "^(www-data|$(id -un))$" \
    "$(ps -o user= -p "$(pgrep -f "^$VCODED" | head -n 1)" | tr -d ' ')"
stop_apache
wait_for 5 '! pgrep -f "^$VCODED( |\$)" >/dev/null'
expect_eq "fcgid: stopping Apache stops them" 0 "$(pgrep -fc "^$VCODED( |\$)")"
keyed vcode-fcgid.conf fcgid /vcode

# ---- 3. plain CGI ------------------------------------------------------------
start_apache vcode-cgi.conf
round "cgi" /cgi-bin/vcode.cgi
outsider "cgi as shipped" 403
stop_apache
keyed vcode-cgi.conf cgi /cgi-bin/vcode.cgi
write_conf "api_key = apache-cgi-bearer-0123456789"
start_apache vcode-cgi.conf
BASE=$ABASE/cgi-bin/vcode.cgi
m=$(new_mobile)
send_ok meiduo "$m"
c=$(rcli get "sms_$m")
verify "$m" "$c"
expect_reply "cgi + api_key: verify without the Bearer 401" 401 .code 4101
verify "$m" "$c" -H "Authorization: Bearer apache-cgi-bearer-0123456789"
expect_code "cgi + api_key: the Bearer reaches vcode (CGIPassAuth On): verified" meiduo 200 OK
stop_apache
it_done
