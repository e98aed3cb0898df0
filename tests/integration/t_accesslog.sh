#!/bin/bash
# The request log (access_log, log_format): one line per request with
# route pattern, dialect, status, outcome word, duration, masked mobile,
# client (after a trusted proxy) and pid; JSON lines that parse; four
# workers under concurrent load writing whole lines only; SIGUSR1 after a
# rotation moving the lines to a fresh file, none lost; syslog; a file
# that cannot be opened refused at start-up naming the key; and no code,
# captcha answer or full mobile in any log the test wrote.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx
command -v python3 >/dev/null || it_bail "python3 not found"

P="[accesslog]"
AL=$T/vcode-access.log
ANSWERS=$T/answers

# lines FILE...: how many lines, together.
lines() { cat "$@" 2>/dev/null | wc -l; }

# after N: waits (2 s at most) until $AL has more than N lines, then sets
# LINE to line N + 1 and NEW to how many came after N.
after() {
	wait_for 2 "[ \$(lines \"\$AL\") -gt $1 ]"
	sleep 0.1
	NEW=$(($(lines "$AL") - $1))
	LINE=$(sed -n "$(($1 + 1))p" "$AL")
}

# field NAME: NAME's value in the text line $LINE.
fieldv() { printf '%s\n' "$LINE" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# parse_all FILE...: "N/M" lines that parse as JSON objects with every key.
parse_all() {
	cat "$@" | python3 -c '
import json, sys
keys = {"time", "route", "dialect", "status", "outcome", "ms", "mobile",
    "client", "pid"}
n = good = 0
for line in sys.stdin:
    n += 1
    try:
        o = json.loads(line)
        if isinstance(o, dict) and set(o) == keys:
            good += 1
    except ValueError:
        pass
print("%d/%d" % (good, n))'
}

# ---- text ------------------------------------------------------------------
if start_vcoded prefork VCODE_WORKERS=4 "VCODE_ACCESS_LOG=$AL" \
    VCODE_TRUSTED_PROXIES=127.0.0.1; then
	expect_eq "$P the master made the file, mode 0640" 640 \
	    "$(stat -c %a "$AL" 2>/dev/null)"
	[ "$(id -u)" = 0 ] && expect_eq "$P ... given to the service user (root starts it)" \
	    www-data "$(stat -c %U "$AL" 2>/dev/null)"
	n=$(lines "$AL")
	id=$(new_id)
	captcha meiduo "$id"
	echo "$ANSWER" >>"$ANSWERS"
	after "$n"
	expect_eq "$P captcha: one line" 1 "$NEW"
	expect_match "$P captcha: time, ISO 8601 UTC with milliseconds" \
	    '^time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z ' "$LINE"
	expect_eq "$P captcha: route dialect status outcome mobile client" \
	    "/image_codes/* meiduo 200 captcha - 127.0.0.1" \
	    "$(fieldv route) $(fieldv dialect) $(fieldv status) $(fieldv outcome) $(fieldv mobile) $(fieldv client)"
	expect_match "$P captcha: ms with 3 decimals" '^[0-9]+\.[0-9]{3}$' "$(fieldv ms)"
	expect_match "$P captcha: pid is a worker's" " $(fieldv pid)( |\$)" " $(workers) "
	expect_eq "$P captcha: the id is not logged" no \
	    "$(grep -qF "$id" "$AL" && echo yes || echo no)"

	m=$(new_mobile)
	n=$(lines "$AL")
	sms meiduo "$m" "$ANSWER" "$id"
	expect_code "$P sms: sent" meiduo 200 OK
	after "$n"
	expect_eq "$P sms: one line: route dialect status outcome mobile" \
	    "/sms_codes/* meiduo 200 sent ${m:0:3}****${m:7:4}" \
	    "$(fieldv route) $(fieldv dialect) $(fieldv status) $(fieldv outcome) $(fieldv mobile)"

	# Refused: the same mobile again within sms_interval.
	id=$(new_id)
	captcha ihome "$id"
	echo "$ANSWER" >>"$ANSWERS"
	n=$(lines "$AL")
	sms ihome "$m" "$ANSWER" "$id"
	after "$n"
	expect_eq "$P refusal: one line: route dialect status outcome mobile" \
	    "/sms_code ihome 200 interval ${m:0:3}****${m:7:4}" \
	    "$(fieldv route) $(fieldv dialect) $(fieldv status) $(fieldv outcome) $(fieldv mobile)"

	n=$(lines "$AL")
	http GET '/no/such/route?mobile=13912345678&image_code=SECRET'
	expect_eq "$P 404 answered" 404 "$H_STATUS"
	after "$n"
	expect_eq "$P 404: one line: route dialect status outcome mobile" \
	    "- - 404 not_found -" \
	    "$(fieldv route) $(fieldv dialect) $(fieldv status) $(fieldv outcome) $(fieldv mobile)"
	expect_eq "$P 404: nothing of the query string" no \
	    "$(grep -qE 'SECRET|13912345678' "$AL" && echo yes || echo no)"

	n=$(lines "$AL")
	http GET /healthz -H 'X-Forwarded-For: 203.0.113.9'
	after "$n"
	expect_eq "$P through a trusted proxy: the client is X-Forwarded-For's" \
	    "/healthz - 200 ok 203.0.113.9" \
	    "$(fieldv route) $(fieldv dialect) $(fieldv status) $(fieldv outcome) $(fieldv client)"
	n=$(lines "$AL")
	http GET /healthz -H 'X-Forwarded-For: evil value "quoted"\x01'
	after "$n"
	expect_eq "$P an odd X-Forwarded-For: still one line of 9 fields" "1 9" \
	    "$NEW $(printf '%s\n' "$LINE" | wc -w)"

	# Every field is key=value, no value has a space: 9 words a line.
	expect_eq "$P every line: 9 key=value words" "" \
	    "$(awk 'NF != 9 || $0 !~ /^time=[^ ]+ route=[^ ]+ dialect=[^ ]+ status=[0-9]+ outcome=[^ ]+ ms=[0-9.]+ mobile=[^ ]+ client=[^ ]+ pid=[0-9]+$/' "$AL")"
	stop_vcoded
fi

# ---- json, concurrency, rotation -------------------------------------------
rm -f "$AL"
if start_vcoded prefork VCODE_WORKERS=4 "VCODE_ACCESS_LOG=$AL" \
    VCODE_LOG_FORMAT=json VCODE_SMS_INTERVAL=0; then
	n=$(lines "$AL")
	m=$(new_mobile)
	send_ok news "$m"
	echo "$ANSWER" >>"$ANSWERS"
	after "$n"
	expect_eq "$P json: the two lines parse, every key" 2/2 \
	    "$(tail -n 2 "$AL" | parse_all)"
	expect_eq "$P json: the SMS line's values" \
	    "[\"/passport/sms_code\", \"news\", 200, \"sent\", \"${m:0:3}****${m:7:4}\", \"127.0.0.1\"]" \
	    "$(tail -n 1 "$AL" | python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); print(json.dumps([o["route"], o["dialect"], o["status"], o["outcome"], o["mobile"], o["client"]]))')"
	expect_eq "$P json: ms is a number, pid an integer" "float int" \
	    "$(tail -n 1 "$AL" | python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); print(type(o["ms"]).__name__, type(o["pid"]).__name__)')"

	# Four workers, 16 clients at once: every line whole.
	n=$(lines "$AL")
	for i in $(seq 400); do
		case $((i % 4)) in
		0) echo "$BASE/healthz" ;;
		1) echo "$BASE/image_codes/conc$(printf %05d "$i")/" ;;
		2) echo "$BASE/no/such/route/$i" ;;
		3) echo "$BASE/image_code?uuid=conc-ihome-$(printf %05d "$i")" ;;
		esac
	done >"$T/urls"
	xargs -P 16 -n 1 curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' \
	    <"$T/urls" >"$T/codes" 2>/dev/null
	expect_eq "$P 400 concurrent requests answered" 400 "$(grep -cE '^(200|404)$' "$T/codes")"
	wait_for 3 "[ \$(lines \"\$AL\") -ge $((n + 400)) ]"
	expect_eq "$P ... 400 lines" 400 "$(($(lines "$AL") - n))"
	expect_eq "$P ... every line whole and parsing" "$(lines "$AL")/$(lines "$AL")" \
	    "$(parse_all "$AL")"
	expect_range "$P ... written by several workers" 2 4 \
	    "$(tail -n 400 "$AL" | python3 -c 'import json,sys; print(len({json.loads(l)["pid"] for l in sys.stdin}))')"

	# Rotation under load: mv, SIGUSR1, and no line lost.
	n=$(lines "$AL")
	for i in $(seq 600); do echo "$BASE/healthz"; done >"$T/urls"
	xargs -P 8 -n 1 curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' \
	    <"$T/urls" >"$T/codes" 2>/dev/null &
	load=$!
	sleep 0.3
	mv "$AL" "$AL.1"
	kill -USR1 "$VC_MASTER"
	wait "$load"
	expect_eq "$P rotation: 600 requests under load answered" 600 "$(grep -c '^200$' "$T/codes")"
	wait_for 3 "[ \$(lines \"\$AL\" \"\$AL.1\") -ge $((n + 600)) ]"
	it_note "rotation: $(lines "$AL.1") lines in the moved file, $(lines "$AL") in the fresh one"
	expect_eq "$P rotation: a fresh file was made" yes "$([ -f "$AL" ] && echo yes || echo no)"
	expect_eq "$P rotation: no line lost across both files" $((n + 600)) "$(lines "$AL" "$AL.1")"
	expect_eq "$P rotation: every line of both parses" \
	    "$(lines "$AL" "$AL.1")/$(lines "$AL" "$AL.1")" "$(parse_all "$AL.1" "$AL")"
	w0=$(lines "$AL.1")
	for i in 1 2 3 4 5 6 7 8; do http GET /healthz; done
	sleep 0.2
	expect_eq "$P rotation: later requests go to the fresh file only" "$w0 8+" \
	    "$(lines "$AL.1") $([ "$(lines "$AL")" -ge 8 ] && echo 8+ || lines "$AL")"
	expect_eq "$P rotation: the workers still serve (none died of SIGUSR1)" 4 "$(nworkers)"
	expect_match "$P rotation: the master says so" 'request log reopened' \
	    "$(cat "$T/vcoded.stderr")"
	stop_vcoded
