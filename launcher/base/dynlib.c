/*
 * Loading a library and its functions at run time (see dynlib.h).
 */
#include "dynlib.h"

#include <dlfcn.h>
#include <stdio.h>

static void clear(const struct dynlib_fn *fns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*fns[i].slot = NULL;
}

int dynlib_load(const char *soname, const char *package, const struct dynlib_fn *fns, size_t n, char *err,
		size_t errlen)
{
	void *h;

	/* RTLD_NOW: a library that lacks a function of its own dependencies
	 * fails here, not in the middle of a call; RTLD_LOCAL: its symbols
	 * stay its own */
	h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		snprintf(err, errlen, "cannot load %s (install the Debian package %s): %s", soname, package, dlerror());
		clear(fns, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *why;

		dlerror();
		*fns[i].slot = dlsym(h, fns[i].name);
		why = dlerror();
		if (*fns[i].slot == NULL) {
			snprintf(err, errlen, "%s has no %s (the Debian package %s is too old?): %s", soname,
				 fns[i].name, package, why != NULL ? why : "its address is NULL");
			clear(fns, n);
			/* no function of it was handed out: nothing of it is in use */
			dlclose(h);
			return -1;
		}
	}
	return 0;
}
