/*
 * The HTTP endpoint (see http.h).  libmicrohttpd is called through
 * mhd_api.h, loaded when the endpoint first opens.
 */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "mhd_api.h"

/* the routes whose status is the node's role; their body is the status */
static unsigned role_code(const char *path, const struct http_facts *f)
{
	if (strcmp(path, "/primary") == 0)
		/* in maintenance the broker that serves keeps its traffic, whatever
		 * its checks say while it is worked on */
		return f->master && f->serving && (f->healthy || f->paused) && !f->stopping ? 200 : 503;
	if (strcmp(path, "/replica") == 0)
		return f->slave && f->master_known && f->eligible && !f->stopping ? 200 : 503;
	if (strcmp(path, "/readiness") == 0)
		return f->role_known ? 200 : 503;
	/* answered at all: the loop runs */
	if (strcmp(path, "/health") == 0 || strcmp(path, "/liveness") == 0)
		return 200;
	return 0;
}

struct http_answer http_route(const char *method, const char *path, const struct http_facts *f)
{
	struct http_answer a = {404, HTTP_BODY_NONE};
	unsigned code = role_code(path, f);

	if (code != 0)
		a = (struct http_answer){code, HTTP_BODY_STATUS};
	else if (strcmp(path, "/status") == 0)
		a = (struct http_answer){200, HTTP_BODY_STATUS};
	else if (strcmp(path, "/peers") == 0)
		a = (struct http_answer){200, HTTP_BODY_PEERS};
	else if (strcmp(path, "/metrics") == 0)
		a = (struct http_answer){200, HTTP_BODY_METRICS};
	else if (strcmp(path, "/history") == 0)
		a = (struct http_answer){200, HTTP_BODY_HISTORY};
	/* read-only: a known path with another method is 405, an unknown
	 * one 404 whatever the method */
	if (a.code != 404 && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		a = (struct http_answer){405, HTTP_BODY_NONE};
	return a;
}

int http_listen_wildcard(const char *listen)
{
	return strncmp(listen, "0.0.0.0:", 8) == 0;
}

static enum MHD_Result plain(struct MHD_Connection *conn, unsigned code, const char *text)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = mhd_api.create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
		return MHD_NO;
	mhd_api.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (code == 405)
		mhd_api.add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = mhd_api.queue_response(conn, code, r);
	mhd_api.destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct http *h = cls;
	struct http_facts f = {0};
	struct http_answer a;
	struct ctl_out o = {0};
	struct MHD_Response *r;
	enum MHD_Result rc;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	h->facts(h->ud, &f);
	a = http_route(method, url, &f);
	h->served++;
	if (a.body == HTTP_BODY_NONE)
		/* a request with a body is answered at once; MHD closes the
		 * connection rather than read what was not wanted */
		return plain(conn, a.code, a.code == 405 ? "method not allowed: read-only\n" : "not found\n");
	h->body(h->ud, a.body, &o);
	if (o.overflow || o.p == NULL) {
		free(o.p);
		return plain(conn, 500, "the answer does not fit\n");
	}
	r = mhd_api.create_response_from_buffer(o.len, o.p, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(o.p);
		return MHD_NO;
	}
	mhd_api.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				    a.body == HTTP_BODY_METRICS ? "text/plain; version=0.0.4" : "application/json");
	mhd_api.add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	rc = mhd_api.queue_response(conn, a.code, r);
	mhd_api.destroy_response(r);
	return rc;
}

/* MHD's next deadline, on the loop's timer */
static void rearm(struct http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	ev_timer_stop(h->loop, &h->tm_w);
	if (mhd_api.get_timeout(h->mhd, &ms) == MHD_YES) {
		ev_timer_set(&h->tm_w, (double)ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->tm_w);
	}
}

static unsigned conns_open(struct http *h)
{
	const union MHD_DaemonInfo *i = mhd_api.get_daemon_info(h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return i != NULL ? i->num_connections : 0;
}

/* A run that closed connections runs once more: at its connection limit
 * MHD takes its listening socket out of its epoll set, and puts it back
 * only at the start of a run; after the last connection closed nothing
 * else would call one (no descriptor ready, no timeout), and the endpoint
 * would never accept again. */
static void run(struct http *h)
{
	for (int i = 0; i < 3; i++) {
		unsigned before = conns_open(h);

		if (mhd_api.run(h->mhd) != MHD_YES)
			log_debug("http: MHD_run failed");
		if (conns_open(h) >= before)
			break;
	}
	rearm(h);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	run(w->data);
}

static void tm_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	run(w->data);
}

/* The connections, each with when its current request began: MHD's own
 * timeout is one of idleness, which a byte every few seconds resets, so
 * that max_conns such clients would hold every slot for hours. */
static struct http_conn *conn_slot(struct http *h, const struct MHD_Connection *c)
{
	for (unsigned i = 0; i < h->nconns; i++)
		if (h->conns[i].c == c)
			return &h->conns[i];
	return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http *h = cls;
	struct http_conn *slot;

	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		if ((slot = conn_slot(h, NULL)) == NULL)
			return; /* not above max_conns (MHD's limit) */
		slot->c = c;
		slot->since = ev_now(h->loop);
		if (!ev_is_active(&h->cut_w))
			ev_timer_again(h->loop, &h->cut_w);
	} else if ((slot = conn_slot(h, c)) != NULL)
		slot->c = NULL;
}

