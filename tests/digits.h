/*
 * tests/digits.h: the runs of ASCII digits in a text, for the checks
 * (unit tests and fuzz harnesses) that no code or mobile of a gateway's
 * reply reaches a message.
 */
#ifndef VCODE_TESTS_DIGITS_H
#define VCODE_TESTS_DIGITS_H

#include <stddef.h>

/*
 * digit_run: the next run of digits at or after *p, its length in *n, *p
 * moved past it; NULL at the end of the text.
 */
static inline const char *
digit_run(const char **p, size_t *n)
{
	const char	*s = *p, *run;

	while (*s != '\0' && (*s < '0' || *s > '9'))
		s++;
	for (run = s; *s >= '0' && *s <= '9'; s++)
		;
	*p = s;
	*n = (size_t)(s - run);
	return *n > 0 ? run : NULL;
}

#endif
