/*
 * The signers of sign.h: each step of the providers' documented
 * algorithms as a string, so that a test can hold each to the documents'
 * worked examples. No clock, no randomness, no I/O.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sms/provider.h"
#include "sms/sign.h"

/* sha256_hex: the lowercase hex SHA-256 of len bytes of p. 0, or -1. */
static int
sha256_hex(const void *p, size_t len, char out[SIGN_HEX])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	if (!EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32)
		return -1;
	bytes_hex(md, mdlen, out, 0);
	return 0;
}

/* hmac256: HMAC-SHA256 of msg under key into md (32 bytes). 0, or -1. */
static int
hmac256(const void *key, size_t keylen, const char *msg, unsigned char *md)
{
	unsigned int	 mdlen = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
	    strlen(msg), md, &mdlen) == NULL || mdlen != 32)
		return -1;
	return 0;
}

/*
 * exact_printf: the text of fmt in malloc(3) memory of its exact size,
 * its length in *lenp; NULL when out of memory. Unlike asprintf(3), no
 * buffer that held part of the text (a code) is freed unwiped.
 */
static char *
exact_printf(int *lenp, const char *fmt, ...)
{
	va_list	 ap;
	char	*t;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (t = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(t, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*lenp = n;
	return t;
}

static int
unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* encoded_len: the length of s percent-encoded. */
static size_t
encoded_len(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		n += unreserved((unsigned char)*s) ? 1 : 3;
	return n;
}

/* encode: s percent-encoded at out; the end of what was written. */
static char *
encode(const char *s, char *out)
{
	static const char	 d[] = "0123456789ABCDEF";
	unsigned char		 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (unreserved(c))
			*out++ = (char)c;
		else {
			*out++ = '%';
			*out++ = d[c >> 4];
			*out++ = d[c & 15];
		}
	}
	return out;
}

static int
pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sign_pair *)a)->name,
	    ((const struct sign_pair *)b)->name);
}

char *
sign_query(struct sign_pair *pairs, size_t n)
{
	size_t	 i, len = 1;
	char	*q, *p;

	qsort(pairs, n, sizeof(pairs[0]), pair_cmp);
	for (i = 0; i < n; i++)
		len += encoded_len(pairs[i].name) + 1 +
		    encoded_len(pairs[i].value) + 1;
	if ((q = malloc(len)) == NULL)
		return NULL;
	p = q;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = '&';
		p = encode(pairs[i].name, p);
		*p++ = '=';
		p = encode(pairs[i].value, p);
	}
	*p = '\0';
	return q;
}

#define ACS3		"ACS3-HMAC-SHA256"
#define ACS3_SIGNED	"host;x-acs-action;x-acs-content-sha256;" \
			"x-acs-date;x-acs-signature-nonce;x-acs-version"

int
sign_acs3(const struct acs3_in *in, struct acs3_out *out)
{
	unsigned char	 md[32];
	char		 hashed[SIGN_HEX];
	int		 n = 0;

	memset(out, 0, sizeof(*out));
	if (strlen(in->key_id) > SIGN_ID_MAX ||
	    sha256_hex(in->body, in->bodylen, out->content_sha256) == -1)
		return -1;
	/* Step 1: the canonical request; header values trimmed as sent. */
	if ((out->canonical = exact_printf(&n, "%s\n/\n%s\n"
	    "host:%s\nx-acs-action:%s\nx-acs-content-sha256:%s\n"
	    "x-acs-date:%s\nx-acs-signature-nonce:%s\nx-acs-version:%s\n"
	    "\n" ACS3_SIGNED "\n%s", in->method, in->query, in->host,
	    in->action, out->content_sha256, in->date, in->nonce,
	    in->version, out->content_sha256)) == NULL)
		return -1;
	/* Step 2: the string to sign. */
	if (sha256_hex(out->canonical, (size_t)n, hashed) == -1)
		goto fail;
	snprintf(out->string_to_sign, sizeof(out->string_to_sign),
	    ACS3 "\n%s", hashed);
	/* Step 3: the signature, keyed by the secret itself. */
	if (hmac256(in->key_secret, strlen(in->key_secret),
	    out->string_to_sign, md) == -1)
		goto fail;
	bytes_hex(md, sizeof(md), out->signature, 0);
	explicit_bzero(md, sizeof(md));
	/* Step 4: the Authorization header. */
	snprintf(out->authorization, sizeof(out->authorization),
	    ACS3 " Credential=%s,SignedHeaders=" ACS3_SIGNED ",Signature=%s",
	    in->key_id, out->signature);
	return 0;
fail:
	explicit_bzero(out->canonical, (size_t)n);
	free(out->canonical);
	out->canonical = NULL;
	return -1;
}

#define TC3		"TC3-HMAC-SHA256"

/* lower: s in ASCII lower case into out; -1 when it does not fit. */
static int
lower(const char *s, char *out, size_t outlen)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= outlen)
			return -1;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[i] = '\0';
	return 0;
}

int
sign_tc3(const struct tc3_in *in, struct tc3_out *out)
{
	unsigned char	 a[32], b[32], md[32];
	char		 hashed[SIGN_HEX], payload[SIGN_HEX], date[16];
	char		 ctype[256], host[256], *key = NULL;
	struct tm	 tm;
	time_t		 t = (time_t)in->timestamp;
	int		 rc = -1;

	memset(out, 0, sizeof(*out));
	if (strlen(in->secret_id) > SIGN_ID_MAX ||
	    strlen(in->service) > 32 ||
	    lower(in->content_type, ctype, sizeof(ctype)) == -1 ||
	    lower(in->host, host, sizeof(host)) == -1 ||
	    gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d", &tm) == 0 ||
	    sha256_hex(in->payload, in->payloadlen, payload) == -1)
		return -1;
	/* 1. The canonical request: POST to "/", no query. */
	snprintf(out->canonical, sizeof(out->canonical), "POST\n/\n\n"
	    "content-type:%s\nhost:%s\n\ncontent-type;host\n%s", ctype, host,
	    payload);
	/* 2. The string to sign, scoped to the UTC date and the service. */
	if (sha256_hex(out->canonical, strlen(out->canonical), hashed) == -1)
		return -1;
	snprintf(out->string_to_sign, sizeof(out->string_to_sign),
	    TC3 "\n%lld\n%s/%s/tc3_request\n%s", in->timestamp, date,
	    in->service, hashed);
	/* 3. The signing key, derived from "TC3" + SecretKey, then the
	 * signature. */
	if ((key = secret_join("TC3", in->secret_key, "")) == NULL ||
	    hmac256(key, strlen(key), date, a) == -1 ||
	    hmac256(a, sizeof(a), in->service, b) == -1 ||
	    hmac256(b, sizeof(b), "tc3_request", a) == -1 ||
	    hmac256(a, sizeof(a), out->string_to_sign, md) == -1)
		goto out;
	bytes_hex(md, sizeof(md), out->signature, 0);
	/* 4. The Authorization header. */
	snprintf(out->authorization, sizeof(out->authorization),
	    TC3 " Credential=%s/%s/%s/tc3_request, "
	    "SignedHeaders=content-type;host, Signature=%s", in->secret_id,
	    date, in->service, out->signature);
	rc = 0;
out:
	wipe_free(key);
	explicit_bzero(a, sizeof(a));
	explicit_bzero(b, sizeof(b));
	explicit_bzero(md, sizeof(md));
	return rc;
}
