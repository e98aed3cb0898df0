/*
 * The context a worker (or a sender) runs in: the parts made from the
 * configuration (the mobile pattern, the store handle, the renderers, the
 * provider), made up front or on first use as the mode says.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "render/render.h"
#include "sms/sms.h"
#include "store/store.h"

_Static_assert((int)VC_PROVIDER_LOG == (int)SMS_LOG &&
    (int)VC_PROVIDER_CCP == (int)SMS_CCP &&
    (int)VC_PROVIDER_WEBHOOK == (int)SMS_WEBHOOK &&
    (int)VC_PROVIDER_ALIYUN == (int)SMS_ALIYUN &&
    (int)VC_PROVIDER_TENCENT == (int)SMS_TENCENT,
    "sms_provider's values are sms/'s");

enum sms_provider
sms_provider_of(const struct vc_config *cfg)
{
	return (enum sms_provider)cfg->sms_provider;
}

struct sms *
sms_from_config(const struct vc_config *cfg, char *err, size_t errlen)
{
	struct sms_options	 o;

	memset(&o, 0, sizeof(o));
	o.provider = sms_provider_of(cfg);
	o.sms_log_file = cfg->sms_log_file;
	o.ccp_base_url = cfg->ccp_base_url;
	o.ccp_account_sid = cfg->ccp_account_sid;
	o.ccp_auth_token = cfg->ccp_auth_token;
	o.ccp_app_id = cfg->ccp_app_id;
	o.ccp_template_id = cfg->ccp_template_id;
	o.webhook_url = cfg->webhook_url;
	o.webhook_secret = cfg->webhook_secret;
	o.aliyun_access_key_id = cfg->aliyun_access_key_id;
	o.aliyun_access_key_secret = cfg->aliyun_access_key_secret;
	o.aliyun_sign_name = cfg->aliyun_sign_name;
	o.aliyun_template_code = cfg->aliyun_template_code;
	o.aliyun_template_param = cfg->aliyun_template_param;
	o.aliyun_endpoint = cfg->aliyun_endpoint;
	o.aliyun_region = cfg->aliyun_region;
	o.tencent_secret_id = cfg->tencent_secret_id;
	o.tencent_secret_key = cfg->tencent_secret_key;
	o.tencent_sdk_app_id = cfg->tencent_sdk_app_id;
	o.tencent_sign_name = cfg->tencent_sign_name;
	o.tencent_template_id = cfg->tencent_template_id;
	o.tencent_region = cfg->tencent_region;
	o.tencent_endpoint = cfg->tencent_endpoint;
	o.country_code = cfg->country_code;
	return sms_new(&o, err, errlen);
}

/*
 * ctx_make: makes the parts of ctx named in want that it does not have
 * yet. 0, or -1 with err filled (a configuration error: a font that lacks
 * the alphabet, a provider key missing).
 */
int
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

_Static_assert((int)STORE_FRAUD_OFF == (int)VC_FRAUD_OFF &&
    (int)STORE_FRAUD_RECORD == (int)VC_FRAUD_RECORD &&
    (int)STORE_FRAUD_ENFORCE == (int)VC_FRAUD_ENFORCE,
    "fraud_guard's values are the store's");

/*
 * limits_from_config: what every SMS request of cfg is checked against;
 * the outbox's TTL from ob.
 */
