#!/bin/bash
# The inline SMS providers ccp and webhook (README, "Sending the SMS"), against fake_sms.py, a
# local stand-in that verifies what vcoded sends (path, signature,
# headers, body) and answers as told by its mode file: ok, refuse, echo
# (a refusal repeating the mobile and the code), slow (past the client's
# 5 s timeout), garbage, status500, status204. For each provider: a sent
# code reaches the stand-in intact in every dialect; every kind of failure
# (refusal, timeout, garbage, a bad status, the stand-in down, a wrong
# credential) answers SMSSENDERR with the code, the resend flag and the
# daily count rolled back; no worker dies; and no code, full mobile or
# credential lands in vcoded's or nginx's logs, even when the gateway's
# own text repeats them. Then the start-up
# checks of the provider keys (vcoded -t).
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
command -v python3 >/dev/null || it_bail "python3 not found (fake_sms.py needs it)"
start_redis
start_nginx

fake_init

# penv PROVIDER [wrong]: the VCODE_* overrides for PROVIDER at the
# stand-in's current port, into PENV. "wrong": a wrong credential.
penv() {
	local tok=$TOKEN sec=$WSECRET
	[ "${2:-}" = wrong ] && tok=$TOKEN_BAD sec=$WSECRET_BAD
	# sms_interval > 0, so that there is a resend flag to roll back.
	PENV=(VCODE_SMS_DELIVERY=inline "VCODE_SMS_PROVIDER=$1"
	    VCODE_SMS_INTERVAL=60 VCODE_IP_HOURLY_LIMIT=0 VCODE_LOG_LEVEL=debug)
	case $1 in
	ccp)
		PENV+=("VCODE_CCP_BASE_URL=http://127.0.0.1:$FP"
		    "VCODE_CCP_ACCOUNT_SID=$SID" "VCODE_CCP_AUTH_TOKEN=$tok"
		    "VCODE_CCP_APP_ID=$APP" VCODE_CCP_TEMPLATE_ID=7) ;;
	webhook)
		PENV+=("VCODE_WEBHOOK_URL=http://127.0.0.1:$FP/hook"
		    "VCODE_WEBHOOK_SECRET=$sec") ;;
	esac
}

# USED: every code and mobile of the file, looked for in the logs at the end.
USED=()

# sent_ok NAME PROVIDER DIALECT MOBILE: the reply was OK and the stand-in
# got exactly one verified request carrying the code stored in Redis.
sent_ok() {
	local name=$1 prov=$2 d=$3 m=$4 c tpl=""
	expect_code "$name: reply OK" "$d" 200 OK
	c=$(rcli get "$(skey "$d" "$m")")
	USED+=("$c")
	expect_match "$name: code stored in Redis" '^[0-9]{6}$' "$c"
	expect_eq "$name: resend flag set" 1 "$(rcli exists "$(fkey "$d" "$m")")"
	expect_eq "$name: one request reached the stand-in" 1 "$(fcount "$m")"
	[ "$prov" = ccp ] && tpl=7
	expect_eq "$name: the stand-in verified it, same code, minutes 5" \
	    "$(jq -cn --arg k "$prov" --arg c "$c" --arg t "$tpl" \
	    '{kind:$k, ok:true, reason:"", code:$c, minutes:"5", template:$t}')" \
	    "$(flast "$m" '{kind, ok, reason, code, minutes, template}')"
}

# failed NAME DIALECT MOBILE: SMSSENDERR, an answer (not a curl error),
# rolled back.
failed() {
	local c
	expect_nomatch "$1: vcoded answered" '^curl-error' "$H_STATUS"
	expect_code "$1: reply SEND" "$2" 200 SEND
	rolled_back "$1" "$2" "$3"
	c=$(flast_r "$3" .code)
	[ -n "$c" ] && USED+=("$c")
}

# kept NAME DIALECT MOBILE: SMSSENDERR for a delivery whose fate is
# unknown, and nothing undone: code, resend flag and count stay.
kept() {
	local c
	expect_code "$1: reply SEND" "$2" 200 SEND
	expect_eq "$1: code, resend flag and count kept" "1 1 1" \
	    "$(rcli exists "$(skey "$2" "$3")") $(rcli exists "$(fkey "$2" "$3")") $(rcli get "vcode:daily:$3")"
	c=$(flast_r "$3" .code)
	[ -n "$c" ] && USED+=("$c")
}

fake_start

