/*
 * A shared library loaded when it is first needed, not at start.
 *
 * libcurl (the etcd backend) and libmicrohttpd (the HTTP endpoint) are
 * needed by some configurations only.  Linked, they and the TLS stack
 * under them were mapped, and in part resident, in every launcher: a
 * slave's RSS was 10 MiB with them, 4.2 MiB without.  Their users instead
 * load them by SONAME and call through a table of pointers filled here
 * (curl_api.h, mhd_api.h).  A library loaded with all its functions stays loaded:
 * nothing is unloaded, so the pointers, and the handles the library gave
 * out, stay valid for the life of the process.
 */
#ifndef FL_DYNLIB_H
#define FL_DYNLIB_H

#include <stddef.h>

/* One function wanted: its name in the library, and where its address goes. */
struct dynlib_fn {
	const char *name;
	void **slot;
};

/*
 * Loads the library soname ("libcurl.so.4") and sets every fns[i].slot.
 * 0, or -1 with every slot NULL and the reason in err: the library, the
 * Debian package that ships it, and the dynamic loader's own words.
 */
int dynlib_load(const char *soname, const char *package, const struct dynlib_fn *fns, size_t n, char *err,
		size_t errlen);

#endif
