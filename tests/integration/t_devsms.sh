#!/bin/bash
# The development provider never writes into the service's log (README,
# "Sending the SMS"): with no sms_log_file the messages go nowhere and start-up says so;
# "stderr", the service's own stderr file and a symbolic link are refused;
# a new sink file is created 0600.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

P="[devsms]"
# The configuration without sms_log_file at all.
grep -v '^sms_log_file' "$CONF" >"$T/nosink.conf"
chmod 644 "$T/nosink.conf"
CONF_SAVED=$CONF
CONF=$T/nosink.conf
if start_vcoded prefork VCODE_SMS_INTERVAL=0; then
	for d in $DIALECTS; do
		m=$(new_mobile)
		send_ok "$d" "$m"
		expect_code "$P $d: no sink, the SMS request is still OK" "$d" 200 OK
		code=$(rcli get "$(skey "$d" "$m")")
		expect_match "$P $d: the code is in Redis" '^[0-9]{6}$' "$code"
		expect_eq "$P $d: the service log has no code" no \
		    "$(grep -qF "code=$code" "$T/vcoded.stderr" && echo yes || echo no)"
		expect_eq "$P $d: the service log has no full mobile" no \
		    "$(grep -qF "$m" "$T/vcoded.stderr" && echo yes || echo no)"
	done
	expect_match "$P start-up says no SMS is sent" 'sms_provider = log: no SMS is sent' \
	    "$(cat "$T/vcoded.stderr")"
	expect_eq "$P the test's SMS log stayed empty" 0 "$(wc -c <"$SMS_LOG")"
	stop_vcoded
fi
CONF=$CONF_SAVED

# check_refused NAME WANT [VAR=VALUE...]: vcoded -t exits 1 and says WANT.
check_refused() {
	local name=$1 want=$2 out rc
	shift 2
	out=$(env "$@" timeout 10 "$VCODED" -t -c "$CONF" 2>&1 >/dev/null)
	rc=$?
	expect_eq "$P $name: -t exits 1" 1 "$rc"
	expect_match "$P $name: says why" "$want" "$out"
}
check_refused "sms_log_file = stderr" "sms_log_file.*stderr is the service's log" \
    VCODE_SMS_LOG_FILE=stderr
ln -s "$T/elsewhere.log" "$T/link.log"
check_refused "sms_log_file a symbolic link" "sms_log_file.*link.log" \
    "VCODE_SMS_LOG_FILE=$T/link.log"
expect_eq "$P ... nothing created through the link" no \
    "$([ -e "$T/elsewhere.log" ] && echo yes || echo no)"
out=$(VCODE_SMS_LOG_FILE="$T/service.log" timeout 10 "$VCODED" -t -c "$CONF" \
    2>>"$T/service.log" >/dev/null)
expect_eq "$P sms_log_file is the service's stderr: -t exits 1" 1 "$?"
expect_match "$P ... and says so" "is the service's log" "$(cat "$T/service.log")"
VCODE_SMS_LOG_FILE="$T/new-sms.log" timeout 10 "$VCODED" -t -c "$CONF" >/dev/null 2>&1
expect_eq "$P a new sink file is created 0600" 600 "$(stat -c %a "$T/new-sms.log" 2>/dev/null)"
it_done
