#!/bin/bash
# The fraud guard (fraud_guard = off | record | enforce): a bot that asks
# for codes never verifies them, a person does. Proven here, with the test
# playing the person (it reads the captcha answer from Redis and the code
# from what the provider was given) and addresses given through
# X-Forwarded-For from the trusted proxy 127.0.0.1: each bound (network,
# number block, the untrusted share of the hourly budget) trips where it
# should and not before, over a window of hour_seconds buckets; verifying
# earns allowance back; a returning mobile is trusted; a carrier NAT whose
# people verify outgrows the fixed address cap; record mode and an unarmed
# site (the legacy path, which never calls verify) refuse nothing; every
# key has a TTL; the three dialects, their verify routes and CGI refuse
# alike; every spelling of an address or a mobile meets the same bound,
# and 20 requests at once get the floor; Redis down is DBERR; off writes
# no fraud key, not even when a code sent before is verified; queued
# delivery; and no code or full mobile in any log.
. "$(dirname "$0")/lib.sh"
# it_init, vcode-smsd and the stand-in provider (the queued scenario).
smsd_init
start_redis
start_nginx

E_NET='该网络未验证的短信过多，请稍后再试'
E_BLOCK='该号段未验证的短信过多，请稍后再试'
E_SHARE='新用户短信发送繁忙，请稍后再试'
E_IP='请求过于频繁，请稍后再试'
DAY=86400

# Every scenario starts from these, then its own overrides: no resend
# interval, no static address or block cap, a budget whose untrusted
# share (100) and fraud floors (100) stay out of the way unless the
# scenario lowers them. The guard enforces from the first verification
# on (no learning period: the learning scenario sets one; lib.sh's base
# configuration turns the guard off for the other tests); a later
# override wins.
BASE_ENV=(VCODE_FRAUD_GUARD=enforce VCODE_FRAUD_LEARN_HOURS=0
    VCODE_TRUSTED_PROXIES=127.0.0.1
    VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=0 VCODE_PREFIX_HOURLY_LIMIT=0
    VCODE_SMS_HOURLY_BUDGET=1000 VCODE_FRAUD_UNTRUSTED_SHARE=10
    VCODE_FRAUD_NET_FLOOR=100 VCODE_FRAUD_BLOCK_FLOOR=100)
CUR_ENV=()
DELIVERY=inline

# scenario [VCODE_KEY=VALUE...]: an empty Redis and vcoded (prefork) with
# BASE_ENV and these overrides (kept in CUR_ENV, for the CGI runs too).
scenario() {
	CUR_ENV=("${BASE_ENV[@]}" "$@")
	rcli flushall >/dev/null
	restart "${CUR_ENV[@]}"
}

# next_net: a /24 this file has not used yet, as "198.N.M" in NET (the
# benchmark range 198.18.0.0/15).
NETN=0
next_net() {
	NETN=$((NETN + 1))
	NET="198.$((18 + NETN / 256)).$((NETN % 256))"
}

# ask DIALECT MOBILE ADDR [CURL ARGS]: a solved captcha (its id in
# LAST_ID) and an SMS request from ADDR.
ask() {
	local d=$1 m=$2 a=$3
	shift 3
	LAST_ID=$(new_id)
	if ! captcha "$d" "$LAST_ID"; then
		H_BODY="(the captcha image failed: $H_STATUS)"
		return 1
	fi
	sms "$d" "$m" "$ANSWER" "$LAST_ID" -H "X-Forwarded-For: $a" "$@"
}

# why DIALECT: the last SMS reply in a word: OK; net, block, share or ip
# (THROTTLING with that bound's errmsg); else its status and code.
why() {
	local c m
	c=$(jv "$(field "$1")")
	if [ "$c" = "$(code "$1" OK)" ]; then echo OK; return; fi
	if [ "$c" = "$(code "$1" THROTTLE)" ]; then
		m=$(printf '%s' "$H_BODY" | jq -r .errmsg 2>/dev/null)
		case $m in
		"$E_NET")	echo net ;;
		"$E_BLOCK")	echo block ;;
		"$E_SHARE")	echo share ;;
		"$E_IP")	echo ip ;;
		*)		echo "THROTTLE($m)" ;;
		esac
		return
	fi
	echo "$H_STATUS:$c"
}

# try DIALECT MOBILE ADDR: ask, the outcome appended to OUT, the mobile
# to MOBS.
try() {
	ask "$@"
	OUT="${OUT:+$OUT }$(why "$1")"
	MOBS+=("$2")
}
series_reset() { OUT=""; MOBS=(); }

# code_of MOBILE: the code the provider was given last for MOBILE (the
# dev log inline; the stand-in's log when queued, waiting for delivery).
code_of() {
	if [ "$DELIVERY" = queue ]; then
		CO_M=$1
		wait_for 10 '[ "$(fcount "$CO_M")" -ge 1 ]'
		flast_r "$1" .code
	else
		log_code "$1"
	fi
}

# vfy DIALECT MOBILE CODE: the dialect's verify route, from this host.
vfy() {
	local body
	body=$(jq -cn --arg m "$2" --arg c "$3" '{mobile:$m, sms_code:$c}')
	case $1 in
	meiduo)	verify "$2" "$3" ;;
	ihome)	http POST /sms_code/verify -H 'Content-Type: application/json' \
		    --data-binary "$body" ;;
	news)	http POST /passport/sms_code/verify \
		    -H 'Content-Type: application/json' --data-binary "$body" ;;
	esac
}

# vwhy DIALECT: the last verify reply in a word: OK, WRONG (4008 /
# "4004") or its status and code.
vwhy() {
	local c
	c=$(jv "$(field "$1")")
	case $1:$c in
	meiduo:0|ihome:'"0"'|news:'"0"') echo OK ;;
	meiduo:4008|ihome:'"4004"'|news:'"4004"') echo WRONG ;;
	*) echo "$H_STATUS:$c" ;;
	esac
}

# verify_all DIALECT MOBILE...: each mobile's code verified; the outcomes
# in VOUT.
verify_all() {
	local d=$1 m
	shift
	VOUT=""
	for m in "$@"; do
		vfy "$d" "$m" "$(code_of "$m")"
		VOUT="${VOUT:+$VOUT }$(vwhy "$d")"
	done
}

