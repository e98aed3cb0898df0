/*
 * vcode-render: the captcha renderer outside the service.
 *
 *   vcode-render [-c FILE] -n N -o DIR	N labelled samples, DIR/ANSWER_I.png
 *   vcode-render [-c FILE] -n N -o DIR --blind KEYFILE
 *					N samples named by index only,
 *					DIR/00.png..., answers in KEYFILE
 *   vcode-render --score KEYFILE ANSWERS...
 *					scores readers' transcriptions
 *   vcode-render [-c FILE] --bench N	time N renders on one core
 *   vcode-render [-c FILE] --sheet F.png	24 samples with their answers
 *
 * Size, length, alphabet and font come from the same configuration file
 * as vcoded (captcha_width, captcha_height, captcha_length,
 * captcha_charset, captcha_font), so what is measured or looked at here is
 * what the service serves.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>
#include <wctype.h>

#include "core/core.h"
#include "render/render.h"

#define COUNT_MAX	10000000L	/* -n and --bench upper bound */
#define BENCH_WARMUP	100		/* untimed renders before --bench */
#define SHEET_SAMPLES	24
#define NAME_MAX_BYTES	(VC_CAPTCHA_ANSWER_MAX * 3 + 32)

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: vcode-render [-c FILE] [-n N -o DIR [--blind KEYFILE]] "
	    "[--bench N]\n"
	    "                    [--sheet FILE.png] [--portable]\n"
	    "       vcode-render --score KEYFILE ANSWERS...\n"
	    "  -c FILE          configuration (captcha_* keys); "
	    "default: built-in defaults\n"
	    "  -n N -o DIR      write N samples as DIR/ANSWER_I.png\n"
	    "  --blind KEYFILE  with -n/-o: name samples 00.png... by index "
	    "only and\n"
	    "                   write \"INDEX<TAB>ANSWER<TAB>TEXT\" lines to "
	    "KEYFILE,\n"
	    "                   which must not be inside DIR\n"
	    "  --score KEYFILE ANSWERS...\n"
	    "                   score transcriptions (\"INDEX TEXT\" lines, "
	    "one file\n"
	    "                   a reader) against KEYFILE: exact reads, "
	    "characters,\n"
	    "                   confusions\n"
	    "  --bench N        render and encode N captchas on one core; "
	    "last line:\n"
	    "                   us_per_image=X bytes_per_image=Y (medians)\n"
	    "  --sheet FILE.png contact sheet of %d samples with their "
	    "answers\n"
	    "  --portable       the portable inner loops, not the AVX2 ones "
	    "(same pixels)\n"
	    "  -h               this help\n", SHEET_SAMPLES);
}

/* parse_count: a decimal in 1..COUNT_MAX, or -1. */
static long
parse_count(const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > COUNT_MAX)
		return -1;
	return v;
}

/* draw: a fresh text and its answer, as the service would make them. */
static int
draw(const struct vc_config *cfg, char *text, char *answer)
{
	if (captcha_draw(cfg, text, VC_CAPTCHA_ANSWER_MAX, answer,
	    VC_CAPTCHA_ANSWER_MAX) == -1) {
		fprintf(stderr, "vcode-render: cannot draw a captcha text "
		    "(captcha_charset, captcha_length)\n");
		return -1;
	}
	return 0;
}

/* sample: one captcha drawn and rendered; text and answer hold
 * VC_CAPTCHA_ANSWER_MAX bytes. */
static int
sample(struct render *r, const struct vc_config *cfg, char *text,
    char *answer, unsigned char **png, size_t *len)
{
	if (draw(cfg, text, answer) == -1)
		return -1;
	if (render_png(r, text, png, len) == -1) {
		fprintf(stderr, "vcode-render: cannot render \"%s\"\n", text);
		return -1;
	}
	return 0;
}

/*
 * file_name: the answer as a file name: '/' and '%' are written as %2F
 * and %25 so that any alphabet makes a valid name.
 */
