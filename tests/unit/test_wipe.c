/*
 * Unit test of what a program's start-up (proc_start) promises the SMS
 * code: a sender that runs alone, as vcode-smsd does, frees no heap block
 * that still holds a code it sent. free() is interposed in this binary:
 * while a send is watched, each block freed (by vcode, jansson or
 * libcurl) is searched for the code's digits before it is released.
 * Under AddressSanitizer its free hook is used instead, which also sees
 * the old block of a realloc() that moved (the C library's realloc does
 * not call free()).
 * The send goes to a port on 127.0.0.1 that is bound but not listening,
 * so the request body is built, refused at connect and freed; or to a
 * child that takes it, so libcurl's buffers hold it too.
 *
 * Under valgrind's memcheck, which puts its own free() in place of this
 * one unless told otherwise, the test fails rather than pass unwatched.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <dlfcn.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif

#include "core/vcode.h"
#include "core/proc.h"
#include "sms/sms.h"

#define MOBILE	"13800138000"

static const char	*watched;	/* the code looked for, or NULL */
static int		 dirty;		/* blocks freed holding it */

#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(p, n)	((void)(p), (void)(n))
#endif

/* look: counts p as dirty when its n bytes hold the watched code. */
static void
look(const void *p, size_t n)
{
	if (p != NULL && watched != NULL &&
	    memmem(p, n, watched, strlen(watched)) != NULL)
		dirty++;
}

#ifdef __SANITIZE_ADDRESS__
/* From sanitizer/allocator_interface.h, which GCC does not install. */
int	 __sanitizer_install_malloc_and_free_hooks(
	    void (*)(const volatile void *, size_t),
	    void (*)(const volatile void *));
size_t	 __sanitizer_get_allocated_size(const volatile void *);

/* AddressSanitizer owns free(); it calls this hook before each. */
static void
free_hook(const volatile void *p)
{
	look((const void *)p, __sanitizer_get_allocated_size(p));
}

/* Both hooks, or none, are taken. */
static void
malloc_hook(const volatile void *p, size_t n)
{
	(void)p;
	(void)n;
}

static void
watch_frees(void)
{
	__sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
}
#else
/*
 * free: the C library's (the next one after this binary), after looking
 * at the block. Its bytes are all read, so memcheck is told they are
 * defined.
 */
void
free(void *p)
{
	static void	(*next)(void *);
	static int	 looking;

	if (next == NULL) {
		if (looking)
			return;		/* freed inside dlsym: let it be */
		looking = 1;
		next = (void (*)(void *))dlsym(RTLD_NEXT, "free");
		looking = 0;
		if (next == NULL)
			abort();
	}
	if (p != NULL && watched != NULL) {
		VALGRIND_MAKE_MEM_DEFINED(p, malloc_usable_size(p));
		look(p, malloc_usable_size(p));
	}
	next(p);
}

static void
watch_frees(void)
{
}
#endif

/* interposed: 1 when a block freed here reaches the free() above. */
static int
interposed(void)
{
	void	(*volatile release)(void *) = free;
	char	*p;

	if ((p = malloc(16)) == NULL)
		return 0;
	memcpy(p, "canary-4417", 12);
	dirty = 0;
	watched = "canary-4417";
	release(p);
	watched = NULL;
	return dirty == 1;
}

/*
 * dead_port: a TCP port of 127.0.0.1 that refuses connections: bound by
 * the returned socket (so no one else takes it) but not listening.
 */
static int
dead_port(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		fail_msg("a local port: expected one, saw an error");
	*port = ntohs(sin.sin_port);
	return fd;
}

static int
setup(void **state)
{
	struct vc_config	*cfg;
	const char		*conf = NULL;

	watch_frees();
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    proc_start("test_wipe", &conf, cfg) == -1)
		return -1;
	*state = cfg;
	return 0;
}

static int
teardown(void **state)
{
	config_free(*state);
	free(*state);
	return 0;
}

/*
 * gateway: a child that answers one request on the listening socket fd
 * with a success every provider reads as one (CCP's statusCode, Alibaba's
 * Code, Tencent's status, and a 2xx for a webhook), once the body has
 * come (its closing brace, or none). Returns the child's pid.
 */
#define GW_OK	"{\"statusCode\":\"000000\",\"Code\":\"OK\",\"Response\":" \
		"{\"SendStatusSet\":[{\"Code\":\"Ok\"}]}}\n"
