/*
 * libcurl's multi interface on libev (etcd_client.h).
 *
 * libcurl tells which sockets to watch (sock_cb) and when to call it back
 * (timer_cb); libev watches them and calls curl_multi_socket_action.  No
 * code of ours runs inside a libcurl callback except copying bytes: calls
 * end, and stream lines go out, after curl_multi_socket_action returns
 * (dispatch), so a callback may start, cancel or end any call.  A call
 * ended while dispatching is freed when dispatching is over.
 */
#include "etcd_client.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "curl_api.h"
#include "etcd_codec.h"
#include "log.h"

/* what a reply or a stream line may hold: etcd's replies to us are a
 * few kB (a range of the node records of a large cluster) */
#define ETCD_REPLY_MAX (4u << 20)
#define ETCD_AUTH_TIMEOUT_MS 5000
#define ETCD_TOKEN_MAX 512

struct etcd_call {
	struct etcd_client *c;
	CURL *easy;
	struct curl_slist *hdrs;
	char *path, *body;
	uint32_t timeout_ms;
	etcd_done_fn done;
	etcd_line_fn line;
	void *ud;
	char *data; /* the reply so far, or a stream's bytes not yet delivered */
	size_t len, cap;
	int too_large;
	int retried;  /* signed in again for it once already */
	int is_auth;  /* the sign-in itself */
	int dead;     /* ended: freed after the dispatch */
	size_t endpoint;
	struct etcd_call *next;
	char errbuf[CURL_ERROR_SIZE];
};

struct sock {
	ev_io io;
	struct etcd_client *c;
	struct sock *next, **pprev; /* every socket libcurl gave us */
};

struct etcd_client {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	char *endpoints[ETCD_ENDPOINTS_MAX];
	size_t nendpoints, cur;
	char *ca_file, *cert_file, *key_file, *user, *password;
	uint32_t connect_timeout_ms;
	char token[ETCD_TOKEN_MAX];
	struct etcd_call *auth;    /* a sign-in under way */
	struct etcd_call *calls;   /* every call not freed yet */
	struct sock *socks;
	int dispatching;
	/* this end's address on the last connection that reached etcd: the
	 * address on the network the nodes share (etcd_client_local_ip) */
	char local_ip[64];
};

static char *dup_or_null(const char *s)
{
	return s != NULL && *s != '\0' ? strdup(s) : NULL;
}

const char *etcd_client_endpoint(const struct etcd_client *c)
{
	return c->endpoints[c->cur];
}

const char *etcd_client_local_ip(const struct etcd_client *c)
{
	return c->local_ip;
}

/* The local address of the connection a call used, once it reached etcd. */
static void note_local_ip(struct etcd_client *c, CURL *easy)
{
	char *ip = NULL;

	if (curl_api.easy_getinfo(easy, CURLINFO_LOCAL_IP, &ip) == CURLE_OK && ip != NULL && *ip != '\0' &&
	    strlen(ip) < sizeof(c->local_ip))
		memcpy(c->local_ip, ip, strlen(ip) + 1);
}

/* ---- libcurl's sockets and timer on the loop */

static void dispatch(struct etcd_client *c);

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *s = w->data;
	struct etcd_client *c = s->c;
	int running;
	int flags = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);

	(void)loop;
	curl_api.multi_socket_action(c->multi, w->fd, flags, &running);
	dispatch(c);
}

