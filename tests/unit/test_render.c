/*
 * Unit tests of render/'s captchas (render_new, render_png, render_free):
 * the PNG decodes with libpng to the configured size, a small palette, ink
 * inside the margins; any UTF-8 text of 1..12 characters draws; fonts that
 * are missing or broken are clean errors; a CJK font works. And of its
 * contact sheets (render_sheet_*).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include <png.h>

#include "core/core.h"
#include "core/internal.h"
#include "render/render.h"

#define CJK_FONT	"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
#define DEJAVU_SANS	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define PALETTE_MAX	16
#define REPEATS		50	/* images per size for the margin check */
#define CONTRAST_MIN	7.0	/* WCAG AAA, what people read at a glance */
#define SHEET_BYTES_MAX	(1 << 20)	/* a small test sheet's PNG */
/*
 * The pixels of PIXEL_IMAGES seeded captchas, as this renderer drew them
 * when a panel last read it: any change to how an image is drawn changes
 * this digest and must go back to a panel first; a faster encoder or
 * inner loop must leave it as it is. Recorded with the fonts compiled in
 * and FreeType PIXEL_FT (Debian 12); another FreeType may hint glyphs
 * differently, so there the test only prints what it saw.
 */
#define PIXEL_IMAGES	300
#define PIXEL_DIGEST	0x3be7339a6e967299ULL
#define PIXEL_FT	((2 << 16) | (12 << 8) | 1)

/* A decoded captcha: RGB pixels plus what the header said. */
struct decoded {
	int		 width, height;
	int		 colormap;	/* palette entries, 0 if not indexed */
	unsigned char	*rgb;
};

static struct render *
new_or_fail(int w, int h, const char *font)
{
	char		 err[VC_ERR_MAX] = "";
	struct render	*r = render_new(w, h, font, err, sizeof(err));

	if (r == NULL)
		fail_msg("render_new(%d, %d, %s): expected a renderer, saw "
		    "NULL: %s", w, h, font ? font : "NULL", err);
	return r;
}

/* decode: libpng read-back; fails the test with libpng's message. */
static void
decode(const unsigned char *png, size_t len, struct decoded *d)
{
	png_image	im;

	memset(&im, 0, sizeof(im));
	im.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&im, png, len))
		fail_msg("PNG of %zu bytes: expected it to decode, libpng "
		    "says: %s", len, im.message);
	d->width = (int)im.width;
	d->height = (int)im.height;
	d->colormap = (im.format & PNG_FORMAT_FLAG_COLORMAP) ?
	    (int)im.colormap_entries : 0;
	im.format = PNG_FORMAT_RGB;
	d->rgb = malloc(PNG_IMAGE_SIZE(im));
	assert_non_null(d->rgb);
	if (!png_image_finish_read(&im, NULL, d->rgb, 0, NULL))
		fail_msg("PNG of %zu bytes: expected pixels, libpng says: %s",
		    len, im.message);
}

/* render_or_fail: render text and decode it. */
static void
render_or_fail(struct render *r, const char *text, struct decoded *d,
    size_t *lenp)
{
	unsigned char	*png = NULL;
	size_t		 len = 0;
	int		 rc = render_png(r, text, &png, &len);

	if (rc != 0 || png == NULL || len == 0)
		fail_msg("render_png(\"%s\"): expected 0 and bytes, saw %d "
		    "and %zu bytes", text, rc, len);
	decode(png, len, d);
	free(png);
	if (lenp != NULL)
		*lenp = len;
}

static int
same_px(const unsigned char *a, const unsigned char *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2];
}

/*
 * The line is drawn in two tones (the colours swapped from one gap on), so
 * the left edge shows one background and the right edge the other (the
 * foreground colour), or both the same when the image has one tone.
 */
static const unsigned char *
px_at(const struct decoded *d, int x, int y)
{
	return d->rgb + ((size_t)y * d->width + x) * 3;
}

/* ink: pixels of neither background (the two top corners' colours). */
static int
ink(const struct decoded *d)
{
	const unsigned char *a = px_at(d, 0, 0), *b = px_at(d, d->width - 1, 0);
	int	i, n = 0;

	for (i = 0; i < d->width * d->height; i++)
		n += !same_px(d->rgb + i * 3, a) && !same_px(d->rgb + i * 3, b);
	return n;
}

