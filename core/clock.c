/*
 * The clock of the outbox and of the texts: Unix time in milliseconds,
 * and a code's lifetime in the whole minutes a message tells.
 */
#include <stdio.h>
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

int
key_make(char *key, const char *prefix, const char *kind, const char *name)
{
	int	 n;

	n = snprintf(key, VC_KEY_MAX, "%s%s%s", prefix, kind, name);
	return n < 0 || n >= VC_KEY_MAX ? -1 : 0;
}
