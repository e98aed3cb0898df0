#!/bin/bash
# The captcha as users configure it, end to end through nginx: the default
# alphabet (answers compared case-insensitively), captcha_mode = math at
# 320x100, a Chinese alphabet with Debian's fonts-wqy-microhei, and fonts
# that are missing, broken or lack the alphabet refused at start-up.
. "$(dirname "$0")/lib.sh"
need_vcoded
# Characters, not bytes, in ${#ANSWER} and ${t:i:1}: C.UTF-8 is always there.
export LC_ALL=C.UTF-8
it_init
start_redis
start_nginx

CJK_FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
DEFAULT_ALPHABET=369ACDEFHKLMNPRTUVW
QUIET=(VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=0)

swapcase() { printf '%s' "$1" | tr 'a-zA-Z' 'A-Za-z'; }

# in_alphabet TEXT ALPHABET: "yes", or the first character not in it.
in_alphabet() {
	local t=$1 a=$2 c i
	for ((i = 0; i < ${#t}; i++)); do
		c=${t:i:1}
		[[ $a == *"$c"* ]] || { printf '%s' "$c"; return; }
	done
	printf yes
}

# ---- the default alphabet -------------------------------------------------
P="[text]"
if start_vcoded spawn "${QUIET[@]}"; then
	for d in $DIALECTS; do
		id=$(new_id)
		captcha "$d" "$id"
		expect_eq "$P $d: image 200 image/png" "200 image/png" "$H_STATUS $H_CTYPE"
		expect_eq "$P $d: PNG of the default 120x40" 120x40 "$(png_size "$T/last.body")"
		expect_match "$P $d: answer of 4 characters" '^.{4}$' "$ANSWER"
		expect_eq "$P $d: answer from the default alphabet" yes \
		    "$(in_alphabet "$ANSWER" "$DEFAULT_ALPHABET")"
		m=$(new_mobile)
		sms "$d" "$m" "$(swapcase "$ANSWER")" "$id"
		expect_code "$P $d: answer typed in the other case: OK" "$d" 200 OK
	done
	# 100 answers: every character from the alphabet, no look-alikes.
	bad=""
	for i in $(seq 100); do
		id=$(new_id)
		captcha meiduo "$id" || { bad="$bad image-$H_STATUS"; continue; }
		r=$(in_alphabet "$ANSWER" "$DEFAULT_ALPHABET")
		[ "$r" = yes ] || bad="$bad $r"
	done
	expect_eq "$P 100 answers: characters outside the alphabet" "" "${bad# }"
	stop_vcoded
fi

# ---- math at 320x100 ------------------------------------------------------
P="[math]"
if start_vcoded spawn "${QUIET[@]}" VCODE_CAPTCHA_MODE=math \
    VCODE_CAPTCHA_WIDTH=320 VCODE_CAPTCHA_HEIGHT=100; then
	for d in $DIALECTS; do
		id=$(new_id)
		captcha "$d" "$id"
		expect_eq "$P $d: PNG of 320x100" 320x100 "$(png_size "$T/last.body")"
		expect_match "$P $d: answer is a number" '^[0-9]{1,2}$' "$ANSWER"
		expect_range "$P $d: answer in 0..18" 0 18 "$ANSWER"
		m=$(new_mobile)
		sms "$d" "$m" "$((ANSWER + 1))" "$id"
		expect_code "$P $d: answer + 1 is wrong" "$d" 200 IMG_WRONG
		id=$(new_id)
		captcha "$d" "$id"
		sms "$d" "$m" "$ANSWER" "$id"
		expect_code "$P $d: the sum's answer: OK" "$d" 200 OK
	done
	seen=""
	for i in $(seq 60); do
		captcha news "$(new_id)" && seen="$seen $ANSWER"
	done
	n=$(printf '%s\n' $seen | grep -cvE '^([0-9]|1[0-8])$')
	expect_eq "$P 60 answers outside 0..18" 0 "$n"
	n=$(printf '%s\n' $seen | sort -u | wc -l)
	expect_range "$P 60 answers take several values" 5 19 "$n"
	stop_vcoded
fi

# ---- a Chinese alphabet ---------------------------------------------------
P="[cjk]"
HAN=验证码字图片汉
if [ ! -r "$CJK_FONT" ]; then
	fail "$P font" "$CJK_FONT (apt-get install fonts-wqy-microhei)" "missing"
elif start_vcoded spawn "${QUIET[@]}" VCODE_CAPTCHA_CHARSET=$HAN \
    VCODE_CAPTCHA_FONT=$CJK_FONT VCODE_CAPTCHA_WIDTH=160 VCODE_CAPTCHA_HEIGHT=50; then
	for d in $DIALECTS; do
		id=$(new_id)
		captcha "$d" "$id"
		expect_eq "$P $d: PNG of 160x50" 160x50 "$(png_size "$T/last.body")"
		expect_eq "$P $d: answer of 4 characters" 4 "${#ANSWER}"
		expect_eq "$P $d: answer from the alphabet" yes "$(in_alphabet "$ANSWER" "$HAN")"
		m=$(new_mobile)
		sms "$d" "$m" "$ANSWER" "$id"
		expect_code "$P $d: Chinese answer (UTF-8): OK" "$d" 200 OK
	done
	stop_vcoded
fi

# ---- fonts refused at start-up --------------------------------------------
P="[font]"
printf 'not a font at all\n' >"$T/broken.ttf"
head -c 2048 /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf >"$T/truncated.ttf"
# check_refused NAME WANT VAR=VALUE...: vcoded -t exits non-zero and says WANT.
check_refused() {
	local name=$1 want=$2 rc
	shift 2
	env "$@" timeout 10 "$VCODED" -t -c "$CONF" >"$T/t.out" 2>"$T/t.err"
	rc=$?
	expect_eq "$P $name: vcoded -t exits 1" 1 "$rc"
	expect_match "$P $name: message says why" "$want" "$(cat "$T/t.err")"
}
check_refused "missing file" "font /nonexistent/x.ttf: No such file" \
    VCODE_CAPTCHA_FONT=/nonexistent/x.ttf
check_refused "not a font" "font $T/broken.ttf: not a font" \
    VCODE_CAPTCHA_FONT="$T/broken.ttf"
check_refused "truncated font" "font $T/truncated.ttf: not a font" \
    VCODE_CAPTCHA_FONT="$T/truncated.ttf"
check_refused "Chinese alphabet, built-in fonts" \
    "captcha_charset: no glyph for '验' \\(U\\+9A8C\\)" VCODE_CAPTCHA_CHARSET=$HAN
env VCODE_CAPTCHA_FONT="$T/broken.ttf" timeout 10 "$VCODED" -c "$CONF" \
    >"$T/m.out" 2>"$T/m.err"
rc=$?
expect_eq "$P the prefork master refuses a broken font: exit 1" 1 "$rc"
expect_match "$P the master's message names the font" "font $T/broken.ttf" "$(cat "$T/m.err")"
expect_eq "$P nothing listens after a refused start" no \
    "$([ -S "$VC_SOCK" ] && echo yes || echo no)"

it_done
