#!/bin/bash
# The store follows a primary that changes. vcoded reaches Redis through
# a socket path that an operator (or a failover script) re-points: first
# at A, then A is made a replica of B and the path re-pointed at B.
#  - while A is a replica, /healthz answers 503 (it accepts no writes),
#    not 200 as a PING would;
#  - a READONLY reply drops the connection, so once the path names the new
#    primary every dialect's flow works again, without a restart;
#  - redis:// URLs with a user (ACL) and unix:PATH?db=N reach their
#    database.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

P="[failover]"
A_SOCK=$T/redis-a.sock
B_SOCK=$T/redis-b.sock
redis-server --port 0 --unixsocket "$A_SOCK" --unixsocketperm 777 --save '' \
    --appendonly no --dir "$T" --logfile "$T/redis-a.log" >/dev/null 2>&1 &
track $!
start_tcp_redis redis-b --unixsocket "$B_SOCK" --unixsocketperm 777 ||
    it_bail "redis B did not start (see redis-b.log)"
B_PORT=$TCP_REDIS_PORT
for s in "$A_SOCK" "$B_SOCK"; do
	n=100
	while [ $n -gt 0 ] && [ "$(redis-cli -s "$s" ping 2>/dev/null)" != PONG ]; do
		sleep 0.05
		n=$((n - 1))
	done
done
LINK=$T/primary.sock
ln -sfn "$A_SOCK" "$LINK"
# The test reads captcha answers where vcoded writes them.
REDIS_SOCK=$LINK

# healthz_n N: the statuses of N /healthz requests, space separated.
healthz_n() {
	local i out=""
	for i in $(seq "$1"); do
		http GET /healthz
		out="$out $H_STATUS"
	done
	echo "${out# }"
}

if start_vcoded prefork "VCODE_REDIS=unix:$LINK" VCODE_WORKERS=2 \
    VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=0; then
	for d in $DIALECTS; do
		send_ok "$d" "$(new_mobile)"
		expect_code "$P $d on A: OK" "$d" 200 OK
	done
	redis-cli -s "$A_SOCK" replicaof 127.0.0.1 "$B_PORT" >/dev/null
	expect_eq "$P A is a replica now" slave "$(redis-cli -s "$A_SOCK" role | head -n 1)"
	expect_eq "$P healthz while the path names a replica: 503 x6" \
	    "503 503 503 503 503 503" "$(healthz_n 6)"
	ln -sfn "$B_SOCK" "$LINK"
	ok_at=""
	for i in $(seq 40); do
		http GET /healthz
		[ "$H_STATUS" = 200 ] && { ok_at=$i; break; }
		sleep 0.05
	done
	expect_match "$P healthz 200 again once the path names B" '^[0-9]+$' "$ok_at"
	for d in $DIALECTS; do
		m=$(new_mobile)
		sent=no
		for i in 1 2 3 4; do
			send_ok "$d" "$m" && { sent=yes; break; }
		done
		expect_eq "$P $d after the failover: OK (no READONLY forever)" yes "$sent"
		expect_match "$P $d: the code is on B" '^[0-9]{6}$' \
		    "$(redis-cli -s "$B_SOCK" get "$(skey "$d" "$m")")"
	done
	stop_vcoded
fi

P="[url]"
# A user of Redis 6 ACLs, and a database number.
redis-cli -s "$B_SOCK" acl setuser vc on '>vc-secret-pw' '~*' '&*' '+@all' >/dev/null
# db_flow URL DB DIALECT NAME: vcoded on URL serves DIALECT, and the code
# lands in database DB of B.
db_flow() {
	local m
	RCLI_DB=$2
	if start_vcoded prefork "VCODE_REDIS=$1" VCODE_SMS_INTERVAL=0; then
		m=$(new_mobile)
		send_ok "$3" "$m"
		expect_code "$P $4: OK" "$3" 200 OK
		expect_match "$P ... the code is in db $2" '^[0-9]{6}$' \
		    "$(redis-cli -s "$B_SOCK" -n "$2" get "$(skey "$3" "$m")")"
		stop_vcoded
	fi
}
REDIS_SOCK=$B_SOCK
db_flow "redis://vc:vc-secret-pw@127.0.0.1:$B_PORT/3" 3 meiduo "redis://user:pass@host/3"
db_flow "unix:$B_SOCK?db=5" 5 ihome "unix:PATH?db=5"
RCLI_DB=
out=$(VCODE_REDIS="redis://vc:wrong-pw@127.0.0.1:$B_PORT/0" timeout 10 "$VCODED" -t -c "$CONF" 2>&1)
expect_eq "$P -t does not print the password" no \
    "$(printf '%s' "$out" | grep -qF wrong-pw && echo yes || echo no)"
for bad in "unix:$B_SOCK?db=x" "unix:$B_SOCK?db=99999" "unix:?db=1" "unix:$B_SOCK?x=1"; do
	VCODE_REDIS="$bad" timeout 10 "$VCODED" -t -c "$CONF" >/dev/null 2>&1
	expect_eq "$P -t refuses redis = $bad" 1 "$?"
done
it_done
