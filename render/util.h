/*
 * util.h: what the files of render/ share, inside render/ only: the
 * built-in fonts, error text and a small fast generator for positions,
 * voices and colours (xorshift64*, seeded from the kernel). Nothing
 * secret comes from it: answers are drawn by core from the kernel's
 * CSPRNG.
 */
#ifndef VCODE_RENDER_UTIL_H
#define VCODE_RENDER_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The built-in fonts, from render/fonts.S. */
struct font_blob {
	const unsigned char	*data;
	size_t			 size;
};
extern const struct font_blob	render_font_table[];
extern const size_t		render_font_count;

/* render_errf: formats into err (when err is not NULL and errlen > 0). */
void	render_errf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* rnd_seed: a fresh non-zero state from getrandom(2). 0, or -1 (errno). */
int	rnd_seed(uint64_t *state);

static inline uint32_t
rnd_u32(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 0x2545f4914f6cdd1dULL) >> 32);
}

/* A float uniform in [lo, hi). */
static inline float
rnd_range(uint64_t *s, float lo, float hi)
{
	return lo + (hi - lo) * (float)(rnd_u32(s) >> 8) * (1.0f / 16777216.0f);
}

/* An integer uniform in [0, n); the tiny bias is of no concern here. */
static inline int
rnd_below(uint64_t *s, int n)
{
	return (int)(((uint64_t)rnd_u32(s) * (uint32_t)n) >> 32);
}

#endif /* VCODE_RENDER_UTIL_H */
