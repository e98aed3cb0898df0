"""tests/bench/cnn.py: train a small CNN on rendered captchas, score it on
fresh ones. Driven by tests/bench/cnn.sh (read its header first):

    python3 cnn.py TRAIN_DIR TEST_DIR EPOCHS SEED START_EPOCH_SECONDS

TRAIN_DIR and TEST_DIR hold vcode-render -n output (ANSWER_I.png, '/' and
'%' in ANSWER percent-encoded). Answers are folded with .lower(), as the
service compares them case-insensitively. Exit 0 when it ran, 2 when the
samples cannot be attacked this way (answer length varies: math mode).

CNN_MODEL picks the head on top of the shared convolutional trunk:
  ctc  (default) the feature map is collapsed to one feature vector per
       column (15 of them), two 1x3 convolutions along the columns, a
       classifier per column, CTC aligns them with the answer; greedy
       decoding.
  pos  flattened feature map -> one classifier head per answer position,
       cross-entropy.
CTC solved more in the small trials on the previous renderer, see cnn.sh.
"""
import math
import os
import sys
import time
import urllib.parse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

H, W = 40, 120          # network input, grayscale
BATCH = 64
LR = float(os.environ.get("CNN_LR", "2e-3"))   # one-cycle peak


def load(d):
    """All PNGs of d as uint8 [N, H, W] (decoded once) and folded answers."""
    names = sorted(n for n in os.listdir(d) if n.endswith(".png"))
    x = np.empty((len(names), H, W), np.uint8)
    answers = []
    for i, n in enumerate(names):
        answers.append(urllib.parse.unquote(n[:-4].rsplit("_", 1)[0]).lower())
        with Image.open(os.path.join(d, n)) as im:
            im = im.convert("L")
            if im.size != (W, H):
                im = im.resize((W, H), Image.BILINEAR)
            x[i] = np.asarray(im)
    return x, answers


def prepare(x):
    """uint8 [N, H, W] -> float [N, 1, H, W]: background (the median) at 0,
    text bright whatever the colours (dark backgrounds carry light text),
    unit standard deviation per image."""
    x = torch.from_numpy(x).float()
    med = x.flatten(1).median(1).values.view(-1, 1, 1)
    x = x - med
    x = torch.where(med < 128, x, -x)
    x = x / (x.flatten(1).std(1).view(-1, 1, 1) + 1.0)
    return x.unsqueeze(1).contiguous()


def block(cin, cout, pool):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(pool)]


