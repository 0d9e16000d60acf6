/*
 * libcurl loaded when the first etcd client is made (see curl_api.h).
 */
#include "curl_api.h"

#include <stdio.h>

#include "dynlib.h"

struct curl_api curl_api;

#define FN(f) {"curl_" #f, (void **)&curl_api.f}

static const struct dynlib_fn fns[] = {
	FN(global_init), FN(easy_init), FN(easy_setopt), FN(easy_getinfo), FN(easy_cleanup), FN(easy_strerror),
	FN(slist_append), FN(slist_free_all), FN(multi_init), FN(multi_setopt), FN(multi_add_handle),
	FN(multi_remove_handle), FN(multi_assign), FN(multi_socket_action), FN(multi_info_read), FN(multi_cleanup),
};

static int ready;

int curl_api_load(char *err, size_t errlen)
{
	if (ready)
		return 0;
	if (dynlib_load(CURL_API_SONAME, CURL_API_PACKAGE, fns, sizeof(fns) / sizeof(fns[0]), err, errlen) != 0)
		return -1;
	/* once per process, after the load and before any other call */
	if (curl_api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "%s: libcurl's global initialization failed", CURL_API_SONAME);
		return -1;
	}
	ready = 1;
	return 0;
}
