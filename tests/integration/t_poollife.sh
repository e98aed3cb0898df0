#!/bin/bash
# A pool's life with max_requests: a worker ends after that many requests
# and the master replaces it at once, counted as a recycle, not a death;
# no request fails meanwhile, not under concurrent load, not across a
# SIGHUP reload or a SIGUSR1 log reopen; SIGTERM still drains. Under
# spawn-fcgi nothing would replace a worker: max_requests is ignored
# there, with a warning.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

P="[poollife]"
AL=$T/vcode-access.log

# lines FILE...: how many lines, together.
lines() { cat "$@" 2>/dev/null | wc -l; }

if start_vcoded prefork VCODE_WORKERS=2 VCODE_MAX_REQUESTS=5 \
    VCODE_LOG_LEVEL=debug "VCODE_ACCESS_LOG=$AL"; then
	wait_workers 2
	w0=$(workers)
	seen=""
	for i in $(seq 40); do
		if [ $((i % 2)) = 0 ]; then
			http GET /healthz
		else
			http GET "/image_codes/life$(printf %04d "$i")abcd/"
		fi
		seen="$seen $H_STATUS"
	done
	expect_eq "$P 40 requests, max_requests = 5, 2 workers: all 200" \
	    "$(printf ' 200%.0s' $(seq 40))" "$seen"
	wait_workers 2
	w1=$(workers)
	expect_eq "$P two workers after" 2 "$(nworkers)"
	expect_eq "$P ... none of the first two" "" \
	    "$(for p in $w0; do [[ " $w1 " == *" $p "* ]] && echo "$p"; done)"
	wait_for 2 "[ \$(lines \"\$AL\") -ge 40 ]"
	pids=$(sed -n 's/.* pid=\([0-9]*\)$/\1/p' "$AL" | sort -u | wc -l)
	expect_range "$P the 40 requests were served by 8 or more workers" 8 40 "$pids"
	expect_eq "$P no worker served more than 5" "" \
	    "$(sed -n 's/.* pid=\([0-9]*\)$/\1/p' "$AL" | sort | uniq -c | awk '$1 > 5')"
	expect_eq "$P no death reported" "" "$(grep 'died' "$T/vcoded.stderr")"
	expect_range "$P recycles logged (debug)" 6 40 \
	    "$(grep -c 'recycled (max_requests)' "$T/vcoded.stderr")"
	http GET /metrics
	expect_match "$P /metrics counts the recycles" \
	    'vcode_recycles_total ([6-9]|[1-9][0-9])' "$H_BODY"
	expect_match "$P ... and no respawn" 'vcode_respawns_total\{[^}]*kind="worker"[^}]*\} 0|vcode_respawns_total 0|^$' \
	    "$(printf '%s\n' "$H_BODY" | grep -E '^vcode_respawns_total' | head -n 1)"

	# Under load, across a reload and a log reopen.
	n=$(lines "$AL")
	for i in $(seq 300); do
		case $((i % 3)) in
		0) echo "$BASE/healthz" ;;
		1) echo "$BASE/image_codes/load$(printf %05d "$i")/" ;;
		2) echo "$BASE/no/such/route" ;;
		esac
	done >"$T/urls"
	xargs -P 8 -n 1 curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' \
	    <"$T/urls" >"$T/codes" 2>/dev/null &
	load=$!
	sleep 0.3
	kill -HUP "$VC_MASTER"
	sleep 0.3
	mv "$AL" "$AL.1"
	kill -USR1 "$VC_MASTER"
	sleep 0.3
	kill -HUP "$VC_MASTER"
	wait "$load"
	expect_eq "$P 300 concurrent requests across 2 reloads and a reopen: none failed" \
	    "300 0" "$(wc -l <"$T/codes") $(grep -cvE '^(200|404)$' "$T/codes")"
	wait_for 3 "[ \$(lines \"\$AL\" \"\$AL.1\") -ge $((n + 300)) ]"
	expect_eq "$P ... every request has its line, in one file or the other" \
	    $((n + 300)) "$(lines "$AL" "$AL.1")"
	expect_eq "$P ... no death reported" "" "$(grep 'died' "$T/vcoded.stderr")"
	expect_eq "$P ... nginx logged no 502" 0 "$(grep -c '" 502 ' "$T/nginx-access.log")"
	wait_workers 2
	expect_eq "$P ... two workers" 2 "$(nworkers)"

	# SIGTERM drains as ever.
	c=$(workers)
	kill -TERM "$VC_MASTER"
	if wait_gone 10 "$VC_MASTER"; then
		wait "$VC_MASTER"
		rc=$?
	else
		rc="still running after 10 s"
	fi
	expect_eq "$P SIGTERM: master exits 0" 0 "$rc"
	left=""
	for p in $c; do alive "$p" && left="$left $p"; done
	expect_eq "$P SIGTERM: no worker left" "" "${left# }"
	VC_MASTER=""
	stop_vcoded
fi

# A socket on fd 0 and no -m is spawn-fcgi's mode: one process serving.
rm -f "$VC_SOCK"
VCODE_MAX_REQUESTS=3 python3 "$IT_DIR/fd0_socket.py" "$VC_SOCK" "$VCODED" \
    -c "$CONF" >"$T/spawn.out" 2>&1 </dev/null &
one=$!
track "$one"
if wait_for 5 '[ -S "$VC_SOCK" ] && [ "$(curl -s -o /dev/null -w "%{http_code}" "$BASE/healthz")" = 200 ]'; then
	seen=""
	for i in $(seq 20); do http GET /healthz; seen="$seen $H_STATUS"; done
	expect_eq "$P spawn-fcgi: 20 requests with max_requests = 3: all 200" \
	    "$(printf ' 200%.0s' $(seq 20))" "$seen"
	expect_eq "$P spawn-fcgi: the same process serves on (max_requests ignored)" \
	    yes "$(alive "$one" && echo yes || echo no)"
	expect_match "$P spawn-fcgi: a warning says it is ignored" \
	    'max_requests = 3 is ignored under spawn-fcgi' "$(cat "$T/spawn.out")"
else
	fail "$P spawn-fcgi mode came up" "/healthz 200" "$(tail -n 3 "$T/spawn.out")"
fi
stop_pid "$one"
it_done
