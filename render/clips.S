/*
 * clips.S: the spoken digits of the audio captcha, embedded at build time.
 *
 * render/clips/LANG-DIGIT-VARIANT.raw, made by render/clips.sh (espeak-ng
 * and sox) and committed, are copied into .rodata with .incbin, as
 * fonts.S does with the fonts. Each is raw PCM: signed 16-bit
 * little-endian, mono, CLIP_RATE Hz. CLIPDIR is a quoted string given on
 * the command line (-DCLIPDIR='"/path/to/render/clips"'); it reaches the
 * path inside a macro, where a quoted argument loses its quotes.
 *
 * Exported (declared in audio.c only):
 *   render_clip_table[]   { const unsigned char *data; size_t size; }
 *                         pairs, row (lang * 10 + digit) * variants +
 *                         variant - 1, lang 0 Mandarin (zh) and 1 English
 *                         (en) as in enum render_lang
 *   render_clip_count     rows, as a size_t
 *   render_clip_variants  variants of each digit, as a size_t
 *   render_clip_rate      sample rate in Hz, as a size_t
 *
 * The rate and the three lists below must match clips.sh.
 */
#define CLIP_RATE	16000
#define LANGS		zh, en
#define DIGITS		0, 1, 2, 3, 4, 5, 6, 7, 8, 9
#define VARIANTS	1, 2, 3, 4, 5, 6

	.macro	clip_blob dir, lang, d, v
	.section .rodata.render_clips,"a",@progbits
	.balign	16
.Lclip_\lang\()_\d\()_\v:
	.incbin	"\dir/\lang-\d-\v\().raw"
.Lclip_\lang\()_\d\()_\v\()_end:
	.endm

	.macro	clip_row lang, d, v
	.dc.a	.Lclip_\lang\()_\d\()_\v
	.dc.a	.Lclip_\lang\()_\d\()_\v\()_end - .Lclip_\lang\()_\d\()_\v
	.set	.Lrows, .Lrows + 1
	.endm

	.irp	lang, LANGS
	.irp	d, DIGITS
	.irp	v, VARIANTS
	clip_blob CLIPDIR, \lang, \d, \v
	.endr
	.endr
	.endr

/* Addresses need load-time relocation in a PIE: .data.rel.ro, as fonts.S. */
	.section .data.rel.ro.render_clips,"aw",@progbits
	.balign	16
	.globl	render_clip_table
	.type	render_clip_table, @object
	.set	.Lrows, 0
render_clip_table:
	.irp	lang, LANGS
	.irp	d, DIGITS
	.irp	v, VARIANTS
	clip_row \lang, \d, \v
	.endr
	.endr
	.endr
	.size	render_clip_table, . - render_clip_table

	.set	.Lvariants, 0
	.irp	v, VARIANTS
	.set	.Lvariants, .Lvariants + 1
	.endr

	.section .rodata
	.balign	16
	.globl	render_clip_count, render_clip_variants, render_clip_rate
	.type	render_clip_count, @object
	.type	render_clip_variants, @object
	.type	render_clip_rate, @object
render_clip_count:
	.dc.a	.Lrows
	.size	render_clip_count, . - render_clip_count
render_clip_variants:
	.dc.a	.Lvariants
	.size	render_clip_variants, . - render_clip_variants
render_clip_rate:
	.dc.a	CLIP_RATE
	.size	render_clip_rate, . - render_clip_rate

	.section .note.GNU-stack,"",@progbits
