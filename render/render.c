/*
 * render.c: captcha text to PNG bytes.
 *
 * Pipeline of one image (render_png):
 *   1. the UTF-8 text is decoded and each character gets a face and a
 *      coverage raster from the glyph cache (filled by FreeType at
 *      render_new time for ASCII, on first use for anything else);
 *   2. layout: each glyph gets a random scale, rotation, shear and vertical
 *      jitter, neighbours overlap, and the whole line is scaled so that its
 *      transformed boxes fit inside the margins (no glyph is ever clipped);
 *   3. glyphs, crossing strokes and arcs are drawn as 8-bit coverage into a
 *      scratch raster;
 *   4. that raster is resampled through a fresh smooth displacement field
 *      and quantised to a few levels between background and foreground;
 *   5. the levels are packed as a 2- or 4-bit palette PNG by libpng into a
 *      growable memory buffer.
 *
 * Everything that does not change per image (faces, glyph rasters,
 * palettes, warp interpolation tables, scratch buffers) is made once per
 * renderer. The only mutable state is inside struct render; the library
 * never prints and never exits.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include <png.h>

#include "render/render.h"

/* The built-in fonts, from render/fonts.S. */
struct font_blob {
	const unsigned char	*data;
	size_t			 size;
};
extern const struct font_blob	render_font_table[];
extern const size_t		render_font_count;

/* ---- Limits and tuning. ---- */
#define RENDER_WIDTH_MIN	60
#define RENDER_WIDTH_MAX	1024
#define RENDER_HEIGHT_MIN	20
#define RENDER_HEIGHT_MAX	512
#define RENDER_CHARS_MAX	12	/* characters per image */
#define FACE_MAX		8	/* faces in use by one renderer */

/*
 * Glyphs are rasterised once at an em of EM_PER_HEIGHT x image height and
 * only ever scaled down by the layout, so sampling stays sharp.
 */
#define EM_PER_HEIGHT		1.0f

#define CACHE_SLOTS		4096	/* glyph cache slots, a power of two */
#define CACHE_FILL_MAX		(CACHE_SLOTS * 3 / 4)
#define CACHE_BYTES_MAX		(32u << 20)	/* raster bytes cached */
#define PREWARM_FIRST		0x21	/* printable ASCII is cached up front */
#define PREWARM_LAST		0x7e
#define NOTDEF_KEY		0x110000u	/* past Unicode: the .notdef glyph */

/* Per-glyph distortion ranges. */
#define SCALE_MIN		0.82f
#define SCALE_MAX		1.12f
#define ROTATE_MAX		0.38f	/* radians, about 22 degrees */
#define SHEAR_MAX		0.28f
#define JITTER_MAX		0.07f	/* vertical, fraction of em */
#define OVERLAP_MIN		0.10f	/* fraction of the narrower glyph */
#define OVERLAP_MAX		0.28f

/* Strokes across the text, half-widths as a fraction of em. */
#define STROKE_HALF_MIN		0.030f
#define STROKE_HALF_MAX		0.055f
#define STROKE_SEGMENTS		16	/* polyline pieces per curve */
#define ARCS_MAX		2	/* short arcs over single glyphs */
#define DOTS_PER_PIXEL		(1.0f / 500)

/* The displacement field: a coarse grid of random offsets, smoothly
 * interpolated; its amplitude is a fraction of the image height. */
#define WARP_GX			6
#define WARP_GY			4
#define WARP_AMPLITUDE		0.055f

/* Colours: LEVELS shades from background (0) to foreground (LEVELS-1). */
#define LEVELS			4
#define PNG_DEPTH		2	/* bits per pixel for LEVELS entries */
#define PALETTES		64	/* colour pairs made at start-up */
#define CONTRAST_MIN		7.0	/* WCAG "AAA" luminance contrast */

#ifndef PNG_ZLIB_LEVEL
#define PNG_ZLIB_LEVEL		9
#endif
#ifndef PNG_ZLIB_STRATEGY
#define PNG_ZLIB_STRATEGY	0
#endif
#ifndef PNG_ZLIB_MEMLEVEL
#define PNG_ZLIB_MEMLEVEL	8
#endif
#define PNG_BUF_INITIAL		2048