fi

# ---- logrotate, with the shipped configuration ------------------------------------
if ! command -v logrotate >/dev/null; then
	it_note "logrotate not installed: deploy/logrotate/vcode not run (apt-get install logrotate)"
elif mkdir -p "$T/lr" && start_vcoded prefork VCODE_WORKERS=2 \
    "VCODE_ACCESS_LOG=$T/lr/access.log"; then
	sed -e "s|/var/log/vcode|$T/lr|g" -e "s|/run/vcode/vcoded.pid|$T/lr.pid|g" \
	    "$ROOT/deploy/logrotate/vcode" >"$T/logrotate.conf"
	echo "$VC_MASTER" >"$T/lr.pid"
	n=$(lines "$T/lr/access.log")
	for i in $(seq 10); do http GET /healthz; done
	wait_for 2 "[ \$(lines \"\$T/lr/access.log\") -ge $((n + 10)) ]"
	logrotate -f -s "$T/logrotate.state" "$T/logrotate.conf" >"$T/logrotate.out" 2>&1
	expect_eq "$P logrotate with deploy/logrotate/vcode: exit 0" 0 "$?"
	for i in $(seq 10); do http GET /healthz; done
	wait_for 2 "[ \$(lines \"\$T/lr/access.log\" \"\$T/lr/access.log.1\") -ge $((n + 20)) ]"
	expect_eq "$P ... the lines before rotated, the 10 after in the new file" "$((n + 10)) 10" \
	    "$(lines "$T/lr/access.log.1") $(lines "$T/lr/access.log")"
	stop_vcoded
