/*
 * wipe.c: jansson's memory, zeroed when freed (json_wipe_install,
 * internal.h): a parsed body holds the SMS code a client sent, and a
 * provider's request body the code it sends. Every daemon installs it in
 * proc_start; ctx_new does too, for callers without one (tests, fuzzers).
 * The allocator is sms/'s, which gives libcurl the same.
 */
#include "core/internal.h"
#include "sms/sms.h"

void
json_wipe_install(void)
{
	static int	 done;

	if (!done)
		json_set_alloc_funcs(sms_wipe_malloc, sms_wipe_free);
	done = 1;
}
