/*
 * vcoded: the vcode FastCGI application.
 *
 * Start-up in a fixed order: options, configuration, then one of three
 * modes decided by what fd 0 and the environment are:
 *   - fd 0 is a listening socket (spawn-fcgi): serve it;
 *   - GATEWAY_INTERFACE is set (a web server runs us as CGI): one request;
 *   - otherwise: bind `listen` and run the prefork master.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/proc.h"
#include "fcgi/fcgi.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: vcoded [-dhmt] [-c file] [-p pidfile]\n"
	    "  -c file     configuration (default: $VCODE_CONFIG, else "
	    "built-in defaults)\n"
	    "  -d          run in the background (prefork mode)\n"
	    "  -m          with a listening socket on fd 0 (systemd's\n"
	    "              StandardInput=socket): run the prefork master on "
	    "it\n"
	    "  -p pidfile  write the master's pid there\n"
	    "  -t          check the configuration, print it, exit\n"
	    "  -h          this help\n");
}

/* 1 when fd is a listening socket, as spawn-fcgi hands over. */
static int
is_listener(int fd)
{
	int		 on = 0;
	socklen_t	 len = sizeof(on);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 &&
	    on;
}

/*
 * start_notes: what an operator should hear once at start-up: what the
 * log provider does, and a verify route that only the web server's
 * address rule guards while requests come through a proxy (one on this
 * host arrives from 127.0.0.1, which that rule lets in).
 */
static void
start_notes(const struct vc_config *cfg)
{
	if (cfg->trusted_proxies[0] != '\0' && cfg->api_key[0] == '\0')
		log_warn("trusted_proxies is set but api_key is not: behind a "
		    "proxy on this host anyone reaches the verify route; set "
		    "api_key");
	if (cfg->sms_delivery == VC_DELIVER_QUEUE && cfg->smsd_workers == 0)
		log_info("sms_delivery = queue and smsd_workers = 0: SMS are "
		    "sent by vcode-smsd, which must run");
	if (cfg->sms_provider != VC_PROVIDER_LOG)
		return;
	if (cfg->sms_log_file[0] != '\0')
		log_warn("sms_provider = log: no SMS is sent; the messages are "
		    "written to %s", cfg->sms_log_file);
	else
		log_warn("sms_provider = log: no SMS is sent, and the messages "
		    "are written nowhere (set sms_log_file to see them)");
}

/*
 * check_worker: -t's test: compiles everything a worker would (pattern,
 * fonts, store URL, provider), opens the request log as a worker would,
 * then says what start-up would. 0, or -1 with err.
 */
static int
check_worker(struct vc_config *cfg, char *err, size_t errlen)
{
	struct vc_ctx	*ctx;

	if ((ctx = ctx_new(cfg, CTX_CHECK, err, errlen)) == NULL)
		return -1;
	ctx_free(ctx);
	if (access_log_check(cfg, err, errlen) == -1)
		return -1;
	start_notes(cfg);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct vc_config	 cfg;
	const char		*conf = getenv("VCODE_CONFIG"), *pidfile = NULL;
	int			 ch, daemon_flag = 0, test = 0, rc, on_fd0 = 0;

	while ((ch = getopt(argc, argv, "c:dhmp:t")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'd':
			daemon_flag = 1;
			break;
		case 'm':
			on_fd0 = 1;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (proc_start("vcoded", &conf, &cfg) == -1)
		return 1;
	if (test) {
		rc = proc_check("vcoded", conf, &cfg, check_worker);
		config_free(&cfg);
		return rc;
	}
	if (on_fd0 && !is_listener(STDIN_FILENO)) {
		fprintf(stderr, "vcoded: -m: fd 0 is not a listening socket\n");
		rc = 1;
	} else if (on_fd0) {
		start_notes(&cfg);
		rc = fcgi_master(&cfg, conf, daemon_flag, pidfile,
		    STDIN_FILENO);
	} else if (is_listener(STDIN_FILENO)) {
		start_notes(&cfg);
		/* No master replaces a worker that ends here. */
		if (cfg.max_requests > 0)
			log_warn("max_requests = %d is ignored under "
			    "spawn-fcgi: a worker that ended would not be "
			    "replaced", cfg.max_requests);
		rc = fcgi_serve(&cfg, STDIN_FILENO, 0);
	} else if (getenv("GATEWAY_INTERFACE") != NULL)
		rc = fcgi_cgi(&cfg);
	else {
		start_notes(&cfg);
		rc = fcgi_master(&cfg, conf, daemon_flag, pidfile, -1);
	}
	config_free(&cfg);
	return rc;
}