static pid_t
gateway(int fd)
{
	char			 ok[256];
	char			 buf[8192];
	size_t			 got = 0;
	ssize_t			 n;
	pid_t			 pid;
	int			 c;

	if ((pid = fork()) != 0)
		return pid;
	snprintf(ok, sizeof(ok), "HTTP/1.1 200 OK\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n%s", strlen(GW_OK), GW_OK);
	if ((c = accept(fd, NULL, NULL)) == -1)
		_exit(1);
	while (got < sizeof(buf) - 1 &&
	    (n = read(c, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL &&
		    (strchr(strstr(buf, "\r\n\r\n"), '}') != NULL ||
		    strcasestr(buf, "\r\nContent-Length: 0\r\n") != NULL))
			break;
	}
	if (write(c, ok, strlen(ok)) < 0)
		_exit(1);
	close(c);
	_exit(0);
}

/*
 * send_watched: sends code through provider to a dead port (live: to a
 * stand-in that takes it) and fails the test when a freed block held the
 * code.
 */
static void
send_watched(enum sms_provider provider, const char *code, int live)
{
	struct sms_options	 o = { .sms_log_file = "", .ccp_base_url = "",
	    .ccp_account_sid = "", .ccp_auth_token = "", .ccp_app_id = "",
	    .ccp_template_id = "", .webhook_url = "", .webhook_secret = "" };
	struct sms		*s;
	char			 url[64], err[VC_ERR_MAX] = "";
	int			 fd, port, rc, want = live ? SMS_SENT : SMS_REFUSED;
	pid_t			 pid = -1;

	if (!interposed())
		fail_msg("free(): expected this binary's to run, saw another "
		    "(under valgrind, give it --soname-synonyms=somalloc="
		    "nouserintercepts, as make valgrind does)");
	fd = dead_port(&port);
	if (live) {
		if (listen(fd, 1) == -1)
			fail_msg("listen: expected 0, saw -1");
		if ((pid = gateway(fd)) == -1)
			fail_msg("fork: expected a stand-in, saw -1");
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	o.provider = provider;
	o.ccp_base_url = url;
	o.ccp_account_sid = "8aaf0708sid";
	o.ccp_auth_token = "token";
	o.ccp_app_id = "app";
	o.ccp_template_id = "1";
	o.webhook_url = url;
	o.webhook_secret = "secret";
	o.aliyun_access_key_id = "LTAI5tid";
	o.aliyun_access_key_secret = "secret";
	o.aliyun_sign_name = "sign";
	o.aliyun_template_code = "SMS_1";
	o.aliyun_template_param = "code,min";
	o.aliyun_endpoint = url;
	o.aliyun_region = "cn-hangzhou";
	o.tencent_secret_id = "AKIDid";
	o.tencent_secret_key = "secret";
	o.tencent_sdk_app_id = "1400000001";
	o.tencent_sign_name = "sign";
	o.tencent_template_id = "1";
	o.tencent_region = "ap-guangzhou";
	o.tencent_endpoint = url;
	o.country_code = "86";
	if ((s = sms_new(&o, err, sizeof(err))) == NULL)
		fail_msg("sms_new: expected a provider, saw NULL: %s", err);
	dirty = 0;
	watched = code;
	rc = sms_send(s, MOBILE, code, 5, err, sizeof(err));
	sms_free(s);
	watched = NULL;
	close(fd);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (rc != want)
		fail_msg("send to %s: expected %d, saw %d: %s", live ?
		    "a stand-in that takes it" : "a dead port", want, rc, err);
	if (dirty != 0)
		fail_msg("send of %s: expected no freed block to hold the "
		    "code, saw %d", code, dirty);
}

static void
test_ccp_frees_no_code(void **state)
{
	(void)state;
	send_watched(SMS_CCP, "830274", 0);
}

/* Sent: libcurl's buffers held the request, and so the code. */
static void
test_ccp_sent_frees_no_code(void **state)
{
	(void)state;
	send_watched(SMS_CCP, "604913", 1);
}

static void
test_webhook_sent_frees_no_code(void **state)
{
	(void)state;
	send_watched(SMS_WEBHOOK, "492705", 1);
}

static void
test_webhook_frees_no_code(void **state)
{
	(void)state;
	send_watched(SMS_WEBHOOK, "571936", 0);
}

static void
test_aliyun_frees_no_code(void **state)
{
	(void)state;
	send_watched(SMS_ALIYUN, "381946", 0);
}

static void
test_aliyun_sent_frees_no_code(void **state)
{
	(void)state;
	send_watched(SMS_ALIYUN, "720563", 1);
}

static void
test_tencent_frees_no_code(void **state)
{
	(void)state;
	send_watched(SMS_TENCENT, "915372", 0);
}

static void
test_tencent_sent_frees_no_code(void **state)
{
	(void)state;
	send_watched(SMS_TENCENT, "264819", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aliyun_frees_no_code),
		cmocka_unit_test(test_aliyun_sent_frees_no_code),
		cmocka_unit_test(test_tencent_frees_no_code),
		cmocka_unit_test(test_tencent_sent_frees_no_code),
		cmocka_unit_test(test_ccp_frees_no_code),
		cmocka_unit_test(test_webhook_frees_no_code),
		cmocka_unit_test(test_ccp_sent_frees_no_code),
		cmocka_unit_test(test_webhook_sent_frees_no_code),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
