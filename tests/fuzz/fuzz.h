/*
 * fuzz.h: helpers of the libFuzzer harnesses (make fuzz). The input is cut
 * into NUL-separated fields, so that one byte string can stand for the
 * several strings of a request or a configuration.
 */
#ifndef VCODE_FUZZ_H
#define VCODE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fields {
	char	*buf;		/* the input, NUL-terminated, owned */
	char	*f[16];		/* fields; absent ones are NULL */
	size_t	 n;
	char	*rest;		/* what follows the last field, or NULL */
	size_t	 restlen;
};

/* fields_cut: splits data into at most want fields, the rest after them. */
static inline int
fields_cut(struct fields *fs, const uint8_t *data, size_t len, size_t want)
{
	char	*p, *end, *z;

	memset(fs, 0, sizeof(*fs));
	if (want > 16 || (fs->buf = malloc(len + 1)) == NULL)
		return -1;
	memcpy(fs->buf, data, len);
	fs->buf[len] = '\0';
	p = fs->buf;
	end = fs->buf + len;
	while (fs->n < want && p <= end) {
		fs->f[fs->n++] = p;
		if ((z = memchr(p, '\0', (size_t)(end - p))) == NULL) {
			p = end + 1;
			break;
		}
		p = z + 1;
	}
	if (p <= end) {
		fs->rest = p;
		fs->restlen = (size_t)(end - p);
	}
	return 0;
}

static inline void
fields_free(struct fields *fs)
{
	free(fs->buf);
}

#endif /* VCODE_FUZZ_H */
