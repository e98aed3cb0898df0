/*
 * sheet.c: contact sheets of captchas (render.h): the PNGs render_png
 * made, decoded into cells of an RGB canvas, each with its label drawn
 * under it by FreeType, and the canvas written as a PNG file by libpng.
 * For looking at the style (vcode-render --sheet), never served.
 */
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include <png.h>

#include "render/render.h"
#include "render/util.h"

#define SHEET_COLS	4
#define SHEET_GAP	8		/* pixels between cells */
#define LABEL_PX_MIN	14		/* label text size */

struct render_sheet {
	unsigned char	*px;		/* RGB */
	int		 w, h;
	int		 width, height;	/* of a captcha */
	int		 count, used;	/* cells */
	int		 label;		/* label size, pixels */
	FT_Library	 ft;
	FT_Face		 face;
};

struct render_sheet *
render_sheet_new(int width, int height, int count, const char *font_path,
    char *err, size_t errlen)
{
	struct render_sheet	*s;
	int			 cellw, cellh, rows;

	if (width < RENDER_WIDTH_MIN || width > RENDER_WIDTH_MAX ||
	    height < RENDER_HEIGHT_MIN || height > RENDER_HEIGHT_MAX ||
	    count < 1 || count > RENDER_SHEET_MAX) {
		render_errf(err, errlen, "sheet of %d captchas of %dx%d: out "
		    "of range", count, width, height);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		render_errf(err, errlen, "out of memory");
		return NULL;
	}
	s->width = width;
	s->height = height;
	s->count = count;
	s->label = height / 2 > LABEL_PX_MIN ? height / 2 : LABEL_PX_MIN;
	cellw = width + SHEET_GAP;
	cellh = height + s->label * 3 / 2 + SHEET_GAP;
	rows = (count + SHEET_COLS - 1) / SHEET_COLS;
	s->w = SHEET_COLS * cellw + SHEET_GAP;
	s->h = rows * cellh + SHEET_GAP;
	if ((s->px = malloc((size_t)s->w * s->h * 3)) == NULL) {
		render_errf(err, errlen, "out of memory");
		goto fail;
	}
	memset(s->px, 255, (size_t)s->w * s->h * 3);
	if (FT_Init_FreeType(&s->ft)) {
		s->ft = NULL;
		render_errf(err, errlen, "FreeType cannot start");
		goto fail;
	}
	if ((font_path != NULL && font_path[0] != '\0' ?
	    FT_New_Face(s->ft, font_path, 0, &s->face) :
	    FT_New_Memory_Face(s->ft, render_font_table[0].data,
	    (FT_Long)render_font_table[0].size, 0, &s->face)) ||
	    FT_Set_Pixel_Sizes(s->face, 0, (FT_UInt)s->label)) {
		render_errf(err, errlen, "cannot load the label font");
		goto fail;
	}
	return s;
fail:
	render_sheet_free(s);
	return NULL;
}

void
render_sheet_free(struct render_sheet *s)
{
	if (s == NULL)
		return;
	if (s->face != NULL)
		FT_Done_Face(s->face);
	if (s->ft != NULL)
		FT_Done_FreeType(s->ft);
	free(s->px);
	free(s);
}

