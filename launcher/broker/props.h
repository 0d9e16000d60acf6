/*
 * A reader for Java .properties files (the broker's bootstrap.properties):
 * comments (# !), key/value separators (= : or blanks), backslash line
 * continuations and escapes (\t \n \r \f \uXXXX as UTF-8).  Pure: works on a
 * buffer, no I/O.
 */
#ifndef FL_PROPS_H
#define FL_PROPS_H

#include <stddef.h>

/* Called once per key in file order; line is where the entry starts.
 * A non-zero return stops the parse and is returned by props_parse(). */
typedef int (*props_cb)(void *ud, const char *key, const char *value, int line);

/* 0 when every entry was delivered, -1 when out of memory, else the
 * callback's non-zero return. */
int props_parse(const char *buf, size_t len, props_cb cb, void *ud);

#endif
