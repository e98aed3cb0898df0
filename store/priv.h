/*
 * store/priv.h: what the files of store/ share (store.c: connections,
 * plain commands and the request scripts; outbox.c: the SMS queue). Not
 * for other folders.
 */
#ifndef VCODE_STORE_PRIV_H
#define VCODE_STORE_PRIV_H

#include <sys/time.h>

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#define STORE_HOST_MAX	256
#define STORE_PASS_MAX	256
#define STORE_ERR_MAX	256
#define STORE_SENTINELS_MAX	16	/* entries of redis_sentinels */
#define STORE_MASTER_MAX	128	/* redis_master, with its NUL */
#define EVAL_ARGS_MAX	64	/* keys + arguments of one script call */

struct script {
	const char	*body;
	char		*owned;		/* body, when made at run time */
	char		 sha[SHA_DIGEST_LENGTH * 2 + 1];
};

enum {
	SCRIPT_SMS, SCRIPT_ROLLBACK, SCRIPT_VERIFY, SCRIPT_UNSENT,
	SCRIPT_BEGIN, SCRIPT_DONE, SCRIPT_RETRY, SCRIPT_DEAD, SCRIPT_UNRETRY,
	SCRIPT_REPLAY, SCRIPT_LEAVE, SCRIPT_GROUP,
	SCRIPT_COUNT
};

/*
 * Where a server is: the primary the configured URL names, a sentinel, or
 * the primary a sentinel named. connect_store() only ever connects to
 * what locate() says.
 */
struct endpoint {
	int		 unix_sock;
	char		 host[STORE_HOST_MAX];	/* or socket path */
	int		 port;
};

struct store {
	redisContext	*c;
	struct endpoint	 url;		/* as configured */
	char		 user[STORE_PASS_MAX];	/* ACL user, or "" */
	char		 pass[STORE_PASS_MAX];
	int		 db;
	struct timeval	 timeout;
	char		 err[STORE_ERR_MAX];
	int		 refused;	/* the last failure was an error reply */
	struct script	 scripts[SCRIPT_COUNT];
	/* Sentinel (store_sentinels): nsentinels 0 when the url names the
	 * primary; else the one that answered last comes first. */
	struct endpoint	 sentinels[STORE_SENTINELS_MAX];
	int		 nsentinels;
	char		 master[STORE_MASTER_MAX];
	char		 spass[STORE_PASS_MAX];
	/* store_counters: the caller's, or NULL. */
	unsigned long long *errors, *reconnects;
	int		 connected;	/* a connection was made before */
};

/*
 * failed: rc, the result of a public call, counted in the errors counter
 * when it is -1. Each public call returns through it once.
 */
int		 failed(struct store *, int rc);

/*
 * refuse: r, an error reply (or one of an unexpected shape) to what, as
 * the last failure: st->err says it, st->refused is set unless the error
 * is one waiting may cure (OOM, BUSY, LOADING, READONLY ...).
 */
struct redisReply;
void		 refuse(struct store *, const char *what,
		    const struct redisReply *);
/*
 * reply_str: r, a string reply without a NUL that fits, into out. 0, or
 * -1 (out untouched).
 */
int		 reply_str(const struct redisReply *r, char *out,
		    size_t outlen);
/* script_init: body and its SHA1, for EVALSHA. */
void		 script_init(struct script *, const char *body);
/* outbox_scripts_init: the outbox's scripts into st (outbox.c). */
void		 outbox_scripts_init(struct store *);
/*
 * run: a command on a connection made if needed; NULL when the store
 * could not be reached (st->err says why, st->refused is 0). An error
 * reply is returned as it is. extra_ms lengthens the
 * timeout of this one command (a blocking read), 0 for none.
 */
redisReply	*run(struct store *, int argc, const char **argv);
redisReply	*run_long(struct store *, int argc, const char **argv,
		    int extra_ms);
/* run_lens: run with each argument's length given (binary-safe). */
redisReply	*run_lens(struct store *, int argc, const char **argv,
		    const size_t *lens);
/*
 * run_simple: expects an integer or status reply; 0 or -1 (an error
 * reply sets st->refused).
 */
int		 run_simple(struct store *, int argc, const char **argv,
		    long long *out);
/*
 * eval: EVALSHA script which with nkeys keys and then nargs arguments
 * in args; on NOSCRIPT (a restarted or flushed Redis) EVAL once, which
 * caches it again. Returns the index in words of the word the
 * script answered; with words NULL, the integer it answered (0..INT_MAX);
 * -1 on any failure.
 */
int		 eval(struct store *, int which, int nkeys, int nargs,
		    const char **args, const char *const *words, int nwords);
/* eval_lens: eval with each of args' lengths given (binary-safe). */
int		 eval_lens(struct store *, int which, int nkeys, int nargs,
		    const char **args, const size_t *lens,
		    const char *const *words, int nwords);

#endif /* VCODE_STORE_PRIV_H */