/*
 * border_ink: what a clipped glyph would leave on the outermost pixels
 * (0 = nothing cut): in the left and right columns, pixels unlike the
 * column's top one; in the top and bottom rows, pixels of neither
 * background, and every change of colour after the first (the one from
 * one tone to the other).
 */
static int
border_ink(const struct decoded *d)
{
	const unsigned char *a = px_at(d, 0, 0), *b = px_at(d, d->width - 1, 0);
	int	x, y, n = 0, changes;

	for (y = 0; y < d->height; y++) {
		n += !same_px(px_at(d, 0, y), a);
		n += !same_px(px_at(d, d->width - 1, y), b);
	}
	for (y = 0; y < d->height; y += d->height - 1) {
		changes = 0;
		for (x = 0; x < d->width; x++) {
			const unsigned char *c = px_at(d, x, y);

			n += !same_px(c, a) && !same_px(c, b);
			if (x > 0 && !same_px(c, px_at(d, x - 1, y)) &&
			    ++changes > 1)
				n++;
		}
	}
	return n;
}

/* two_tone: 1 when the left and right edges differ (the line is split). */
static int
two_tone(const struct decoded *d)
{
	return !same_px(px_at(d, 0, 0), px_at(d, d->width - 1, 0));
}

static double
channel(unsigned char v)
{
	double	c = v / 255.0;

	return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

/* contrast: WCAG contrast ratio of background and the most distant ink. */
static double
contrast(const struct decoded *d)
{
	double	lb, l, best = 1;
	int	i;

	lb = 0.2126 * channel(d->rgb[0]) + 0.7152 * channel(d->rgb[1]) +
	    0.0722 * channel(d->rgb[2]);
	for (i = 0; i < d->width * d->height; i++) {
		const unsigned char *px = d->rgb + i * 3;
		double ratio;

		l = 0.2126 * channel(px[0]) + 0.7152 * channel(px[1]) +
		    0.0722 * channel(px[2]);
		ratio = l > lb ? (l + 0.05) / (lb + 0.05) :
		    (lb + 0.05) / (l + 0.05);
		if (ratio > best)
			best = ratio;
	}
	return best;
}

/* Every supported size decodes to itself, indexed, with text inside. */
static void
test_sizes(void **state)
{
	static const int sizes[][2] = {
		{ 100, 32 }, { 120, 40 }, { 150, 50 }, { 200, 64 },
		{ 240, 80 }, { 320, 100 }, { 100, 100 }, { 320, 32 },
	};
	struct decoded	 d;
	struct render	*r;
	size_t		 i;
	int		 k, n;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		r = new_or_fail(sizes[i][0], sizes[i][1], NULL);
		for (k = 0; k < REPEATS; k++) {
			render_or_fail(r, k % 2 ? "aB3k" : "WMWMWMWM", &d,
			    NULL);
			if (d.width != sizes[i][0] || d.height != sizes[i][1])
				fail_msg("expected %dx%d, decoded %dx%d",
				    sizes[i][0], sizes[i][1], d.width,
				    d.height);
			if (d.colormap < 2 || d.colormap > PALETTE_MAX)
				fail_msg("%dx%d: expected an indexed PNG of "
				    "2..%d colours, saw %d entries",
				    d.width, d.height, PALETTE_MAX,
				    d.colormap);
			if ((n = ink(&d)) < d.width * d.height / 50)
				fail_msg("%dx%d: expected visible text, saw "
				    "%d ink pixels", d.width, d.height, n);
			if ((n = border_ink(&d)) != 0)
				fail_msg("%dx%d: expected nothing on the "
				    "outer edge (no clipping), saw %d pixels",
				    d.width, d.height, n);
			if (contrast(&d) < CONTRAST_MIN)
				fail_msg("%dx%d: expected text/background "
				    "contrast >= %.1f, saw %.2f", d.width,
				    d.height, CONTRAST_MIN, contrast(&d));
			if (!two_tone(&d))
				fail_msg("%dx%d: expected two tones (left and "
				    "right edge colours swapped), saw one",
				    d.width, d.height);
			free(d.rgb);
		}
		render_free(r);
	}
}

/*
 * pixel_digest: FNV-1a over the decoded RGB of PIXEL_IMAGES seeded
 * captchas at three sizes and lengths, drawn by the portable inner loops
 * or by the fastest this processor runs.
 */
