/*
 * sms: the provider interface. A provider is a row of function pointers;
 * sms_new() picks the row named by sms_provider.
 *
 * log writes the message to a file (development). ccp and webhook POST it
 * with libcurl over one easy handle per process, so that connections are
 * kept alive between requests; TLS certificates are verified (libcurl's
 * default, never turned off). An error message never carries the code,
 * the body or the URL (which may hold credentials).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <dlfcn.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sms/sms.h"

/*
 * libcurl is loaded when an HTTP provider is opened, not linked: it
 * brings some thirty libraries (TLS, Kerberos, LDAP, SSH, HTTP/2...) whose
 * loading alone costs a CGI request about 3 ms, and the log provider, a
 * 404 or a captcha need none of it. The calls below go through this table;
 * the macros keep the code reading as libcurl's own API.
 */
static struct {
	void			*dl;
	CURLcode		(*global_init_mem)(long, curl_malloc_callback,
				    curl_free_callback, curl_realloc_callback,
				    curl_strdup_callback, curl_calloc_callback);
	CURL			*(*easy_init)(void);
	CURLcode		(*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode		(*easy_perform)(CURL *);
	CURLcode		(*easy_getinfo)(CURL *, CURLINFO, ...);
	void			(*easy_reset)(CURL *);
	void			(*easy_cleanup)(CURL *);
	const char		*(*easy_strerror)(CURLcode);
	struct curl_slist	*(*slist_append)(struct curl_slist *,
				    const char *);
	void			(*slist_free_all)(struct curl_slist *);
} lib;

#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init_mem	lib.global_init_mem
#define curl_easy_init		lib.easy_init
#define curl_easy_setopt	lib.easy_setopt
#define curl_easy_perform	lib.easy_perform
#define curl_easy_getinfo	lib.easy_getinfo
#define curl_easy_reset		lib.easy_reset
#define curl_easy_cleanup	lib.easy_cleanup
#define curl_easy_strerror	lib.easy_strerror
#define curl_slist_append	lib.slist_append
#define curl_slist_free_all	lib.slist_free_all

/* curl_load: libcurl's functions into lib, once. 0, or -1 with err. */
static int
curl_load(char *err, size_t errlen)
{
	static const struct { const char *name; size_t off; } syms[] = {
#define SYM(f)	{ "curl_" #f, offsetof(__typeof__(lib), f) }
		SYM(global_init_mem), SYM(easy_init), SYM(easy_setopt),
		SYM(easy_perform), SYM(easy_getinfo), SYM(easy_reset),
		SYM(easy_cleanup), SYM(easy_strerror), SYM(slist_append),
		SYM(slist_free_all),
#undef SYM
	};
	size_t	 i;
	void	*f;

	if (lib.dl != NULL)
		return 0;
	if ((lib.dl = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(err, errlen, "libcurl: %s (apt-get install libcurl4)",
		    dlerror());
		return -1;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		if ((f = dlsym(lib.dl, syms[i].name)) == NULL) {
			snprintf(err, errlen, "libcurl: no %s", syms[i].name);
			dlclose(lib.dl);
			lib.dl = NULL;
			return -1;
		}
		memcpy((char *)&lib + syms[i].off, &f, sizeof(f));
	}
	return 0;
}

#define HTTP_CONNECT_MS		2000
#define HTTP_TOTAL_MS		SMS_SEND_MAX_MS	/* for the gateway, in all */
#define HTTP_REPLY_MAX		(64 * 1024)	/* bytes of reply kept */
#define CCP_VERSION		"2013-12-26"
#define CCP_OK			"000000"
#define HTTP_AMBIGUOUS		(-2)	/* http_post: sent, no reply */

struct provider {
	const char	*name;
	int		(*open)(struct sms *, const struct sms_options *,
			    char *, size_t);
	int		(*send)(struct sms *, const char *, const char *, int,
			    char *, size_t);
	void		(*close)(struct sms *);
};

struct sms {
	const struct provider	*p;
	struct sms_options	 opts;
	FILE			*logfp;		/* log provider */
	CURL			*curl;		/* ccp and webhook */
	char			 reply[HTTP_REPLY_MAX + 1];
	size_t			 replylen;
};

/*
 * The log provider is the development stand-in for a gateway: it writes
 * the message it would have sent to sms_log_file, marked as such. That
 * file is the one place a code is ever written, so it is never the
 * service's log (README, "Sending the SMS"): "stderr" is refused, and so is a file that
 * is the process's stderr; it is created 0600 and not through a symbolic
 * link. Empty (the default) writes the messages nowhere.
 */
static int
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

static int
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

static void
log_close(struct sms *s)
{
	if (s->logfp != NULL)
		fclose(s->logfp);
}

/* ---- HTTP providers. ---- */

static size_t
http_collect(char *data, size_t size, size_t n, void *arg)
{
	struct sms	*s = arg;
	size_t		 len = size * n, room = HTTP_REPLY_MAX - s->replylen;

	/* A reply past the cap is cut, not an error: only its start counts. */
	memcpy(s->reply + s->replylen, data, len < room ? len : room);
	s->replylen += len < room ? len : room;
	return len;
}

/* http_url_ok: an http:// or https:// URL with something after it. */
static int
http_url_ok(const char *url)
{
	return (strncmp(url, "http://", 7) == 0 && url[7] != '\0') ||
	    (strncmp(url, "https://", 8) == 0 && url[8] != '\0');
}

/*
 * Memory zeroed when freed: each block carries its size in front, so the
 * free can zero it all. For every library buffer that may hold a code:
 * libcurl's (here) and jansson's (core installs it).
 */
#define WIPE_HEAD	16	/* keeps the block's alignment */

void *
sms_wipe_malloc(size_t n)
{
	unsigned char	*p;

	if (n > SIZE_MAX - WIPE_HEAD || (p = malloc(n + WIPE_HEAD)) == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + WIPE_HEAD;
}

void
sms_wipe_free(void *ptr)
{
	unsigned char	*p = ptr;
	size_t		 n;

	if (p == NULL)
		return;
	p -= WIPE_HEAD;
	memcpy(&n, p, sizeof(n));
	explicit_bzero(p, n + WIPE_HEAD);
	free(p);
}

/* wipe_realloc: a new block, the old one copied, then wiped and freed. */
static void *
wipe_realloc(void *ptr, size_t n)
{
	size_t	 old;
	void	*q;

	if (ptr == NULL)
		return sms_wipe_malloc(n);
	if ((q = sms_wipe_malloc(n)) == NULL)
		return NULL;
	memcpy(&old, (unsigned char *)ptr - WIPE_HEAD, sizeof(old));
	memcpy(q, ptr, old < n ? old : n);
	sms_wipe_free(ptr);
	return q;
}

static char *
wipe_strdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*q;

	if ((q = sms_wipe_malloc(n)) != NULL)
		memcpy(q, s, n);
	return q;
}

static void *
wipe_calloc(size_t nmemb, size_t size)
{
	void	*q;

	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	if ((q = sms_wipe_malloc(nmemb * size)) != NULL)
		memset(q, 0, nmemb * size);
	return q;
}

/* http_open: the easy handle shared by the requests of this process. */
static int
http_open(struct sms *s, char *err, size_t errlen)
{
	static int	 inited;

	if (curl_load(err, errlen) == -1)
		return -1;
	/* Not thread-safe, and need not be: workers are processes. */
	/* libcurl's buffers hold the request body, and so the code. */
	if (!inited && curl_global_init_mem(CURL_GLOBAL_DEFAULT,
	    sms_wipe_malloc, sms_wipe_free, wipe_realloc, wipe_strdup,
	    wipe_calloc) != 0) {
		snprintf(err, errlen, "libcurl: global init failed");
		return -1;
	}
	inited = 1;
	if ((s->curl = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "libcurl: no easy handle");
		return -1;
	}
	return 0;
}

/*
 * http_post: POSTs body to url with headers (NULL-terminated); the reply
 * lands in s->reply. Returns the HTTP status; -1 with err filled when
 * nothing was sent (DNS, connect, TLS failure); HTTP_AMBIGUOUS with err
 * when the request went out but no whole reply came back (a timeout, a
 * broken connection): the gateway may be sending the message.
 */
static long
http_post(struct sms *s, const char *what, const char *url,
    const char *const *headers, const char *body, char *err, size_t errlen)
{
	struct curl_slist	*list = NULL, *l;
	CURLcode		 rc;
	long			 status = -1;
	size_t			 i;

	for (i = 0; headers[i] != NULL; i++) {
		if ((l = curl_slist_append(list, headers[i])) == NULL) {
			curl_slist_free_all(list);
			snprintf(err, errlen, "%s: out of memory", what);
			return -1;
		}
		list = l;
	}
	s->replylen = 0;
	curl_easy_reset(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)HTTP_CONNECT_MS);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)HTTP_TOTAL_MS);
	curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "vcode");
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, http_collect);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
	rc = curl_easy_perform(s->curl);
	curl_slist_free_all(list);
	s->reply[s->replylen] = '\0';
	if (rc != CURLE_OK) {
		long	 sent = 0;

		/*
		 * Once the request is on the wire the gateway may act on it
		 * whatever happens next (a timeout, a reset): that is not a
		 * refusal. Before it (DNS, connect, TLS) nothing was sent.
		 */
		curl_easy_getinfo(s->curl, CURLINFO_REQUEST_SIZE, &sent);
		snprintf(err, errlen, "%s: %s%s", what, curl_easy_strerror(rc),
		    sent > 0 ? " after the request was sent" : "");
		return sent > 0 ? HTTP_AMBIGUOUS : -1;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static void
http_close(struct sms *s)
{
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
}

char *
sms_json_dump(json_t *o, size_t *lenp)
{
	char	*text = NULL;
	size_t	 n;

	if (o != NULL && (n = json_dumpb(o, NULL, 0, JSON_COMPACT)) > 0 &&
	    (text = malloc(n + 1)) != NULL) {
		if (json_dumpb(o, text, n, JSON_COMPACT) != n) {
			free(text);
			text = NULL;
		} else {
			text[n] = '\0';
			if (lenp != NULL)
				*lenp = n;
		}
	}
	json_decref(o);
	return text;
}

/* wipe_free: frees a body that held a code, zeroing it first. */
static void
wipe_free(char *body)
{
	if (body != NULL) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
}

/* hex: n bytes as hex (uppercase when upper) into out, 2n + 1 bytes. */
static void
hex(const unsigned char *in, size_t n, char *out, int upper)
{
	const char	*d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t		 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
sms_hmac_sha256_hex(const char *key, const void *msg, size_t len, char *out,
    size_t outlen)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	if (outlen < SMS_HMAC_HEX || HMAC(EVP_sha256(), key, (int)strlen(key),
	    msg, len, md, &mdlen) == NULL || mdlen != 32)
		return -1;
	hex(md, mdlen, out, 0);
	explicit_bzero(md, sizeof(md));
	return 0;
}

/*
 * secret_join: a, b and c in one buffer of its exact size, for a text
 * that holds a code or a token: asprintf(3) may grow its buffer by
 * realloc, freeing a copy unwiped. Free it with wipe_free. NULL when out
 * of memory.
 */
static char *
secret_join(const char *a, const char *b, const char *c)
{
	size_t	 la = strlen(a), lb = strlen(b), lc = strlen(c);
	char	*t;

	if ((t = malloc(la + lb + lc + 1)) == NULL)
		return NULL;
	memcpy(t, a, la);
	memcpy(t + la, b, lb);
	memcpy(t + la + lb, c, lc + 1);
	return t;
}

/*
 * ccp: Ronglian Cloud Communications template SMS (the seeds'
 * CCP().send_template_sms): POST {base}/2013-12-26/Accounts/{sid}/SMS/
 * TemplateSMS?sig=MD5(sid token timestamp) in uppercase hex, with
 * Authorization base64(sid:timestamp) and the template data [code,
 * minutes]; statusCode "000000" is success.
 */
static int
ccp_open(struct sms *s, const struct sms_options *cfg, char *err,
    size_t errlen)
{
	const struct {
		const char	*key, *value;
	} need[] = {
		{ "ccp_account_sid", cfg->ccp_account_sid },
		{ "ccp_auth_token", cfg->ccp_auth_token },
		{ "ccp_app_id", cfg->ccp_app_id },
		{ "ccp_template_id", cfg->ccp_template_id },
	};
	size_t	 i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (need[i].value[0] == '\0') {
			snprintf(err, errlen, "key '%s': required by "
			    "sms_provider = ccp", need[i].key);
			return -1;
		}
	if (!http_url_ok(cfg->ccp_base_url)) {
		snprintf(err, errlen, "key 'ccp_base_url': expected an http:// "
		    "or https:// URL");
		return -1;
	}
	return http_open(s, err, errlen);
}

static int
ccp_send(struct sms *s, const char *mobile, const char *code, int minutes,
    char *err, size_t errlen)
{
	const struct sms_options	*cfg = &s->opts;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	char			 ts[16], sig[2 * EVP_MAX_MD_SIZE + 1], mins[16];
	char			 pair[512], b64[700], auth[720], *url = NULL;
	char			*body = NULL, *signed_text = NULL;
	const char		*base = cfg->ccp_base_url;
	const char		*headers[] = { "Accept: application/json",
	    "Content-Type: application/json;charset=utf-8", auth, NULL };
	size_t			 blen = strlen(base);
	struct tm		 tm;
	time_t			 now = time(NULL);
	long			 http;
	int			 rc = -1;

	/* The gateway checks the timestamp against its own (Beijing) clock;
	 * the seeds' SDK sends local time, and so do we. */
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm) == 0 ||
	    (signed_text = secret_join(cfg->ccp_account_sid,
	    cfg->ccp_auth_token, ts)) == NULL) {
		snprintf(err, errlen, "ccp: cannot sign");
		goto out;
	}
	if (!EVP_Digest(signed_text, strlen(signed_text), md, &mdlen,
	    EVP_md5(), NULL)) {
		snprintf(err, errlen, "ccp: MD5 failed");
		goto out;
	}
	hex(md, mdlen, sig, 1);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (snprintf(pair, sizeof(pair), "%s:%s", cfg->ccp_account_sid, ts) >=
	    (int)sizeof(pair) || 4 * ((strlen(pair) + 2) / 3) >= sizeof(b64)) {
		snprintf(err, errlen, "ccp: ccp_account_sid too long");
		goto out;
	}
	EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)pair,
	    (int)strlen(pair));
	snprintf(auth, sizeof(auth), "Authorization: %s", b64);
	snprintf(mins, sizeof(mins), "%d", minutes);
	if (asprintf(&url, "%.*s/" CCP_VERSION "/Accounts/%s/SMS/TemplateSMS"
	    "?sig=%s", (int)blen, base, cfg->ccp_account_sid, sig) == -1) {
		url = NULL;
		snprintf(err, errlen, "ccp: out of memory");
		goto out;
	}
	if ((body = sms_json_dump(json_pack("{s:s, s:s, s:s, s:[s, s]}", "to",
	    mobile, "appId", cfg->ccp_app_id, "templateId",
	    cfg->ccp_template_id, "datas", code, mins), NULL)) == NULL) {
		snprintf(err, errlen, "ccp: cannot build the request");
		goto out;
	}
	if ((http = http_post(s, "ccp", url, headers, body, err, errlen)) < 0) {
		rc = http == HTTP_AMBIGUOUS ? SMS_UNKNOWN : SMS_REFUSED;
		goto out;
	}
	rc = sms_ccp_reply(http, s->reply, s->replylen, err, errlen);
