/*
 * kernel.c: the bilinear taps of one row (kernel.h), portable and with
 * AVX2.
 *
 * A tap reads a 2x2 block of coverage and blends it with 8-bit weights in
 * integers, so the eight-wide version computes the very same numbers as
 * the portable one: it loads each block with one 32-bit gather from the
 * raster's pairs (kernel.h) and does the products in 32-bit lanes. Which
 * version runs is picked once per renderer.
 */
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_KERNELS	1
#endif

#include "render/kernel.h"

/* level: which of the four shades coverage c falls in (from: where levels
 * 1, 2 and 3 begin). */
static inline unsigned
level(int c, const int *from)
{
	return (unsigned)((c >= from[0]) + (c >= from[1]) + (c >= from[2]));
}

static void
glyph_portable(const unsigned char *bits, const uint16_t *pairs, int gw,
    int32_t u, int32_t v, int32_t du, int32_t dv, int n, unsigned char *out)
{
	int	k;

	(void)pairs;
	for (k = 0; k < n; k++, u += du, v += dv) {
		const unsigned char *s = bits + (v >> 16) * gw + (u >> 16);
		int fu = (u >> 8) & 0xff, fv = (v >> 8) & 0xff;
		int top = BLEND(s[0], s[1], fu);
		int bot = BLEND(s[gw], s[gw + 1], fu);
		int c = BLEND(top, bot, fv) >> 16;

		out[k] = (unsigned char)(c > out[k] ? c : out[k]);
	}
}

static void
warp_portable(const unsigned char *base, const uint16_t *pairs, int stride,
    const int *ub, const int *vb, int nbytes, int split, const int *from,
    unsigned char *row)
{
	int	j, i;

	(void)pairs;
	for (j = 0; j < nbytes; j++) {
		int		u = ub[j], v = vb[j];
		int		du = (ub[j + 1] - u) / 4, dv = (vb[j + 1] - v) / 4;
		unsigned	b = 0;

		for (i = 0; i < 4; i++, u += du, v += dv) {
			const unsigned char *s = base + (v >> 8) * stride +
			    (u >> 8);
			int fu = u & 0xff, fv = v & 0xff;
			int top = BLEND(s[0], s[1], fu);
			int bot = BLEND(s[stride], s[stride + 1], fu);

			b = (b << 2) | (level(BLEND(top, bot, fv) >> 16, from) ^
			    (u >= split ? 3u : 0u));
		}
		row[j] = (unsigned char)b;
	}
}

static void
field_portable(const int *node, const int *cell, const int *weight, int n,
    int base, int slope, int *out)
{
	int	k, c;

	for (k = 0; k < n; k++) {
		c = cell[k];
		out[k] = base + k * slope + node[c] +
		    (((node[c + 1] - node[c]) * weight[k]) >> 8);
	}
}

#ifdef HAVE_AVX2_KERNELS
/* The node table stays in a register: a lane's cell picks its entry.
 * Eight points at a time, n rounded up (kernel.h). */
__attribute__((target("avx2"))) static void
field_avx2(const int *node, const int *cell, const int *weight, int n,
    int base, int slope, int *out)
{
	const __m256i	lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	const __m256i	one = _mm256_set1_epi32(1);
	const __m256i	t = _mm256_loadu_si256((const __m256i *)(const void *)
	    node);
	const __m256i	step = _mm256_mullo_epi32(lane, _mm256_set1_epi32(slope));
	int		k;

	for (k = 0; k < n; k += 8) {
		__m256i	c = _mm256_loadu_si256((const __m256i *)(const void *)
		    (cell + k));
		__m256i	w = _mm256_loadu_si256((const __m256i *)(const void *)
		    (weight + k));
		__m256i	a = _mm256_permutevar8x32_epi32(t, c);
		__m256i	b = _mm256_permutevar8x32_epi32(t,
		    _mm256_add_epi32(c, one));

		_mm256_storeu_si256((__m256i *)(void *)(out + k),
		    _mm256_add_epi32(_mm256_add_epi32(_mm256_set1_epi32(base +
		    k * slope), step), _mm256_add_epi32(a, _mm256_srai_epi32(
		    _mm256_mullo_epi32(_mm256_sub_epi32(b, a), w), 8))));
	}
}

/*
 * tap8: the bilinear coverage of eight taps at U, V (fixed point with
 * frac fractional bits, of which the top 8 weigh) in a raster of the
 * given stride, read from its pairs: bytes 0 and 2 of a gathered lane are
 * the block's top row, 1 and 3 its bottom row. Lanes off in mask read
 * nothing and give 0.
 */
