/*
 * Whole-file reads, and the check of a secret's file.
 */
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(const char *path, char **data, size_t *len)
{
	FILE *fp = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int err = 0;

	if (fp == NULL)
		return -1;
	for (;;) {
		size_t got;
		if (cap - n < 4096) {
			/* grow by half again: a large cache file takes few copies */
			size_t ncap = cap ? cap + cap / 2 : 65536;
			char *p = realloc(buf, ncap);
			if (p == NULL) {
				err = ENOMEM;
				break;
			}
			buf = p;
			cap = ncap;
		}
		got = fread(buf + n, 1, cap - n - 1, fp);
		n += got;
		if (got == 0) {
			if (ferror(fp))
				err = errno ? errno : EIO;
			break;
		}
	}
	fclose(fp);
	if (err != 0) {
		free(buf);
		errno = err;
		return -1;
	}
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int file_check_private(int fd, const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is not a regular file", what, path);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "%s: refused: %s is accessible to group or others (mode %04o); chmod 600 %s", what,
			 path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

int file_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
