#!/bin/bash
# Queued delivery (README, "Inline or queued"; sms_delivery = queue): the SMS request appends its
# message to the Redis stream vcode:outbox in the step that counts the
# limits, and vcode-smsd sends it through the stand-in provider
# (fake_sms.py, webhook). Proven here: what is queued; every message
# delivered exactly once after the provider refused everything for a
# while; two senders sharing the work; a sender killed with SIGKILL mid-
# send taken over by another; expired, verified and replaced codes
# dropped unsent; a message that keeps failing parked in the dead-letter
# stream and replayed; SIGTERM finishing the message in hand; a Redis
# restart (appendonly) under a stream of requests losing nothing
# accepted; a full outbox refusing without counting; senders supervised
# by vcoded's master; a slow gateway no longer holding the captcha route;
# the start-up checks; and no code or full mobile in any log.
. "$(dirname "$0")/lib.sh"
smsd_init
# appendonly: the restart scenario needs the data to outlive Redis.
start_redis --appendonly yes
start_nginx

queue_conf "sms_claim_idle_ms = 10000" "workers = 4"
set_mode ok

# ---- the start-up checks ------------------------------------------------------
out=$("$VCODED" -t -c "$CONF" 2>&1)
expect_match "vcoded -t prints the delivery mode" \
    'delivery: queue \(stream vcode:outbox, up to 100000 waiting; 8 tries' "$out"
out=$("$SMSD" -t -c "$CONF" 2>&1)
expect_match "vcode-smsd -t prints the delivery mode" 'delivery: queue .*configuration ok' \
    "$(echo "$out" | tr '\n' ' ')"
out=$("$SMSD" -h 2>&1)
expect_match "vcode-smsd -h names --replay-dead" '--replay-dead' "$out"
for prog in "$VCODED" "$SMSD"; do
	out=$(VCODE_SMS_PROVIDER=log VCODE_SMS_LOG_FILE= "$prog" -t -c "$CONF" 2>&1)
	rc=$?
	expect_eq "$(basename "$prog") -t: queue with the log provider and no sink is refused" \
	    "1 yes" "$rc $(echo "$out" | grep -q "key 'sms_delivery': queue with sms_provider = log and no sms_log_file" && echo yes || echo no)"
	out=$(VCODE_SMS_CLAIM_IDLE_MS=5000 "$prog" -t -c "$CONF" 2>&1)
	rc=$?
	expect_eq "$(basename "$prog") -t: sms_claim_idle_ms below one provider call is refused" \
	    "1 yes" "$rc $(echo "$out" | grep -q "key 'sms_claim_idle_ms'" && echo yes || echo no)"
done
out=$(VCODE_WEBHOOK_URL= "$SMSD" -t -c "$CONF" 2>&1)
expect_eq "vcode-smsd -t: a provider that cannot send is refused" 1 "$?"

start_vcoded prefork || it_done

# ---- what is queued, and one message sent per dialect -------------------------
m=$(new_mobile)
send_ok meiduo "$m"
expect_code "queued: the request answers OK with no sender running" meiduo 200 OK
expect_eq "queued: the stand-in got nothing yet" 0 "$(fcount "$m")"
c=$(rcli get "sms_$m")
entry=$(xentries vcode:outbox | jq -c '.[0] | del(.id)')
now=$(date +%s)
expect_eq "queued: the message holds mobile, code, key, minutes, dialect, tries" \
    "$(jq -cn --arg m "$m" --arg c "$c" '{mobile:$m, code:$c, key:("sms_"+$m), minutes:"5", dialect:"meiduo", tries:"0"}')" \
    "$(echo "$entry" | jq -c '{mobile, code, key, minutes, dialect, tries}')"