static void timer_fire(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct etcd_client *c = w->data;
	int running;

	(void)loop;
	(void)revents;
	curl_api.multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	dispatch(c);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct etcd_client *c = userp;
	struct sock *s = socketp;
	int events;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			ev_io_stop(c->loop, &s->io);
			*s->pprev = s->next;
			if (s->next != NULL)
				s->next->pprev = s->pprev;
			free(s);
		}
		curl_api.multi_assign(c->multi, fd, NULL);
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		s->c = c;
		s->next = c->socks;
		s->pprev = &c->socks;
		if (c->socks != NULL)
			c->socks->pprev = &s->next;
		c->socks = s;
		ev_io_init(&s->io, io_cb, fd, 0);
		s->io.data = s;
		curl_api.multi_assign(c->multi, fd, s);
	}
	events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
	ev_io_stop(c->loop, &s->io);
	ev_io_set(&s->io, fd, events);
	ev_io_start(c->loop, &s->io);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct etcd_client *c = userp;

	(void)multi;
	ev_timer_stop(c->loop, &c->timer);
	if (timeout_ms >= 0) {
		/* 0: as soon as the loop turns, never from inside libcurl */
		ev_timer_set(&c->timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(c->loop, &c->timer);
	}
	return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct etcd_call *call = ud;
	size_t n = size * nmemb;

	if (call->len + n > ETCD_REPLY_MAX) {
		call->too_large = 1;
		return 0; /* libcurl ends the transfer: CURLE_WRITE_ERROR */
	}
	if (call->len + n + 1 > call->cap) {
		size_t cap = call->cap ? call->cap : 1024;
		char *d;
		while (cap < call->len + n + 1)
			cap *= 2;
		d = realloc(call->data, cap);
		if (d == NULL)
			return 0;
		call->data = d;
		call->cap = cap;
	}
	memcpy(call->data + call->len, ptr, n);
	call->len += n;
	call->data[call->len] = '\0';
	return n;
}

/* ---- calls */

static void unlink_call(struct etcd_call *call)
{
	struct etcd_call **p;

	for (p = &call->c->calls; *p != NULL; p = &(*p)->next)
		if (*p == call) {
			*p = call->next;
			return;
		}
}

static void free_call(struct etcd_call *call)
{
	if (call->easy != NULL) {
		curl_api.multi_remove_handle(call->c->multi, call->easy);
		curl_api.easy_cleanup(call->easy);
	}
	curl_api.slist_free_all(call->hdrs);
	free(call->path);
	free(call->body);
	free(call->data);
	free(call);
}

/* Ends a call: out of libcurl at once, freed now or after the dispatch. */
static void end_call(struct etcd_call *call)
{
	struct etcd_client *c = call->c;

	if (call->dead)
		return;
	call->dead = 1;
	if (call->easy != NULL) {
		curl_api.multi_remove_handle(c->multi, call->easy);
		curl_api.easy_cleanup(call->easy);
		call->easy = NULL;
	}
	if (c->auth == call)
		c->auth = NULL;
	if (!c->dispatching) {
		unlink_call(call);
		free_call(call);
	}
}

static void finish(struct etcd_call *call, const struct etcd_done *d)
{
	etcd_done_fn done = call->done;
	void *ud = call->ud;

	end_call(call);
	if (done != NULL)
		done(ud, d);
}

static void sign_in(struct etcd_client *c);

