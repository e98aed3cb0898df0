/*
 * fuzz_outbox: the outbox entry parser (store_msg_fields), as a sender
 * meets an entry of the stream or of the dead letters that anyone with
 * access to the Redis may have written. The input is cut at each 0xff
 * byte into names and values, which may hold NUL bytes.
 */
#include "tests/fuzz/outbox.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char		*names[40], *values[40];
	size_t			 nl[40], vl[40], n = 0, i = 0, start = 0;
	struct store_msg	 m;
	int			 odd = 0;

	for (i = 0; i <= len && n < 40; i++) {
		if (i < len && data[i] != 0xff)
			continue;
		if (!odd) {
			names[n] = (const char *)data + start;
			nl[n] = i - start;
		} else {
			values[n] = (const char *)data + start;
			vl[n] = i - start;
			n++;
		}
		odd = !odd;
		start = i + 1;
	}
	memset(&m, 0, sizeof(m));
	store_msg_fields(&m, n, names, nl, values, vl);
	msg_check(&m);
	return 0;
}
