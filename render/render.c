/*
 * render.c: captcha text to PNG bytes.
 *
 * Pipeline of one image (render_png):
 *   1. the UTF-8 text is decoded and each character gets a face (one of the
 *      twelve built-in faces of render/fonts.S at random, or the configured
 *      font) and a coverage raster from the glyph cache (filled by FreeType
 *      at render_new time for printable ASCII, on first use for the rest);
 *   2. layout: each glyph gets a random scale, rotation, shear and vertical
 *      jitter within ranges a panel of readers found legible, neighbours
 *      stand a small gap apart, and the whole line is scaled so that the
 *      transformed ink fits inside the margins: a glyph is never clipped,
 *      whatever the size and length;
 *   3. the glyphs are drawn as 8-bit coverage into a scratch raster
 *      (no strokes across them: readers took a stroke over F, P, V or L
 *      for the bar of E, R, Y or V, and OCR needs none since step 4);
 *   4. that raster is resampled through a fresh smooth random displacement
 *      field and quantised to LEVELS shades between background and
 *      foreground, with the shades swapped from one gap between glyphs on
 *      (two tones: what defeats off-the-shelf OCR at no cost to people);
 *      a few dots are sprinkled on;
 *   5. the shades are packed 2 bits a pixel, compressed by ISA-L's igzip
 *      (with Huffman codes made once per renderer from images of its own)
 *      and framed as an indexed PNG, into a buffer kept by the renderer.
 *
 * Everything that does not change per image (faces, glyph rasters and
 * outlines of their ink, palettes, warp interpolation tables, scratch
 * rasters, the compressor and its memory) is made once per renderer. The
 * only mutable state is inside struct render; the library never prints
 * and never exits.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#ifdef __SSE__
#include <xmmintrin.h>
#endif

#include "render/kernel.h"
#include "render/render.h"
#include "render/util.h"

/* ---- Limits. ---- */
#define FACE_MAX		16	/* faces in use by one renderer */

/* ---- Glyph cache. ---- */
/*
 * Glyphs are rasterised once with an em of EM_PER_HEIGHT x image height
 * and only ever scaled down by the layout, so sampling stays sharp.
 */
#define EM_PER_HEIGHT		1.0f
#define CACHE_SLOTS		4096	/* a power of two */
#define CACHE_FILL_MAX		(CACHE_SLOTS * 3 / 4)
#define CACHE_BYTES_MAX		(32u << 20)	/* of rasters */
#define PREWARM_FIRST		0x21	/* printable ASCII: render_prewarm */
#define PREWARM_LAST		0x7e
#define NOTDEF_KEY		0x110000u	/* past Unicode: .notdef */
#define HULL_DIRS		32	/* support points kept per glyph */

/* ---- Distortion. ---- */
/*
 * Read by a panel of people who saw only the pictures (README): every
 * range below keeps each glyph whole, upright enough and apart from its
 * neighbours. Variety (faces, scale, angle, shear, warp, colour) is what
 * costs an attacker; hiding glyphs costs people.
 */
#define SCALE_MIN		0.88f	/* per glyph */
#define SCALE_MAX		1.08f
#define ROTATE_MAX		0.21f	/* radians either way, 12 degrees */
#define SHEAR_MAX		0.15f
#define JITTER_MAX		0.08f	/* vertical, fraction of em */
#define BASELINE_KEEP		0.5f	/* of the glyphs' height differences */
#define STRETCH_MAX		1.3f	/* widening into spare width */
#define SYMBOL_CALM		0.3f	/* distortion left to punctuation */
#define SYMBOL_GAP		0.15f	/* space around it, of the narrower */
/* Space between neighbours' ink, of the narrower glyph: a warp may make
 * them touch, never overlap enough to hide a stroke. */
#define GAP_MIN			0.05f
#define GAP_MAX			0.15f
#define DOTS_PER_PIXEL		(1.0f / 500)
/*
 * The displacement field: a WARP_GX x WARP_GY grid of random offsets,
 * smoothstep-interpolated, fresh per image. Amplitudes are fractions of
 * the image height; the margins are sized from them.
 */
#define WARP_GX			6	/* at most KERNEL_NODES */
#define WARP_GY			4
#define WARP_X			0.07f
#define WARP_Y			0.05f
_Static_assert(WARP_GX <= KERNEL_NODES, "the field's nodes fit a kernel's");

/* ---- Colour and PNG. ---- */
/* LEVELS shades from background (index 0) to foreground (LEVELS - 1). */
#define LEVELS			4
#define PNG_DEPTH		2	/* bits per pixel, holds LEVELS */
#define PALETTES		256	/* colour pairs made at start-up */
#define CONTRAST_MIN		7.0	/* WCAG "AAA" luminance contrast */
/*
 * Chosen by measurement at 120x40 (README, "Speed"), deflating the rows of
 * 300 captchas: ISA-L's level 0 with Huffman codes made from this
 * renderer's own images took 2.6 us an image for 575 bytes, where
 * libdeflate's fastest level took 11.5 us for 531 and zlib's best setting
 * (level 9, Z_RLE, memLevel 5) 18.7 us for 572: on 1.2 KB the others
 * spend most of their time building a Huffman code per image. HUFF_SAMPLES
 * images drawn by render_prewarm (the renderer's size, HUFF_SEED) give
 * the code; every symbol gets one, so any image can be written. Until
 * then (a CGI process, which draws one image) ISA-L's general code serves:
 * 786 bytes. PNG filters only add bytes to 2-bit indices: every row is
 * filter 0.
 */
#define PNG_DEFLATE_LEVEL	0
#define PNG_FRAMING		(8 + 25 + 12 + 3 * LEVELS + 12 + 12)
#define HUFF_SAMPLES		16
#define HUFF_SEED		0x5eed
/* What any image may take deflated: ISA-L's stored blocks at worst. */
#define DEFLATE_BOUND(n)	((n) + (n) / 8 + 1024)

struct glyph {
	uint32_t	 cp;		/* code point or NOTDEF_KEY */
	uint8_t		 used;		/* slot holds an entry */
	uint8_t		 missing;	/* face has no glyph for cp */
	uint8_t		 face;
	int		 w, h;		/* raster size, 1-px zero border included */
	float		 top;		/* raster top above the baseline, px */
	float		 advance;
	/* Ink support points, relative to the raster centre. */
	float		 hx[HULL_DIRS], hy[HULL_DIRS];
	unsigned char	*bits;		/* w * h coverage */
	uint16_t	*pairs;		/* its pairs (kernel.h), w * h */
};

