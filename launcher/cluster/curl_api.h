/*
 * libcurl's functions that etcd_client.c calls, loaded at its first
 * client (dynlib.h): a launcher without the etcd backend never maps
 * libcurl, nor the TLS, Kerberos and LDAP libraries it depends on.
 *
 * Called as curl_api.easy_init() where the library's name would be
 * curl_easy_init(); the types are the header's own.
 */
#ifndef FL_CURL_API_H
#define FL_CURL_API_H

#include <curl/curl.h>
#include <stddef.h>

#define CURL_API_SONAME "libcurl.so.4"
#define CURL_API_PACKAGE "libcurl4"

struct curl_api {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_multi_init) *multi_init;
	__typeof__(curl_multi_setopt) *multi_setopt;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_assign) *multi_assign;
	__typeof__(curl_multi_socket_action) *multi_socket_action;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_multi_cleanup) *multi_cleanup;
};

/* Set by curl_api_load; not to be called before it succeeded. */
extern struct curl_api curl_api;

/*
 * Loads libcurl and runs its global initialization, once: later calls
 * return 0 at once.  0, or -1 with why in err (the library, its Debian
 * package, the loader's message).  From the loop's thread, before any
 * other thread uses libcurl.
 */
int curl_api_load(char *err, size_t errlen);

#endif
