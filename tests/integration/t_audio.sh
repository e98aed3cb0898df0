#!/bin/bash
# The audio captcha end to end through nginx, in every dialect: a WAV that
# parses (RIFF/WAVE, PCM mono 8000 Hz, length as the header says, under
# 50,000 bytes), its answer stored under the captcha key as digits of
# captcha_audio_length with captcha_ttl, one attempt (right or wrong, the
# answer is gone after it), the image's answer replaced, lang, and the
# same refusals as the image route (missing or malformed id, bad lang,
# wrong method, Redis down).
. "$(dirname "$0")/lib.sh"
need_vcoded
it_init
start_redis
start_nginx

QUIET=(VCODE_SMS_INTERVAL=0 VCODE_IP_HOURLY_LIMIT=0)

# audio DIALECT ID [EXTRA QUERY]: GET the spoken captcha.
audio() {
	local q=${3:+&$3}
	case $1 in
	meiduo) http GET "/image_codes/$2/audio${3:+?$3}" ;;
	ihome)	http GET "/image_code/audio?uuid=$2$q" ;;
	news)	http GET "/passport/image_code/audio?code_id=$2$q" ;;
	esac
}

# wav_info FILE: "rate channels bits frames size" from the WAV header, as
# Python's wave module reads it, or "bad: why".
wav_info() {
	python3 - "$1" <<'EOF'
import os, sys, wave
try:
    with wave.open(sys.argv[1]) as w:
        n = w.getnframes()
        data = w.readframes(n)
        if len(data) != n * w.getsampwidth() * w.getnchannels():
            print("bad: data shorter than the header says"); sys.exit()
        print(w.getframerate(), w.getnchannels(), 8 * w.getsampwidth(), n,
              os.path.getsize(sys.argv[1]))
except Exception as e:
    print("bad:", e)
EOF
}

# audio_answer DIALECT ID [EXTRA QUERY]: fetches the audio, sets ANSWER
# from Redis. Returns 1 when either step failed.
audio_answer() {
	ANSWER=""
	audio "$@"
	[ "$H_STATUS" = 200 ] || return 1
	ANSWER=$(rcli get "$(ckey "$1" "$2")")
	[ -n "$ANSWER" ]
}

