/*
 * fuzz_xff: the client address (client_ip): REMOTE_ADDR and the
 * X-Forwarded-For walk behind trusted proxies. Input fields: REMOTE_ADDR,
 * X-Forwarded-For, trusted_proxies.
 */
#include "core/internal.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct vc_config	 cfg;
	struct vc_request	 req;
	struct fields		 fs;
	char			 ip[VC_IP_MAX], small[8];

	if (fields_cut(&fs, data, len, 3) == -1)
		return 0;
	memset(&cfg, 0, sizeof(cfg));
	memset(&req, 0, sizeof(req));
	cfg.trusted_proxies = fs.f[2] != NULL ? fs.f[2] : "127.0.0.1 ::1";
	cfg.ip6_prefix = len > 0 ? 16 + data[0] % 113 : 64;
	req.remote_addr = fs.f[0] != NULL ? fs.f[0] : "";
	req.forwarded_for = fs.f[1];
	client_ip(&cfg, &req, ip, sizeof(ip));
	if (strlen(ip) >= sizeof(ip))
		abort();
	client_ip(&cfg, &req, small, sizeof(small));
	if (strlen(small) >= sizeof(small))
		abort();
	fields_free(&fs);
	return 0;
}