qd=$(echo "$entry" | jq -r '.queued')
ex=$(echo "$entry" | jq -r '.expires')
expect_range "queued: queued is the request's time in ms" $(((now - 5) * 1000)) $(((now + 1) * 1000)) "$qd"
expect_range "queued: expires is the code's TTL later" $((now + 295)) $((now + 301)) "$ex"
expect_eq "queued: the message has exactly 8 fields" 8 "$(echo "$entry" | jq 'length')"
smsd_start s1
S1=$SPID
wait_for 10 '[ "$(fcount "$m")" -ge 1 ]'
expect_eq "sent: the stand-in got the stored code, verified" \
    "$(jq -cn --arg c "$c" '{kind:"webhook", ok:true, code:$c, minutes:"5"}')" \
    "$(flast "$m" '{kind, ok, code, minutes}')"
expect_eq "sent: exactly one request" 1 "$(fcount "$m")"
wait_for 5 outbox_empty
expect_eq "sent: acknowledged and deleted (stream empty, nothing pending)" "0 0" \
    "$(rcli xlen vcode:outbox) $(pending)"
verify "$m" "$c"
expect_code "sent: the delivered code verifies" meiduo 200 OK
for d in ihome news; do
	m=$(new_mobile)
	send_ok "$d" "$m"
	expect_code "$d: queued OK" "$d" 200 OK
	c=$(rcli get "$(skey "$d" "$m")")
	wait_for 10 '[ "$(fcount "$m")" -ge 1 ]'
	expect_eq "$d: delivered once with the code of $(skey "$d" X)" "1 $c" \
	    "$(fcount "$m") $(flast_r "$m" .code)"
done
smsd_stop "$S1"
expect_eq "SIGTERM while idle: vcode-smsd exits 0" 0 "$SRC"
expect_eq "SIGTERM: the sender left the group" 0 \
    "$(rcli --json xinfo consumers vcode:outbox vcode-smsd | jq 'length')"

# ---- hash storage: Redis holds an HMAC, the message the code ------------------
restart VCODE_SMS_CODE_STORAGE=hash VCODE_SMS_CODE_KEY=0123456789abcdef0123
m=$(new_mobile)
send_ok meiduo "$m"
expect_code "hash: queued OK" meiduo 200 OK
expect_match "hash: Redis holds 64 hex digits" '^[0-9a-f]{64}$' "$(rcli get "sms_$m")"
smsd_start s2 VCODE_SMS_CODE_STORAGE=hash VCODE_SMS_CODE_KEY=0123456789abcdef0123
S2=$SPID
wait_for 10 '[ "$(fcount "$m")" -ge 1 ]'
c=$(flast_r "$m" .code)
expect_match "hash: the stand-in got a 6-digit code" '^[0-9]{6}$' "$c"
verify "$m" "$c"
expect_code "hash: that code verifies" meiduo 200 OK
# A replayed dead letter has no code; with hash storage none can be read
# back from Redis, so it is dropped, not sent.
m2=$(new_mobile)
rcli set "sms_$m2" "$(printf '%064d' 0)" EX 300 >/dev/null
rcli xadd vcode:outbox '*' mobile "$m2" key "sms_$m2" minutes 5 dialect meiduo \
    queued 1 expires $(($(date +%s) + 300)) tries 0 >/dev/null
wait_for 5 'outbox_empty && [ "$(pending)" = 0 ]'
expect_eq "hash: a message without its code is dropped, not sent" "0 1" \
    "$(fcount "$m2") $(grep -c 'dropped unsent' "$T/smsd-s2.log")"
smsd_stop "$S2"
restart

# ---- a provider that refuses everything, then comes back ----------------------
stats_reset
set_mode refuse
smsd_start s3
S3=$SPID
: >"$T/batch200"
queue_n 200 "$T/batch200"
expect_eq "refusing: all 200 requests answered OK (queued)" 200 "$QOK"
sleep 2
r=$(jq -s '[.[] | select(.mode == "refuse")] | length' "$FLOG")
expect_range "refusing: the sender kept trying (refused requests seen)" 200 100000 "$r"
expect_eq "refusing: none accepted yet" "once=0 missing=200 extra=0" "$(tally "$T/batch200")"
set_mode ok
t0=$(date +%s)
wait_for 65 'all_once "$T/batch200"'
t1=$(date +%s)
expect_eq "back: all 200 delivered, each exactly once" "once=200 missing=0 extra=0" \
    "$(tally "$T/batch200")"