out:
	wipe_free(body);
	wipe_free(signed_text);
	free(url);
	explicit_bzero(pair, sizeof(pair));
	explicit_bzero(b64, sizeof(b64));
	explicit_bzero(auth, sizeof(auth));
	return rc;
}

/*
 * webhook: POSTs {"mobile", "code", "minutes"} to webhook_url, signed with
 * X-Vcode-Timestamp (Unix seconds) and X-Vcode-Signature: sha256= the hex
 * HMAC-SHA256 under webhook_secret of "TIMESTAMP.BODY", so that the
 * receiver can refuse forged and replayed requests; any 2xx is success.
 */
static int
webhook_open(struct sms *s, const struct sms_options *cfg, char *err,
    size_t errlen)
{
	if (!http_url_ok(cfg->webhook_url)) {
		snprintf(err, errlen, "key 'webhook_url': expected an http:// "
		    "or https:// URL, saw %s", cfg->webhook_url[0] == '\0' ?
		    "nothing" : "another scheme");
		return -1;
	}
	if (cfg->webhook_secret[0] == '\0') {
		snprintf(err, errlen, "key 'webhook_secret': required by "
		    "sms_provider = webhook");
		return -1;
	}
	return http_open(s, err, errlen);
}

static int
webhook_send(struct sms *s, const char *mobile, const char *code,
    int minutes, char *err, size_t errlen)
{
	const struct sms_options	*cfg = &s->opts;
	char			 ts[24], tsh[48], sig[SMS_HMAC_HEX], sigh[160];
	char			*body = NULL, *signed_text = NULL;
	const char		*headers[] = { "Content-Type: application/json",
	    tsh, sigh, NULL };
	long			 http;
	int			 rc = -1;

	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if ((body = sms_json_dump(json_pack("{s:s, s:s, s:i}", "mobile", mobile,
	    "code", code, "minutes", minutes), NULL)) == NULL ||
	    (signed_text = secret_join(ts, ".", body)) == NULL) {
		snprintf(err, errlen, "webhook: cannot build the request");
		goto out;
	}
	if (sms_hmac_sha256_hex(cfg->webhook_secret, signed_text,
	    strlen(signed_text), sig, sizeof(sig)) == -1) {
		snprintf(err, errlen, "webhook: HMAC failed");
		goto out;
	}
	snprintf(tsh, sizeof(tsh), "X-Vcode-Timestamp: %s", ts);
	snprintf(sigh, sizeof(sigh), "X-Vcode-Signature: sha256=%s", sig);
	http = http_post(s, "webhook", cfg->webhook_url, headers, body, err,
	    errlen);
	if (http >= 200 && http <= 299)
		rc = SMS_SENT;
	else if (http == HTTP_AMBIGUOUS)
		rc = SMS_UNKNOWN;
	else if (http >= 500) {
		/* The receiver, or a proxy after forwarding, failed: it may
		 * have sent. Only a 4xx is a definite no. */
		snprintf(err, errlen, "webhook: HTTP %ld", http);
		rc = SMS_UNKNOWN;
	} else if (http != -1)
		snprintf(err, errlen, "webhook: HTTP %ld", http);
out:
	wipe_free(body);
	wipe_free(signed_text);
	return rc;
}

