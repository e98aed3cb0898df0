/*
 * sign.h: the request signatures of the cloud providers, as pure
 * functions of their inputs (the clock and the nonce are inputs too), so
 * that a unit test can feed them the worked examples of the providers'
 * own documents and compare every step byte for byte. Private to sms/
 * and its tests; sms.h is the public header.
 */
#ifndef VCODE_SMS_SIGN_H
#define VCODE_SMS_SIGN_H

#include <stddef.h>

#define SIGN_HEX	65	/* a SHA-256 in lowercase hex, NUL included */
#define SIGN_AUTH_MAX	512	/* an Authorization header's value */
#define SIGN_ID_MAX	128	/* an access key id, bytes */

/* A query parameter: name and value, not yet encoded. */
struct sign_pair {
	const char	*name, *value;
};

/*
 * sign_query: the canonical query string of the n pairs: sorted by name
 * (byte order), names and values percent-encoded as RFC 3986 says (all
 * but A-Z a-z 0-9 - _ . ~, as %XX in capitals), joined by '=' and '&'.
 * In memory of malloc(3) of its exact size (it may hold a code: free it
 * zeroed); NULL when out of memory. pairs is sorted in place.
 */
char	*sign_query(struct sign_pair *pairs, size_t n);

/*
 * ACS3-HMAC-SHA256, Alibaba Cloud's signature method V3: the signed
 * headers are host and the five x-acs- headers (no content type: the body
 * is empty or the caller signs none).
 */
struct acs3_in {
	const char	*key_id, *key_secret;
	const char	*method;	/* "POST" */
	const char	*host;		/* the Host header */
	const char	*query;		/* canonical query string */
	const char	*action, *version;	/* x-acs-action, -version */
	const char	*date;		/* x-acs-date, UTC, ISO 8601 */
	const char	*nonce;		/* x-acs-signature-nonce */
	const char	*body;		/* bodylen bytes, may be "" */
	size_t		 bodylen;
};
struct acs3_out {
	char		*canonical;	/* malloc(3); holds the query */
	char		 content_sha256[SIGN_HEX];	/* the body's */
	char		 string_to_sign[18 + SIGN_HEX];
	char		 signature[SIGN_HEX];
	char		 authorization[SIGN_AUTH_MAX];
};
/*
 * sign_acs3: signs in into out. 0, or -1 (out of memory, a key id past
 * SIGN_ID_MAX, a digest failure) with out->canonical NULL. The caller
 * frees out->canonical, zeroed, and zeroes out.
 */
int	 sign_acs3(const struct acs3_in *in, struct acs3_out *out);

/*
 * TC3-HMAC-SHA256, TencentCloud API 3.0's signature v3, for a POST to "/"
 * signing content-type and host.
 */
struct tc3_in {
	const char	*secret_id, *secret_key;
	const char	*service;	/* "sms", the credential scope's */
	const char	*host;		/* the Host header */
	const char	*content_type;	/* as sent */
	const char	*payload;	/* payloadlen bytes */
	size_t		 payloadlen;
	long long	 timestamp;	/* X-TC-Timestamp; its UTC date */
};
struct tc3_out {
	char		 canonical[1024];
	char		 string_to_sign[256];
	char		 signature[SIGN_HEX];
	char		 authorization[SIGN_AUTH_MAX];
};
/*
 * sign_tc3: signs in into out. 0, or -1 (a header or key id too long, a
 * digest failure).
 */
int	 sign_tc3(const struct tc3_in *in, struct tc3_out *out);

#endif /* VCODE_SMS_SIGN_H */
