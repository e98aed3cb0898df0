/*
 * vcode-smsd: sends the SMS that vcoded queued (sms_delivery = queue).
 *
 * Reads the same configuration file as vcoded. Runs in the foreground
 * (for a supervisor: systemd, runit) unless -d; several may run, on one
 * host or many, sharing the outbox through one consumer group.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/core.h"
#include "core/proc.h"
#include "core/smsd.h"

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: vcode-smsd [-dht] [-c file] [-p pidfile] "
	    "[--replay-dead]\n"
	    "  -c file        configuration (default: $VCODE_CONFIG, else "
	    "built-in defaults)\n"
	    "  -d             run in the background\n"
	    "  -p pidfile     write our pid there\n"
	    "  -t             check the configuration, print it, exit\n"
	    "  -R, --replay-dead\n"
	    "                 move the dead letters back into the outbox, "
	    "say how many, exit\n"
	    "  -h             this help\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "replay-dead", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct vc_config	 cfg;
	struct store_outbox	 ob;
	const char		*conf = getenv("VCODE_CONFIG"), *pidfile = NULL;
	char			 err[VC_ERR_MAX];
	int			 ch, daemon_flag = 0, test = 0, replay = 0, rc;
	long			 n;

	while ((ch = getopt_long(argc, argv, "c:dhp:Rt", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'd':
			daemon_flag = 1;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'R':
			replay = 1;
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
	if (proc_start("vcode-smsd", &conf, &cfg) == -1)
		return 1;
	if (test) {
		rc = proc_check("vcode-smsd", conf, &cfg, sender_check);
		config_free(&cfg);
		return rc;
	}
	if (replay) {
		if ((n = sender_replay(&cfg, err, sizeof(err))) == -1) {
			fprintf(stderr, "vcode-smsd: replay: %s\n", err);
			config_free(&cfg);
			return 1;
		}
		/* key_prefix is at most 64 bytes (config.c): the names fit. */
		(void)store_outbox_init(&ob, cfg.key_prefix, cfg.sms_code_ttl,
		    NULL);
		printf("%ld dead letters moved back into %s\n", n, ob.stream);
		config_free(&cfg);
		return 0;
	}
	if (cfg.sms_delivery != VC_DELIVER_QUEUE)
		log_warn("sms_delivery is inline: vcoded sends in the request; "
		    "sending only what the outbox already holds");
	if (sender_check(&cfg, err, sizeof(err)) == -1) {
		log_error("%s", err);
		config_free(&cfg);
		return 1;
	}
	if (proc_background(daemon_flag, pidfile) == -1) {
		config_free(&cfg);
		return 1;
	}
	rc = sender_run(&cfg, conf);
	if (pidfile != NULL)
		unlink(pidfile);
	config_free(&cfg);
	return rc;
}
