#!/bin/bash
# The cloud providers aliyun (Alibaba Cloud SMS, SendSms 2017-05-25,
# signature V3) and tencent (Tencent Cloud SMS, SendSms 2021-01-11, TC3)
# (README, "Sending the SMS"), against fake_sms.py, which recomputes each
# signature itself (Python's hmac and hashlib, not vcode's signer) and
# answers as told by its mode file. For each provider, inline: a sent
# message carries the stored code and the minutes in every dialect; each
# class of refusal (a limit, a bad number, no balance, the request refused
# whole, a wrong key) answers SMSSENDERR and rolls back, logged by its
# code and never with the code or the mobile; a timeout, a 5xx, a 204 or
# a reply that is not JSON after the request went out keeps the limits
# (delivery unknown); the stand-in down rolls back. Queued, through
# vcode-smsd: delivered with the stored code; a refusal retried, then
# parked in the dead-letter stream carrying the provider's code; a 5xx
# unknown, not resent. Then CGI mode (libcurl loaded on first use), and
# the start-up checks of the keys (vcoded -t, secrets masked).
. "$(dirname "$0")/lib.sh"
need_vcoded
SMSD_SRC=$(dirname "$VCODED")/vcode-smsd
[ -x "$SMSD_SRC" ] || it_bail "$SMSD_SRC not built (run make)"
it_init
command -v python3 >/dev/null || it_bail "python3 not found (fake_sms.py needs it)"
start_redis
start_nginx
fake_init
fake_start

ALI_SIGN=阿里云短信测试
TC_SIGN=腾讯云
# genv PROVIDER [wrong]: the VCODE_* overrides for PROVIDER at the
# stand-in's current port, into PENV. "wrong": a wrong secret.
genv() {
	local aks=$AKSECRET tck=$TCKEY
	[ "${2:-}" = wrong ] && aks=$AKSECRET_BAD tck=$TCKEY_BAD
	PENV=(VCODE_SMS_DELIVERY=inline "VCODE_SMS_PROVIDER=$1"
	    VCODE_SMS_INTERVAL=60 VCODE_IP_HOURLY_LIMIT=0 VCODE_LOG_LEVEL=debug)
	case $1 in
	aliyun)
		PENV+=("VCODE_ALIYUN_ENDPOINT=http://127.0.0.1:$FP"
		    "VCODE_ALIYUN_ACCESS_KEY_ID=$AKID"
		    "VCODE_ALIYUN_ACCESS_KEY_SECRET=$aks"
		    "VCODE_ALIYUN_SIGN_NAME=$ALI_SIGN"
		    VCODE_ALIYUN_TEMPLATE_CODE=SMS_154950909
		    VCODE_ALIYUN_TEMPLATE_PARAM=code,min
		    VCODE_ALIYUN_REGION=cn-shanghai) ;;
	tencent)
		PENV+=("VCODE_TENCENT_ENDPOINT=http://127.0.0.1:$FP"
		    "VCODE_TENCENT_SECRET_ID=$TCID"
		    "VCODE_TENCENT_SECRET_KEY=$tck"
		    "VCODE_TENCENT_SDK_APP_ID=$TCAPP"
		    "VCODE_TENCENT_SIGN_NAME=$TC_SIGN"
		    VCODE_TENCENT_TEMPLATE_ID=1234567
		    VCODE_TENCENT_REGION=ap-beijing) ;;
	esac
}

# wire PROVIDER MOBILE: the number as the provider is sent it.
wire() { if [ "$1" = tencent ]; then echo "+86$2"; else echo "$2"; fi; }

# The message each provider's stand-in saw: template, sign, region.
declare -A TPL=([aliyun]=SMS_154950909 [tencent]=1234567)
declare -A SIGN=([aliyun]=$ALI_SIGN [tencent]=$TC_SIGN)
declare -A REGION=([aliyun]=cn-shanghai [tencent]=ap-beijing)

USED=()

# sent_ok NAME PROVIDER DIALECT MOBILE: OK, and the stand-in got exactly
# one verified request carrying the code stored in Redis and 5 minutes.
sent_ok() {
	local name=$1 prov=$2 d=$3 m=$4 w c
	w=$(wire "$prov" "$m")
	expect_code "$name: reply OK" "$d" 200 OK
	c=$(rcli get "$(skey "$d" "$m")")
	USED+=("$c")
	expect_match "$name: code stored in Redis" '^[0-9]{6}$' "$c"
	expect_eq "$name: one request reached the stand-in" 1 "$(fcount "$w")"
	expect_eq "$name: the stand-in verified it: the stored code, minutes 5" \
	    "$(jq -cn --arg k "$prov" --arg c "$c" --arg t "${TPL[$prov]}" \
	    --arg s "${SIGN[$prov]}" --arg r "${REGION[$prov]}" \
	    '{kind:$k, ok:true, reason:"", code:$c, minutes:"5", template:$t, sign:$s, region:$r}')" \
	    "$(flast "$w" '{kind, ok, reason, code, minutes, template, sign, region}')"
}

