/*
 * libmicrohttpd's functions that http.c calls, loaded when the HTTP
 * endpoint starts (dynlib.h): a launcher without http.listen never maps
 * libmicrohttpd, nor the GnuTLS libraries it depends on.
 *
 * Called as mhd_api.run() where the library's name would be MHD_run();
 * the types are the header's own.
 */
#ifndef FL_MHD_API_H
#define FL_MHD_API_H

#include <microhttpd.h>
#include <stddef.h>

#define MHD_API_SONAME "libmicrohttpd.so.12"
#define MHD_API_PACKAGE "libmicrohttpd12"

struct mhd_api {
	__typeof__(MHD_is_feature_supported) *is_feature_supported;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_get_connection_info) *get_connection_info;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
};

/* Set by mhd_api_load; not to be called before it succeeded. */
extern struct mhd_api mhd_api;

/* Loads libmicrohttpd, once: later calls return 0 at once.  0, or -1 with
 * why in err (the library, its Debian package, the loader's message). */
int mhd_api_load(char *err, size_t errlen);

#endif
