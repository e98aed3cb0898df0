/*
 * log: the development stand-in for a gateway. It writes the message it
 * would have sent to sms_log_file, marked as such.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sms/provider.h"

/*
 * The log provider is the development stand-in for a gateway: it writes
 * the message it would have sent to sms_log_file, marked as such. That
 * file is the one place a code is ever written, so it is never the
 * service's log (README, "Sending the SMS"): "stderr" is refused, and so is a file that
 * is the process's stderr; it is created 0600 and not through a symbolic
 * link. Empty (the default) writes the messages nowhere.
 */
int
log_open(struct sms *s, const struct sms_options *cfg, char *err, size_t errlen)
{
	const char	*path = cfg->sms_log_file;
	struct stat	 st, es;
	int		 fd;

	if (path[0] == '\0')
		return 0;
	if (strcmp(path, "stderr") == 0) {
		snprintf(err, errlen, "key 'sms_log_file': stderr is the "
		    "service's log, where no code may go; name a file");
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "key 'sms_log_file': %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && fstat(STDERR_FILENO, &es) == 0 &&
	    st.st_dev == es.st_dev && st.st_ino == es.st_ino) {
		close(fd);
		snprintf(err, errlen, "key 'sms_log_file': %s is the "
		    "service's log (stderr), where no code may go", path);
		return -1;
	}
	if ((s->logfp = fdopen(fd, "a")) == NULL) {
		snprintf(err, errlen, "key 'sms_log_file': %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return 0;
}

int
log_send(struct sms *s, const char *mobile, const char *code, int minutes,
    char *err, size_t errlen)
{
	if (s->logfp == NULL)
		return 0;	/* no sink: the message goes nowhere */
	if (fprintf(s->logfp, "[vcode dev sms] mobile=%s code=%s minutes=%d\n",
	    mobile, code, minutes) < 0 || fflush(s->logfp) == EOF) {
		snprintf(err, errlen, "sms log: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void
log_close(struct sms *s)
{
	if (s->logfp != NULL)
		fclose(s->logfp);
}