struct glyph {
	uint32_t	 cp;		/* code point or NOTDEF_KEY */
	uint8_t		 used;		/* slot holds an entry */
	uint8_t		 missing;	/* face has no glyph for cp */
	uint8_t		 face;
	int		 w, h;		/* raster size, 1-px zero border included */
	float		 left, top;	/* ink box vs. pen origin (y up) */
	float		 advance;
	unsigned char	*bits;		/* w * h coverage */
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
	struct glyph	*cache;		/* CACHE_SLOTS open-addressed */
	int		 cached;
	size_t		 cached_bytes;
	struct glyph	 spare[RENDER_CHARS_MAX]; /* when the cache is full */
	uint64_t	 rng;
	struct rgb	 palettes[PALETTES][LEVELS];
	unsigned char	*cov;		/* (width+2) x (height+2) coverage */
	int		 covstride;
	unsigned char	*img;		/* packed PNG rows */
	size_t		 rowbytes;
	png_bytep	*rows;
	/* Warp interpolation: cell and smoothstep weight (0..256) per pixel. */
	int		*wcol, *wcolt, *wrow, *wrowt;
	int		 warp_max;	/* amplitude in 1/256 px */
	int		 margin;	/* pixels kept free of ink */
	/* Bounding box of ink drawn into cov this image (cov coordinates). */
	int		 ink_x0, ink_y0, ink_x1, ink_y1;
};