/* Sends a call to the current endpoint; 0 or -1 (why logged). */
static int launch(struct etcd_call *call)
{
	struct etcd_client *c = call->c;
	char url[512], auth[ETCD_TOKEN_MAX + 32];
	CURL *e;

	if (c->user != NULL && !call->is_auth && c->token[0] == '\0') {
		sign_in(c); /* the call waits for the token (easy NULL) */
		return 0;
	}
	call->endpoint = c->cur;
	snprintf(url, sizeof(url), "%s%s", c->endpoints[c->cur], call->path);
	call->len = 0;
	call->too_large = 0;
	curl_api.slist_free_all(call->hdrs);
	call->hdrs = curl_api.slist_append(NULL, "Content-Type: application/json");
	/* no "Expect: 100-continue" round trip before a body */
	if (call->hdrs != NULL)
		call->hdrs = curl_api.slist_append(call->hdrs, "Expect:");
	if (call->hdrs != NULL && !call->is_auth && c->token[0] != '\0') {
		snprintf(auth, sizeof(auth), "Authorization: %s", c->token);
		call->hdrs = curl_api.slist_append(call->hdrs, auth);
	}
	e = curl_api.easy_init();
	if (e == NULL || call->hdrs == NULL) {
		curl_api.easy_cleanup(e);
		log_err("etcd: out of memory for a request to %s", call->path);
		return -1;
	}
	curl_api.easy_setopt(e, CURLOPT_URL, url);
	curl_api.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_api.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_api.easy_setopt(e, CURLOPT_HTTPHEADER, call->hdrs);
	curl_api.easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
	curl_api.easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(call->body));
	curl_api.easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_api.easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_api.easy_setopt(e, CURLOPT_PRIVATE, call);
	curl_api.easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_api.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	if (call->timeout_ms > 0)
		curl_api.easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)call->timeout_ms);
	/* a stream's peer that vanished (a cut link) shows within seconds */
	curl_api.easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_api.easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 2L);
	curl_api.easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 1L);
	if (c->ca_file != NULL)
		curl_api.easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	if (c->cert_file != NULL)
		curl_api.easy_setopt(e, CURLOPT_SSLCERT, c->cert_file);
	if (c->key_file != NULL)
		curl_api.easy_setopt(e, CURLOPT_SSLKEY, c->key_file);
	call->errbuf[0] = '\0';
	if (curl_api.multi_add_handle(c->multi, e) != CURLM_OK) {
		curl_api.easy_cleanup(e);
		log_err("etcd: libcurl refused a request to %s", call->path);
		return -1;
	}
	call->easy = e;
	return 0;
}

static struct etcd_call *new_call(struct etcd_client *c, const char *path, char *body, uint32_t timeout_ms,
				  etcd_line_fn line, etcd_done_fn done, void *ud)
{
	struct etcd_call *call;

	if (body == NULL)
		return NULL;
	call = calloc(1, sizeof(*call));
	if (call == NULL || (call->path = strdup(path)) == NULL) {
		free(call);
		free(body);
		return NULL;
	}
	call->c = c;
	call->body = body;
	call->timeout_ms = timeout_ms;
	call->line = line;
	call->done = done;
	call->ud = ud;
	call->next = c->calls;
	c->calls = call;
	if (launch(call) != 0) {
		call->done = NULL;
		end_call(call);
		return NULL;
	}
	return call;
}

struct etcd_call *etcd_call(struct etcd_client *c, const char *path, char *body, uint32_t timeout_ms,
			    etcd_done_fn done, void *ud)
{
	return new_call(c, path, body, timeout_ms, NULL, done, ud);
}

struct etcd_call *etcd_stream(struct etcd_client *c, const char *path, char *body, etcd_line_fn line,
			      etcd_done_fn done, void *ud)
{
	return new_call(c, path, body, 0, line, done, ud);
}

void etcd_cancel(struct etcd_call *call)
{
	if (call != NULL)
		end_call(call);
}

/* ---- signing in */

/* Calls that wait for a token: started, or ended with the sign-in's
 * failure. */
static void release_waiting(struct etcd_client *c, const struct etcd_done *failed)
{
	for (struct etcd_call *call = c->calls; call != NULL; call = call->next) {
		if (call->dead || call->easy != NULL || call->is_auth)
			continue;
		if (failed != NULL) {
			finish(call, failed);
		} else if (launch(call) != 0) {
			struct etcd_done d = {.result = ETCD_TRANSPORT, .why = "out of memory", .endpoint = ""};
			finish(call, &d);
		}
	}
}

static void signed_in(void *ud, const struct etcd_done *d)
{
	struct etcd_client *c = ud;
	struct etcd_reply r;
	char err[ETCD_ERR_MAX];

	c->auth = NULL;
	if (d->result == ETCD_DONE && d->http_status == 200 &&
	    etcd_parse_auth(d->body, d->len, &r, c->token, sizeof(c->token), err, sizeof(err)) == 0 &&
	    r.code == ETCD_OK) {
		release_waiting(c, NULL);
		return;
	}
	c->token[0] = '\0';
	if (d->result == ETCD_DONE)
		log_err("etcd: signing in as %s at %s failed: HTTP %ld %.200s", c->user, d->endpoint, d->http_status,
			d->body);
	release_waiting(c, d);
}

