/*
 * outbox.h: the check shared by the outbox harnesses: a message the store
 * calls well formed holds what the sender relies on.
 */
#ifndef VCODE_FUZZ_OUTBOX_H
#define VCODE_FUZZ_OUTBOX_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

/* text_ok: NUL-terminated within n bytes, no control byte. */
static inline int
text_ok(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return i < n;
}

/* msg_check: aborts when m is called well formed and is not. */
static inline void
msg_check(const struct store_msg *m)
{
	if (m->why != NULL)
		return;
	if (!text_ok(m->mobile, sizeof(m->mobile)) || m->mobile[0] == '\0' ||
	    !text_ok(m->key, sizeof(m->key)) || m->key[0] == '\0' ||
	    !text_ok(m->dialect, sizeof(m->dialect)) ||
	    m->dialect[0] == '\0' || !text_ok(m->code, sizeof(m->code)) ||
	    m->minutes < 1 || m->minutes > 100000 || m->tries < 0 ||
	    m->unknown < 0 || m->queued_ms < 0 || m->expires < 0)
		abort();
}

#endif /* VCODE_FUZZ_OUTBOX_H */
