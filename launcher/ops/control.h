/*
 * The control socket: a Unix stream socket, one request per connection.
 * Every connection has bounded buffers and a deadline, and at most
 * CONTROL_MAX_CLIENTS are served at once, so a slow or hostile client can
 * neither block the event loop nor starve the others.
 */
#ifndef FL_CONTROL_H
#define FL_CONTROL_H

#include <ev.h>
#include <stddef.h>

#include "ctlproto.h"

#define CONTROL_MAX_CLIENTS 32
#define CONTROL_REPLY_MAX (256 * 1024)
#define CONTROL_DEADLINE_S 5.0

/* A growing response buffer, bounded by CONTROL_REPLY_MAX. */
struct ctl_out {
	char *p;
	size_t len, cap;
	int overflow;
};

void ctl_printf(struct ctl_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prometheus text format: the HELP and TYPE lines of a family (type is
 * "gauge" or "counter"); ctl_metric adds its one unlabelled sample. */
void ctl_metric_head(struct ctl_out *o, const char *name, const char *type, const char *help);
void ctl_metric(struct ctl_out *o, const char *name, const char *type, const char *help, unsigned long long value);

/* Fills out for one parsed request.  Returns 0 ("ok" + body) or -1 (the
 * body is the error reason). */
typedef int (*control_handler)(void *ud, const struct ctl_request *req, struct ctl_out *out);

struct control_client;

struct control {
	struct ev_loop *loop;
	int fd;
	char path[256];
	ev_io accept_w;
	control_handler handler;
	void *ud;
	struct control_client *clients;
	unsigned nclients;
	unsigned long long served, refused;
};

/* Binds path with mode; a stale socket (nobody answers) is replaced, a live
 * one is refused (-2).  0, or -1/-2 with the reason in err. */
int control_open(struct control *c, struct ev_loop *loop, const char *path, unsigned mode, control_handler h,
		 void *ud, char *err, size_t errlen);
void control_close(struct control *c);

#endif