# The bound is the back-off cap (60 s), not a speed: no message waits longer.
expect_range "back: within the 60 s back-off cap of the provider's return" 0 65 $((t1 - t0))
it_note "200 delivered $((t1 - t0)) s after the provider came back"
wait_for 5 outbox_empty
expect_eq "back: nothing left in the stream, the retry set or the dead letters" "0 0 0" \
    "$(rcli xlen vcode:outbox) $(rcli zcard vcode:outbox:retry) $(rcli xlen vcode:outbox:dead)"
expect_eq "back: stats sent=200, late=0" "200 0" "$(ostat sent) $(ostat late)"
smsd_stop "$S3"

# ---- two senders share the work ------------------------------------------------
smsd_start s4a
S4A=$SPID
smsd_start s4b
S4B=$SPID
set_mode hold:0.05
: >"$T/batch2"
queue_n 40 "$T/batch2" ihome
wait_for 20 'all_once "$T/batch2"'
expect_eq "two senders: all 40 delivered, each exactly once" "once=40 missing=0 extra=0" \
    "$(tally "$T/batch2")"
a=$(grep -c "sms code sent" "$T/smsd-s4a.log")
b=$(grep -c "sms code sent" "$T/smsd-s4b.log")
expect_range "two senders: the first did some of the work" 1 39 "$a"
expect_range "two senders: the second did some of the work" 1 39 "$b"
it_note "two senders: $a and $b messages"
smsd_stop "$S4A"
smsd_stop "$S4B"
set_mode ok

# ---- a sender killed with SIGKILL mid-send -------------------------------------
stats_reset
set_mode hold:1
: >"$T/batch5"
queue_n 6 "$T/batch5"
smsd_start s5a
S5A=$SPID
# Each answer takes 1 s: once the third request has reached the stand-in,
# the sender is waiting for its answer.
received() { jq -r 'select(.ok) | .mobile' "$FLOG" | grep -cxFf "$T/batch5"; }
wait_for 10 '[ "$(received)" -ge 3 ]'
{ kill -KILL "$S5A"; wait "$S5A"; } 2>/dev/null
held=$(pending)
expect_eq "kill -9 mid-send: the dead sender held the message in flight" 1 "$held"
smsd_start s5b
S5B=$SPID
wait_for 25 '[ "$(jq -r "select(.ok) | .mobile" "$FLOG" | sort -u | grep -cxFf "$T/batch5")" = 6 ] && outbox_empty'
wait_for 10 '[ "$(pending)" = 0 ]'
tl=$(tally "$T/batch5")
# The one in flight may have been delivered (it was): the sender that
# takes it over finds its mark and does not send it again.
expect_eq "kill -9: every message delivered once, the one in flight not again" \
    "once=6 missing=0 extra=0" "$tl"
expect_eq "kill -9: the held message was taken over, counted, its fate unknown" "1 1 1" \
    "$(ostat claimed) $(ostat unknown) $(ostat unknown_final)"
expect_eq "kill -9: nothing pending, nothing waiting" "0 0" "$(pending) $(rcli xlen vcode:outbox)"
expect_match "kill -9: the second sender says it took a message over" \
    "took over message" "$(grep -m1 'took over' "$T/smsd-s5b.log")"
smsd_stop "$S5B"
set_mode ok

# ---- a sender stalled past the claim time does not move a message taken over
stats_reset
set_mode hold:1
smsd_start s5c
S5C=$SPID
m=$(new_mobile)
send_ok meiduo "$m"
wait_for 5 '[ "$(fcount "$m")" = 1 ]'
kill -STOP "$S5C"	# mid-send: the stand-in holds its answer
smsd_start s5d
S5D=$SPID
# sms_claim_idle_ms is 10 s: the second sender takes it over, finds that
# a request for it is under way, and does not send it again.
wait_for 20 '[ "$(ostat unknown_final)" = 1 ] && [ "$(pending)" = 0 ]'
expect_eq "stalled sender: taken over by another, which does not send it again" "1 1" \
    "$(fcount "$m") $(ostat claimed)"
