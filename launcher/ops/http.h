/*
 * The HTTP endpoint: read-only answers for load balancers (which node is
 * the master, which may take over) and for Prometheus, served by
 * libmicrohttpd on the daemon's event loop.  MHD runs without a thread of
 * its own: its epoll descriptor is watched by an ev_io and its timeouts by
 * an ev_timer, so a request is answered between two events of the loop
 * and a slow or silent client holds nothing but one of max_conns slots.
 *
 * Which status a route gets is http_route(), pure; the bodies are the
 * control socket's writers (report.h, dispatch.h), handed in by the daemon.
 *
 * libmicrohttpd is not linked but loaded when the endpoint opens
 * (mhd_api.h): a launcher without http.listen never maps it.
 */
#ifndef FL_HTTP_H
#define FL_HTTP_H

#include <ev.h>
#include <stddef.h>

#include "control.h"

/* What a route's answer depends on, as the daemon sees it when asked. */
struct http_facts {
	int stopping;     /* SIGTERM received: on the way out */
	int role_known;   /* past listening: slave, candidate or master */
	int master;       /* this node is master */
	int slave;        /* this node follows a master */
	int master_known; /* a master is known (this node or another) */
	int serving;      /* the broker here is ready and serving */
	int healthy;      /* its health checks do not call it unhealthy */
	int eligible;     /* this node may become master (precheck, settings) */
	int paused;       /* maintenance: health verdicts act on nothing */
};

enum http_body {
	HTTP_BODY_NONE,    /* a short reason (404, 405) */
	HTTP_BODY_STATUS,  /* failoverctl status --json */
	HTTP_BODY_PEERS,   /* failoverctl peers --json */
	HTTP_BODY_METRICS, /* failoverctl metrics */
	HTTP_BODY_HISTORY, /* failoverctl history --json */
};

struct http_answer {
	unsigned code;
	enum http_body body;
};

/* The status and body of method on path (the query string already cut
 * off by the HTTP parser).  Pure. */
struct http_answer http_route(const char *method, const char *path, const struct http_facts *f);

/* 1 when listen's host is the wildcard 0.0.0.0: every address answers. */
int http_listen_wildcard(const char *listen);

struct http_params {
	char listen[64];        /* IPv4 address:port (config.c checked it); "": off */
	unsigned max_conns;     /* connections at once */
	unsigned timeout_s;     /* a connection idle this long is closed */
	unsigned request_s;     /* a request not answered in full this long after
				 * the connection or its last answer is cut: a
				 * client that trickles a byte now and then is not
				 * idle (0: no bound) */
	size_t conn_memory;     /* per connection: the request line and headers, the reply's headers */
};

typedef void (*http_facts_fn)(void *ud, struct http_facts *f);
/* Appends the body b to o (its writers are the control socket's). */
typedef void (*http_body_fn)(void *ud, enum http_body b, struct ctl_out *o);

struct MHD_Daemon;

struct http {
	struct ev_loop *loop;
	struct MHD_Daemon *mhd; /* NULL: off */
	ev_io io_w;             /* MHD's epoll descriptor readable */
	ev_timer tm_w;          /* MHD's next timeout */
	ev_timer cut_w;         /* each second while connections are open */
	struct http_conn {
		struct MHD_Connection *c; /* NULL: a free slot */
		ev_tstamp since;          /* its connection, or its last answer */
	} *conns;                       /* max_conns slots */
	unsigned nconns;
	ev_tstamp request_s;
	http_facts_fn facts;
	http_body_fn body;
	void *ud;
	unsigned long long served;
};

/* Loads libmicrohttpd, which the endpoint calls (mhd_api.h): http_open
 * does it when it listens; a caller may do it before, to tell a missing
 * library from other failures.  0 (at once after the first success), or
 * -1 with why in err. */
int http_load_library(char *err, size_t errlen);

/* Starts listening when p->listen is set (else stays off and returns 0,
 * and libmicrohttpd is not loaded).  0, or -1 with the reason in err. */
int http_open(struct http *h, struct ev_loop *loop, const struct http_params *p, http_facts_fn facts,
	      http_body_fn body, void *ud, char *err, size_t errlen);
/* Closes the listener and every connection; off stays off. */
void http_close(struct http *h);

#endif
