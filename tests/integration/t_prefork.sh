#!/bin/bash
# vcoded's own process management: -h, -t (configuration errors name file,
# line and key), environment over file, the socket's mode and owner,
# privilege drop, respawn of killed workers, SIGHUP reload, SIGTERM and
# SIGINT (exit 0, socket removed, workers gone), -d; and vcode-smsd's -d
# and -p, which go through the same steps.
. "$(dirname "$0")/lib.sh"
SMSD_SRC=$(dirname "$VCODED")/vcode-smsd
need_vcoded
[ -x "$SMSD_SRC" ] || it_bail "$SMSD_SRC not built (run make)"
it_init
cp "$SMSD_SRC" "$T/vcode-smsd" || it_bail "cannot copy $SMSD_SRC"
SMSD=$T/vcode-smsd
start_redis
start_nginx
ROOTUSER=no
[ "$(id -u)" = 0 ] && ROOTUSER=yes

# run_vc ARGS...: runs vcoded in the foreground (10 s at most); sets V_RC
# and V_OUT (stdout + stderr).
run_vc() {
	V_OUT=$(timeout 10 "$VCODED" "$@" 2>&1 </dev/null)
	V_RC=$?
}

P="[cli]"
run_vc -h
expect_eq "$P -h: exit 0" 0 "$V_RC"
expect_match "$P -h: mentions -c" '-c' "$V_OUT"
run_vc -t -c "$CONF"
expect_eq "$P -t on a good file: exit 0" 0 "$V_RC"

bad=$T/bad1.conf
printf '# comment\nworkers = 2\nno_such_key = 1\n' >"$bad"
run_vc -t -c "$bad"
expect_eq "$P -t unknown key: non-zero" yes "$([ "$V_RC" -ne 0 ] && echo yes || echo "no ($V_RC)")"
expect_match "$P -t unknown key: names the file" "$bad" "$V_OUT"
expect_match "$P -t unknown key: names line 3" '(line |:)3([^0-9]|$)' "$V_OUT"
expect_match "$P -t unknown key: names the key" no_such_key "$V_OUT"
bad=$T/bad2.conf
printf 'redis = unix:%s\nworkers = lots\n' "$REDIS_SOCK" >"$bad"
run_vc -t -c "$bad"
expect_eq "$P -t bad value: non-zero" yes "$([ "$V_RC" -ne 0 ] && echo yes || echo "no ($V_RC)")"
expect_match "$P -t bad value: names the file" "$bad" "$V_OUT"
expect_match "$P -t bad value: names line 2" '(line |:)2([^0-9]|$)' "$V_OUT"
expect_match "$P -t bad value: names the key" workers "$V_OUT"
for kv in 'workers = 0' 'workers = -1' 'captcha_ttl = 1x' 'lang = fr' 'redis = http://x' \
    'sms_code_storage = maybe' 'mobile_pattern = ([' 'sms_interval = 99999999999999999999'; do
	printf '%s\n' "$kv" >"$bad"
	run_vc -t -c "$bad"
	expect_eq "$P -t refuses '$kv'" yes "$([ "$V_RC" -ne 0 ] && echo yes || echo "no ($V_RC)")"
done
printf 'workers 3\n' >"$bad"
run_vc -t -c "$bad"
expect_eq "$P -t refuses a line without '='" yes "$([ "$V_RC" -ne 0 ] && echo yes || echo "no ($V_RC)")"
V_OUT=$(VCODE_WORKERS=many timeout 10 "$VCODED" -t -c "$CONF" 2>&1 </dev/null)
V_RC=$?
expect_eq "$P -t bad env override: non-zero" yes "$([ "$V_RC" -ne 0 ] && echo yes || echo "no ($V_RC)")"
expect_match "$P -t bad env override: names it" '(VCODE_WORKERS|workers)' "$V_OUT"
run_vc -t -c "$T/missing.conf"
expect_eq "$P -t missing file: non-zero" yes "$([ "$V_RC" -ne 0 ] && echo yes || echo "no ($V_RC)")"
V_OUT=$(VCODE_CONFIG="$CONF" timeout 10 "$VCODED" -t 2>&1 </dev/null)
expect_eq "$P -t with VCODE_CONFIG: exit 0" 0 "$?"