static void sign_in(struct etcd_client *c)
{
	char *body;

	if (c->auth != NULL)
		return;
	body = etcd_req_auth(c->user, c->password);
	c->auth = calloc(1, sizeof(*c->auth));
	if (body == NULL || c->auth == NULL || (c->auth->path = strdup("/v3/auth/authenticate")) == NULL) {
		free(body);
		free(c->auth);
		c->auth = NULL;
		return; /* the waiting calls time out with the next sign-in */
	}
	c->auth->c = c;
	c->auth->body = body;
	c->auth->timeout_ms = ETCD_AUTH_TIMEOUT_MS;
	c->auth->is_auth = 1;
	c->auth->done = signed_in;
	c->auth->ud = c;
	c->auth->next = c->calls;
	c->calls = c->auth;
	if (launch(c->auth) != 0)
		end_call(c->auth);
}

/* ---- what libcurl finished, and stream lines */

static void deliver_lines(struct etcd_call *call)
{
	size_t start = 0;

	while (!call->dead && call->data != NULL) {
		char *nl = memchr(call->data + start, '\n', call->len - start);
		if (nl == NULL)
			break;
		*nl = '\0';
		if (nl > call->data + start)
			call->line(call->ud, call->data + start, (size_t)(nl - (call->data + start)));
		start = (size_t)(nl - call->data) + 1;
	}
	if (!call->dead && start > 0) {
		memmove(call->data, call->data + start, call->len - start);
		call->len -= start;
		call->data[call->len] = '\0';
	}
}

/* etcd answers an expired token with 401 (code 16): once per call, sign
 * in again and send it again */
static int retry_signed_out(struct etcd_call *call, long status)
{
	struct etcd_client *c = call->c;

	if (status != 401 || c->user == NULL || call->is_auth || call->retried)
		return 0;
	call->retried = 1;
	curl_api.multi_remove_handle(c->multi, call->easy);
	curl_api.easy_cleanup(call->easy);
	call->easy = NULL;
	c->token[0] = '\0';
	sign_in(c);
	return 1;
}

/* A request to an endpoint failed: streams still open there end too
 * (not `call`, which is ending already).  A member cut off from its
 * peers keeps a watch open and says nothing on it, no event and no error,
 * while its requests time out; a follower whose watch stayed there would
 * never see the leader key go.  Ended, the watch starts again on the next
 * endpoint. */
static void end_streams_on(struct etcd_client *c, size_t endpoint, const struct etcd_call *call, const char *why)
{
	for (struct etcd_call *s = c->calls; s != NULL; s = s->next) {
		struct etcd_done d = {.result = ETCD_TRANSPORT, .why = why, .endpoint = c->endpoints[endpoint]};
		if (s == call || s->dead || s->line == NULL || s->easy == NULL || s->endpoint != endpoint)
			continue;
		finish(s, &d); /* freed after the dispatch: s->next still holds */
	}
}

static void complete(struct etcd_call *call, CURLcode code)
{
	struct etcd_client *c = call->c;
	struct etcd_done d = {.endpoint = c->endpoints[call->endpoint]};
	long status = 0;

	curl_api.easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
	d.http_status = status;
	d.body = call->data != NULL ? call->data : "";
	d.len = call->len;
	if (call->too_large) {
		d.result = ETCD_TOO_LARGE;
		d.why = "reply over 4 MiB";
	} else if (code != CURLE_OK) {
		d.result = ETCD_TRANSPORT;
		d.why = call->errbuf[0] != '\0' ? call->errbuf : curl_api.easy_strerror(code);
		/* the next call tries the next endpoint */
		if (c->nendpoints > 1 && call->endpoint == c->cur) {
			c->cur = (c->cur + 1) % c->nendpoints;
			log_warn("etcd: %s: %s; now using %s", d.endpoint, d.why, c->endpoints[c->cur]);
			end_streams_on(c, call->endpoint, call, "a request there failed");
		}
	} else {
		d.result = ETCD_DONE;
		note_local_ip(c, call->easy);
		if (retry_signed_out(call, status))
			return;
		/* 503 and the like: a member that lost its cluster's majority
		 * ("no leader") or its leader answers, but cannot serve; another
		 * member may */
		if (status >= 500 && c->nendpoints > 1 && call->endpoint == c->cur) {
			c->cur = (c->cur + 1) % c->nendpoints;
			log_warn("etcd: %s answered HTTP %ld; now using %s", d.endpoint, status, c->endpoints[c->cur]);
		}
	}
	finish(call, &d);
}

