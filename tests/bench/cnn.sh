#!/bin/sh
# tests/bench/cnn.sh: how often a small trained network solves our captchas.
#
#   sh tests/bench/cnn.sh [N_TRAIN] [EPOCHS] [CONFIG]      (make attack)
#
# The attacker with our source: renders N_TRAIN labelled samples (default
# 10000) with $VCODE_RENDER -n (answers in the file names; default
# build/vcode-render, point it at an older build to compare), trains a
# small convolutional network on them for EPOCHS (default 8) on the CPU,
# then scores it on CNN_TEST (default 1000) fresh samples. The network
# (tests/bench/cnn.py) is what one writes in an afternoon: grayscale 40x120,
# background to 0 and text bright, four conv3x3-BN-ReLU-maxpool blocks
# (32-64-128-192) down to 15 columns, two 1x3 convolutions along them and
# CTC (greedy decoding), Adam with a one-cycle schedule (peak 2e-3, or
# CNN_LR), batch 64, shifts of a few pixels as augmentation. CTC beat one
# classifier per position in small trials on the previous renderer
# (3000 samples, 3 epochs: 1.8% vs 0.0% exact, 19.6% vs 9.4% per
# character). Answers are folded to lower case, as the service compares
# them case-insensitively; the answer length comes from the training
# labels, so math mode (7+3=? answered 10) is not supported. Per-epoch
# lines give the loss and training time; the last two lines are
#   cnn: train=N epochs=E test=T length=L classes=C minutes=M.M
#   exact_solve=P.P% per_char=Q.Q%
# (per_char: characters right in their place; minutes: the whole run).
# Defaults take about 12 minutes on 2 idle cores, up to 25 when shared.
# CNN_SEED fixes the torch side (default 1; the renderer draws its own
# randomness), CNN_MODEL=pos swaps CTC for one classifier per position,
# CNN_AUG=0 turns the shifts off, CNN_KEEP=DIR keeps the samples. A
# benchmark: exits 0 whenever it ran, whatever the rate; non-zero only
# when it could not run. Needs Debian's python3 with torch, PIL and numpy
# (apt-get install python3-torch python3-pil).
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${VCODE_RENDER:-$here/build/vcode-render}
ntrain=${1:-10000}
epochs=${2:-8}
conf=${3:-}
ntest=${CNN_TEST:-1000}
seed=${CNN_SEED:-1}
start=$(date +%s)

for v in "$ntrain" "$epochs" "$ntest" "$seed"; do
	case $v in
	''|*[!0-9]*)
		echo "usage: sh tests/bench/cnn.sh [N_TRAIN] [EPOCHS] [CONFIG]" \
		    "(numbers; CNN_TEST, CNN_SEED too)" >&2
		exit 1;;
	esac
done
[ "$ntrain" -gt 0 ] && [ "$epochs" -gt 0 ] && [ "$ntest" -gt 0 ] ||
    { echo "cnn: N_TRAIN, EPOCHS and CNN_TEST must be > 0" >&2; exit 1; }

# Debian's python3 first: a pyenv python3 on PATH usually lacks torch.
py=
for p in /usr/bin/python3 $(command -v python3 2>/dev/null); do
	if [ -x "$p" ] && "$p" -c 'import torch, PIL, numpy' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || { echo "cnn: no python3 with torch, PIL and numpy" \
    "(apt-get install python3-torch python3-pil)" >&2; exit 1; }
[ -x "$bin" ] || { echo "cnn: $bin missing (run make)" >&2; exit 1; }
if [ -n "$conf" ]; then
	[ -r "$conf" ] || { echo "cnn: cannot read $conf" >&2; exit 1; }
	if grep -Eq '^[[:space:]]*captcha_mode[[:space:]]*=[[:space:]]*"?math' \
	    "$conf"; then
		echo "cnn: $conf sets captcha_mode = math, which this attack" \
		    "does not support (text mode only)" >&2
		exit 1
	fi
fi
case ${VCODE_CAPTCHA_MODE:-} in
*math*)
	echo "cnn: VCODE_CAPTCHA_MODE=math is not supported by this attack" \
	    "(text mode only)" >&2
	exit 1;;
esac

. "$here/tests/bench/workdir.sh"
bench_workdir cnn "${CNN_KEEP:-}"

echo "cnn: $bin, $ntrain training + $ntest test samples${conf:+, $conf}"
"$bin" ${conf:+-c "$conf"} -n "$ntrain" -o "$work/train" || exit 1
"$bin" ${conf:+-c "$conf"} -n "$ntest" -o "$work/test" || exit 1
"$py" "$here/tests/bench/cnn.py" "$work/train" "$work/test" "$epochs" \
    "$seed" "$start"