# the single-dialect checks vary the dialect between providers
read -r -a DL <<<"$DIALECTS"
for prov in ccp webhook; do
	P="[$prov]"
	set_mode ok
	penv "$prov"
	if restart "${PENV[@]}"; then
		# -- ok: each dialect
		for d in $DIALECTS; do
			try_new m "$d"
			sent_ok "$P ok $d" "$prov" "$d" "$m"
		done

		# -- refuse: each dialect, then the same mobiles once ok
		set_mode refuse
		declare -A RM=()
		for d in $DIALECTS; do
			m=$(new_mobile)
			USED+=("$m")
			RM[$d]=$m
			try_send "$d" "$m"
			failed "$P refuse $d" "$d" "$m"
			expect_eq "$P refuse $d: the stand-in got it, verified" "1 true" \
			    "$(fcount "$m") $(flast "$m" .ok)"
		done
		set_mode ok
		for d in $DIALECTS; do
			m=${RM[$d]}
			try_send "$d" "$m"
			expect_code "$P refuse $d, then ok: same mobile served at once" "$d" 200 OK
			c=$(rcli get "$(skey "$d" "$m")")
			USED+=("$c")
			expect_eq "$P refuse $d, then ok: the stand-in got the stored code" \
			    "2 true \"$c\"" "$(fcount "$m") $(flast "$m" .ok) $(flast "$m" .code)"
		done

		# -- a refusal whose text repeats the mobile and the code, as
		# gateways' error texts do: the log line says why, with neither
		d=${DL[2]}
		set_mode echo
		try_new m "$d"
		failed "$P echo $d" "$d" "$m"
		c=$(flast_r "$m" .code)
		expect_match "$P echo $d: the stand-in got a code to echo" '^[0-9]{6}$' "$c"
		if [ "$prov" = ccp ]; then why="statusCode '160038'"; else why='HTTP 422'; fi
		expect_match "$P echo $d: the log says why" "$why" \
		    "$(grep -a 'refused, rolled back' "$T/vcoded.stderr" | tail -n 1)"
		expect_eq "$P echo $d: neither the mobile nor the code in vcoded's log" "" \
		    "$(grep -aEo "(^|[^0-9])($m|${c:-x})([^0-9]|\$)" "$T/vcoded.stderr")"
		set_mode ok

		# -- slow: past the client's 5 s timeout (one dialect)
		if [ "$prov" = ccp ]; then d=${DL[0]}; else d=${DL[1]}; fi
		set_mode slow
		try_new m "$d"
		# Sent, no answer: the gateway may deliver it, so the limits
		# stand (SMSSENDERR, try again in a minute), nothing is undone,
		# and 9 more requests within the interval reach nobody.
		expect_code "$P slow $d: reply SEND" "$d" 200 SEND
		expect_eq "$P slow $d: code, resend flag and count kept" "1 1 1" \
		    "$(rcli exists "$(skey "$d" "$m")") $(rcli exists "$(fkey "$d" "$m")") $(rcli get "vcode:daily:$m")"
		c=$(flast_r "$m" .code)
		[ -n "$c" ] && USED+=("$c")
		codes=""
		for i in $(seq 9); do
			try_send "$d" "$m"
			codes="$codes $(jv "$(field "$d")")"
		done
		expect_eq "$P slow $d: 9 more within the interval: THROTTLING" \
		    "$(for i in $(seq 9); do printf ' %s' "$(code "$d" THROTTLE)"; done)" "$codes"
		expect_eq "$P slow $d: 10 requests, 1 reached the stand-in" 1 "$(fcount "$m")"
		set_mode ok

		# -- garbage: ccp 200 "not json", webhook 502. Either may come
		# after the gateway acted (a proxy's error after forwarding):
		# delivery unknown, the limits stand.
		if [ "$prov" = ccp ]; then d=${DL[1]}; else d=${DL[2]}; fi
		set_mode garbage
		try_new m "$d"
		kept "$P garbage $d" "$d" "$m"

		# -- the status decides: 500 (ccp's body says success) and 204
		set_mode status500
		try_new m "$d"
		kept "$P HTTP 500 $d" "$d" "$m"
		set_mode status204
		try_new m "$d"
		if [ "$prov" = ccp ]; then
			kept "$P HTTP 204, no JSON (ccp needs 200 + JSON) $d" "$d" "$m"
		else
			sent_ok "$P HTTP 204 (any 2xx) $d" "$prov" "$d" "$m"
		fi
		set_mode ok

		# -- the stand-in down: connection refused
		wait_workers 3
		before=$(workers)
		fake_stop
		try_new m "${DL[0]}"
		failed "$P stand-in down ${DL[0]}" "${DL[0]}" "$m"
		try_send "${DL[1]}" "$m"
		expect_code "$P stand-in down, again ${DL[1]}: reply SEND" "${DL[1]}" 200 SEND
		expect_eq "$P stand-in down: same worker PIDs" "$before" "$(workers)"
		fake_start
		expect_eq "$P stand-in down: nothing reached it" 0 "$(fcount "$m")"
	fi

	# -- a wrong credential (the stand-in on its new port)
	set_mode ok
	penv "$prov" wrong
	if restart "${PENV[@]}"; then
		try_new m "${DL[2]}"
		failed "$P wrong credential ${DL[2]}" "${DL[2]}" "$m"
		expect_eq "$P wrong credential: the stand-in refused it" "1 false" \
		    "$(fcount "$m") $(flast "$m" .ok)"
		expect_match "$P wrong credential: for the signature" \
		    'sig|Signature' "$(flast_r "$m" .reason)"
	fi
