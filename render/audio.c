/*
 * audio.c: captcha digits to WAV bytes, the audio captcha.
 *
 * Pipeline of one reply (render_wav):
 *   1. plan: each digit gets a random recording (render/clips.S: three
 *      pitches times two speeds of espeak-ng speech), a random resampling
 *      factor, which moves pitch and tempo together, and a random gain;
 *      a random lead-in, random pauses between digits and a tail go
 *      around them. When the whole would not fit WAV_BYTES_MAX, the
 *      pauses shrink toward their minimum and, if that is not enough
 *      (long codes), all the digits are sped up alike;
 *   2. from the end of the lead-in to the tail, two streams of
 *      "babble": other digits of the same voice, played backwards
 *      BABBLE_DB under the spoken ones, so that neither a template
 *      matcher nor a recogniser can find the digits by looking for the
 *      only speech in the reply, while a person still hears them clearly
 *      (they stand about 17 dB above babble and noise together);
 *   3. the digits on top, each resampled from the clip rate to 8000 Hz by
 *      linear interpolation (the clips are band-limited below 3.6 kHz, so
 *      this does not alias);
 *   4. pink noise at NOISE_DB over the whole reply, added while the mix
 *      is written as 8-bit unsigned PCM behind a 44-byte WAV header,
 *      through a soft clipper that leaves everything below KNEE alone
 *      (nearly every sample) and never reaches full scale, so nothing
 *      wraps around.
 *
 * Once per render_audio, the clips are decoded to float at a common
 * loudness and NOISE_LEN samples of pink noise are made (3.3 MB in all);
 * a reply reads the noise from two random places, and allocates nothing
 * but the buffer it returns. Six digits take about 0.3 ms of a 2 GHz
 * core. The library never prints and never exits.
 */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "render/util.h"

/* The spoken digits, from render/clips.S. */
struct clip_blob {
	const unsigned char	*data;
	size_t			 size;
};
extern const struct clip_blob	render_clip_table[];
extern const size_t		render_clip_count;
extern const size_t		render_clip_variants;
extern const size_t		render_clip_rate;

/* ---- Limits and format. ---- */
#define LANGS			2	/* enum render_lang */
#define DIGITS_MAX		RENDER_AUDIO_DIGITS_MAX
#define VARIANTS_MAX		16	/* recordings of one digit */
#define CLIP_RATE_MIN		8000
#define CLIP_RATE_MAX		48000
#define CLIP_SAMPLES_MAX	(2 * CLIP_RATE_MAX)	/* 2 s a clip */
#define WAV_RATE		8000
#define WAV_HEADER		44
#define WAV_BYTES_MAX		50000	/* a reply is shorter than this */
/* Samples a reply may have: 8-bit mono, and even, so no RIFF pad byte. */
#define SAMPLES_MAX		((WAV_BYTES_MAX - 1 - WAV_HEADER) & ~1)

/* ---- Pacing, in seconds. ---- */
#define LEAD_MIN		0.25	/* noise only, before the first digit */
#define LEAD_MAX		0.35
#define GAP_MIN			0.30	/* between digits */
#define GAP_MAX			0.60
#define TAIL			0.25	/* after the last digit */
/* What the pauses may shrink to when a reply is over budget. */
#define LEAD_FLOOR		0.15
#define GAP_FLOOR		0.12
#define TAIL_FLOOR		0.10

/* ---- Variation and levels. ---- */
#define FACTOR_MIN		0.88f	/* resampling: >1 higher and faster */
#define FACTOR_MAX		1.12f
/* A clip's loudness (RMS, of full scale), unless its peak would pass
 * DIGIT_PEAK; the background levels are relative to DIGIT_RMS. */
#define DIGIT_RMS		0.20f
#define DIGIT_PEAK		0.80f
#define GAIN_DB			1.5f	/* digit gain, either way */
#define BABBLE_STREAMS		2
#define BABBLE_DB		(-20.0f)	/* a stream, to DIGIT_RMS */
#define BABBLE_GAIN_DB		3.0f	/* either way, per babble clip */
#define BABBLE_FACTOR_MIN	0.80f
#define BABBLE_FACTOR_MAX	1.25f
#define BABBLE_GAP_MAX		0.08	/* seconds between babble clips */
#define NOISE_DB		(-28.0f)	/* to DIGIT_RMS */
#define KNEE			0.80f	/* of full scale: soft clipping above */
#define NOISE_LEN		65536	/* samples of noise made at start */
#define NOISE_WARMUP		4096	/* filter settling, thrown away */

