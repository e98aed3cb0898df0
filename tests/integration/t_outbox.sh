#!/bin/bash
# The outbox against what a sender must survive: entries it did not write
# (a key of the wrong type, a retry member that is not a message, 4,100
# field pairs, a NUL in a mobile, a field given twice, a nested JSON
# value), each parked once as a dead letter saying why while delivery
# goes on; a gateway slower than the client's timeout, which must see no
# more requests than the limits allow (sms_resend_unknown, the hourly
# budget, --replay-dead); a Redis outage longer than sms_claim_idle_ms in
# the middle of a send with two senders, which must not send twice; and
# a message whose clock says its code expired while its key is live.
. "$(dirname "$0")/lib.sh"
smsd_init
start_redis --appendonly yes --appendfsync always
start_nginx

queue_conf "sms_claim_idle_ms = 9500" "workers = 2"
set_mode ok
start_vcoded prefork || it_done

# rpipe: redis-cli reading commands from stdin, where "..." strings take
# \xHH escapes (a NUL byte in a value).
rpipe() { timeout 5 redis-cli -s "$REDIS_SOCK"; }
# deadwhy FROM: the error of the dead letter that came from id FROM.
deadwhy() { xentries vcode:outbox:dead | jq -r --arg f "$1" '.[] | select(.from == $f) | .error'; }
now=$(date +%s)
exp=$((now + 300))

# ---- entries a sender did not write -------------------------------------------
stats_reset
rcli del vcode:outbox:dead >/dev/null
rcli xgroup create vcode:outbox vcode-smsd 0 mkstream >/dev/null 2>&1
m1=$(new_mobile); m2=$(new_mobile); m3=$(new_mobile); m4=$(new_mobile)
rcli set "sms_$m1" 111111 EX 300 >/dev/null
# The stream itself as the code key: GET on it is a WRONGTYPE error.
id_type=$(rcli xadd vcode:outbox '*' mobile "$m1" code 111111 key vcode:outbox \
    minutes 5 dialect meiduo queued 1 expires "$exp" tries 0)
# A NUL inside the mobile: "1381111" NUL "2222".
id_nul=$(printf 'XADD vcode:outbox * mobile "%s\\x00%s" code 222222 key sms_%s minutes 5 dialect meiduo queued 1 expires %s tries 0\n' \
    "${m2:0:7}" "${m2:7}" "$m2" "$exp" | rpipe)
rcli set "sms_$m2" 222222 EX 300 >/dev/null
# The mobile given twice: one person's code to another number.
rcli set "sms_$m3" 333333 EX 300 >/dev/null
id_twice=$(rcli xadd vcode:outbox '*' mobile "$m3" code 333333 key "sms_$m3" \
    minutes 5 dialect meiduo queued 1 expires "$exp" tries 0 mobile "$m4")
# 4,100 field pairs.
id_many=$({ printf 'XADD vcode:outbox * mobile %s code 444444 key sms_%s minutes 5 dialect meiduo queued 1 expires %s tries 0' \
    "$m4" "$m4" "$exp"; for i in $(seq 4100); do printf ' f%d v' "$i"; done; echo; } | rpipe)
# Retry-set members that are not messages: {} and a nested value.
rcli zadd vcode:outbox:retry 0 '{}' >/dev/null
rcli zadd vcode:outbox:retry 0 "{\"from\":\"9-9\",\"mobile\":{\"a\":1},\"code\":\"555555\",\"key\":\"sms_$m4\",\"minutes\":\"5\",\"dialect\":\"meiduo\",\"queued\":\"1\",\"expires\":\"$exp\",\"tries\":\"0\"}" >/dev/null
smsd_start p1
P1=$SPID
smsd_start p2
P2=$SPID
: >"$T/after"
queue_n 3 "$T/after"
wait_for 15 'all_once "$T/after" && outbox_empty && [ "$(pending)" = 0 ]'
expect_eq "poison: 3 requests accepted afterwards, each delivered once" \
    "once=3 missing=0 extra=0" "$(tally "$T/after")"
expect_eq "poison: six dead letters, one per bad entry" 6 "$(rcli xlen vcode:outbox:dead)"
expect_match "poison: the wrong-type key is named as the reason" \
    "not its mobile's code key" "$(deadwhy "$id_type")"
expect_match "poison: the NUL in the mobile is the reason" "control byte" "$(deadwhy "$id_nul")"
expect_match "poison: the field given twice is the reason" "twice" "$(deadwhy "$id_twice")"
expect_match "poison: 4,100 field pairs are too many" "too many fields" "$(deadwhy "$id_many")"
expect_match "poison: the nested value is not a string" "not a string" "$(deadwhy 9-9)"
expect_eq "poison: the member {} has no id it came from" 1 \
    "$(xentries vcode:outbox:dead | jq '[.[] | select(.error == "no id it came from")] | length')"
expect_eq "poison: no request to a cut, swapped or made-up number" "0 0 0 0 0" \
    "$(fcount "$m1") $(fcount "$m2") $(fcount "${m2:0:7}") $(fcount "$m3") $(fcount "$m4")"
