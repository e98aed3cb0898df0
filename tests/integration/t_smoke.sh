#!/bin/bash
# deploy/smoke.sh, the curl smoke test a site runs against its own
# deployment, run here against nginx and vcoded's prefork pool: every
# check passes, no SMS is sent, and it fails, saying what, when the
# deployment is not what it is told (another captcha size, Redis down).
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx
SMOKE=$ROOT/deploy/smoke.sh

P="[smoke]"
if start_vcoded prefork; then
	sh "$SMOKE" "$BASE" >"$T/smoke.out" 2>&1
	rc=$?
	expect_eq "$P all three dialects: exit status 0 (the failures)" 0 "$rc"
	expect_eq "$P ... 37 checks, none failed" "# 37 checks, 0 failed" \
	    "$(tail -n 1 "$T/smoke.out")"
	expect_eq "$P ... one line per check, ok" 37 "$(grep -c '^ok - ' "$T/smoke.out")"
	expect_eq "$P ... and no SMS sent (the dev SMS log is empty, no daily counter)" \
	    "0 " "$(wc -l <"$SMS_LOG" | tr -d ' ') $(rcli keys 'vcode:daily:*')"
	sh "$SMOKE" "$BASE" --dialects news --size 100x30 >"$T/smoke.out" 2>&1
	rc=$?
	expect_eq "$P told 100x30 of a 120x40 site: exit status 1, the size check fails" \
	    "1 FAIL - news captcha: 100x30: expected 100x30, saw 120x40" \
	    "$rc $(grep '^FAIL' "$T/smoke.out")"
	stop_redis
	sh "$SMOKE" "$BASE" --dialects meiduo >"$T/smoke.out" 2>&1
	rc=$?
	expect_match "$P Redis down: healthz fails, said so" \
	    '^FAIL - healthz: 200 \{"status":"ok"\}: expected 200 \{"status":"ok"\}, saw 503' \
	    "$(grep healthz "$T/smoke.out")"
	expect_eq "$P ... exit status the number of failures" \
	    "$(grep -c '^FAIL' "$T/smoke.out")" "$rc"
	start_redis
	stop_vcoded
fi
it_done
