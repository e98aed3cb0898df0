#!/bin/bash
# The demo page in a real browser: Debian's chromium, headless, driven by
# playwright-core (tests/browser/demo.js) at 1280x800 and 390x844 through
# nginx, with vcoded sending through the stand-in provider (webhook): the
# page loads, the captcha decodes, a click changes it (?pre=), "listen"
# plays the audio challenge, the heard digits and a mobile typed, "get SMS
# code" shows the success text and the 60 s countdown, the message reaches
# the stand-in, the code typed verifies, a wrong answer shows the dialect's
# errmsg and a fresh captcha, the countdown survives a reload, nothing is
# wider than a phone. Screenshots: $B/screenshots/ beside the binary.
. "$(dirname "$0")/lib.sh"
need_vcoded
SHOTS=$(dirname "$VCODED")/screenshots
it_init
command -v node >/dev/null || it_bail "node not found (apt-get install nodejs npm)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || it_bail "chromium not found (apt-get install chromium)"
BR=$ROOT/tests/browser
if ! [ -d "$BR/node_modules/playwright-core" ]; then
	(cd "$BR" && npm install --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 ||
	    it_bail "npm install of playwright-core failed: $(tail -n 3 "$T/npm.log")"
fi
fake_init
fake_start
set_mode ok
write_conf "sms_provider = webhook" "webhook_url = http://127.0.0.1:$FP/hook" \
    "webhook_secret = $WSECRET" "ip_hourly_limit = 0" "prefix_hourly_limit = 0"
it_up prefork || it_done
rm -rf "$SHOTS"
BASE=$BASE REDIS_SOCK=$REDIS_SOCK FLOG=$FLOG SHOTS=$SHOTS \
    timeout 180 node "$BR/demo.js" >"$T/browser.out" 2>&1
rc=$?
grep -E '^(ok|FAIL) - ' "$T/browser.out"
PASSN=$((PASSN + $(grep -c '^ok - ' "$T/browser.out")))
FAILN=$((FAILN + $(grep -c '^FAIL - ' "$T/browser.out")))
grep -vE '^(ok|FAIL) - ' "$T/browser.out" | head -n 5 | sed 's/^/# /'
expect_eq "the browser run ended cleanly" 0 "$rc"
expect_eq "12 screenshots saved in $SHOTS" 12 "$(ls "$SHOTS"/*.png 2>/dev/null | wc -l)"
it_done
