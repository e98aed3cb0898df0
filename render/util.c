/*
 * util.c: error text and the generator's seed for render/ (util.h).
 */
#include <sys/random.h>

#include <stdarg.h>
#include <stdio.h>

#include "render/util.h"

void
render_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
rnd_seed(uint64_t *state)
{
	uint64_t	seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return -1;
	*state = seed | 1;	/* xorshift state must not be zero */
	return 0;
}