/* ---- Small helpers. ---- */

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* xorshift64*: fast, not secret; only positions and colours come from it. */
static uint32_t
rnd_u32(struct render *r)
{
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return (uint32_t)((r->rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* A float uniform in [lo, hi). */
static float
rnd_range(struct render *r, float lo, float hi)
{
	return lo + (hi - lo) * (float)(rnd_u32(r) >> 8) * (1.0f / 16777216.0f);
}

/* An integer uniform in [0, n); the tiny bias is of no concern here. */
static int
rnd_below(struct render *r, int n)
{
	return (int)(((uint64_t)rnd_u32(r) * (uint32_t)n) >> 32);
}

static int
rnd_seed(struct render *r)
{
	uint64_t	seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return -1;
	r->rng = seed | 1;	/* xorshift state must not be zero */
	return 0;
}

/*
 * utf8_decode: strict UTF-8 to code points (no overlongs, surrogates or
 * values past U+10FFFF). Returns the count, or -1 if s is invalid or has
 * more than max characters.
 */
static int
utf8_decode(const char *s, uint32_t *out, int max)
{
	const unsigned char	*p = (const unsigned char *)s;
	int			 n = 0, len, i;
	uint32_t		 c, min;

	while (*p != '\0') {
		if (n == max)
			return -1;
		c = *p;
		if (c < 0x80) {
			len = 1; min = 0;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2; min = 0x80; c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3; min = 0x800; c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4; min = 0x10000; c &= 0x07;
		} else
			return -1;
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return -1;
		out[n++] = c;
		p += len;
	}
	return n;
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
			int inverse = rnd_below(r, 5) == 0;
			float hb = rnd_range(r, 0, 1), hf = rnd_range(r, 0, 1);

			bg = hsl_rgb(hb, rnd_range(r, 0.2f, 0.7f),
			    inverse ? rnd_range(r, 0.08f, 0.2f) :
			    rnd_range(r, 0.86f, 0.97f));
			fg = hsl_rgb(hf, rnd_range(r, 0.4f, 0.9f),
			    inverse ? rnd_range(r, 0.8f, 0.92f) :
			    rnd_range(r, 0.12f, 0.35f));
			lb = luminance(bg);
			lf = luminance(fg);
			ratio = lb > lf ? (lb + 0.05) / (lf + 0.05) :
			    (lf + 0.05) / (lb + 0.05);
		} while (ratio < CONTRAST_MIN);
		for (k = 0; k < LEVELS; k++) {
			int t = k * 256 / (LEVELS - 1);

			r->palettes[i][k].r = (unsigned char)
			    ((bg.r * (256 - t) + fg.r * t) >> 8);
			r->palettes[i][k].g = (unsigned char)
			    ((bg.g * (256 - t) + fg.g * t) >> 8);
			r->palettes[i][k].b = (unsigned char)
			    ((bg.b * (256 - t) + fg.b * t) >> 8);
		}
		r->palettes[i][LEVELS - 1] = fg;
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
	unsigned int	 x, y;
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
	if (bm->pixel_mode != FT_PIXEL_MODE_GRAY &&
	    bm->pixel_mode != FT_PIXEL_MODE_MONO && bm->rows > 0)
		return 0;
	w = (int)bm->width + 2;
	h = (int)bm->rows + 2;
	if ((bits = realloc(g->bits, (size_t)w * h)) == NULL)
		return -1;
	memset(bits, 0, (size_t)w * h);
	for (y = 0; y < bm->rows; y++) {
		const unsigned char *src = bm->buffer + (long)y * bm->pitch;
		unsigned char *dst = bits + (size_t)(y + 1) * w + 1;

		for (x = 0; x < bm->width; x++)
			dst[x] = bm->pixel_mode == FT_PIXEL_MODE_GRAY ?
			    src[x] :
			    ((src[x >> 3] >> (7 - (x & 7))) & 1) * 255;
	}
	g->bits = bits;
	g->w = w;
	g->h = h;
	g->left = (float)slot->bitmap_left - 1;
	g->top = (float)slot->bitmap_top + 1;
	g->advance = (float)slot->advance.x / 64;
	g->missing = 0;
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
		r->cached_bytes += (size_t)g->w * g->h + sizeof(*g);
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
	int			 start = rnd_below(r, r->nfaces), k;

	for (k = 0; k < r->nfaces; k++) {
		g = glyph_get(r, (start + k) % r->nfaces, cp, spare);
		if (g == NULL)
			return NULL;
		if (!g->missing)
			return g;
	}
	return glyph_get(r, 0, NOTDEF_KEY, spare);
}

/* ---- Drawing into the coverage raster. ---- */

static void
ink_grow(struct render *r, int x0, int y0, int x1, int y1)
{
	if (x0 < r->ink_x0) r->ink_x0 = x0;
	if (y0 < r->ink_y0) r->ink_y0 = y0;
	if (x1 > r->ink_x1) r->ink_x1 = x1;
	if (y1 > r->ink_y1) r->ink_y1 = y1;
}

/* One glyph as laid out: forward matrix, centre and half-extents (px). */
struct placed {
	const struct glyph	*g;
	float			 m[4];	/* glyph px -> image px, row-major */
	float			 cx, cy;
	float			 ex, ey;
};

/*
 * draw_glyph: resamples the glyph raster through the inverse of its
 * matrix (bilinear, 16.16 fixed point) into cov, keeping the maximum.
 */
static void
draw_glyph(struct render *r, const struct placed *p)
{
	const struct glyph	*g = p->g;
	float			 det, i00, i01, i10, i11;
	int			 x0, y0, x1, y1, x, y;

	if (g->w <= 2 || g->h <= 2)
		return;
	det = p->m[0] * p->m[3] - p->m[1] * p->m[2];
	if (fabsf(det) < 1e-6f)
		return;
	i00 = p->m[3] / det;  i01 = -p->m[1] / det;
	i10 = -p->m[2] / det; i11 = p->m[0] / det;
	x0 = (int)floorf(p->cx - p->ex) - 1;
	x1 = (int)ceilf(p->cx + p->ex) + 1;
	y0 = (int)floorf(p->cy - p->ey) - 1;
	y1 = (int)ceilf(p->cy + p->ey) + 1;
	if (x0 < 0) x0 = 0;
	if (y0 < 0) y0 = 0;
	if (x1 > r->width) x1 = r->width;
	if (y1 > r->height) y1 = r->height;
	if (x0 >= x1 || y0 >= y1)
		return;
	ink_grow(r, x0, y0, x1, y1);

	const int32_t du = (int32_t)lrintf(i00 * 65536);
	const int32_t dv = (int32_t)lrintf(i10 * 65536);
	/* Raster coordinates are shifted by -0.5 for bilinear sampling. */
	const float hu = g->w / 2.0f - 0.5f, hv = g->h / 2.0f - 0.5f;
	const int32_t umax = (g->w - 1) << 16, vmax = (g->h - 1) << 16;

	for (y = y0; y < y1; y++) {
		float qx = x0 + 0.5f - p->cx, qy = y + 0.5f - p->cy;
		int32_t u = (int32_t)lrintf((i00 * qx + i01 * qy + hu) * 65536);
		int32_t v = (int32_t)lrintf((i10 * qx + i11 * qy + hv) * 65536);
		unsigned char *out = r->cov + (size_t)(y + 1) * r->covstride +
		    x0 + 1;

		for (x = x0; x < x1; x++, out++, u += du, v += dv) {
			if (u < 0 || v < 0 || u >= umax || v >= vmax)
				continue;
			const unsigned char *s = g->bits +
			    (size_t)(v >> 16) * g->w + (u >> 16);
			unsigned fu = (u >> 8) & 0xff, fv = (v >> 8) & 0xff;
			unsigned top = s[0] * (256 - fu) + s[1] * fu;
			unsigned bot = s[g->w] * (256 - fu) + s[g->w + 1] * fu;
			unsigned c = (top * (256 - fv) + bot * fv) >> 16;

			if (c > *out)
				*out = (unsigned char)c;
		}
	}
}

/*
 * draw_segment: an anti-aliased capsule of half-width hw from (ax,ay) to
 * (bx,by), kept inside the margins so the warp cannot push it out.
 */
static void
draw_segment(struct render *r, float ax, float ay, float bx, float by,
    float hw)
{
	float	dx = bx - ax, dy = by - ay;
	float	len2 = dx * dx + dy * dy;
	int	x0, y0, x1, y1, x, y;
	int	lo = r->margin, hix = r->width - r->margin,
		hiy = r->height - r->margin;

	x0 = (int)floorf(fminf(ax, bx) - hw - 1);
	x1 = (int)ceilf(fmaxf(ax, bx) + hw + 1);
	y0 = (int)floorf(fminf(ay, by) - hw - 1);
	y1 = (int)ceilf(fmaxf(ay, by) + hw + 1);
	if (x0 < lo) x0 = lo;
	if (y0 < lo) y0 = lo;
	if (x1 > hix) x1 = hix;
	if (y1 > hiy) y1 = hiy;
	if (x0 >= x1 || y0 >= y1)
		return;
	ink_grow(r, x0, y0, x1, y1);
	for (y = y0; y < y1; y++) {
		unsigned char *out = r->cov + (size_t)(y + 1) * r->covstride + 1;

		for (x = x0; x < x1; x++) {
			float px = x + 0.5f - ax, py = y + 0.5f - ay;
			float t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
			float ex, ey, d, c;

			t = t < 0 ? 0 : t > 1 ? 1 : t;
			ex = px - t * dx;
			ey = py - t * dy;
			d = sqrtf(ex * ex + ey * ey);
			c = hw + 0.5f - d;
			if (c <= 0)
				continue;
			c = c >= 1 ? 255 : c * 255;
			if ((unsigned char)c > out[x])
				out[x] = (unsigned char)c;
		}
	}
}

/* draw_curve: a cubic Bezier through four points as a polyline. */
static void
draw_curve(struct render *r, const float *px, const float *py, float hw)
{
	float	lx = px[0], ly = py[0];
	int	i;

	for (i = 1; i <= STROKE_SEGMENTS; i++) {
		float t = (float)i / STROKE_SEGMENTS, s = 1 - t;
		float x = s * s * s * px[0] + 3 * s * s * t * px[1] +
		    3 * s * t * t * px[2] + t * t * t * px[3];
		float y = s * s * s * py[0] + 3 * s * s * t * py[1] +
		    3 * s * t * t * py[2] + t * t * t * py[3];

		draw_segment(r, lx, ly, x, y, hw);
		lx = x;
		ly = y;
	}
}

/* draw_arc: part of a circle, as a polyline. */
static void
draw_arc(struct render *r, float cx, float cy, float radius, float a0,
    float span, float hw)
{
	float	lx = cx + radius * cosf(a0), ly = cy + radius * sinf(a0);
	int	i;

	for (i = 1; i <= STROKE_SEGMENTS; i++) {
		float a = a0 + span * i / STROKE_SEGMENTS;
		float x = cx + radius * cosf(a), y = cy + radius * sinf(a);

		draw_segment(r, lx, ly, x, y, hw);
		lx = x;
		ly = y;
	}
}

/* ---- Layout. ---- */

/*
 * layout: gives each glyph its distortion and position. Sizes are worked
 * out at the cached em first; then one scale factor (never above 1, so
 * rasters are only reduced) makes the line fit width and height inside the
 * margins, and the leftover room becomes a random offset. Returns that
 * factor.
 */
static float
layout(struct render *r, struct placed *p, int n)
{
	float	x = 0, top = 1e9f, bottom = -1e9f, gscale, sx, sy;
	float	availw = (float)(r->width - 2 * r->margin);
	float	availh = (float)(r->height - 2 * r->margin);
	float	offx, offy;
	int	i;

	for (i = 0; i < n; i++) {
		const struct glyph *g = p[i].g;
		float s = rnd_range(r, SCALE_MIN, SCALE_MAX);
		float a = rnd_range(r, -ROTATE_MAX, ROTATE_MAX);
		float k = rnd_range(r, -SHEAR_MAX, SHEAR_MAX);
		float c = cosf(a), sn = sinf(a);
		float gw = (float)g->w, gh = (float)g->h;

		/* m = s * rotate(a) * shear(k) */
		p[i].m[0] = s * c;
		p[i].m[1] = s * (c * k - sn);
		p[i].m[2] = s * sn;
		p[i].m[3] = s * (sn * k + c);
		p[i].ex = (fabsf(p[i].m[0]) * gw + fabsf(p[i].m[1]) * gh) / 2;
		p[i].ey = (fabsf(p[i].m[2]) * gw + fabsf(p[i].m[3]) * gh) / 2;
		if (g->w <= 2 || g->h <= 2) {
			/* A blank (space): it only takes room. */
			p[i].ex = g->advance * s / 2;
			p[i].ey = 0;
		}
		if (i > 0) {
			float narrow = fminf(p[i].ex, p[i - 1].ex) * 2;

			x += p[i - 1].ex + p[i].ex -
			    narrow * rnd_range(r, OVERLAP_MIN, OVERLAP_MAX);
		} else
			x = p[i].ex;
		p[i].cx = x;
		/* Keep the glyph's height against the baseline (y down). */
		p[i].cy = s * (-g->top + gh / 2) +
		    r->em * rnd_range(r, -JITTER_MAX, JITTER_MAX);
		if (p[i].ey > 0) {
			top = fminf(top, p[i].cy - p[i].ey);
			bottom = fmaxf(bottom, p[i].cy + p[i].ey);
		}
	}
	sx = x + p[n - 1].ex;
	if (bottom < top)
		top = bottom = 0;
	sy = bottom - top;
	gscale = 1;
	if (sx * gscale > availw)
		gscale = availw / sx;
	if (sy * gscale > availh)
		gscale = availh / sy;
	offx = r->margin + rnd_range(r, 0, availw - sx * gscale);
	offy = r->margin + rnd_range(r, 0, availh - sy * gscale);
	for (i = 0; i < n; i++) {
		p[i].m[0] *= gscale; p[i].m[1] *= gscale;
		p[i].m[2] *= gscale; p[i].m[3] *= gscale;
		p[i].ex *= gscale;
		p[i].ey *= gscale;
		p[i].cx = offx + p[i].cx * gscale;
		p[i].cy = offy + (p[i].cy - top) * gscale;
	}
	return gscale;
}

/*
 * draw_noise: a long curve through the line of text, short arcs over
 * single glyphs and a sprinkle of dots, all in the text's own colour so
 * that colour does not separate them from the glyphs.
 */
static void
draw_noise(struct render *r, const struct placed *p, int n, float unit)
{
	float	 px[4], py[4], lo = 1e9f, hi = -1e9f, left, right;
	int	 i, arcs, dots;

	for (i = 0; i < n; i++) {
		lo = fminf(lo, p[i].cy - p[i].ey * 0.6f);
		hi = fmaxf(hi, p[i].cy + p[i].ey * 0.6f);
	}
	if (hi <= lo) {
		lo = r->height * 0.3f;
		hi = r->height * 0.7f;
	}
	left = p[0].cx - p[0].ex;
	right = p[n - 1].cx + p[n - 1].ex;
	for (i = 0; i < 4; i++) {
		px[i] = left + (right - left) * (i / 3.0f) +
		    rnd_range(r, -0.1f, 0.1f) * (right - left);
		py[i] = rnd_range(r, lo, hi);
	}
	draw_curve(r, px, py,
	    unit * rnd_range(r, STROKE_HALF_MIN, STROKE_HALF_MAX));

	arcs = 1 + rnd_below(r, ARCS_MAX);
	for (i = 0; i < arcs; i++) {
		const struct placed *q = &p[rnd_below(r, n)];
		float rad = fmaxf(q->ey, q->ex) * rnd_range(r, 0.6f, 1.1f);

		draw_arc(r, q->cx + rnd_range(r, -q->ex, q->ex),
		    q->cy + rnd_range(r, -q->ey, q->ey), rad,
		    rnd_range(r, 0, 6.2832f), rnd_range(r, 1.2f, 2.6f),
		    unit * rnd_range(r, STROKE_HALF_MIN, STROKE_HALF_MAX));
	}

	dots = (int)(r->width * r->height * DOTS_PER_PIXEL);
	for (i = 0; i < dots; i++) {
		int x = r->margin + rnd_below(r, r->width - 2 * r->margin);
		int y = r->margin + rnd_below(r, r->height - 2 * r->margin);

		r->cov[(size_t)(y + 1) * r->covstride + x + 1] = 255;
		ink_grow(r, x, y, x + 1, y + 1);
	}
}

/* ---- Warp and quantise. ---- */

/*
 * warp_pack: for every pixel near the ink, samples cov at the pixel moved
 * by a smooth random displacement (a WARP_GX x WARP_GY grid of offsets,
 * smoothstep-interpolated, fresh per image), quantises the coverage to
 * LEVELS palette indices and packs them PNG_DEPTH bits per pixel.
 */
static void
warp_pack(struct render *r)
{
	int	gdx[WARP_GY][WARP_GX], gdy[WARP_GY][WARP_GX];
	int	rdx[WARP_GX], rdy[WARP_GX];
	int	x, y, i, j, x0, x1, y0, y1;
	int	d = r->warp_max;
	int	maxu = r->width << 8, maxv = r->height << 8;
	const int per_byte = 8 / PNG_DEPTH;

	for (j = 0; j < WARP_GY; j++)
		for (i = 0; i < WARP_GX; i++) {
			gdx[j][i] = rnd_below(r, 2 * d + 1) - d;
			gdy[j][i] = rnd_below(r, 2 * d + 1) - d;
		}
	memset(r->img, 0, r->rowbytes * r->height);
	if (r->ink_x1 <= r->ink_x0)
		return;
	/* Pixels farther than the amplitude from any ink stay background. */
	x0 = r->ink_x0 - (d >> 8) - 2;
	x1 = r->ink_x1 + (d >> 8) + 2;
	y0 = r->ink_y0 - (d >> 8) - 2;
	y1 = r->ink_y1 + (d >> 8) + 2;
	if (x0 < 0) x0 = 0;
	if (y0 < 0) y0 = 0;
	if (x1 > r->width) x1 = r->width;
	if (y1 > r->height) y1 = r->height;

	for (y = y0; y < y1; y++) {
		int cj = r->wrow[y], tj = r->wrowt[y];
		unsigned char *row = r->img + (size_t)y * r->rowbytes;

		for (i = 0; i < WARP_GX; i++) {
			rdx[i] = gdx[cj][i] + (((gdx[cj + 1][i] - gdx[cj][i]) *
			    tj) >> 8);
			rdy[i] = gdy[cj][i] + (((gdy[cj + 1][i] - gdy[cj][i]) *
			    tj) >> 8);
		}
		for (x = x0; x < x1; x++) {
			int ci = r->wcol[x], ti = r->wcolt[x];
			int u = (x << 8) + rdx[ci] +
			    (((rdx[ci + 1] - rdx[ci]) * ti) >> 8);
			int v = (y << 8) + rdy[ci] +
			    (((rdy[ci + 1] - rdy[ci]) * ti) >> 8);
			unsigned c, level;

			/* cov has a zero border: (u,v) in pixel-centre terms
			 * minus a half pixel plus the border is just u,v. */
			if (u < 0 || v < 0 || u >= maxu || v >= maxv)
				continue;
			const unsigned char *s = r->cov +
			    (size_t)((v >> 8) + 1) * r->covstride + (u >> 8) + 1;
			unsigned fu = u & 0xff, fv = v & 0xff;
			unsigned top = s[0] * (256 - fu) + s[1] * fu;
			unsigned bot = s[r->covstride] * (256 - fu) +
			    s[r->covstride + 1] * fu;

			c = (top * (256 - fv) + bot * fv) >> 16;
			level = (c * (LEVELS - 1) + 127) / 255;
			if (level)
				row[x / per_byte] |= (unsigned char)(level <<
				    ((per_byte - 1 - x % per_byte) * PNG_DEPTH));
		}
	}
}

/* ---- PNG. ---- */

struct pngbuf {
	unsigned char	*p;
	size_t		 len, cap;
};

static void
png_out(png_structp png, png_bytep data, size_t len)
{
	struct pngbuf	*b = png_get_io_ptr(png);
	unsigned char	*np;
	size_t		 ncap;

	if (b->len + len > b->cap) {
		ncap = b->cap ? b->cap : PNG_BUF_INITIAL;
		while (ncap < b->len + len)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL)
			png_error(png, "out of memory");
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void
png_flush_none(png_structp png)
{
	(void)png;
}

/* libpng's default handlers print; the library must not. */
static void
png_fail(png_structp png, png_const_charp msg)
{
	(void)msg;
	png_longjmp(png, 1);
}

static void
png_warn_none(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* encode: r->img with one of the palettes as PNG into b. 0 or -1. */
static int
encode(struct render *r, const struct rgb *pal, struct pngbuf *b)
{
	png_structp	png;
	png_infop	info;
	png_color	plte[LEVELS];
	int		i;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail,
	    png_warn_none);
	if (png == NULL)
		return -1;
	if ((info = png_create_info_struct(png)) == NULL) {
		png_destroy_write_struct(&png, NULL);
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -1;
	}
	for (i = 0; i < LEVELS; i++) {
		plte[i].red = pal[i].r;
		plte[i].green = pal[i].g;
		plte[i].blue = pal[i].b;
	}
	png_set_write_fn(png, b, png_out, png_flush_none);
	png_set_IHDR(png, info, (png_uint_32)r->width, (png_uint_32)r->height,
	    PNG_DEPTH, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_PLTE(png, info, plte, LEVELS);
	png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
	png_set_compression_level(png, PNG_ZLIB_LEVEL);
	png_set_compression_strategy(png, PNG_ZLIB_STRATEGY);
	png_set_compression_mem_level(png, PNG_ZLIB_MEMLEVEL);
	png_write_info(png, info);
	png_write_image(png, r->rows);
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

/* ---- Public API. ---- */

/*
 * faces_open: the built-in faces, or the one at path. Returns 0 or -1
 * with err filled.
 */
static int
faces_open(struct render *r, const char *path, char *err, size_t errlen)
{
	struct stat	st;
	FT_Error	e;
	size_t		i;

	if (path == NULL || path[0] == '\0') {
		for (i = 0; i < render_font_count && i < FACE_MAX; i++) {
			e = FT_New_Memory_Face(r->ft,
			    render_font_table[i].data,
			    (FT_Long)render_font_table[i].size, 0,
			    &r->faces[r->nfaces]);
			if (e) {
				errf(err, errlen, "built-in font %zu: "
				    "FreeType error 0x%02x", i, e);
				return -1;
			}
			r->nfaces++;
		}
		if (r->nfaces == 0) {
			errf(err, errlen, "no built-in font");
			return -1;
		}
	} else {
		if (stat(path, &st) == -1) {
			errf(err, errlen, "font %s: %s", path, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			errf(err, errlen, "font %s: not a regular file", path);
			return -1;
		}
		if ((e = FT_New_Face(r->ft, path, 0, &r->faces[0])) != 0) {
			errf(err, errlen, "font %s: not a font FreeType can "
			    "read (error 0x%02x)", path, e);
			return -1;
		}
		r->nfaces = 1;
	}
	for (i = 0; i < (size_t)r->nfaces; i++) {
		FT_Face f = r->faces[i];

		if (!FT_IS_SCALABLE(f) || f->num_glyphs <= 0) {
			errf(err, errlen, "font %s: no scalable glyphs",
			    path && *path ? path : "built-in");
			return -1;
		}
		if (FT_Select_Charmap(f, FT_ENCODING_UNICODE)) {
			errf(err, errlen, "font %s: no Unicode character map",
			    path && *path ? path : "built-in");
			return -1;
		}
		if (FT_Set_Pixel_Sizes(f, 0, (FT_UInt)r->em)) {
			errf(err, errlen, "font %s: cannot scale to %d px",
			    path && *path ? path : "built-in", r->em);
			return -1;
		}
	}
	return 0;
}

/* warp_tables: per-column and per-row grid cell and smoothstep weight. */
static void
warp_tables(int *cell, int *weight, int n, int nodes)
{
	int	i;

	for (i = 0; i < n; i++) {
		float f = (i + 0.5f) * (nodes - 1) / n;
		int c = (int)f;
		float t = f - c;

		if (c > nodes - 2)
			c = nodes - 2;
		cell[i] = c;
		weight[i] = (int)lrintf(t * t * (3 - 2 * t) * 256);
	}
}

struct render *
render_new(int width, int height, const char *font_path, char *err,
    size_t errlen)
{
	struct render	*r;
	uint32_t	 cp;
	int		 f, y;

	if (width < RENDER_WIDTH_MIN || width > RENDER_WIDTH_MAX ||
	    height < RENDER_HEIGHT_MIN || height > RENDER_HEIGHT_MAX) {
		errf(err, errlen, "captcha size %dx%d out of range "
		    "(%dx%d to %dx%d)", width, height, RENDER_WIDTH_MIN,
		    RENDER_HEIGHT_MIN, RENDER_WIDTH_MAX, RENDER_HEIGHT_MAX);
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	r->width = width;
	r->height = height;
	r->em = (int)lrintf(height * EM_PER_HEIGHT);
	r->warp_max = (int)lrintf(height * WARP_AMPLITUDE * 256);
	r->margin = (r->warp_max >> 8) + 2;
	r->covstride = width + 2;
	r->rowbytes = ((size_t)width * PNG_DEPTH + 7) / 8;
	if (rnd_seed(r) == -1) {
		errf(err, errlen, "getrandom: %s", strerror(errno));
		goto fail;
	}
	if (FT_Init_FreeType(&r->ft)) {
		r->ft = NULL;
		errf(err, errlen, "FreeType cannot start");
		goto fail;
	}
	if (faces_open(r, font_path, err, errlen) == -1)
		goto fail;
	r->cache = calloc(CACHE_SLOTS, sizeof(*r->cache));
	r->cov = calloc((size_t)(width + 2) * (height + 2), 1);
	r->img = calloc(r->rowbytes, (size_t)height);
	r->rows = calloc((size_t)height, sizeof(*r->rows));
	r->wcol = calloc((size_t)width, sizeof(int));
	r->wcolt = calloc((size_t)width, sizeof(int));
	r->wrow = calloc((size_t)height, sizeof(int));
	r->wrowt = calloc((size_t)height, sizeof(int));
	if (r->cache == NULL || r->cov == NULL || r->img == NULL ||
	    r->rows == NULL || r->wcol == NULL || r->wcolt == NULL ||
	    r->wrow == NULL || r->wrowt == NULL) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	for (y = 0; y < height; y++)
		r->rows[y] = r->img + (size_t)y * r->rowbytes;
	warp_tables(r->wcol, r->wcolt, width, WARP_GX);
	warp_tables(r->wrow, r->wrowt, height, WARP_GY);
	palettes_make(r);
	for (f = 0; f < r->nfaces; f++)
		for (cp = PREWARM_FIRST; cp <= PREWARM_LAST; cp++)
			if (glyph_get(r, f, cp, &r->spare[0]) == NULL) {
				errf(err, errlen, "out of memory");
				goto fail;
			}
	return r;
fail:
	render_free(r);
	return NULL;
}

void
render_free(struct render *r)
{
	int	i;

	if (r == NULL)
		return;
	if (r->cache != NULL)
		for (i = 0; i < CACHE_SLOTS; i++)
			free(r->cache[i].bits);
	for (i = 0; i < RENDER_CHARS_MAX; i++)
		free(r->spare[i].bits);
	for (i = 0; i < r->nfaces; i++)
		FT_Done_Face(r->faces[i]);
	if (r->ft != NULL)
		FT_Done_FreeType(r->ft);
	free(r->cache);
	free(r->cov);
	free(r->img);
	free(r->rows);
	free(r->wcol);
	free(r->wcolt);
	free(r->wrow);
	free(r->wrowt);
	free(r);
}

int
render_png(struct render *r, const char *text, unsigned char **png,
    size_t *len)
{
	uint32_t	cps[RENDER_CHARS_MAX];
	struct placed	p[RENDER_CHARS_MAX];
	struct pngbuf	b = { NULL, 0, 0 };
	float		gscale;
	int		n, i;

	if (r == NULL || text == NULL || png == NULL || len == NULL)
		return -1;
	if ((n = utf8_decode(text, cps, RENDER_CHARS_MAX)) <= 0)
		return -1;
	for (i = 0; i < n; i++)
		if ((p[i].g = glyph_pick(r, cps[i], &r->spare[i])) == NULL)
			return -1;
	gscale = layout(r, p, n);

	memset(r->cov, 0, (size_t)r->covstride * (r->height + 2));
	r->ink_x0 = r->ink_y0 = INT32_MAX;
	r->ink_x1 = r->ink_y1 = 0;
	for (i = 0; i < n; i++)
		draw_glyph(r, &p[i]);
	draw_noise(r, p, n, r->em * gscale);
	warp_pack(r);

	if (encode(r, r->palettes[rnd_below(r, PALETTES)], &b) == -1) {
		free(b.p);
		return -1;
	}
	*png = b.p;
	*len = b.len;
	return 0;
}