# serve_verify N DIALECT ADDR: N people behind ADDR, each asking for a
# code and verifying it when served. SENT and VERIFIED count them; OTHER
# lists the other outcomes in order, each after a space.
serve_verify() {
	local n=$1 d=$2 a=$3 i m w
	SENT=0 VERIFIED=0 OTHER=""
	for i in $(seq "$n"); do
		m=$(new_mobile)
		ask "$d" "$m" "$a"
		w=$(why "$d")
		if [ "$w" = OK ]; then
			SENT=$((SENT + 1))
			vfy "$d" "$m" "$(code_of "$m")"
			[ "$(vwhy "$d")" = OK ] && VERIFIED=$((VERIFIED + 1))
		else
			OTHER="$OTHER $w"
		fi
	done
}

# arm: the spec's arming rule, a code verified through a verify route: one
# sent from 192.0.2.1 and verified. 192.0.2.0/24 is kept out of the way
# after (it is a trusted network from then on).
arm() {
	local m a
	m=$(new_mobile)
	ask meiduo "$m" 192.0.2.1
	a=$(why meiduo)
	vfy meiduo "$m" "$(code_of "$m")"
	expect_match "$P armed: a code from 192.0.2.1 sent, verified, vcode:fraud:armed holds its time" \
	    '^OK OK [0-9]{10}$' "$a $(vwhy meiduo) $(rcli get vcode:fraud:armed)"
}

# fstat FIELD: a field of vcode:fraud:stats, 0 when absent.
fstat() {
	local v
	v=$(rcli hget vcode:fraud:stats "$1")
	echo "${v:-0}"
}

# hsum KEY LETTER: the sum of hash KEY's fields LETTER<bucket> (s: sent,
# v: verified) over every bucket, so that an hour turning mid-test does
# not matter.
hsum() {
	rcli hgetall "$1" | paste - - |
	    awk -v p="$2" '$1 ~ ("^" p "[0-9]+$") { s += $2 } END { print s + 0 }'
}

# mark / since: the vcoded log from the mark on.
mark() { LOGMARK=$(wc -l <"$T/vcoded.stderr" 2>/dev/null || echo 0); }
since() { tail -n +$((LOGMARK + 1)) "$T/vcoded.stderr"; }

# masked MOBILE: as the log writes it (138****8000), as an ERE.
masked() { printf '%s\\*\\*\\*\\*%s' "${1:0:3}" "${1: -4}"; }

# cgi METHOD PATH_INFO QUERY BODY [NAME=VALUE...]: vcoded run once as a
# CGI program (as t_cgi.sh runs it) behind the trusted proxy 127.0.0.1,
# with the scenario's overrides. Sets H_STATUS and H_BODY as http() does;
# its stderr is appended to $T/cgi.err.
cgi() {
	local method=$1 pi=$2 q=$3 body=$4 hlen
	shift 4
	printf '%s' "$body" >"$T/cgi.in"
	local -a cl=()
	[ "$method" = POST ] && cl=("CONTENT_LENGTH=$(wc -c <"$T/cgi.in")"
	    CONTENT_TYPE=application/json)
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 \
	    REQUEST_METHOD="$method" SCRIPT_NAME=/cgi-bin/vcode.cgi \
	    PATH_INFO="$pi" QUERY_STRING="$q" REMOTE_ADDR=127.0.0.1 \
	    VCODE_CONFIG="$CONF" VCODE_MOUNT=/cgi-bin/vcode.cgi \
	    "${CUR_ENV[@]}" "${cl[@]}" "$@" \
	    timeout 10 "$VCODED" <"$T/cgi.in" >"$T/cgi.out" 2>>"$T/cgi.err"
	sed -n '1,/^\r\{0,1\}$/p' "$T/cgi.out" >"$T/last.hdr"
	hlen=$(wc -c <"$T/last.hdr")
	tail -c +$((hlen + 1)) "$T/cgi.out" >"$T/last.body"
	H_STATUS=$(hdr Status | cut -d' ' -f1)
	[ -n "$H_STATUS" ] || H_STATUS=none
	H_BODY=$(tr -d '\000' <"$T/last.body")
}

# cgi_try DIALECT MOBILE ADDR [NAME=VALUE...]: try, the SMS request run as
# CGI (the captcha image still through nginx).
cgi_try() {
	local d=$1 m=$2 a=$3 id
	shift 3
	id=$(new_id)
	captcha "$d" "$id"
	case $d in
	meiduo)	cgi GET "/sms_codes/$m/" "image_code=$ANSWER&uuid=$id" "" \
		    "HTTP_X_FORWARDED_FOR=$a" "$@" ;;
	ihome)	cgi POST /sms_code "" "$(sms_json ihome "$m" "$ANSWER" "$id")" \
		    "HTTP_X_FORWARDED_FOR=$a" "$@" ;;
	news)	cgi POST /passport/sms_code "" \
		    "$(sms_json news "$m" "$ANSWER" "$id")" "HTTP_X_FORWARDED_FOR=$a" "$@" ;;
	esac
	OUT="${OUT:+$OUT }$(why "$d")"
	MOBS+=("$m")
}