kill -CONT "$S5C"
sleep 3
expect_eq "stalled sender: woken, it does not queue or send it again" "1 0 0" \
    "$(fcount "$m") $(rcli zcard vcode:outbox:retry) $(rcli xlen vcode:outbox)"
expect_match "stalled sender: ... and says the message is another's now" \
    "another sender has taken the message over" "$(cat "$T/smsd-s5c.log")"
smsd_stop "$S5C"
smsd_stop "$S5D"
set_mode ok

# ---- expired, verified and replaced codes are dropped unsent --------------------
stats_reset
m1=$(new_mobile); m2=$(new_mobile); m3=$(new_mobile); m4=$(new_mobile)
send_ok meiduo "$m1"
verify "$m1" "$(rcli get "sms_$m1")"
expect_code "drop: m1's code verified before any sender ran" meiduo 200 OK
send_ok meiduo "$m2"
rcli del "sms_$m2" >/dev/null	# what its TTL running out does
send_ok meiduo "$m3"
send_ok meiduo "$m3"
c3=$(rcli get "sms_$m3")
send_ok meiduo "$m4"
# m4's message says its code expired long ago, but its key is live: the
# key is the authority (the clocks of two hosts may differ), so it is sent.
id4=$(xentries vcode:outbox | jq -r --arg m "$m4" '.[] | select(.mobile == $m) | .id')
f4=$(xentries vcode:outbox "$id4" "$id4" | jq -r '.[0] | del(.id) | to_entries | map(.key, (if .key == "expires" then "1" else .value end)) | @sh')
eval "rcli xadd vcode:outbox '*' $f4" >/dev/null
rcli xdel vcode:outbox "$id4" >/dev/null
expect_eq "drop: five messages waiting" 5 "$(rcli xlen vcode:outbox)"
smsd_start s6
S6=$SPID
wait_for 10 outbox_empty
sleep 0.3
expect_eq "drop: verified and expired codes reach no provider" "0 0" \
    "$(fcount "$m1") $(fcount "$m2")"
expect_eq "drop: a message past its expires whose key is live is sent" 1 "$(fcount "$m4")"
expect_eq "drop: a replaced code is not sent; the newer one is, once" "1 $c3" \
    "$(fcount "$m3") $(flast_r "$m3" .code)"
expect_eq "drop: counted as dropped (3) and sent (2)" "3 2" "$(ostat dropped) $(ostat sent)"
expect_eq "drop: the sender's log says why" 3 "$(grep -c 'dropped unsent' "$T/smsd-s6.log")"
smsd_stop "$S6"

# ---- a message that always fails goes to the dead-letter stream ----------------
stats_reset
set_mode refuse
smsd_start s7 VCODE_SMS_MAX_TRIES=3
S7=$SPID
m=$(new_mobile)
send_ok news "$m"
c=$(rcli get "SMS_$m")
wait_for 15 '[ "$(rcli xlen vcode:outbox:dead)" = 1 ]'
dead=$(xentries vcode:outbox:dead | jq -c '.[0]')
expect_eq "dead: after 3 tries, one dead letter with its mobile and tries, without the code" \
    "$(jq -cn --arg m "$m" '{mobile:$m, tries:"3", dialect:"news", has_code:false}')" \
    "$(echo "$dead" | jq -c '{mobile, tries, dialect, has_code: has("code")}')"
expect_match "dead: it carries the last error" 'HTTP 422' "$(echo "$dead" | jq -r .error)"
expect_eq "dead: the stand-in was asked exactly 3 times" 3 "$(fcount "$m")"
expect_eq "dead: nothing left to send" "0 0 0" "$(rcli xlen vcode:outbox) $(rcli zcard vcode:outbox:retry) $(pending)"
expect_eq "dead: stats retried=2, dead=1" "2 1" "$(ostat retried) $(ostat dead)"
expect_match "dead: the sender's log names the dead-letter stream" \
    "HTTP 422.*dead-letter" "$(grep 'dead-letter' "$T/smsd-s7.log")"