static uint64_t
pixel_digest(int portable)
{
	static const int	 sizes[][3] = {
		{ 120, 40, 4 }, { 160, 60, 6 }, { 100, 32, 12 },
	};
	static const char	 alphabet[] = "34679ACDEFGHJKLMNPQRTUVWXY+-=?";
	char			 text[16];
	struct decoded		 d;
	struct render		*r;
	uint64_t		 h = 0xcbf29ce484222325ULL;
	size_t			 i, k, j, n;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		r = new_or_fail(sizes[i][0], sizes[i][1], NULL);
		render_portable(r, portable);
		for (k = 0; k < PIXEL_IMAGES / 3; k++) {
			for (j = 0; j < (size_t)sizes[i][2]; j++)
				text[j] = alphabet[(k * 7 + j * 13) %
				    (sizeof(alphabet) - 1)];
			text[j] = '\0';
			render_seed(r, i * 1000 + k);
			render_or_fail(r, text, &d, NULL);
			n = (size_t)d.width * d.height * 3;
			for (j = 0; j < n; j++)
				h = (h ^ d.rgb[j]) * 0x100000001b3ULL;
			free(d.rgb);
		}
		render_free(r);
	}
	return h;
}

/*
 * The same seeds and texts give the same pixels as the renderer a panel
 * read, through the portable inner loops and through the fast ones.
 */
static void
test_pixels(void **state)
{
	static const char	*names[] = { "fast", "portable" };
	uint64_t		 h;
	int			 portable;

	(void)state;
	for (portable = 0; portable < 2; portable++) {
		h = pixel_digest(portable);
		if (((FREETYPE_MAJOR << 16) | (FREETYPE_MINOR << 8) |
		    FREETYPE_PATCH) != PIXEL_FT) {
			print_message("pixels (%s): FreeType %d.%d.%d, not the "
			    "one the digest was recorded with; saw %#018llx\n",
			    names[portable], FREETYPE_MAJOR, FREETYPE_MINOR,
			    FREETYPE_PATCH, (unsigned long long)h);
			continue;
		}
		if (h != PIXEL_DIGEST)
			fail_msg("pixels of %d seeded captchas (%s inner loops): "
			    "expected digest %#018llx, saw %#018llx (the drawing "
			    "changed)", PIXEL_IMAGES, names[portable],
			    (unsigned long long)PIXEL_DIGEST,
			    (unsigned long long)h);
	}
}

/*
 * Byte for byte the same PNG from both inner loops, at sizes whose rows
 * end inside a packed byte or a pair of them, the smallest and the
 * largest, with texts of every length: whatever the FreeType.
 */
static void
test_kernels_agree(void **state)
{
	static const int	 sizes[][2] = {
		{ 60, 20 }, { 61, 21 }, { 66, 25 }, { 97, 33 }, { 120, 40 },
		{ 333, 100 }, { 1024, 512 },
	};
	static const char	 alphabet[] = "34679ACDEFGHJKLMNPQRTUVWXY+-=?";
	unsigned char		*a, *b;
	size_t			 alen, blen, i, k, j, len;
	char			 text[16];
	struct render		*r;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		r = new_or_fail(sizes[i][0], sizes[i][1], NULL);
		for (k = 0; k < (sizes[i][0] > 500 ? 4u : 40u); k++) {
			len = 1 + k % 12;
			for (j = 0; j < len; j++)
				text[j] = alphabet[(k * 11 + j * 5) %
				    (sizeof(alphabet) - 1)];
			text[j] = '\0';
			render_portable(r, 1);
			render_seed(r, k);
			if (render_png(r, text, &a, &alen) != 0)
				fail_msg("%dx%d \"%s\": portable render failed",
				    sizes[i][0], sizes[i][1], text);
			render_portable(r, 0);
			render_seed(r, k);
			if (render_png(r, text, &b, &blen) != 0)
				fail_msg("%dx%d \"%s\": fast render failed",
				    sizes[i][0], sizes[i][1], text);
			if (alen != blen || memcmp(a, b, alen) != 0)
				fail_msg("%dx%d \"%s\" seed %zu: the fast inner "
				    "loops gave %zu bytes unlike the portable "
				    "ones' %zu", sizes[i][0], sizes[i][1], text,
				    k, blen, alen);
			free(a);
			free(b);
		}
		render_free(r);
	}
}

/*
 * render_prewarm makes the PNGs' Huffman code from images of the
 * renderer's own: the same pixels in fewer bytes than ISA-L's general
 * code, which serves a renderer never prewarmed (a CGI process).
 */