fi

# ---- syslog ------------------------------------------------------------------
if start_vcoded prefork VCODE_WORKERS=2 VCODE_ACCESS_LOG=syslog; then
	http GET /healthz
	expect_eq "$P syslog: requests still served" 200 "$H_STATUS"
	if [ -S /dev/log ]; then
		it_note "syslog: /dev/log exists; where the lines go is the daemon's to say"
	else
		it_note "syslog: no syslog daemon here (no /dev/log): only checked that serving goes on"
	fi
	expect_eq "$P syslog: the workers live" 2 "$(nworkers)"
	stop_vcoded
fi

# ---- refused at start-up ---------------------------------------------------------
out=$(VCODE_ACCESS_LOG=$T/no/such/dir/access.log timeout 10 "$VCODED" -t -c "$CONF" 2>&1)
expect_eq "$P -t: a file that cannot be opened: exit 1" 1 "$?"
expect_match "$P -t: ... names the key" "access_log.*no/such/dir" "$out"
ln -s "$T/elsewhere.log" "$T/link.log"
out=$(VCODE_ACCESS_LOG=$T/link.log timeout 10 "$VCODED" -t -c "$CONF" 2>&1)
expect_match "$P -t: a symbolic link is refused" "access_log.*symbolic link" "$out"
out=$(VCODE_ACCESS_LOG=relative.log timeout 10 "$VCODED" -t -c "$CONF" 2>&1)
expect_match "$P -t: a relative path is refused" "access_log.*full path" "$out"
out=$(VCODE_ACCESS_LOG=$SMS_LOG timeout 10 "$VCODED" -t -c "$CONF" 2>&1)
expect_match "$P -t: the SMS log's file is refused" "access_log.*sms_log_file" "$out"
VCODE_ACCESS_LOG=$T/no/such/dir/access.log timeout 10 "$VCODED" -c "$CONF" \
    >"$T/refused.out" 2>&1 </dev/null
rc=$?
expect_eq "$P prefork start: exit 1, naming the key" "1 yes" \
    "$rc $(grep -q "access_log.*no/such/dir" "$T/refused.out" && echo yes || echo no)"

# ---- secrets ---------------------------------------------------------------------
# The captcha answers this file typed, and its codes (it_done checks those
# too, and the full mobiles, in every file's logs).
bad=""
for a in $(sort -u "$ANSWERS"); do
	[ -n "$a" ] && grep -qw -- "$a" "$AL" "$AL.1" "$T/vcoded.stderr" 2>/dev/null &&
	    bad="$bad $a"
done
expect_eq "$P no captcha answer in the request logs or vcoded's log" "" "${bad# }"
# The check itself: a planted code is found.
out=$(T=$T/plant; mkdir -p "$T"; SMS_LOG=$T/sms.log FLOG=""
	echo "[vcode dev sms] mobile=13700001111 code=482913 minutes=5" >"$SMS_LOG"
	echo "2026-01-01T00:00:00Z vcoded[42] info: sent 482913" >"$T/vcoded.stderr"
	it_secrets)
expect_match "$P the suite's secrets check finds a planted code" \
    'FAIL - .*vcoded.stderr has 482913' "$out"
rm -rf "$T/plant"
it_done
