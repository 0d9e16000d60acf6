/*
 * The control protocol: one request line per connection, one response.
 *
 *   request:  COMMAND [ARG]... '\n'      (at most CTL_LINE_MAX bytes)
 *   response: "ok\n" BODY   or   "error: REASON\n"
 *
 * Pure: parsing and the response framing, no I/O, so a fuzzer can drive it.
 */
#ifndef FL_CTLPROTO_H
#define FL_CTLPROTO_H

#include <stddef.h>

#define CTL_LINE_MAX 1024
#define CTL_ARGS_MAX 8

enum ctl_cmd {
	CTL_STATUS,     /* [--json] */
	CTL_PEERS,      /* [--json] */
	CTL_SWITCHOVER, /* [NODE] */
	CTL_RESIGN,
	CTL_LOCATE,     /* [--uri failover|masterslave] */
	CTL_METRICS,
	CTL_CACHE,      /* get|put|del|list ... (the cache's own parser) */
	CTL_PING,
	CTL_HISTORY,    /* [--json] */
	CTL_PAUSE,      /* maintenance mode, cluster-wide */
	CTL_RESUME,
};

struct ctl_request {
	enum ctl_cmd cmd;
	int json;
	const char *arg;       /* NODE, the URI kind, or the cache subcommand */
	int argc;              /* all words after the command */
	char *argv[CTL_ARGS_MAX];
	char buf[CTL_LINE_MAX + 1];
};

/* Parses one line (without its newline).  0, or -1 with a reason for the
 * client in err. */
int ctl_parse(const char *line, size_t len, struct ctl_request *req, char *err, size_t errlen);

#endif
