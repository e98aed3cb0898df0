#!/bin/sh
#
# clips.sh: remakes render/clips/, the spoken digits of the audio captcha.
#
# The clips are synthesised speech: the output of espeak-ng (Debian package
# espeak-ng; the program is GPL-3, the sound it produces is not covered by
# that licence), post-processed with sox. They are committed, so building
# vcode needs neither program; run this only to change them:
#
#	sh render/clips.sh		(from the top of the tree)
#
# Every file is raw PCM: signed 16-bit little-endian, mono, CLIP_RATE Hz,
# band-limited below 3.6 kHz (so that the mixer's resampling to 8000 Hz by
# linear interpolation does not alias), silence trimmed at both ends,
# peak-normalised to -1 dBFS, with 5 ms fades against clicks.
#
# Names are LANG-DIGIT-VARIANT.raw: LANG zh or en, DIGIT 0..9, VARIANT
# 1..6 (three pitches times two speeds). render/clips.S includes them in
# exactly this order and states the same rate and variant count; change
# the three together.
#
# Mandarin is spoken from pinyin with the cmn-latn-pinyin voice: espeak-ng
# 1.51's plain cmn voice reads most single digits (零, 一, 三 ...) as a
# syllable followed by its tone number in English ("ling two"). One is
# yi1 as written; yao1, the "one" of phone numbers, is the word to try if
# listeners confuse it with qi1 (seven).

set -eu

CLIP_RATE=16000
PITCHES="35 50 65"	# espeak-ng -p, 0..99
SPEEDS="150 185"	# espeak-ng -s, words a minute

here=$(cd "$(dirname "$0")" && pwd)
out=$here/clips
tmp=$(mktemp -d /tmp/vcode-clips.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for prog in espeak-ng sox; do
	command -v $prog >/dev/null ||
	    { echo "clips.sh: $prog is not installed" >&2; exit 1; }
done

# clip VOICE TEXT FILE: one digit, one pitch and speed, into FILE.
clip() {
	espeak-ng -v "$1" -p "$pitch" -s "$speed" -w "$tmp/s.wav" "$2"
	# 6 dB of headroom: the filters overshoot espeak-ng's full scale.
	sox "$tmp/s.wav" -b 32 -e float "$tmp/t.wav" gain -6 \
	    highpass 60 sinc -3600 rate -v "$CLIP_RATE" \
	    silence 1 0.002 0.05% reverse silence 1 0.002 0.05% reverse
	# A second pass: the fade needs the trimmed length.
	sox "$tmp/t.wav" -t raw -e signed -b 16 -L -c 1 "$3" \
	    fade t 0.005 -0 0.005 norm -1
}

mkdir -p "$out"
rm -f "$out"/*.raw
for lang in zh en; do
	if [ $lang = zh ]; then
		voice=cmn-latn-pinyin
		set -- ling2 yi1 er4 san1 si4 wu3 liu4 qi1 ba1 jiu3
	else
		voice=en-us
		set -- zero one two three four five six seven eight nine
	fi
	d=0
	for word in "$@"; do
		v=1
		for pitch in $PITCHES; do
			for speed in $SPEEDS; do
				clip $voice "$word" "$out/$lang-$d-$v.raw"
				v=$((v + 1))
			done
		done
		d=$((d + 1))
	done
done
du -cb "$out"/*.raw | tail -n 1