static void
test_huffman(void **state)
{
	static const char	*texts[] = { "ACDE", "7+4=?", "KMNP", "XY34" };
	struct render		*cold, *warm;
	struct decoded		 a, b;
	size_t			 la, lb, ca = 0, cb = 0, i;
	char			 err[VC_ERR_MAX] = "";

	(void)state;
	cold = new_or_fail(120, 40, NULL);
	warm = new_or_fail(120, 40, NULL);
	if (render_prewarm(warm, err, sizeof(err)) != 0)
		fail_msg("render_prewarm: expected 0, saw -1: %s", err);
	for (i = 0; i < 200; i++) {
		render_seed(cold, i);
		render_seed(warm, i);
		render_or_fail(cold, texts[i % 4], &a, &la);
		render_or_fail(warm, texts[i % 4], &b, &lb);
		if (memcmp(a.rgb, b.rgb, (size_t)a.width * a.height * 3) != 0)
			fail_msg("image %zu: the two codes gave other pixels", i);
		free(a.rgb);
		free(b.rgb);
		ca += la;
		cb += lb;
	}
	print_message("huffman: 200 images, %zu bytes with the general code, "
	    "%zu with the renderer's own\n", ca, cb);
	if (cb >= ca * 9 / 10)
		fail_msg("the renderer's own code: expected under 90%% of the "
		    "general code's %zu bytes, saw %zu", ca, cb);
	render_free(cold);
	render_free(warm);
}

/* 1..12 characters draw; 0, 13 and broken UTF-8 are refused. */
static void
test_lengths(void **state)
{
	static const char	 alphabet[] = "34679ACDEFGHJKLMNPQRTUVWXY";
	char			 text[16];
	unsigned char		*png = NULL;
	size_t			 len = 0;
	struct decoded		 d;
	struct render		*r = new_or_fail(120, 40, NULL);
	int			 n, rc;

	(void)state;
	for (n = 1; n <= 12; n++) {
		memcpy(text, alphabet, (size_t)n);
		text[n] = '\0';
		render_or_fail(r, text, &d, NULL);
		if (ink(&d) == 0)
			fail_msg("\"%s\": expected ink, saw a blank image",
			    text);
		if ((rc = border_ink(&d)) != 0)
			fail_msg("\"%s\": expected nothing on the outer edge, "
			    "saw %d pixels", text, rc);
		free(d.rgb);
	}
	static const char *const bad[] = {
		"", "ABCDEFGHJKLMN", "ab\xff", "\xc0\xaf", "\xed\xa0\x80",
		"abc\xe4\xbd",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = render_png(r, bad[i], &png, &len);
		if (rc != -1)
			fail_msg("render_png(bad text #%zu): expected -1, saw "
			    "%d", i, rc);
	}
	if ((rc = render_png(r, NULL, &png, &len)) != -1)
		fail_msg("render_png(NULL text): expected -1, saw %d", rc);
	if ((rc = render_png(NULL, "ab", &png, &len)) != -1)
		fail_msg("render_png(NULL renderer): expected -1, saw %d", rc);
	render_free(r);
}

/* Any UTF-8: glyphs the built-in fonts lack draw as a box, not a crash. */
static void
test_utf8(void **state)
{
	static const char *const texts[] = {
		"Ωß€é", "7+3=?", "日本語", "\xf0\x9f\x98\x80", "a b", " ",
		"\xe2\x80\x8b\xe2\x80\x8b",	/* zero-width spaces */
	};
	struct decoded	 d;
	struct render	*r = new_or_fail(160, 50, NULL);
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		render_or_fail(r, texts[i], &d, NULL);
		if (d.width != 160 || d.height != 50)
			fail_msg("\"%s\": expected 160x50, saw %dx%d",
			    texts[i], d.width, d.height);
		free(d.rgb);
	}
	render_free(r);
}

/* A font file from Debian's fonts-wqy-microhei draws Chinese text. */
static void
test_cjk_font(void **state)
{
	struct decoded	 d;
	struct render	*r;
	int		 n;

	(void)state;
	if (access(CJK_FONT, R_OK) != 0) {
		print_message("no %s (apt-get install fonts-wqy-microhei)\n",
		    CJK_FONT);
		skip();
	}
	r = new_or_fail(120, 40, CJK_FONT);
	render_or_fail(r, "验证码字", &d, NULL);
	if ((n = ink(&d)) < 120 * 40 / 20)
		fail_msg("CJK text: expected visible glyphs, saw %d ink "
		    "pixels", n);
	if ((n = border_ink(&d)) != 0)
		fail_msg("CJK text: expected nothing on the outer edge, saw "
		    "%d pixels", n);
	free(d.rgb);
	render_free(r);
}

