#!/bin/sh
# smoke.sh: checks a running vcode deployment from outside, with curl and
# sh only, and sends no SMS.
#
#   sh smoke.sh URL [--dialects meiduo,ihome,news] [--mount /api]
#                   [--size 120x40] [--mobile 13800000000]
#
# URL is the site (http://127.0.0.1:8080); --mount the path vcode is
# mounted under; --size the configured captcha_width x captcha_height;
# --mobile a number the mobile_pattern takes (only ever sent with a wrong
# captcha answer, so no SMS goes out). Checks: /healthz; for each dialect
# its captcha is a PNG of that size with Cache-Control: no-store, its
# audio twin a WAV, a wrong answer gets the dialect's IMAGECODEERR and
# the captcha is then gone, a malformed mobile, a missing field, a wrong
# method, a bad Content-Type and an oversize body get the dialect's JSON
# errors; an unknown route is 404. One line per check; the exit status is
# the number of failures.
#
# Each run asks for a few SMS with wrong answers: they count against the
# address's hourly cap (ip_hourly_limit), and a site whose fraud guard
# shuts the address's network answers THROTTLING instead (said so).

usage() {
	echo "usage: smoke.sh URL [--dialects LIST] [--mount PATH] [--size WxH] [--mobile N]" >&2
	exit 64
}

[ $# -ge 1 ] || usage
URL=${1%/}
shift
DIALECTS=meiduo,ihome,news
MOUNT=
SIZE=120x40
MOBILE=13800000000
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--dialects)	DIALECTS=$2 ;;
	--mount)	MOUNT=${2%/} ;;
	--size)		SIZE=$2 ;;
	--mobile)	MOBILE=$2 ;;
	*)		usage ;;
	esac
	shift 2
done
case $SIZE in
*x*)	W=${SIZE%x*} H=${SIZE#*x} ;;
*)	usage ;;
esac
command -v curl >/dev/null || { echo "smoke.sh: curl not found" >&2; exit 64; }

B=$URL$MOUNT
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vcode-smoke.XXXXXX") || exit 64
trap 'rm -rf "$TMP"' EXIT
FAILS=0
N=0

ok() { N=$((N + 1)); echo "ok - $*"; }
fail() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
# check WHAT EXPECTED SAW
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected $2, saw $3"; fi
}

# req METHOD PATH [CURL ARGS]: the reply's status in ST, its body in
# $TMP/body, its headers in $TMP/hdr.
req() {
	m=$1 p=$2
	shift 2
	: >"$TMP/body"
	: >"$TMP/hdr"
	ST=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' \
	    --max-time 10 -X "$m" "$@" "$B$p") || ST=000
}
# hdr NAME: a response header's value, lower-cased, without CR.
hdr() {
	sed -n "s/^$1: *//Ip" "$TMP/hdr" | tr -d '\r' | tr 'A-Z' 'a-z' | tail -n 1
}
body() { tr -d '\n' <"$TMP/body" | cut -c1-120; }
# app CODE: the dialect's application code in the body ("code":N for
# meiduo, "errno":"N" for the others), or the body itself.
app() {
	if [ "$D" = meiduo ]; then
		sed -n 's/.*"code": *\([0-9]*\).*/\1/p' "$TMP/body"
	else
		sed -n 's/.*"errno": *"\([0-9]*\)".*/\1/p' "$TMP/body"
	fi
}
# bytes OFFSET COUNT: bytes of the body as decimal numbers.
bytes() { od -An -tu1 -j "$1" -N "$2" "$TMP/body" | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
be32() {
	set -- $(bytes "$1" 4)
	if [ $# = 4 ]; then echo $(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 )); else echo none; fi
}

# The dialects' routes and codes (README, "What it serves").
routes() {
	case $D in
	meiduo)	IMG="/image_codes/$ID/" AUD="/image_codes/$ID/audio"
		WRONG=4001 GONE=4001 MOB=4007 MISS=4003 PARAM=5006 ;;
	ihome)	IMG="/image_code/?uuid=$ID" AUD="/image_code/audio?uuid=$ID"
		SMS=/sms_code IDF=uuid
		WRONG=4103 GONE=4002 MOB=4004 MISS=4002 PARAM=4103 ;;
	news)	IMG="/passport/image_code?code_id=$ID"
		AUD="/passport/image_code/audio?code_id=$ID"
		SMS=/passport/sms_code IDF=image_code_id
		WRONG=4103 GONE=4002 MOB=4004 MISS=4002 PARAM=4103 ;;
	esac
}
# ask MOBILE TEXT ID: the dialect's SMS request.
ask() {
	if [ "$D" = meiduo ]; then
		req GET "/sms_codes/$1/?image_code=$2&uuid=$3"
	else
		req POST "$SMS" -H 'Content-Type: application/json' \
		    --data-binary "{\"mobile\":\"$1\",\"image_code\":\"$2\",\"$IDF\":\"$3\"}"
	fi
}
# throttled: a note when the answer was THROTTLING, not what was checked.
throttled() {
	case $D:$(app) in
	meiduo:4002|ihome:4201|news:4201)
		echo " (THROTTLING: a limit or the fraud guard refused this address; try from another)" ;;
	esac
}