# ---- 1. the network bound, each dialect ---------------------------------------
P="[net]"
if scenario VCODE_FRAUD_NET_FLOOR=3; then
	arm
	mark
	for d in $DIALECTS; do
		next_net
		series_reset
		for i in 1 2 3 4; do try "$d" "$(new_mobile)" "$NET.$i"; done
		expect_eq "$P $d: fraud_net_floor 3: 3 unverified codes from $NET.0/24 served, the 4th refused (network)" \
		    "OK OK OK net" "$OUT"
		expect_code "$P $d: ... the refusal is THROTTLING" "$d" 200 THROTTLE
		expect_shape "$P $d: ... in the dialect's JSON shape" "$d"
		expect_eq "$P $d: ... with the network errmsg" "\"$E_NET\"" "$(jv .errmsg)"
		expect_eq "$P $d: ... no SMS for the refused mobile" 0 "$(log_count "${MOBS[3]}")"
		expect_eq "$P $d: ... the captcha is not consumed by the refusal" 1 \
		    "$(rcli exists "$(ckey "$d" "$LAST_ID")")"
		expect_eq "$P $d: vcode:fraud:net:$NET.0/24 counts 3 sent, 0 verified" "3 0" \
		    "$(hsum "vcode:fraud:net:$NET.0/24" s) $(hsum "vcode:fraud:net:$NET.0/24" v)"
		expect_match "$P $d: logged 'sms refused for 1xx****xxxx ($d): unverified network'" \
		    "sms refused for $(masked "${MOBS[3]}") \\($d\\): unverified network" "$(since)"
		if [ "$d" = meiduo ]; then NET_M=$NET; fi
	done
	expect_eq "$P stats: refused_net 3, sent_untrusted 10 (9 and the arming code)" "3 10" \
	    "$(fstat refused_net) $(fstat sent_untrusted)"
	# An IPv6 network is its ip6_prefix (/64).
	series_reset
	for i in 1 2 3 4; do try meiduo "$(new_mobile)" "2001:db8:f:1:$i:${i}a::$i"; done
	expect_eq "$P IPv6: 4 addresses of 2001:db8:f:1::/64: 3 served, the 4th refused (network)" \
	    "OK OK OK net" "$OUT"
	expect_eq "$P IPv6: ... counted in vcode:fraud:net:2001:db8:f:1::/64" 3 \
	    "$(hsum 'vcode:fraud:net:2001:db8:f:1::/64' s)"
	ask ihome "$(new_mobile)" 2001:db8:f:2::1
	expect_eq "$P IPv6: the next /64 is not affected" OK "$(why ihome)"

	# ---- 7. CGI refuses the same way; the ihome verify route through CGI
	series_reset
	cgi_try meiduo "$(new_mobile)" "$NET_M.9"
	expect_eq "$P cgi: meiduo from the spent $NET_M.0/24: refused (network)" net "$OUT"
	expect_reply "$P cgi: ... 200 THROTTLING 4002" 200 .code 4002
	cgi_try meiduo "$(new_mobile)" "$NET_M.10" VCODE_LANG=en
	expect_eq "$P cgi, lang = en: the network errmsg in English" \
	    '"Too many unverified SMS codes from this network"' "$(jv .errmsg)"
	next_net
	series_reset
	for i in 1 2 3 4; do cgi_try ihome "$(new_mobile)" "$NET.$i"; done
	expect_eq "$P cgi: ihome from $NET.0/24: 3 served, the 4th refused (network)" \
	    "OK OK OK net" "$OUT"
	expect_shape "$P cgi: ... in ihome's JSON shape" ihome
	expect_reply "$P cgi: ... errno 4201" 200 .errno '"4201"'
	m=${MOBS[0]}
	cgi POST /sms_code/verify "" \
	    "$(jq -cn --arg m "$m" --arg c "$(log_code "$m")" '{mobile:$m, sms_code:$c}')"
	expect_reply "$P cgi: ihome verify route (CGI) verifies a code of $NET.0/24" 200 .errno '"0"'
	series_reset
	cgi_try news "$(new_mobile)" "$NET.5"
	cgi_try news "$(new_mobile)" "$NET.6"
	expect_eq "$P cgi: ... which earns one back: the next served, the one after refused" \
	    "OK net" "$OUT"
	check_ttls "$P every key has a TTL"
fi

# ---- 1. the block bound --------------------------------------------------------
P="[block]"
if scenario VCODE_FRAUD_BLOCK_FLOOR=3; then
	arm
	mark
	series_reset
	for i in 1 2 3 4; do next_net; try meiduo "1370123000$i" "$NET.1"; done
	expect_eq "$P fraud_block_floor 3: 3 unverified codes to block 1370123 (each from its own network) served, the 4th refused (block)" \
	    "OK OK OK block" "$OUT"
	expect_code "$P ... THROTTLING" meiduo 200 THROTTLE
	expect_eq "$P ... with the block errmsg" "\"$E_BLOCK\"" "$(jv .errmsg)"
	expect_eq "$P ... no SMS for the refused mobile" 0 "$(log_count 13701230004)"
	for d in ihome news; do
		next_net
		ask "$d" "13701230$([ "$d" = ihome ] && echo 005 || echo 006)" "$NET.1"
		expect_eq "$P $d to the same block: refused (block)" block "$(why "$d")"
		expect_shape "$P $d: ... in the dialect's JSON shape" "$d"
		expect_reply "$P $d: ... errno 4201" 200 .errno '"4201"'
	done
	expect_eq "$P vcode:fraud:block:1370123 counts 3 sent" 3 \
	    "$(hsum vcode:fraud:block:1370123 s)"
	expect_eq "$P stats: refused_block 3" 3 "$(fstat refused_block)"
	next_net
	ask meiduo 13701240001 "$NET.1"
	expect_eq "$P the next block is not affected" OK "$(why meiduo)"
	expect_match "$P logged 'unverified block', the mobile masked" \
	    "sms refused for $(masked 13701230004) \\(meiduo\\): unverified block" "$(since)"
	check_ttls "$P every key has a TTL"
fi

