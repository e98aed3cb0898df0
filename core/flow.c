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

	if (key_make(key, keys->captcha, "", id->val) == -1) {
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

		if (key_make(prekey, keys->captcha, "", pre->val) == 0 &&
		    strcmp(prekey, key) != 0 &&
		    store_del(h->ctx->store, prekey) == -1)
			goto dberr;
	}
	/* The answer is on its way to Redis while the challenge is drawn;
	 * nothing is served before Redis has taken it. */
	if (store_put_send(h->ctx->store, key, answer, cfg->captcha_ttl) == -1)
		goto dberr;
	if (kind == CH_IMAGE)
		rc = render_png(h->ctx->render, text, &body, &len);
	else
		rc = render_wav(h->ctx->audio, answer,
		    (lang->state == FIELD_OK ? strcmp(lang->val, "en") == 0 :
		    cfg->lang == VC_LANG_EN) ? RENDER_LANG_EN : RENDER_LANG_ZH,
		    &body, &len);
	if (store_put_wait(h->ctx->store) == -1) {
		if (rc == 0)
			free(body);
		goto dberr;
	}
	if (rc == -1) {
		log_error("%s: %s failed", __func__, kind == CH_IMAGE ?
		    "render" : "audio");
		reply_outcome(h, R_INTERNAL);
	} else {
		reply_bytes(h, 200, kind == CH_IMAGE ? "image/png" :
		    "audio/wav", body, len);
		h->resp->outcome = kind == CH_IMAGE ? "captcha" : "audio";
		metrics_captcha(h->dialect, kind == CH_AUDIO);
	}
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
	[STORE_SMS_FRAUD_NET] =	{ R_FRAUD_NET,		"unverified network" },
	[STORE_SMS_FRAUD_BLOCK] = { R_FRAUD_BLOCK,	"unverified block" },
	[STORE_SMS_FRAUD_UNTRUSTED] = { R_FRAUD_UNTRUSTED,
						"untrusted share spent" },
	[STORE_SMS_RECORD_NET] = { R_SENT,		"unverified network" },
	[STORE_SMS_RECORD_BLOCK] = { R_SENT,		"unverified block" },
	[STORE_SMS_RECORD_UNTRUSTED] = { R_SENT,	"untrusted share spent" },
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
 * sms_keys: the keys of a request for mobile from the client at ip with
 * captcha id, into q: the counters on the national number (one phone,
 * one identity, whatever the spelling), the legacy keys as the mobile was
 * sent. 0, or -1 when one does not fit.
 */
static int
sms_keys(struct hreq *h, const char *mobile, const char *id,
    struct store_sms *q)
{
	const struct vc_config	*cfg = h->ctx->cfg;
	const struct vc_keys	*keys = &cfg->keys[h->dialect];
	const char		*p = cfg->key_prefix;
	const char		*ip = h->resp->client;	/* vc_handle's walk */
	char			 net[VC_IP_MAX];
	char			 national[VC_MOBILE_MAX + 1];
	char			 block[VC_PREFIX_MAX + 1];

	mobile_canonical(h->ctx->mobile, cfg->country_code, mobile, national,
	    sizeof(national));
	client_net(ip, net, sizeof(net));
	snprintf(block, sizeof(block), "%.*s", cfg->prefix_digits, national);
	memcpy(q->outbox_key, h->ctx->outbox.stream, sizeof(q->outbox_key));
	return key_make(q->flag_key, keys->flag, "", mobile) == -1 ||
	    key_make(q->fnet_key, p, KEY_FNET, net) == -1 ||
	    key_make(q->fblock_key, p, KEY_FBLOCK, block) == -1 ||
	    key_make(q->fpool_key, p, KEY_FPOOL, "") == -1 ||
	    key_make(q->fmobile_key, p, KEY_FMOBILE, national) == -1 ||
	    key_make(q->fseen_key, p, KEY_FSEEN, net) == -1 ||
	    key_make(q->farmed_key, p, KEY_FARMED, "") == -1 ||
	    key_make(q->fstats_key, p, KEY_FSTATS, "") == -1 ||
	    key_make(q->interval_key, p, KEY_INTERVAL, national) == -1 ||
	    key_make(q->daily_key, p, KEY_DAILY, national) == -1 ||
	    key_make(q->ip_key, p, KEY_IP, ip) == -1 ||
	    key_make(q->block_key, p, KEY_BLOCK, block) == -1 ||
	    key_make(q->budget_key, p, KEY_BUDGET, "") == -1 ||
	    key_make(q->captcha_key, keys->captcha, "", id) == -1 ||
	    key_make(q->code_key, keys->sms, "", mobile) == -1 ||
	    key_make(q->attempts_key, p, KEY_VERIFY, q->code_key) == -1 ||
	    key_make(q->fcode_key, p, KEY_FCODE, q->code_key) == -1 ? -1 : 0;
}

