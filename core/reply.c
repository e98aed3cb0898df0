/*
 * Replies in each dialect's JSON shape.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "sms/sms.h"

/*
 * One row per outcome: its word (the request log's and the metrics'),
 * meiduo number, ihome/news string, zh and en text, then the HTTP status:
 * app (1) for an application outcome, which the JSON routes answer with
 * 200 and the image routes with status; 0 for one every route answers
 * with status.
 */
static const struct {
	const char	*word;
	int		 meiduo;
	const char	*ihome;
	const char	*zh;
	const char	*en;
	int		 app;
	int		 status;
} outcomes[R_COUNT] = {
	[R_SENT] =		{ "sent",
				  0,    "0",    "发送短信成功",
				  "SMS code sent", 1, 200 },
	[R_VERIFIED] =		{ "verified",
				  0,    "0",    "短信验证码正确",
				  "SMS code verified", 1, 200 },
	[R_IMAGE_EXPIRED] =	{ "captcha_expired",
				  4001, "4002", "图形验证码失效",
				  "Image code expired", 1, 200 },
	[R_IMAGE_WRONG] =	{ "captcha_wrong",
				  4001, "4103", "输入图形验证码有误",
				  "Image code is wrong", 1, 200 },
	[R_THROTTLE_INTERVAL] =	{ "interval",
				  4002, "4201", "发送短信过于频繁",
				  "SMS requested too often", 1, 200 },
	[R_THROTTLE_DAILY] =	{ "daily",
				  4002, "4201", "今日短信发送次数已达上限",
				  "Daily SMS limit reached for this number",
				  1, 200 },
	[R_THROTTLE_IP] =	{ "ip",
				  4002, "4201", "请求过于频繁，请稍后再试",
				  "Too many requests from this address",
				  1, 200 },
	[R_THROTTLE_BLOCK] =	{ "block",
				  4002, "4201", "该号段请求过于频繁，请稍后再试",
				  "Too many SMS to this number range",
				  1, 200 },
	[R_THROTTLE_BUDGET] =	{ "budget",
				  4002, "4201", "短信发送繁忙，请稍后再试",
				  "SMS sending is busy, try again later",
				  1, 200 },
	[R_FRAUD_NET] =		{ "fnet",
				  4002, "4201", "该网络未验证的短信过多，请稍后再试",
				  "Too many unverified SMS codes from this "
				  "network", 1, 200 },
	[R_FRAUD_BLOCK] =	{ "fblock",
				  4002, "4201", "该号段未验证的短信过多，请稍后再试",
				  "Too many unverified SMS codes to this number "
				  "range", 1, 200 },
	[R_FRAUD_UNTRUSTED] =	{ "funtrusted",
				  4002, "4201", "新用户短信发送繁忙，请稍后再试",
				  "SMS for new visitors is busy, try again "
				  "later", 1, 200 },
	[R_MISSING] =		{ "missing",
				  4003, "4002", "缺少必传参数",
				  "A required parameter is missing", 1, 400 },
	[R_MOBILE] =		{ "bad_mobile",
				  4007, "4004", "手机号格式错误",
				  "Invalid mobile number", 1, 200 },
	[R_SMSCODE] =		{ "sms_code_wrong",
				  4008, "4004", "短信验证码错误或已失效",
				  "SMS code is wrong or expired", 1, 200 },
	[R_DB] =		{ "store_down",
				  5000, "4001", "数据库错误",
				  "Storage unavailable", 1, 503 },
	[R_PARAM] =		{ "bad_param",
				  5006, "4103", "参数错误",
				  "Malformed parameter", 1, 400 },
	[R_SEND] =		{ "send_failed",
				  5010, "4301", "发送短信失败",
				  "Failed to send SMS", 1, 200 },
	[R_SEND_UNKNOWN] =	{ "send_unknown",
				  5010, "4301", "短信发送结果未知，请一分钟后再试",
				  "SMS delivery uncertain; try again in a minute",
				  1, 200 },
	[R_INTERNAL] =		{ "internal",
				  5000, "4500", "服务器内部错误",
				  "Internal error", 0, 500 },
	[R_NOTFOUND] =		{ "not_found",
				  5006, "4103", "接口不存在",
				  "No such route", 0, 404 },
	[R_METHOD] =		{ "bad_method",
				  5006, "4103", "请求方法不允许",
				  "Method not allowed", 0, 405 },
	[R_TOOLARGE] =		{ "too_large",
				  5006, "4103", "请求体过大",
				  "Request body too large", 0, 413 },
	[R_TOOLONG] =		{ "too_long",
				  5006, "4103", "请求路径过长",
				  "Request path too long", 0, 414 },
	[R_MEDIATYPE] =		{ "bad_type",
				  5006, "4103", "请求体须为 JSON",
				  "Request body must be application/json",
				  0, 415 },
	[R_UNAUTHORIZED] =	{ "unauthorized",
				  4101, "4101", "未授权",
				  "Unauthorized", 0, 401 },
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
	char	*s;
	size_t	 n = 0;

	if ((s = sms_json_dump(j, &n)) == NULL) {
		/* Out of memory: a bodiless 500 needs no allocation. */
		reply_bytes(h, 500, "application/json", NULL, 0);
		return;
	}
	reply_bytes(h, status, "application/json", (unsigned char *)s, n);
}

void
reply_outcome(struct hreq *h, enum outcome o)
{
	const char	*msg = h->ctx->cfg->lang == VC_LANG_EN ?
	    outcomes[o].en : outcomes[o].zh;
	int		 status = h->app_200 && outcomes[o].app ? 200 :
	    outcomes[o].status;

	h->resp->outcome = outcomes[o].word;
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
