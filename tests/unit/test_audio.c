/*
 * Unit tests of the audio captcha (render_audio_new, render_wav,
 * render_audio_free): the WAV header is what a player expects, a reply
 * stays under the size cap for every code length, bad input is refused
 * with nothing allocated, replies are random, the digits stand out from
 * the background as one burst each, nothing clips, and a reply takes
 * well under a millisecond.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "render/render.h"

#define WAV_RATE	8000
#define WAV_HEADER	44
#define WAV_CAP		50000	/* bytes: a reply is shorter */
#define REPEATS		30	/* replies per case */
#define LEAD_WINDOW	(WAV_RATE / 10)	/* noise-only start, samples */
/* Burst detection: 20 ms frames, louder than -26 dBFS; dips shorter
 * than 160 ms (the "v" of "seven") belong to the same digit. */
#define FRAME		(WAV_RATE / 50)
#define BURST_RMS	0.05
#define BURST_MERGE	8	/* frames */
#define BURST_MIN	3	/* frames */

static const struct {
	enum render_lang	 lang;
	const char		*name;
} langs[] = {
	{ RENDER_LANG_ZH, "zh" },
	{ RENDER_LANG_EN, "en" },
};
#define NLANGS	(sizeof(langs) / sizeof(langs[0]))

/* A parsed reply: the header's fields and the samples. */
struct wav {
	uint32_t		 riff_size, fmt_size, rate, byte_rate, data_size;
	uint16_t		 format, channels, block_align, bits;
	const unsigned char	*pcm;	/* data_size 8-bit samples */
};

static uint32_t
le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static struct render_audio *
new_or_fail(void)
{
	char			 err[256] = "";
	struct render_audio	*a = render_audio_new(err, sizeof(err));

	if (a == NULL)
		fail_msg("render_audio_new: expected a generator, saw NULL: "
		    "%s", err);
	return a;
}

/*
 * parse: checks the 44-byte header of a len-byte reply field by field
 * against what render_wav promises (RIFF/WAVE, PCM, mono, 8000 Hz,
 * 8-bit, sizes that add up) and fills w.
 */
static void
parse(const unsigned char *b, size_t len, const char *what, struct wav *w)
{
	if (len < WAV_HEADER)
		fail_msg("%s: expected at least a %d-byte header, saw %zu "
		    "bytes", what, WAV_HEADER, len);
	if (memcmp(b, "RIFF", 4) != 0 || memcmp(b + 8, "WAVE", 4) != 0 ||
	    memcmp(b + 12, "fmt ", 4) != 0 || memcmp(b + 36, "data", 4) != 0)
		fail_msg("%s: expected chunk ids RIFF, WAVE, \"fmt \", data at "
		    "0, 8, 12, 36, saw \"%.4s\" \"%.4s\" \"%.4s\" \"%.4s\"",
		    what, b, b + 8, b + 12, b + 36);
	w->riff_size = le32(b + 4);
	w->fmt_size = le32(b + 16);
	w->format = le16(b + 20);
	w->channels = le16(b + 22);
	w->rate = le32(b + 24);
	w->byte_rate = le32(b + 28);
	w->block_align = le16(b + 32);
	w->bits = le16(b + 34);
	w->data_size = le32(b + 40);
	w->pcm = b + WAV_HEADER;
	if (w->riff_size != len - 8)
		fail_msg("%s: expected RIFF size %zu (file - 8), saw %u",
		    what, len - 8, w->riff_size);
	if (w->fmt_size != 16 || w->format != 1 || w->channels != 1 ||
	    w->rate != WAV_RATE || w->bits != 8)
		fail_msg("%s: expected fmt size 16, PCM (1), 1 channel, "
		    "%d Hz, 8 bits; saw %u, %u, %u, %u, %u", what, WAV_RATE,
		    w->fmt_size, w->format, w->channels, w->rate, w->bits);
	if (w->byte_rate != WAV_RATE || w->block_align != 1)
		fail_msg("%s: expected byte rate %d and block align 1, saw "
		    "%u and %u", what, WAV_RATE, w->byte_rate, w->block_align);
	if (w->data_size != len - WAV_HEADER)
		fail_msg("%s: expected data size %zu (file - 44), saw %u",
		    what, len - WAV_HEADER, w->data_size);
}