# The back-off between the tries: 1 s, then 2 s.
gaps=$(grep "try [12] of 3 refused" "$T/smsd-s7.log" | sed -n 's/.*again in \([0-9]*\) ms.*/\1/p' | tr '\n' ' ')
expect_eq "dead: waited 1000 then 2000 ms between the tries" "1000 2000 " "$gaps"
set_mode ok
out=$("$SMSD" -c "$CONF" --replay-dead 2>&1)
expect_eq "replay: --replay-dead moves it back" "1 dead letters moved back into vcode:outbox" "$out"
wait_for 10 '[ "$(jq -s --arg m "$m" "[.[] | select(.mobile == \$m and .mode == \"ok\")] | length" "$FLOG")" = 1 ]'
expect_eq "replay: delivered with the code its key holds, dead stream empty" "$c 0" \
    "$(flast_r "$m" .code) $(rcli xlen vcode:outbox:dead)"
# A message a sender cannot read is parked, not retried forever.
rcli xadd vcode:outbox '*' mobile x junk 1 >/dev/null
wait_for 10 '[ "$(rcli xlen vcode:outbox:dead)" = 1 ]'
expect_eq "malformed: parked as a dead letter with its error" "a field missing" \
    "$(xentries vcode:outbox:dead | jq -r '.[0].error')"
rcli del vcode:outbox:dead >/dev/null
smsd_stop "$S7"

# ---- SIGTERM during a batch ----------------------------------------------------
stats_reset
set_mode hold:1
: >"$T/batch8"
queue_n 5 "$T/batch8"
smsd_start s8
S8=$SPID
wait_for 5 '[ "$(pending)" = 1 ]'
t0=$(date +%s%N)
smsd_stop "$S8"
t1=$(date +%s%N)
expect_eq "SIGTERM mid-send: exit 0" 0 "$SRC"
expect_range "SIGTERM mid-send: it finished within 3 s" 0 3000 $(((t1 - t0) / 1000000))
expect_eq "SIGTERM mid-send: nothing left unacknowledged" 0 "$(pending)"
sent=$(ostat sent)
expect_eq "SIGTERM mid-send: the message in hand was sent and acknowledged" \
    "$sent" "$(jq -r 'select(.ok) | .mobile' "$FLOG" | grep -cxFf "$T/batch8")"
expect_eq "SIGTERM mid-send: the rest wait in the stream" $((5 - sent)) "$(rcli xlen vcode:outbox)"
set_mode ok
smsd_start s8b
S8B=$SPID
wait_for 10 'all_once "$T/batch8"'
expect_eq "SIGTERM: a new sender delivers the rest, each once" "once=5 missing=0 extra=0" \
    "$(tally "$T/batch8")"
smsd_stop "$S8B"

# ---- Redis restarted under a stream of requests --------------------------------
stats_reset
set_mode hold:0.02
smsd_start s9
S9=$SPID
: >"$T/batch9"
(
	for i in $(seq 60); do
		m=$(new_mobile)
		id=$(new_id)
		if captcha meiduo "$id" 2>/dev/null; then
			sms meiduo "$m" "$ANSWER" "$id"
			[ "$(jv .code)" = 0 ] && echo "$m" >>"$T/batch9"
		fi
		sleep 0.05
	done
) &
LOOP=$!
sleep 1.5
stop_redis
sleep 1
start_redis --appendonly yes
wait "$LOOP"
n9=$(wc -l <"$T/batch9")
expect_range "restart: some requests were accepted around the restart" 10 60 "$n9"
wait_for 20 'all_once "$T/batch9"'
expect_eq "restart: every accepted message delivered exactly once" \
    "once=$n9 missing=0 extra=0" "$(tally "$T/batch9")"
expect_match "restart: the sender waited for Redis and said so" "redis unavailable.*nothing is lost" \
    "$(grep -m1 'redis unavailable' "$T/smsd-s9.log")"
expect_eq "restart: the sender is still running" yes "$(alive "$S9" && echo yes || echo no)"
smsd_stop "$S9"
set_mode ok

