/*
 * Unit tests of sms/sign.h: each signer reproduces, byte for byte, the
 * worked example printed in its provider's own signature document (every
 * intermediate string the document prints, and the final signature and
 * Authorization), so that a signer that only agrees with the stand-in
 * gateway of the integration tests cannot pass. The expected values are
 * copied from the documents, not computed here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sms/sign.h"

/* same: fails unless seen is want, showing both. */
static void
same(const char *what, const char *want, const char *seen)
{
	if (seen == NULL || strcmp(want, seen) != 0)
		fail_msg("%s:\nexpected \"%s\"\nsaw      \"%s\"", what, want,
		    seen == NULL ? "(NULL)" : seen);
}

/*
 * Alibaba Cloud, "Request syntax and signature method V3" (V3 版本请求体 &
 * 签名机制), section "Signature examples", "Fixed parameter values":
 * https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
 * (also https://www.alibabacloud.com/help/en/doc-detail/2593177.htm).
 * AccessKeyID YourAccessKeyId, AccessKeySecret YourAccessKeySecret, nonce
 * 3156853299f313e23d1673dc12e1703d, x-acs-date 2023-10-26T10:22:32Z,
 * RunInstances 2014-05-26 on ecs.cn-shanghai.aliyuncs.com with ImageId
 * and RegionId in the query and no body. Steps 1 to 4 as printed there.
 */
