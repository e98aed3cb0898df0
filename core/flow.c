/*
 * The flows: captcha image and audio, SMS request, verification, health.
 * A handler runs once its route's field table (route.c) has been checked;
 * it asks the store once and answers through reply_outcome().
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "render/render.h"
#include "sms/sms.h"
#include "store/store.h"

struct sms *
sms_from_config(const struct vc_config *cfg, char *err, size_t errlen)
{
	static const enum sms_provider provider_of[] = {
		[VC_PROVIDER_LOG] = SMS_LOG,
		[VC_PROVIDER_CCP] = SMS_CCP,
		[VC_PROVIDER_WEBHOOK] = SMS_WEBHOOK,
	};
	struct sms_options	 o;

	memset(&o, 0, sizeof(o));
	o.provider = provider_of[cfg->sms_provider];
	o.sms_log_file = cfg->sms_log_file;
	o.ccp_base_url = cfg->ccp_base_url;
	o.ccp_account_sid = cfg->ccp_account_sid;
	o.ccp_auth_token = cfg->ccp_auth_token;
	o.ccp_app_id = cfg->ccp_app_id;
	o.ccp_template_id = cfg->ccp_template_id;
	o.webhook_url = cfg->webhook_url;
	o.webhook_secret = cfg->webhook_secret;
	return sms_new(&o, err, errlen);
}

/*
 * ctx_make: makes the parts of ctx named in want that it does not have
 * yet. 0, or -1 with err filled (a configuration error: a font that lacks
 * the alphabet, a provider key missing).
 */
static int
ctx_make(struct vc_ctx *ctx, unsigned want, char *err, size_t errlen)
{
	const struct vc_config	*cfg = ctx->cfg;

	if ((want & PART_RENDER) && ctx->render == NULL) {
		if ((ctx->render = render_new(cfg->captcha_width,
		    cfg->captcha_height, cfg->captcha_font, err, errlen)) == NULL)
			return -1;
		if (captcha_font_check(ctx->render, cfg, err, errlen) == -1 ||
		    (ctx->warm && render_prewarm(ctx->render, err,
		    errlen) == -1)) {
			render_free(ctx->render);
			ctx->render = NULL;
			return -1;
		}
	}
	if ((want & PART_AUDIO) && ctx->audio == NULL &&
	    (ctx->audio = render_audio_new(err, errlen)) == NULL)
		return -1;
	if ((want & PART_SMS) && ctx->sms == NULL &&
	    (ctx->sms = sms_from_config(cfg, err, errlen)) == NULL)
		return -1;
	return 0;
}

