/*
 * The validation layer shared by every handler: mobile pattern, ids,
 * typed texts, comparisons, and the random codes and captcha texts.
 */
#include <sys/random.h>

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/core.h"
#include "render/render.h"

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
mobile_mask(const char *mobile, char *out, size_t outlen)
{
	size_t	 n = strlen(mobile);

	if (n >= 7 && n <= VC_MOBILE_MAX)
		snprintf(out, outlen, "%.3s****%s", mobile, mobile + n - 4);
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

int
text_caseeq(const char *a, const char *b)
{
	int	 ca, cb;

	for (;; a++, b++) {
		ca = (*a >= 'A' && *a <= 'Z') ? *a + 'a' - 'A' : *a;
		cb = (*b >= 'A' && *b <= 'Z') ? *b + 'a' - 'A' : *b;
		if (ca != cb)
			return 0;
		if (ca == '\0')
			return 1;
	}
}

void
hex_encode(const unsigned char *in, size_t n, char *out, int upper)
{
	const char	*d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t		 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
hmac_sha256_hex(const char *key, const void *msg, size_t len, char *out,
    size_t outlen)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	if (outlen < VC_HMAC_HEX || HMAC(EVP_sha256(), key, (int)strlen(key), msg,
	    len, md, &mdlen) == NULL || mdlen != 32)
		return -1;
	hex_encode(md, mdlen, out, 0);
	explicit_bzero(md, sizeof(md));
	return 0;
}

int
ct_equal(const void *a, size_t la, const void *b, size_t lb)
{
	const unsigned char	*pa = a, *pb = b;
	unsigned char		 d = 0;
	size_t			 i;

	/* Lengths are public (a code has a configured length). */
	if (la != lb)
		return 0;
	for (i = 0; i < la; i++)
		d |= pa[i] ^ pb[i];
	return d == 0;
}

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

/* Length of the UTF-8 sequence starting at s, or 0 if it is not valid. */
static size_t
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

int
captcha_font_check(struct render *r, const struct vc_config *cfg,
    char *err, size_t errlen)
{
	char	 why[VC_ERR_MAX];
	int	 text = cfg->captcha_mode == VC_CAPTCHA_TEXT;

	if (render_check(r, text ? cfg->captcha_charset : "0123456789+-=?",
	    why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s; set captcha_font to a font that has "
	    "it", text ? "captcha_charset" : "captcha_mode = math", why);
	return -1;
}

int
captcha_draw(const struct vc_config *cfg, char *text, size_t textlen,
    char *answer, size_t answerlen)
{
	long	 a, b, sub;
	int	 n;

	if (cfg->captcha_mode == VC_CAPTCHA_TEXT) {
		if (rand_text(cfg->captcha_charset, cfg->captcha_length, text,
		    textlen) == -1)
			return -1;
		n = snprintf(answer, answerlen, "%s", text);
		return n < 0 || (size_t)n >= answerlen ? -1 : 0;
	}
	/* Operands 1..9; a difference is never negative. */
	if ((a = rand_uniform(9)) < 0 || (b = rand_uniform(9)) < 0 ||
	    (sub = rand_uniform(2)) < 0)
		return -1;
	a++;
	b++;
	if (sub && a < b) {
		long	 t = a;

		a = b;
		b = t;
	}
	n = snprintf(text, textlen, "%ld%c%ld=?", a, sub ? '-' : '+', b);
	if (n < 0 || (size_t)n >= textlen)
		return -1;
	n = snprintf(answer, answerlen, "%ld", sub ? a - b : a + b);
	return n < 0 || (size_t)n >= answerlen ? -1 : 0;
}
