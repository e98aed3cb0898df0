#!/bin/bash
# tests/bench/queue.sh: queued delivery (make bench).
#
#   bash tests/bench/queue.sh [N]
#
# Against a private Redis, nginx, vcoded (4 workers) and the stand-in
# provider (tests/integration/fake_sms.py, webhook, answering at once):
#   1. sender throughput: N messages (default 2000) put in the outbox with
#      live codes, then drained by one vcode-smsd, then by two; messages/s;
#   2. the captcha route while SMS requests flood in (8 clients, 200
#      requests) and the gateway takes 4 s an SMS: latency of 100 captcha
#      requests (median, p99, worst), with sms_delivery = queue and, for
#      comparison, inline.
# Figures, not checks: the machine is shared and noisy.
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-2000}
SMSD_SRC=$(dirname "$VCODED")/vcode-smsd
[ -x "$VCODED" ] && [ -x "$SMSD_SRC" ] || { echo "bench: build first (make)" >&2; exit 1; }
it_init
cp "$SMSD_SRC" "$T/vcode-smsd"
fake_init
fake_start
start_redis
start_nginx
write_conf "sms_delivery = queue" "sms_provider = webhook" \
    "webhook_url = http://127.0.0.1:$FP/hook" "webhook_secret = $WSECRET" \
    "sms_interval = 0" "ip_hourly_limit = 0" "prefix_hourly_limit = 0" \
    "sms_hourly_budget = 0" "sms_daily_limit = 0" "workers = 4" \
    "log_level = warn"
set_mode ok

ms() { echo $(($(date +%s%N) / 1000000)); }

# fill N: N messages with live codes, written straight into Redis.
fill() {
	local now exp
	now=$(ms)
	exp=$((now / 1000 + 300))
	awk -v n="$1" -v now="$now" -v exp="$exp" 'BEGIN {
		for (i = 0; i < n; i++) {
			m = sprintf("139%08d", i); c = sprintf("%06d", (i * 7919) % 1000000)
			printf "SET sms_%s %s EX 300\n", m, c
			printf "XADD vcode:outbox * mobile %s code %s key sms_%s minutes 5 dialect meiduo queued %d expires %d tries 0\n", m, c, m, now, exp
		}
	}' | rcli >/dev/null
}

# drain K: K senders empty the outbox; prints messages/s.
drain() {
	local k=$1 i t0 t1 pids=()
	rcli del vcode:outbox:stats >/dev/null
	t0=$(ms)
	for i in $(seq "$k"); do
		"$T/vcode-smsd" -c "$CONF" 2>>"$T/smsd-bench.log" &
		pids+=($!)
		track "$!"
	done
	while [ "$(rcli hget vcode:outbox:stats sent)" != "$N" ]; do
		sleep 0.05
	done
	t1=$(ms)
	kill -TERM "${pids[@]}"
	wait "${pids[@]}" 2>/dev/null
	awk -v n="$N" -v k="$k" -v t=$((t1 - t0)) 'BEGIN {
		printf "queue: %d messages, %d sender%s: %.0f messages/s (%d ms)\n",
		    n, k, k > 1 ? "s" : "", n * 1000 / t, t }'
}

fill "$N"
drain 1
fill "$N"
drain 2

# flood MODE: captcha latency while SMS requests flood in.
flood() {
	local mode=$1 i id a sender="" pids=()
	stop_vcoded
	start_vcoded prefork VCODE_SMS_DELIVERY="$mode" || exit 1
	if [ "$mode" = queue ]; then
		"$T/vcode-smsd" -c "$CONF" 2>>"$T/smsd-bench.log" &
		sender=$!
		track "$sender"
	fi
	set_mode hold:4
	: >"$T/flood.$mode"
	for i in $(seq 200); do
		id=$(new_id)
		curl -s -o /dev/null "$BASE/image_codes/$id/"
		a=$(rcli get "img_$id")
		echo "$BASE/sms_codes/$(new_mobile)/?image_code=$a&uuid=$id" >>"$T/flood.$mode"
	done
	xargs -P 8 -n 1 curl -s -o /dev/null --max-time 30 <"$T/flood.$mode" &
	pids+=($!)
	sleep 0.5
	for i in $(seq 100); do
		curl -s -o /dev/null -w '%{time_total}\n' --max-time 30 \
		    "$BASE/image_codes/$(new_id)/"
	done >"$T/lat.$mode"
	kill "${pids[@]}" 2>/dev/null
	pkill -P "${pids[0]}" curl 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	[ -n "$sender" ] && kill -KILL "$sender"
	sort -n "$T/lat.$mode" | awk -v m="$mode" '{ v[NR] = $1 * 1000 }
	    END { printf "captcha while 200 SMS requests flood in, gateway 4 s, %s delivery: median %.1f ms, p99 %.1f ms, worst %.1f ms (%d requests)\n",
		m, v[int(NR / 2) + 1], v[int(NR * 0.99)], v[NR], NR }'
	set_mode ok
	rcli flushall >/dev/null
}

flood queue
flood inline
it_cleanup
