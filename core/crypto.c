/*
 * Hashes and comparisons: hex, HMAC-SHA256 (OpenSSL's libcrypto), and a
 * constant-time equality.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/internal.h"

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

/*
 * What is stored for code: the code itself (plain, for legacy readers),
 * or hex HMAC-SHA256(sms_code_key, mobile ":" code) with storage = hash,
 * so a leaked Redis dump gives no usable code. 0, or -1.
 */
int
sms_code_value(const struct vc_config *cfg, const char *mobile,
    const char *code, char *out, size_t outlen)
{
	char		 msg[VC_MOBILE_MAX + VC_SMS_CODE_MAX + 2];
	int		 n, rc;

	if (cfg->sms_code_storage == VC_STORE_PLAIN) {
		n = snprintf(out, outlen, "%s", code);
		return n < 0 || (size_t)n >= outlen ? -1 : 0;
	}
	n = snprintf(msg, sizeof(msg), "%s:%s", mobile, code);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -1;
	rc = hmac_sha256_hex(cfg->sms_code_key, msg, (size_t)n, out, outlen);
	explicit_bzero(msg, sizeof(msg));
	return rc;
}