P="[audio]"
if start_vcoded spawn "${QUIET[@]}"; then
	for d in $DIALECTS; do
		id=$(new_id)
		audio_answer "$d" "$id"
		expect_eq "$P $d: 200 audio/wav" "200 audio/wav" "$H_STATUS $H_CTYPE"
		expect_eq "$P $d: Cache-Control no-store" no-store "$(hdr Cache-Control)"
		read -r rate ch bits frames size <<<"$(wav_info "$T/last.body")"
		expect_eq "$P $d: WAV mono 8000 Hz, 8 or 16 bits" "8000 1 ok" \
		    "$rate $ch $([ "$bits" = 8 ] || [ "$bits" = 16 ] && echo ok || echo "$bits bits")"
		expect_range "$P $d: WAV bytes (< 50,000)" 1000 49999 "$size"
		# Six digits with pauses: at least 1.5 s of sound, at most 6 s.
		expect_range "$P $d: WAV frames (1.5..6 s at 8 kHz)" 12000 48000 "$frames"
		expect_match "$P $d: answer is 6 digits" '^[0-9]{6}$' "$ANSWER"
		expect_range "$P $d: answer's TTL is captcha_ttl (300)" 290 300 \
		    "$(rcli ttl "$(ckey "$d" "$id")")"
		m=$(new_mobile)
		sms "$d" "$m" "$ANSWER" "$id"
		expect_code "$P $d: spoken digits typed: OK" "$d" 200 OK
		expect_eq "$P $d: answer deleted by its one attempt" "" \
		    "$(rcli get "$(ckey "$d" "$id")")"
		sms "$d" "$(new_mobile)" "$ANSWER" "$id"
		expect_code "$P $d: the same answer again is refused" "$d" 200 IMG_MISSING

		# A wrong answer consumes it too.
		id=$(new_id)
		audio_answer "$d" "$id"
		wrong=$(printf '%06d' $(((10#$ANSWER + 1) % 1000000)))
		sms "$d" "$(new_mobile)" "$wrong" "$id"
		expect_code "$P $d: wrong digits: IMAGECODEERR" "$d" 200 IMG_WRONG
		sms "$d" "$(new_mobile)" "$ANSWER" "$id"
		expect_code "$P $d: right digits after a wrong try: refused" "$d" 200 IMG_MISSING

		# The image then the audio under one id: one answer, the audio's.
		id=$(new_id)
		captcha "$d" "$id"
		image_answer=$ANSWER
		audio_answer "$d" "$id"
		expect_match "$P $d: audio after image: the key holds digits" \
		    '^[0-9]{6}$' "$ANSWER"
		sms "$d" "$(new_mobile)" "$image_answer" "$id"
		expect_code "$P $d: the replaced image answer is wrong" "$d" 200 IMG_WRONG
	done

	# lang: both languages answer, and differ; a third is refused.
	audio meiduo "$(new_id)" lang=en
	expect_eq "$P lang=en: 200 audio/wav" "200 audio/wav" "$H_STATUS $H_CTYPE"
	cp "$T/last.body" "$T/en.wav"
	audio meiduo "$(new_id)" lang=zh
	expect_eq "$P lang=zh: 200 audio/wav" "200 audio/wav" "$H_STATUS $H_CTYPE"
	expect_eq "$P lang=zh and lang=en: different replies" differ \
	    "$(cmp -s "$T/en.wav" "$T/last.body" && echo same || echo differ)"
	for d in $DIALECTS; do
		audio "$d" "$(new_id)" lang=fr
		expect_code "$P $d lang=fr: 400 PARAMERR" "$d" 400 PARAM
		audio "$d" "$(new_id)" lang=
		expect_eq "$P $d lang= (empty): default language, 200" 200 "$H_STATUS"
	done

	# What the image route refuses, the audio route refuses.
	http GET "/image_code/audio"
	expect_code "$P ihome: no uuid: 400 NECESSARY" ihome 400 IMG_MISSING
	http GET "/passport/image_code/audio"
	expect_code "$P news: no code_id: 400 NECESSARY" news 400 IMG_MISSING
	for d in $DIALECTS; do
		audio "$d" "bad%20id%0a"
		expect_code "$P $d: malformed id: 400 PARAMERR" "$d" 400 PARAM
		expect_match "$P $d: malformed id: JSON" '^application/json' "$H_CTYPE"
	done
	http POST "/image_codes/$(new_id)/audio"
	expect_eq "$P POST: 405 with Allow: GET" "405 GET" "$H_STATUS $(hdr Allow)"
	http GET "/image_codes/$(new_id)/audio/more"
	expect_eq "$P /audio/more: 404" 404 "$H_STATUS"

	# 200 replies: answers are uniform enough and every reply is fresh.
	seen=""
	for i in $(seq 30); do
		audio_answer news "$(new_id)" && seen="$seen $ANSWER"
	done
	expect_eq "$P 30 answers: 30 distinct" 30 \
	    "$(printf '%s\n' $seen | sort -u | wc -l)"
	stop_vcoded
fi

# captcha_audio_length = 4.
P="[audio-4]"
if start_vcoded spawn "${QUIET[@]}" VCODE_CAPTCHA_AUDIO_LENGTH=4; then
	audio_answer ihome "$(new_id)"
	expect_match "$P answer is 4 digits" '^[0-9]{4}$' "$ANSWER"
	read -r rate ch bits frames size <<<"$(wav_info "$T/last.body")"
	expect_range "$P WAV frames (1..5 s)" 8000 40000 "$frames"
	stop_vcoded
fi

# Redis down: 503 DBERR in JSON, and back when it returns.
P="[audio-redis]"
if start_vcoded spawn "${QUIET[@]}"; then
	stop_redis
	for d in $DIALECTS; do
		audio "$d" "$(new_id)"
		expect_code "$P $d: Redis down: 503 DBERR" "$d" 503 DB
		expect_match "$P $d: Redis down: JSON, not WAV" '^application/json' "$H_CTYPE"
	done
	start_redis
	ok_after=no
	for i in $(seq 40); do
		audio ihome "$(new_id)"
		[ "$H_STATUS" = 200 ] && { ok_after=yes; break; }
		sleep 0.1
	done
	expect_eq "$P Redis back: audio answers 200 again" yes "$ok_after"
	stop_vcoded
fi

it_done