# ---- 1, 2. the untrusted share, and a verified untrusted code gives one back ---
P="[share]"
if scenario VCODE_SMS_HOURLY_BUDGET=100 VCODE_FRAUD_UNTRUSTED_SHARE=10; then
	arm
	mark
	# Before the share is spent, a verified untrusted code gives its
	# place back: 9 unverified + 1 verified, then one more served.
	series_reset
	for i in $(seq 9); do next_net; try meiduo "$(new_mobile)" "$NET.1"; done
	expect_eq "$P budget 100, share 10%: 9 unverified untrusted served (10 with the arming code)" \
	    "OK OK OK OK OK OK OK OK OK" "$OUT"
	verify_all meiduo "${MOBS[0]}"
	expect_eq "$P one of them verified" OK "$VOUT"
	expect_eq "$P vcode:fraud:pool: u 10 sent (the arming code too), w 2 verified (it too)" \
	    "10 2" "$(rcli hget vcode:fraud:pool u) $(rcli hget vcode:fraud:pool w)"
	series_reset
	for i in 1 2 3; do next_net; try meiduo "$(new_mobile)" "$NET.1"; done
	expect_eq "$P ... so two more are served, and the 13th untrusted is refused (share)" \
	    "OK OK share" "$OUT"
	expect_code "$P ... THROTTLING" meiduo 200 THROTTLE
	expect_eq "$P ... with the untrusted share's errmsg" "\"$E_SHARE\"" "$(jv .errmsg)"
	expect_eq "$P ... no SMS for the refused mobile" 0 "$(log_count "${MOBS[2]}")"
	for d in ihome news; do
		next_net
		ask "$d" "$(new_mobile)" "$NET.1"
		expect_eq "$P $d, a new mobile from a new network: refused (share)" share "$(why "$d")"
		expect_shape "$P $d: ... in the dialect's JSON shape" "$d"
	done
	expect_eq "$P the pool has refused: it is full" 1 "$(rcli hget vcode:fraud:pool full)"
	bt=$(rcli ttl vcode:budget)
	pt=$(rcli ttl vcode:fraud:pool)
	expect_range "$P the pool lives as long as the budget's hour (pool TTL $pt, budget $bt)" \
	    $((bt - 2)) $((bt + 2)) "$pt"
	# Full, a verification no longer gives a place back: under attack
	# it would go to the bot asking many times a second.
	verify_all meiduo "${MOBS[0]}"
	expect_eq "$P one more untrusted code verified" OK "$VOUT"
	series_reset
	next_net
	try news "$(new_mobile)" "$NET.1"
	expect_eq "$P ... gives nothing back once the pool is full: the next untrusted refused" \
	    "share" "$OUT"
	expect_eq "$P ... pool w still 2" 2 "$(rcli hget vcode:fraud:pool w)"
	expect_eq "$P stats: refused_untrusted 4, verified 3" "4 3" \
	    "$(fstat refused_untrusted) $(fstat verified)"
	expect_match "$P logged 'untrusted share spent', the mobile masked" \
	    "sms refused for $(masked "${MOBS[0]}") \\(news\\): untrusted share spent" "$(since)"
	check_ttls "$P every key has a TTL"
fi

# ---- 2. verification earns the network allowance back (fraud_net_ratio) ------
P="[earn]"
if scenario VCODE_FRAUD_NET_FLOOR=2; then
	arm
	next_net
	N=$NET
	series_reset
	for i in 1 2 3; do try meiduo "$(new_mobile)" "$N.$i"; done
	expect_eq "$P floor 2: 2 unverified from $N.0/24 served, the 3rd refused" "OK OK net" "$OUT"
	verify_all meiduo "${MOBS[0]}" "${MOBS[1]}"
	expect_eq "$P the 2 codes verified" "OK OK" "$VOUT"
	series_reset
	for i in 4 5 6; do try ihome "$(new_mobile)" "$N.$i"; done
	expect_eq "$P ... then 2 more served, the 3rd refused" "OK OK net" "$OUT"
	verify_all ihome "${MOBS[0]}" "${MOBS[1]}"
	expect_eq "$P those 2 verified through the ihome route" "OK OK" "$VOUT"
	vout=""
	for i in $(seq 6); do
		m=$(new_mobile)
		ask news "$m" "$N.$((10 + i))"
		vfy news "$m" "$(code_of "$m")"
		vout="$vout $(why news)/$(vwhy news)"
	done
	expect_eq "$P 6 more sent and verified (news route): 10 verified in the window" \
	    "$(printf ' OK/OK%.0s' 1 2 3 4 5 6)" "$vout"
	expect_eq "$P ... vcode:fraud:net:$N.0/24: 10 sent, 10 verified" "10 10" \
	    "$(hsum "vcode:fraud:net:$N.0/24" s) $(hsum "vcode:fraud:net:$N.0/24" v)"
	series_reset
	for i in $(seq 6); do try meiduo "$(new_mobile)" "$N.$((20 + i))"; done
	expect_eq "$P ratio 50% of 10 verified: 5 unverified served (not the floor's 2), the 6th refused" \
	    "OK OK OK OK OK net" "$OUT"
	next_net
	for d in ihome news; do
		m=$(new_mobile)
		ask "$d" "$m" "$NET.1"
		c=$(code_of "$m")
		vfy "$d" "$m" "$(other "$c")"
		a=$(vwhy "$d")
		vfy "$d" "$m" "$c"
		expect_eq "$P $d verify route: a wrong code \"4004\", then the right one \"0\"" \
		    "WRONG OK" "$a $(vwhy "$d")"
	done
	check_ttls "$P every key has a TTL"
fi

