/*
 * render: captcha text to PNG bytes, digits to spoken WAV bytes, and
 * contact sheets of captchas (for a tool, never served).
 *
 * The one public header of render/. It knows nothing of requests, Redis or
 * configuration files: it is given a size, a font and a UTF-8 text, or
 * digits and a language.
 */
#ifndef VCODE_RENDER_H
#define VCODE_RENDER_H

#include <stddef.h>
#include <stdint.h>

/* What render_new() and render_png() accept; the configuration's bounds
 * are checked against these at build time (core/config.c). */
#define RENDER_WIDTH_MIN	60
#define RENDER_WIDTH_MAX	1024
#define RENDER_HEIGHT_MIN	20
#define RENDER_HEIGHT_MAX	512
#define RENDER_CHARS_MAX	12	/* characters per image */
#define RENDER_AUDIO_DIGITS_MAX	12	/* digits per audio reply */
#define RENDER_SHEET_MAX	64	/* captchas on a contact sheet */

struct render;	/* opaque: fonts, glyph cache, scratch raster */

/*
 * render_new: prepares a renderer for width x height images.
 * font_path NULL or "" uses the font compiled into the binary; otherwise
 * the TrueType/OpenType file at font_path. Returns NULL with a message in
 * err (a missing or broken font file, a size out of range).
 * Free with render_free().
 */
struct render	*render_new(int width, int height, const char *font_path,
		    char *err, size_t errlen);
/*
 * render_check: 0 when the renderer's fonts have a glyph for every
 * character of alphabet (UTF-8); -1 with a message in err naming the first
 * one missing, or the alphabet is not UTF-8. Call it at start-up, so that
 * an alphabet the font cannot show is a configuration error and not a row
 * of empty boxes in front of a user.
 */
int		 render_check(struct render *, const char *alphabet,
		    char *err, size_t errlen);
/*
 * render_prewarm: rasterises printable ASCII in every face now rather
 * than on first use, and makes the PNGs' Huffman code from sample images
 * of the renderer's own (smaller PNGs than the general code that serves
 * until then), for a long-lived worker whose first requests should cost
 * what the later ones do. 0, or -1 with err (out of memory).
 */
int		 render_prewarm(struct render *, char *err, size_t errlen);
/* render_free: releases everything; accepts NULL. */
void		 render_free(struct render *);
/*
 * render_seed: restarts the renderer's random generator from seed and
 * draws its palettes again from it, so that the images that follow are a function of the seed and the texts
 * (tests comparing the pixels of one build with another's, benchmarks).
 * A server never calls it: its generator is seeded from getrandom(2).
 */
void		 render_seed(struct render *, uint64_t seed);

/*
 * render_portable: with on not 0, the renderer's inner loops run their
 * portable versions from now on even where the processor has faster ones
 * (AVX2): the pixels are the same either way, and this is how tests and
 * benchmarks compare the two. Off again with 0.
 */
void		 render_portable(struct render *, int on);

/*
 * render_png: draws text (UTF-8, 1..12 characters) and encodes it as PNG.
 * On success returns 0 and sets *png to a malloc'd buffer of *len bytes
 * that the caller frees. Returns -1 (nothing allocated) on failure.
 * Not thread-safe: one renderer per worker.
 */
int		 render_png(struct render *, const char *text,
		    unsigned char **png, size_t *len);

/* Languages of the audio captcha's spoken digits. */
enum render_lang {
	RENDER_LANG_ZH,		/* Mandarin */
	RENDER_LANG_EN		/* American English */
};

struct render_audio;	/* opaque: clips, random state, scratch */

/*
 * render_audio_new: prepares an audio captcha generator from the spoken
 * digits compiled into the binary (render/clips). Returns NULL with a
 * message in err when memory or randomness is short.
 * Free with render_audio_free().
 */
struct render_audio	*render_audio_new(char *err, size_t errlen);
/* render_audio_free: releases everything; accepts NULL. */
void		 render_audio_free(struct render_audio *);

/*
 * render_wav: speaks digits ("0".."9", 1..12 of them) in lang as a WAV
 * file (PCM, mono, 8000 Hz, 8-bit), with random voices, pacing and
 * background babble, always shorter than 50,000 bytes: long codes are
 * spoken faster. On success returns 0 and sets *wav to a malloc'd buffer
 * of *len bytes that the caller frees. Returns -1 on bad input or no
 * memory, with *wav NULL (nothing allocated).
 * Not thread-safe: one per worker.
 */
int		 render_wav(struct render_audio *, const char *digits,
		    enum render_lang lang, unsigned char **wav, size_t *len);

struct render_sheet;	/* opaque: an RGB canvas and the label face */

/*
 * render_sheet_new: an empty contact sheet of count (1..RENDER_SHEET_MAX)
 * cells, four to a row, for width x height captchas, each to be labelled
 * under it in the font at font_path (NULL or "": the first built-in face)
 * at half the captcha's height, 14 pixels at least. Returns NULL with a
 * message in err (a size out of range, no memory, a font FreeType cannot
 * read). Free with render_sheet_free().
 */
struct render_sheet	*render_sheet_new(int width, int height, int count,
			    const char *font_path, char *err, size_t errlen);
/* render_sheet_free: releases everything; accepts NULL. */
void		 render_sheet_free(struct render_sheet *);
/*
 * render_sheet_add: decodes png (len bytes; a captcha of the sheet's
 * size, as render_png() makes) into the next free cell, with label
 * (UTF-8) centred under it in black. 0, or -1 with a message in err (the
 * sheet is full, the PNG does not decode or has another size).
 */
int		 render_sheet_add(struct render_sheet *,
		    const unsigned char *png, size_t len, const char *label,
		    char *err, size_t errlen);
/*
 * render_sheet_write: the sheet as an RGB PNG file at path (created or
 * replaced), empty cells white. 0, or -1 with a message in err naming
 * path.
 */
int		 render_sheet_write(struct render_sheet *, const char *path,
		    char *err, size_t errlen);

#endif /* VCODE_RENDER_H */
