#!/bin/bash
# tests/bench/queue.sh: queued delivery (make bench).
#
#   bash tests/bench/queue.sh [N]
#
# Against a private Redis, nginx, vcoded (4 workers) and the stand-in
# provider (tests/integration/fake_sms.py, webhook, answering at once):
#   1. sender throughput: N messages (default 2000) put in the outbox with
#      live codes, then drained by one vcode-smsd, then by two; messages/s;
#   2. the captcha route while SMS requests flood in from 8 clients and
#      the gateway takes 4 s an SMS: latency of the captcha requests made
#      one after another during the flood (at most 100; median, p99,
#      worst), with sms_delivery = queue (400 SMS requests) and, for
#      comparison, inline (40: each holds a worker 4 s).
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
queue_conf "workers = 4" "log_level = warn"
set_mode ok

ms() { echo $(($(date +%s%N) / 1000000)); }

# fill N: N messages with live codes, written straight into Redis.
fill() {
	local now ex
	now=$(ms)
	ex=$((now / 1000 + 300))
	awk -v n="$1" -v now="$now" -v ex="$ex" 'BEGIN {
		for (i = 0; i < n; i++) {
			m = sprintf("139%08d", i); c = sprintf("%06d", (i * 7919) % 1000000)
			printf "SET sms_%s %s EX 300\n", m, c
			printf "XADD vcode:outbox * mobile %s code %s key sms_%s minutes 5 dialect meiduo queued %d expires %d tries 0\n", m, c, m, now, ex
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
		if [ $(($(ms) - t0)) -gt 300000 ]; then
			echo "bench: $k sender(s) did not send $N messages in 300 s" >&2
			kill -TERM "${pids[@]}"
			return 1
		fi
		sleep 0.05
	done
	t1=$(ms)
	kill -TERM "${pids[@]}"
	wait "${pids[@]}" 2>/dev/null
	awk -v n="$N" -v k="$k" -v t=$((t1 - t0)) 'BEGIN {
		printf "queue: %d messages, %d sender%s: %.0f messages/s (%d ms)\n",
		    n, k, (k > 1 ? "s" : ""), n * 1000 / t, t }'
}

fill "$N"
drain 1
fill "$N"
drain 2

# flood MODE COUNT: captcha latency while COUNT SMS requests flood in from
# 8 clients; captchas are asked one after another until the flood is over
# (at most 100).
flood() {
	local mode=$1 count=$2 i id a sender="" flood_pid
	stop_vcoded
	start_vcoded prefork VCODE_SMS_DELIVERY="$mode" || exit 1
	if [ "$mode" = queue ]; then
		"$T/vcode-smsd" -c "$CONF" 2>>"$T/smsd-bench.log" &
		sender=$!
		track "$sender"
	fi
	set_mode hold:4
	: >"$T/flood.$mode"
	for i in $(seq "$count"); do
		id=$(new_id)
		curl -s -o /dev/null "$BASE/image_codes/$id/"
		a=$(rcli get "img_$id")
		echo "$BASE/sms_codes/$(new_mobile)/?image_code=$a&uuid=$id" >>"$T/flood.$mode"
	done
	xargs -P 8 -n 1 curl -s -o /dev/null --max-time 60 <"$T/flood.$mode" &
	flood_pid=$!
	: >"$T/lat.$mode"
	i=0
	while [ $i -lt 100 ] && kill -0 "$flood_pid" 2>/dev/null; do
		curl -s -o /dev/null -w '%{time_total}\n' --max-time 60 \
		    "$BASE/image_codes/$(new_id)/" >>"$T/lat.$mode"
		i=$((i + 1))
	done
	wait "$flood_pid"
	[ -n "$sender" ] && { kill -KILL "$sender"; wait "$sender"; } 2>/dev/null
	sort -n "$T/lat.$mode" | awk -v m="$mode" -v c="$count" '
	    { v[NR] = $1 * 1000; if ($1 >= 1) slow++ }
	    END { p = int(NR * 0.99); if (p < 1) p = 1
		printf "captcha while %d SMS requests flood in (8 clients, gateway 4 s), %s delivery: %d captchas, median %.1f ms, p99 %.1f ms, worst %.1f ms, %d over 1 s\n",
		c, m, NR, v[int((NR + 1) / 2)], v[p], v[NR], slow }'
	set_mode ok
	rcli flushall >/dev/null
}

flood queue 400
flood inline 40
it_cleanup