/* expect_font_error: render_new refuses path with err mentioning want. */
static void
expect_font_error(const char *path, const char *want)
{
	char		 err[VC_ERR_MAX] = "";
	struct render	*r = render_new(120, 40, path, err, sizeof(err));

	if (r != NULL) {
		render_free(r);
		fail_msg("font %s: expected NULL, saw a renderer", path);
	}
	if (strstr(err, want) == NULL || strstr(err, path) == NULL)
		fail_msg("font %s: expected a message naming it and saying "
		    "\"%s\", saw \"%s\"", path, want, err);
}

static void
write_tmp(char *path, const void *data, size_t len)
{
	int	fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Missing, empty, garbage, truncated fonts and directories are errors. */
static void
test_bad_font(void **state)
{
	char		 garbage[] = "/tmp/vcode-font-XXXXXX";
	char		 truncated[] = "/tmp/vcode-font-XXXXXX";
	char		 empty[] = "/tmp/vcode-font-XXXXXX";
	char		 head[4096];
	FILE		*fp;
	size_t		 n;

	(void)state;
	expect_font_error("/nonexistent/vcode/font.ttf", "No such file");
	expect_font_error("/tmp", "not a regular file");
	write_tmp(garbage, "this is not a font, just text\n", 30);
	expect_font_error(garbage, "not a font");
	write_tmp(empty, "", 0);
	expect_font_error(empty, "not a font");
	if ((fp = fopen(DEJAVU_SANS, "rb")) != NULL) {
		n = fread(head, 1, sizeof(head), fp);
		fclose(fp);
		write_tmp(truncated, head, n);
		expect_font_error(truncated, "not a font");
		unlink(truncated);
	}
	unlink(garbage);
	unlink(empty);
}

/* Sizes outside the supported range are refused with a message. */
static void
test_bad_size(void **state)
{
	static const int bad[][2] = {
		{ 0, 40 }, { 120, 0 }, { -1, -1 }, { 10, 10 }, { 5000, 40 },
		{ 120, 5000 },
	};
	char		 err[VC_ERR_MAX];
	struct render	*r;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		r = render_new(bad[i][0], bad[i][1], NULL, err, sizeof(err));
		if (r != NULL) {
			render_free(r);
			fail_msg("render_new(%d, %d): expected NULL, saw a "
			    "renderer", bad[i][0], bad[i][1]);
		}
		if (strstr(err, "size") == NULL)
			fail_msg("render_new(%d, %d): expected a message about "
			    "the size, saw \"%s\"", bad[i][0], bad[i][1], err);
	}
	render_free(NULL);
}

/* Two renders of one text differ: every image is freshly distorted. */
static void
test_variety(void **state)
{
	struct render	*r = new_or_fail(120, 40, NULL);
	unsigned char	*a = NULL, *b = NULL;
	size_t		 la = 0, lb = 0;

	(void)state;
	assert_int_equal(render_png(r, "aB3k", &a, &la), 0);
	assert_int_equal(render_png(r, "aB3k", &b, &lb), 0);
	if (la == lb && memcmp(a, b, la) == 0)
		fail_msg("expected two different images of \"aB3k\", saw the "
		    "same %zu bytes twice", la);
	free(a);
	free(b);
	render_free(r);
}

/*
 * Every character of an answer comes from the configured alphabet (the
 * look-alike rule is test_config's).
 */
static void
test_alphabet(void **state)
{
	struct vc_config	 cfg;
	char			 err[VC_ERR_MAX], text[VC_CAPTCHA_ANSWER_MAX];
	char			 answer[VC_CAPTCHA_ANSWER_MAX];
	const char		*p;
	int			 i;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0)
		fail_msg("config_load(NULL): expected defaults, saw: %s", err);
	for (i = 0; i < 1000; i++) {
		if (captcha_draw(&cfg, text, sizeof(text), answer,
		    sizeof(answer)) != 0)
			fail_msg("captcha_draw: expected 0");
		if ((int)strlen(answer) != cfg.captcha_length)
			fail_msg("answer \"%s\": expected %d characters",
			    answer, cfg.captcha_length);
		for (p = answer; *p != '\0'; p++)
			if (strchr(cfg.captcha_charset, *p) == NULL)
				fail_msg("answer \"%s\": '%c' is not in the "
				    "alphabet \"%s\"", answer, *p,
				    cfg.captcha_charset);
	}
	config_free(&cfg);
}