# failed NAME PROVIDER DIALECT MOBILE [WHY]: SMSSENDERR, rolled back; the
# log line of the refusal matches WHY.
failed() {
	local c
	expect_nomatch "$1: vcoded answered" '^curl-error' "$H_STATUS"
	expect_code "$1: reply SEND" "$3" 200 SEND
	rolled_back "$1" "$3" "$4"
	c=$(flast_r "$(wire "$2" "$4")" .code)
	[ -n "$c" ] && USED+=("$c")
	[ -n "${5:-}" ] && expect_match "$1: the log names the provider's code" \
	    "$5" "$(grep -a 'refused, rolled back' "$T/vcoded.stderr" | tail -n 1)"
	return 0
}

# kept NAME PROVIDER DIALECT MOBILE: SMSSENDERR for a delivery whose fate
# is unknown, and nothing undone.
kept() {
	local c
	expect_code "$1: reply SEND" "$3" 200 SEND
	expect_eq "$1: code, resend flag and count kept" "1 1 1" \
	    "$(rcli exists "$(skey "$3" "$4")") $(rcli exists "$(fkey "$3" "$4")") $(rcli get "vcode:daily:$4")"
	expect_match "$1: logged as unknown" 'delivery to .* unknown' \
	    "$(grep -a 'unknown, counted as sent' "$T/vcoded.stderr" | tail -n 1)"
	c=$(flast_r "$(wire "$2" "$4")" .code)
	[ -n "$c" ] && USED+=("$c")
}

# one NAME PROVIDER MODE: a new mobile, one request in MODE on dialect D;
# sets M.
one() {
	set_mode "$3"
	try_new M "$D"
	set_mode ok
}

read -r -a DL <<<"$DIALECTS"
for prov in aliyun tencent; do
	P="[$prov]"
	set_mode ok
	genv "$prov"
	if restart "${PENV[@]}"; then
		for d in $DIALECTS; do
			try_new m "$d"
			sent_ok "$P ok $d" "$prov" "$d" "$m"
		done

		# -- refusals, each class: rolled back, logged by code
		if [ "$prov" = aliyun ]; then
			REFUSALS=("refuse Code 'isv.BUSINESS_LIMIT_CONTROL'"
			    "refuse:isv.MOBILE_NUMBER_ILLEGAL Code 'isv.MOBILE_NUMBER_ILLEGAL'"
			    "refuse:isv.AMOUNT_NOT_ENOUGH Code 'isv.AMOUNT_NOT_ENOUGH'"
			    "error:isv.SMS_TEMPLATE_ILLEGAL HTTP 400, Code 'isv.SMS_TEMPLATE_ILLEGAL'")
		else
			REFUSALS=("refuse SendStatus 'LimitExceeded.PhoneNumberDailyLimit'"
			    "refuse:InvalidParameterValue.IncorrectPhoneNumber SendStatus 'InvalidParameterValue.IncorrectPhoneNumber'"
			    "error:FailedOperation.InsufficientBalanceInSmsPackage Error 'FailedOperation.InsufficientBalanceInSmsPackage'"
			    "error:LimitExceeded.PhoneNumberThirtySecondLimit Error 'LimitExceeded.PhoneNumberThirtySecondLimit'")
		fi
		i=0
		for r in "${REFUSALS[@]}"; do
			D=${DL[$((i % 3))]}
			i=$((i + 1))
			mode=${r%% *}
			one "$P $mode" "$prov" "$mode"
			failed "$P $mode $D" "$prov" "$D" "$M" "${r#* }"
			expect_eq "$P $mode $D: the stand-in got it, verified" "1 true" \
			    "$(fcount "$(wire "$prov" "$M")") $(flast "$(wire "$prov" "$M")" .ok)"
		done
		# The same mobile, refused a moment ago, is served at once.
		try_send "$D" "$M"
		expect_code "$P refused, then ok: same mobile served at once" "$D" 200 OK

		# -- a refusal whose text repeats the mobile and the code
		D=${DL[2]}
		one "$P echo" "$prov" echo
		failed "$P echo $D" "$prov" "$D" "$M" "Code '|SendStatus '"
		c=$(flast_r "$(wire "$prov" "$M")" .code)
		expect_match "$P echo $D: the stand-in got a code to echo" '^[0-9]{6}$' "$c"
		expect_eq "$P echo $D: neither the mobile nor the code in vcoded's log" "" \
		    "$(grep -aEo "(^|[^0-9])($M|${c:-x})([^0-9]|\$)" "$T/vcoded.stderr")"

		# -- after the request went out: unknown, the limits stand
		D=${DL[0]}
		one "$P slow" "$prov" slow
		kept "$P timeout (slow) $D" "$prov" "$D" "$M"
		D=${DL[1]}
		one "$P garbage" "$prov" garbage
		kept "$P 200, not JSON $D" "$prov" "$D" "$M"
		one "$P status500" "$prov" status500
		kept "$P HTTP 500 (the body says OK) $D" "$prov" "$D" "$M"
		one "$P status204" "$prov" status204
		kept "$P HTTP 204, no body $D" "$prov" "$D" "$M"

		# -- the stand-in down: nothing sent, rolled back
		fake_stop
		D=${DL[2]}
		try_new M "$D"
		failed "$P stand-in down $D" "$prov" "$D" "$M" "$prov: .*onnect"
		fake_start
	fi

	# -- a wrong secret (the stand-in on its new port)
	set_mode ok
	genv "$prov" wrong
	if restart "${PENV[@]}"; then
		D=${DL[0]}
		try_new M "$D"
		if [ "$prov" = aliyun ]; then why="Code 'SignatureDoesNotMatch'"; else why="Error 'AuthFailure.SignatureFailure'"; fi
		failed "$P wrong secret $D" "$prov" "$D" "$M" "$why"
		expect_eq "$P wrong secret: the stand-in refused it for the signature" \
		    "1 false Signature is not" \
		    "$(fcount "$(wire "$prov" "$M")") $(flast "$(wire "$prov" "$M")" .ok) $(flast_r "$(wire "$prov" "$M")" .reason | cut -c1-16)"
	fi
