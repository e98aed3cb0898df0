/*
 * fuzz_request: one whole request through vc_handle, as fcgi/ hands it
 * over: method, SCRIPT_NAME, PATH_INFO, QUERY_STRING, REMOTE_ADDR,
 * X-Forwarded-For, Authorization, Content-Type and CONTENT_LENGTH as
 * NUL-separated fields, the body after them. The store points at a socket
 * that does not exist (every request that needs Redis meets a dead one);
 * the configuration trusts a proxy and sets an API key, so the walks and
 * checks behind them run too.
 */
#include <stdio.h>

#include "core/core.h"
#include "tests/fuzz/fuzz.h"

static struct vc_config	 cfg;
static struct vc_ctx	*ctx;

static void
setup(void)
{
	char	 err[VC_ERR_MAX];

	setenv("VCODE_REDIS", "unix:/nonexistent/vcode-fuzz.sock", 1);
	setenv("VCODE_REDIS_TIMEOUT_MS", "5", 1);
	setenv("VCODE_TRUSTED_PROXIES", "127.0.0.1 ::1 10.0.0.0", 1);
	setenv("VCODE_API_KEY", "fuzz-api-key", 1);
	setenv("VCODE_LOG_LEVEL", "error", 1);
	if (config_load(&cfg, NULL, err, sizeof(err)) == -1 ||
	    (ctx = ctx_new(&cfg, CTX_WARM, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_request: %s\n", err);
		abort();
	}
	vc_log_init("fuzz", VC_LOG_ERROR);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fields		 fs;
	struct vc_request	 req;
	struct vc_response	 resp;
	char			*end;

	if (ctx == NULL)
		setup();
	if (fields_cut(&fs, data, len, 9) == -1)
		return 0;
	memset(&req, 0, sizeof(req));
	req.method = fs.f[0] != NULL ? fs.f[0] : "GET";
	req.script_name = fs.f[1];
	req.path_info = fs.f[2];
	req.query = fs.f[3];
	req.remote_addr = fs.f[4] != NULL ? fs.f[4] : "127.0.0.1";
	req.forwarded_for = fs.f[5];
	req.authorization = fs.f[6];
	req.content_type = fs.f[7];
	req.content_length = VC_LENGTH_ABSENT;
	if (fs.f[8] != NULL && fs.f[8][0] != '\0') {
		req.content_length = strtoll(fs.f[8], &end, 10);
		if (*end != '\0' || req.content_length < 0)
			req.content_length = VC_LENGTH_BAD;
	}
	if (fs.rest != NULL) {
		req.body = fs.rest;
		req.body_len = fs.restlen;
	}
	vc_handle(ctx, &req, &resp);
	if (resp.status < 200 || resp.status > 599 ||
	    (resp.body == NULL) != (resp.body_len == 0))
		abort();
	response_clear(&resp);
	fields_free(&fs);
	return 0;
}