# ---- 3. a returning mobile is trusted --------------------------------------------
P="[trust]"
if scenario VCODE_FRAUD_NET_FLOOR=2 VCODE_FRAUD_BLOCK_FLOOR=2 \
    VCODE_SMS_HOURLY_BUDGET=100 VCODE_FRAUD_UNTRUSTED_SHARE=2; then
	arm
	R=13900770001
	ask meiduo "$R" 192.0.2.2
	a=$(why meiduo)
	vfy meiduo "$R" "$(code_of "$R")"
	expect_eq "$P $R sent (from the armed, trusted network) and verified" "OK OK" \
	    "$a $(vwhy meiduo)"
	expect_eq "$P vcode:fraud:mobile:$R is set" 1 "$(rcli get "vcode:fraud:mobile:$R")"
	for k in "vcode:fraud:mobile:$R" vcode:fraud:seen:192.0.2.0/24 vcode:fraud:armed; do
		expect_range "$P $k lives fraud_trust_days (30)" $((30 * DAY - 60)) $((30 * DAY)) \
		    "$(rcli ttl "$k")"
	done
	expect_range "$P vcode:fraud:stats is kept 7 days" $((7 * DAY - 60)) $((7 * DAY)) \
	    "$(rcli ttl vcode:fraud:stats)"
	next_net
	N=$NET
	series_reset
	try meiduo 13900770002 "$N.1"
	try ihome 13900770003 "$N.2"
	expect_eq "$P 2 unverified from $N.0/24 to block 1390077: served" "OK OK" "$OUT"
	n=0
	while IFS= read -r k; do
		n=$((n + 1))
		t=$(rcli ttl "$k")
		[ "$t" -ge 1 ] 2>/dev/null && [ "$t" -le 300 ] || fail "$P $k: TTL within sms_code_ttl" "1..300" "$t"
	done < <(rcli --scan --pattern 'vcode:fraud:code:*')
	expect_range "$P vcode:fraud:code:* of the 2 unverified codes, TTL within sms_code_ttl" 2 100 "$n"
	ask meiduo "$(new_mobile)" "$N.3"
	expect_in "$P a new mobile from $N.0/24: refused (network, or the spent share)" \
	    "net|share" "$(why meiduo)"
	next_net
	ask news 13900770004 "$NET.1"
	expect_in "$P a new mobile of block 1390077: refused (block, or the spent share)" \
	    "block|share" "$(why news)"
	next_net
	ask ihome "$(new_mobile)" "$NET.1"
	expect_eq "$P a new mobile from a new network: refused (the share, 2, is spent)" \
	    share "$(why ihome)"
	ask meiduo "$(new_mobile)" 192.0.2.3
	expect_eq "$P a new mobile from a trusted network (a code verified from it): the share does not apply" \
	    OK "$(why meiduo)"
	ask meiduo "$R" "$N.4"
	expect_eq "$P returning $R from the spent $N.0/24, its block spent, the share spent: served" \
	    OK "$(why meiduo)"
	next_net
	for d in ihome news; do
		ask "$d" "$R" "$NET.$([ "$d" = ihome ] && echo 1 || echo 2)"
		expect_eq "$P returning $R from a new network ($d): served" OK "$(why "$d")"
	done
	# Trusted: a mobile or a network with a verified code (R twice from
	# 192.0.2.0/24, the new mobile from it, R three times).
	expect_eq "$P stats: sent_trusted 5 (trusted mobile or network)" 5 "$(fstat sent_trusted)"
	# Trust is the mark of fraud_trust_days: without it, a stranger again.
	rcli del "vcode:fraud:mobile:$R" >/dev/null
	next_net
	ask meiduo "$R" "$NET.1"
	expect_in "$P $R once its trust mark is gone (as after fraud_trust_days): refused (share, or its block)" \
	    "share|block" "$(why meiduo)"
	check_ttls "$P every key has a TTL"
fi

# ---- the window: buckets of hour_seconds, fraud_window of them --------------------
# hour_seconds = 10 (its least) simulates the hours; fraud_window = 1: a
# network's unverified codes count only in the bucket they were sent in.
P="[window]"
if scenario VCODE_HOUR_SECONDS=10 VCODE_FRAUD_WINDOW=1 VCODE_FRAUD_NET_FLOOR=2; then
	arm
	# Three requests take well under a second; start them with at least
	# 3 s of the bucket left.
	now=$(date +%s.%N)
	left=$(awk -v t="$now" 'BEGIN { printf "%.2f", 10 - (t - int(t / 10) * 10) }')
	awk -v l="$left" 'BEGIN { exit !(l < 3) }' && sleep "$left"
	b0=$(($(date +%s) / 10))
	next_net
	series_reset
	for i in 1 2 3; do try meiduo "$(new_mobile)" "$NET.$i"; done
	b1=$(($(date +%s) / 10))
	expect_eq "$P hour_seconds 10: 2 unverified from $NET.0/24 served, the 3rd refused, in one bucket" \
	    "OK OK net $b0" "$OUT $b1"
	expect_range "$P the budget counter lives hour_seconds" 1 10 "$(rcli ttl vcode:budget)"
	now=$(date +%s.%N)
	sleep "$(awk -v t="$now" 'BEGIN { printf "%.2f", 10.2 - (t - int(t / 10) * 10) }')"
	ask meiduo "$(new_mobile)" "$NET.4"
	expect_eq "$P in the next bucket (fraud_window 1) the network is served again" OK \
	    "$(why meiduo)"
	expect_eq "$P ... and the new bucket alone is counted (s$((b0 + 1)) = 1, s$b0 aged out)" \
	    "s$((b0 + 1)) 1" "$(rcli hgetall "vcode:fraud:net:$NET.0/24" | paste -sd' ')"
	check_ttls "$P every key has a TTL"
fi

# ---- 4. a carrier NAT whose people verify --------------------------------------
P="[nat]"
if scenario VCODE_IP_HOURLY_LIMIT=20; then
	arm
	next_net
	A=$NET.77
	serve_verify 60 meiduo "$A"
	expect_eq "$P enforce, ip_hourly_limit 20: 60 people behind $A, each verifying: all served and verified" \
	    "60 60 " "$SENT $VERIFIED $OTHER"
	# Without verification the same address is held to the fixed cap.
	next_net
	sent=0 other=""
	for i in $(seq 21); do
		ask ihome "$(new_mobile)" "$NET.77"
		w=$(why ihome)
		if [ "$w" = OK ]; then sent=$((sent + 1)); else other="$other $w"; fi
	done
	expect_eq "$P enforce: 21 unverified from $NET.77: 20 served, the 21st refused (address cap)" \
	    "20 ip" "$sent$other"
	check_ttls "$P every key has a TTL"
fi

# ---- 4, 9. off: the fixed cap as before, and no fraud key written ----------------
P="[off]"
if scenario VCODE_IP_HOURLY_LIMIT=20 VCODE_FRAUD_GUARD=off VCODE_FRAUD_NET_FLOOR=2; then
	next_net
	A=$NET.77
	serve_verify 21 meiduo "$A"
	expect_eq "$P fraud_guard off: 21 from $A, each verified: 20 served, the 21st refused (address cap, as today)" \
	    "20 20 ip" "$SENT $VERIFIED$OTHER"
	next_net
	series_reset
	for i in 1 2 3 4; do try news "$(new_mobile)" "$NET.$i"; done
	expect_eq "$P off: 4 unverified from $NET.0/24 (floor 2): all served" "OK OK OK OK" "$OUT"
	expect_eq "$P off: no vcode:fraud:* key written" "" \
	    "$(rcli --scan --pattern 'vcode:fraud:*' | sort | tr '\n' ' ')"
	check_ttls "$P every key has a TTL"
