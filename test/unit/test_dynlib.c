/* Unit tests of the run-time loader: a library that is not there and a
 * function a library lacks give the error an operator can act on; the
 * tables of libcurl and libmicrohttpd find every function they name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "curl_api.h"
#include "dynlib.h"
#include "mhd_api.h"

static void missing_library(void **state)
{
	void *a = &a;
	const struct dynlib_fn fns[] = {{"getpid", &a}};
	char err[512] = "";

	(void)state;
	assert_int_equal(dynlib_load("libfl-absent.so.9", "fl-absent9", fns, 1, err, sizeof(err)), -1);
	assert_null(a);
	/* the library, the package to install, the loader's own words */
	assert_non_null(strstr(err, "cannot load libfl-absent.so.9"));
	assert_non_null(strstr(err, "install the Debian package fl-absent9"));
	assert_non_null(strstr(err, "libfl-absent.so.9: cannot open shared object file"));
}

static void missing_function(void **state)
{
	void *a = NULL, *b = NULL;
	const struct dynlib_fn fns[] = {{"getpid", &a}, {"fl_no_such_function", &b}};
	char err[512] = "";

	(void)state;
	assert_int_equal(dynlib_load("libc.so.6", "libc6", fns, 2, err, sizeof(err)), -1);
	/* all or nothing: no pointer of a library that was not loaded whole */
	assert_null(a);
	assert_null(b);
	assert_non_null(strstr(err, "libc.so.6 has no fl_no_such_function"));
	assert_non_null(strstr(err, "libc6"));
	assert_non_null(strstr(err, "undefined symbol"));
}

static void loads_functions(void **state)
{
	pid_t (*pid)(void) = NULL;
	const struct dynlib_fn fns[] = {{"getpid", (void **)&pid}};
	char err[512] = "";

	(void)state;
	assert_int_equal(dynlib_load("libc.so.6", "libc6", fns, 1, err, sizeof(err)), 0);
	assert_non_null(pid);
	assert_int_equal(pid(), getpid());
}

static void short_error_buffer(void **state)
{
	void *a = NULL;
	const struct dynlib_fn fns[] = {{"getpid", &a}};
	char err[16];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(dynlib_load("libfl-absent.so.9", "fl-absent9", fns, 1, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void curl_table(void **state)
{
	char err[512] = "";
	CURL *e;

	(void)state;
	assert_int_equal(curl_api_load(err, sizeof(err)), 0);
	assert_string_equal(err, "");
	/* once: the second call neither loads nor initializes again */
	assert_int_equal(curl_api_load(err, sizeof(err)), 0);
	assert_string_equal(curl_api.easy_strerror(CURLE_OK), "No error");
	e = curl_api.easy_init();
	assert_non_null(e);
	assert_int_equal(curl_api.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"), CURLE_OK);
	curl_api.easy_cleanup(e);
	assert_non_null(curl_api.multi_socket_action);
	assert_non_null(curl_api.multi_cleanup);
}

static void mhd_table(void **state)
{
	char err[512] = "";

	(void)state;
	assert_int_equal(mhd_api_load(err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(mhd_api_load(err, sizeof(err)), 0);
	/* the endpoint needs epoll (http.c) */
	assert_int_equal(mhd_api.is_feature_supported(MHD_FEATURE_EPOLL), MHD_YES);
	assert_non_null(mhd_api.start_daemon);
	assert_non_null(mhd_api.destroy_response);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(missing_library),
		cmocka_unit_test(missing_function),
		cmocka_unit_test(loads_functions),
		cmocka_unit_test(short_error_buffer),
		cmocka_unit_test(curl_table),
		cmocka_unit_test(mhd_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