# stop_checks SIG: sends SIG to the master and checks that it exits 0,
# removes its socket and leaves no worker behind.
stop_checks() {
	local w0 rc left="" p
	w0=$(workers)
	kill -"$1" "$VC_MASTER"
	if wait_gone 10 "$VC_MASTER"; then
		wait "$VC_MASTER"
		rc=$?
	else
		rc="still running after 10 s"
	fi
	expect_eq "$P SIG$1: master exits 0" 0 "$rc"
	expect_eq "$P SIG$1: socket removed" no "$([ -e "$VC_SOCK" ] && echo yes || echo no)"
	for p in $w0; do alive "$p" && left="$left $p"; done
	expect_eq "$P SIG$1: no worker left" "" "$left"
	VC_MASTER=""
	MODE=none
}

P="[prefork]"
write_conf "workers = 2"
if start_vcoded prefork VCODE_WORKERS=3 VCODE_IP_HOURLY_LIMIT=0; then
	wait_workers 3
	expect_eq "$P VCODE_WORKERS=3 over workers = 2 in the file" 3 "$(nworkers)"
	if [ $ROOTUSER = yes ]; then
		expect_eq "$P socket mode 660, owner www-data:www-data" "660 www-data:www-data" \
		    "$(stat -c '%a %U:%G' "$VC_SOCK")"
		u=""
		for p in $(workers); do u="$u $(ps -o user= -p "$p")"; done
		expect_eq "$P workers run as www-data" " www-data www-data www-data" "$u"
	else
		expect_eq "$P socket mode 660" 660 "$(stat -c '%a' "$VC_SOCK")"
	fi
	send_ok meiduo "$(new_mobile)"
	expect_code "$P serves a full flow" meiduo 200 OK

	w0=$(workers)
	victim=${w0%% *}
	kill -KILL "$victim"
	wait_workers 3
	w1=$(workers)
	expect_eq "$P kill -9 one worker: back to 3" 3 "$(nworkers)"
	expect_eq "$P the killed PID is gone" no "$(echo " $w1 " | grep -q " $victim " && echo yes || echo no)"
	expect_eq "$P master still alive" yes "$(alive "$VC_MASTER" && echo yes || echo no)"
	codes=""
	for i in $(seq 1 9); do http GET /healthz; codes="$codes$H_STATUS "; done
	expect_eq "$P 9 requests after the respawn all 200" "$(printf '200 %.0s' $(seq 1 9))" "$codes"

	for p in $(workers); do kill -KILL "$p"; done
	wait_workers 3
	expect_eq "$P kill -9 every worker: back to 3" 3 "$(nworkers)"
	expect_eq "$P none of them is an old PID" "" \
	    "$(for p in $(workers); do echo " $w1 " | grep -q " $p " && echo "$p"; done)"
	send_ok ihome "$(new_mobile)"
	expect_code "$P serves after a full respawn" ihome 200 OK

	# SIGHUP re-reads the file: lang = en shows in errmsg
	write_conf "workers = 2" "lang = en"
	kill -HUP "$VC_MASTER"
	n=100 en=no
	while [ $n -gt 0 ]; do
		sms meiduo "$(new_mobile)" abcd "$(new_id)"
		if [[ $(jv .errmsg) =~ ^\"[\ -~]+\"$ ]]; then en=yes; break; fi
		sleep 0.05
		n=$((n - 1))
	done
	expect_eq "$P SIGHUP reload: errmsg English within 5 s" yes "$en"
	expect_eq "$P SIGHUP: master kept" yes "$(alive "$VC_MASTER" && echo yes || echo no)"
	wait_workers 3
	expect_eq "$P SIGHUP: 3 workers (env still wins)" 3 "$(nworkers)"
	write_conf "workers = 2"

	stop_checks TERM
fi

P="[prefork SIGINT]"
if start_vcoded prefork VCODE_WORKERS=2; then
	wait_workers 2
	stop_checks INT
fi

P="[drain]"
# A request in flight when SIGTERM arrives is answered, not cut off: Redis
# is stopped so the request waits out redis_timeout_ms (1.5 s).
if start_vcoded prefork VCODE_WORKERS=2 VCODE_REDIS_TIMEOUT_MS=1500; then
	wait_workers 2
	w0=$(workers)
	kill -STOP "$REDIS_PID"
	curl -s --max-time 10 -o "$T/drain.body" -w '%{http_code} %{time_total}' \
	    "$BASE/image_codes/$(new_id)/" >"$T/drain.status" 2>/dev/null &
	cpid=$!
	sleep 0.3
	kill -TERM "$VC_MASTER"
	wait "$cpid"
	kill -CONT "$REDIS_PID"
	read -r H_STATUS secs <"$T/drain.status"
	ms=$(awk -v s="${secs:-0}" 'BEGIN { printf "%d", s * 1000 }')
	expect_range "$P the request was in flight at SIGTERM (ms)" 300 10000 "$ms"
	H_BODY=$(cat "$T/drain.body")
	expect_reply "$P request in flight at SIGTERM: answered 503 DBERR" 503 .code 5000
	if wait_gone 10 "$VC_MASTER"; then
		wait "$VC_MASTER"
		rc=$?
	else
		rc="still running after 10 s"
	fi
	expect_eq "$P then the master exits 0" 0 "$rc"
	left=""
	for p in $w0; do alive "$p" && left="$left $p"; done
	expect_eq "$P no worker left" "" "$left"
	VC_MASTER=""
	MODE=none
fi

P="[daemon]"
rm -f "$VC_SOCK"
timeout 10 "$VCODED" -d -p "$T/vcoded.pid" -c "$CONF" >"$T/daemon.out" 2>&1 </dev/null
rc=$?
expect_eq "$P -d returns 0" 0 "$rc"
n=100
while [ $n -gt 0 ] && ! [ -S "$VC_SOCK" ]; do sleep 0.05; n=$((n - 1)); done
# every process holding the socket is ours: record them for the clean-up
pids=$(ss -xlpn 2>/dev/null | grep -F "$VC_SOCK" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -un)
for p in $pids; do track "$p"; done
master=""
for p in $pids; do
	pp=$(ps -o ppid= -p "$p" | tr -d ' ')
	echo " $pids " | tr '\n' ' ' | grep -q " $pp " || master=$p
done
expect_match "$P a detached master holds the socket" '^[0-9]+$' "$master"
expect_eq "$P -p pidfile names the master" "$master" "$(tr -d ' \n' <"$T/vcoded.pid" 2>/dev/null)"
if [ -n "$master" ]; then
	expect_eq "$P master is not our child" no \
	    "$([ "$(ps -o ppid= -p "$master" | tr -d ' ')" = $$ ] && echo yes || echo no)"
	http GET /healthz
	expect_eq "$P serves through nginx" 200 "$H_STATUS"
	kill -TERM "$master"
	if wait_gone 10 $pids; then ok "$P SIGTERM stops master and workers"
	else fail "$P SIGTERM stops master and workers" "all gone" "alive: $(for p in $pids; do alive "$p" && echo -n "$p "; done)"; fi
	expect_eq "$P socket removed" no "$([ -e "$VC_SOCK" ] && echo yes || echo no)"
fi
# Workers that die at start-up (here: a user that does not exist, which
# only a worker started as root finds out) are respawned at a pace of one
# round a second (RESPAWN_BACKOFF_SEC), not in a storm.
if [ "$ROOTUSER" = yes ]; then
	rm -f "$VC_SOCK"
	VCODE_USER=nosuchuser VCODE_WORKERS=2 timeout 3 "$VCODED" -c "$CONF" \
	    >"$T/storm.out" 2>&1 </dev/null
	deaths=$(grep -c 'died' "$T/storm.out")
	expect_range "$P 2 workers dying at start for 3 s: respawned, paced" 2 12 "$deaths"
	expect_match "$P ... and the log says why" 'user nosuchuser or group .* does not exist' \
	    "$(cat "$T/storm.out")"
fi
# -d returns only once the pidfile is written: an unwritable one is exit 1.
rm -f "$VC_SOCK"
timeout 10 "$VCODED" -d -p "$T/no/such/dir/vcoded.pid" -c "$CONF" \
    >"$T/daemon2.out" 2>&1 </dev/null
expect_eq "$P -d with an unwritable pidfile: exit 1" 1 "$?"
pids=$(ss -xlpn 2>/dev/null | grep -F "$VC_SOCK" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -un)
for p in $pids; do track "$p"; done
expect_eq "$P ... and no master left holding the socket" "" "$pids"
expect_eq "$P ... and no socket file left behind" no "$([ -e "$VC_SOCK" ] && echo yes || echo no)"
timeout 10 "$VCODED" -p "$T/no/such/dir/vcoded.pid" -c "$CONF" \
    >"$T/fg2.out" 2>&1 </dev/null
expect_eq "$P unwritable pidfile in the foreground: exit 1" 1 "$?"
expect_eq "$P ... and no socket file left behind" no "$([ -e "$VC_SOCK" ] && echo yes || echo no)"
expect_match "$P ... and the log names the pidfile" "pidfile $T/no/such/dir/vcoded.pid" \
    "$(cat "$T/fg2.out")"

P="[vcode-smsd -d]"
# smsd_pids: the vcode-smsd processes of this test.
smsd_pids() { ps -eo pid=,args= | awk -v b="$SMSD" '$2 == b { print $1 }'; }
# The sender gives up root before it stops: as /run/vcode would be, the
# pidfile's folder is its user's, so that it can remove the file.
mkdir -p "$T/run"
[ $ROOTUSER = yes ] && chown www-data:www-data "$T/run"
timeout 10 "$SMSD" -d -p "$T/run/smsd.pid" -c "$CONF" >"$T/smsd-d.out" 2>&1 </dev/null
expect_eq "$P returns 0" 0 "$?"
for p in $(smsd_pids); do track "$p"; done
spid=$(tr -d ' \n' <"$T/run/smsd.pid" 2>/dev/null)
expect_eq "$P -p pidfile names the one sender" "$(smsd_pids | tr -d ' \n')" "$spid"
if [ -n "$spid" ] && alive "$spid"; then
	expect_eq "$P the sender is not our child" no \
	    "$([ "$(ps -o ppid= -p "$spid" | tr -d ' ')" = $$ ] && echo yes || echo no)"
	wait_for 5 'grep -q "sending from" "$T/smsd-d.out"'
	expect_match "$P it logs to the stderr it was given" 'sending from' "$(cat "$T/smsd-d.out")"
	kill -TERM "$spid"
	if wait_gone 10 "$spid"; then ok "$P SIGTERM stops it"
	else fail "$P SIGTERM stops it" "gone" "alive"; fi
	expect_eq "$P pidfile removed" no "$([ -e "$T/run/smsd.pid" ] && echo yes || echo no)"
fi
timeout 10 "$SMSD" -d -p "$T/no/such/dir/smsd.pid" -c "$CONF" >"$T/smsd-d2.out" 2>&1 </dev/null
expect_eq "$P with an unwritable pidfile: exit 1" 1 "$?"
left=$(smsd_pids)
for p in $left; do track "$p"; done
expect_eq "$P ... and no sender left" "" "$left"
timeout 10 "$SMSD" -p "$T/no/such/dir/smsd.pid" -c "$CONF" >"$T/smsd-fg.out" 2>&1 </dev/null
expect_eq "$P unwritable pidfile in the foreground: exit 1" 1 "$?"
expect_match "$P ... and the log names the pidfile" "pidfile $T/no/such/dir/smsd.pid" \
    "$(cat "$T/smsd-fg.out")"
it_done