/*
 * utf8_len: the length of the valid UTF-8 sequence at s (at most n bytes
 * to read), 2 to 4; 0 when there is none (a lone or cut sequence, an
 * overlong form, a surrogate, past U+10FFFF).
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned	 cp, min;
	size_t		 len, k;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * outside_text: copies at most n bytes of s, text from outside (a
 * gateway's reply), into out (outlen > 0) for a message that callers log
 * and store. A control character (a newline that would forge a log line,
 * an escape) becomes '?'. Every ASCII digit becomes '*': a gateway's text
 * may repeat the mobile or the code it was sent, whole or split by spaces
 * or dashes, so no run of digits passes however short, and an operator
 * loses nothing the statusCode does not say. A whole UTF-8 sequence
 * passes, so Chinese text stays readable; any other byte >= 0x80 (one cut
 * by n, or not UTF-8) becomes '?', so what is stored is valid UTF-8.
 */
static void
outside_text(const char *s, size_t n, char *out, size_t outlen)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, o = 0, k, len;

	while (i < n && u[i] != '\0' && o + 1 < outlen) {
		if (u[i] < 0x80) {
			out[o++] = u[i] < 0x20 || u[i] == 0x7f ? '?' :
			    u[i] >= '0' && u[i] <= '9' ? '*' : (char)u[i];
			i++;
			continue;
		}
		len = utf8_len(u + i, n - i);
		if (len == 0 || o + len >= outlen) {
			out[o++] = '?';
			i++;
			continue;
		}
		for (k = 0; k < len; k++)
			out[o++] = (char)u[i + k];
		i += len;
	}
	out[o] = '\0';
}

