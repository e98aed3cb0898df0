#!/bin/bash
# GET /metrics: Prometheus' text format, read by Prometheus' own parser
# (python3-prometheus-client), moves by exactly what the test did across
# a pool of 4 workers (the counters live in a shared mapping, one slot per
# worker, summed at the scrape); a killed worker's counts survive its
# respawn; a reload is counted; Redis down is a gauge, not a failed scrape;
# the route is keyed like the verify routes; queued delivery's senders
# count what they send; vcode-smsd run alone writes a textfile.
. "$(dirname "$0")/lib.sh"
need_vcoded
SMSD=$(dirname "$VCODED")/vcode-smsd
it_init
PY=/usr/bin/python3
PROM=$IT_DIR/prom.py
$PY -c 'import prometheus_client.parser' 2>/dev/null ||
    it_bail "python3-prometheus-client not installed (make testdeps installs it)"
start_redis
start_nginx
write_conf "workers = 4" "sms_interval = 60"

P="[metrics]"
N=0
# scrape [CURL ARGS]: GET /metrics into $T/m.N (N counts scrapes); sets M.
scrape() {
	N=$((N + 1))
	M=$T/m.$N
	http GET /metrics "$@"
	printf '%s\n' "$H_BODY" >"$M"
}
# get SEL...: the values of samples in the last scrape.
get() { $PY "$PROM" get "$M" "$@"; }
# msum NAME [L=V...]: a sum over the last scrape.
msum() { $PY "$PROM" sum "$M" "$@"; }
# delta SEL: the sample's value in the last scrape minus the one before.
delta() {
	local a b
	a=$($PY "$PROM" get "$T/m.$((N - 1))" "$1")
	b=$($PY "$PROM" get "$M" "$1")
	echo $((${b%.*} - ${a%.*}))
}