/* speak: one reply of digits in lang, parsed; the caller frees *buf. */
static void
speak(struct render_audio *a, const char *digits, int li,
    unsigned char **buf, struct wav *w)
{
	char	 what[64];
	size_t	 len = 0;
	int	 rc;

	*buf = NULL;
	rc = render_wav(a, digits, langs[li].lang, buf, &len);
	snprintf(what, sizeof(what), "render_wav(\"%s\", %s)", digits,
	    langs[li].name);
	if (rc != 0 || *buf == NULL)
		fail_msg("%s: expected 0 and a buffer, saw %d and %p", what,
		    rc, (void *)*buf);
	if (len >= WAV_CAP)
		fail_msg("%s: expected fewer than %d bytes, saw %zu", what,
		    WAV_CAP, len);
	parse(*buf, len, what, w);
}

/* rms: of samples [from, to) of w, full scale 1. */
static double
rms(const struct wav *w, uint32_t from, uint32_t to)
{
	double		 sum = 0, v;
	uint32_t	 i;

	for (i = from; i < to; i++) {
		v = (w->pcm[i] - 128) / 128.0;
		sum += v * v;
	}
	return to > from ? sqrt(sum / (to - from)) : 0;
}

/*
 * bursts: loud stretches of w (20 ms frames above BURST_RMS, gaps under
 * BURST_MERGE frames closed, stretches under BURST_MIN frames dropped).
 */
static int
bursts(const struct wav *w)
{
	uint32_t	 f, frames = w->data_size / FRAME;
	int		 n = 0, run = 0, quiet = BURST_MERGE, counted = 0;

	for (f = 0; f < frames; f++) {
		if (rms(w, f * FRAME, (f + 1) * FRAME) > BURST_RMS) {
			if (quiet >= BURST_MERGE) {
				run = 0;	/* a new burst */
				counted = 0;
			}
			quiet = 0;
			if (++run >= BURST_MIN && !counted) {
				n++;
				counted = 1;
			}
		} else
			quiet++;
	}
	return n;
}

/* random_digits: n random digits into s (n + 1 bytes). */
static void
random_digits(char *s, int n)
{
	int	i;

	for (i = 0; i < n; i++)
		s[i] = (char)('0' + rand() % 10);
	s[n] = '\0';
}

static void
test_header(void **state)
{
	struct render_audio	*a = new_or_fail();
	unsigned char		*buf;
	struct wav		 w;
	size_t			 li;

	(void)state;
	for (li = 0; li < NLANGS; li++) {
		speak(a, "123456", (int)li, &buf, &w);
		if (w.data_size % 2 != 0)
			fail_msg("%s: expected an even data size (no pad "
			    "byte), saw %u", langs[li].name, w.data_size);
		free(buf);
	}
	render_audio_free(a);
	render_audio_free(NULL);
}

static void
test_size(void **state)
{
	struct render_audio	*a = new_or_fail();
	unsigned char		*buf;
	struct wav		 w;
	char			 digits[16];
	size_t			 li;
	int			 i, n;

	(void)state;
	/* speak() fails on any reply of WAV_CAP bytes or more. */
	for (li = 0; li < NLANGS; li++)
		for (n = 1; n <= 12; n++)
			for (i = 0; i < (n == 6 ? 10 : 1) * REPEATS; i++) {
				random_digits(digits, n);
				speak(a, digits, (int)li, &buf, &w);
				free(buf);
			}
	/* The longest words, all twelve: the speed-up must still fit. */
	for (li = 0; li < NLANGS; li++)
		for (i = 0; i < REPEATS; i++) {
			speak(a, "777777777777", (int)li, &buf, &w);
			free(buf);
			speak(a, "000000000000", (int)li, &buf, &w);
			free(buf);
		}
	render_audio_free(a);
}

static void
test_bad_input(void **state)
{
	static const char	*bad[] = {
		"", "12a456", "12 456", " 123456", "123456\n", "-1", "+1",
		"1234567890123", "12345678901234567890",
		"\xef\xbc\x91\xef\xbc\x92",	/* fullwidth 12 */
		"\xd9\xa1",			/* Arabic-Indic 1 */
	};
	struct render_audio	*a = new_or_fail();
	unsigned char		*buf;
	size_t			 i, len;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf = (unsigned char *)&len;	/* must be reset to NULL */
		len = 99;
		rc = render_wav(a, bad[i], RENDER_LANG_EN, &buf, &len);
		if (rc != -1 || buf != NULL)
			fail_msg("render_wav(\"%s\"): expected -1 and NULL, "
			    "saw %d and %p", bad[i], rc, (void *)buf);
	}
	if ((rc = render_wav(a, NULL, RENDER_LANG_EN, &buf, &len)) != -1)
		fail_msg("render_wav(NULL digits): expected -1, saw %d", rc);
	if ((rc = render_wav(NULL, "123456", RENDER_LANG_EN, &buf, &len)) !=
	    -1)
		fail_msg("render_wav(NULL generator): expected -1, saw %d",
		    rc);
	if ((rc = render_wav(a, "123456", RENDER_LANG_EN, NULL, &len)) != -1)
		fail_msg("render_wav(NULL wav): expected -1, saw %d", rc);
	if ((rc = render_wav(a, "123456", RENDER_LANG_EN, &buf, NULL)) != -1)
		fail_msg("render_wav(NULL len): expected -1, saw %d", rc);
	if ((rc = render_wav(a, "123456", (enum render_lang)7, &buf,
	    &len)) != -1)
		fail_msg("render_wav(language 7): expected -1, saw %d", rc);
	render_audio_free(a);
}