# ---- a full outbox refuses without counting --------------------------------------
restart VCODE_SMS_QUEUE_MAX=100
for i in $(seq 100); do echo "XADD vcode:outbox * filler $i"; done | rcli >/dev/null
m=$(new_mobile)
id=$(new_id)
captcha ihome "$id"
sms ihome "$m" "$ANSWER" "$id"
expect_code "full: the 101st message answers SMSSENDERR" ihome 200 SEND
expect_eq "full: no code, no daily count, the captcha kept" "0 0 1" \
    "$(rcli exists "sms_code_$m") $(rcli exists "vcode:daily:$m") $(rcli exists "image_code_$id")"
expect_match "full: vcoded's log says why" "outbox holds sms_queue_max = 100" \
    "$(grep -m1 'sms_queue_max' "$T/vcoded.stderr")"
rcli del vcode:outbox >/dev/null
sms ihome "$m" "$ANSWER" "$id"
expect_code "full: once drained, the same captcha is accepted" ihome 200 OK

# ---- senders supervised by vcoded's master ---------------------------------------
restart VCODE_SMSD_WORKERS=2
wait_for 5 '[ "$(grep -c "sending from" "$T/vcoded.stderr")" -ge 2 ]'
kids=$(children "$VC_MASTER" | wc -w)
expect_eq "smsd_workers=2: the master runs 4 workers and 2 senders" 6 "$kids"
: >"$T/batch10"
queue_n 10 "$T/batch10" news
wait_for 10 'all_once "$T/batch10"'
expect_eq "smsd_workers: all delivered, each once" "once=10 missing=0 extra=0" "$(tally "$T/batch10")"
spid=$(grep 'sending from' "$T/vcoded.stderr" | tail -n 1 | sed -n 's/.*vcoded\[\([0-9]*\)\].*/\1/p')
kill -KILL "$spid"
wait_for 5 '[ "$(grep -c "sending from" "$T/vcoded.stderr")" -ge 3 ]'
expect_eq "smsd_workers: a killed sender is respawned" 6 "$(children "$VC_MASTER" | wc -w)"
master=$VC_MASTER
kill -TERM "$master"
wait "$master"
expect_eq "smsd_workers: SIGTERM stops master, workers and senders, exit 0" 0 "$?"
VC_MASTER=""
MODE=none

# ---- a slow gateway does not hold the captcha route ------------------------------
set_mode hold:4
start_vcoded prefork
smsd_start s11
S11=$SPID
ids=()
cpids=()
for i in $(seq 20); do
	id=$(new_id)
	captcha meiduo "$id"
	ids+=("$id $ANSWER $(new_mobile)")
done
for x in "${ids[@]}"; do
	set -- $x
	curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 -G \
	    --data-urlencode "image_code=$2" --data-urlencode "uuid=$1" \
	    "$BASE/sms_codes/$3/" >>"$T/slow.sms" &
	cpids+=($!)
done
wait "${cpids[@]}"
for i in $(seq 40); do
	curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 \
	    "$BASE/image_codes/$(new_id)/" >>"$T/slow.img"
done
expect_eq "slow gateway: 20 SMS requests answered 200 in well under the 4 s hold" \
    "20 0" "$(grep -c '^200 ' "$T/slow.sms") $(awk '$2 >= 2' "$T/slow.sms" | wc -l)"
worst=$(awk '{ if ($2 + 0 > w) w = $2 + 0 } END { printf "%d", w * 1000 + 0.5 }' "$T/slow.img")
expect_eq "slow gateway: 40 captchas served while the sender waits" 40 "$(grep -c '^200 ' "$T/slow.img")"
expect_range "slow gateway: no captcha waited on the gateway (worst, ms)" 0 1000 "$worst"
it_note "captcha latency while 20 queued SMS wait on a 4 s gateway: worst $worst ms (p99: make bench)"
expect_eq "slow gateway: the sender has one message in hand" 1 "$(pending)"
{ kill -KILL "$S11"; wait "$S11"; } 2>/dev/null

# ---- every key has a TTL; an outbox that expired while idle comes back ---------
set_mode ok
smsd_start s12
S12=$SPID
wait_for 20 'outbox_empty && [ "$(pending)" = 0 ]'
expect_eq "ttl: the slow gateway's messages sent once the gateway is fast, the held one taken over" \
    "0 0 1" "$(rcli xlen vcode:outbox) $(pending) $(grep -c 'took over' "$T/smsd-s12.log")"