/*
 * ccp_status_shape: 1 when s has the shape of CCP's statusCode, six ASCII
 * digits ("000000", "160038"): a word of the gateway's fixed vocabulary,
 * which operators look up, kept as it is.
 */
static int
ccp_status_shape(const char *s)
{
	size_t	 i;

	for (i = 0; i < 6; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[i] == '\0';
}

/*
 * ccp_status: the verdict of j, a CCP reply that is a JSON object (which
 * stays the caller's), with err for a refusal.
 */
static int
ccp_status(long http, json_t *j, char *err, size_t errlen)
{
	char		 code[17], msg[81];
	const char	*status;
	json_t		*v;

	v = json_object_get(j, "statusCode");
	status = json_is_string(v) ? json_string_value(v) : "";
	if (http == 200 && strcmp(status, CCP_OK) == 0)
		return SMS_SENT;
	if (ccp_status_shape(status))
		snprintf(code, sizeof(code), "%s", status);
	else
		outside_text(status, 16, code, sizeof(code));
	v = json_object_get(j, "statusMsg");
	outside_text(json_is_string(v) ? json_string_value(v) : "", 80, msg,
	    sizeof(msg));
	snprintf(err, errlen, "ccp: HTTP %ld, statusCode '%s' (%s)", http, code,
	    msg);
	return SMS_REFUSED;
}

int
sms_ccp_reply(long http, const char *reply, size_t len, char *err,
    size_t errlen)
{
	json_t	*j;
	int	 rc;

	/* A server error: whatever its body says, the gateway may have sent. */
	if (http >= 500) {
		snprintf(err, errlen, "ccp: HTTP %ld, server error: delivery "
		    "unknown", http);
		return SMS_UNKNOWN;
	}
	if ((j = json_loadb(reply, len, 0, NULL)) == NULL ||
	    !json_is_object(j)) {
		json_decref(j);
		/* A success we cannot read: it may have sent. */
		if (http >= 200 && http <= 299) {
			snprintf(err, errlen, "ccp: HTTP %ld, reply is not a "
			    "JSON object: delivery unknown", http);
			return SMS_UNKNOWN;
		}
		snprintf(err, errlen, "ccp: HTTP %ld, reply is not a JSON "
		    "object", http);
		return SMS_REFUSED;
	}
	rc = ccp_status(http, j, err, errlen);
	json_decref(j);
	return rc;
}

static const struct provider providers[] = {
	[SMS_LOG] = { "log", log_open, log_send, log_close },
	[SMS_CCP] = { "ccp", ccp_open, ccp_send, http_close },
	[SMS_WEBHOOK] = { "webhook", webhook_open, webhook_send,
	    http_close },
};

const char *
sms_provider_name(enum sms_provider p)
{
	if ((unsigned)p >= sizeof(providers) / sizeof(providers[0]))
		return NULL;
	return providers[p].name;
}

struct sms *
sms_new(const struct sms_options *opts, char *err, size_t errlen)
{
	struct sms	*s;

	if ((unsigned)opts->provider >= sizeof(providers) /
	    sizeof(providers[0])) {
		snprintf(err, errlen, "key 'sms_provider': unknown provider");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->p = &providers[opts->provider];
	s->opts = *opts;
	if (s->p->open(s, &s->opts, err, errlen) == -1) {
		sms_free(s);
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
