#!/bin/bash
# deploy/spawn-fcgi.sh, as documented: start (spawn-fcgi -s -M 0660 -U -G
# -F -P), serve through nginx (a whole captcha -> SMS -> verify round),
# status, a second start refused, stop by the pidfile (every process gone,
# the socket removed), status after the stop.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx
S=$ROOT/deploy/spawn-fcgi.sh
PF=$T/spawn-sh.pid
export VCODED VCODE_CONF=$CONF SOCKET=$VC_SOCK PIDFILE=$PF CHILDREN=3

out=$(sh "$S" start 2>&1)
expect_eq "start: exit 0" 0 "$?"
for p in $(cat "$PF" 2>/dev/null); do track "$p"; done
expect_eq "start: the pidfile names 3 live processes" 3 \
    "$(n=0; for p in $(cat "$PF"); do alive "$p" && n=$((n + 1)); done; echo $n)"
expect_eq "start: the socket is mode 0660" 660 "$(stat -c %a "$VC_SOCK")"
if [ "$(id -u)" = 0 ]; then
	expect_eq "start as root: socket and processes belong to www-data" "www-data www-data" \
	    "$(stat -c %U "$VC_SOCK") $(ps -o user= -p "$(head -n 1 "$PF")" | tr -d ' ')"
fi
http GET /healthz
expect_eq "serves: /healthz through nginx" 200 "$H_STATUS"
m=$(new_mobile)
send_ok meiduo "$m"
expect_code "serves: captcha then SMS" meiduo 200 OK
verify "$m" "$(rcli get "sms_$m")"
expect_code "serves: the code verifies" meiduo 200 OK
expect_match "status: running" '^running: [0-9]+ [0-9]+ [0-9]+' "$(sh "$S" status)"
out=$(sh "$S" start 2>&1)
expect_eq "a second start is refused" "1 yes" "$? $(echo "$out" | grep -q 'already running' && echo yes)"
pids=$(cat "$PF")
sh "$S" stop
expect_eq "stop: exit 0" 0 "$?"
wait_gone 3 $pids
expect_eq "stop: every process gone" "" \
    "$(for p in $pids; do alive "$p" && echo "$p"; done)"
expect_eq "stop: pidfile and socket removed" "no no" \
    "$([ -e "$PF" ] && echo yes || echo no) $([ -e "$VC_SOCK" ] && echo yes || echo no)"
sh "$S" status >/dev/null
expect_eq "status after stop: exit 3" 3 "$?"
out=$(VCODE_CONF=$T/missing.conf sh "$S" start 2>&1)
expect_eq "start with a missing configuration fails, saying so" "1 yes" \
    "$? $(echo "$out" | grep -q 'missing.conf' && echo yes)"
it_done
