/*
 * fuzz_tencent: what Tencent Cloud's SendSms (or whoever answers in its place)
 * replies: sms_tencent_reply on any bytes, with the statuses that matter.
 * The message it writes must stay printable (no newline can reach a log
 * line) and carry no digit but the HTTP status: the provider's codes are
 * words without digits, and its text, which may repeat a code or a
 * mobile, has its digits masked.
 */
#include <stdio.h>

#include "sms/sms.h"
#include "tests/fuzz/fuzz.h"

/* digits_ok: 1 when the one run of digits in err is the status, if any. */
static int
digits_ok(const char *err, long http)
{
	char		 status[24];
	const char	*p = err, *run;
	int		 seen = 0;

	snprintf(status, sizeof(status), "%ld", http);
	while (*p != '\0') {
		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		for (run = p; *p >= '0' && *p <= '9'; p++)
			;
		if (seen || (size_t)(p - run) != strlen(status) ||
		    strncmp(run, status, strlen(status)) != 0)
			return 0;
		seen = 1;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const long	 statuses[] = { 200, 204, 400, 500 };
	char			 err[256];
	size_t			 i, k;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		err[0] = '\0';
		if (sms_tencent_reply(statuses[i], (const char *)data, len, err,
		    sizeof(err)) == SMS_SENT)
			continue;
		for (k = 0; err[k] != '\0'; k++)
			if ((unsigned char)err[k] < 0x20)
				abort();
		if (!digits_ok(err, statuses[i]))
			abort();
	}
	return 0;
}