/*
 * captcha_mode = math: "A+B=?" or "A-B=?" with operands 1..9, answers
 * the sum or the difference (never negative); both operators occur; the
 * text renders and decodes.
 */
static void
test_math(void **state)
{
	struct vc_config	 cfg;
	struct decoded		 d;
	struct render		*r;
	char			 err[VC_ERR_MAX], text[VC_CAPTCHA_ANSWER_MAX];
	char			 answer[VC_CAPTCHA_ANSWER_MAX], op, tail[8];
	int			 a, b, got, want, end, i, plus = 0, minus = 0;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0)
		fail_msg("config_load(NULL): expected defaults, saw: %s", err);
	cfg.captcha_mode = VC_CAPTCHA_MATH;
	r = new_or_fail(120, 40, NULL);
	for (i = 0; i < 2000; i++) {
		if (captcha_draw(&cfg, text, sizeof(text), answer,
		    sizeof(answer)) != 0)
			fail_msg("captcha_draw (math): expected 0");
		end = 0;
		if (sscanf(text, "%d%c%d%7s%n", &a, &op, &b, tail, &end) != 4 ||
		    text[end] != '\0' || strcmp(tail, "=?") != 0 ||
		    (op != '+' && op != '-'))
			fail_msg("math text \"%s\": expected \"A+B=?\" or "
			    "\"A-B=?\"", text);
		if (a < 1 || a > 9 || b < 1 || b > 9)
			fail_msg("math text \"%s\": expected operands 1..9",
			    text);
		want = op == '+' ? a + b : a - b;
		end = 0;
		if (sscanf(answer, "%d%n", &got, &end) != 1 ||
		    answer[end] != '\0' || got != want)
			fail_msg("math text \"%s\": expected answer \"%d\", "
			    "saw \"%s\"", text, want, answer);
		if (want < 0)
			fail_msg("math text \"%s\": expected no negative "
			    "answer", text);
		plus += op == '+';
		minus += op == '-';
		if (i < 20) {
			render_or_fail(r, text, &d, NULL);
			if (d.width != 120 || d.height != 40 ||
			    border_ink(&d) != 0)
				fail_msg("math \"%s\": expected 120x40 and a "
				    "clear edge, saw %dx%d, %d edge pixels",
				    text, d.width, d.height, border_ink(&d));
			free(d.rgb);
		}
	}
	/* Each side has p = 1/2: 2000 draws below 800 is > 9 sigma off. */
	if (plus < 800 || minus < 800)
		fail_msg("2000 sums: expected both operators about 1000 "
		    "times, saw + %d, - %d", plus, minus);
	render_free(r);
	config_free(&cfg);
}

/*
 * captcha_font_check: the built-in fonts cover the default alphabet and
 * math, not a Chinese one (a start-up error naming the key and the
 * character); the CJK font covers it, and the answers drawn from a CJK
 * alphabet are its characters.
 */
