/*
 * HTTP to etcd's v3 JSON gateway, on the event loop: libcurl's multi
 * interface driven by libev (sockets and its timer), so no request ever
 * blocks the loop that sends heartbeats and renews the fence.
 *
 * A call is one POST and its reply (etcd_call); a stream (etcd_stream, the
 * watch) hands over each line as it comes.  The client keeps one endpoint
 * and moves to the next one when a call cannot reach it; it signs in with
 * user and password when they are set, again when etcd says the token is
 * no longer valid (a member restart forgets every token), and retries the
 * call once.  Bodies come from etcd_codec.h.
 *
 * libcurl is not linked but loaded with the first client (curl_api.h): a
 * launcher with another backend never maps it.
 */
#ifndef FL_ETCD_CLIENT_H
#define FL_ETCD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;

#define ETCD_ENDPOINTS_MAX 8

struct etcd_client_params {
	const char *endpoints[ETCD_ENDPOINTS_MAX]; /* http://host:port or https://... */
	size_t nendpoints;
	const char *ca_file, *cert_file, *key_file; /* NULL: none */
	const char *user, *password;                /* NULL: no authentication */
	uint32_t connect_timeout_ms;
};

enum etcd_result {
	ETCD_DONE,      /* an HTTP reply came: status and body are etcd's */
	ETCD_TRANSPORT, /* no reply: connection refused, reset, timed out, TLS */
	ETCD_TOO_LARGE, /* the reply passed its limit */
	ETCD_CANCELED   /* etcd_cancel or etcd_client_free */
};

struct etcd_done {
	enum etcd_result result;
	long http_status;
	const char *body; /* NUL-terminated; a stream's is what followed its last line */
	size_t len;
	const char *why;  /* for a result other than ETCD_DONE */
	const char *endpoint;
};

typedef void (*etcd_done_fn)(void *ud, const struct etcd_done *d);
typedef void (*etcd_line_fn)(void *ud, const char *line, size_t len);

struct etcd_client;
struct etcd_call;

/* Loads libcurl, which the client calls (curl_api.h): etcd_client_new does
 * it first; a caller may do it before, to tell a missing library from
 * other failures.  0 (at once after the first success), or -1 with why in
 * err. */
int etcd_client_load_library(char *err, size_t errlen);
/* NULL when libcurl cannot be loaded (logged) or out of memory. */
struct etcd_client *etcd_client_new(struct ev_loop *loop, const struct etcd_client_params *p);
/* Every call still open ends with ETCD_CANCELED, without its callback. */
void etcd_client_free(struct etcd_client *c);

/*
 * POST body (malloc'd, taken over, freed by the client) to path
 * ("/v3/kv/range"); done is called once, later, from the loop, unless the
 * call is canceled first.  timeout_ms bounds the whole call.  NULL when it
 * cannot be started (done is not called then).
 */
struct etcd_call *etcd_call(struct etcd_client *c, const char *path, char *body, uint32_t timeout_ms,
			    etcd_done_fn done, void *ud);
/* The same for a stream: line for each line, done when it ends. */
struct etcd_call *etcd_stream(struct etcd_client *c, const char *path, char *body, etcd_line_fn line,
			      etcd_done_fn done, void *ud);
/* Ends a call now; its done is not called. */
void etcd_cancel(struct etcd_call *call);

/* The endpoint calls go to now. */
const char *etcd_client_endpoint(const struct etcd_client *c);
/* This end's IP address (text) on the last connection that got an HTTP
 * reply from etcd; "" before any. */
const char *etcd_client_local_ip(const struct etcd_client *c);

#endif
