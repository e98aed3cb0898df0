/*
 * fuzz_ccp: what a CCP gateway (or whoever answers in its place) replies:
 * sms_ccp_reply on any bytes, with the statuses that matter. The message
 * it writes must stay printable: no newline can reach a log line.
 */
#include "sms/sms.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const long	 statuses[] = { 200, 201, 400, 500 };
	char			 err[256];
	size_t			 i, k;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		err[0] = '\0';
		if (sms_ccp_reply(statuses[i], (const char *)data, len, err,
		    sizeof(err)) == SMS_SENT)
			continue;
		for (k = 0; err[k] != '\0'; k++)
			if ((unsigned char)err[k] < 0x20)
				abort();
	}
	return 0;
}
