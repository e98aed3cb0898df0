/*
 * kernel.h: the renderer's two inner loops, the bilinear taps of one row,
 * inside render/ only. Each has a portable version and, on x86-64
 * processors with AVX2, one that takes eight taps at a time with the
 * processor's gathers; both give the same bytes (test_render's
 * test_pixels checks each).
 *
 * The eight-wide versions read a raster's pairs: pairs[i] = raster[i] |
 * raster[i + stride] << 8, a pixel and the one below it, so that one
 * 32-bit gather brings a tap's whole 2x2 block (kernel_pairs makes them).
 */
#ifndef VCODE_RENDER_KERNEL_H
#define VCODE_RENDER_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/*
 * BLEND: a * (256 - t) + b * t, for t in [0, 256], in one product; the
 * bilinear taps' inner step.
 */
#define BLEND(a, b, t)	(((int)(a) << 8) + ((int)(b) - (int)(a)) * (t))

/*
 * One row of a glyph drawn into the coverage raster: for k in [0, n),
 * out[k] = max(out[k], the glyph's bilinear coverage at (u + k du,
 * v + k dv)), in 16.16 fixed point; every 2x2 block read must lie inside
 * the glyph's gw-wide raster.
 */
typedef void	kernel_glyph_fn(const unsigned char *bits,
		    const uint16_t *pairs, int gw, int32_t u, int32_t v,
		    int32_t du, int32_t dv, int n, unsigned char *out);

/*
 * One row of the warp: packed byte j of [0, nbytes) takes its four pixels
 * from the coverage raster at base, stride wide, at positions (1/256 px,
 * relative to base) running from (ub[j], vb[j]) towards (ub[j + 1],
 * vb[j + 1]) in four equal steps; each is shaded to one of four levels
 * (levels 1, 2 and 3 begin at coverage from[0], from[1], from[2]) and,
 * from source x split on, swapped to the other tone (level ^ 3).
 * Packed two bits a pixel, first pixel highest, into row[j]. ub and vb
 * are read up to entry nbytes + 2 (past the last byte's end, unused).
 */
typedef void	kernel_warp_fn(const unsigned char *base,
		    const uint16_t *pairs, int stride, const int *ub,
		    const int *vb, int nbytes, int split, const int *from,
		    unsigned char *row);

/*
 * One row of the warp's displacement field at n points: out[k] = base +
 * k * slope + node[c] + ((node[c + 1] - node[c]) * t >> 8), for c =
 * cell[k] in [0, KERNEL_NODES - 1) and t = weight[k] in [0, 256]; node
 * has KERNEL_NODES entries. cell, weight and out have room for n rounded
 * up to a multiple of KERNEL_ROUND (which out may be written to).
 */
#define KERNEL_ROUND	8
#define KERNEL_NODES	8
typedef void	kernel_field_fn(const int *node, const int *cell,
		    const int *weight, int n, int base, int slope, int *out);

/* The pairs of n pixels of a raster stride wide (whose next row is read). */
typedef void	kernel_pairs_fn(const unsigned char *raster, int stride,
		    size_t n, uint16_t *pairs);

struct kernels {
	kernel_glyph_fn	*glyph;
	kernel_warp_fn	*warp;
	kernel_field_fn	*field;
	kernel_pairs_fn	*pairs;	/* NULL: the versions picked read none */
};

/* kernels_pick: the fastest versions this processor runs, or the
 * portable ones when portable is not 0. */
void	kernels_pick(struct kernels *k, int portable);

#endif
