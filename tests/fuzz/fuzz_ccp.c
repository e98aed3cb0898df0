/*
 * fuzz_ccp: what a CCP gateway (or whoever answers in its place) replies:
 * sms_ccp_reply on any bytes, with the statuses that matter. The message
 * it writes must stay printable (no newline can reach a log line) and
 * carry no digit of the reply's text, which may repeat a code or a
 * mobile: its digits are the HTTP status and at most one run of six, a
 * statusCode of the gateway's shape.
 */
#include "sms/sms.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const long	 statuses[] = { 200, 201, 400, 500 };

	reply_fuzz(sms_ccp_reply, SMS_SENT, statuses,
	    sizeof(statuses) / sizeof(statuses[0]), 6, data, len);
	return 0;
}
