/*
 * Control socket server.  Each client: read one line (bounded), hand it to
 * the handler, write the whole reply without blocking, close.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

struct control_client {
	struct control *c;
	struct control_client *next;
	int fd;
	ev_io w;
	ev_timer deadline;
	char in[CTL_LINE_MAX + 2];
	size_t inlen;
	struct ctl_out out;
	size_t sent;
	int writing;
	int draining; /* answered: reading to the client's end, so it gets no reset */
};

/* Reads and drops what is already there, without waiting: 0 when the
 * client has closed or failed, 1 when it may send more. */
static int drain(int fd)
{
	char scratch[4096];

	for (int i = 0; i < 64; i++) {
		ssize_t n = read(fd, scratch, sizeof(scratch));

		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && errno == EAGAIN ? 1 : 0;
	}
	return 1;
}

void ctl_printf(struct ctl_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	for (;;) {
		size_t room = o->cap - o->len;
		va_start(ap, fmt);
		n = vsnprintf(o->p ? o->p + o->len : NULL, o->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		if (o->len + (size_t)n + 1 > CONTROL_REPLY_MAX) {
			o->overflow = 1;
			return;
		}
		{
			size_t cap = o->cap ? o->cap : 1024;
			char *p;
			while (cap < o->len + (size_t)n + 1)
				cap *= 2;
			p = realloc(o->p, cap);
			if (p == NULL) {
				o->overflow = 1;
				return;
			}
			o->p = p;
			o->cap = cap;
		}
	}
}

void ctl_metric_head(struct ctl_out *o, const char *name, const char *type, const char *help)
{
	ctl_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void ctl_metric(struct ctl_out *o, const char *name, const char *type, const char *help, unsigned long long value)
{
	ctl_metric_head(o, name, type, help);
	ctl_printf(o, "%s %llu\n", name, value);
}

static void client_free(struct control_client *cl)
{
	struct control *c = cl->c;
	struct control_client **pp;

	ev_io_stop(c->loop, &cl->w);
	ev_timer_stop(c->loop, &cl->deadline);
	close(cl->fd);
	for (pp = &c->clients; *pp; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	c->nclients--;
	free(cl->out.p);
	free(cl);
}

static void start_reply(struct control_client *cl, int ok, const struct ctl_out *body)
{
	struct ctl_out o = {0};

	if (ok && !body->overflow)
		ctl_printf(&o, "ok\n%.*s", (int)body->len, body->p ? body->p : "");
	else if (body->overflow)
		ctl_printf(&o, "error: reply too large\n");
	else
		ctl_printf(&o, "error: %.*s\n", (int)body->len, body->p ? body->p : "failed");
	cl->out = o;
	cl->sent = 0;
	cl->writing = 1;
	ev_io_stop(cl->c->loop, &cl->w);
	ev_io_set(&cl->w, cl->fd, EV_WRITE);
	ev_io_start(cl->c->loop, &cl->w);
}

static void handle_line(struct control_client *cl, size_t len)
{
	struct ctl_request req;
	struct ctl_out body = {0};
	char err[256];
	int ok;

	if (ctl_parse(cl->in, len, &req, err, sizeof(err)) != 0) {
		ctl_printf(&body, "%s", err);
		ok = 0;
	} else {
		ok = cl->c->handler(cl->c->ud, &req, &body) == 0;
	}
	start_reply(cl, ok, &body);
	free(body.p);
}

static void client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control_client *cl = w->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	if (cl->draining) {
		if (drain(cl->fd) == 0)
			client_free(cl);
		return;
	}
	if (cl->writing) {
		n = write(cl->fd, cl->out.p + cl->sent, cl->out.len - cl->sent);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			client_free(cl);
			return;
		}
		cl->sent += (size_t)n;
		if (cl->sent == cl->out.len) {
			cl->c->served++;
			/* a close with unread input resets the connection, and the
			 * client may lose the answer (an over-long request, say):
			 * the end of the answer is signalled, and what the client
			 * still sends is read until it closes (or the deadline) */
			shutdown(cl->fd, SHUT_WR);
			if (drain(cl->fd) == 0) {
				client_free(cl);
				return;
			}
			cl->writing = 0;
			cl->draining = 1;
			ev_io_stop(cl->c->loop, &cl->w);
			ev_io_set(&cl->w, cl->fd, EV_READ);
			ev_io_start(cl->c->loop, &cl->w);
		}
		return;
	}
	n = read(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - 1 - cl->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(cl); /* gone before a full line */
		return;
	}
	cl->inlen += (size_t)n;
	{
		char *nl = memchr(cl->in, '\n', cl->inlen);
		if (nl != NULL) {
			handle_line(cl, (size_t)(nl - cl->in));
		} else if (cl->inlen >= sizeof(cl->in) - 1) {
			struct ctl_out body = {0};
			ctl_printf(&body, "request longer than %d bytes", CTL_LINE_MAX);
			start_reply(cl, 0, &body);
			free(body.p);
		}
	}
}

static void deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control_client *cl = w->data;

	(void)loop;
	(void)revents;
	client_free(cl);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *c = w->data;

	(void)revents;
	/* a bounded batch per wakeup */
	for (int i = 0; i < 16; i++) {
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct control_client *cl;

		if (fd < 0)
			return;
		if (c->nclients >= CONTROL_MAX_CLIENTS) {
			static const char busy[] = "error: too many clients; try again\n";
			(void)!write(fd, busy, sizeof(busy) - 1);
			/* its request, if already here, read: no reset to lose the line */
			shutdown(fd, SHUT_WR);
			(void)drain(fd);
			close(fd);
			c->refused++;
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (cl == NULL) {
			close(fd);
			continue;
		}
		cl->c = c;
		cl->fd = fd;
		cl->next = c->clients;
		c->clients = cl;
		c->nclients++;
		ev_io_init(&cl->w, client_cb, fd, EV_READ);
		cl->w.data = cl;
		ev_io_start(loop, &cl->w);
		ev_timer_init(&cl->deadline, deadline_cb, CONTROL_DEADLINE_S, 0.);
		cl->deadline.data = cl;
		ev_timer_start(loop, &cl->deadline);
	}
}

/* Someone answers on path: a running launcher. */
static int socket_live(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), live;

	if (fd < 0)
		return 0;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	live = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return live;
}

int control_open(struct control *c, struct ev_loop *loop, const char *path, unsigned mode, control_handler h,
		 void *ud, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->loop = loop;
	c->handler = h;
	c->ud = ud;
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "control.socket: %s is longer than %zu bytes", path, sizeof(a.sun_path) - 1);
		return -1;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control.socket: %s exists and is not a socket", path);
			return -1;
		}
		if (socket_live(path)) {
			snprintf(err, errlen, "control.socket: %s is in use by a running launcher; give each its own",
				 path);
			return -2;
		}
		unlink(path); /* stale, from a crash */
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	/* never reachable by others, not even between bind and chmod */
	old = umask(0777 & ~mode);
	if (bind(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 || chmod(path, mode) != 0 || listen(c->fd, 16) != 0) {
		snprintf(err, errlen, "control.socket: %s: %s", path, strerror(errno));
		umask(old);
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	umask(old);
	ev_io_init(&c->accept_w, accept_cb, c->fd, EV_READ);
	c->accept_w.data = c;
	ev_io_start(loop, &c->accept_w);
	return 0;
}

void control_close(struct control *c)
{
	if (c->fd < 0)
		return;
	while (c->clients)
		client_free(c->clients);
	ev_io_stop(c->loop, &c->accept_w);
	close(c->fd);
	unlink(c->path);
	c->fd = -1;
}
