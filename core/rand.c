/*
 * Randomness for what must not be guessed: SMS codes, captcha texts and
 * sums, spoken digits. Everything comes from getrandom(2), without modulo
 * bias. A text or a code takes its draws from one getrandom(2) call (a
 * pool on the stack, wiped before return) instead of one call a
 * character.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/internal.h"

static int
rand_bytes(void *buf, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;

	while (off < len) {
		n = getrandom((char *)buf + off, len - off, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/* Draws for one text or code: enough for the longest of either (12
 * characters) with rejections to spare; refilled if they run out. */
#define RAND_POOL_WORDS	16

struct pool {
	uint32_t	 w[RAND_POOL_WORDS];
	size_t		 left;
};

/* pool_uniform: rand_uniform's draw, from p. */
static long
pool_uniform(struct pool *p, uint32_t n)
{
	uint32_t	 r, limit;

	if (n == 0)
		return -1;
	/* Reject the top partial block so every residue is equally likely. */
	limit = UINT32_MAX - (UINT32_MAX % n + 1) % n;
	do {
		if (p->left == 0) {
			if (rand_bytes(p->w, sizeof(p->w)) == -1)
				return -1;
			p->left = RAND_POOL_WORDS;
		}
		r = p->w[--p->left];
	} while (r > limit);
	return (long)(r % n);
}

long
rand_uniform(uint32_t n)
{
	struct pool	 p = { .left = 0 };
	long		 d = pool_uniform(&p, n);

	explicit_bzero(&p, sizeof(p));
	return d;
}

int
rand_digits(char *out, size_t outlen, int len)
{
	struct pool	 p = { .left = 0 };
	long		 d;
	int		 i, rc = -1;

	if (len < 1 || (size_t)len >= outlen)
		return -1;
	for (i = 0; i < len; i++) {
		if ((d = pool_uniform(&p, 10)) < 0)
			goto out;
		out[i] = (char)('0' + d);
	}
	out[len] = '\0';
	rc = 0;
out:
	explicit_bzero(&p, sizeof(p));
	return rc;
}

int
rand_text(const char *charset, int len, char *out, size_t outlen)
{
	struct pool		 pool = { .left = 0 };
	const unsigned char	*p;
	size_t			 n, off = 0;
	long			 pick;
	int			 count, i, rc = -1;

	if (len < 1 || (count = utf8_count(charset)) < 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((pick = pool_uniform(&pool, (uint32_t)count)) < 0)
			goto out;
		p = (const unsigned char *)charset;
		for (;;) {
			n = utf8_seq(p);
			if (pick-- == 0)
				break;
			p += n;
		}
		if (off + n >= outlen)
			goto out;
		memcpy(out + off, p, n);
		off += n;
	}
	out[off] = '\0';
	rc = (int)off;
out:
	explicit_bzero(&pool, sizeof(pool));
	return rc;
}
