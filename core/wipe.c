/*
 * wipe.c: jansson's memory, zeroed when freed (json_wipe_install,
 * internal.h): a parsed body holds the SMS code a client sent, and a
 * provider's request body the code it sends. Every daemon installs it in
 * proc_start; ctx_new does too, for callers without one (tests, fuzzers).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* Each block carries its size in front, so the free can zero it all. */
#define WIPE_HEAD	16	/* keeps the block's alignment */

static void *
wipe_malloc(size_t n)
{
	unsigned char	*p;

	if (n > SIZE_MAX - WIPE_HEAD || (p = malloc(n + WIPE_HEAD)) == NULL)
		return NULL;
	memcpy(p, &n, sizeof(n));
	return p + WIPE_HEAD;
}

static void
wipe_free(void *ptr)
{
	unsigned char	*p = ptr;
	size_t		 n;

	if (p == NULL)
		return;
	p -= WIPE_HEAD;
	memcpy(&n, p, sizeof(n));
	explicit_bzero(p, n + WIPE_HEAD);
	free(p);
}

void
json_wipe_install(void)
{
	static int	 done;

	if (!done)
		json_set_alloc_funcs(wipe_malloc, wipe_free);
	done = 1;
}
