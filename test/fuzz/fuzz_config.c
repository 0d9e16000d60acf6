/* libFuzzer harness for the configuration loader: the input is an INI file
 * (and the same bytes as a bootstrap.properties it names), loaded, checked
 * and dumped; errors are fine, crashes and leaks are not. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	char ini[128], props[128];
	struct config *c;
	FILE *fp;
	char *env[] = {NULL};

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fl-fuzz-config-%d", (int)getpid());
		mkdir(dir, 0700);
	}
	snprintf(ini, sizeof(ini), "%s/f.ini", dir);
	snprintf(props, sizeof(props), "%s/bootstrap.properties", dir);
	fp = fopen(props, "w");
	if (fp == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	fp = fopen(ini, "w");
	if (fp == NULL)
		return 0;
	/* the fuzzed bytes, then a section that points at them as properties */
	fwrite(data, 1, size, fp);
	fprintf(fp, "\n[broker]\nbootstrap = %s\n", props);
	fclose(fp);
	c = config_new();
	if (c == NULL)
		return 0;
	if (config_load(c, ini, NULL, env) == 0) {
		FILE *null = fopen("/dev/null", "w");
		config_dump(c, null);
		fclose(null);
	}
	config_free(c);
	unlink(ini);
	unlink(props);
	return 0;
}