expect_eq "poison: no request for a table in Lua's words" 0 \
    "$(grep -c 'table: 0x' "$FLOG")"
expect_eq "poison: nothing left in the retry set" 0 "$(rcli zcard vcode:outbox:retry)"
logs=$(cat "$T/smsd-p1.log" "$T/smsd-p2.log")
expect_nomatch "poison: no outage said for a refused entry" "redis unavailable" "$logs"
expect_eq "poison: each bad stream entry said once" 1 \
    "$(echo "$logs" | grep -c "message $id_type).*dead-letter")"
expect_nomatch "poison: the retry set is not refused in a loop" "Wrong number of args" "$logs"
expect_nomatch "poison: no full mobile in the senders' logs" "$m1|$m3|$m4" "$logs"
smsd_stop "$P1"
smsd_stop "$P2"
rcli del vcode:outbox:dead >/dev/null

# ---- a gateway slower than the client's timeout -------------------------------
# The stand-in answers OK after 8 s; the client gives up after 5 s: each
# request may have been delivered.
stats_reset
: >"$FLOG"
set_mode hold:8
: >"$T/slow"
queue_n 3 "$T/slow"
smsd_start s1
S1=$SPID
wait_for 30 '[ "$(ostat unknown_final)" = 3 ]'
expect_eq "slow: 3 codes, 3 requests: none sent blindly again" \
    "3 3 0 0" "$(wc -l <"$FLOG" | tr -d ' ') $(ostat unknown) $(ostat retried) $(rcli xlen vcode:outbox:dead)"
out=$("$SMSD" -c "$CONF" --replay-dead 2>&1)
expect_eq "slow: --replay-dead has nothing to send again" "0 dead letters moved back into vcode:outbox" "$out"
sleep 1
expect_eq "slow: still 3 requests" 3 "$(wc -l <"$FLOG" | tr -d ' ')"
expect_match "slow: the log says why it is not sent again" "may have been delivered" \
    "$(cat "$T/smsd-s1.log")"
smsd_stop "$S1"
# sms_resend_unknown = 1 within an hourly budget of 4: the 3 codes took 3;
# the one resend the budget has left goes out, the others do not.
: >"$FLOG"
rcli del vcode:budget >/dev/null
stats_reset
restart VCODE_SMS_HOURLY_BUDGET=4
: >"$T/slow2"
queue_n 3 "$T/slow2"
expect_eq "slow, budget 4: the 3 requests took 3 of it" 3 "$(rcli get vcode:budget)"
smsd_start s2 VCODE_SMS_RESEND_UNKNOWN=1 VCODE_SMS_HOURLY_BUDGET=4
S2=$SPID
wait_for 45 '[ "$(ostat unknown_final)" = 3 ]'
sleep 1
expect_eq "slow, resend 1, budget 4: the gateway saw 4 requests, the budget" \
    "4 4" "$(wc -l <"$FLOG" | tr -d ' ') $(rcli get vcode:budget)"
expect_eq "slow, resend 1: no code requested more than twice" 0 \
    "$(jq -r .mobile "$FLOG" | sort | uniq -c | awk '$1 > 2' | wc -l)"
expect_match "slow: the budget stopped the other resends" "budget is spent" \
    "$(cat "$T/smsd-s2.log")"
smsd_stop "$S2"
set_mode ok
restart

# ---- Redis away longer than sms_claim_idle_ms, mid-send, two senders ----------
stats_reset
: >"$FLOG"
set_mode hold:2
smsd_start a
SA=$SPID
m=$(new_mobile)
send_ok meiduo "$m"
wait_for 5 '[ "$(fcount "$m")" = 1 ]'
sleep 0.5			# 1.5 s into a 2 s send
stop_redis
smsd_start b
SB=$SPID
sleep 11			# past sms_claim_idle_ms (9.5 s)
start_redis --appendonly yes --appendfsync always
wait_for 20 '[ "$(pending)" = 0 ] && outbox_empty'
sleep 2
expect_eq "outage: the code was requested once" 1 "$(fcount "$m")"
expect_eq "outage: not sent again by the sender that took it over" 0 "$(ostat resent)"
it_note "outage: finished by $(ostat late | sed 's/^0$/the sender that sent it/; s/^1$/the sender that took it over, the sender that sent it late/')"
smsd_stop "$SA"
smsd_stop "$SB"
set_mode ok

# ---- a message whose clock says expired, its key live -------------------------
stats_reset
smsd_start k
SK=$SPID
for ago in 61 400; do
	m=$(new_mobile)
	rcli set "sms_$m" 765432 EX 298 >/dev/null
	rcli xadd vcode:outbox '*' mobile "$m" code 765432 key "sms_$m" minutes 5 \
	    dialect meiduo queued 1 expires $(($(date +%s) - ago)) tries 0 >/dev/null
	wait_for 5 '[ "$(fcount "$m")" = 1 ]'
	expect_eq "skew: expired ${ago} s ago by its clock, live by its key: sent" 1 "$(fcount "$m")"
done
expect_eq "skew: said as a warning, twice" 2 \
    "$(grep -c 'warn: .*clocks of this host and the web host differ' "$T/smsd-k.log")"
smsd_stop "$SK"

it_done