static void
test_acs3_document_example(void **state)
{
	struct sign_pair	 q[] = {
		{ "RegionId", "cn-shanghai" },	/* out of order: sorted */
		{ "ImageId",
		    "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd" },
	};
	struct acs3_in		 in;
	struct acs3_out		 out;
	char			*query;

	(void)state;
	query = sign_query(q, 2);
	same("canonical query string", "ImageId=win2019_1809_x64_dtc_zh-cn_"
	    "40G_alibase_20230811.vhd&RegionId=cn-shanghai", query);
	memset(&in, 0, sizeof(in));
	in.key_id = "YourAccessKeyId";
	in.key_secret = "YourAccessKeySecret";
	in.method = "POST";
	in.host = "ecs.cn-shanghai.aliyuncs.com";
	in.query = query;
	in.action = "RunInstances";
	in.version = "2014-05-26";
	in.date = "2023-10-26T10:22:32Z";
	in.nonce = "3156853299f313e23d1673dc12e1703d";
	in.body = "";
	in.bodylen = 0;
	if (sign_acs3(&in, &out) == -1)
		fail_msg("sign_acs3: expected 0, saw -1");
	same("x-acs-content-sha256 (empty body)", "e3b0c44298fc1c149afbf4c89"
	    "96fb92427ae41e4649b934ca495991b7852b855", out.content_sha256);
	same("step 1, canonical request",
	    "POST\n"
	    "/\n"
	    "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"
	    "&RegionId=cn-shanghai\n"
	    "host:ecs.cn-shanghai.aliyuncs.com\n"
	    "x-acs-action:RunInstances\n"
	    "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e464"
	    "9b934ca495991b7852b855\n"
	    "x-acs-date:2023-10-26T10:22:32Z\n"
	    "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
	    "x-acs-version:2014-05-26\n"
	    "\n"
	    "host;x-acs-action;x-acs-content-sha256;x-acs-date;"
	    "x-acs-signature-nonce;x-acs-version\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    out.canonical);
	same("step 2, string to sign",
	    "ACS3-HMAC-SHA256\n"
	    "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259",
	    out.string_to_sign);
	same("step 3, signature", "06563a9e1b43f5dfe96b81484da74bceab24a1d85"
	    "3912eee15083a6f0f3283c0", out.signature);
	same("step 4, Authorization", "ACS3-HMAC-SHA256 Credential="
	    "YourAccessKeyId,SignedHeaders=host;x-acs-action;"
	    "x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
	    "x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d85"
	    "3912eee15083a6f0f3283c0", out.authorization);
	free(out.canonical);
	free(query);
}

/*
 * The same document's encoding rules for the canonical query string
 * ("Canonicalized URI"): RFC 3986, letters, digits, '-', '_', '.' and '~'
 * as they are, a space %20, '*' %2A, others % and capital hex; UTF-8
 * bytes one by one.
 */
static void
test_acs3_query_encoding(void **state)
{
	struct sign_pair	 q[] = {
		{ "TemplateParam", "{\"code\":\"1234\"}" },
		{ "SignName", "\xe9\x98\xbf\xe9\x87\x8c a*~" },
		{ "PhoneNumbers", "+8613800000000" },
	};
	char			*query;

	(void)state;
	query = sign_query(q, 3);
	same("encoded query", "PhoneNumbers=%2B8613800000000&SignName="
	    "%E9%98%BF%E9%87%8C%20a%2A~&TemplateParam=%7B%22code%22%3A%22"
	    "1234%22%7D", query);
	free(query);
}

/*
 * TencentCloud API 3.0, "Signature v3" (签名方法 v3), the worked example
 * (CVM DescribeInstances in ap-guangzhou, X-TC-Timestamp 1551113065,
 * SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE), in the English page's
 * revision that prints the key whole:
 * https://www.tencentcloud.com/document/api/1005/34678 (the same text is
 * each product's "Signature v3" page, SMS's included). The Chinese page
 * (签名方法 v3, https://cloud.tencent.com/document/api/362/4208 and each
 * product's copy) prints the same example with parts of the keys and of
 * the signature masked (72e494ea8*****...c5a96525168). The SecretId is
 * printed masked (AKID**********************0123456789EXAMPLE); it is
 * taken as printed, since only the Authorization line carries it.
 */
static void
test_tc3_document_example(void **state)
{
	static const char	 payload[] = "{\"Limit\": 1, \"Filters\": "
	    "[{\"Values\": [\"\\u672a\\u547d\\u540d\"], \"Name\": "
	    "\"instance-name\"}]}";
	struct tc3_in		 in;
	struct tc3_out		 out;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.secret_id = "AKID**********************0123456789EXAMPLE";
	in.secret_key = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
	in.service = "cvm";
	in.host = "cvm.tencentcloudapi.com";
	in.content_type = "application/json; charset=utf-8";
	in.payload = payload;
	in.payloadlen = strlen(payload);
	in.timestamp = 1551113065;
	if (sign_tc3(&in, &out) == -1)
		fail_msg("sign_tc3: expected 0, saw -1");
	same("1. CanonicalRequest",
	    "POST\n"
	    "/\n"
	    "\n"
	    "content-type:application/json; charset=utf-8\n"
	    "host:cvm.tencentcloudapi.com\n"
	    "\n"
	    "content-type;host\n"
	    "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064",
	    out.canonical);
	same("2. StringToSign",
	    "TC3-HMAC-SHA256\n"
	    "1551113065\n"
	    "2019-02-25/cvm/tc3_request\n"
	    "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031",
	    out.string_to_sign);
	same("3. Signature", "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da"
	    "2f66e2c5a96525168", out.signature);
	same("4. Authorization", "TC3-HMAC-SHA256 Credential=AKID*************"
	    "*********0123456789EXAMPLE/2019-02-25/cvm/tc3_request, "
	    "SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4"
	    "507b9bddcbaa8e581f516e8da2f66e2c5a96525168", out.authorization);
}

/*
 * The document's first note: the credential scope's date is the UTC date
 * of the timestamp, 2019-02-25 for 1551113065 (2019-02-26 00:44:25 in
 * UTC+8), whatever the local time zone.
 */
static void
test_tc3_utc_date(void **state)
{
	struct tc3_in	 in;
	struct tc3_out	 out;

	(void)state;
	setenv("TZ", "Asia/Shanghai", 1);
	memset(&in, 0, sizeof(in));
	in.secret_id = "id";
	in.secret_key = "key";
	in.service = "sms";
	in.host = "SMS.tencentcloudapi.com";
	in.content_type = "application/json; charset=utf-8";
	in.payload = "{}";
	in.payloadlen = 2;
	in.timestamp = 1551113065;
	if (sign_tc3(&in, &out) == -1)
		fail_msg("sign_tc3: expected 0, saw -1");
	if (strstr(out.string_to_sign, "\n2019-02-25/sms/tc3_request\n") ==
	    NULL)
		fail_msg("credential scope: expected 2019-02-25/sms/"
		    "tc3_request, saw \"%s\"", out.string_to_sign);
	if (strstr(out.canonical, "\nhost:sms.tencentcloudapi.com\n") == NULL)
		fail_msg("host: expected it lower-cased, saw \"%s\"",
		    out.canonical);
	unsetenv("TZ");
}

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_acs3_document_example),
		cmocka_unit_test(test_acs3_query_encoding),
		cmocka_unit_test(test_tc3_document_example),
		cmocka_unit_test(test_tc3_utc_date),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
