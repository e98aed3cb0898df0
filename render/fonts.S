/*
 * fonts.S: the built-in captcha fonts, embedded at build time.
 *
 * Twelve upright faces of eight type designs are copied into .rodata with
 * .incbin, so a running vcoded needs no font file and cannot be broken by a
 * missing package:
 *   fonts-dejavu-core   DejaVu Sans (regular, bold), Sans Mono bold,
 *                       Serif bold (Bitstream Vera licence);
 *   fonts-liberation2   Liberation Sans (regular, bold), Serif bold,
 *                       Mono bold (SIL Open Font Licence 1.1);
 *   fonts-noto-core     Noto Sans (regular, bold), Noto Serif bold,
 *                       Noto Sans Display bold (SIL OFL 1.1).
 * Each file carries its copyright and licence in its name table, as the
 * licences ask of a bundled copy. Only faces whose strokes stay legible
 * at 30 px are taken: the thin ones (Liberation Mono regular, the serif
 * regulars) lose their hairlines when scaled down and warped.
 * DEJAVUDIR, LIBERATIONDIR and NOTODIR are quoted strings given on the
 * command line (-DDEJAVUDIR='"/usr/share/fonts/truetype/dejavu"'); gas
 * does not join adjacent strings, so the path is built inside a macro,
 * where a quoted argument loses its quotes.
 *
 * Exported (declared in util.h):
 *   render_font_table[]  { const unsigned char *data; size_t size; } pairs
 *   render_font_count    number of entries, as a size_t
 */

	.macro	font_blob label, dir, file
	.section .rodata.render_fonts,"a",@progbits
	.balign	16
\label:
	.incbin	"\dir/\file"
\label\()_end:
	.endm

	font_blob .Ldv_sans,	DEJAVUDIR, "DejaVuSans.ttf"
	font_blob .Ldv_sans_b,	DEJAVUDIR, "DejaVuSans-Bold.ttf"
	font_blob .Ldv_mono_b,	DEJAVUDIR, "DejaVuSansMono-Bold.ttf"
	font_blob .Ldv_serif_b,	DEJAVUDIR, "DejaVuSerif-Bold.ttf"
	font_blob .Llb_sans,	LIBERATIONDIR, "LiberationSans-Regular.ttf"
	font_blob .Llb_sans_b,	LIBERATIONDIR, "LiberationSans-Bold.ttf"
	font_blob .Llb_serif_b,	LIBERATIONDIR, "LiberationSerif-Bold.ttf"
	font_blob .Llb_mono_b,	LIBERATIONDIR, "LiberationMono-Bold.ttf"
	font_blob .Lnt_sans,	NOTODIR, "NotoSans-Regular.ttf"
	font_blob .Lnt_sans_b,	NOTODIR, "NotoSans-Bold.ttf"
	font_blob .Lnt_serif_b,	NOTODIR, "NotoSerif-Bold.ttf"
	font_blob .Lnt_disp_b,	NOTODIR, "NotoSansDisplay-Bold.ttf"

/*
 * The table holds addresses, which need load-time relocation in a PIE, so
 * it lives in .data.rel.ro (read-only after relocation), not .rodata.
 * .dc.a is one pointer-sized word on any target.
 */
	.section .data.rel.ro.render_fonts,"aw",@progbits
	.balign	16
	.globl	render_font_table
	.type	render_font_table, @object
render_font_table:
	.dc.a	.Ldv_sans,	.Ldv_sans_end - .Ldv_sans
.Lrow1:
	.dc.a	.Ldv_sans_b,	.Ldv_sans_b_end - .Ldv_sans_b
	.dc.a	.Ldv_mono_b,	.Ldv_mono_b_end - .Ldv_mono_b
	.dc.a	.Ldv_serif_b,	.Ldv_serif_b_end - .Ldv_serif_b
	.dc.a	.Llb_sans,	.Llb_sans_end - .Llb_sans
	.dc.a	.Llb_sans_b,	.Llb_sans_b_end - .Llb_sans_b
	.dc.a	.Llb_serif_b,	.Llb_serif_b_end - .Llb_serif_b
	.dc.a	.Llb_mono_b,	.Llb_mono_b_end - .Llb_mono_b
	.dc.a	.Lnt_sans,	.Lnt_sans_end - .Lnt_sans
	.dc.a	.Lnt_sans_b,	.Lnt_sans_b_end - .Lnt_sans_b
	.dc.a	.Lnt_serif_b,	.Lnt_serif_b_end - .Lnt_serif_b
	.dc.a	.Lnt_disp_b,	.Lnt_disp_b_end - .Lnt_disp_b
.Ltable_end:
	.size	render_font_table, .Ltable_end - render_font_table

	.section .rodata
	.balign	16
	.globl	render_font_count
	.type	render_font_count, @object
render_font_count:
	.dc.a	(.Ltable_end - render_font_table) / (.Lrow1 - render_font_table)
	.size	render_font_count, . - render_font_count

	.section .note.GNU-stack,"",@progbits