/*
 * deliver: hands the message of a request the store has accepted (q) to
 * the delivery step. Queued, the store step has appended it to the
 * outbox already (a sender sends it); inline, the provider now. A
 * definite refusal undoes the store step so the user may try again at
 * once; a delivery whose fate is unknown (sent, no answer) keeps it, so a
 * slow gateway cannot be made to send past the limits. The one place
 * delivery is chosen; the outcome to answer is returned.
 */
static enum outcome
deliver(struct hreq *h, const struct store_sms *q, const char *mobile,
    const char *masked, const char *code)
{
	char	 err[VC_ERR_MAX];

	if (h->ctx->cfg->sms_delivery == VC_DELIVER_QUEUE) {
		log_info("sms code queued for %s (%s)", masked,
		    dialect_names[h->dialect]);
		metrics_delivery(h->dialect, MD_QUEUED);
		return R_SENT;
	}
	switch (sms_send(h->ctx->sms, mobile, code, code_minutes(h->ctx->cfg),
	    err, sizeof(err))) {
	case SMS_SENT:
		break;
	case SMS_UNKNOWN:
		/* The gateway may be sending it: the limits stand. */
		log_warn("%s: delivery to %s unknown, counted as sent: %s",
		    __func__, masked, err);
		metrics_delivery(h->dialect, MD_UNKNOWN);
		return R_SEND_UNKNOWN;
	default:
		log_error("%s: sending to %s refused, rolled back: %s",
		    __func__, masked, err);
		if (store_sms_rollback(h->ctx->store, q) == -1)
			log_error("%s: rollback: %s", __func__,
			    store_strerror(h->ctx->store));
		metrics_delivery(h->dialect, MD_FAILED);
		return R_SEND;
	}
	metrics_delivery(h->dialect, MD_SENT);
	log_info("sms code sent to %s (%s)", masked, dialect_names[h->dialect]);
	return R_SENT;
}

/*
 * code_value: what is stored of code for mobile into out (VC_HMAC_HEX);
 * -1 after answering INTERNAL: the same failure, one answer, in every
 * flow.
 */
static int
code_value(struct hreq *h, const char *mobile, const char *code, char *out)
{
	if (sms_code_value(h->ctx->cfg, mobile, code, out, VC_HMAC_HEX) == 0)
		return 0;
	log_error("%s: cannot make the stored form of a code", __func__);
	reply_outcome(h, R_INTERNAL);
	return -1;
}

