/*
 * The names of the keys under key_prefix (KEY_* in internal.h) are made
 * here; the dialects' own prefixes come from the configuration.
 */
#include <stdio.h>

#include "core/internal.h"

int
key_make(char *key, const char *prefix, const char *kind, const char *name)
{
	int	 n;

	n = snprintf(key, VC_KEY_MAX, "%s%s%s", prefix, kind, name);
	return n < 0 || n >= VC_KEY_MAX ? -1 : 0;
}