done
stop_vcoded

# ---- queued, through vcode-smsd --------------------------------------------
cp "$SMSD_SRC" "$T/vcode-smsd" || it_bail "cannot copy $SMSD_SRC"
SMSD=$T/vcode-smsd
for prov in aliyun tencent; do
	P="[$prov queued]"
	genv "$prov"
	# The provider's keys as lines of the file (vcode-smsd reads it).
	lines=()
	for kv in "${PENV[@]}"; do
		k=${kv%%=*}
		k=${k#VCODE_}
		k=$(echo "$k" | tr 'A-Z' 'a-z')
		case $k in sms_delivery|sms_interval|ip_hourly_limit|log_level) continue ;; esac
		lines+=("$k = ${kv#*=}")
	done
	queue_conf "${lines[@]}"
	restart || continue
	stats_reset
	set_mode ok
	smsd_start "$prov" VCODE_SMS_MAX_TRIES=3
	S=$SPID
	try_new m meiduo
	c=$(rcli get "sms_$m")
	USED+=("$c")
	w=$(wire "$prov" "$m")
	wait_for 10 '[ "$(fcount "$w")" = 1 ]'
	expect_eq "$P sent: the stand-in verified the stored code, minutes 5" \
	    "true $c 5" "$(flast "$w" .ok) $(flast_r "$w" .code) $(flast_r "$w" .minutes)"

	set_mode refuse
	try_new m ihome
	w=$(wire "$prov" "$m")
	wait_for 15 '[ "$(rcli xlen vcode:outbox:dead)" = 1 ]'
	dead=$(xentries vcode:outbox:dead | jq -c '.[0]')
	expect_eq "$P refused 3 times: one dead letter, without the code" \
	    "$(jq -cn --arg m "$m" '{mobile:$m, tries:"3", has_code:false}')" \
	    "$(echo "$dead" | jq -c '{mobile, tries, has_code: has("code")}')"
	if [ "$prov" = aliyun ]; then why="Code 'isv.BUSINESS_LIMIT_CONTROL'"; else why="SendStatus 'LimitExceeded.PhoneNumberDailyLimit'"; fi
	expect_match "$P dead letter: it carries the provider's code" "$why" \
	    "$(echo "$dead" | jq -r .error)"
	expect_eq "$P dead letter: the stand-in was asked 3 times; retried 2, dead 1" \
	    "3 2 1" "$(fcount "$w") $(ostat retried) $(ostat dead)"
	rcli del vcode:outbox:dead >/dev/null

	set_mode status500
	try_new m news
	w=$(wire "$prov" "$m")
	wait_for 10 '[ "$(ostat unknown_final)" = 1 ]'
	expect_eq "$P HTTP 500: unknown, not resent (sms_resend_unknown = 0)" \
	    "1 1 0" "$(fcount "$w") $(ostat unknown_final) $(rcli xlen vcode:outbox:dead)"
	set_mode ok
	smsd_stop "$S"
	expect_eq "$P vcode-smsd stopped cleanly" 0 "$SRC"
	stop_vcoded
