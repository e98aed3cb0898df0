#!/bin/bash
# No log storm: Redis stopped under 4 workers, then 500 requests over
# about seven seconds, each failing on the store. Each worker writes the
# error three times, then one "last message repeated" line every 5 s, not
# one line per request; Redis back, the requests succeed again, and once the errors
# have stopped for 3 s a line says the run is over ("recovered after N
# failures").
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

P="[logstorm]"
ERR=$T/vcoded.stderr

if start_vcoded prefork VCODE_WORKERS=4; then
	wait_workers 4
	for i in 1 2 3 4 5 6 7 8; do http GET "/image_codes/warm000$i/"; done
	stop_redis
	before=$(wc -l <"$ERR")
	# 500 image requests, 72 a second for 7 seconds, 8 at a time: every
	# worker keeps failing with no pause as long as the quiet time.
	: >"$T/codes"
	for s in 1 2 3 4 5 6 7; do
		t0=$(date +%s%N)
		n=$((s == 7 ? 68 : 72))
		for i in $(seq "$n"); do
			echo "$BASE/image_codes/storm$s$(printf %04d "$i")/"
		done | xargs -P 8 -n 1 curl -s --max-time 10 -o /dev/null \
		    -w '%{http_code}\n' >>"$T/codes" 2>/dev/null
		left=$((1000 - ($(date +%s%N) - t0) / 1000000))
		[ "$left" -gt 0 ] && sleep "0.$(printf %03d "$left")"
	done
	expect_eq "$P 500 requests while Redis is down: 503 each" "500 500" \
	    "$(wc -l <"$T/codes") $(grep -c '^503$' "$T/codes")"
	tail -n +"$((before + 1))" "$ERR" >"$T/storm.log"
	errs=$(grep -c 'error: .*redis' "$T/storm.log")
	firsts=$(grep 'error: .*redis' "$T/storm.log" | grep -vc 'repeated')
	it_note "$errs error lines naming redis during the storm ($firsts not summaries)"
	expect_range "$P error lines naming redis: far fewer than 500 (<= 4 per worker + summaries)" \
	    1 32 "$errs"
	expect_range "$P ... of which lines of a run's start, at most 4 per worker" 1 16 "$firsts"
	expect_match "$P a 'last message repeated N times' summary" \
	    'error: last message repeated [0-9]+ times in [0-9]+ s: .*redis' \
	    "$(cat "$T/storm.log")"

	start_redis
	ok_n=0
	for i in $(seq 40); do
		http GET "/image_codes/back$(printf %04d "$i")/"
		[ "$H_STATUS" = 200 ] && ok_n=$((ok_n + 1))
	done
	expect_range "$P Redis back: requests succeed again" 36 40 "$ok_n"
	sleep 3.5
	for i in $(seq 40); do http GET "/image_codes/late$(printf %04d "$i")/"; done
	expect_eq "$P ... still" 200 "$H_STATUS"
	expect_match "$P a 'recovered after N failures' line once the errors stop" \
	    'info: recovered after [0-9]+ failures in [0-9]+ s \(no repeat for 3 s\) of: .*redis' \
	    "$(cat "$ERR")"
	stop_vcoded
fi
it_done