check_ttls "ttl: every key has a TTL, the outbox's included"
expect_range "ttl: the outbox outlives every code in it (sms_code_ttl + 3600 s)" \
    3600 3900 "$(rcli ttl vcode:outbox)"
expect_range "ttl: the stats are kept a week" 600000 604800 "$(rcli ttl vcode:outbox:stats)"
rcli pexpire vcode:outbox 200 >/dev/null
sleep 1.5
gen=$(rcli --json xinfo stream vcode:outbox 2>/dev/null |
    jq -r '.["last-generated-id"]')
expect_in "ttl: the idle outbox expired (a new, empty one since, or none)" "0-0|" "$gen"
m=$(new_mobile)
send_ok ihome "$m"
expect_code "ttl: a request after that is queued" ihome 200 OK
wait_for 10 '[ "$(fcount "$m")" = 1 ]'
expect_eq "ttl: and sent (the sender made the group again)" 1 "$(fcount "$m")"
smsd_stop "$S12"

# ---- SIGHUP reloads the sender's configuration ------------------------------------
smsd_start s13
S13=$SPID
cp "$CONF" "$T/conf.good"
sed -i "s|^webhook_url = .*|webhook_url = http://127.0.0.1:$FP/hook?reloaded=1|" "$CONF"
kill -HUP "$S13"
wait_for 5 'grep -q "reloaded" "$T/smsd-s13.log"'
m=$(new_mobile)
send_ok meiduo "$m"
wait_for 10 '[ "$(fcount "$m")" -ge 1 ]'
expect_eq "SIGHUP: the sender uses the new webhook_url (the stand-in saw its query)" \
    "unexpected query string" "$(flast_r "$m" .reason)"
echo "no_such_key = 1" >>"$CONF"
kill -HUP "$S13"
wait_for 5 'grep -q "reload refused" "$T/smsd-s13.log"'
expect_match "SIGHUP: a bad file is refused, naming the key" "reload refused: .*unknown key 'no_such_key'" \
    "$(grep -m1 'reload refused' "$T/smsd-s13.log")"
cp "$T/conf.good" "$CONF"
kill -HUP "$S13"
wait_for 5 '[ "$(grep -c "reloaded" "$T/smsd-s13.log")" -ge 2 ]'
wait_for 10 '[ "$(jq -s --arg m "$m" "[.[] | select(.mobile == \$m and .ok)] | length" "$FLOG")" = 1 ]'
expect_eq "SIGHUP: after the good file again, the retried message is delivered" "true" \
    "$(flast "$m" .ok)"
expect_eq "SIGHUP: the sender ran on throughout" yes "$(alive "$S13" && echo yes || echo no)"
smsd_stop "$S13"
expect_eq "SIGHUP: and stops with 0" 0 "$SRC"

# ---- no code, no full mobile in any log ------------------------------------------
jq -r '.code | select(length > 0)' "$FLOG" | sort -u >"$T/codes"
jq -r '.mobile | select(length > 0)' "$FLOG" | sort -u >"$T/mobiles"
leaks=""
for f in "$T"/smsd-*.log "$T/vcoded.stderr" "$T"/nginx-*.log; do
	[ -f "$f" ] || continue
	grep -qwFf "$T/codes" "$f" && leaks="$leaks $(basename "$f"):code"
	grep -qFf "$T/mobiles" "$f" && leaks="$leaks $(basename "$f"):mobile"
done
expect_eq "logs: no code and no full mobile in vcoded's, the senders' or nginx's logs ($(wc -l <"$T/codes") codes)" "" "${leaks# }"
expect_eq "logs: nginx's access log keeps no query string (a typed captcha answer)" 0 \
    "$(grep -c 'image_code=' "$T/nginx-access.log")"
expect_match "logs: nginx's access log masks the mobile of a meiduo path" \
    '"GET /sms_codes/1[0-9]{2}\*\*\*\*[0-9]{4}/" 200' "$(grep -m1 '/sms_codes/' "$T/nginx-access.log")"

it_done
