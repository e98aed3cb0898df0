/*
 * fuzz_ccp: what a CCP gateway (or whoever answers in its place) replies:
 * sms_ccp_reply on any bytes, with the statuses that matter. The message
 * it writes must stay printable (no newline can reach a log line) and
 * carry no digit of the reply's text, which may repeat a code or a
 * mobile: its digits are the HTTP status and at most one run of six, a
 * statusCode of the gateway's shape.
 */
#include <stdio.h>

#include "sms/sms.h"
#include "tests/fuzz/fuzz.h"

/* digits_ok: 1 when the digit runs of err are as the comment above says. */
static int
digits_ok(const char *err, long http)
{
	char		 status[24];
	const char	*p = err, *run;
	size_t		 n;
	int		 seen_status = 0, seen_code = 0;

	snprintf(status, sizeof(status), "%ld", http);
	while (*p != '\0') {
		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		for (run = p; *p >= '0' && *p <= '9'; p++)
			;
		n = (size_t)(p - run);
		if (!seen_status && n == strlen(status) &&
		    strncmp(run, status, n) == 0)
			seen_status = 1;
		else if (!seen_code && n == 6)
			seen_code = 1;
		else
			return 0;
	}
	return 1;
}

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
		if (!digits_ok(err, statuses[i]))
			abort();
	}
	return 0;
}
