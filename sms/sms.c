/*
 * sms: the provider interface. A provider is a row of function pointers
 * (provider.h); sms_new() picks the row of providers[] named by
 * sms_provider. This file is what the providers share: libcurl loaded on
 * first use, one easy handle per process, so that connections are kept
 * alive between requests, with TLS certificates verified (libcurl's
 * default, never turned off); buffers wiped when freed; the cleaning of
 * a gateway's text. An error message never carries the code, the body or
 * the URL (which may hold credentials).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sms/provider.h"

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

int
http_url_ok(const char *url)
{
	return (strncmp(url, "http://", 7) == 0 && url[7] != '\0') ||
	    (strncmp(url, "https://", 8) == 0 && url[8] != '\0');
}

int
http_origin(const char *url, char *out, size_t outlen)
{
	const char	*host;
	size_t		 n;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return -1;
	n = strcspn(host, "/?#@");
	/* A user part, a query or a path past "/" is no API endpoint. */
	if (n == 0 || n >= outlen || (host[n] != '\0' &&
	    strcmp(host + n, "/") != 0))
		return -1;
	memcpy(out, host, n);
	out[n] = '\0';
	return 0;
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

/* The easy handle is shared by the requests of this process. */
int
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

long
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

void
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

void
wipe_free(char *body)
{
	if (body != NULL) {
		explicit_bzero(body, strlen(body));
		free(body);
	}
}

void
bytes_hex(const unsigned char *in, size_t n, char *out, int upper)
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
	bytes_hex(md, mdlen, out, 0);
	explicit_bzero(md, sizeof(md));
	return 0;
}

char *
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
 * outside_text: every ASCII digit becomes '*': a gateway's text may
 * repeat the mobile or the code it was sent, whole or split by spaces or
 * dashes, so no run of digits passes however short, and an operator loses
 * nothing the provider's error code does not say. A control character (a
 * newline that would forge a log line, an escape) becomes '?'. A whole
 * UTF-8 sequence passes, so Chinese text stays readable; any other byte
 * >= 0x80 (one cut by n, or not UTF-8) becomes '?', so what is stored is
 * valid UTF-8.
 */
void
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

void
gateway_word(const char *s, char *out, size_t outlen)
{
	size_t	 n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-");

	if (n > 0 && n <= SMS_WORD_MAX && s[n] == '\0')
		snprintf(out, outlen, "%s", s);
	else
		outside_text(s, SMS_WORD_MAX, out, outlen);
}

json_t *
gateway_json(const char *what, long http, const char *s, size_t len, int *rc,
    char *err, size_t errlen)
{
	json_t	*j;

	/* A server error: whatever its body says, the gateway may have sent. */
	if (http >= 500) {
		snprintf(err, errlen, "%s: HTTP %ld, server error: delivery "
		    "unknown", what, http);
		*rc = SMS_UNKNOWN;
		return NULL;
	}
	if ((j = json_loadb(s, len, 0, NULL)) != NULL && json_is_object(j))
		return j;
	json_decref(j);
	/* A success we cannot read: it may have sent. */
	if (http >= 200 && http <= 299) {
		snprintf(err, errlen, "%s: HTTP %ld, reply is not a JSON "
		    "object: delivery unknown", what, http);
		*rc = SMS_UNKNOWN;
		return NULL;
	}
	snprintf(err, errlen, "%s: HTTP %ld, reply is not a JSON object", what,
	    http);
	*rc = SMS_REFUSED;
	return NULL;
}

/* The one place a provider is named: sms_provider's values are its rows. */
static const struct provider providers[] = {
	[SMS_LOG] = { "log", log_open, log_send, log_close },
	[SMS_CCP] = { "ccp", ccp_open, ccp_send, http_close },
	[SMS_WEBHOOK] = { "webhook", webhook_open, webhook_send,
	    http_close },
	[SMS_ALIYUN] = { "aliyun", aliyun_open, aliyun_send, http_close },
	[SMS_TENCENT] = { "tencent", tencent_open, tencent_send,
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
