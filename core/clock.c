/*
 * The clocks: Unix time in milliseconds (the outbox's, the web host's),
 * a monotonic one for intervals, and a code's lifetime in the whole
 * minutes a message tells.
 */
#include <time.h>

#include "core/internal.h"

long long
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
code_minutes(const struct vc_config *cfg)
{
	return (cfg->sms_code_ttl + 59) / 60;
}
