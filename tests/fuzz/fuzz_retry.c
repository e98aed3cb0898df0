/*
 * fuzz_retry: the retry-set member decoder (store_msg_json): a member is
 * JSON that anyone with access to the Redis may have written.
 */
#include "tests/fuzz/outbox.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct store_msg	 m;

	store_msg_json(&m, (const char *)data, len);
	msg_check(&m);
	if (m.why == NULL && (m.id[0] == '\0' ||
	    strlen(m.id) >= sizeof(m.id)))
		abort();
	return 0;
}