req GET /healthz
check "healthz: 200 {\"status\":\"ok\"}" '200 {"status":"ok"}' "$ST $(body)"

for D in $(echo "$DIALECTS" | tr ',' ' '); do
	case $D in meiduo|ihome|news) ;; *) fail "$D: not a dialect"; continue ;; esac
	ID=smoke$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
	routes
	req GET "$IMG"
	check "$D captcha: 200 image/png" "200 image/png" "$ST $(hdr Content-Type)"
	check "$D captcha: Cache-Control no-store" "no-store" "$(hdr Cache-Control)"
	check "$D captcha: a PNG" "137 80 78 71" "$(bytes 0 4)"
	check "$D captcha: ${W}x${H}" "${W}x${H}" "$(be32 16)x$(be32 20)"
	req GET "$AUD"
	check "$D audio: 200 audio/wav, RIFF WAVE" "200 audio/wav 82 73 70 70 87 65 86 69" \
	    "$ST $(hdr Content-Type) $(bytes 0 4) $(bytes 8 4)"
	# The audio replaced the image's answer; either way a wrong one.
	ask "$MOBILE" zzzzzzz "$ID"
	check "$D wrong answer: 200 IMAGECODEERR ($WRONG)$(throttled)" "200 $WRONG" "$ST $(app)"
	ask "$MOBILE" zzzzzzz "$ID"
	check "$D the captcha is gone after one try: $GONE$(throttled)" "200 $GONE" "$ST $(app)"
	ask 12345 zzzz "$ID"
	check "$D malformed mobile: MOBILEERR ($MOB)" "200 $MOB" "$ST $(app)"
	if [ "$D" = meiduo ]; then
		req GET "/sms_codes/$MOBILE/?uuid=$ID"
		check "$D missing image_code: NECESSARYPARAMERR ($MISS)" "200 $MISS" "$ST $(app)"
		req POST "/sms_codes/$MOBILE/?image_code=x&uuid=$ID"
		check "$D wrong method: 405" 405 "$ST"
		req GET "/image_codes/x/"
		check "$D malformed id: 400 PARAMERR ($PARAM)" "400 $PARAM" "$ST $(app)"
	else
		req POST "$SMS" -H 'Content-Type: application/json' \
		    --data-binary "{\"mobile\":\"$MOBILE\",\"$IDF\":\"$ID\"}"
		check "$D missing image_code: NODATA ($MISS)" "200 $MISS" "$ST $(app)"
		req GET "$SMS"
		check "$D wrong method: 405" 405 "$ST"
		req POST "$SMS" -H 'Content-Type: text/plain' --data-binary '{}'
		check "$D Content-Type text/plain: 415 PARAMERR ($PARAM)" "415 $PARAM" "$ST $(app)"
		head -c 5000 /dev/zero | tr '\0' 'a' >"$TMP/big"
		req POST "$SMS" -H 'Content-Type: application/json' \
		    --data-binary "@$TMP/big"
		check "$D body over 4 KiB: 413 PARAMERR ($PARAM)" "413 $PARAM" "$ST $(app)"
	fi
done

D=meiduo
req GET /no/such/route
check "unknown route: 404" 404 "$ST"

echo "# $N checks, $FAILS failed"
exit $FAILS