__attribute__((target("avx2"))) static inline __m256i
tap8(const uint16_t *pairs, __m256i stride, __m256i u, __m256i v, int frac,
    __m256i mask)
{
	const __m256i	m255 = _mm256_set1_epi32(0xff);
	const __m256i	k256 = _mm256_set1_epi32(256);
	__m256i		idx, g, fu, fv, wu, top, bot;

	idx = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srai_epi32(v, frac),
	    stride), _mm256_srai_epi32(u, frac));
	g = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(),
	    (const int *)(const void *)pairs, idx, mask, 2);
	fu = _mm256_and_si256(_mm256_srai_epi32(u, frac - 8), m255);
	fv = _mm256_and_si256(_mm256_srai_epi32(v, frac - 8), m255);
	wu = _mm256_sub_epi32(k256, fu);
	top = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_and_si256(g, m255), wu),
	    _mm256_mullo_epi32(_mm256_and_si256(_mm256_srli_epi32(g, 16), m255),
	    fu));
	bot = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_and_si256(
	    _mm256_srli_epi32(g, 8), m255), wu),
	    _mm256_mullo_epi32(_mm256_srli_epi32(g, 24), fu));
	return _mm256_srli_epi32(_mm256_add_epi32(
	    _mm256_mullo_epi32(top, _mm256_sub_epi32(k256, fv)),
	    _mm256_mullo_epi32(bot, fv)), 16);
}

__attribute__((target("avx2"))) static void
glyph_avx2(const unsigned char *bits, const uint16_t *pairs, int gw,
    int32_t u, int32_t v, int32_t du, int32_t dv, int n, unsigned char *out)
{
	const __m256i	lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	const __m256i	stride = _mm256_set1_epi32(gw);
	const __m256i	vdu = _mm256_mullo_epi32(lane, _mm256_set1_epi32(du));
	const __m256i	vdv = _mm256_mullo_epi32(lane, _mm256_set1_epi32(dv));
	/* Byte 0 of each 32-bit lane, low four bytes of each half. */
	const __m256i	pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1,
	    -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1, -1, -1, -1,
	    -1, -1, -1, -1, -1, -1, -1, -1);
	int		k;

	/* The last taps of a row, fewer than eight, through a copy. */
	for (k = 0; k < n; k += 8) {
		__m256i	U = _mm256_add_epi32(_mm256_set1_epi32(u + k * du), vdu);
		__m256i	V = _mm256_add_epi32(_mm256_set1_epi32(v + k * dv), vdv);
		__m256i	c = tap8(pairs, stride, U, V, 16, _mm256_cmpgt_epi32(
		    _mm256_set1_epi32(n - k), lane));
		unsigned char	 part[8] = { 0 }, *o8 = out + k;
		__m256i		 o;
		int32_t		 lo, hi;

		if (n - k < 8)
			o8 = memcpy(part, out + k, (size_t)(n - k));
		o = _mm256_max_epu32(_mm256_cvtepu8_epi32(_mm_loadl_epi64(
		    (const __m128i *)(const void *)o8)), c);
		o = _mm256_shuffle_epi8(o, pick);
		lo = _mm_cvtsi128_si32(_mm256_castsi256_si128(o));
		hi = _mm_cvtsi128_si32(_mm256_extracti128_si256(o, 1));
		memcpy(o8, &lo, 4);
		memcpy(o8 + 4, &hi, 4);
		if (n - k < 8)
			memcpy(out + k, part, (size_t)(n - k));
	}
	(void)bits;
}

/*
 * steps8: the positions of two packed bytes' eight pixels along one
 * axis, from the field at the bytes' ends (e[0] to e[2]; e[3] is read and
 * unused): four equal steps each, truncated towards zero as the portable
 * version divides.
 */
__attribute__((target("avx2"))) static inline __m256i
steps8(const int *e)
{
	const __m256i	lane = _mm256_setr_epi32(0, 1, 2, 3, 0, 1, 2, 3);
	const __m256i	at0 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
	const __m256i	at1 = _mm256_setr_epi32(1, 1, 1, 1, 2, 2, 2, 2);
	__m256i		q, cur, d;

	q = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)
	    (const void *)e));
	cur = _mm256_permutevar8x32_epi32(q, at0);
	d = _mm256_sub_epi32(_mm256_permutevar8x32_epi32(q, at1), cur);
	d = _mm256_srai_epi32(_mm256_add_epi32(d, _mm256_and_si256(
	    _mm256_srai_epi32(d, 31), _mm256_set1_epi32(3))), 2);
	return _mm256_add_epi32(cur, _mm256_mullo_epi32(lane, d));
}

