/*
 * libmicrohttpd loaded when the HTTP endpoint starts (see mhd_api.h).
 */
#include "mhd_api.h"

#include "dynlib.h"

struct mhd_api mhd_api;

#define FN(f) {"MHD_" #f, (void **)&mhd_api.f}

static const struct dynlib_fn fns[] = {
	FN(is_feature_supported), FN(start_daemon), FN(stop_daemon), FN(run), FN(get_timeout), FN(get_daemon_info),
	FN(get_connection_info), FN(create_response_from_buffer), FN(add_response_header), FN(queue_response),
	FN(destroy_response),
};

static int ready;

int mhd_api_load(char *err, size_t errlen)
{
	if (ready)
		return 0;
	if (dynlib_load(MHD_API_SONAME, MHD_API_PACKAGE, fns, sizeof(fns) / sizeof(fns[0]), err, errlen) != 0)
		return -1;
	ready = 1;
	return 0;
}