static void
test_font_coverage(void **state)
{
	struct vc_config	 cfg;
	struct render		*r;
	char			 err[VC_ERR_MAX];
	char			 text[VC_CAPTCHA_ANSWER_MAX];
	char			 answer[VC_CAPTCHA_ANSWER_MAX];
	char			*def;
	int			 i, k;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	if (config_load(&cfg, NULL, err, sizeof(err)) != 0)
		fail_msg("config_load(NULL): expected defaults, saw: %s", err);
	def = cfg.captcha_charset;
	r = new_or_fail(120, 40, NULL);
	if (captcha_font_check(r, &cfg, err, sizeof(err)) != 0)
		fail_msg("default alphabet, built-in fonts: expected 0, saw "
		    "\"%s\"", err);
	cfg.captcha_mode = VC_CAPTCHA_MATH;
	if (captcha_font_check(r, &cfg, err, sizeof(err)) != 0)
		fail_msg("math, built-in fonts: expected 0, saw \"%s\"", err);
	cfg.captcha_mode = VC_CAPTCHA_TEXT;
	cfg.captcha_charset = "AB验证";
	err[0] = '\0';
	if (captcha_font_check(r, &cfg, err, sizeof(err)) != -1 ||
	    strstr(err, "captcha_charset") == NULL ||
	    strstr(err, "验") == NULL || strstr(err, "U+9A8C") == NULL)
		fail_msg("\"AB验证\" with the built-in fonts: expected -1 "
		    "naming captcha_charset, 验 and U+9A8C, saw \"%s\"", err);
	cfg.captcha_charset = "AB\xff";
	if (captcha_font_check(r, &cfg, err, sizeof(err)) != -1 ||
	    strstr(err, "UTF-8") == NULL)
		fail_msg("alphabet with a 0xff byte: expected -1 saying "
		    "UTF-8, saw \"%s\"", err);
	render_free(r);

	if (access(CJK_FONT, R_OK) == 0) {
		static const char *const han[] = { "验", "证", "码", "字" };

		cfg.captcha_charset = "验证码字";
		r = new_or_fail(120, 40, CJK_FONT);
		if (captcha_font_check(r, &cfg, err, sizeof(err)) != 0)
			fail_msg("\"验证码字\" with %s: expected 0, saw "
			    "\"%s\"", CJK_FONT, err);
		for (i = 0; i < 200; i++) {
			struct decoded	 d;
			size_t		 off;

			if (captcha_draw(&cfg, text, sizeof(text), answer,
			    sizeof(answer)) != 0)
				fail_msg("captcha_draw (CJK): expected 0");
			if (utf8_count(answer) != cfg.captcha_length ||
			    strlen(answer) != 3u * cfg.captcha_length)
				fail_msg("CJK answer \"%s\": expected %d "
				    "characters of 3 bytes", answer,
				    cfg.captcha_length);
			for (off = 0; off < strlen(answer); off += 3) {
				for (k = 0; k < 4; k++)
					if (strncmp(answer + off, han[k], 3)
					    == 0)
						break;
				if (k == 4)
					fail_msg("CJK answer \"%s\": byte %zu "
					    "is not a character of \"%s\"",
					    answer, off, cfg.captcha_charset);
			}
			if (i < 5) {
				render_or_fail(r, text, &d, NULL);
				free(d.rgb);
			}
		}
		render_free(r);
	}
	cfg.captcha_charset = def;
	config_free(&cfg);
}

/* render_bytes: render_png of text, the bytes kept for the caller. */
static unsigned char *
render_bytes(struct render *r, const char *text, size_t *len)
{
	unsigned char	*png = NULL;

	if (render_png(r, text, &png, len) != 0 || png == NULL)
		fail_msg("render_png(\"%s\"): expected bytes, saw none", text);
	return png;
}

/* dark_rows: rows y0..y1 of d (clipped) holding a near-black pixel. */
static int
dark_rows(const struct decoded *d, int x0, int x1, int y0, int y1)
{
	int	 x, y, n = 0, dark;

	for (y = y0; y < y1 && y < d->height; y++) {
		for (x = x0, dark = 0; x < x1 && x < d->width; x++)
			dark |= px_at(d, x, y)[0] < 64 &&
			    px_at(d, x, y)[1] < 64 && px_at(d, x, y)[2] < 64;
		n += dark;
	}
	return n;
}

/*
 * A contact sheet holds each captcha as it was drawn, pixel for pixel,
 * with a dark label under it; a full sheet, a captcha of another size, a
 * count out of range, a bad label font and an unwritable path are errors.
 */
