/*
 * The checks shared by every handler: the mobile pattern, ids, typed
 * texts, and UTF-8.
 */
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

struct vc_mobile {
	regex_t	 re;
};

struct vc_mobile *
mobile_compile(const char *pattern, char *err, size_t errlen)
{
	struct vc_mobile	*m;
	char			 msg[128];
	int			 rc;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((rc = regcomp(&m->re, pattern, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &m->re, msg, sizeof(msg));
		snprintf(err, errlen, "key 'mobile_pattern': %s", msg);
		free(m);
		return NULL;
	}
	return m;
}

void
mobile_free(struct vc_mobile *m)
{
	if (m == NULL)
		return;
	regfree(&m->re);
	free(m);
}

int
mobile_match(const struct vc_mobile *m, const char *s)
{
	size_t	 n = strlen(s);

	/* A newline would let "^...$" match one line of a longer text. */
	if (n == 0 || n > VC_MOBILE_MAX || strchr(s, '\n') != NULL)
		return 0;
	return regexec(&m->re, s, 0, NULL, 0) == 0;
}

void
mobile_canonical(const struct vc_mobile *m, const char *cc, const char *s,
    char *out, size_t outlen)
{
	char	 pre[3][16];
	size_t	 i, n;

	snprintf(pre[0], sizeof(pre[0]), "+%s", cc);
	snprintf(pre[1], sizeof(pre[1]), "00%s", cc);
	snprintf(pre[2], sizeof(pre[2]), "%s", cc);
	/*
	 * "+CC" and "00CC" are international forms whatever the pattern;
	 * a bare "CC" is one when the pattern takes the rest as a number,
	 * or takes s itself with "+" or "00" in front (a pattern that
	 * requires the code).
	 */
	for (i = 0; cc[0] != '\0' && i < 3; i++) {
		n = strlen(pre[i]);
		if (strncmp(s, pre[i], n) != 0 || s[n] == '\0')
			continue;
		if (i == 2) {
			char	 alt[VC_MOBILE_MAX + 3];

			snprintf(alt, sizeof(alt), "+%s", s);
			if (!mobile_match(m, s + n) && !mobile_match(m, alt))
				continue;
		}
		snprintf(out, outlen, "%s", s + n);
		return;
	}
	snprintf(out, outlen, "%s", s);
}

void
mobile_mask(const char *mobile, char *out, size_t outlen)
{
	size_t	 n = strlen(mobile);

	/* Never more than 7 of 11 digits; of a shorter number, 2. */
	if (n >= 11 && n <= VC_MOBILE_MAX)
		snprintf(out, outlen, "%.3s****%s", mobile, mobile + n - 4);
	else if (n >= 6 && n <= VC_MOBILE_MAX)
		snprintf(out, outlen, "****%s", mobile + n - 2);
	else
		snprintf(out, outlen, "****");
}

static int
is_id_char(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

int
valid_id(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= VC_ID_MAX || !is_id_char((unsigned char)s[n]))
			return 0;
	return n >= VC_ID_MIN;
}

int
valid_captcha_text(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= VC_CAPTCHA_TEXT_MAX || (unsigned char)s[n] < 0x20 ||
		    s[n] == 0x7f)
			return 0;
	return n > 0;
}

int
valid_sms_code(const char *s)
{
	size_t	 n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= VC_SMS_CODE_MAX || s[n] < '0' || s[n] > '9')
			return 0;
	return n > 0;
}

void
text_fold(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
}

size_t
utf8_seq(const unsigned char *s)
{
	size_t		 n, i;
	uint32_t	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

int
utf8_count(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n;
	int			 count = 0;

	while (*p != '\0') {
		if ((n = utf8_seq(p)) == 0)
			return -1;
		p += n;
		count++;
	}
	return count;
}