/* expect_differ: two replies must not be the same samples. */
static void
expect_differ(const struct wav *x, const struct wav *y, const char *lang,
    const char *what)
{
	if (x->data_size == y->data_size &&
	    memcmp(x->pcm, y->pcm, x->data_size) == 0)
		fail_msg("%s: expected %s to differ, saw the same %u samples",
		    lang, what, x->data_size);
}

static void
test_random(void **state)
{
	struct render_audio	*a = new_or_fail(), *b = new_or_fail();
	unsigned char		*x, *y;
	struct wav		 wx, wy;
	size_t			 li;

	(void)state;
	for (li = 0; li < NLANGS; li++) {
		speak(a, "123456", (int)li, &x, &wx);
		speak(a, "123456", (int)li, &y, &wy);
		expect_differ(&wx, &wy, langs[li].name,
		    "two replies of \"123456\"");
		free(y);
		/* A second generator is seeded apart from the first. */
		speak(b, "123456", (int)li, &y, &wy);
		expect_differ(&wx, &wy, langs[li].name, "two generators");
		free(x);
		free(y);
	}
	render_audio_free(a);
	render_audio_free(b);
}

static void
test_loudness(void **state)
{
	struct render_audio	*a = new_or_fail();
	unsigned char		*buf;
	struct wav		 w;
	char			 digits[8];
	double			 lead, all;
	uint32_t		 i;
	size_t			 li;
	int			 r, n, ok;

	(void)state;
	for (li = 0; li < NLANGS; li++) {
		for (ok = 0, r = 0; r < REPEATS; r++) {
			random_digits(digits, 4);
			speak(a, digits, (int)li, &buf, &w);
			lead = rms(&w, 0, LEAD_WINDOW);
			all = rms(&w, 0, w.data_size);
			if (lead > 0.03 || all < 4 * lead || all < 0.03)
				fail_msg("%s \"%s\": expected a quiet lead-in "
				    "(RMS < 0.03) and the reply 12 dB above "
				    "it, saw lead-in %.4f, reply %.4f",
				    langs[li].name, digits, lead, all);
			for (i = 0; i < w.data_size; i++)
				if (w.pcm[i] == 0 || w.pcm[i] == 255)
					fail_msg("%s \"%s\": expected no sample "
					    "at full scale, saw %u at %u",
					    langs[li].name, digits, w.pcm[i],
					    i);
			/* One burst a digit, in nearly every reply. */
			if ((n = bursts(&w)) == 4)
				ok++;
			free(buf);
		}
		if (ok < REPEATS * 9 / 10)
			fail_msg("%s: expected 4 loud bursts for 4 digits in "
			    "%d of %d replies, saw %d", langs[li].name,
			    REPEATS * 9 / 10, REPEATS, ok);
	}
	render_audio_free(a);
}

static void
test_duration(void **state)
{
	static const int	 counts[] = { 1, 2, 4, 6, 12 };
	struct render_audio	*a = new_or_fail();
	unsigned char		*buf;
	struct wav		 w;
	char			 digits[16];
	double			 mean, prev = 0;
	size_t			 li, c;
	int			 r;

	(void)state;
	for (li = 0; li < NLANGS; li++, prev = 0)
		for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
			for (mean = 0, r = 0; r < REPEATS; r++) {
				random_digits(digits, counts[c]);
				speak(a, digits, (int)li, &buf, &w);
				mean += (double)w.data_size / REPEATS;
				free(buf);
			}
			if (mean <= prev)
				fail_msg("%s: expected %d digits to last longer "
				    "than %d, saw %.2f s and %.2f s on average",
				    langs[li].name, counts[c], counts[c - 1],
				    mean / WAV_RATE, prev / WAV_RATE);
			prev = mean;
		}
	render_audio_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_loudness),
		cmocka_unit_test(test_duration),
	};

	srand((unsigned)time(NULL));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
