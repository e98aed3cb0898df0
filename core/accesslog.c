/*
 * The request log: one line per request (access_log, log_format).
 * Placeholder until the writer lands: it logs nothing.
 */
#include "core/core.h"

int
access_log_open(const struct vc_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	return 0;
}

void
access_log_write(const struct vc_config *cfg, const struct vc_response *resp,
    double seconds)
{
	(void)cfg;
	(void)resp;
	(void)seconds;
}

void
access_log_reopen(void)
{
}

void
access_log_close(void)
{
}
