/*
 * Captcha texts as the configuration asks (an alphabet, or a small sum),
 * and the check, at start-up, that the fonts can draw them.
 */
#include <stdio.h>

#include "core/internal.h"
#include "render/render.h"

int
captcha_font_check(struct render *r, const struct vc_config *cfg,
    char *err, size_t errlen)
{
	char	 why[VC_ERR_MAX];
	int	 text = cfg->captcha_mode == VC_CAPTCHA_TEXT;

	if (render_check(r, text ? cfg->captcha_charset : "0123456789+-=?",
	    why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s; set captcha_font to a font that has "
	    "it", text ? "captcha_charset" : "captcha_mode = math", why);
	return -1;
}

int
captcha_draw(const struct vc_config *cfg, char *text, size_t textlen,
    char *answer, size_t answerlen)
{
	long	 a, b, sub;
	int	 n;

	if (cfg->captcha_mode == VC_CAPTCHA_TEXT) {
		if (rand_text(cfg->captcha_charset, cfg->captcha_length, text,
		    textlen) == -1)
			return -1;
		n = snprintf(answer, answerlen, "%s", text);
		return n < 0 || (size_t)n >= answerlen ? -1 : 0;
	}
	/* Operands 1..9; a difference is never negative. */
	if ((a = rand_uniform(9)) < 0 || (b = rand_uniform(9)) < 0 ||
	    (sub = rand_uniform(2)) < 0)
		return -1;
	a++;
	b++;
	if (sub && a < b) {
		long	 t = a;

		a = b;
		b = t;
	}
	n = snprintf(text, textlen, "%ld%c%ld=?", a, sub ? '-' : '+', b);
	if (n < 0 || (size_t)n >= textlen)
		return -1;
	n = snprintf(answer, answerlen, "%ld", sub ? a - b : a + b);
	return n < 0 || (size_t)n >= answerlen ? -1 : 0;
}