fi

# A site that turns the guard off: a code sent while it enforced, verified
# after, credits nothing (off writes no fraud key).
P="[off later]"
if scenario; then
	arm
	next_net
	m=$(new_mobile)
	ask meiduo "$m" "$NET.1"
	expect_eq "$P a code sent from $NET.1 while enforcing" OK "$(why meiduo)"
	CUR_ENV=("${CUR_ENV[@]}" VCODE_FRAUD_GUARD=off)
	if restart "${CUR_ENV[@]}"; then
		rcli --scan --pattern 'vcode:fraud:*' | sort >"$T/fraud.before"
		for k in $(cat "$T/fraud.before"); do
			echo "$k $(rcli --raw dump "$k" | od -An -tx1 | tr -d ' \n')"
		done >"$T/fraud.before.v"
		vfy meiduo "$m" "$(code_of "$m")"
		expect_eq "$P verified after fraud_guard = off" OK "$(vwhy meiduo)"
		for k in $(rcli --scan --pattern 'vcode:fraud:*' | sort); do
			echo "$k $(rcli --raw dump "$k" | od -An -tx1 | tr -d ' \n')"
		done >"$T/fraud.after.v"
		expect_eq "$P ... no vcode:fraud:* key written or changed (no vcode:fraud:mobile:$m)" \
		    "" "$(diff "$T/fraud.before.v" "$T/fraud.after.v" | grep '^[<>]' | cut -d' ' -f2 | sort -u | tr '\n' ' ')"
	fi
fi

# ---- 5. record mode: counted and logged, nothing refused -----------------------
P="[record]"
if scenario VCODE_FRAUD_GUARD=record VCODE_FRAUD_NET_FLOOR=2 VCODE_IP_HOURLY_LIMIT=6; then
	arm
	mark
	next_net
	series_reset
	for i in $(seq 6); do try meiduo "$(new_mobile)" "$NET.1"; done
	expect_eq "$P record, floor 2: 6 unverified from $NET.1: all served" \
	    "OK OK OK OK OK OK" "$OUT"
	expect_eq "$P ... counted: would_net 4, nothing refused" "4 0 0 0" \
	    "$(fstat would_net) $(fstat refused_net) $(fstat refused_block) $(fstat refused_untrusted)"
	expect_match "$P ... logged 'fraud guard (record) would refuse: unverified network'" \
	    "sms for $(masked "${MOBS[2]}") \\(meiduo\\) sent; fraud guard \\(record\\) would refuse: unverified network" \
	    "$(since)"
	expect_nomatch "$P ... and no refusal logged" 'sms refused for .*unverified' "$(since)"
	try meiduo "$(new_mobile)" "$NET.1"
	expect_eq "$P the static limits still hold: the 7th from $NET.1 refused by ip_hourly_limit 6" \
	    ip "${OUT##* }"
	check_ttls "$P every key has a TTL"
fi

# ---- 5. enforce, not armed: the legacy path is never refused --------------------
P="[unarmed]"
if scenario VCODE_FRAUD_NET_FLOOR=2 VCODE_FRAUD_BLOCK_FLOOR=2 \
    VCODE_SMS_HOURLY_BUDGET=100 VCODE_FRAUD_UNTRUSTED_SHARE=2; then
	mark
	next_net
	N=$NET
	series_reset
	legacy=0
	for i in $(seq 6); do
		try meiduo "$(new_mobile)" "$N.$i"
		# The register view of a legacy site reads the code itself.
		[ "$(rcli get "sms_${MOBS[-1]}")" = "$(log_code "${MOBS[-1]}")" ] &&
		    legacy=$((legacy + 1))
	done
	for i in 1 2 3 4; do next_net; try ihome "1370155000$i" "$NET.1"; done
	expect_eq "$P enforce, never a verify: 6 from one /24, 4 to one block, all new: all served" \
	    "$(printf 'OK %.0s' $(seq 10))" "$OUT "
	expect_eq "$P ... each code readable by the legacy register view (sms_MOBILE)" 6 "$legacy"
	expect_eq "$P ... not armed: no vcode:fraud:armed, nothing refused" "0 0 0 0" \
	    "$(rcli exists vcode:fraud:armed) $(fstat refused_net) $(fstat refused_block) $(fstat refused_untrusted)"
	w=$(( $(fstat would_net) + $(fstat would_block) + $(fstat would_untrusted) ))
	expect_range "$P ... what would have been refused is counted (would_*)" 1 10 "$w"
	expect_match "$P ... and logged '(not armed) would refuse'" \
	    'sent; fraud guard \(not armed\) would refuse: unverified' "$(since)"
	m=${MOBS[0]}
	vfy meiduo "$m" "$(log_code "$m")"
	expect_match "$P one code verified through the verify route arms the site (its time)" '^OK [0-9]{10}$' \
	    "$(vwhy meiduo) $(rcli get vcode:fraud:armed)"
	series_reset
	try meiduo "$(new_mobile)" "$N.99"
	expect_eq "$P ... and the guard then refuses: a new mobile from $N.0/24 (5 unverified)" \
	    net "$OUT"
	check_ttls "$P every key has a TTL"
fi

