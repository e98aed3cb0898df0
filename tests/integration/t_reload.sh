#!/bin/bash
# Reloads under load: 200 SIGHUPs to the prefork master while four clients
# keep requesting through nginx. Each reload tells the old workers to stop;
# a worker stops only between requests, so no request fails (no 502 from
# nginx, no connection dropped) and the last generation serves. Then the
# narrow case made wide: a request stalled half-read across a reload.
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

HUPS=${RELOAD_HUPS:-200}
P="[reload]"
if start_vcoded prefork VCODE_WORKERS=4; then
	rm -f "$T/stop"
	# client N: batches of 200 requests (one curl, kept alive to nginx;
	# each request is a new FastCGI connection) until $T/stop exists,
	# 40 batches at most; one status line per request into $T/codes.N.
	client() {
		local b=0 i
		: >"$T/codes.$1"
		while [ ! -e "$T/stop" ] && [ $b -lt 40 ]; do
			for i in $(seq 200); do
				case $((i % 3)) in
				0) echo "url = \"$BASE/healthz\"" ;;
				1) printf 'url = "%s/image_codes/reload%02d%03d%03d/"\n' \
				    "$BASE" "$1" "$b" "$i" ;;
				2) echo "url = \"$BASE/no/such/route\"" ;;
				esac
				echo 'output = "/dev/null"'
			done >"$T/urls.$1"
			curl -s --max-time 60 -w '%{http_code}\n' -K "$T/urls.$1" \
			    >>"$T/codes.$1" 2>/dev/null
			b=$((b + 1))
		done
	}
	cpids=""
	for c in $(seq "${RELOAD_CLIENTS:-8}"); do client $c & cpids="$cpids $!"; done
	sleep 0.3
	for i in $(seq "$HUPS"); do
		kill -HUP "$VC_MASTER" 2>/dev/null
		sleep "${RELOAD_PAUSE:-0.01}"
	done
	sleep 0.5
	touch "$T/stop"
	# shellcheck disable=SC2086
	wait $cpids
	total=$(cat "$T"/codes.* | wc -l)
	bad=$(cat "$T"/codes.* | grep -cvE '^(200|404)$')
	it_note "$total requests during $HUPS reloads"
	expect_range "$P requests made during $HUPS reloads" 200 100000 "$total"
	expect_eq "$P failed requests (not 200/404) during $HUPS reloads" 0 "$bad"
	[ "$bad" -gt 0 ] && it_note "statuses: $(cat "$T"/codes.* | sort | uniq -c | tr '\n' ' ')"
	# The status follows the request's closing quote ("... 200 502" is a
	# 502-byte picture).
	expect_eq "$P nginx logged no 502" 0 "$(grep -c '" 502 ' "$T"/*access*.log 2>/dev/null | awk -F: '{s+=$NF} END {print s+0}')"
	expect_eq "$P master alive after the reloads" yes "$(alive "$VC_MASTER" && echo yes || echo no)"
	wait_workers 4
	expect_eq "$P 4 workers after the reloads" 4 "$(nworkers)"
	http GET /healthz
	expect_eq "$P still serves" 200 "$H_STATUS"
	stop_vcoded
fi

# A worker told to stop while it reads a request it has just accepted
# finishes that request: the client connects, stalls, the master reloads
# (old workers get SIGTERM), then the client sends its request.
P="[reload-stall]"
if start_vcoded prefork VCODE_WORKERS=1; then
	rm -f "$T/go"
	python3 "$ROOT/tests/integration/fcgi_slow.py" "$VC_SOCK" "$T/go" \
	    >"$T/slow.out" 2>&1 &
	spid=$!
	sleep 0.5
	old=$(workers)
	kill -HUP "$VC_MASTER"
	sleep 0.5
	touch "$T/go"
	wait "$spid"
	expect_eq "$P stalled request answered across the reload" \
	    "Status: 200 OK" "$(cat "$T/slow.out")"
	gone=yes
	for i in $(seq 100); do
		gone=yes
		for p in $old; do alive "$p" && gone=no; done
		[ $gone = yes ] && break
		sleep 0.05
	done
	expect_eq "$P ... and the old worker then stopped" yes "$gone"
	stop_vcoded
fi
it_done
