/*
 * Randomness for what must not be guessed: SMS codes, captcha texts and
 * sums, spoken digits. Everything comes from getrandom(2), without modulo
 * bias.
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

long
rand_uniform(uint32_t n)
{
	uint32_t	 r, limit;

	if (n == 0)
		return -1;
	/* Reject the top partial block so every residue is equally likely. */
	limit = UINT32_MAX - (UINT32_MAX % n + 1) % n;
	do {
		if (rand_bytes(&r, sizeof(r)) == -1)
			return -1;
	} while (r > limit);
	return (long)(r % n);
}

int
rand_digits(char *out, size_t outlen, int len)
{
	long	 d;
	int	 i;

	if (len < 1 || (size_t)len >= outlen)
		return -1;
	for (i = 0; i < len; i++) {
		if ((d = rand_uniform(10)) < 0)
			return -1;
		out[i] = (char)('0' + d);
	}
	out[len] = '\0';
	return 0;
}

int
rand_text(const char *charset, int len, char *out, size_t outlen)
{
	const unsigned char	*p;
	size_t			 n, off = 0;
	long			 pick;
	int			 count, i;

	if (len < 1 || (count = utf8_count(charset)) < 1)
		return -1;
	for (i = 0; i < len; i++) {
		if ((pick = rand_uniform((uint32_t)count)) < 0)
			return -1;
		p = (const unsigned char *)charset;
		for (;;) {
			n = utf8_seq(p);
			if (pick-- == 0)
				break;
			p += n;
		}
		if (off + n >= outlen)
			return -1;
		memcpy(out + off, p, n);
		off += n;
	}
	out[off] = '\0';
	return (int)off;
}
