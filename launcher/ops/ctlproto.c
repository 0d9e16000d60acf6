/*
 * Request parsing.  Words are separated by blanks; there is no quoting: no
 * argument of this protocol needs a blank (node ids and the cache's keys are
 * memcached-style tokens; cache values are given with their length).
 */
#include "ctlproto.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	enum ctl_cmd cmd;
	int max_args;
} commands[] = {
	{"status", CTL_STATUS, 1},  {"peers", CTL_PEERS, 1},   {"switchover", CTL_SWITCHOVER, 1},
	{"resign", CTL_RESIGN, 0},  {"locate", CTL_LOCATE, 2}, {"metrics", CTL_METRICS, 0},
	{"cache", CTL_CACHE, CTL_ARGS_MAX}, {"ping", CTL_PING, 0}, {"history", CTL_HISTORY, 1},
	{"pause", CTL_PAUSE, 0},    {"resume", CTL_RESUME, 0},
};

/* the command names, from the table: one list to keep */
static const char *command_names(char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		int n = snprintf(out + o, len - o, "%s%s", i ? ", " : "", commands[i].name);

		if (n < 0 || (size_t)n >= len - o)
			break;
		o += (size_t)n;
	}
	return out;
}

int ctl_parse(const char *line, size_t len, struct ctl_request *req, char *err, size_t errlen)
{
	char *words[CTL_ARGS_MAX + 1], *save = NULL, *w, names[192];
	int n = 0, max = -1;

	memset(req, 0, sizeof(*req));
	if (len > CTL_LINE_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", CTL_LINE_MAX);
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		snprintf(err, errlen, "request contains a NUL byte");
		return -1;
	}
	memcpy(req->buf, line, len);
	req->buf[len] = '\0';
	if (len > 0 && req->buf[len - 1] == '\r')
		req->buf[len - 1] = '\0';
	for (w = strtok_r(req->buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (n == CTL_ARGS_MAX + 1) {
			snprintf(err, errlen, "too many arguments");
			return -1;
		}
		words[n++] = w;
	}
	if (n == 0) {
		snprintf(err, errlen, "empty request; commands: %s", command_names(names, sizeof(names)));
		return -1;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(words[0], commands[i].name) == 0) {
			req->cmd = commands[i].cmd;
			max = commands[i].max_args;
		}
	if (max < 0) {
		snprintf(err, errlen, "unknown command '%.40s'; commands: %s", words[0], command_names(names, sizeof(names)));
		return -1;
	}
	if (n - 1 > max) {
		snprintf(err, errlen, "%s takes at most %d argument%s", words[0], max, max == 1 ? "" : "s");
		return -1;
	}
	req->argc = n - 1;
	for (int i = 1; i < n; i++)
		req->argv[i - 1] = words[i];
	switch (req->cmd) {
	case CTL_STATUS:
	case CTL_PEERS:
	case CTL_HISTORY:
		if (req->argc == 1 && strcmp(req->argv[0], "--json") != 0) {
			snprintf(err, errlen, "%s takes only --json", words[0]);
			return -1;
		}
		req->json = req->argc == 1;
		break;
	case CTL_SWITCHOVER:
		req->arg = req->argc ? req->argv[0] : NULL;
		break;
	case CTL_LOCATE:
		if (req->argc == 0)
			break;
		if (req->argc != 2 || strcmp(req->argv[0], "--uri") != 0 ||
		    (strcmp(req->argv[1], "failover") != 0 && strcmp(req->argv[1], "masterslave") != 0)) {
			snprintf(err, errlen, "locate takes --uri failover or --uri masterslave");
			return -1;
		}
		req->arg = req->argv[1];
		break;
	case CTL_CACHE:
		if (req->argc == 0) {
			snprintf(err, errlen, "cache needs get, put, del or list");
			return -1;
		}
		req->arg = req->argv[0];
		break;
	default:
		break;
	}
	return 0;
}
