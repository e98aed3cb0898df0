/*
 * fuzz_aliyun: what Alibaba Cloud's SendSms (or whoever answers in its place)
 * replies: sms_aliyun_reply on any bytes, with the statuses that matter.
 * The message it writes must stay printable (no newline can reach a log
 * line) and carry no digit but the HTTP status: the provider's codes are
 * words without digits, and its text, which may repeat a code or a
 * mobile, has its digits masked.
 */
#include "sms/sms.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const long	 statuses[] = { 200, 204, 400, 500 };

	reply_fuzz(sms_aliyun_reply, SMS_SENT, statuses,
	    sizeof(statuses) / sizeof(statuses[0]), 0, data, len);
	return 0;
}
