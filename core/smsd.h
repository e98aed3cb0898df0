/*
 * smsd.h: the SMS sender as a program runs it (sms_delivery = queue):
 * vcode-smsd's main (sms/vcode-smsd.c) and vcoded's master, which runs
 * smsd_workers of them (fcgi/master.c). core/smsd.c is the daemon loop
 * (signals, reload, waiting out Redis); core/delivery.c what becomes of
 * one message. No library file includes this header.
 */
#ifndef VCODE_CORE_SMSD_H
#define VCODE_CORE_SMSD_H

#include <signal.h>
#include <stdio.h>

#include "core/vcode.h"
#include "store/store.h"

/*
 * sender_run: opens the store and the provider, gives up root (proc_drop),
 * then sends what the outbox holds until SIGTERM or SIGINT, after
 * which the message in hand is finished and acknowledged. SIGHUP loads
 * path again into cfg (path NULL: SIGHUP is ignored; vcoded's master
 * replaces its senders instead). A Redis that goes away is waited for.
 * Returns 0 after a stop, 1 when it cannot start (a configuration error).
 */
int	 sender_run(struct vc_config *cfg, const char *path);
/*
 * sender_replay: moves every dead letter that is a message back into the
 * outbox, its tries reset. How many, or -1 with err.
 */
long	 sender_replay(struct vc_config *cfg, char *err, size_t errlen);
/*
 * sender_check: what a sender needs of cfg (the provider, the store URL,
 * the outbox names, the mobile pattern), made and released. 0, or -1
 * with err.
 */
int	 sender_check(struct vc_config *cfg, char *err, size_t errlen);

/* ---- Between core/smsd.c and core/delivery.c. ---- */
struct vc_mobile;
struct sms;

/* One sender: its configuration, handles and where it is. */
struct sender {
	struct vc_config	*cfg;
	struct store		*store;
	struct sms		*sms;
	struct vc_mobile	*mobile;	/* the pattern, to check */
	struct store_outbox	 ob;
	char			 budget[VC_KEY_MAX];	/* the site's budget */
	char			 cursor[STORE_ID_MAX];	/* of the claim scan */
	char			 after[STORE_ID_MAX];	/* own pending ones
							   read up to here */
	long long		 next_claim;	/* ms, mono_ms() */
	long long		 next_promote;	/* ms, mono_ms() */
	long long		 next_refused_log;	/* ms, mono_ms() */
	int			 outage_ms;	/* 0: Redis answers */
	int			 fresh;		/* connection (re)made: group
						   and own pending first */
	volatile sig_atomic_t	*stop;		/* set by SIGTERM, SIGINT */
};

/*
 * delivery_handle: one message m, from holding it to its end
 * (delivery.c). 0; -1 when it is left pending, unfinished (a stop, or
 * Redis refusing every step): the caller waits before the next.
 */
int	 delivery_handle(struct sender *, struct store_msg *m);
/*
 * smsd_outage: the store failed: said once per outage, then a wait (100
 * ms doubling to 2 s) before the caller tries again. smsd_reachable: it
 * answers again.
 */
void	 smsd_outage(struct sender *);
void	 smsd_reachable(struct sender *);

#endif /* VCODE_CORE_SMSD_H */