void
flow_sms(struct hreq *h)
{
	const struct vc_config	*cfg = h->ctx->cfg;
	struct store_sms	 q;
	const char		*mobile = h->f[SMS_MOBILE].val;
	char			*text = h->f[SMS_TEXT].val;
	const char		*masked = h->resp->mobile;	/* logged too */
	char			 code[VC_SMS_CODE_MAX + 1];
	char			 stored[VC_HMAC_HEX];
	enum outcome		 o;
	int			 rc;

	memset(&q, 0, sizeof(q));
	if (sms_keys(h, mobile, h->f[SMS_ID].val, &q) == -1) {
		reply_outcome(h, R_PARAM);
		return;
	}
	if (cfg->sms_delivery != VC_DELIVER_QUEUE &&
	    ctx_need(h, PART_SMS) == -1)
		return;
	if (rand_digits(code, sizeof(code), cfg->sms_code_length) == -1) {
		log_error("%s: no randomness for a code", __func__);
		reply_outcome(h, R_INTERNAL);
		return;
	}
	if (code_value(h, mobile, code, stored) == -1)
		goto out;
	text_fold(text);
	q.limits = h->ctx->limits;
	q.answer = text;
	q.code_value = stored;
	q.mobile = mobile;
	q.code = code;
	q.dialect = dialect_names[h->dialect];
	q.queued_ms = now_ms();
	q.expires = q.queued_ms / 1000 + cfg->sms_code_ttl;
	q.bucket = q.queued_ms / 1000 / cfg->hour_seconds;
	mobile_mask(mobile, h->resp->mobile, sizeof(h->resp->mobile));

	if ((rc = store_sms_request(h->ctx->store, &q)) < 0) {
		log_error("%s: %s", __func__, store_strerror(h->ctx->store));
		reply_outcome(h, R_DB);
		goto out;
	}
	metrics_sms(h->dialect, rc);
	if (rc == STORE_SMS_QUEUE_FULL)
		log_warn("outbox holds sms_queue_max = %d messages: refusing "
		    "SMS requests until the senders catch up",
		    cfg->sms_queue_max);
	if (rc == STORE_SMS_BUDGET)
		log_warn("sms budget of %d an hour is spent: refusing every "
		    "SMS request", cfg->sms_hourly_budget);
	if (sms_results[rc].outcome != R_SENT) {
		log_info("sms refused for %s (%s): %s", masked,
		    dialect_names[h->dialect], sms_results[rc].label);
		reply_outcome(h, sms_results[rc].outcome);
		goto out;
	}
	o = deliver(h, &q, mobile, masked, code);
	if (rc != STORE_SMS_OK)
		log_info("sms for %s (%s) %s; fraud guard (%s) would refuse: "
		    "%s", masked, dialect_names[h->dialect], o == R_SEND ?
		    "not sent" : "sent", cfg->fraud_guard == VC_FRAUD_RECORD ?
		    "record" : "not armed", sms_results[rc].label);
	reply_outcome(h, o);
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
	const char		*masked = h->resp->mobile;	/* logged too */
	char			 stored[VC_HMAC_HEX];
	char			 code_key[VC_KEY_MAX], attempts_key[VC_KEY_MAX];
	char			 fcode_key[VC_KEY_MAX];
	struct store_credit	 cr;
	int			 rc;

	if (key_make(code_key, keys->sms, "", mobile) == -1 ||
	    key_make(attempts_key, cfg->key_prefix, KEY_VERIFY, code_key) ==
	    -1 || key_make(fcode_key, cfg->key_prefix, KEY_FCODE, code_key) ==
	    -1) {
		reply_outcome(h, R_PARAM);
		goto out;
	}
	if (code_value(h, mobile, code, stored) == -1)
		goto out;
	mobile_mask(mobile, h->resp->mobile, sizeof(h->resp->mobile));
	cr.on = cfg->fraud_guard != VC_FRAUD_OFF;
	cr.fcode_key = fcode_key;
	cr.now = now_ms() / 1000;
	cr.bucket = cr.now / cfg->hour_seconds;
	cr.trust = h->ctx->limits.trust;
	cr.window_keep = h->ctx->limits.window_keep;
	rc = store_verify(h->ctx->store, code_key, attempts_key, stored,
	    cfg->verify_attempts, cfg->sms_code_ttl, &cr);
	if (rc < 0) {
		log_error("%s: %s", __func__, store_strerror(h->ctx->store));
		reply_outcome(h, R_DB);
	} else {
		log_info("sms code for %s: %s", masked,
		    verify_results[rc].label);
		metrics_verify(h->dialect, rc);
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
	h->resp->outcome = up ? "ok" : "unavailable";
}
