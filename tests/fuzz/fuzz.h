/*
 * fuzz.h: helpers of the libFuzzer harnesses (make fuzz). The input is cut
 * into NUL-separated fields, so that one byte string can stand for the
 * several strings of a request or a configuration.
 */
#ifndef VCODE_FUZZ_H
#define VCODE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/digits.h"

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

/*
 * digits_ok: 1 when every run of digits in err is the HTTP status http
 * (once) or, if code_len is not 0, one run of code_len digits (a
 * gateway's status code of that shape): nothing else of a reply, which
 * may repeat a code or a mobile, may reach the message.
 */
static inline int
digits_ok(const char *err, long http, size_t code_len)
{
	char		 status[24];
	const char	*p = err, *run;
	size_t		 n;
	int		 seen_status = 0, seen_code = 0;

	snprintf(status, sizeof(status), "%ld", http);
	while ((run = digit_run(&p, &n)) != NULL) {
		if (!seen_status && n == strlen(status) &&
		    strncmp(run, status, n) == 0)
			seen_status = 1;
		else if (code_len != 0 && !seen_code && n == code_len)
			seen_code = 1;
		else
			return 0;
	}
	return 1;
}

/*
 * reply_fuzz: a gateway's reply parser (sms/sms.h's sms_*_reply) on data
 * under each of statuses[n]: a message it leaves must be printable (no
 * newline can reach a log line) and pass digits_ok(code_len); abort()
 * otherwise. sent is what the parser answers for a delivered message.
 */
static inline void
reply_fuzz(int (*parse)(long, const char *, size_t, char *, size_t),
    int sent, const long *statuses, size_t n, size_t code_len,
    const uint8_t *data, size_t len)
{
	char	 err[256];
	size_t	 i, k;

	for (i = 0; i < n; i++) {
		err[0] = '\0';
		if (parse(statuses[i], (const char *)data, len, err,
		    sizeof(err)) == sent)
			continue;
		for (k = 0; err[k] != '\0'; k++)
			if ((unsigned char)err[k] < 0x20)
				abort();
		if (!digits_ok(err, statuses[i], code_len))
			abort();
	}
}

#endif /* VCODE_FUZZ_H */