static void
file_name(char *out, size_t outlen, const char *dir, const char *answer,
    long i)
{
	char	 enc[NAME_MAX_BYTES];
	size_t	 k = 0;

	for (; *answer != '\0' && k + 4 < sizeof(enc); answer++) {
		if (*answer == '/' || *answer == '%')
			k += (size_t)snprintf(enc + k, sizeof(enc) - k, "%%%02X",
			    (unsigned char)*answer);
		else
			enc[k++] = *answer;
	}
	enc[k] = '\0';
	snprintf(out, outlen, "%s/%s_%ld.png", dir, enc, i);
}

static int
write_file(const char *path, const unsigned char *data, size_t len)
{
	FILE	*fp;

	if ((fp = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "vcode-render: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
		fprintf(stderr, "vcode-render: %s: write failed\n", path);
		return -1;
	}
	return 0;
}

/*
 * inside_dir: 1 when path names a file directly inside dir (both resolved),
 * so that a reader given dir would find the answers next to the pictures.
 */
static int
inside_dir(const char *path, const char *dir)
{
	char	 rdir[PATH_MAX], rparent[PATH_MAX], parent[PATH_MAX];
	char	*slash;

	if (realpath(dir, rdir) == NULL)
		return 0;
	snprintf(parent, sizeof(parent), "%s", path);
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	if (realpath(parent, rparent) == NULL)
		return 0;
	return strncmp(rparent, rdir, strlen(rdir)) == 0 &&
	    (rparent[strlen(rdir)] == '\0' || rparent[strlen(rdir)] == '/');
}

/*
 * cmd_samples: n samples into dir. Labelled: DIR/ANSWER_I.png. Blind
 * (keyfile set): DIR/00.png... and the answers in keyfile only, for
 * readers who must not see them.
 */
static int
cmd_samples(struct render *r, const struct vc_config *cfg, long n,
    const char *dir, const char *keyfile)
{
	char		 text[VC_CAPTCHA_ANSWER_MAX], path[PATH_MAX];
	char		 answer[VC_CAPTCHA_ANSWER_MAX];
	unsigned char	*png;
	FILE		*key = NULL;
	size_t		 len;
	long		 i;
	int		 digits = 2;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		fprintf(stderr, "vcode-render: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (keyfile != NULL) {
		if (inside_dir(keyfile, dir)) {
			fprintf(stderr, "vcode-render: %s is inside %s: keep "
			    "the answers away from the pictures\n", keyfile,
			    dir);
			return -1;
		}
		if ((key = fopen(keyfile, "w")) == NULL) {
			fprintf(stderr, "vcode-render: %s: %s\n", keyfile,
			    strerror(errno));
			return -1;
		}
		for (i = n - 1; i >= 100; i /= 10)
			digits++;
	}
	for (i = 0; i < n; i++) {
		if (sample(r, cfg, text, answer, &png, &len) == -1)
			goto fail;
		if (key != NULL) {
			if (snprintf(path, sizeof(path), "%s/%0*ld.png", dir,
			    digits, i) >= (int)sizeof(path)) {
				free(png);
				goto fail;
			}
			fprintf(key, "%0*ld\t%s\t%s\n", digits, i, answer,
			    text);
		} else
			file_name(path, sizeof(path), dir, answer, i);
		if (write_file(path, png, len) == -1) {
			free(png);
			goto fail;
		}
		free(png);
	}
	if (key != NULL && fclose(key) != 0) {
		fprintf(stderr, "vcode-render: %s: write failed\n", keyfile);
		return -1;
	}
	return 0;
fail:
	if (key != NULL)
		fclose(key);
	return -1;
}

/* ---- Scoring a panel's transcriptions. ---- */

#define SCORE_MAX	10000	/* samples in one key file */
#define SCORE_TEXT	64	/* wide characters of one answer */
#define CONFUSION_MAX	256

struct scored {
	long	 index;
	wchar_t	 answer[SCORE_TEXT];
};

struct confusion {
	wchar_t	 want[SCORE_TEXT], got[SCORE_TEXT];
	int	 count;
};

/*
 * score_text: s as the service compares it: whitespace dropped, ASCII
 * letters folded to lower case (the typed text is ASCII-folded and the
 * stored answer lower-cased). -1 when s is not UTF-8 or too long.
 */
static int
score_text(const char *s, wchar_t *out)
{
	wchar_t	 w[SCORE_TEXT];
	size_t	 n, i, k = 0;

	if ((n = mbstowcs(w, s, SCORE_TEXT)) == (size_t)-1 ||
	    n >= SCORE_TEXT)
		return -1;
	for (i = 0; i < n; i++) {
		if (iswspace((wint_t)w[i]))
			continue;
		out[k++] = w[i] < 0x80 ? (wchar_t)towlower((wint_t)w[i]) :
		    w[i];
	}
	out[k] = L'\0';
	return 0;
}

/* edit_distance: Levenshtein distance of two short wide strings. */
static int
edit_distance(const wchar_t *a, const wchar_t *b)
{
	int	d[SCORE_TEXT + 1][SCORE_TEXT + 1];
	size_t	la = wcslen(a), lb = wcslen(b), i, j;

	for (i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

/*
 * read_lines: "INDEX<space or tab>TEXT..." lines of path into out (up to
 * max); for a key file TEXT is the answer column only. Lines that do not
 * start with an index are skipped. Returns the count, or -1.
 */
static long
read_lines(const char *path, struct scored *out, long max, int key)
{
	FILE	*fp;
	char	 line[1024], *p, *end;
	long	 n = 0, idx;

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "vcode-render: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL && n < max) {
		line[strcspn(line, "\r\n")] = '\0';
		errno = 0;
		idx = strtol(line, &end, 10);
		if (end == line || errno != 0 || idx < 0 ||
		    (*end != ' ' && *end != '\t' && *end != '\0'))
			continue;
		p = end + strspn(end, " \t");
		if (key)
			p[strcspn(p, "\t")] = '\0';
		if (score_text(p, out[n].answer) == -1) {
			fprintf(stderr, "vcode-render: %s: line for %ld is "
			    "not UTF-8 or too long\n", path, idx);
			fclose(fp);
			return -1;
		}
		out[n++].index = idx;
	}
	fclose(fp);
	return n;
}

static void
confusion_add(struct confusion *c, int *nc, const wchar_t *want,
    const wchar_t *got)
{
	int	i;

	for (i = 0; i < *nc; i++)
		if (wcscmp(c[i].want, want) == 0 && wcscmp(c[i].got, got) == 0) {
			c[i].count++;
			return;
		}
	if (*nc == CONFUSION_MAX)
		return;
	wcscpy(c[*nc].want, want);
	wcscpy(c[*nc].got, got);
	c[(*nc)++].count = 1;
}

static int
cmp_confusion(const void *a, const void *b)
{
	return ((const struct confusion *)b)->count -
	    ((const struct confusion *)a)->count;
}

/*
 * cmd_score: each file of answers against the key: per reader and in all,
 * the exact reads (what the service would accept), the characters read
 * right (by edit distance, so one dropped character costs one), and the
 * confusions (character for character when the lengths agree, else the
 * whole answer). The last line is the total.
 */
static int
cmd_score(const char *keyfile, char *const *files, int nfiles)
{
	static struct scored	 keys[SCORE_MAX], got[SCORE_MAX];
	static struct confusion	 conf[CONFUSION_MAX];
	long			 nkeys, ngot, i, j;
	long			 exact_all = 0, chars_all = 0, right_all = 0;
	int			 f, nc = 0;

	if (setlocale(LC_CTYPE, "C.UTF-8") == NULL)
		(void)setlocale(LC_CTYPE, "");
	if ((nkeys = read_lines(keyfile, keys, SCORE_MAX, 1)) <= 0) {
		if (nkeys == 0)
			fprintf(stderr, "vcode-render: %s: no answers\n",
			    keyfile);
		return -1;
	}
	for (f = 0; f < nfiles; f++) {
		long	exact = 0, chars = 0, right = 0;

		if ((ngot = read_lines(files[f], got, SCORE_MAX, 0)) == -1)
			return -1;
		for (i = 0; i < nkeys; i++) {
			const wchar_t	*want = keys[i].answer, *read = L"";
			size_t		 lw = wcslen(want);
			int		 d;

			for (j = 0; j < ngot; j++)
				if (got[j].index == keys[i].index) {
					read = got[j].answer;
					break;
				}
			d = edit_distance(want, read);
			chars += (long)lw;
			right += d >= (int)lw ? 0 : (long)lw - d;
			if (d == 0) {
				exact++;
				continue;
			}
			printf("%s: %02ld expected %ls read %ls\n", files[f],
			    keys[i].index, want, read[0] ? read : L"(nothing)");
			if (wcslen(read) == lw) {
				for (j = 0; j < (long)lw; j++)
					if (want[j] != read[j]) {
						wchar_t a[2] = { want[j], 0 };
						wchar_t b[2] = { read[j], 0 };

						confusion_add(conf, &nc, a, b);
					}
			} else
				confusion_add(conf, &nc, want, read[0] ?
				    read : L"(nothing)");
		}
		printf("%s: exact %ld/%ld (%.1f%%), characters %ld/%ld "
		    "(%.1f%%)\n", files[f], exact, nkeys,
		    100.0 * exact / nkeys, right, chars, 100.0 * right / chars);
		exact_all += exact;
		chars_all += chars;
		right_all += right;
	}
	qsort(conf, (size_t)nc, sizeof(conf[0]), cmp_confusion);
	printf("confusions (expected->read x count):");
	for (i = 0; i < nc; i++)
		printf(" %ls->%ls x%d", conf[i].want, conf[i].got,
		    conf[i].count);
	printf("%s\n", nc == 0 ? " none" : "");
	printf("readers=%d exact=%ld/%ld (%.1f%%) chars=%ld/%ld (%.1f%%)\n",
	    nfiles, exact_all, nkeys * nfiles,
	    100.0 * exact_all / (nkeys * nfiles), right_all, chars_all,
	    100.0 * right_all / chars_all);
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e6 + (b->tv_nsec - a->tv_nsec) / 1e3;
}

/* One timed step of a benchmark: makes one reply, sets its size. */
struct bench_step {
	struct render		*r;
	struct render_audio	*audio;
	const struct vc_config	*cfg;
	enum render_lang	 lang;
	char			 text[VC_CAPTCHA_ANSWER_MAX];
	char			 answer[VC_CAPTCHA_ANSWER_MAX];
};

/* Draws the next challenge (untimed). 0 or -1. */
typedef int	(*bench_prep)(struct bench_step *);
/* Makes its reply (timed). 0 or -1; *len is the reply's size. */
typedef int	(*bench_make)(struct bench_step *, size_t *);

static int
prep_image(struct bench_step *b)
{
	return draw(b->cfg, b->text, b->answer);
}

static int
make_image(struct bench_step *b, size_t *len)
{
	unsigned char	*png;

	if (render_png(b->r, b->text, &png, len) == -1)
		return -1;
	free(png);
	return 0;
}

static int
prep_audio(struct bench_step *b)
{
	return rand_digits(b->answer, sizeof(b->answer),
	    b->cfg->captcha_audio_length);
}

static int
make_audio(struct bench_step *b, size_t *len)
{
	unsigned char	*wav;

	if (render_wav(b->audio, b->answer, b->lang, &wav, len) == -1)
		return -1;
	free(wav);
	return 0;
}

/*
 * bench_run: n timed replies after BENCH_WARMUP untimed ones; the medians
 * into *us and *bytes, and a line of the spread.
 */
static int
bench_run(struct bench_step *b, bench_prep prep, bench_make make, long n,
    const char *what, double *med_us, double *med_bytes)
{
	double		*us, *bytes;
	struct timespec	 t0, t1;
	size_t		 len;
	long		 i;
	int		 rc = -1;

	us = calloc((size_t)n, sizeof(*us));
	bytes = calloc((size_t)n, sizeof(*bytes));
	if (us == NULL || bytes == NULL) {
		fprintf(stderr, "vcode-render: out of memory\n");
		goto done;
	}
	for (i = -BENCH_WARMUP; i < n; i++) {
		if (prep(b) == -1) {
			fprintf(stderr, "vcode-render: no randomness\n");
			goto done;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (make(b, &len) == -1) {
			fprintf(stderr, "vcode-render: cannot make %s\n", what);
			goto done;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (i >= 0) {
			us[i] = elapsed_us(&t0, &t1);
			bytes[i] = (double)len;
		}
	}
	qsort(us, (size_t)n, sizeof(*us), cmp_double);
	qsort(bytes, (size_t)n, sizeof(*bytes), cmp_double);
	printf("%s us: min=%.1f p90=%.1f max=%.1f; bytes: min=%.0f p90=%.0f "
	    "max=%.0f\n", what, us[0], us[n * 9 / 10], us[n - 1], bytes[0],
	    bytes[n * 9 / 10], bytes[n - 1]);
	*med_us = us[n / 2];
	*med_bytes = bytes[n / 2];
	rc = 0;
done:
	explicit_bzero(b->answer, sizeof(b->answer));
	explicit_bzero(b->text, sizeof(b->text));
	free(us);
	free(bytes);
	return rc;
}

/*
 * cmd_bench: renders and encodes n captchas, each timed alone (the text
 * drawn outside the timing) and pinned to the CPU we start on so the
 * figures are one core's, then n audio challenges of
 * captcha_audio_length digits in each language. The last line gives the
 * image medians: us_per_image=X bytes_per_image=Y.
 */
static int
cmd_bench(struct render *r, const struct vc_config *cfg, long n)
{
	static const struct { enum render_lang lang; const char *name; }
	    langs[] = { { RENDER_LANG_ZH, "zh" }, { RENDER_LANG_EN, "en" } };
	struct bench_step	 b;
	char			 err[VC_ERR_MAX], what[32];
	double			 img_us, img_bytes, us, bytes;
	cpu_set_t		 set;
	size_t			 i;
	int			 cpu, rc = -1;

	if ((cpu = sched_getcpu()) >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		(void)sched_setaffinity(0, sizeof(set), &set);
	}
	memset(&b, 0, sizeof(b));
	b.r = r;
	b.cfg = cfg;
	printf("images=%ld size=%dx%d length=%d cpu=%d\n", n,
	    cfg->captcha_width, cfg->captcha_height, cfg->captcha_length, cpu);
	if (bench_run(&b, prep_image, make_image, n, "image", &img_us,
	    &img_bytes) == -1)
		return -1;
	if ((b.audio = render_audio_new(err, sizeof(err))) == NULL) {
		fprintf(stderr, "vcode-render: %s\n", err);
		return -1;
	}
	for (i = 0; i < sizeof(langs) / sizeof(langs[0]); i++) {
		b.lang = langs[i].lang;
		snprintf(what, sizeof(what), "audio_%s", langs[i].name);
		if (bench_run(&b, prep_audio, make_audio, n, what, &us,
		    &bytes) == -1)
			goto done;
		printf("audio_%s digits=%d us_per_reply=%.1f "
		    "bytes_per_reply=%.0f\n", langs[i].name,
		    cfg->captcha_audio_length, us, bytes);
	}
	printf("us_per_image=%.1f bytes_per_image=%.0f\n", img_us, img_bytes);
	rc = 0;
done:
	render_audio_free(b.audio);
	return rc;
}

/* ---- Contact sheet. ---- */

/*
 * cmd_sheet: SHEET_SAMPLES captchas with their answers under them, in the
 * captcha font when one is set (a CJK alphabet needs it), else in the
 * built-in sans.
 */
static int
cmd_sheet(struct render *r, const struct vc_config *cfg, const char *out)
{
	struct render_sheet	*s;
	char			 text[VC_CAPTCHA_ANSWER_MAX];
	char			 answer[VC_CAPTCHA_ANSWER_MAX];
	char			 err[VC_ERR_MAX];
	unsigned char		*png;
	size_t			 len;
	int			 i, rc = -1;

	if ((s = render_sheet_new(cfg->captcha_width, cfg->captcha_height,
	    SHEET_SAMPLES, cfg->captcha_font, err, sizeof(err))) == NULL) {
		fprintf(stderr, "vcode-render: %s\n", err);
		return -1;
	}
	for (i = 0; i < SHEET_SAMPLES; i++) {
		if (sample(r, cfg, text, answer, &png, &len) == -1)
			goto done;
		if (render_sheet_add(s, png, len, answer, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "vcode-render: %s\n", err);
			free(png);
			goto done;
		}
		free(png);
	}
	if (render_sheet_write(s, out, err, sizeof(err)) == -1) {
		fprintf(stderr, "vcode-render: %s\n", err);
		goto done;
	}
	rc = 0;
done:
	render_sheet_free(s);
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "bench",	required_argument,	NULL, 'b' },
		{ "sheet",	required_argument,	NULL, 's' },
		{ "blind",	required_argument,	NULL, 'k' },
		{ "score",	required_argument,	NULL, 'S' },
		{ "portable",	no_argument,		NULL, 'p' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct vc_config	 cfg;
	struct render		*r;
	const char		*conf = NULL, *dir = NULL, *sheet = NULL;
	const char		*keyfile = NULL, *score = NULL;
	char			 err[VC_ERR_MAX];
	long			 n = 0, bench = 0;
	int			 ch, rc = 0, portable = 0;

	while ((ch = getopt_long(argc, argv, "c:n:o:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'n':
			if ((n = parse_count(optarg)) == -1) {
				fprintf(stderr, "vcode-render: -n wants 1..%ld"
				    "\n", COUNT_MAX);
				return 2;
			}
			break;
		case 'o':
			dir = optarg;
			break;
		case 'b':
			if ((bench = parse_count(optarg)) == -1) {
				fprintf(stderr, "vcode-render: --bench wants "
				    "1..%ld\n", COUNT_MAX);
				return 2;
			}
			break;
		case 's':
			sheet = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'S':
			score = optarg;
			break;
		case 'p':
			portable = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (score != NULL) {
		if (optind == argc || n > 0 || dir != NULL || bench > 0 ||
		    sheet != NULL || keyfile != NULL) {
			usage(stderr);
			return 2;
		}
		return cmd_score(score, argv + optind, argc - optind) == 0 ?
		    0 : 1;
	}
	if (optind != argc || (n > 0) != (dir != NULL) ||
	    (keyfile != NULL && n == 0) ||
	    (n == 0 && bench == 0 && sheet == NULL)) {
		usage(stderr);
		return 2;
	}
	if (config_load(&cfg, conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "vcode-render: %s\n", err);
		return 1;
	}
	if ((r = render_new(cfg.captcha_width, cfg.captcha_height,
	    cfg.captcha_font, err, sizeof(err))) == NULL ||
	    captcha_font_check(r, &cfg, err, sizeof(err)) == -1 ||
	    render_prewarm(r, err, sizeof(err)) == -1) {
		render_free(r);
		fprintf(stderr, "vcode-render: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	render_portable(r, portable);
	if (n > 0 && cmd_samples(r, &cfg, n, dir, keyfile) == -1)
		rc = 1;
	if (rc == 0 && sheet != NULL && cmd_sheet(r, &cfg, sheet) == -1)
		rc = 1;
	if (rc == 0 && bench > 0 && cmd_bench(r, &cfg, bench) == -1)
		rc = 1;
	render_free(r);
	config_free(&cfg);
	return rc;
}