struct rgb {
	unsigned char	 r, g, b;
};

struct render {
	int		 width, height;
	int		 em;		/* pixel size glyphs are cached at */
	FT_Library	 ft;
	FT_Face		 faces[FACE_MAX];
	int		 nfaces;
	char		*font_path;	/* NULL: the built-in faces */
	struct glyph	*cache;		/* CACHE_SLOTS, open addressing */
	int		 cached;
	size_t		 cached_bytes;
	struct glyph	 spare[RENDER_CHARS_MAX]; /* when the cache is full */
	uint64_t	 rng;
	unsigned char	 palettes[PALETTES][3 * LEVELS]; /* PLTE's bytes */
	int		 from[LEVELS - 1]; /* coverage where shades 1.. begin */
	struct kernels	 kern;		/* the taps' inner loops */
	/* Coverage raster with a zero border of padx/pady around the image,
	 * and its pairs (kernel.h) when the inner loops read them. */
	unsigned char	*cov;
	uint16_t	*covpairs;
	int		 covstride, padx, pady;
	/* Warp: amplitude (1/256 px), interpolation cells and weights. */
	int		 warpx, warpy;
	/* Cells and weights at each packed byte's first column, each row. */
	int		*wcol, *wcolt, *wrow, *wrowt;
	int		*ub, *vb;	/* one row's field at each packed byte */
	/* Packed PNG rows, each after its filter byte (0). */
	unsigned char	*img;
	size_t		 imgstride;
	struct isal_hufftables *huff;	/* made by huff_make */
	int		 huff_made;	/* else ISA-L's general code */
	struct isal_zstream *zs;
	unsigned char	*out;		/* PNG being written */
	size_t		 outlen, outcap;
	/* Bounding box of this image's ink in cov, image coordinates. */
	int		 ink_x0, ink_y0, ink_x1, ink_y1;
	/* Source x (1/256 px) from which the shades are swapped; INT_MAX:
	 * the whole image in one tone. */
	int		 split;
};

/* ---- Small helpers. ---- */

/*
 * utf8_next: decodes the character at s into *cp and returns its length
 * in bytes, or 0 for a malformed, overlong or surrogate sequence.
 */
static int
utf8_next(const char *s, uint32_t *cp)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 c = p[0], min;
	int			 len, i;

	if (c < 0x80) {
		len = 1; min = 0;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2; min = 0x80; c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3; min = 0x800; c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4; min = 0x10000; c &= 0x07;
	} else
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * utf8_decode: the code points of s into out; -1 for malformed UTF-8 or
 * more than max characters.
 */
static int
utf8_decode(const char *s, uint32_t *out, int max)
{
	int	n = 0, len;

	for (; *s != '\0'; s += len) {
		if (n == max || (len = utf8_next(s, &out[n])) == 0)
			return -1;
		n++;
	}
	return n;
}

/* is_symbol: ASCII punctuation (the operators of a math captcha). */
static int
is_symbol(uint32_t cp)
{
	return (cp >= 0x21 && cp <= 0x2f) || (cp >= 0x3a && cp <= 0x40) ||
	    (cp >= 0x5b && cp <= 0x60) || (cp >= 0x7b && cp <= 0x7e);
}

/* ---- Colours. ---- */