static void
test_sheet(void **state)
{
	static const char *const texts[] = { "AB12", "CD34", "EF56" };
	char			 err[VC_ERR_MAX], path[] = "/tmp/vcode-sheet-XXXXXX";
	struct render		*r = new_or_fail(120, 40, NULL);
	struct render		*other = new_or_fail(100, 32, NULL);
	struct render_sheet	*s;
	struct decoded		 first, sheet;
	unsigned char		*png[3], *odd, *buf;
	size_t			 len[3], oddlen, n;
	FILE			*fp;
	int			 i, x, y, fx = -1, fy = -1, fd;

	(void)state;
	for (i = 0; i < 3; i++)
		png[i] = render_bytes(r, texts[i], &len[i]);
	odd = render_bytes(other, "GH78", &oddlen);
	s = render_sheet_new(120, 40, 3, NULL, err, sizeof(err));
	if (s == NULL)
		fail_msg("render_sheet_new(120, 40, 3): expected a sheet, saw "
		    "NULL: %s", err);
	err[0] = '\0';
	if (render_sheet_add(s, odd, oddlen, "GH78", err, sizeof(err)) != -1 ||
	    err[0] == '\0')
		fail_msg("a 100x32 captcha on a 120x40 sheet: expected -1 and "
		    "a message, saw \"%s\"", err);
	for (i = 0; i < 3; i++)
		if (render_sheet_add(s, png[i], len[i], texts[i], err,
		    sizeof(err)) != 0)
			fail_msg("render_sheet_add %d: expected 0, saw -1: %s",
			    i, err);
	if (render_sheet_add(s, png[0], len[0], texts[0], err,
	    sizeof(err)) != -1 || strstr(err, "full") == NULL)
		fail_msg("a fourth captcha on a sheet of 3: expected -1, "
		    "\"full\", saw \"%s\"", err);
	if (render_sheet_write(s, "/nonexistent/dir/x.png", err,
	    sizeof(err)) != -1 || strstr(err, "/nonexistent/dir/x.png") == NULL)
		fail_msg("an unwritable path: expected -1 and a message "
		    "naming it, saw \"%s\"", err);
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	if (render_sheet_write(s, path, err, sizeof(err)) != 0)
		fail_msg("render_sheet_write %s: expected 0, saw -1: %s", path,
		    err);
	render_sheet_free(s);
	render_sheet_free(NULL);

	/* The first captcha, found near the top left, with a label. */
	decode(png[0], len[0], &first);
	assert_non_null(buf = malloc(SHEET_BYTES_MAX));
	assert_non_null(fp = fopen(path, "rb"));
	n = fread(buf, 1, SHEET_BYTES_MAX, fp);
	fclose(fp);
	decode(buf, n, &sheet);
	free(buf);
	unlink(path);
	for (y = 0; y < 32 && fx < 0; y++)
		for (x = 0; x < 32 && fx < 0; x++) {
			int	 row, same = 1;

			if (x + 120 > sheet.width || y + 40 > sheet.height)
				continue;
			for (row = 0; row < 40 && same; row++)
				same = memcmp(px_at(&sheet, x, y + row),
				    px_at(&first, 0, row), 120 * 3) == 0;
			if (same) {
				fx = x;
				fy = y;
			}
		}
	if (fx < 0)
		fail_msg("sheet of %dx%d: expected the first captcha pixel for "
		    "pixel near its top left, saw it nowhere", sheet.width,
		    sheet.height);
	if (sheet.width < 3 * 120 || dark_rows(&sheet, fx, fx + 120,
	    fy + 40, fy + 40 + 30) < 8)
		fail_msg("sheet of %dx%d: expected three captchas a row and a "
		    "label of 8 rows or more under the first, saw %d rows",
		    sheet.width, sheet.height, dark_rows(&sheet, fx, fx + 120,
		    fy + 40, fy + 40 + 30));
	free(first.rgb);
	free(sheet.rgb);

	if ((s = render_sheet_new(120, 40, 0, NULL, err, sizeof(err))) !=
	    NULL ||
	    (s = render_sheet_new(120, 40, RENDER_SHEET_MAX + 1, NULL, err,
	    sizeof(err))) != NULL ||
	    (s = render_sheet_new(10, 10, 3, NULL, err, sizeof(err))) != NULL ||
	    (s = render_sheet_new(120, 40, 3, "/nonexistent/font.ttf", err,
	    sizeof(err))) != NULL) {
		render_sheet_free(s);
		fail_msg("render_sheet_new out of range or with a missing "
		    "font: expected NULL, saw a sheet");
	}
	for (i = 0; i < 3; i++)
		free(png[i]);
	free(odd);
	render_free(r);
	render_free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_cjk_font),
		cmocka_unit_test(test_bad_font),
		cmocka_unit_test(test_bad_size),
		cmocka_unit_test(test_variety),
		cmocka_unit_test(test_alphabet),
		cmocka_unit_test(test_math),
		cmocka_unit_test(test_font_coverage),
		cmocka_unit_test(test_sheet),
		cmocka_unit_test(test_pixels),
		cmocka_unit_test(test_kernels_agree),
		cmocka_unit_test(test_huffman),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
