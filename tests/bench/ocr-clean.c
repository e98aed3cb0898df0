/*
 * ocr-clean: the clean-up an attacker runs before OCR, for tests/bench/ocr.sh.
 *
 *   ocr-clean OUTDIR FILE.png...
 *
 * Each FILE.png becomes OUTDIR/FILE.png: grayscale, 3x upscale (bilinear),
 * 3x3 median filter, Otsu threshold, and dark text on white whatever the
 * captcha's colours (the larger class is taken as background). Exit 1 on
 * the first file that cannot be read or written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#define UPSCALE	3

static unsigned char
median9(unsigned char *v)
{
	int	i, j;

	/* Insertion sort of nine values; only the middle one is needed. */
	for (i = 1; i < 9; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			unsigned char t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[4];
}

/* otsu: the threshold that best separates the histogram in two classes. */
static int
otsu(const unsigned char *px, size_t n)
{
	double	hist[256] = { 0 }, sum = 0, sumb = 0, wb = 0, best = -1;
	size_t	i;
	int	t, level = 128;

	for (i = 0; i < n; i++)
		hist[px[i]]++;
	for (t = 0; t < 256; t++)
		sum += t * hist[t];
	for (t = 0; t < 256; t++) {
		double wf, mb, mf, between;

		wb += hist[t];
		if (wb == 0)
			continue;
		wf = (double)n - wb;
		if (wf == 0)
			break;
		sumb += t * hist[t];
		mb = sumb / wb;
		mf = (sum - sumb) / wf;
		between = wb * wf * (mb - mf) * (mb - mf);
		if (between > best) {
			best = between;
			level = t;
		}
	}
	return level;
}

static int
clean(const char *in, const char *out)
{
	png_image	 im;
	unsigned char	*g, *up, *med;
	unsigned	 w, h, W, H, x, y;
	size_t		 i, dark = 0;
	int		 level, rc = -1;

	memset(&im, 0, sizeof(im));
	im.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&im, in)) {
		fprintf(stderr, "ocr-clean: %s: %s\n", in, im.message);
		return -1;
	}
	im.format = PNG_FORMAT_GRAY;
	w = im.width;
	h = im.height;
	W = w * UPSCALE;
	H = h * UPSCALE;
	g = malloc((size_t)w * h);
	up = malloc((size_t)W * H);
	med = malloc((size_t)W * H);
	if (g == NULL || up == NULL || med == NULL ||
	    !png_image_finish_read(&im, NULL, g, 0, NULL)) {
		fprintf(stderr, "ocr-clean: %s: cannot decode\n", in);
		goto done;
	}
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++) {
			float fx = (x + 0.5f) / UPSCALE - 0.5f;
			float fy = (y + 0.5f) / UPSCALE - 0.5f;
			int x0 = fx < 0 ? 0 : (int)fx, y0 = fy < 0 ? 0 : (int)fy;
			int x1 = x0 + 1 < (int)w ? x0 + 1 : x0;
			int y1 = y0 + 1 < (int)h ? y0 + 1 : y0;
			float tx = fx - x0, ty = fy - y0;

			tx = tx < 0 ? 0 : tx;
			ty = ty < 0 ? 0 : ty;
			up[(size_t)y * W + x] = (unsigned char)(
			    (g[y0 * w + x0] * (1 - tx) + g[y0 * w + x1] * tx) *
			    (1 - ty) +
			    (g[y1 * w + x0] * (1 - tx) + g[y1 * w + x1] * tx) *
			    ty + 0.5f);
		}
	for (y = 0; y < H; y++)
		for (x = 0; x < W; x++) {
			unsigned char v[9];
			int k = 0, dx, dy;

			for (dy = -1; dy <= 1; dy++)
				for (dx = -1; dx <= 1; dx++) {
					int xx = (int)x + dx, yy = (int)y + dy;

					xx = xx < 0 ? 0 : xx >= (int)W ?
					    (int)W - 1 : xx;
					yy = yy < 0 ? 0 : yy >= (int)H ?
					    (int)H - 1 : yy;
					v[k++] = up[(size_t)yy * W + xx];
				}
			med[(size_t)y * W + x] = median9(v);
		}
	level = otsu(med, (size_t)W * H);
	for (i = 0; i < (size_t)W * H; i++)
		dark += med[i] <= level;
	/* Background is the larger class; it becomes white. */
	for (i = 0; i < (size_t)W * H; i++) {
		int is_dark = med[i] <= level;

		med[i] = (is_dark == (dark * 2 > (size_t)W * H)) ? 255 : 0;
	}
	memset(&im, 0, sizeof(im));
	im.version = PNG_IMAGE_VERSION;
	im.width = W;
	im.height = H;
	im.format = PNG_FORMAT_GRAY;
	if (!png_image_write_to_file(&im, out, 0, med, 0, NULL)) {
		fprintf(stderr, "ocr-clean: %s: %s\n", out, im.message);
		goto done;
	}
	rc = 0;
done:
	free(g);
	free(up);
	free(med);
	return rc;
}

int
main(int argc, char *argv[])
{
	char		 out[4096];
	const char	*base;
	int		 i;

	if (argc < 3) {
		fprintf(stderr, "usage: ocr-clean OUTDIR FILE.png...\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		base = strrchr(argv[i], '/');
		base = base ? base + 1 : argv[i];
		snprintf(out, sizeof(out), "%s/%s", argv[1], base);
		if (clean(argv[i], out) == -1)
			return 1;
	}
	return 0;
}