static void
limits_from_config(const struct vc_config *cfg, const struct store_outbox *ob,
    struct store_sms_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->code_ttl = cfg->sms_code_ttl;
	l->interval = cfg->sms_interval;
	l->daily_limit = cfg->sms_daily_limit;
	l->ip_limit = cfg->ip_hourly_limit;
	l->block_limit = cfg->prefix_hourly_limit;
	l->budget_limit = cfg->sms_hourly_budget;
	l->hour = cfg->hour_seconds;
	l->daily_window = VC_DAY_WINDOW;
	l->ip_window = cfg->hour_seconds;
	l->fraud = (enum store_fraud)cfg->fraud_guard;
	l->window = cfg->fraud_window;
	l->net_floor = cfg->fraud_net_floor;
	l->net_ratio = cfg->fraud_net_ratio;
	l->block_floor = cfg->fraud_block_floor;
	l->block_ratio = cfg->fraud_block_ratio;
	l->untrusted = (int)((long long)cfg->sms_hourly_budget *
	    cfg->fraud_untrusted_share / 100);
	l->ip_earn = cfg->fraud_ip_earn;
	l->trust = cfg->fraud_trust_days * 86400;
	l->learn = cfg->fraud_learn_hours * cfg->hour_seconds;
	l->window_keep = (cfg->fraud_window + 1) * cfg->hour_seconds;
	if (cfg->sms_delivery == VC_DELIVER_QUEUE) {
		l->queue_max = cfg->sms_queue_max;
		l->minutes = code_minutes(cfg);
		l->keep = ob->keep;
	}
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
	if (store_outbox_init(&ctx->outbox, cfg->key_prefix, cfg->sms_code_ttl,
	    NULL) == -1) {
		snprintf(err, errlen, "key 'key_prefix': too long");
		ctx_free(ctx);
		return NULL;
	}
	limits_from_config(cfg, &ctx->outbox, &ctx->limits);
	if ((ctx->mobile = mobile_compile(cfg->mobile_pattern, err,
	    errlen)) == NULL ||
	    (ctx->store = store_new(cfg->redis, cfg->redis_timeout_ms, err,
	    errlen)) == NULL ||
	    store_sentinels(ctx->store, cfg->redis_sentinels, cfg->redis_master,
	    cfg->redis_sentinel_password, err, errlen) == -1 ||
	    (mode != CTX_LAZY && ctx_make(ctx, mode == CTX_WARM &&
	    cfg->sms_delivery == VC_DELIVER_QUEUE ? PART_ALL & ~PART_SMS :
	    PART_ALL, err, errlen) == -1)) {
		ctx_free(ctx);
		return NULL;
	}
	if (mode != CTX_CHECK)
		metrics_store(ctx->store);
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

void
delivery_describe(const struct vc_config *cfg, FILE *fp)
{
	struct store_outbox	 ob;

	if (cfg->sms_delivery == VC_DELIVER_INLINE) {
		fprintf(fp, "delivery: inline (sent inside the request)\n");
		return;
	}
	/* key_prefix is at most 64 bytes (config.c): the names fit. */
	(void)store_outbox_init(&ob, cfg->key_prefix, cfg->sms_code_ttl, NULL);
	fprintf(fp, "delivery: queue (stream %s, up to %d waiting; %d tries, "
	    "then %s; %d resends of an unknown delivery; senders: %d run by "
	    "vcoded's master%s)\n", ob.stream, cfg->sms_queue_max,
	    cfg->sms_max_tries, ob.dead, cfg->sms_resend_unknown,
	    cfg->smsd_workers, cfg->smsd_workers == 0 ? ", so run vcode-smsd" :
	    "");
}

void
fraud_describe(const struct vc_config *cfg, FILE *fp)
{
	struct store_sms_limits	 l;
	struct store_outbox	 ob;
	char			 mode[128];

	if (cfg->fraud_guard == VC_FRAUD_OFF) {
		fprintf(fp, "fraud guard: off (the fixed limits only)\n");
		return;
	}
	memset(&ob, 0, sizeof(ob));
	limits_from_config(cfg, &ob, &l);
	if (cfg->fraud_guard == VC_FRAUD_RECORD)
		snprintf(mode, sizeof(mode), "record (counts and logs, "
		    "refuses nothing)");
	else
		snprintf(mode, sizeof(mode), "enforce (from %d hours after "
		    "the first verification on; until then as record)",
		    cfg->fraud_learn_hours);
	fprintf(fp, "fraud guard: %s; unverified codes over the last %d "
	    "hours of %d s below max(%d, %d%% of verified) a network, "
	    "max(%d, %d%% of verified) a number block; untrusted requests "
	    "%d unverified an hour (%d%% of sms_hourly_budget); an address "
	    "may ask %d + %d per code verified from its network; trust "
	    "lasts %d days\n", mode,
	    cfg->fraud_window, cfg->hour_seconds, cfg->fraud_net_floor,
	    cfg->fraud_net_ratio, cfg->fraud_block_floor,
	    cfg->fraud_block_ratio, l.untrusted, cfg->fraud_untrusted_share,
	    cfg->ip_hourly_limit, cfg->fraud_ip_earn, cfg->fraud_trust_days);
}