if start_vcoded prefork; then
	wait_workers 4 || it_note "expected 4 workers, saw $(nworkers)"
	scrape
	expect_eq "$P 200, the exposition format's Content-Type" \
	    "200 text/plain; version=0.0.4; charset=utf-8" "$H_STATUS $H_CTYPE"
	expect_eq "$P Prometheus' parser reads it; names, counters, labels, histograms as the format wants" \
	    ok "$($PY "$PROM" check "$M")"
	expect_eq "$P vcode_workers: 4, the master's count" 4 "$(get vcode_workers)"
	http GET /metrics --interface 127.0.0.2
	expect_eq "$P from another address (127.0.0.2): the shipped nginx rule answers 403" \
	    403 "$H_STATUS"

	# 40 captchas at once, spread over the pool, in three dialects.
	for i in $(seq 40); do
		case $((i % 3)) in
		0) echo "/image_codes/$(new_id)/" ;;
		1) echo "/image_code?uuid=$(new_id)" ;;
		2) echo "/passport/image_code/audio?code_id=$(new_id)" ;;
		esac
	done | xargs -P 8 -I{} curl -s -o /dev/null "$BASE{}"
	scrape
	expect_eq "$P 40 challenges at once over 4 workers: +13 meiduo image, +14 ihome image, +13 news audio" \
	    "13 14 13 0" "$(delta 'vcode_captchas_total{dialect="meiduo",kind="image"}') $(delta 'vcode_captchas_total{dialect="ihome",kind="image"}') $(delta 'vcode_captchas_total{dialect="news",kind="audio"}') $(delta 'vcode_captchas_total{dialect="news",kind="image"}')"
	expect_eq "$P ... requests_total by route and status: the same" "13 14 13" \
	    "$(delta 'vcode_requests_total{route="/image_codes/*",dialect="meiduo",code="200"}') $(delta 'vcode_requests_total{route="/image_code",dialect="ihome",code="200"}') $(delta 'vcode_requests_total{route="/passport/image_code/audio",dialect="news",code="200"}')"
	expect_eq "$P ... and the duration histogram's count" 14 \
	    "$(delta 'vcode_request_duration_seconds_count{route="/image_code"}')"
	expect_eq "$P the last scrape is counted (route /metrics, 200): one more than before" \
	    1 "$(delta 'vcode_requests_total{route="/metrics",dialect="none",code="200"}')"

	# The SMS flow: one sent, one wrong captcha, one too soon, a verify
	# wrong then right; a 404.
	m=$(new_mobile)
	send_ok meiduo "$m"
	expect_code "$P an SMS code sent" meiduo 200 OK
	id=$(new_id)
	captcha meiduo "$id"
	sms meiduo "$(new_mobile)" "${ANSWER}X" "$id"
	send_ok meiduo "$m"
	expect_code "$P the same mobile again: too soon" meiduo 200 THROTTLE
	verify "$m" 000000
	verify "$m" "$(log_code "$m")"
	expect_reply "$P verified" 200 .code 0
	http GET /no/such/route
	scrape
	expect_eq "$P SMS: requests +3, refused wrong +1, interval +1, sent inline +1" \
	    "3 1 1 1" "$(delta 'vcode_sms_requests_total{dialect="meiduo"}') $(delta 'vcode_sms_refused_total{dialect="meiduo",reason="wrong"}') $(delta 'vcode_sms_refused_total{dialect="meiduo",reason="interval"}') $(delta 'vcode_sms_sent_total{dialect="meiduo",via="inline"}')"
	expect_eq "$P verify: wrong +1, ok +1" "1 1" \
	    "$(delta 'vcode_verify_total{dialect="meiduo",result="wrong"}') $(delta 'vcode_verify_total{dialect="meiduo",result="ok"}')"
	expect_eq "$P an unknown route: route none, 404, +1" 1 \
	    "$(delta 'vcode_requests_total{route="none",dialect="none",code="404"}')"
	expect_nomatch "$P no mobile anywhere in the scrape" "${m:3:8}" "$(cat "$M")"
	expect_eq "$P the budget gauges: limit, and used (+1 this hour)" \
	    "1000 1" "$(get vcode_sms_budget) $(delta vcode_sms_budget_used)"

	# A killed worker's counts stay; its respawn is counted.
	before=$(msum vcode_captchas_total)
	kill -KILL "$(set -- $(workers); echo "$1")"
	sleep 1.5
	wait_workers 4 || it_note "workers after a kill: $(nworkers)"
	scrape
	expect_eq "$P SIGKILL of a worker: no count lost, respawn +1, 4 workers again" \
	    "$before 1 4" "$(msum vcode_captchas_total) $(delta 'vcode_respawns_total{kind="worker"}') $(get vcode_workers)"
	kill -HUP "$VC_MASTER"
	sleep 1.5
	scrape
	expect_eq "$P SIGHUP: reloads +1, counts kept" "1 $before" \
	    "$(delta vcode_reloads_total) $(msum vcode_captchas_total)"

	# Redis down: the scrape still answers, with the gauge saying so.
	stop_redis
	image meiduo "$(new_id)"
	scrape
	expect_eq "$P Redis down: the scrape is 200, vcode_redis_up 0" "200 0" \
	    "$H_STATUS $(get vcode_redis_up)"
	expect_range "$P ... the failed captcha and scrape are Redis errors" 1 100 \
	    "$(delta vcode_redis_errors_total)"
	start_redis
	for i in $(seq 12); do image meiduo "$(new_id)"; done
	scrape
	expect_eq "$P Redis back: up 1, and the workers that failed connected again" \
	    "1 yes" "$(get vcode_redis_up) $([ "$(get vcode_redis_reconnects_total)" != 0 ] && echo yes)"
	expect_eq "$P the parser still reads it all" ok "$($PY "$PROM" check "$M")"
	if command -v promtool >/dev/null; then
		expect_eq "$P promtool check metrics (Prometheus' own linter): nothing to say" \
		    "0 " "$(promtool check metrics <"$M" >"$T/lint" 2>&1; echo "$? $(head -c 300 "$T/lint")")"
	fi
	stop_vcoded
fi

# Keyed like /verify: with api_key set, a bearer token is needed.
if start_vcoded prefork VCODE_API_KEY=s3cret-key; then
	scrape
	expect_eq "$P api_key set, no token: 401" 401 "$H_STATUS"
	scrape -H 'Authorization: Bearer s3cret-key'
	expect_eq "$P ... with the token: 200" 200 "$H_STATUS"
	stop_vcoded
fi

# Queued delivery: the senders the master runs count what they send.
fake_init
fake_start
queue_conf "workers = 2" "smsd_workers = 2"
if start_vcoded prefork; then
	scrape
	expect_eq "$P queued: 2 senders" 2 "$(get vcode_senders)"
	: >"$T/q.mobiles"
	queue_n 3 "$T/q.mobiles"
	wait_for 10 outbox_empty
	sleep 0.5
	scrape
	expect_eq "$P 3 queued, 3 sent by the senders (each sender's own count summed)" \
	    "3 3 3" "$(delta 'vcode_sms_queued_total{dialect="meiduo",via="inline"}') $(delta 'vcode_sms_sent_total{dialect="none",via="queue"}') $(msum vcode_smsd_sent_total)"
	expect_eq "$P the outbox gauges: nothing pending or dead" "0 0 0" \
	    "$(get vcode_outbox_pending) $(get vcode_outbox_retry) $(get vcode_outbox_dead)"
	stop_vcoded
fi

# vcode-smsd alone: metrics_file, written for node_exporter's textfile
# collector.
# Written after root is given up: the folder is the sender's user's.
mkdir -m 1777 "$T/prom"
queue_conf "metrics_file = $T/prom/smsd.prom"
if start_vcoded prefork VCODE_SMSD_WORKERS=0; then
	: >"$T/q2.mobiles"
	queue_n 2 "$T/q2.mobiles"
	"$SMSD" -c "$CONF" >>"$T/smsd-alone.log" 2>&1 &
	spid=$!
	track "$spid"
	wait_for 10 outbox_empty
	kill -USR1 "$spid"
	sleep 0.3
	expect_eq "$P vcode-smsd alone survives SIGUSR1 (a logrotate rule's)" yes \
	    "$(alive "$spid" && echo yes || echo no)"
	kill -TERM "$spid"
	wait "$spid"
	M=$T/prom/smsd.prom
	expect_eq "$P vcode-smsd alone: its textfile parses and says 2 sent" "ok 2" \
	    "$($PY "$PROM" check "$M") $(msum vcode_smsd_sent_total)"
	stop_vcoded
fi
fake_stop
it_done