# ---- 8. Redis down: DBERR as today, then recovery -------------------------------
P="[redis]"
if scenario VCODE_FRAUD_NET_FLOOR=2; then
	arm
	stop_redis
	next_net
	mobs=""
	for d in $DIALECTS; do
		m=$(new_mobile)
		mobs="$mobs $m"
		sms "$d" "$m" abcd "$(new_id)" -H "X-Forwarded-For: $NET.1"
		expect_code "$P down: $d sms: 200 DBERR" "$d" 200 DB
		expect_shape "$P down: $d ... in the dialect's JSON shape" "$d"
		vfy "$d" "$m" 123456
		expect_code "$P down: $d verify: 200 DBERR" "$d" 200 DB
	done
	n=0
	for m in $mobs; do n=$((n + $(log_count "$m"))); done
	expect_eq "$P down: nothing sent" 0 "$n"
	start_redis
	n=100
	while [ $n -gt 0 ]; do
		http GET /healthz
		[ "$H_STATUS" = 200 ] && break
		sleep 0.05
		n=$((n - 1))
	done
	expect_eq "$P back: /healthz 200" 200 "$H_STATUS"
	series_reset
	for d in $DIALECTS; do try "$d" "$(new_mobile)" "$NET.2"; done
	expect_eq "$P back (an empty Redis, so not armed): each dialect served" "OK OK OK" "$OUT"
	verify_all meiduo "${MOBS[0]}"
	expect_match "$P back: a code verifies and arms the site again (its time)" '^OK [0-9]{10}$' \
	    "$VOUT $(rcli get vcode:fraud:armed)"
	try news "$(new_mobile)" "$NET.3"
	expect_eq "$P back: the guard refuses again ($NET.0/24: 2 unverified)" net "${OUT##* }"
	check_ttls "$P every key has a TTL"
fi

# ---- 10. queued delivery ----------------------------------------------------------
P="[queue]"
stop_vcoded
queue_conf
set_mode ok
DELIVERY=queue
if scenario VCODE_FRAUD_NET_FLOOR=2; then
	smsd_start q
	QP=$SPID
	arm
	next_net
	series_reset
	for i in 1 2 3; do try meiduo "$(new_mobile)" "$NET.$i"; done
	expect_eq "$P queued: 2 unverified from $NET.0/24 served, the 3rd refused (network)" \
	    "OK OK net" "$OUT"
	c=$(code_of "${MOBS[0]}")
	wait_for 10 '[ "$(fcount "${MOBS[1]}")" -ge 1 ]'
	expect_eq "$P ... the 2 served delivered, nothing for the refused one" "1 1 0" \
	    "$(fcount "${MOBS[0]}") $(fcount "${MOBS[1]}") $(fcount "${MOBS[2]}")"
	expect_match "$P the sender delivered the first code" '^[0-9]{6}$' "$c"
	vfy meiduo "${MOBS[0]}" "$c"
	expect_eq "$P the delivered code verifies" OK "$(vwhy meiduo)"
	series_reset
	try ihome "$(new_mobile)" "$NET.4"
	try news "$(new_mobile)" "$NET.5"
	expect_eq "$P ... and earns one back: the next served, the one after refused" "OK net" "$OUT"
	wait_for 10 '[ "$(fcount "${MOBS[0]}")" -ge 1 ]'
	expect_eq "$P the one served was delivered" 1 "$(fcount "${MOBS[0]}")"
	wait_for 5 outbox_empty
	check_ttls "$P every key has a TTL, the outbox's included"
	smsd_stop "$QP"
fi
DELIVERY=inline
stop_vcoded

# ---- a queued code never delivered takes its count back ----------------------
# A gateway refusing every try: the message dies, and the network's count
# of its send is taken back (a failing gateway must not make people look
# like a bot). Only its own record: a message whose code was replaced by a
# newer one (dropped unsent) leaves the newer code's count alone.
P="[unsent]"
stop_vcoded
queue_conf "sms_max_tries = 1"
if scenario VCODE_FRAUD_NET_FLOOR=100; then
	# Two codes for one mobile, the second replacing the first, a gateway
	# that takes everything: the first is dropped unsent, and must not
	# take back the second's count.
	set_mode ok
	next_net
	m=$(new_mobile)
	series_reset
	try meiduo "$m" "$NET.1"
	try meiduo "$m" "$NET.2"
	expect_eq "$P two codes queued for one mobile (the second replaces the first): network counts 2 sent" \
	    "OK OK 2" "$OUT $(hsum "vcode:fraud:net:$NET.0/24" s)"
	smsd_start u VCODE_FRAUD_GUARD=enforce
	wait_for 10 '[ "$(rcli xlen vcode:outbox)" = 0 ]'
	expect_eq "$P the first dropped (replaced), the second delivered: the gateway saw 1" \
	    1 "$(fcount "$m")"
	expect_eq "$P the dropped one took nothing back (the record is the second code's): 2 sent, its record kept" \
	    "2 1" "$(hsum "vcode:fraud:net:$NET.0/24" s) $(rcli exists "vcode:fraud:code:sms_$m")"
	# A gateway refusing every try: the message dies and its send is
	# taken back.
	set_mode refuse
	next_net
	m=$(new_mobile)
	series_reset
	try meiduo "$m" "$NET.1"
	wait_for 10 '[ "$(rcli xlen vcode:outbox:dead)" = 1 ] && [ "$(rcli exists "vcode:fraud:code:sms_$m")" = 0 ]'
	expect_eq "$P refused at its one try (sms_max_tries 1): a dead letter, its send taken back (0 sent), its record gone" \
	    "OK 1 0 0" "$OUT $(rcli xlen vcode:outbox:dead) $(hsum "vcode:fraud:net:$NET.0/24" s) $(rcli exists "vcode:fraud:code:sms_$m")"
	check_ttls "$P every key has a TTL"
	smsd_stop "$SPID"
	set_mode ok
fi
stop_vcoded

# ---- the learning period: armed only fraud_learn_hours after the first verification ----
P="[learn]"
write_conf	# inline again: the queued scenario's configuration stayed
if scenario VCODE_HOUR_SECONDS=10 VCODE_FRAUD_LEARN_HOURS=1 VCODE_FRAUD_NET_FLOOR=2; then
	arm
	t0=$(date +%s)
	expect_match "$P armed holds the time of the first verification" \
	    '^[0-9]{10}$' "$(rcli get vcode:fraud:armed)"
	next_net
	series_reset
	try meiduo "$(new_mobile)" "$NET.1"
	try meiduo "$(new_mobile)" "$NET.2"
	try meiduo "$(new_mobile)" "$NET.3"
	expect_eq "$P within the hour (10 s) after it: the 3rd of floor 2 served, would_net counted" \
	    "OK OK OK 1" "$OUT $(fstat would_net)"
	# A second verification does not move the start.
	first=$(rcli get vcode:fraud:armed)
	verify_all meiduo "${MOBS[0]}"
	expect_eq "$P a later verification keeps the first time" "OK $first" \
	    "$VOUT $(rcli get vcode:fraud:armed)"
	while [ $(($(date +%s) - t0)) -lt 11 ]; do sleep 0.5; done
	next_net
	series_reset
	try meiduo "$(new_mobile)" "$NET.1"
	try meiduo "$(new_mobile)" "$NET.2"
	try meiduo "$(new_mobile)" "$NET.3"
	expect_eq "$P after it: the 3rd refused" "OK OK net" "$OUT"
	check_ttls "$P every key has a TTL"
