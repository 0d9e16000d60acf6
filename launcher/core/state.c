/*
 * State directory files.  Small and rarely written, except the status file,
 * which changes with the role and is written without fsync: it describes
 * the running process and means nothing after a crash.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "wire.h"

int state_mkdir(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path))
		return -1;
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(path, 0750) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

int state_write_file(const char *path, const char *text, size_t len, int sync)
{
	char tmp[4200];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG; /* not a temporary file of another name */
		return -1;
	}
	return state_write_file_via(path, tmp, text, len, sync);
}

int state_write_file_via(const char *path, const char *tmp, const char *text, size_t len, int sync)
{
	int fd, err;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (file_write_all(fd, text, len) != 0 || (sync && fsync(fd) != 0)) {
		err = errno;
		close(fd);
		unlink(tmp);
		errno = err;
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

static int read_small(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "re");
	size_t n;

	if (fp == NULL)
		return -1;
	n = fread(buf, 1, len - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int state_node_id(const char *dir, const char *configured, char *out, size_t outlen, char *err, size_t errlen)
{
	char path[4200], buf[128], host[64];
	unsigned char rnd[3];
	size_t h = 0;

	if (*configured != '\0') {
		if (!wire_valid_id(configured)) {
			snprintf(err, errlen, "cluster.node: '%s' is not a node id; allowed 1..32 of A-Z a-z 0-9 . _ : -",
				 configured);
			return -1;
		}
		snprintf(out, outlen, "%s", configured);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/node-id", dir);
	if (read_small(path, buf, sizeof(buf)) == 0 && wire_valid_id(buf)) {
		snprintf(out, outlen, "%s", buf);
		return 0;
	}
	/* hostname plus a random suffix: readable, unique on a shared host */
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "node");
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p && h < 24; p++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_", *p))
			buf[h++] = *p == '.' ? '-' : *p;
	buf[h] = '\0';
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	snprintf(out, outlen, "%s%s%02x%02x%02x", buf, h ? "-" : "node-", rnd[0], rnd[1], rnd[2]);
	snprintf(buf, sizeof(buf), "%s\n", out);
	if (state_write_file(path, buf, strlen(buf), 1) != 0) {
		snprintf(err, errlen, "cannot keep the node id in %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A file of state_dir holding one decimal number (0 when absent). */
static uint64_t read_number(const char *dir, const char *name)
{
	char path[4200], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_small(path, buf, sizeof(buf)) != 0)
		return 0;
	return strtoull(buf, NULL, 10);
}

static int write_number(const char *dir, const char *name, uint64_t v)
{
	char path[4200], buf[64];
	int n = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)v);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return state_write_file(path, buf, (size_t)n, 1);
}

uint64_t state_read_term(const char *dir)
{
	return read_number(dir, "term");
}

int state_write_term(const char *dir, uint64_t term)
{
	return write_number(dir, "term", term);
}

int state_read_election(const char *dir, uint64_t *max_term, uint64_t *voted_term, char *voted_for, size_t len)
{
	char path[4200], buf[512], *line, *save = NULL;

	*max_term = *voted_term = 0;
	voted_for[0] = '\0';
	snprintf(path, sizeof(path), "%s/election", dir);
	if (read_small(path, buf, sizeof(buf)) != 0)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "max_term") == 0)
			*max_term = strtoull(eq, NULL, 10);
		else if (strcmp(line, "voted_term") == 0)
			*voted_term = strtoull(eq, NULL, 10);
		else if (strcmp(line, "voted_for") == 0 && wire_valid_id(eq))
			snprintf(voted_for, len, "%s", eq);
	}
	return 0;
}

/* A rename is durable once its directory is. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int state_write_election(const char *dir, uint64_t max_term, uint64_t voted_term, const char *voted_for)
{
	char path[4200], buf[160];
	int n = snprintf(buf, sizeof(buf), "max_term=%llu\nvoted_term=%llu\nvoted_for=%s\n", (unsigned long long)max_term,
			 (unsigned long long)voted_term, voted_for);

	snprintf(path, sizeof(path), "%s/election", dir);
	if (n < 0 || (size_t)n >= sizeof(buf) || state_write_file(path, buf, (size_t)n, 1) != 0)
		return -1;
	if (state_write_term(dir, max_term) != 0)
		return -1;
	return sync_dir(dir);
}

uint64_t state_read_boot(const char *dir)
{
	return read_number(dir, "boot");
}

int state_write_boot(const char *dir, uint64_t boot)
{
	return write_number(dir, "boot", boot);
}
