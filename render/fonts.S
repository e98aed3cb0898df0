/*
 * fonts.S: the built-in captcha fonts, embedded at build time.
 *
 * The six upright faces of fonts-dejavu-core are copied into .rodata with
 * .incbin, so a running vcoded needs no font file and cannot be broken by a
 * missing package. FONTDIR is a quoted string given on the command line
 * (-DFONTDIR='"/usr/share/fonts/truetype/dejavu"'); gas does not join
 * adjacent strings, so the path is built inside a macro, where a quoted
 * argument loses its quotes.
 *
 * Exported (declared in render.c only):
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

	font_blob .Lsans,	FONTDIR, "DejaVuSans.ttf"
	font_blob .Lsans_b,	FONTDIR, "DejaVuSans-Bold.ttf"
	font_blob .Lmono,	FONTDIR, "DejaVuSansMono.ttf"
	font_blob .Lmono_b,	FONTDIR, "DejaVuSansMono-Bold.ttf"
	font_blob .Lserif,	FONTDIR, "DejaVuSerif.ttf"
	font_blob .Lserif_b,	FONTDIR, "DejaVuSerif-Bold.ttf"

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
	.dc.a	.Lsans,		.Lsans_end - .Lsans
.Lrow1:
	.dc.a	.Lsans_b,	.Lsans_b_end - .Lsans_b
	.dc.a	.Lmono,		.Lmono_end - .Lmono
	.dc.a	.Lmono_b,	.Lmono_b_end - .Lmono_b
	.dc.a	.Lserif,	.Lserif_end - .Lserif
	.dc.a	.Lserif_b,	.Lserif_b_end - .Lserif_b
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
