/*
 * Unit tests of route_path (README, "What it serves"): SCRIPT_NAME + PATH_INFO, nginx
 * and CGI style, minus the mount prefix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/core.h"
#include "core/internal.h"

#define S(p)	((p) ? "\"" : ""), ((p) ? (p) : "NULL"), ((p) ? "\"" : "")

static void
expect_route(const char *mount, const char *script, const char *info,
    const char *want)
{
	char out[VC_PATH_MAX + 1];
	int r;

	memset(out, 0, sizeof(out));
	r = route_path(mount, script, info, out, sizeof(out));
	if (r != 0)
		fail_msg("route_path(%s%s%s, %s%s%s, %s%s%s): expected 0 and "
		    "\"%s\", saw %d", S(mount), S(script), S(info), want, r);
	if (strcmp(out, want) != 0)
		fail_msg("route_path(%s%s%s, %s%s%s, %s%s%s): expected \"%s\", "
		    "saw \"%s\"", S(mount), S(script), S(info), want, out);
}

/* want: -1 (not under the mount) or -2 (too long for out). */
static void
expect_refused_as(int want, const char *mount, const char *script,
    const char *info, char *out, size_t outlen)
{
	int r = route_path(mount, script, info, out, outlen);

	if (r != want)
		fail_msg("route_path(%s%s%s, %.40s..., %s%s%s, outlen %zu): "
		    "expected %d, saw %d (\"%.40s\")", S(mount),
		    script ? script : "NULL", S(info), outlen, want, r,
		    r == 0 ? out : "");
}
#define expect_refused(...)	expect_refused_as(-1, __VA_ARGS__)
#define expect_too_long(...)	expect_refused_as(-2, __VA_ARGS__)

/* nginx: fastcgi_params passes the whole path in SCRIPT_NAME. */
static void
test_nginx_style(void **state)
{
	(void)state;
	expect_route("", "/image_codes/abc/", NULL, "/image_codes/abc/");
	expect_route("", "/image_codes/abc/", "", "/image_codes/abc/");
	expect_route("", "/healthz", NULL, "/healthz");
	expect_route("", "/sms_codes/13812341234/verify", "",
	    "/sms_codes/13812341234/verify");
}

/* A CGI host: the program in SCRIPT_NAME, the route in PATH_INFO. */
static void
test_cgi_style(void **state)
{
	(void)state;
	expect_route("/cgi-bin/vcode.cgi", "/cgi-bin/vcode.cgi",
	    "/image_codes/abc/", "/image_codes/abc/");
	expect_route("/cgi-bin/vcode.cgi", "/cgi-bin/vcode.cgi", "/healthz",
	    "/healthz");
	/* No mount configured: the joined path is the route. */
	expect_route("", "/cgi-bin/vcode.cgi", "/healthz",
	    "/cgi-bin/vcode.cgi/healthz");
	/* SCRIPT_NAME may be absent. */
	expect_route("", NULL, "/healthz", "/healthz");
}

static void
test_mount_prefix(void **state)
{
	(void)state;
	expect_route("/api", "/api/healthz", NULL, "/healthz");
	expect_route("/api", "/api/image_codes/abc/", "", "/image_codes/abc/");
	expect_route("/api", "/api", "/sms_codes/13812341234/",
	    "/sms_codes/13812341234/");
	expect_route("/a/b", "/a/b/passport/image_code", NULL,
	    "/passport/image_code");
	/* A trailing slash on the mount changes nothing. */
	expect_route("/api/", "/api/healthz", NULL, "/healthz");
}

static void
test_outside_mount(void **state)
{
	char out[VC_PATH_MAX + 1];

	(void)state;
	expect_refused("/api", "/healthz", NULL, out, sizeof(out));
	expect_refused("/api", "/other/healthz", NULL, out, sizeof(out));
	expect_refused("/api", "/ap", "/healthz", out, sizeof(out));
	/* A prefix only counts at a segment boundary. */
	expect_refused("/api", "/apix/healthz", NULL, out, sizeof(out));
	expect_refused("/cgi-bin/vcode.cgi", "/cgi-bin/vcode.cgix",
	    "/healthz", out, sizeof(out));
}

static void
test_overlong(void **state)
{
	char out[VC_PATH_MAX + 1], small[8], *big, *half;
	size_t n = 4 * VC_PATH_MAX;

	(void)state;
	big = malloc(n + 1);
	half = malloc(VC_PATH_MAX / 2 + 2);
	assert_non_null(big);
	assert_non_null(half);
	big[0] = '/';
	memset(big + 1, 'a', n - 1);
	big[n] = '\0';
	expect_too_long("", big, NULL, out, sizeof(out));
	expect_too_long("", "/x", big, out, sizeof(out));
	expect_too_long("/api", "/api", big, out, sizeof(out));

	/* A route of exactly VC_PATH_MAX bytes fits out; one more does not. */
	big[VC_PATH_MAX] = '\0';
	assert_int_equal(route_path("", big, NULL, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), VC_PATH_MAX);
	big[VC_PATH_MAX] = 'a';
	big[VC_PATH_MAX + 1] = '\0';
	expect_too_long("", big, NULL, out, sizeof(out));

	/* Each half fits, the two joined do not. */
	half[0] = '/';
	memset(half + 1, 'b', VC_PATH_MAX / 2);
	half[VC_PATH_MAX / 2 + 1] = '\0';
	expect_too_long("", half, half, out, sizeof(out));
	free(half);
	free(big);

	/* The caller's buffer: one byte short, then exactly enough. */
	expect_too_long("", "/healthz", NULL, small, sizeof(small));
	assert_int_equal(route_path("", "/healthz", NULL, out, 9), 0);
	assert_string_equal(out, "/healthz");
	expect_too_long("", "/image_codes/abc/", NULL, out, 17);
	assert_int_equal(route_path("", "/image_codes/abc/", NULL, out, 18), 0);
	assert_string_equal(out, "/image_codes/abc/");
	expect_too_long("", "/image_", "codes/abc/", out, 17);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nginx_style),
		cmocka_unit_test(test_cgi_style),
		cmocka_unit_test(test_mount_prefix),
		cmocka_unit_test(test_outside_mount),
		cmocka_unit_test(test_overlong),
	};

	return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
