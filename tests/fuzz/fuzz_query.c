/*
 * fuzz_query: the query string's percent-decoding (query_get, with the
 * field names the flows ask for and an out buffer of each size that
 * matters) and the route path (route_path: SCRIPT_NAME, PATH_INFO and a
 * mount). Input fields: query, name, script, path info, mount.
 */
#include "core/internal.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const names[] = { "uuid", "code_id", "image_code",
	    "pre", "lang", "" };
	static const size_t	 sizes[] = { 1, 2, 9, 17, 65, 2049 };
	struct fields		 fs;
	char			 out[2049], path[VC_PATH_MAX];
	size_t			 i, k;
	int			 rc;

	if (fields_cut(&fs, data, len, 5) == -1)
		return 0;
	if (fs.f[0] != NULL) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
				rc = query_get(fs.f[0], names[i], out,
				    sizes[k]);
				if (rc == 1 && strlen(out) >= sizes[k])
					abort();
			}
		if (fs.f[1] != NULL)
			(void)query_get(fs.f[0], fs.f[1], out, sizeof(out));
	}
	rc = route_path(fs.f[4], fs.f[2], fs.f[3], path, sizeof(path));
	if (rc == 0 && (path[0] != '/' || strlen(path) >= sizeof(path)))
		abort();
	fields_free(&fs);
	return 0;
}