fi

# ---- hostile spellings and concurrency: one network, one block, one mobile ----
# However an address or a mobile is written, and however many ask at once,
# the bound is the same one: IPv4-mapped IPv6 is the IPv4 address's /24,
# an IPv6 /64 is one network whatever the interface id, +86/0086/86 are
# the national number (one block, one trusted mobile), the dialects share
# every key, and 20 requests at once from a fresh network get the floor.
P="[spellings]"
CC_PATTERN='^(\+?86|0086)?1[3-9][0-9]{9}$'
# With a country code in the pattern the provider is given the number in
# its international form: the code is read where the legacy app reads it.
code_of() { rcli get "sms_$1"; }
if scenario VCODE_FRAUD_NET_FLOOR=3 VCODE_MOBILE_PATTERN="$CC_PATTERN"; then
	arm
	next_net
	series_reset
	try meiduo "$(new_mobile)" "$NET.1"
	try ihome "$(new_mobile)" "::ffff:$NET.2"
	try news "$(new_mobile)" "$NET.250"
	try meiduo "$(new_mobile)" "::FFFF:$NET.3"
	expect_eq "$P $NET.0/24 in four spellings, three dialects: 3 served, the 4th refused" \
	    "OK OK OK net" "$OUT"
	series_reset
	try meiduo "$(new_mobile)" "2001:db8:77:1::1"
	try ihome "$(new_mobile)" "2001:db8:77:1:ffff::9"
	try news "$(new_mobile)" "2001:db8:77:1:0:0:0:2"
	try meiduo "$(new_mobile)" "2001:DB8:77:1::abcd"
	expect_eq "$P one IPv6 /64, four interface ids: 3 served, the 4th refused" \
	    "OK OK OK net" "$OUT"
	# A mobile verified in one spelling is trusted in every other, from
	# the network just shut.
	next_net
	m=13912340077
	ask meiduo "$m" "$NET.1"
	a=$(why meiduo)
	vfy meiduo "$m" "$(code_of "$m")"
	a="$a $(vwhy meiduo)"
	series_reset
	try meiduo "$(new_mobile)" "$NET.2"
	try meiduo "$(new_mobile)" "$NET.3"
	try meiduo "$(new_mobile)" "$NET.4"
	try meiduo "$(new_mobile)" "$NET.5"
	try ihome "+86$m" "$NET.6"
	try news "0086$m" "$NET.7"
	expect_eq "$P $m verified; its network shut after 3 more; +86 and 0086 spellings of it still served" \
	    "OK OK / OK OK OK net OK OK" "$a / $OUT"
	# 20 at once from a fresh network: exactly the floor is served.
	# (the mobiles made first: new_mobile's counter is not for sharing)
	next_net
	pids=()
	ms=()
	for i in $(seq 20); do ms+=("$(new_mobile)"); done
	for i in $(seq 20); do
		# each its own reply files (http() writes them under $T)
		(T=$T/conc$i; mkdir -p "$T"
		    ask meiduo "${ms[i - 1]}" "$NET.$i" >/dev/null 2>&1
		    why meiduo >"$T/../conc.$i") &
		pids+=($!)
	done
	wait "${pids[@]}"
	expect_eq "$P 20 requests at once from $NET.0/24: 3 served, 17 refused by the network bound" \
	    "3 OK 17 net" "$(cat "$T"/conc.* | LC_ALL=C sort | uniq -c |
	    awk '{ print $1, $2 }' | paste -sd ' ')"
	rm -rf "$T"/conc*
	check_ttls "$P every key has a TTL"
fi
if scenario VCODE_FRAUD_BLOCK_FLOOR=3 VCODE_MOBILE_PATTERN="$CC_PATTERN"; then
	arm
	series_reset
	for s in 13912350001 +8613912350002 008613912350003 8613912350004; do
		next_net
		try ihome "$s" "$NET.1"
	done
	expect_eq "$P block 1391235 in four spellings from four networks: 3 served, the 4th refused" \
	    "OK OK OK block" "$OUT"
	expect_eq "$P ... one block counted" "3" "$(hsum vcode:fraud:block:1391235 s)"
fi
stop_vcoded

# ---- 11. no code and no full mobile in any log -----------------------------------
P="[logs]"
{
	sed -n 's/.* code=\([0-9]*\).*/\1/p' "$SMS_LOG"
	jq -r '.code | select(length > 0)' "$FLOG"
} | sort -u >"$T/codes"
{
	sed -n 's/.*mobile=\([^ ]*\) .*/\1/p' "$SMS_LOG"
	jq -r '.mobile | select(length > 0)' "$FLOG"
	printf '%s\n' 13701230004 13701230005 13701230006 13900770004
} | sort -u >"$T/mobiles"
leaks=""
for f in "$T/vcoded.stderr" "$T/cgi.err" "$T"/smsd-*.log; do
	[ -f "$f" ] || continue
	# The process ids ("vcoded[123456]") are not codes.
	sed 's/\[[0-9]*\]//g' "$f" >"$T/log.nopid"
	grep -qwFf "$T/codes" "$T/log.nopid" && leaks="$leaks $(basename "$f"):code"
	grep -qFf "$T/mobiles" "$f" && leaks="$leaks $(basename "$f"):mobile"
done
expect_eq "$P no code ($(wc -l <"$T/codes")) and no full mobile ($(wc -l <"$T/mobiles")) in vcoded's, the CGI runs' or the sender's log" \
    "" "${leaks# }"
it_done
