#!/bin/bash
# The alert rules shipped in deploy/prometheus/vcode-rules.yml: promtool
# (Debian's prometheus package) accepts them, and its rule unit tests
# (vcode-rules.test.yml) fire each alert on series that mean it and none
# on a quiet hour's.
. "$(dirname "$0")/lib.sh"
it_init
command -v promtool >/dev/null ||
    it_bail "promtool not installed (make testdeps installs prometheus)"
P="[rules]"
RULES=$ROOT/deploy/prometheus/vcode-rules.yml
out=$(promtool check rules "$RULES" 2>&1)
expect_match "$P promtool check rules: 8 rules, SUCCESS" "SUCCESS: 8 rules found" "$out"
out=$(cd "$IT_DIR" && promtool test rules vcode-rules.test.yml 2>&1)
rc=$?
expect_eq "$P promtool test rules: every alert fires when meant, none in a quiet hour" \
    "0 SUCCESS" "$rc $(printf '%s\n' "$out" | grep -o 'SUCCESS' | head -n 1)"
[ "$rc" = 0 ] || it_note "$out"
# The test fails when a rule is wrong: a threshold moved out of reach.
sed 's/> 0.8 \* max/> 8 * max/' "$RULES" >"$T/broken.yml"
sed "s|../../deploy/prometheus/vcode-rules.yml|$T/broken.yml|" \
    "$IT_DIR/vcode-rules.test.yml" >"$T/broken.test.yml"
promtool test rules "$T/broken.test.yml" >"$T/broken.out" 2>&1
rc=$?
expect_eq "$P ... and fails on a rule broken on purpose (budget at 800 %)" \
    "1 VcodeSmsBudgetNearlySpent" \
    "$rc $(grep -o 'alertname: VcodeSmsBudgetNearlySpent' "$T/broken.out" | head -n 1 | sed 's/alertname: //')"
it_done