done

# ---- CGI mode: libcurl loaded on first use --------------------------------
P="[cgi]"
write_conf "mount = /vcode.cgi" "ip_hourly_limit = 0"
for prov in aliyun tencent; do
	genv "$prov"
	id=$(new_id)
	m=$(new_mobile)
	USED+=("$m")
	cenv=(env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1
	    SERVER_PROTOCOL=HTTP/1.1 REQUEST_METHOD=GET SCRIPT_NAME=/vcode.cgi
	    REMOTE_ADDR=127.0.0.1 VCODE_CONFIG="$CONF" "${PENV[@]}")
	"${cenv[@]}" PATH_INFO="/image_codes/$id/" QUERY_STRING= "$VCODED" \
	    </dev/null >/dev/null 2>>"$T/cgi.err"
	a=$(rcli get "img_$id")
	"${cenv[@]}" PATH_INFO="/sms_codes/$m/" \
	    QUERY_STRING="image_code=$a&uuid=$id" "$VCODED" </dev/null \
	    >"$T/cgi.out" 2>>"$T/cgi.err"
	c=$(rcli get "sms_$m")
	USED+=("$c")
	w=$(wire "$prov" "$m")
	expect_eq "$P $prov: Status 200, the stand-in verified the stored code" \
	    "200 true $c" "$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/cgi.out") $(flast "$w" .ok) $(flast_r "$w" .code)"
done

# ---- nothing secret in the logs --------------------------------------------
LOGS=$(cat "$T/vcoded.stderr" "$T"/smsd-*.log "$T/cgi.err" "$T/nginx-error.log" 2>/dev/null)
logs_clean "any log" AKSECRET AKSECRET_BAD TCKEY TCKEY_BAD
fake_refused "the stand-in refused nothing but the wrong secrets" \
    '["aliyun: Signature is not the ACS3-HMAC-SHA256 of the canonical request","tencent: Signature is not the TC3-HMAC-SHA256 of the canonical request"]'

# ---- start-up checks (vcoded -t) -------------------------------------------
P="[config]"
genv aliyun
ALI=("${PENV[@]}")
genv tencent
TC=("${PENV[@]}")
cfgt "$P aliyun, complete" 0 "" "${ALI[@]}"
expect_eq "$P aliyun: -t masks the secret, shows the rest" \
    "aliyun_access_key_id = $AKID|aliyun_access_key_secret = (set)|no" \
    "$(grep '^aliyun_access_key_id' "$T/cfg.out")|$(grep '^aliyun_access_key_secret' "$T/cfg.out")|$(grep -qF -- "$AKSECRET" "$T/cfg.out" "$T/cfg.err" && echo yes || echo no)"
cfgt "$P tencent, complete" 0 "" "${TC[@]}"
expect_eq "$P tencent: -t masks the key" "tencent_secret_key = (set)|no" \
    "$(grep '^tencent_secret_key' "$T/cfg.out")|$(grep -qF -- "$TCKEY" "$T/cfg.out" "$T/cfg.err" && echo yes || echo no)"
for k in ACCESS_KEY_ID ACCESS_KEY_SECRET SIGN_NAME TEMPLATE_CODE; do
	kl=$(echo "aliyun_$k" | tr 'A-Z' 'a-z')
	cfgt "$P aliyun, empty $kl" 1 "$kl" "${ALI[@]}" "VCODE_ALIYUN_$k="
done
cfgt "$P aliyun, three template names" 1 aliyun_template_param "${ALI[@]}" \
    VCODE_ALIYUN_TEMPLATE_PARAM=code,min,x
cfgt "$P aliyun, an endpoint with a path" 1 aliyun_endpoint "${ALI[@]}" \
    VCODE_ALIYUN_ENDPOINT=https://dysmsapi.aliyuncs.com/x
for k in SECRET_ID SECRET_KEY SDK_APP_ID SIGN_NAME TEMPLATE_ID; do
	kl=$(echo "tencent_$k" | tr 'A-Z' 'a-z')
	cfgt "$P tencent, empty $kl" 1 "$kl" "${TC[@]}" "VCODE_TENCENT_$k="
done
cfgt "$P tencent, no country_code" 1 country_code "${TC[@]}" VCODE_COUNTRY_CODE=
cfgt "$P tencent, endpoint ftp://x" 1 tencent_endpoint "${TC[@]}" \
    VCODE_TENCENT_ENDPOINT=ftp://x
it_done
