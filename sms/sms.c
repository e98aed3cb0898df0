/*
 * sms: the provider interface. A provider is a row of function pointers;
 * sms_new() picks the row named by sms_provider.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "sms/sms.h"

struct provider {
	const char	*name;
	int		(*open)(struct sms *, const struct vc_config *,
			    char *, size_t);
	int		(*send)(struct sms *, const char *, const char *, int,
			    char *, size_t);
	void		(*close)(struct sms *);
};

struct sms {
	const struct provider	*p;
	FILE			*logfp;		/* log provider */
};

/*
 * The log provider is the development stand-in for a gateway: it writes
 * the message it would have sent to sms_log_file, marked as such. That
 * file is the one place a code is ever written; it is not the log.
 */
static int
log_open(struct sms *s, const struct vc_config *cfg, char *err, size_t errlen)
{
	const char	*path = cfg->sms_log_file;

	if (path[0] == '\0' || strcmp(path, "stderr") == 0) {
		s->logfp = stderr;
		return 0;
	}
	if ((s->logfp = fopen(path, "a")) == NULL) {
		snprintf(err, errlen, "key 'sms_log_file': %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
log_send(struct sms *s, const char *mobile, const char *code, int minutes,
    char *err, size_t errlen)
{
	if (fprintf(s->logfp, "[vcode dev sms] mobile=%s code=%s minutes=%d\n",
	    mobile, code, minutes) < 0 || fflush(s->logfp) == EOF) {
		snprintf(err, errlen, "sms log: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
log_close(struct sms *s)
{
	if (s->logfp != NULL && s->logfp != stderr)
		fclose(s->logfp);
}

static const struct provider providers[] = {
	[VC_PROVIDER_LOG] = { "log", log_open, log_send, log_close },
	[VC_PROVIDER_CCP] = { "ccp", NULL, NULL, NULL },
	[VC_PROVIDER_WEBHOOK] = { "webhook", NULL, NULL, NULL },
};

struct sms *
sms_new(const struct vc_config *cfg, char *err, size_t errlen)
{
	struct sms	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->p = &providers[cfg->sms_provider];
	if (s->p->open == NULL) {
		snprintf(err, errlen, "key 'sms_provider': '%s' is not built "
		    "in yet", s->p->name);
		free(s);
		return NULL;
	}
	if (s->p->open(s, cfg, err, errlen) == -1) {
		free(s);
		return NULL;
	}
	return s;
}

void
sms_free(struct sms *s)
{
	if (s == NULL)
		return;
	if (s->p->close != NULL)
		s->p->close(s);
	free(s);
}

int
sms_send(struct sms *s, const char *mobile, const char *code, int minutes,
    char *err, size_t errlen)
{
	return s->p->send(s, mobile, code, minutes, err, errlen);
}
