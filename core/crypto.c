/*
 * Comparisons and the stored value of a code. The HMAC is sms/'s
 * (sms_hmac_sha256_hex), which a webhook's signature uses too.
 */
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "sms/sms.h"

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
	rc = sms_hmac_sha256_hex(cfg->sms_code_key, msg, (size_t)n, out, outlen);
	explicit_bzero(msg, sizeof(msg));
	return rc;
}
