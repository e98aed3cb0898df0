"""tests/bench/seed_flask.py: the seed's captcha view as the Python
tutorials teach it, for make bench's FastCGI comparison (fcgi.sh): Flask,
Pillow and redis-py, served by gunicorn's sync workers behind nginx.

  GET /api/v1.0/image_codes/<image_code_id>
      4 random characters, stored with SETEX image_code_<id> 300, drawn on
      a 120x40 PNG (DejaVu Sans, noise lines and points); image/png.

  gunicorn -w 4 -b unix:SOCK --chdir tests/bench seed_flask:app

Redis is reached on the unix socket in $VCODE_BENCH_REDIS; the font is
$VCODE_BENCH_FONT (default: fonts-dejavu-core's DejaVuSans.ttf), opened
once per worker in two sizes, not once per image."""
import io
import os
import random
import string

import redis
from flask import Flask, jsonify, make_response
from PIL import Image, ImageDraw, ImageFilter, ImageFont

WIDTH, HEIGHT = 120, 40
LENGTH = 4
TTL = 300
# Capitals and digits without the look-alikes 0/O and 1/I.
CHARSET = "".join(c for c in string.ascii_uppercase + string.digits
                  if c not in "0O1I")
FONT = os.environ.get("VCODE_BENCH_FONT",
                      "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONTS = [ImageFont.truetype(FONT, size) for size in (26, 30)]

app = Flask(__name__)
store = redis.StrictRedis(unix_socket_path=os.environ["VCODE_BENCH_REDIS"],
                          decode_responses=True)


def rgb(lo, hi):
    return tuple(random.randint(lo, hi) for _ in range(3))


def draw_captcha():
    """(text, PNG bytes): the characters, rotated a little each, on a
    light background with noise lines and points, lightly smoothed."""
    text = "".join(random.choice(CHARSET) for _ in range(LENGTH))
    image = Image.new("RGB", (WIDTH, HEIGHT), rgb(220, 255))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        draw.point((random.randrange(WIDTH), random.randrange(HEIGHT)),
                   fill=rgb(120, 220))
    step = WIDTH // LENGTH
    for i, ch in enumerate(text):
        font = random.choice(FONTS)
        glyph = Image.new("RGBA", (step + 8, HEIGHT), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((4, 2), ch, font=font, fill=rgb(10, 120))
        glyph = glyph.rotate(random.uniform(-25, 25), resample=Image.BICUBIC)
        image.paste(glyph, (i * step - 2, random.randint(-3, 3)), glyph)
    for _ in range(4):
        draw.line([(random.randrange(WIDTH), random.randrange(HEIGHT)),
                   (random.randrange(WIDTH), random.randrange(HEIGHT))],
                  fill=rgb(60, 180), width=1)
    image = image.filter(ImageFilter.SMOOTH)
    out = io.BytesIO()
    image.save(out, "PNG")
    return text, out.getvalue()


@app.route("/api/v1.0/image_codes/<image_code_id>")
def get_image_code(image_code_id):
    text, data = draw_captcha()
    try:
        store.setex("image_code_%s" % image_code_id, TTL, text)
    except redis.RedisError:
        app.logger.exception("storing the captcha answer")
        return jsonify(errno="4001", errmsg="保存图片验证码失败"), 503
    resp = make_response(data)
    resp.headers["Content-Type"] = "image/png"
    resp.headers["Cache-Control"] = "no-store"
    return resp