struct vc_ctx *
ctx_new(const struct vc_config *cfg, enum vc_ctx_mode mode, char *err,
    size_t errlen)
{
	struct vc_ctx	*ctx;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_wipe_install();
	ctx->cfg = cfg;
	ctx->warm = mode == CTX_WARM;
	if ((ctx->mobile = mobile_compile(cfg->mobile_pattern, err,
	    errlen)) == NULL ||
	    (ctx->store = store_new(cfg->redis, cfg->redis_timeout_ms, err,
	    errlen)) == NULL ||
	    (mode != CTX_LAZY && ctx_make(ctx, mode == CTX_WARM &&
	    cfg->sms_delivery == VC_DELIVER_QUEUE ? PART_ALL & ~PART_SMS :
	    PART_ALL, err, errlen) == -1)) {
		ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void
ctx_free(struct vc_ctx *ctx)
{
	if (ctx == NULL)
		return;
	mobile_free(ctx->mobile);
	store_free(ctx->store);
	render_free(ctx->render);
	render_audio_free(ctx->audio);
	sms_free(ctx->sms);
	free(ctx);
}

/*
 * ctx_need: the parts a handler is about to use, made now if the context
 * was not made up front (CGI). -1 after logging why and answering 500: the
 * request has changed nothing yet.
 */
static int
ctx_need(struct hreq *h, unsigned want)
{
	char	 err[VC_ERR_MAX];

	if (ctx_make(h->ctx, want, err, sizeof(err)) == 0)
		return 0;
	log_error("%s", err);
	reply_outcome(h, R_INTERNAL);
	return -1;
}

/* Writes prefix + name into key; 0, or -1 if it does not fit. */
static int
make_key(char *key, const char *prefix, const char *kind, const char *name)
{
	int	 n;

	n = snprintf(key, VC_KEY_MAX, "%s%s%s", prefix, kind, name);
	return n < 0 || n >= VC_KEY_MAX ? -1 : 0;
}

/* What a captcha route serves: the picture, or the spoken digits. */
enum challenge { CH_IMAGE, CH_AUDIO };

/*
 * captcha_serve: a fresh challenge under the id of the request (path or
 * query), replacing whatever answer the id held, so that one id has one
 * answer and one attempt whichever of image and audio was asked last.
 * An image draws captcha_mode's text; audio draws captcha_audio_length
 * digits and speaks them in lang (query, else the configured lang).
 */
static void
captcha_serve(struct hreq *h, enum challenge kind)
{
	const struct vc_config	*cfg = h->ctx->cfg;
	const struct vc_keys	*keys = &cfg->keys[h->dialect];
	const struct field	*id = &h->f[IMG_ID], *pre = &h->f[IMG_PRE];
	const struct field	*lang = &h->f[IMG_LANG];
	char			 key[VC_KEY_MAX], text[VC_CAPTCHA_ANSWER_MAX];
	char			 answer[VC_CAPTCHA_ANSWER_MAX];
	unsigned char		*body;
	size_t			 len;
	int			 rc;

	if (make_key(key, keys->captcha, "", id->val) == -1) {
		reply_outcome(h, R_PARAM);
		return;
	}
	if (ctx_need(h, kind == CH_IMAGE ? PART_RENDER : PART_AUDIO) == -1)
		return;
	rc = kind == CH_IMAGE ? captcha_draw(cfg, text, sizeof(text), answer,
	    sizeof(answer)) : rand_digits(answer, sizeof(answer),
	    cfg->captcha_audio_length);
	if (rc == -1) {
		log_error("%s: no randomness for a captcha", __func__);
		reply_outcome(h, R_INTERNAL);
		goto out;
	}
	if (pre->state == FIELD_OK) {
		char	 prekey[VC_KEY_MAX];

		if (make_key(prekey, keys->captcha, "", pre->val) == 0 &&
		    strcmp(prekey, key) != 0 &&
		    store_del(h->ctx->store, prekey) == -1)
			goto dberr;
	}
	if (store_put(h->ctx->store, key, answer, cfg->captcha_ttl) == -1)
		goto dberr;
	if (kind == CH_IMAGE)
		rc = render_png(h->ctx->render, text, &body, &len);
	else
		rc = render_wav(h->ctx->audio, answer,
		    (lang->state == FIELD_OK ? strcmp(lang->val, "en") == 0 :
		    cfg->lang == VC_LANG_EN) ? RENDER_LANG_EN : RENDER_LANG_ZH,
		    &body, &len);
	if (rc == -1) {
		log_error("%s: %s failed", __func__, kind == CH_IMAGE ?
		    "render" : "audio");
		reply_outcome(h, R_INTERNAL);
	} else
		reply_bytes(h, 200, kind == CH_IMAGE ? "image/png" :
		    "audio/wav", body, len);
	goto out;
dberr:
	log_error("%s: %s", __func__, store_strerror(h->ctx->store));
	reply_outcome(h, R_DB);
out:
	explicit_bzero(text, sizeof(text));
	explicit_bzero(answer, sizeof(answer));
}

void
flow_image(struct hreq *h)
{
	captcha_serve(h, CH_IMAGE);
}

void
flow_audio(struct hreq *h)
{
	captcha_serve(h, CH_AUDIO);
}

/*
 * What a store step can answer, one row each: the outcome the client
 * sees (in its dialect, reply.c) and the word of the log line. A new
 * result is a new enum value in store.h and a row here.
 */
struct result_row {
	enum outcome	 outcome;
	const char	*label;
};
static const struct result_row sms_results[STORE_SMS_RESULTS] = {
	[STORE_SMS_OK] =	{ R_SENT,		"sent" },
	[STORE_SMS_INTERVAL] =	{ R_THROTTLE_INTERVAL,	"interval" },
	[STORE_SMS_DAILY] =	{ R_THROTTLE_DAILY,	"daily limit" },
	[STORE_SMS_IP] =	{ R_THROTTLE_IP,	"ip limit" },
	[STORE_SMS_NOCAPTCHA] =	{ R_IMAGE_EXPIRED,	"captcha expired" },
	[STORE_SMS_WRONG] =	{ R_IMAGE_WRONG,	"captcha wrong" },
	[STORE_SMS_BLOCK] =	{ R_THROTTLE_BLOCK,	"number block limit" },
	[STORE_SMS_BUDGET] =	{ R_THROTTLE_BUDGET,	"hourly budget spent" },
	[STORE_SMS_QUEUE_FULL] = { R_SEND,		"outbox full" },
};
static const struct result_row verify_results[STORE_VERIFY_RESULTS] = {
	[STORE_VERIFY_OK] =	{ R_VERIFIED,		"verified" },
	[STORE_VERIFY_MISSING] = { R_SMSCODE,		"no code" },
	[STORE_VERIFY_WRONG] =	{ R_SMSCODE,		"wrong" },
	[STORE_VERIFY_BURNED] =	{ R_SMSCODE,		"wrong, code burned" },
};

int
flow_tables_complete(void)
{
	size_t	 i;

	for (i = 0; i < STORE_SMS_RESULTS; i++)
		if (sms_results[i].label == NULL)
			return 0;
	for (i = 0; i < STORE_VERIFY_RESULTS; i++)
		if (verify_results[i].label == NULL)
			return 0;
	return 1;
}

/*
 * deliver: hands the message of a request the store has accepted (q) to
 * the delivery step. Queued, the store step has appended it to the
 * outbox already (a sender sends it); inline, the provider now. A
 * definite refusal undoes
 * the store step so the user may try again at once; a delivery whose fate
 * is unknown (sent, no answer) keeps it, so a slow gateway cannot be made
 * to send past the limits. The one place delivery is chosen; the outcome
 * to answer is returned.
 */
static enum outcome
deliver(struct hreq *h, const struct store_sms *q, const char *mobile,
    const char *masked, const char *code)
{
	const struct vc_config	*cfg = h->ctx->cfg;
	char			 err[VC_ERR_MAX];

	if (q->queue != NULL) {
		log_info("sms code queued for %s (%s)", masked,
		    dialect_names[h->dialect]);
		return R_SENT;
	}
	switch (sms_send(h->ctx->sms, mobile, code,
	    (cfg->sms_code_ttl + 59) / 60, err, sizeof(err))) {
	case SMS_SENT:
		break;
	case SMS_UNKNOWN:
		/* The gateway may be sending it: the limits stand. */
		log_warn("%s: delivery to %s unknown, counted as sent: %s",
		    __func__, masked, err);
		return R_SEND_UNKNOWN;
	default:
		log_error("%s: sending to %s refused, rolled back: %s",
		    __func__, masked, err);
		if (store_sms_rollback(h->ctx->store, q) == -1)
			log_error("%s: rollback: %s", __func__,
			    store_strerror(h->ctx->store));
		return R_SEND;
	}
	log_info("sms code sent to %s (%s)", masked, dialect_names[h->dialect]);
	return R_SENT;
}

void
flow_sms(struct hreq *h)
{
	const struct vc_config	*cfg = h->ctx->cfg;
	const struct vc_keys	*keys = &cfg->keys[h->dialect];
	struct store_sms	 q;
	struct store_msg_out	 out;
	const char		*mobile = h->f[SMS_MOBILE].val;
	const char		*id = h->f[SMS_ID].val;
	char			*text = h->f[SMS_TEXT].val;
	char			 masked[24];
	char			 ip[VC_IP_MAX], code[VC_SMS_CODE_MAX + 1];
	char			 stored[VC_HMAC_HEX];
	char			 flag_key[VC_KEY_MAX], daily_key[VC_KEY_MAX];
	char			 ip_key[VC_KEY_MAX], captcha_key[VC_KEY_MAX];
	char			 code_key[VC_KEY_MAX], attempts_key[VC_KEY_MAX];
	char			 interval_key[VC_KEY_MAX], block_key[VC_KEY_MAX];
	char			 budget_key[VC_KEY_MAX], block[VC_PREFIX_MAX + 1];
	char			 national[VC_MOBILE_MAX + 1];
	char			 outbox_key[VC_KEY_MAX];
	int			 rc, queued = cfg->sms_delivery == VC_DELIVER_QUEUE;

	/* Counters on the national number; the legacy keys as sent. */
	mobile_canonical(h->ctx->mobile, cfg->country_code, mobile, national,
	    sizeof(national));
	client_ip(cfg, h->req, ip, sizeof(ip));
	snprintf(block, sizeof(block), "%.*s", cfg->prefix_digits, national);
	if (make_key(flag_key, keys->flag, "", mobile) == -1 ||
	    make_key(interval_key, cfg->key_prefix, "interval:", national) ==
	    -1 ||
	    make_key(daily_key, cfg->key_prefix, "daily:", national) == -1 ||
	    make_key(ip_key, cfg->key_prefix, "ip:", ip) == -1 ||
	    make_key(block_key, cfg->key_prefix, "block:", block) == -1 ||
	    make_key(budget_key, cfg->key_prefix, "budget", "") == -1 ||
	    make_key(captcha_key, keys->captcha, "", id) == -1 ||
	    make_key(code_key, keys->sms, "", mobile) == -1 ||
	    make_key(attempts_key, cfg->key_prefix, "verify:", code_key) ==
	    -1 || make_key(outbox_key, cfg->key_prefix, "outbox", "") == -1) {
		reply_outcome(h, R_PARAM);
		return;
	}
	if (!queued && ctx_need(h, PART_SMS) == -1)
		return;
	if (rand_digits(code, sizeof(code), cfg->sms_code_length) == -1 ||
	    sms_code_value(cfg, mobile, code, stored, sizeof(stored)) == -1) {
		log_error("%s: no randomness for a code", __func__);
		reply_outcome(h, R_INTERNAL);
		return;
	}
	text_fold(text);
	memset(&q, 0, sizeof(q));
	q.flag_key = flag_key;
	q.interval_key = interval_key;
	q.block_key = block_key;
	q.budget_key = budget_key;
	q.block_limit = cfg->prefix_hourly_limit;
	q.budget_limit = cfg->sms_hourly_budget;
	q.daily_key = daily_key;
	q.ip_key = ip_key;
	q.captcha_key = captcha_key;
	q.code_key = code_key;
	q.attempts_key = attempts_key;
	q.answer = text;
	q.code_value = stored;
	q.code_ttl = cfg->sms_code_ttl;
	q.interval = cfg->sms_interval;
	q.daily_limit = cfg->sms_daily_limit;
	q.ip_limit = cfg->ip_hourly_limit;
	q.daily_window = VC_DAY_WINDOW;
	q.ip_window = VC_IP_WINDOW;
	if (queued) {
		memset(&out, 0, sizeof(out));
		out.outbox_key = outbox_key;
		out.queue_max = cfg->sms_queue_max;
		out.mobile = mobile;
		out.code = code;
		out.dialect = dialect_names[h->dialect];
		out.minutes = (cfg->sms_code_ttl + 59) / 60;
		out.queued_ms = now_ms();
		out.expires = out.queued_ms / 1000 + cfg->sms_code_ttl;
		out.keep = cfg->sms_code_ttl + VC_OUTBOX_MARGIN;
		q.queue = &out;
	}
	mobile_mask(mobile, masked, sizeof(masked));

	rc = store_sms_request(h->ctx->store, &q);
	if (rc < 0) {
		log_error("%s: %s", __func__, store_strerror(h->ctx->store));
		reply_outcome(h, R_DB);
		goto out;
	}
	if (rc == STORE_SMS_QUEUE_FULL)
		log_warn("outbox holds sms_queue_max = %d messages: refusing "
		    "SMS requests until the senders catch up",
		    cfg->sms_queue_max);
	if (rc == STORE_SMS_BUDGET)
		log_warn("sms budget of %d an hour is spent: refusing every "
		    "SMS request", cfg->sms_hourly_budget);
	if (rc != STORE_SMS_OK) {
		log_info("sms refused for %s (%s): %s", masked,
		    dialect_names[h->dialect], sms_results[rc].label);
		reply_outcome(h, sms_results[rc].outcome);
		goto out;
	}
	reply_outcome(h, deliver(h, &q, mobile, masked, code));
out:
	explicit_bzero(code, sizeof(code));
	explicit_bzero(stored, sizeof(stored));
}

void
flow_verify(struct hreq *h)
{
	const struct vc_config	*cfg = h->ctx->cfg;
	const struct vc_keys	*keys = &cfg->keys[h->dialect];
	const char		*mobile = h->f[VER_MOBILE].val;
	const char		*code = h->f[VER_CODE].val;
	char			 masked[24], stored[VC_HMAC_HEX];
	char			 code_key[VC_KEY_MAX], attempts_key[VC_KEY_MAX];
	int			 rc;

	if (sms_code_value(cfg, mobile, code, stored, sizeof(stored)) == -1 ||
	    make_key(code_key, keys->sms, "", mobile) == -1 ||
	    make_key(attempts_key, cfg->key_prefix, "verify:", code_key) ==
	    -1) {
		reply_outcome(h, R_PARAM);
		goto out;
	}
	mobile_mask(mobile, masked, sizeof(masked));
	rc = store_verify(h->ctx->store, code_key, attempts_key, stored,
	    cfg->verify_attempts, cfg->sms_code_ttl);
	if (rc < 0) {
		log_error("%s: %s", __func__, store_strerror(h->ctx->store));
		reply_outcome(h, R_DB);
	} else {
		log_info("sms code for %s: %s", masked,
		    verify_results[rc].label);
		reply_outcome(h, verify_results[rc].outcome);
	}
out:
	explicit_bzero(stored, sizeof(stored));
}

void
flow_healthz(struct hreq *h)
{
	int	 up = store_writable(h->ctx->store) == 0;

	if (!up)
		log_warn("%s: %s", __func__, store_strerror(h->ctx->store));
	reply_json(h, up ? 200 : 503, json_pack("{s:s}", "status",
	    up ? "ok" : "unavailable"));
}