/* put_png: decodes png and copies it to (x, y). 0, or -1 with err. */
static int
put_png(struct render_sheet *s, const unsigned char *png, size_t len,
    int x, int y, char *err, size_t errlen)
{
	png_image	 im;
	unsigned char	*buf;
	int		 row;

	memset(&im, 0, sizeof(im));
	im.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&im, png, len)) {
		render_errf(err, errlen, "a sample does not decode");
		return -1;
	}
	if (im.width != (png_uint_32)s->width ||
	    im.height != (png_uint_32)s->height) {
		png_image_free(&im);
		render_errf(err, errlen, "a sample of %ux%u on a sheet of "
		    "%dx%d captchas", (unsigned)im.width, (unsigned)im.height,
		    s->width, s->height);
		return -1;
	}
	im.format = PNG_FORMAT_RGB;
	if ((buf = malloc(PNG_IMAGE_SIZE(im))) == NULL) {
		png_image_free(&im);
		render_errf(err, errlen, "out of memory");
		return -1;
	}
	if (!png_image_finish_read(&im, NULL, buf, 0, NULL)) {
		free(buf);
		render_errf(err, errlen, "a sample does not decode");
		return -1;
	}
	for (row = 0; row < (int)im.height && y + row < s->h; row++)
		memcpy(s->px + ((size_t)(y + row) * s->w + x) * 3,
		    buf + (size_t)row * im.width * 3, (size_t)im.width * 3);
	free(buf);
	return 0;
}

/* put_label: text in black, centred on (cx, baseline). */
static void
put_label(struct render_sheet *s, const char *text, int cx, int baseline)
{
	FT_Face			 face = s->face;
	const unsigned char	*p;
	int			 pass, pen = 0, start = 0;

	/* Pass 0 measures, pass 1 draws centred. */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			start = cx - pen / 2;
		pen = 0;
		for (p = (const unsigned char *)text; *p != '\0'; ) {
			unsigned long	c = *p;
			int		n = c < 0x80 ? 1 : c < 0xe0 ? 2 :
					    c < 0xf0 ? 3 : 4, k;
			FT_Bitmap	*bm;
			unsigned	 bx, by;

			c &= n == 1 ? 0x7f : n == 2 ? 0x1f : n == 3 ? 0x0f :
			    0x07;
			for (k = 1; k < n && p[k] != '\0'; k++)
				c = (c << 6) | (p[k] & 0x3f);
			p += k;
			if (FT_Load_Char(face, c, FT_LOAD_RENDER))
				continue;
			bm = &face->glyph->bitmap;
			if (pass == 1)
				for (by = 0; by < bm->rows; by++)
					for (bx = 0; bx < bm->width; bx++) {
						int X = start + pen +
						    face->glyph->bitmap_left +
						    (int)bx;
						int Y = baseline -
						    face->glyph->bitmap_top +
						    (int)by;
						unsigned char a = bm->buffer[
						    by * bm->pitch + bx];
						unsigned char *d;

						if (X < 0 || Y < 0 ||
						    X >= s->w || Y >= s->h)
							continue;
						d = s->px + ((size_t)Y * s->w +
						    X) * 3;
						d[0] = d[1] = d[2] = (unsigned
						    char)(d[0] * (255 - a) / 255);
					}
			pen += (int)(face->glyph->advance.x >> 6);
		}
	}
}

int
render_sheet_add(struct render_sheet *s, const unsigned char *png,
    size_t len, const char *label, char *err, size_t errlen)
{
	int	 x, y;

	if (s->used == s->count) {
		render_errf(err, errlen, "the sheet is full");
		return -1;
	}
	x = SHEET_GAP + (s->used % SHEET_COLS) * (s->width + SHEET_GAP);
	y = SHEET_GAP + (s->used / SHEET_COLS) *
	    (s->height + s->label * 3 / 2 + SHEET_GAP);
	if (put_png(s, png, len, x, y, err, errlen) == -1)
		return -1;
	put_label(s, label, x + s->width / 2, y + s->height + s->label * 5 / 4);
	s->used++;
	return 0;
}

int
render_sheet_write(struct render_sheet *s, const char *path, char *err,
    size_t errlen)
{
	png_image	 im;

	memset(&im, 0, sizeof(im));
	im.version = PNG_IMAGE_VERSION;
	im.width = (png_uint_32)s->w;
	im.height = (png_uint_32)s->h;
	im.format = PNG_FORMAT_RGB;
	if (!png_image_write_to_file(&im, path, 0, s->px, 0, NULL)) {
		render_errf(err, errlen, "%s: %s", path, im.message);
		return -1;
	}
	return 0;
}