/* Two packed bytes, eight pixels, at a time: lanes 0-3 are byte j's
 * pixels, lanes 4-7 byte j + 1's (off for an odd last byte, whose ub and
 * vb still have an entry after theirs: kernel.h). */
__attribute__((target("avx2"))) static void
warp_avx2(const unsigned char *base, const uint16_t *pairs, int stride,
    const int *ub, const int *vb, int nbytes, int split, const int *from,
    unsigned char *row)
{
	const __m256i	shifts = _mm256_setr_epi32(6, 4, 2, 0, 6, 4, 2, 0);
	const __m256i	vstride = _mm256_set1_epi32(stride);
	const __m256i	t1 = _mm256_set1_epi32(from[0] - 1);
	const __m256i	t2 = _mm256_set1_epi32(from[1] - 1);
	const __m256i	t3 = _mm256_set1_epi32(from[2] - 1);
	const __m256i	three = _mm256_set1_epi32(3);
	const __m256i	sp = _mm256_set1_epi32(split - 1);
	const __m256i	all = _mm256_set1_epi32(-1);
	const __m256i	half = _mm256_setr_epi32(-1, -1, -1, -1, 0, 0, 0, 0);
	int		j;

	for (j = 0; j < nbytes; j += 2) {
		__m256i	U, V, c, lv;

		U = steps8(ub + j);
		V = steps8(vb + j);

		c = tap8(pairs, vstride, U, V, 8, j + 1 < nbytes ? all : half);
		/* The shade: -(sum of three all-ones masks). */
		lv = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_add_epi32(
		    _mm256_add_epi32(_mm256_cmpgt_epi32(c, t1),
		    _mm256_cmpgt_epi32(c, t2)), _mm256_cmpgt_epi32(c, t3)));
		lv = _mm256_xor_si256(lv, _mm256_and_si256(
		    _mm256_cmpgt_epi32(U, sp), three));
		lv = _mm256_sllv_epi32(lv, shifts);
		lv = _mm256_or_si256(lv, _mm256_shuffle_epi32(lv, 0x4e));
		lv = _mm256_or_si256(lv, _mm256_shuffle_epi32(lv, 0xb1));
		row[j] = (unsigned char)_mm256_cvtsi256_si32(lv);
		if (j + 1 < nbytes)
			row[j + 1] = (unsigned char)_mm256_extract_epi32(lv, 4);
	}
	(void)base;
}

__attribute__((target("avx2"))) static void
pairs_avx2(const unsigned char *raster, int stride, size_t n,
    uint16_t *pairs)
{
	size_t	i;

	for (i = 0; i + 32 <= n; i += 32) {
		__m256i	a = _mm256_loadu_si256((const __m256i *)(const void *)
		    (raster + i));
		__m256i	b = _mm256_loadu_si256((const __m256i *)(const void *)
		    (raster + i + stride));
		/* unpack works within 128-bit halves: put them back in
		 * order. */
		__m256i	lo = _mm256_unpacklo_epi8(a, b);
		__m256i	hi = _mm256_unpackhi_epi8(a, b);

		_mm256_storeu_si256((__m256i *)(void *)(pairs + i),
		    _mm256_permute2x128_si256(lo, hi, 0x20));
		_mm256_storeu_si256((__m256i *)(void *)(pairs + i + 16),
		    _mm256_permute2x128_si256(lo, hi, 0x31));
	}
	for (; i < n; i++)
		pairs[i] = (uint16_t)(raster[i] | raster[i + stride] << 8);
}
#endif

void
kernels_pick(struct kernels *k, int portable)
{
	k->glyph = glyph_portable;
	k->warp = warp_portable;
	k->field = field_portable;
	k->pairs = NULL;
#ifdef HAVE_AVX2_KERNELS
	__builtin_cpu_init();
	if (!portable && __builtin_cpu_supports("avx2")) {
		k->glyph = glyph_avx2;
		k->warp = warp_avx2;
		k->field = field_avx2;
		k->pairs = pairs_avx2;
	}
#else
	(void)portable;
#endif
}