static void dispatch(struct etcd_client *c)
{
	CURLMsg *msg;
	int left;

	c->dispatching++;
	while ((msg = curl_api.multi_info_read(c->multi, &left)) != NULL) {
		struct etcd_call *call = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_api.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
		if (call == NULL || call->dead)
			continue;
		if (call->line != NULL)
			deliver_lines(call);
		if (!call->dead)
			complete(call, msg->data.result);
	}
	for (struct etcd_call *call = c->calls; call != NULL; call = call->next)
		if (call->line != NULL && !call->dead && call->len > 0)
			deliver_lines(call);
	if (--c->dispatching == 0) {
		struct etcd_call **p = &c->calls;
		while (*p != NULL) {
			struct etcd_call *call = *p;
			if (call->dead) {
				*p = call->next;
				free_call(call);
			} else {
				p = &call->next;
			}
		}
	}
}

/* ---- the client */

int etcd_client_load_library(char *err, size_t errlen)
{
	return curl_api_load(err, errlen);
}

struct etcd_client *etcd_client_new(struct ev_loop *loop, const struct etcd_client_params *p)
{
	struct etcd_client *c;
	char why[512];

	if (p->nendpoints == 0 || p->nendpoints > ETCD_ENDPOINTS_MAX)
		return NULL;
	if (etcd_client_load_library(why, sizeof(why)) != 0) {
		log_err("etcd: %s", why);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->loop = loop;
	c->connect_timeout_ms = p->connect_timeout_ms ? p->connect_timeout_ms : 1000;
	for (size_t i = 0; i < p->nendpoints; i++) {
		if ((c->endpoints[i] = strdup(p->endpoints[i])) == NULL)
			goto fail;
		c->nendpoints++;
	}
	c->ca_file = dup_or_null(p->ca_file);
	c->cert_file = dup_or_null(p->cert_file);
	c->key_file = dup_or_null(p->key_file);
	c->user = dup_or_null(p->user);
	c->password = p->password != NULL ? strdup(p->password) : strdup("");
	if (c->password == NULL)
		goto fail;
	c->multi = curl_api.multi_init();
	if (c->multi == NULL)
		goto fail;
	curl_api.multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_api.multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_api.multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_api.multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	ev_init(&c->timer, timer_fire);
	c->timer.data = c;
	return c;
fail:
	etcd_client_free(c);
	return NULL;
}

void etcd_client_free(struct etcd_client *c)
{
	if (c == NULL)
		return;
	while (c->calls != NULL) {
		struct etcd_call *call = c->calls;
		c->calls = call->next;
		free_call(call);
	}
	if (c->multi != NULL)
		curl_api.multi_cleanup(c->multi);
	/* sockets libcurl did not take back (its connection cache) */
	while (c->socks != NULL) {
		struct sock *s = c->socks;
		c->socks = s->next;
		ev_io_stop(c->loop, &s->io);
		free(s);
	}
	ev_timer_stop(c->loop, &c->timer);
	for (size_t i = 0; i < c->nendpoints; i++)
		free(c->endpoints[i]);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	free(c->user);
	if (c->password != NULL)
		memset(c->password, 0, strlen(c->password));
	free(c->password);
	free(c);
}
