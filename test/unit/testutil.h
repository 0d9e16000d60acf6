/* Small helpers shared by the unit tests: temporary files and directories. */
#ifndef FL_TESTUTIL_H
#define FL_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory under /tmp; removed by the test's teardown. */
static inline char *tu_mkdtemp(void)
{
	char *t = strdup("/tmp/fl-unit-XXXXXX");
	return mkdtemp(t);
}

static inline char *tu_write(const char *dir, const char *name, const char *text)
{
	char *p;
	FILE *fp;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	fp = fopen(p, "w");
	if (fp == NULL)
		return NULL;
	fputs(text, fp);
	fclose(fp);
	return p;
}

static inline void tu_rmrf(const char *dir)
{
	char *cmd;
	if (dir != NULL && strncmp(dir, "/tmp/fl-unit-", 13) == 0 && asprintf(&cmd, "rm -rf '%s'", dir) >= 0) {
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
		free(cmd);
	}
}

#endif