done

# -- spawn-fcgi: each process has its own provider state
P="[ccp spawn]"
set_mode ok
penv ccp
if stop_vcoded && start_vcoded spawn "${PENV[@]}"; then
	for d in $DIALECTS; do
		try_new m "$d"
		sent_ok "$P $d" ccp "$d" "$m"
	done
	set_mode refuse
	try_new m meiduo
	failed "$P refuse meiduo" meiduo "$m"
	set_mode ok
fi
stop_vcoded

# -- nothing secret in the logs
LOGS=$(cat "$T/vcoded.stderr" "$T/spawn.out" "$T/nginx-error.log" 2>/dev/null)
logs_clean "vcoded's stderr or nginx's error log" TOKEN TOKEN_BAD WSECRET \
    WSECRET_BAD
# Anything else the stand-in refused is a wire format that does not match
# the provider's: its reasons say what.
fake_refused "the stand-in refused nothing but the wrong credentials" \
    '["ccp: sig is not MD5(sid + token + TS) in uppercase hex","webhook: X-Vcode-Signature is not sha256=HMAC-SHA256(secret, TIMESTAMP.BODY) in lowercase hex"]'

# -- configuration checks (vcoded -t)
P="[config]"
CCP_ENV=(VCODE_SMS_PROVIDER=ccp VCODE_CCP_BASE_URL=http://127.0.0.1:1
    "VCODE_CCP_ACCOUNT_SID=$SID" "VCODE_CCP_AUTH_TOKEN=$TOKEN"
    "VCODE_CCP_APP_ID=$APP" VCODE_CCP_TEMPLATE_ID=7)
WH_ENV=(VCODE_SMS_PROVIDER=webhook VCODE_WEBHOOK_URL=http://127.0.0.1:1/hook
    "VCODE_WEBHOOK_SECRET=$WSECRET")
cfgt "$P ccp, complete" 0 "" "${CCP_ENV[@]}"
if grep -qF -- "$TOKEN" "$T/cfg.out" "$T/cfg.err"; then
	fail "$P ccp: -t does not print ccp_auth_token" "the token masked" "the token printed"
else
	ok "$P ccp: -t does not print ccp_auth_token"
fi
cfgt "$P webhook, complete" 0 "" "${WH_ENV[@]}"
if grep -qF -- "$WSECRET" "$T/cfg.out" "$T/cfg.err"; then
	fail "$P webhook: -t does not print webhook_secret" "the secret masked" "the secret printed"
else
	ok "$P webhook: -t does not print webhook_secret"
fi
# A webhook URL may carry a token in its path or query: -t shows the host.
HOOK_TOKEN=tok$(new_id | tr -d -)
cfgt "$P webhook, token in the URL" 0 "" "${WH_ENV[@]}" \
    "VCODE_WEBHOOK_URL=https://user:pw$HOOK_TOKEN@hooks.example/h/$HOOK_TOKEN?k=$HOOK_TOKEN"
expect_eq "$P webhook: -t does not print the URL's token" no \
    "$(grep -qF -- "$HOOK_TOKEN" "$T/cfg.out" "$T/cfg.err" && echo yes || echo no)"
expect_match "$P webhook: -t shows the URL's scheme and host" \
    '^webhook_url = https://hooks\.example/' "$(grep '^webhook_url' "$T/cfg.out")"
cfgt "$P ccp, empty ccp_account_sid" 1 ccp_account_sid "${CCP_ENV[@]}" VCODE_CCP_ACCOUNT_SID=
cfgt "$P webhook, empty webhook_url" 1 webhook_url "${WH_ENV[@]}" VCODE_WEBHOOK_URL=
cfgt "$P webhook, webhook_url = ftp://x" 1 webhook_url "${WH_ENV[@]}" VCODE_WEBHOOK_URL=ftp://x
it_done
