/*
 * tests/bench/deflate.c: the captcha PNG's deflate, four ways, on the
 * same rows (make benchdeflate).
 *
 *   deflate DIR
 *
 * Reads every PNG of DIR (vcode-render -n N -o DIR), takes its rows as
 * the PNG holds them (a filter byte, then the packed indices) and deflates
 * all of them, ROUNDS times, with:
 *   - zlib, level 9, Z_RLE, memLevel 5 (what libpng was given before);
 *   - libdeflate, level 1 (its fastest);
 *   - ISA-L, level 0, its general Huffman code (a renderer never
 *     prewarmed: a CGI process);
 *   - ISA-L, level 0, a Huffman code made from the first HUFF_FROM
 *     images (what render_prewarm does with images of its own).
 * Prints, for each, the fastest round's microseconds an image and the mean
 * bytes; every output is inflated again and compared with its rows.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <png.h>
#include <zlib.h>

#define IMAGES_MAX	2000
#define ROWS_MAX	(64 * 1024)
#define ROUNDS		20
#define HUFF_FROM	16

struct rows {
	unsigned char	*b;
	size_t		 n;
};

static struct rows	 rows[IMAGES_MAX];
static int		 nrows;
static unsigned char	 out[2 * ROWS_MAX], back[ROWS_MAX];
static z_stream		 zs;
static struct isal_zstream	 is;
static struct isal_hufftables	 own;
static struct libdeflate_compressor	*ld;
static struct libdeflate_decompressor	*ldd;

static double
now(void)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* load: the rows of one PNG, or -1. */
static int
load(const char *path, struct rows *r)
{
	png_structp	 png;
	png_infop	 info;
	FILE		*fp;
	size_t		 rb, y, h;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	info = png_create_info_struct(png);
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_read_struct(&png, &info, NULL);
		fclose(fp);
		return -1;
	}
	png_init_io(png, fp);
	png_read_info(png, info);
	h = png_get_image_height(png, info);
	rb = png_get_rowbytes(png, info);
	if ((rb + 1) * h > ROWS_MAX || (r->b = malloc((rb + 1) * h)) == NULL)
		png_error(png, "too large");
	for (y = 0; y < h; y++) {
		r->b[y * (rb + 1)] = 0;
		png_read_row(png, r->b + y * (rb + 1) + 1, NULL);
	}
	r->n = (rb + 1) * h;
	png_destroy_read_struct(&png, &info, NULL);
	fclose(fp);
	return 0;
}

/* One image with each encoder: the zlib stream's length in out, or 0. */
static size_t
with_zlib(const struct rows *r)
{
	deflateReset(&zs);
	zs.next_in = r->b;
	zs.avail_in = (uInt)r->n;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	return deflate(&zs, Z_FINISH) == Z_STREAM_END ? zs.total_out : 0;
}

static size_t
with_libdeflate(const struct rows *r)
{
	return libdeflate_zlib_compress(ld, r->b, r->n, out, sizeof(out));
}

static size_t
with_isal(const struct rows *r, struct isal_hufftables *h)
{
	isal_deflate_stateless_init(&is);
	is.level = 0;
	is.gzip_flag = IGZIP_ZLIB;
	if (h != NULL)
		is.hufftables = h;
	is.end_of_stream = 1;
	is.flush = NO_FLUSH;
	is.next_in = r->b;
	is.avail_in = (uint32_t)r->n;
	is.next_out = out;
	is.avail_out = sizeof(out);
	return isal_deflate_stateless(&is) == COMP_OK ? is.total_out : 0;
}

static size_t
with_isal_general(const struct rows *r)
{
	return with_isal(r, NULL);
}

static size_t
with_isal_own(const struct rows *r)
{
	return with_isal(r, &own);
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char	*name;
		size_t		(*fn)(const struct rows *);
	} enc[] = {
		{ "zlib level 9, Z_RLE, memLevel 5", with_zlib },
		{ "libdeflate level 1", with_libdeflate },
		{ "ISA-L level 0, general code", with_isal_general },
		{ "ISA-L level 0, code from 16 images", with_isal_own },
	};
	struct isal_huff_histogram	 hist;
	struct dirent			*e;
	char				 path[4096];
	size_t				 k, n, bytes;
	double				 t, best;
	DIR				*d;
	int				 i, round;

	if (argc != 2 || (d = opendir(argv[1])) == NULL) {
		fprintf(stderr, "usage: deflate DIR (of PNGs)\n");
		return 2;
	}
	while ((e = readdir(d)) != NULL && nrows < IMAGES_MAX) {
		n = strlen(e->d_name);
		if (n < 4 || strcmp(e->d_name + n - 4, ".png") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], e->d_name);
		if (load(path, &rows[nrows]) == 0)
			nrows++;
	}
	closedir(d);
	if (nrows <= HUFF_FROM) {
		fprintf(stderr, "deflate: want more than %d PNGs in %s\n",
		    HUFF_FROM, argv[1]);
		return 1;
	}
	deflateInit2(&zs, 9, Z_DEFLATED, 15, 5, Z_RLE);
	ld = libdeflate_alloc_compressor(1);
	ldd = libdeflate_alloc_decompressor();
	memset(&hist, 0, sizeof(hist));
	for (i = 0; i < HUFF_FROM; i++)
		isal_update_histogram(rows[i].b, (int)rows[i].n, &hist);
	if (ld == NULL || ldd == NULL || isal_create_hufftables(&own, &hist)) {
		fprintf(stderr, "deflate: an encoder did not start\n");
		return 1;
	}
	printf("deflate: %d images of %zu bytes of rows, fastest of %d "
	    "rounds\n", nrows, rows[0].n, ROUNDS);
	for (k = 0; k < sizeof(enc) / sizeof(enc[0]); k++) {
		best = 1e9;
		bytes = 0;
		for (round = 0; round < ROUNDS; round++) {
			t = now();
			for (i = 0; i < nrows; i++)
				if ((n = enc[k].fn(&rows[i])) == 0) {
					fprintf(stderr, "deflate: %s failed\n",
					    enc[k].name);
					return 1;
				} else if (round == 0)
					bytes += n;
			t = (now() - t) / nrows * 1e6;
			best = t < best ? t : best;
		}
		/* Each encoder's output must inflate to the rows again. */
		for (i = 0; i < nrows; i++) {
			n = enc[k].fn(&rows[i]);
			if (libdeflate_zlib_decompress(ldd, out, n, back,
			    sizeof(back), &n) != LIBDEFLATE_SUCCESS ||
			    n != rows[i].n || memcmp(back, rows[i].b, n) != 0) {
				fprintf(stderr, "deflate: %s: image %d does "
				    "not inflate to its rows\n", enc[k].name, i);
				return 1;
			}
		}
		printf("deflate: %-36s %6.2f us an image, %4zu bytes\n",
		    enc[k].name, best, bytes / nrows);
	}
	return 0;
}
