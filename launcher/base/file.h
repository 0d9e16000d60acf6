/*
 * Reading a whole file into memory: the cache file at start-up, the
 * broker's bootstrap properties.  One loop, with its errors reported
 * instead of passed on as a short read.
 */
#ifndef FL_FILE_H
#define FL_FILE_H

#include <stddef.h>

/* Reads the file at path into a malloc'd buffer, with a NUL after the
 * *len bytes read (not counted).  0, or -1 with errno set (ENOENT: no such
 * file; ENOMEM; or the error of the read). */
int file_read_all(const char *path, char **data, size_t *len);

/* Writes all N bytes to FD: 0, or -1 with the write's own errno (a short
 * write, a full disk, is followed by the one that says why; EIO if write
 * returns 0). */
int file_write_all(int fd, const void *p, size_t n);

/* A secret's file, open as fd: a regular file nobody but its owner may
 * read or write (mode 0600 or stricter).  0, or -1 with why in err, named
 * by what ("cluster.key_file"). */
int file_check_private(int fd, const char *path, const char *what, char *err, size_t errlen);

#endif