#define FRAC_BITS		16	/* resampling positions, fixed point */
#define FRAC_ONE		(1u << FRAC_BITS)

/* One recording, at DIGIT_RMS loudness, pcm[len] 0 for interpolation. */
struct clip {
	const float	*pcm;
	uint32_t	 len;
};

/* One digit of a reply as planned. */
struct seg {
	const struct clip	*clip;
	uint32_t		 step;	/* clip samples per output, FRAC_BITS */
	uint32_t		 n;	/* output samples */
	float			 gain;
};

struct render_audio {
	struct clip	 clips[LANGS][10][VARIANTS_MAX];
	int		 variants;
	double		 ratio;		/* clip rate / WAV_RATE */
	float		*pcm;		/* every clip, padded */
	float		*noise;		/* NOISE_LEN + SAMPLES_MAX, unit RMS */
	float		*mix;		/* SAMPLES_MAX */
	uint64_t	 rng;
};

/* ---- Small helpers. ---- */

/* Seconds to output samples, rounded. */
static uint32_t
samples(double secs)
{
	return (uint32_t)(secs * WAV_RATE + 0.5);
}

static float
db(float d)
{
	return powf(10.0f, d / 20.0f);
}

static void
put16(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static void
put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/*
 * noise_make: fills a->noise with pink noise of unit RMS, NOISE_LEN
 * samples and then the first SAMPLES_MAX of them again, so that a reply
 * reads any NOISE_LEN offset without wrapping. Paul Kellet's economy
 * filter: -3 dB an octave within 1 dB over the audio band.
 */
static void
noise_make(struct render_audio *a)
{
	float		 b0 = 0, b1 = 0, b2 = 0, w, *p = a->noise;
	double		 sum = 0;
	float		 g;
	int		 i;

	for (i = -NOISE_WARMUP; i < NOISE_LEN; i++) {
		w = (float)(int32_t)rnd_u32(&a->rng) * (1.0f / 2147483648.0f);
		b0 = 0.99765f * b0 + 0.0990460f * w;
		b1 = 0.96300f * b1 + 0.2965164f * w;
		b2 = 0.57000f * b2 + 1.0526913f * w;
		if (i >= 0) {
			p[i] = b0 + b1 + b2 + 0.1848f * w;
			sum += (double)p[i] * p[i];
		}
	}
	g = (float)(1.0 / sqrt(sum / NOISE_LEN));
	for (i = 0; i < NOISE_LEN; i++)
		p[i] *= g;
	memcpy(p + NOISE_LEN, p, SAMPLES_MAX * sizeof(*p));
}

/* ---- Mixing. ---- */

/*
 * clip_out: output samples of a clip of len samples read every step
 * (FRAC_BITS fixed point): the last one reads at most position len - 1.
 */
static uint32_t
clip_out(uint32_t len, uint32_t step)
{
	return (uint32_t)((((uint64_t)len - 1) << FRAC_BITS) / step) + 1;
}

/*
 * clip_add: adds n samples of c, read every step (FRAC_BITS fixed point)
 * from the start, times gain, to out. Linear interpolation; the zero
 * after the clip is the one sample read past its end.
 */
static void
clip_add(float *out, const struct clip *c, uint32_t step, uint32_t n,
    float gain)
{
	const float	*p;
	uint64_t	 pos = 0;
	uint32_t	 i;
	float		 f;

	for (i = 0; i < n; i++, pos += step) {
		p = c->pcm + (pos >> FRAC_BITS);
		f = (float)(pos & (FRAC_ONE - 1)) * (1.0f / FRAC_ONE);
		out[i] += gain * (p[0] + f * (p[1] - p[0]));
	}
}

/*
 * clip_add_reversed: adds n samples of c, backwards from its end, read
 * every step, times gain, to out. Nearest sample: this is background,
 * and the error is far below it.
 */
static void
clip_add_reversed(float *out, const struct clip *c, uint32_t step,
    uint32_t n, float gain)
{
	const float	*end = c->pcm + c->len - 1;
	uint64_t	 pos = FRAC_ONE / 2;
	uint32_t	 i;

	for (i = 0; i < n; i++, pos += step)
		out[i] += gain * *(end - (pos >> FRAC_BITS));
}

/*
 * soft_clip: x unchanged up to KNEE, above it bent smoothly (the slope
 * stays continuous) toward 1, which it never reaches; odd.
 */
static float
soft_clip(float x)
{
	float	t, m = fabsf(x);

	if (m <= KNEE)
		return x;
	t = (m - KNEE) / (1.0f - KNEE);
	m = KNEE + (1.0f - KNEE) * t / (1.0f + t);
	return x < 0 ? -m : m;
}

/*
 * pcm_write: n samples of mix plus noise at NOISE_DB, as 8-bit offset
 * binary into q. The noise is two stretches of the noise made at
 * start-up, from random places and in random proportions, so that no two
 * replies share theirs.
 */
static void
pcm_write(struct render_audio *a, const float *mix, uint32_t n,
    unsigned char *q)
{
	const float	*p = a->noise + rnd_below(&a->rng, NOISE_LEN);
	const float	*r = a->noise + rnd_below(&a->rng, NOISE_LEN);
	float		 level = DIGIT_RMS * db(NOISE_DB);
	float		 g = rnd_range(&a->rng, 0.3f, 0.95f);
	float		 h = sqrtf(1.0f - g * g);	/* unit RMS together */
	float		 x;
	uint32_t	 i;

	g *= level;
	h *= rnd_u32(&a->rng) & 1 ? level : -level;
	for (i = 0; i < n; i++) {
		x = soft_clip(mix[i] + g * p[i] + h * r[i]);
		/* |x| < 1: 1..255 after truncation, rounded by the .5 */
		q[i] = (unsigned char)(int)(x * 127.0f + 128.5f);
	}
}

/*
 * babble_add: one stream of random clips of lang, backwards, one after
 * another with short random gaps, over out[0..n). Only whole clips are
 * played, so none is cut off with a click.
 */
static void
babble_add(struct render_audio *a, float *out, uint32_t n,
    enum render_lang lang)
{
	const struct clip	*c;
	uint32_t		 at, step, len;
	float			 g;

	at = (uint32_t)rnd_below(&a->rng, (int)samples(BABBLE_GAP_MAX) + 1);
	for (;;) {
		c = &a->clips[lang][rnd_below(&a->rng, 10)][rnd_below(&a->rng,
		    a->variants)];
		step = (uint32_t)lrint(a->ratio * FRAC_ONE * rnd_range(&a->rng,
		    BABBLE_FACTOR_MIN, BABBLE_FACTOR_MAX));
		len = clip_out(c->len, step);
		if (at >= n || len > n - at)
			break;
		g = db(BABBLE_DB + rnd_range(&a->rng, -BABBLE_GAIN_DB,
		    BABBLE_GAIN_DB));
		clip_add_reversed(out + at, c, step, len, g);
		at += len + (uint32_t)rnd_below(&a->rng,
		    (int)samples(BABBLE_GAP_MAX) + 1);
	}
}

/* ---- Planning. ---- */

/*
 * plan: picks a recording, step and gain for each of the nd digits, and
 * the lead-in, gaps and tail (output samples), so that everything adds
 * up to at most SAMPLES_MAX. Returns the total, an even number of
 * samples, or 0 when it cannot fit (which the limits rule out).
 */
static uint32_t
plan(struct render_audio *a, const char *digits, int nd,
    enum render_lang lang, struct seg *seg, uint32_t *lead, uint32_t *gap,
    uint32_t *tail)
{
	uint64_t	 speech = 0, pause, least, room, total;
	double		 r, s;
	int		 i, tries;

	for (i = 0; i < nd; i++) {
		seg[i].clip = &a->clips[lang][digits[i] - '0'][rnd_below(&a->rng,
		    a->variants)];
		seg[i].step = (uint32_t)lrint(a->ratio * FRAC_ONE *
		    rnd_range(&a->rng, FACTOR_MIN, FACTOR_MAX));
		seg[i].n = clip_out(seg[i].clip->len, seg[i].step);
		seg[i].gain = db(rnd_range(&a->rng, -GAIN_DB, GAIN_DB));
		speech += seg[i].n;
	}
	*lead = samples(rnd_range(&a->rng, LEAD_MIN, LEAD_MAX));
	*tail = samples(TAIL);
	pause = *lead + *tail;
	for (i = 0; i < nd - 1; i++)
		pause += gap[i] = samples(rnd_range(&a->rng, GAP_MIN, GAP_MAX));
	least = samples(LEAD_FLOOR) + samples(TAIL_FLOOR) +
	    (uint64_t)(nd - 1) * samples(GAP_FLOOR);

	if (speech + pause > SAMPLES_MAX && speech + least <= SAMPLES_MAX) {
		/* Every pause gives up the same share of its slack. */
		r = (double)(SAMPLES_MAX - speech - least) / (pause - least);
		*lead = samples(LEAD_FLOOR) + (uint32_t)((*lead -
		    samples(LEAD_FLOOR)) * r);
		*tail = samples(TAIL_FLOOR) + (uint32_t)((*tail -
		    samples(TAIL_FLOOR)) * r);
		for (i = 0; i < nd - 1; i++)
			gap[i] = samples(GAP_FLOOR) + (uint32_t)((gap[i] -
			    samples(GAP_FLOOR)) * r);
	} else if (speech + pause > SAMPLES_MAX) {
		/* Shortest pauses, and the digits faster, all alike. */
		*lead = samples(LEAD_FLOOR);
		*tail = samples(TAIL_FLOOR);
		for (i = 0; i < nd - 1; i++)
			gap[i] = samples(GAP_FLOOR);
		room = SAMPLES_MAX - least;
		for (tries = 0; speech > room; tries++) {
			if (tries == 8)
				return 0;
			s = (double)speech / room * 1.001;
			for (speech = 0, i = 0; i < nd; i++) {
				seg[i].step = (uint32_t)ceil(seg[i].step * s);
				seg[i].n = clip_out(seg[i].clip->len,
				    seg[i].step);
				speech += seg[i].n;
			}
		}
	}

	total = *lead + *tail + speech;
	for (i = 0; i < nd - 1; i++)
		total += gap[i];
	if (total > SAMPLES_MAX)
		return 0;
	if (total & 1) {	/* SAMPLES_MAX is even: there is room */
		(*tail)++;
		total++;
	}
	return (uint32_t)total;
}

/* ---- Public. ---- */

struct render_audio *
render_audio_new(char *err, size_t errlen)
{
	struct render_audio	*a;
	const struct clip_blob	*b;
	struct clip		*c;
	float			*p, scale;
	size_t			 i, total = 0;
	double			 sum, peak, v, rms;
	uint32_t		 k;
	int			 lang, d, var;

	if (render_clip_variants == 0 || render_clip_variants > VARIANTS_MAX ||
	    render_clip_count != LANGS * 10 * render_clip_variants ||
	    render_clip_rate < CLIP_RATE_MIN ||
	    render_clip_rate > CLIP_RATE_MAX) {
		render_errf(err, errlen, "built-in clips: %zu clips of %zu variants "
		    "at %zu Hz do not make %d languages of 10 digits",
		    render_clip_count, render_clip_variants, render_clip_rate,
		    LANGS);
		return NULL;
	}
	for (i = 0; i < render_clip_count; i++) {
		b = &render_clip_table[i];
		if (b->size < 4 || b->size % 2 != 0 ||
		    b->size / 2 > CLIP_SAMPLES_MAX) {
			render_errf(err, errlen, "built-in clip %zu: %zu bytes is "
			    "not a clip", i, b->size);
			return NULL;
		}
		total += b->size / 2 + 1;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		render_errf(err, errlen, "out of memory");
		return NULL;
	}
	a->variants = (int)render_clip_variants;
	a->ratio = (double)render_clip_rate / WAV_RATE;
	a->pcm = calloc(total, sizeof(*a->pcm));
	a->noise = calloc(NOISE_LEN + SAMPLES_MAX, sizeof(*a->noise));
	a->mix = calloc(SAMPLES_MAX, sizeof(*a->mix));
	if (a->pcm == NULL || a->noise == NULL || a->mix == NULL) {
		render_errf(err, errlen, "out of memory");
		goto fail;
	}
	if (rnd_seed(&a->rng) == -1) {
		render_errf(err, errlen, "getrandom: %s", strerror(errno));
		goto fail;
	}
	noise_make(a);

	/* Little-endian int16 to float, each followed by a zero. */
	p = a->pcm;
	for (i = 0; i < render_clip_count; i++) {
		b = &render_clip_table[i];
		lang = (int)(i / (10 * render_clip_variants));
		d = (int)(i / render_clip_variants % 10);
		var = (int)(i % render_clip_variants);
		c = &a->clips[lang][d][var];
		c->pcm = p;
		c->len = (uint32_t)(b->size / 2);
		sum = peak = 0;
		for (k = 0; k < c->len; k++) {
			p[k] = (float)(int16_t)(uint16_t)(b->data[2 * k] |
			    b->data[2 * k + 1] << 8);
			v = fabs((double)p[k]);
			sum += v * v;
			peak = v > peak ? v : peak;
		}
		rms = sqrt(sum / c->len);
		if (rms == 0) {
			render_errf(err, errlen, "built-in clip %zu is silent", i);
			goto fail;
		}
		/* Alike in loudness, unless that would make a peak clip. */
		scale = (float)(DIGIT_RMS / rms);
		if (peak * scale > DIGIT_PEAK)
			scale = (float)(DIGIT_PEAK / peak);
		for (k = 0; k < c->len; k++)
			p[k] *= scale;
		p += c->len + 1;
	}
	return a;
fail:
	render_audio_free(a);
	return NULL;
}

void
render_audio_free(struct render_audio *a)
{
	if (a == NULL)
		return;
	free(a->pcm);
	free(a->noise);
	free(a->mix);
	free(a);
}

int
render_wav(struct render_audio *a, const char *digits, enum render_lang lang,
    unsigned char **wav, size_t *len)
{
	struct seg	 seg[DIGITS_MAX];
	uint32_t	 gap[DIGITS_MAX], lead, tail, total, at;
	unsigned char	*out;
	float		*mix;
	int		 nd, v;

	if (wav != NULL)
		*wav = NULL;
	if (len != NULL)
		*len = 0;
	if (a == NULL || digits == NULL || wav == NULL || len == NULL ||
	    (lang != RENDER_LANG_ZH && lang != RENDER_LANG_EN))
		return -1;
	for (nd = 0; digits[nd] != '\0'; nd++)
		if (nd == DIGITS_MAX || digits[nd] < '0' || digits[nd] > '9')
			return -1;
	if (nd == 0)
		return -1;
	if ((total = plan(a, digits, nd, lang, seg, &lead, gap, &tail)) == 0)
		return -1;
	if ((out = malloc(WAV_HEADER + total)) == NULL)
		return -1;

	mix = a->mix;
	memset(mix, 0, total * sizeof(*mix));
	for (v = 0; v < BABBLE_STREAMS; v++)
		babble_add(a, mix + lead, total - lead - tail, lang);
	for (at = lead, v = 0; v < nd; v++) {
		clip_add(mix + at, seg[v].clip, seg[v].step, seg[v].n,
		    seg[v].gain);
		at += seg[v].n + (v < nd - 1 ? gap[v] : 0);
	}

	memcpy(out, "RIFF", 4);
	put32(out + 4, 36 + total);
	memcpy(out + 8, "WAVEfmt ", 8);
	put32(out + 16, 16);			/* fmt chunk size */
	put16(out + 20, 1);			/* PCM */
	put16(out + 22, 1);			/* mono */
	put32(out + 24, WAV_RATE);
	put32(out + 28, WAV_RATE);		/* bytes a second */
	put16(out + 32, 1);			/* bytes a frame */
	put16(out + 34, 8);			/* bits a sample */
	memcpy(out + 36, "data", 4);
	put32(out + 40, total);
	pcm_write(a, mix, total, out + WAV_HEADER);
	*wav = out;
	*len = WAV_HEADER + total;
	return 0;
}