static double
srgb_linear(int v)
{
	double	c = v / 255.0;

	return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double
luminance(struct rgb c)
{
	return 0.2126 * srgb_linear(c.r) + 0.7152 * srgb_linear(c.g) +
	    0.0722 * srgb_linear(c.b);
}

/* hsl_rgb: h in [0,1), s and l in [0,1]. */
static struct rgb
hsl_rgb(float h, float s, float l)
{
	float		 c = (1 - fabsf(2 * l - 1)) * s;
	float		 hp = h * 6, x = c * (1 - fabsf(fmodf(hp, 2) - 1));
	float		 m = l - c / 2, r1 = 0, g1 = 0, b1 = 0;
	struct rgb	 out;

	switch ((int)hp % 6) {
	case 0: r1 = c; g1 = x; break;
	case 1: r1 = x; g1 = c; break;
	case 2: g1 = c; b1 = x; break;
	case 3: g1 = x; b1 = c; break;
	case 4: r1 = x; b1 = c; break;
	default: r1 = c; b1 = x; break;
	}
	out.r = (unsigned char)lrintf((r1 + m) * 255);
	out.g = (unsigned char)lrintf((g1 + m) * 255);
	out.b = (unsigned char)lrintf((b1 + m) * 255);
	return out;
}

/*
 * palettes_make: PALETTES background/foreground pairs of random hue whose
 * luminance contrast is at least CONTRAST_MIN, so that colour varies from
 * image to image while people still read the text at a glance. Mostly dark
 * on light; now and then light on dark.
 */
static void
palettes_make(struct render *r)
{
	struct rgb	bg, fg;
	double		lb, lf, ratio;
	int		i, k;

	for (i = 0; i < PALETTES; i++) {
		do {
			int inverse = rnd_below(&r->rng, 5) == 0;
			float hb = rnd_range(&r->rng, 0, 1), hf = rnd_range(&r->rng, 0, 1);

			bg = hsl_rgb(hb, rnd_range(&r->rng, 0.2f, 0.7f),
			    inverse ? rnd_range(&r->rng, 0.08f, 0.2f) :
			    rnd_range(&r->rng, 0.86f, 0.97f));
			fg = hsl_rgb(hf, rnd_range(&r->rng, 0.4f, 0.9f),
			    inverse ? rnd_range(&r->rng, 0.8f, 0.92f) :
			    rnd_range(&r->rng, 0.12f, 0.35f));
			lb = luminance(bg);
			lf = luminance(fg);
			ratio = lb > lf ? (lb + 0.05) / (lf + 0.05) :
			    (lf + 0.05) / (lb + 0.05);
		} while (ratio < CONTRAST_MIN);
		for (k = 0; k < LEVELS; k++) {
			int t = k * 256 / (LEVELS - 1);

			unsigned char *c = r->palettes[i] + 3 * k;

			c[0] = (unsigned char)((bg.r * (256 - t) + fg.r * t) >> 8);
			c[1] = (unsigned char)((bg.g * (256 - t) + fg.g * t) >> 8);
			c[2] = (unsigned char)((bg.b * (256 - t) + fg.b * t) >> 8);
		}
	}
}

/* ---- Glyph cache. ---- */

static uint32_t
glyph_hash(int face, uint32_t cp)
{
	return ((cp * 2654435761u) ^ ((uint32_t)face * 0x9e3779b9u)) &
	    (CACHE_SLOTS - 1);
}

/*
 * glyph_hull: for HULL_DIRS directions, the ink corner farthest along it.
 * The transformed extents of the ink are then those of these points, which
 * is far tighter than the transformed raster box (whose corners are empty)
 * and lets the layout make the text as large as the image allows.
 * Only the first and last ink pixel of each row can be extreme.
 */
static void
glyph_hull(struct glyph *g)
{
	float	best[HULL_DIRS], cx = g->w / 2.0f, cy = g->h / 2.0f;
	float	dx[HULL_DIRS], dy[HULL_DIRS];
	int	y, k, c, first, last;

	for (k = 0; k < HULL_DIRS; k++) {
		dx[k] = cosf(6.2831853f * k / HULL_DIRS);
		dy[k] = sinf(6.2831853f * k / HULL_DIRS);
		best[k] = -1e30f;
		g->hx[k] = g->hy[k] = 0;
	}
	for (y = 0; y < g->h; y++) {
		const unsigned char *row = g->bits + (size_t)y * g->w;

		for (first = 0; first < g->w && row[first] == 0; first++)
			;
		if (first == g->w)
			continue;
		for (last = g->w - 1; row[last] == 0; last--)
			;
		for (c = 0; c < 4; c++) {
			float px = (c & 1 ? last + 1 : first) - cx;
			float py = (c & 2 ? y + 1 : y) - cy;

			for (k = 0; k < HULL_DIRS; k++) {
				float d = px * dx[k] + py * dy[k];

				if (d > best[k]) {
					best[k] = d;
					g->hx[k] = px;
					g->hy[k] = py;
				}
			}
		}
	}
}

/*
 * glyph_load: rasterises cp of face into g (whose bits are replaced).
 * A code point the face lacks sets g->missing; that is not an error.
 * Returns -1 only when memory runs out.
 */
static int
glyph_load(struct render *r, int face, uint32_t cp, struct glyph *g)
{
	FT_Face		 f = r->faces[face];
	FT_GlyphSlot	 slot;
	FT_Bitmap	*bm;
	FT_UInt		 idx;
	unsigned char	*bits;
	uint16_t	*pairs;
	unsigned int	 x, y;
	size_t		 i;
	int		 w, h;

	g->cp = cp;
	g->face = (uint8_t)face;
	g->used = 1;
	g->missing = 1;
	g->w = g->h = 0;
	idx = cp == NOTDEF_KEY ? 0 : FT_Get_Char_Index(f, cp);
	if (idx == 0 && cp != NOTDEF_KEY)
		return 0;
	/* Outlines only: hinting and embedded bitmaps fight the transform. */
	if (FT_Load_Glyph(f, idx, FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP) ||
	    FT_Render_Glyph(f->glyph, FT_RENDER_MODE_NORMAL))
		return 0;
	slot = f->glyph;
	bm = &slot->bitmap;
	if (bm->rows > 0 && bm->pixel_mode != FT_PIXEL_MODE_GRAY &&
	    bm->pixel_mode != FT_PIXEL_MODE_MONO)
		return 0;
	/* A zero border lets the bilinear sampler read a 2x2 block anywhere
	 * inside without a bounds check per tap. */
	w = (int)bm->width + 2;
	h = (int)bm->rows + 2;
	if ((bits = realloc(g->bits, (size_t)w * h)) == NULL)
		return -1;
	g->bits = bits;
	if ((pairs = realloc(g->pairs, (size_t)w * h * 2)) == NULL)
		return -1;
	g->pairs = pairs;
	memset(bits, 0, (size_t)w * h);
	for (y = 0; y < bm->rows; y++) {
		const unsigned char *src = bm->buffer + (long)y * bm->pitch;
		unsigned char *dst = bits + (size_t)(y + 1) * w + 1;

		for (x = 0; x < bm->width; x++)
			dst[x] = bm->pixel_mode == FT_PIXEL_MODE_GRAY ?
			    src[x] :
			    ((src[x >> 3] >> (7 - (x & 7))) & 1) * 255;
	}
	/* No tap reads the last row as its top row. */
	for (i = 0; i < (size_t)w * (h - 1); i++)
		pairs[i] = (uint16_t)(bits[i] | bits[i + w] << 8);
	memset(pairs + (size_t)w * (h - 1), 0, (size_t)w * 2);
	g->w = w;
	g->h = h;
	g->top = (float)slot->bitmap_top + 1;
	g->advance = (float)slot->advance.x / 64;
	g->missing = 0;
	glyph_hull(g);
	return 0;
}

/*
 * glyph_get: the raster of cp in face, from the cache or loaded into it.
 * When the cache is full the raster goes to spare (one per text position,
 * so that a text of uncached characters still works). NULL: out of memory.
 */
static const struct glyph *
glyph_get(struct render *r, int face, uint32_t cp, struct glyph *spare)
{
	uint32_t	 i = glyph_hash(face, cp);
	struct glyph	*g;

	for (;;) {
		g = &r->cache[i];
		if (!g->used)
			break;
		if (g->cp == cp && g->face == face)
			return g;
		i = (i + 1) & (CACHE_SLOTS - 1);
	}
	if (r->cached >= CACHE_FILL_MAX || r->cached_bytes >= CACHE_BYTES_MAX)
		g = spare;
	if (glyph_load(r, face, cp, g) == -1) {
		g->used = 0;
		return NULL;
	}
	if (g != spare) {
		r->cached++;
		r->cached_bytes += (size_t)g->w * g->h * 3 + sizeof(*g);
	}
	return g;
}

/*
 * glyph_pick: a random face that has cp, or the .notdef box of the first
 * face when none does (an alphabet the font cannot show must not crash).
 */
static const struct glyph *
glyph_pick(struct render *r, uint32_t cp, struct glyph *spare)
{
	const struct glyph	*g;
	int			 start = rnd_below(&r->rng, r->nfaces), k;

	for (k = 0; k < r->nfaces; k++) {
		g = glyph_get(r, (start + k) % r->nfaces, cp, spare);
		if (g == NULL)
			return NULL;
		if (!g->missing)
			return g;
	}
	return glyph_get(r, 0, NOTDEF_KEY, spare);
}

int
render_check(struct render *r, const char *alphabet, char *err,
    size_t errlen)
{
	const char	*p;
	uint32_t	 cp;
	int		 k, len;

	for (p = alphabet; *p != '\0'; p += len) {
		if ((len = utf8_next(p, &cp)) == 0) {
			render_errf(err, errlen, "alphabet is not UTF-8 (byte %td)",
			    p - alphabet);
			return -1;
		}
		for (k = 0; k < r->nfaces; k++)
			if (FT_Get_Char_Index(r->faces[k], cp) != 0)
				break;
		if (k == r->nfaces) {
			render_errf(err, errlen, "no glyph for '%.*s' (U+%04X) in "
			    "%s%s", len, p, (unsigned int)cp,
			    r->font_path ? "font " : "the built-in fonts",
			    r->font_path ? r->font_path : "");
			return -1;
		}
	}
	return 0;
}

/* ---- Drawing into the coverage raster. ---- */

/* One glyph as laid out. */
struct placed {
	const struct glyph	*g;
	float			 m[4];	/* glyph px -> image px, row-major */
	float			 cx, cy;	/* raster centre in the image */
	float			 x0, x1, y0, y1; /* ink around (cx, cy), px */
	int			 blank;		/* nothing to draw (a space) */
	int			 symbol;	/* ASCII punctuation: + - = ? */
	int			 op;		/* + or -: no tone change beside */
};

static void
ink_grow(struct render *r, int x0, int y0, int x1, int y1)
{
	if (x0 < r->ink_x0) r->ink_x0 = x0;
	if (y0 < r->ink_y0) r->ink_y0 = y0;
	if (x1 > r->ink_x1) r->ink_x1 = x1;
	if (y1 > r->ink_y1) r->ink_y1 = y1;
}

/*
 * fix16: lrintf(f * 65536), without the call: the conversion rounds as
 * lrintf does, to nearest, ties to even, in the default rounding mode.
 */
static inline int32_t
fix16(float f)
{
#ifdef __SSE__
	return _mm_cvtss_si32(_mm_set_ss(f * 65536));
#else
	return (int32_t)lrintf(f * 65536);
#endif
}

/* floor_div: floor(a / b) for b > 0 and any sign of a. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/*
 * span_limit: narrows [*lo, *hi) to the steps k at which a + k * d stays
 * in [0, lim), so the sampling loop needs no test per pixel.
 */
static void
span_limit(int32_t a, int32_t d, int32_t lim, int *lo, int *hi)
{
	int64_t	kmin, kend;

	if (d == 0) {
		if (a < 0 || a >= lim)
			*hi = *lo;
		return;
	}
	if (d > 0) {
		kmin = -floor_div(a, d);	/* ceil(-a / d) */
		kend = floor_div((int64_t)lim - 1 - a, d) + 1;
	} else {
		kmin = floor_div((int64_t)a - lim, -d) + 1;
		kend = floor_div(a, -d) + 1;
	}
	if (kmin > *lo)
		*lo = kmin > *hi ? *hi : (int)kmin;
	if (kend < *hi)
		*hi = kend < *lo ? *lo : (int)kend;
}

/*
 * draw_glyph: resamples the glyph raster through the inverse of its
 * matrix (bilinear, 16.16 fixed point) into cov, keeping the maximum
 * where strokes meet.
 */
static void
draw_glyph(struct render *r, const struct placed *p)
{
	const struct glyph	*g = p->g;
	const unsigned char	*bits = g->bits;
	const int		 gw = g->w;
	float			 det, i00, i01, i10, i11, hu, hv;
	int32_t			 du, dv, umax, vmax;
	int			 x0, y0, x1, y1, y;

	if (p->blank)
		return;
	det = p->m[0] * p->m[3] - p->m[1] * p->m[2];
	if (fabsf(det) < 1e-6f)
		return;
	i00 = p->m[3] / det;  i01 = -p->m[1] / det;
	i10 = -p->m[2] / det; i11 = p->m[0] / det;
	x0 = (int)floorf(p->cx + p->x0) - 1;
	x1 = (int)ceilf(p->cx + p->x1) + 1;
	y0 = (int)floorf(p->cy + p->y0) - 1;
	y1 = (int)ceilf(p->cy + p->y1) + 1;
	if (x0 < 0) x0 = 0;
	if (y0 < 0) y0 = 0;
	if (x1 > r->width) x1 = r->width;
	if (y1 > r->height) y1 = r->height;
	if (x0 >= x1 || y0 >= y1)
		return;
	ink_grow(r, x0, y0, x1, y1);

	du = fix16(i00);
	dv = fix16(i10);
	/* Sample positions are shifted half a pixel for bilinear taps. */
	hu = g->w / 2.0f - 0.5f;
	hv = g->h / 2.0f - 0.5f;
	umax = (g->w - 1) << 16;
	vmax = (g->h - 1) << 16;
	for (y = y0; y < y1; y++) {
		float	qx = x0 + 0.5f - p->cx, qy = y + 0.5f - p->cy;
		int32_t	u = fix16(i00 * qx + i01 * qy + hu);
		int32_t	v = fix16(i10 * qx + i11 * qy + hv);
		int	lo = 0, hi = x1 - x0;
		unsigned char *out = r->cov + (size_t)(y + r->pady) *
		    r->covstride + x0 + r->padx;

		span_limit(u, du, umax, &lo, &hi);
		span_limit(v, dv, vmax, &lo, &hi);
		if (lo < hi)
			r->kern.glyph(bits, g->pairs, gw, u + lo * du,
			    v + lo * dv, du, dv, hi - lo, out + lo);
	}
}

/* ---- Layout. ---- */

/*
 * layout: gives each glyph its distortion and position. Sizes are worked
 * out at the cached em first; then one scale factor (never above 1, so
 * rasters are only reduced) makes the line fit width and height inside the
 * margins, and the leftover room becomes a random offset.
 */
static void
layout(struct render *r, struct placed *p, int n)
{
	float	left = 1e9f, right = -1e9f, top = 1e9f, bottom = -1e9f;
	float	availw = (float)(r->width - 2 * r->padx);
	float	availh = (float)(r->height - 2 * r->pady);
	float	gscale = 1, stretch, offx, offy;
	int	i, k;

	for (i = 0; i < n; i++) {
		const struct glyph *g = p[i].g;
		float s = rnd_range(&r->rng, SCALE_MIN, SCALE_MAX);
		float a = rnd_range(&r->rng, -ROTATE_MAX, ROTATE_MAX);
		float sh = rnd_range(&r->rng, -SHEAR_MAX, SHEAR_MAX);
		float jitter = rnd_range(&r->rng, -JITTER_MAX, JITTER_MAX);
		float c, sn;

		if (p[i].symbol) {
			/* "7+3=?" must stay a sum: operators are barely
			 * distorted, never overlapped, never crossed. */
			s = 1;
			a *= SYMBOL_CALM;
			sh *= SYMBOL_CALM;
			jitter *= SYMBOL_CALM;
		}
		c = cosf(a);
		sn = sinf(a);

		/* m = s * rotate(a) * shear(sh) */
		p[i].m[0] = s * c;
		p[i].m[1] = s * (c * sh - sn);
		p[i].m[2] = s * sn;
		p[i].m[3] = s * (sn * sh + c);
		p[i].blank = g->w <= 2 || g->h <= 2;
		if (p[i].blank) {
			p[i].x0 = -g->advance * s / 2;
			p[i].x1 = g->advance * s / 2;
			p[i].y0 = p[i].y1 = 0;
		} else {
			p[i].x0 = p[i].y0 = 1e9f;
			p[i].x1 = p[i].y1 = -1e9f;
			for (k = 0; k < HULL_DIRS; k++) {
				float tx = p[i].m[0] * g->hx[k] +
				    p[i].m[1] * g->hy[k];
				float ty = p[i].m[2] * g->hx[k] +
				    p[i].m[3] * g->hy[k];

				p[i].x0 = fminf(p[i].x0, tx);
				p[i].x1 = fmaxf(p[i].x1, tx);
				p[i].y0 = fminf(p[i].y0, ty);
				p[i].y1 = fmaxf(p[i].y1, ty);
			}
		}
		if (i == 0)
			p[i].cx = -p[i].x0;
		else {
			/* A small gap, a touch or a slight overlap, of the
			 * narrower one. */
			float narrow = fminf(p[i].x1 - p[i].x0,
			    p[i - 1].x1 - p[i - 1].x0);
			float gap = p[i].symbol || p[i - 1].symbol ?
			    SYMBOL_GAP : rnd_range(&r->rng, GAP_MIN, GAP_MAX);

			p[i].cx = p[i - 1].cx + p[i - 1].x1 - p[i].x0 +
			    narrow * gap;
		}
		/* The raster centre against the baseline (y down), so that
		 * x-height, cap-height and descenders stay apart (q and 9),
		 * but only BASELINE_KEEP of it: the line gets less tall and
		 * the glyphs larger. Plus a little jitter. */
		p[i].cy = s * (g->h / 2.0f - g->top) * BASELINE_KEEP +
		    r->em * jitter;
		left = fminf(left, p[i].cx + p[i].x0);
		right = fmaxf(right, p[i].cx + p[i].x1);
		if (!p[i].blank) {
			top = fminf(top, p[i].cy + p[i].y0);
			bottom = fmaxf(bottom, p[i].cy + p[i].y1);
		}
	}
	if (bottom < top)
		top = bottom = 0;
	if ((right - left) * gscale > availw)
		gscale = availw / (right - left);
	if ((bottom - top) * gscale > availh)
		gscale = availh / (bottom - top);
	/* A line held back by the height may widen into the spare width:
	 * wider glyphs are easier to read, not easier to segment. */
	stretch = availw / ((right - left) * gscale);
	stretch = stretch < 1 ? 1 : stretch > STRETCH_MAX ? STRETCH_MAX :
	    stretch;
	offx = r->padx + rnd_range(&r->rng, 0,
	    availw - (right - left) * gscale * stretch);
	offy = r->pady + rnd_range(&r->rng, 0, availh - (bottom - top) * gscale);
	for (i = 0; i < n; i++) {
		for (k = 0; k < 4; k++)
			p[i].m[k] *= gscale * (k < 2 ? stretch : 1);
		p[i].x0 *= gscale * stretch;
		p[i].x1 *= gscale * stretch;
		p[i].y0 *= gscale;
		p[i].y1 *= gscale;
		p[i].cx = offx + (p[i].cx - left) * gscale * stretch;
		p[i].cy = offy + (p[i].cy - top) * gscale;
	}
}

/*
 * split_pick: the line is drawn in two tones, the colours swapped from
 * one gap between glyphs on (a vertical line through the middle of that
 * gap, bent by the warp with the glyphs, so no glyph is cut). A person
 * reads light-on-dark as easily as dark-on-light; an OCR engine
 * binarises the whole line one way and finds half of it a solid block.
 */
static void
split_pick(struct render *r, const struct placed *p, int n)
{
	int	gaps[RENDER_CHARS_MAX], ngaps = 0, i, k;

	r->split = INT_MAX;
	/* Two glyphs at least on each side where there are four or more:
	 * OCR that finds one odd glyph at an end reads the rest alone. Never
	 * beside an operator, which readers then take for the other one. */
	for (i = 0; i + 1 < n; i++)
		if (!p[i].blank && !p[i + 1].blank && !p[i].op &&
		    !p[i + 1].op && (n < 4 || (i >= 1 && i + 2 < n)))
			gaps[ngaps++] = i;
	if (ngaps == 0)
		return;
	k = gaps[rnd_below(&r->rng, ngaps)];
	r->split = (int)lrintf((p[k].cx + p[k].x1 + p[k + 1].cx +
	    p[k + 1].x0) * 128);
}

/* ---- Warp, shade and pack. ---- */

/*
 * warp_pack: every pixel near the ink takes the coverage found at itself
 * moved by a smooth random displacement (a WARP_GX x WARP_GY grid of
 * offsets, smoothstep-interpolated, fresh per image; bilinear taps),
 * turned into one of LEVELS shades and packed PNG_DEPTH bits per pixel.
 * Then a few single-pixel dots. Pixels farther from the ink than the
 * displacement amplitude stay background without being looked at.
 */
static void
warp_pack(struct render *r)
{
	const int	 per_byte = 8 / PNG_DEPTH, stride = r->covstride;
	const int	 tail = r->width % per_byte;
	int		 gdx[WARP_GY][WARP_GX], gdy[WARP_GY][WARP_GX];
	int		 rdx[KERNEL_NODES] = { 0 }, rdy[KERNEL_NODES] = { 0 };
	int		 y, i, j, x0, x1, y0, y1, dots;

	for (j = 0; j < WARP_GY; j++)
		for (i = 0; i < WARP_GX; i++) {
			gdx[j][i] = rnd_below(&r->rng, 2 * r->warpx + 1) - r->warpx;
			gdy[j][i] = rnd_below(&r->rng, 2 * r->warpy + 1) - r->warpy;
		}
	memset(r->img, 0, r->imgstride * r->height);
	if (r->split != INT_MAX) {
		/* The swapped part's background is foreground-coloured: every
		 * pixel is looked at. */
		x0 = 0;
		x1 = (r->width + per_byte - 1) & ~(per_byte - 1);
		y0 = 0;
		y1 = r->height;
	} else if (r->ink_x1 > r->ink_x0) {
		x0 = r->ink_x0 - r->padx;
		x1 = r->ink_x1 + r->padx;
		y0 = r->ink_y0 - r->pady;
		y1 = r->ink_y1 + r->pady;
		x0 = x0 < 0 ? 0 : x0 & ~(per_byte - 1);
		x1 = x1 > r->width ? r->width : x1;
		/* Whole bytes: the last may reach past the width into the
		 * padding, whose taps read zero coverage. */
		x1 = (x1 + per_byte - 1) & ~(per_byte - 1);
		y0 = y0 < 0 ? 0 : y0;
		y1 = y1 > r->height ? r->height : y1;
	} else
		x0 = x1 = y0 = y1 = 0;

	for (y = y0; y < y1; y++) {
		int		 cj = r->wrow[y], tj = r->wrowt[y];
		unsigned char	*row = r->img + (size_t)y * r->imgstride + 1;

		for (i = 0; i < WARP_GX; i++) {
			rdx[i] = gdx[cj][i] +
			    (((gdx[cj + 1][i] - gdx[cj][i]) * tj) >> 8);
			rdy[i] = gdy[cj][i] +
			    (((gdy[cj + 1][i] - gdy[cj][i]) * tj) >> 8);
		}
		/*
		 * The field is evaluated once per packed byte and linearly
		 * in between (kernel.h): it is smooth enough that this is
		 * exact to a fraction of a pixel. Positions are in 1/256 px
		 * (the padding keeps every tap inside cov: no bounds test).
		 */
		r->kern.field(rdx, r->wcol + x0 / per_byte,
		    r->wcolt + x0 / per_byte, (x1 - x0) / per_byte + 1, x0 << 8,
		    per_byte << 8, r->ub + x0 / per_byte);
		r->kern.field(rdy, r->wcol + x0 / per_byte,
		    r->wcolt + x0 / per_byte, (x1 - x0) / per_byte + 1, 0, 0,
		    r->vb + x0 / per_byte);
		r->kern.warp(r->cov + (size_t)(y + r->pady) * stride + r->padx,
		    r->covpairs + (size_t)(y + r->pady) * stride + r->padx,
		    stride, r->ub + x0 / per_byte, r->vb + x0 / per_byte,
		    (x1 - x0) / per_byte, r->split, r->from, row + x0 / per_byte);
		/* Bits past the width stay zero. */
		if (tail != 0 && x1 > r->width)
			row[r->width / per_byte] &= (unsigned char)
			    (0xff << (8 - tail * PNG_DEPTH));
	}

	dots = (int)(r->width * r->height * DOTS_PER_PIXEL);
	for (i = 0; i < dots; i++) {
		int dx = r->padx + rnd_below(&r->rng, r->width - 2 * r->padx);
		int dy = r->pady + rnd_below(&r->rng, r->height - 2 * r->pady);
		int shift = (per_byte - 1 - dx % per_byte) * PNG_DEPTH;
		unsigned char *b = r->img + (size_t)dy * r->imgstride + 1 +
		    dx / per_byte;

		*b = (unsigned char)((*b & ~(((1 << PNG_DEPTH) - 1) << shift)) |
		    ((LEVELS - 1) << shift));
	}
}

/* ---- PNG. ---- */

static unsigned char *
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

/*
 * png_chunk: frames the n bytes of data already at p + 8 as a chunk of the
 * given type (length, type, data, CRC-32 of type and data) and returns the
 * end of the chunk.
 */
static unsigned char *
png_chunk(unsigned char *p, const char *type, size_t n)
{
	put32(p, (uint32_t)n);
	memcpy(p + 4, type, 4);
	put32(p + 8 + n, (uint32_t)crc32(0, p + 4, (uInt)(n + 4)));
	return p + 12 + n;
}

/*
 * encode: r->img with palette pal as an indexed PNG into r->out (sized at
 * render_new for the compressor's bound). 0 or -1.
 */
static int
encode(struct render *r, const unsigned char *pal)
{
	static const unsigned char sig[8] = { 137, 'P', 'N', 'G', '\r', '\n',
	    26, '\n' };
	unsigned char	*p = r->out, *d;
	size_t		 n;

	memcpy(p, sig, sizeof(sig));
	p += sizeof(sig);
	d = put32(p + 8, (uint32_t)r->width);
	d = put32(d, (uint32_t)r->height);
	d[0] = PNG_DEPTH;
	d[1] = 3;	/* colour type: palette */
	d[2] = d[3] = d[4] = 0;	/* deflate, adaptive filters, no interlace */
	p = png_chunk(p, "IHDR", 13);
	memcpy(p + 8, pal, 3 * LEVELS);
	p = png_chunk(p, "PLTE", 3 * LEVELS);
	isal_deflate_stateless_init(r->zs);
	r->zs->level = PNG_DEFLATE_LEVEL;
	r->zs->gzip_flag = IGZIP_ZLIB;
	if (r->huff_made)
		r->zs->hufftables = r->huff;
	r->zs->end_of_stream = 1;
	r->zs->flush = NO_FLUSH;
	r->zs->next_in = r->img;
	r->zs->avail_in = (uint32_t)(r->imgstride * r->height);
	r->zs->next_out = p + 8;
	r->zs->avail_out = (uint32_t)(r->outcap - (size_t)(p - r->out) - 24);
	if (isal_deflate_stateless(r->zs) != COMP_OK)
		return -1;
	n = r->zs->total_out;
	p = png_chunk(p, "IDAT", n);
	p = png_chunk(p, "IEND", 0);
	r->outlen = (size_t)(p - r->out);
	return 0;
}

/* ---- One image. ---- */

/* draw: text's pixels, packed, into r->img (steps 1 to 4). 0 or -1. */
static int
draw(struct render *r, const char *text)
{
	uint32_t	cps[RENDER_CHARS_MAX];
	struct placed	p[RENDER_CHARS_MAX];
	int		n, i;

	if ((n = utf8_decode(text, cps, RENDER_CHARS_MAX)) <= 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((p[i].g = glyph_pick(r, cps[i], &r->spare[i])) == NULL)
			return -1;
		p[i].symbol = is_symbol(cps[i]);
		p[i].op = cps[i] == '+' || cps[i] == '-';
	}
	layout(r, p, n);

	memset(r->cov, 0, (size_t)r->covstride * (r->height + 2 * r->pady));
	r->ink_x0 = r->ink_y0 = INT32_MAX;
	r->ink_x1 = r->ink_y1 = 0;
	for (i = 0; i < n; i++)
		draw_glyph(r, &p[i]);
	split_pick(r, p, n);
	if (r->kern.pairs != NULL)
		r->kern.pairs(r->cov, r->covstride, (size_t)r->covstride *
		    (r->height + 2 * r->pady - 1), r->covpairs);
	warp_pack(r);
	return 0;
}

/*
 * huff_make: the Huffman code of this renderer's PNGs, from the rows of
 * HUFF_SAMPLES images of its own size drawn from HUFF_SEED; the random
 * state is put back after. 0 or -1.
 */
static int
huff_make(struct render *r)
{
	static const char *const texts[] = {
		"ACDE", "FHKL", "MNPR", "TUVW", "XY34", "6793", "7+4=?", "K9Q2",
	};
	struct isal_huff_histogram	*hist;
	uint64_t			 saved = r->rng;
	int				 i, rc = 0;

	if ((hist = calloc(1, sizeof(*hist))) == NULL)
		return -1;
	r->rng = HUFF_SEED;
	for (i = 0; i < HUFF_SAMPLES && rc == 0; i++)
		if ((rc = draw(r, texts[i % (sizeof(texts) /
		    sizeof(texts[0]))])) == 0)
			isal_update_histogram(r->img, (int)(r->imgstride *
			    r->height), hist);
	r->rng = saved;
	if (rc == 0 && isal_create_hufftables(r->huff, hist) != 0)
		rc = -1;
	r->huff_made = rc == 0;
	free(hist);
	return rc;
}

/* ---- Public API. ---- */

/*
 * faces_open: the built-in faces, or the one at path. Returns 0 or -1
 * with err filled.
 */
static int
faces_open(struct render *r, const char *path, char *err, size_t errlen)
{
	const char	*name = path && *path ? path : "built-in";
	struct stat	 st;
	FT_Error	 e;
	size_t		 i;

	if (path == NULL || path[0] == '\0') {
		for (i = 0; i < render_font_count && i < FACE_MAX; i++) {
			e = FT_New_Memory_Face(r->ft,
			    render_font_table[i].data,
			    (FT_Long)render_font_table[i].size, 0,
			    &r->faces[r->nfaces]);
			if (e) {
				render_errf(err, errlen, "built-in font %zu: "
				    "FreeType error 0x%02x", i, e);
				return -1;
			}
			r->nfaces++;
		}
		if (r->nfaces == 0) {
			render_errf(err, errlen, "no built-in font");
			return -1;
		}
	} else {
		/* stat first: FreeType says "cannot open resource" for a
		 * missing file, a directory and a permission problem alike. */
		if (stat(path, &st) == -1) {
			render_errf(err, errlen, "font %s: %s", path, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			render_errf(err, errlen, "font %s: not a regular file", path);
			return -1;
		}
		if ((e = FT_New_Face(r->ft, path, 0, &r->faces[0])) != 0) {
			render_errf(err, errlen, "font %s: not a font FreeType can "
			    "read (error 0x%02x)", path, e);
			return -1;
		}
		r->nfaces = 1;
		if ((r->font_path = strdup(path)) == NULL) {
			render_errf(err, errlen, "out of memory");
			return -1;
		}
	}
	for (i = 0; i < (size_t)r->nfaces; i++) {
		FT_Face f = r->faces[i];

		if (!FT_IS_SCALABLE(f) || f->num_glyphs <= 0) {
			render_errf(err, errlen, "font %s: no scalable glyphs", name);
			return -1;
		}
		if (FT_Select_Charmap(f, FT_ENCODING_UNICODE)) {
			render_errf(err, errlen, "font %s: no Unicode character map",
			    name);
			return -1;
		}
		if (FT_Set_Pixel_Sizes(f, 0, (FT_UInt)r->em)) {
			render_errf(err, errlen, "font %s: cannot scale to %d px",
			    name, r->em);
			return -1;
		}
	}
	return 0;
}

/*
 * warp_tables: for n pixels step apart along a side of size pixels, the
 * grid cell and the smoothstep weight 0..256 within it. Pixels past size
 * (the tail of a last packed byte) stay in the last cell.
 */
static void
warp_tables(int *cell, int *weight, int n, int step, int size, int nodes)
{
	int	i, c;

	for (i = 0; i < n; i++) {
		float	f = (i * step + 0.5f) * (nodes - 1) / size, t;

		c = (int)f;
		if (c > nodes - 2)
			c = nodes - 2;
		t = f - c;
		if (t > 1)
			t = 1;
		weight[i] = (int)lrintf(t * t * (3 - 2 * t) * 256);
		cell[i] = c;
	}
}

struct render *
render_new(int width, int height, const char *font_path, char *err,
    size_t errlen)
{
	struct render	*r;
	int		 c, k;

	if (width < RENDER_WIDTH_MIN || width > RENDER_WIDTH_MAX ||
	    height < RENDER_HEIGHT_MIN || height > RENDER_HEIGHT_MAX) {
		render_errf(err, errlen, "captcha size %dx%d out of range "
		    "(%dx%d to %dx%d)", width, height, RENDER_WIDTH_MIN,
		    RENDER_HEIGHT_MIN, RENDER_WIDTH_MAX, RENDER_HEIGHT_MAX);
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		render_errf(err, errlen, "out of memory");
		return NULL;
	}
	r->width = width;
	r->height = height;
	r->em = (int)lrintf(height * EM_PER_HEIGHT);
	/* Relative to the glyph size, which follows the height; a tall,
	 * narrow image must not lose its width to the margins. */
	r->warpx = (int)lrintf((height < width / 2 ? height : width / 2) *
	    WARP_X * 256);
	r->warpy = (int)lrintf(height * WARP_Y * 256);
	/* Ink stays this far from the edges: the warp's reach plus a pixel
	 * for each bilinear pass, so nothing is ever cut off. The scratch
	 * raster has the same zero border, so no tap needs a bounds test. */
	r->padx = (r->warpx + 255) / 256 + 2;
	r->pady = (r->warpy + 255) / 256 + 2;
	r->covstride = width + 2 * r->padx;
	r->imgstride = ((size_t)width * PNG_DEPTH + 7) / 8 + 1;
	if (rnd_seed(&r->rng) == -1) {
		render_errf(err, errlen, "getrandom: %s", strerror(errno));
		goto fail;
	}
	if (FT_Init_FreeType(&r->ft)) {
		r->ft = NULL;
		render_errf(err, errlen, "FreeType cannot start");
		goto fail;
	}
	if (faces_open(r, font_path, err, errlen) == -1)
		goto fail;
	r->cache = calloc(CACHE_SLOTS, sizeof(*r->cache));
	r->cov = calloc((size_t)r->covstride * (height + 2 * r->pady), 1);
	r->covpairs = calloc((size_t)r->covstride * (height + 2 * r->pady), 2);
	r->img = calloc(r->imgstride, (size_t)height);
	r->wcol = calloc((size_t)width / 4 + 2 + KERNEL_ROUND, sizeof(int));
	r->wcolt = calloc((size_t)width / 4 + 2 + KERNEL_ROUND, sizeof(int));
	r->wrow = calloc((size_t)height, sizeof(int));
	r->wrowt = calloc((size_t)height, sizeof(int));
	r->ub = calloc((size_t)width / 4 + 2 + KERNEL_ROUND, sizeof(int));
	r->vb = calloc((size_t)width / 4 + 2 + KERNEL_ROUND, sizeof(int));
	r->huff = calloc(1, sizeof(*r->huff));
	r->zs = calloc(1, sizeof(*r->zs));
	r->outcap = PNG_FRAMING + DEFLATE_BOUND(r->imgstride * height);
	r->out = malloc(r->outcap);
	if (r->cache == NULL || r->cov == NULL || r->covpairs == NULL ||
	    r->img == NULL ||
	    r->wcol == NULL || r->wcolt == NULL || r->wrow == NULL ||
	    r->wrowt == NULL || r->ub == NULL || r->vb == NULL ||
	    r->huff == NULL || r->zs == NULL || r->out == NULL) {
		render_errf(err, errlen, "out of memory");
		goto fail;
	}
	/* Shade k from coverage c where (c * (LEVELS - 1) + 127) / 255 = k:
	 * the nearest of LEVELS evenly spaced shades. */
	for (c = 255; c >= 0; c--)
		if ((k = (c * (LEVELS - 1) + 127) / 255) > 0)
			r->from[k - 1] = c;
	kernels_pick(&r->kern, 0);
	warp_tables(r->wcol, r->wcolt, width / 4 + 2 + KERNEL_ROUND, 4, width,
	    WARP_GX);
	warp_tables(r->wrow, r->wrowt, height, 1, height, WARP_GY);
	palettes_make(r);
	return r;
fail:
	render_free(r);
	return NULL;
}

void
render_seed(struct render *r, uint64_t seed)
{
	/* splitmix64's finaliser: neighbouring seeds give unrelated
	 * states, as a small xorshift state would not. */
	seed += 0x9e3779b97f4a7c15u;
	seed = (seed ^ (seed >> 30)) * 0xbf58476d1ce4e5b9u;
	seed = (seed ^ (seed >> 27)) * 0x94d049bb133111ebu;
	r->rng = (seed ^ (seed >> 31)) | 1;	/* xorshift: never zero */
	palettes_make(r);
}

void
render_portable(struct render *r, int on)
{
	kernels_pick(&r->kern, on);
}

int
render_prewarm(struct render *r, char *err, size_t errlen)
{
	uint32_t	cp;
	int		f;

	for (f = 0; f < r->nfaces; f++)
		for (cp = PREWARM_FIRST; cp <= PREWARM_LAST; cp++)
			if (glyph_get(r, f, cp, &r->spare[0]) == NULL) {
				render_errf(err, errlen, "out of memory");
				return -1;
			}
	if (huff_make(r) == -1) {
		render_errf(err, errlen, "cannot make the PNG's Huffman code");
		return -1;
	}
	return 0;
}

void
render_free(struct render *r)
{
	int	i;

	if (r == NULL)
		return;
	if (r->cache != NULL)
		for (i = 0; i < CACHE_SLOTS; i++) {
			free(r->cache[i].bits);
			free(r->cache[i].pairs);
		}
	for (i = 0; i < RENDER_CHARS_MAX; i++) {
		free(r->spare[i].bits);
		free(r->spare[i].pairs);
	}
	for (i = 0; i < r->nfaces; i++)
		FT_Done_Face(r->faces[i]);
	if (r->ft != NULL)
		FT_Done_FreeType(r->ft);
	free(r->cache);
	free(r->cov);
	free(r->covpairs);
	free(r->img);
	free(r->wcol);
	free(r->wcolt);
	free(r->wrow);
	free(r->wrowt);
	free(r->ub);
	free(r->vb);
	free(r->huff);
	free(r->zs);
	free(r->out);
	free(r->font_path);
	free(r);
}

int
render_png(struct render *r, const char *text, unsigned char **png,
    size_t *len)
{
	if (r == NULL || text == NULL || png == NULL || len == NULL)
		return -1;
	if (draw(r, text) == -1)
		return -1;
	if (encode(r, r->palettes[rnd_below(&r->rng, PALETTES)]) == -1)
		return -1;
	if ((*png = malloc(r->outlen)) == NULL)
		return -1;
	memcpy(*png, r->out, r->outlen);
	*len = r->outlen;
	return 0;
}