/* an answer sent (or a request ended): the next one has its own time */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct http_conn *slot = conn_slot(h, c);

	(void)con_cls;
	(void)toe;
	if (slot != NULL)
		slot->since = ev_now(h->loop);
}

static void cut_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http *h = w->data;
	ev_tstamp now = ev_now(loop);
	int open = 0, cut = 0;

	(void)revents;
	for (unsigned i = 0; i < h->nconns; i++) {
		const union MHD_ConnectionInfo *ci;

		if (h->conns[i].c == NULL)
			continue;
		open = 1;
		if (h->request_s <= 0 || now - h->conns[i].since < h->request_s)
			continue;
		/* MHD has no call to close one connection: a shut socket reads
		 * as the client's end, and MHD closes it on its next run */
		ci = mhd_api.get_connection_info(h->conns[i].c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci != NULL && shutdown(ci->connect_fd, SHUT_RDWR) == 0)
			cut = 1;
	}
	if (!open)
		ev_timer_stop(loop, w);
	if (cut) {
		log_debug("http: a request took more than %.0f s: its connection is closed", h->request_s);
		run(h);
	}
}

/* libmicrohttpd's own messages: its format, its arguments */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_debug("http: %s", line);
}

int http_load_library(char *err, size_t errlen)
{
	return mhd_api_load(err, errlen);
}

int http_open(struct http *h, struct ev_loop *loop, const struct http_params *p, http_facts_fn facts,
	      http_body_fn body, void *ud, char *err, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(p->listen, ':');
	const union MHD_DaemonInfo *info;

	memset(h, 0, sizeof(*h));
	h->loop = loop;
	h->facts = facts;
	h->body = body;
	h->ud = ud;
	if (p->listen[0] == '\0')
		return 0;
	if (colon == NULL || (size_t)(colon - p->listen) >= sizeof(host)) {
		snprintf(err, errlen, "http.listen '%s' is not address:port", p->listen);
		return -1;
	}
	memcpy(host, p->listen, (size_t)(colon - p->listen));
	host[colon - p->listen] = '\0';
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "http.listen '%s': not an IPv4 address", p->listen);
		return -1;
	}
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (http_load_library(err, errlen) != 0)
		return -1;
	/* the loop watches one descriptor: MHD's epoll set (a client gone
	 * mid-answer raises no SIGPIPE: daemon.c ignores it) */
	if (mhd_api.is_feature_supported(MHD_FEATURE_EPOLL) != MHD_YES) {
		snprintf(err, errlen, "http.listen: this libmicrohttpd has no epoll support");
		return -1;
	}
	h->conns = calloc(p->max_conns, sizeof(*h->conns));
	if (h->conns == NULL) {
		snprintf(err, errlen, "HTTP on %s: out of memory", p->listen);
		return -1;
	}
	h->nconns = p->max_conns;
	h->request_s = p->request_s;
	ev_init(&h->cut_w, cut_cb);
	h->cut_w.repeat = 1.;
	h->cut_w.data = h;
	/* no MHD_USE_INTERNAL_POLLING_THREAD: the loop drives MHD_run */
	h->mhd = mhd_api.start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
				      /* first: MHD's messages about the options go here too */
				      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				      MHD_OPTION_CONNECTION_LIMIT, p->max_conns,
				      MHD_OPTION_CONNECTION_TIMEOUT, p->timeout_s,
				      MHD_OPTION_CONNECTION_MEMORY_LIMIT, p->conn_memory,
				      /* a burst of checks waits in the kernel's queue, not
				       * for a SYN retransmission (1 s) */
				      MHD_OPTION_LISTEN_BACKLOG_SIZE, p->max_conns * 4,
				      MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				      MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				      MHD_OPTION_END);
	if (h->mhd == NULL) {
		free(h->conns);
		h->conns = NULL;
		snprintf(err, errlen, "cannot listen on %s for HTTP (in use, or not an address of this host)",
			 p->listen);
		return -1;
	}
	info = mhd_api.get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || info->epoll_fd < 0) {
		mhd_api.stop_daemon(h->mhd);
		h->mhd = NULL;
		free(h->conns);
		h->conns = NULL;
		snprintf(err, errlen, "HTTP on %s: libmicrohttpd has no epoll descriptor", p->listen);
		return -1;
	}
	ev_io_init(&h->io_w, io_cb, info->epoll_fd, EV_READ);
	h->io_w.data = h;
	ev_io_start(loop, &h->io_w);
	ev_init(&h->tm_w, tm_cb);
	h->tm_w.data = h;
	rearm(h);
	return 0;
}

void http_close(struct http *h)
{
	if (h->mhd == NULL)
		return;
	ev_io_stop(h->loop, &h->io_w);
	ev_timer_stop(h->loop, &h->tm_w);
	mhd_api.stop_daemon(h->mhd); /* its connections' notices still come */
	ev_timer_stop(h->loop, &h->cut_w);
	h->mhd = NULL;
	free(h->conns);
	h->conns = NULL;
}
