/*
 * fuzz_config: the configuration parser on any file content (config_load
 * reads a path: the input goes to an in-memory file first), and the dump
 * of what it accepted.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <unistd.h>

#include "core/core.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int		 fd = -1;
	static char		 path[64];
	static FILE		*devnull;
	struct vc_config	 cfg;
	char			 err[VC_ERR_MAX];

	if (fd == -1) {
		if ((fd = memfd_create("vcode-fuzz.conf", 0)) == -1 ||
		    (devnull = fopen("/dev/null", "w")) == NULL)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, len, 0) !=
	    (ssize_t)len)
		abort();
	memset(&cfg, 0, sizeof(cfg));
	if (config_load(&cfg, path, err, sizeof(err)) == 0) {
		config_dump(&cfg, devnull);
		config_free(&cfg);
	} else if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	return 0;
}