class Net(nn.Module):
    """Every layer is a convolution: Debian's torch has a generic BLAS, so
    nn.Linear and nn.GRU are ten times slower on the CPU than oneDNN's
    convolutions (a linear layer below is a convolution over the whole
    feature map)."""

    def __init__(self, model, length, classes):
        super().__init__()
        self.model, self.length, self.classes = model, length, classes
        if model == "ctc":
            # 40x120 -> 20x60 -> 10x30 -> 5x15 -> 1x15: 15 columns of 8
            # pixels, then two 1x3 convolutions along them and a
            # per-column classifier.
            self.trunk = nn.Sequential(*block(1, 32, 2), *block(32, 64, 2),
                                       *block(64, 128, 2),
                                       *block(128, 192, (H // 8, 1)))
            self.head = nn.Sequential(
                nn.Conv2d(192, 256, (1, 3), padding=(0, 1), bias=False),
                nn.BatchNorm2d(256), nn.ReLU(inplace=True),
                nn.Conv2d(256, 256, (1, 3), padding=(0, 1), bias=False),
                nn.BatchNorm2d(256), nn.ReLU(inplace=True),
                nn.Dropout(0.2), nn.Conv2d(256, classes + 1, 1))  # 0: blank
        else:
            # 40x120 -> 20x60 -> 10x30 -> 5x15 -> 2x7, then a fully
            # connected layer and one classifier per position.
            self.trunk = nn.Sequential(*block(1, 32, 2), *block(32, 64, 2),
                                       *block(64, 128, 2), *block(128, 192, 2))
            self.head = nn.Sequential(
                nn.Dropout(0.3), nn.Conv2d(192, 512, (H // 16, W // 16)),
                nn.ReLU(inplace=True), nn.Dropout(0.3),
                nn.Conv2d(512, length * classes, 1))

    def forward(self, x):
        f = self.head(self.trunk(x))
        if self.model == "ctc":
            return f.squeeze(2).transpose(1, 2)             # [B, T, C+1]
        return f.view(-1, self.length, self.classes)

    def loss(self, logits, y):
        if self.model == "ctc":
            lp = logits.log_softmax(2).transpose(0, 1)      # [T, B, C+1]
            n, t = y.shape[0], lp.shape[0]
            return F.ctc_loss(lp, y + 1,
                              torch.full((n,), t, dtype=torch.long),
                              torch.full((n,), self.length, dtype=torch.long),
                              zero_infinity=True)
        return F.cross_entropy(logits.reshape(-1, self.classes), y.reshape(-1))

    def decode(self, logits):
        """Class index lists, one per sample."""
        if self.model == "pos":
            return logits.argmax(2).tolist()
        out = []
        for seq in logits.argmax(2).tolist():
            s, prev = [], 0
            for k in seq:
                if k != prev and k != 0:
                    s.append(k - 1)
                prev = k
            out.append(s)
        return out


def shift(x, gen):
    """Light augmentation: each image moved by up to 3 px across and 2 px
    down or up, edges repeated."""
    p = F.pad(x, (3, 3, 2, 2), mode="replicate")
    dx = torch.randint(0, 7, (x.shape[0],), generator=gen).tolist()
    dy = torch.randint(0, 5, (x.shape[0],), generator=gen).tolist()
    return torch.stack([p[i, :, b:b + H, a:a + W]
                        for i, (a, b) in enumerate(zip(dx, dy))])


def main():
    t0 = time.time()
    train_dir, test_dir = sys.argv[1], sys.argv[2]
    epochs, seed = int(sys.argv[3]), int(sys.argv[4])
    start = float(sys.argv[5]) if len(sys.argv) > 5 else t0
    model = os.environ.get("CNN_MODEL", "ctc")
    augment = os.environ.get("CNN_AUG", "1") != "0"
    if model not in ("ctc", "pos"):
        sys.exit(f"cnn: CNN_MODEL={model}: ctc or pos")
    torch.set_num_threads(2)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)

    xtr, atr = load(train_dir)
    xte, ate = load(test_dir)
    if not atr or not ate:
        sys.exit("cnn: no samples rendered")
    lengths = sorted({len(a) for a in atr})
    if len(lengths) != 1:
        print(f"cnn: answer lengths vary ({', '.join(map(str, lengths))}): "
              "math mode (7+3=? answered 10) is not supported by this "
              "attack, only fixed-length text", file=sys.stderr)
        sys.exit(2)
    length = lengths[0]
    alphabet = sorted(set("".join(atr)))
    index = {c: i for i, c in enumerate(alphabet)}
    classes = len(alphabet)
    if model == "ctc" and 2 * length + 1 > W // 8:
        print(f"cnn: {length} characters are too many for CTC over "
              f"{W // 8} columns; use CNN_MODEL=pos", file=sys.stderr)
        sys.exit(2)
    print(f"cnn: model={model} loaded {len(atr)} train + {len(ate)} test "
          f"images in {time.time() - t0:.1f}s; length={length} "
          f"classes={classes} ({''.join(alphabet)})", flush=True)

    xtr, xte = prepare(xtr), prepare(xte)
    ytr = torch.tensor([[index[c] for c in a] for a in atr], dtype=torch.long)
    net = Net(model, length, classes)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    steps = epochs * math.ceil(len(atr) / BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=LR, total_steps=steps, pct_start=0.1)
    train_s = 0.0
    for ep in range(1, epochs + 1):
        te = time.time()
        net.train()
        perm = torch.randperm(len(atr), generator=gen)
        total, seen = 0.0, 0
        for i in range(0, len(atr), BATCH):
            idx = perm[i:i + BATCH]
            xb = xtr[idx]
            if augment:
                xb = shift(xb, gen)
            loss = net.loss(net(xb), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        dt = time.time() - te
        train_s += dt
        print(f"epoch {ep}/{epochs} loss={total / seen:.4f} "
              f"lr={sched.get_last_lr()[0]:.2e} time={dt:.0f}s "
              f"train={train_s / 60:.1f}min", flush=True)

    net.eval()
    exact = right = chars = 0
    with torch.no_grad():
        for i in range(0, len(ate), 256):
            for a, p in zip(ate[i:i + 256], net.decode(net(xte[i:i + 256]))):
                g = "".join(alphabet[k] for k in p)
                exact += a == g
                right += sum(u == v for u, v in zip(a, g))
                chars += len(a)
    print(f"cnn: train={len(atr)} epochs={epochs} test={len(ate)} "
          f"length={length} classes={classes} "
          f"minutes={(time.time() - start) / 60:.1f}")
    print(f"exact_solve={100.0 * exact / len(ate):.1f}% "
          f"per_char={100.0 * right / chars:.1f}%")


if __name__ == "__main__":
    main()
