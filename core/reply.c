/*
 * Replies in each dialect's JSON shape, and the small parsers of request
 * parts (query string, client address) that handlers share.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* One row per outcome: meiduo number, ihome/news string, zh and en text. */
static const struct {
	int		 meiduo;
	const char	*ihome;
	const char	*zh;
	const char	*en;
} outcomes[R_COUNT] = {
	[R_SENT] =		{ 0,    "0",    "发送短信成功",
				  "SMS code sent" },
	[R_VERIFIED] =		{ 0,    "0",    "短信验证码正确",
				  "SMS code verified" },
	[R_IMAGE_EXPIRED] =	{ 4001, "4002", "图形验证码失效",
				  "Image code expired" },
	[R_IMAGE_WRONG] =	{ 4001, "4103", "输入图形验证码有误",
				  "Image code is wrong" },
	[R_THROTTLE_INTERVAL] =	{ 4002, "4201", "发送短信过于频繁",
				  "SMS requested too often" },
	[R_THROTTLE_DAILY] =	{ 4002, "4201", "今日短信发送次数已达上限",
				  "Daily SMS limit reached for this number" },
	[R_THROTTLE_IP] =	{ 4002, "4201", "请求过于频繁，请稍后再试",
				  "Too many requests from this address" },
	[R_MISSING] =		{ 4003, "4002", "缺少必传参数",
				  "A required parameter is missing" },
	[R_MOBILE] =		{ 4007, "4004", "手机号格式错误",
				  "Invalid mobile number" },
	[R_SMSCODE] =		{ 4008, "4004", "短信验证码错误或已失效",
				  "SMS code is wrong or expired" },
	[R_DB] =		{ 5000, "4001", "数据库错误",
				  "Storage unavailable" },
	[R_PARAM] =		{ 5006, "4103", "参数错误",
				  "Malformed parameter" },
	[R_SEND] =		{ 5010, "4301", "发送短信失败",
				  "Failed to send SMS" },
	[R_INTERNAL] =		{ 5000, "4500", "服务器内部错误",
				  "Internal error" },
	[R_NOTFOUND] =		{ 5006, "4103", "接口不存在",
				  "No such route" },
	[R_METHOD] =		{ 5006, "4103", "请求方法不允许",
				  "Method not allowed" },
	[R_TOOLARGE] =		{ 5006, "4103", "请求体过大",
				  "Request body too large" },
	[R_TOOLONG] =		{ 5006, "4103", "请求路径过长",
				  "Request path too long" },
	[R_MEDIATYPE] =		{ 5006, "4103", "请求体须为 JSON",
				  "Request body must be application/json" },
	[R_UNAUTHORIZED] =	{ 4101, "4101", "未授权",
				  "Unauthorized" },
};

void
reply_bytes(struct hreq *h, int status, const char *type, unsigned char *body,
    size_t len)
{
	free(h->resp->body);
	h->resp->status = status;
	h->resp->content_type = type;
	h->resp->body = body;
	h->resp->body_len = len;
}

void
reply_json(struct hreq *h, int status, json_t *j)
{
	char	*s = NULL;

	if (j != NULL)
		s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL) {
		/* Out of memory: a fixed reply needs no allocation. */
		h->resp->status = 500;
		h->resp->content_type = "application/json";
		h->resp->body = NULL;
		h->resp->body_len = 0;
		return;
	}
	reply_bytes(h, status, "application/json", (unsigned char *)s,
	    strlen(s));
}

void
reply_outcome(struct hreq *h, int status, enum outcome o)
{
	const char	*msg = h->ctx->cfg->lang == VC_LANG_EN ?
	    outcomes[o].en : outcomes[o].zh;

	if (h->dialect == VC_MEIDUO)
		reply_json(h, status, json_pack("{s:i, s:s}",
		    "code", outcomes[o].meiduo, "errmsg", msg));
	else
		reply_json(h, status, json_pack("{s:s, s:s}",
		    "errno", outcomes[o].ihome, "errmsg", msg));
}

void
response_clear(struct vc_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
query_get(const char *query, const char *name, char *out, size_t outlen)
{
	const char	*p = query, *end;
	size_t		 nlen = strlen(name), o;
	int		 hi, lo;

	if (query == NULL)
		return 0;
	while (*p != '\0') {
		end = p + strcspn(p, "&");
		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			for (o = 0, p += nlen + 1; p < end; p++) {
				if (o + 1 >= outlen)
					return -1;
				if (*p == '+')
					out[o++] = ' ';
				else if (*p != '%')
					out[o++] = *p;
				else {
					if (end - p < 3)
						return -1;
					hi = hexval((unsigned char)p[1]);
					lo = hi < 0 ? -1 :
					    hexval((unsigned char)p[2]);
					if (lo < 0 || (hi == 0 && lo == 0))
						return -1;
					out[o++] = (char)(hi << 4 | lo);
					p += 2;
				}
			}
			out[o] = '\0';
			return 1;
		}
		if ((size_t)(end - p) == nlen && strncmp(p, name, nlen) == 0) {
			out[0] = '\0';	/* "name" with no '=': empty */
			return 1;
		}
		p = *end == '&' ? end + 1 : end;
	}
	return 0;
}

/* 1 when addr (printable) is one of the configured trusted proxies. */
static int
trusted(const char *list, const char *addr)
{
	unsigned char	 a[16], b[16];
	char		 item[VC_IP_MAX];
	size_t		 n;
	int		 fa, fb;

	fa = inet_pton(AF_INET, addr, a) == 1 ? AF_INET :
	    inet_pton(AF_INET6, addr, a) == 1 ? AF_INET6 : 0;
	if (fa == 0)
		return 0;
	while (*list != '\0') {
		list += strspn(list, " \t,");
		n = strcspn(list, " \t,");
		if (n == 0)
			break;
		if (n < sizeof(item)) {
			memcpy(item, list, n);
			item[n] = '\0';
			fb = inet_pton(AF_INET, item, b) == 1 ? AF_INET :
			    inet_pton(AF_INET6, item, b) == 1 ? AF_INET6 : 0;
			if (fb == fa && memcmp(a, b, fa == AF_INET ? 4 : 16)
			    == 0)
				return 1;
		}
		list += n;
	}
	return 0;
}

/* 1 when s is a printable IPv4 or IPv6 address. */
static int
is_ip(const char *s)
{
	unsigned char	 b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

void
client_ip(const struct vc_config *cfg, const struct vc_request *req,
    char *out, size_t outlen)
{
	const char	*xff = req->forwarded_for, *end, *start;
	char		 hop[VC_IP_MAX];
	size_t		 n;

	snprintf(out, outlen, "%s", req->remote_addr != NULL &&
	    req->remote_addr[0] != '\0' ? req->remote_addr : "unknown");
	if (xff == NULL || cfg->trusted_proxies[0] == '\0' ||
	    !trusted(cfg->trusted_proxies, out))
		return;
	/* Walk X-Forwarded-For right to left past trusted hops. */
	end = xff + strlen(xff);
	while (end > xff) {
		start = end;
		while (start > xff && start[-1] != ',')
			start--;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		n = end - start;
		while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof(hop))
			return;
		memcpy(hop, start, n);
		hop[n] = '\0';
		if (!is_ip(hop))
			return;		/* garbage: keep the last good hop */
		snprintf(out, outlen, "%s", hop);
		if (!trusted(cfg->trusted_proxies, hop))
			return;
		end = start;
		while (end > xff && end[-1] != ',')
			end--;
		if (end > xff)
			end--;		/* step over the comma */
	}
}
