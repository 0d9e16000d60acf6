/*
 * etcd_elect on the loop (etcd_backend.h): requests to JSON and HTTP,
 * replies and watch lines back to etcd_elect's structs.
 */
#include "etcd_backend.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "etcd_codec.h"
#include "log.h"

struct etcd_backend_call {
	struct etcd_backend *b;
	struct etcd_call *call;
	unsigned id;
	enum ee_req_type type;
	struct etcd_backend_call *next;
};

static const char *const paths[] = {
	[EE_GRANT] = "/v3/lease/grant",   [EE_KEEPALIVE] = "/v3/lease/keepalive", [EE_REVOKE] = "/v3/lease/revoke",
	[EE_READ] = "/v3/kv/range",       [EE_WATCH] = "/v3/watch",               [EE_CANCEL_WATCH] = NULL,
	[EE_CREATE] = "/v3/kv/txn",       [EE_PUT] = "/v3/kv/put",                [EE_SWAP] = "/v3/kv/txn",
	[EE_DELETE_OWN] = "/v3/kv/txn",
};

static void forget(struct etcd_backend *b, struct etcd_backend_call *c)
{
	for (struct etcd_backend_call **p = &b->calls; *p != NULL; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	free(c);
}

/* etcd's kvs, as etcd_elect reads them: keys or values too long for it
 * are none of ours (they are left out) */
static struct ee_kv *kvs_of(const struct etcd_kvs *in, size_t *n)
{
	struct ee_kv *out;

	*n = 0;
	if (in->n == 0)
		return NULL;
	out = calloc(in->n, sizeof(*out));
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < in->n; i++) {
		const struct etcd_kv *k = &in->v[i];
		if (strlen(k->key) >= sizeof(out->key) || k->vlen >= sizeof(out->value) ||
		    memchr(k->value, '\0', k->vlen) != NULL)
			continue;
		memcpy(out[*n].key, k->key, strlen(k->key) + 1);
		memcpy(out[*n].value, k->value, k->vlen + 1);
		out[*n].create_rev = k->create_revision;
		out[*n].mod_rev = k->mod_revision;
		out[*n].lease = k->lease;
		(*n)++;
	}
	return out;
}

static void done_cb(void *ud, const struct etcd_done *d)
{
	struct etcd_backend_call *c = ud;
	struct etcd_backend *b = c->b;
	struct ee_reply r = {.id = c->id};
	struct etcd_reply er = {0};
	struct etcd_kvs kvs = {0};
	char err[ETCD_ERR_MAX] = "";
	int parsed = -1;
	enum ee_req_type type = c->type;

	forget(b, c);
	if (d->result != ETCD_DONE) {
		snprintf(r.why, sizeof(r.why), "%.120s: %.250s", d->endpoint, d->why);
	} else {
		switch (type) {
		case EE_GRANT:
			parsed = etcd_parse_lease_grant(d->body, d->len, &er, &r.lease, &r.ttl, err, sizeof(err));
			break;
		case EE_KEEPALIVE:
			parsed = etcd_parse_keepalive(d->body, d->len, &er, &r.ttl, err, sizeof(err));
			break;
		case EE_READ:
			parsed = etcd_parse_range(d->body, d->len, &er, &kvs, err, sizeof(err));
			break;
		case EE_CREATE:
		case EE_SWAP:
		case EE_DELETE_OWN:
			parsed = etcd_parse_txn(d->body, d->len, &er, &r.succeeded, &kvs, err, sizeof(err));
			break;
		default:
			parsed = etcd_parse_reply(d->body, d->len, &er, err, sizeof(err));
			break;
		}
		if (parsed != 0)
			snprintf(r.why, sizeof(r.why), "%.120s: HTTP %ld, %s", d->endpoint, d->http_status, err);
		else if (er.code != ETCD_OK)
			snprintf(r.why, sizeof(r.why), "%.120s: HTTP %ld, %s", d->endpoint, d->http_status, er.error);
		else if (d->http_status != 200)
			snprintf(r.why, sizeof(r.why), "%s: HTTP %ld", d->endpoint, d->http_status);
		else
			r.ok = 1;
		r.revision = er.revision;
		r.kvs = kvs_of(&kvs, &r.nkvs);
		etcd_kvs_free(&kvs);
	}
	if (!r.ok) {
		b->requests_failed++;
		if (strcmp(b->last_error, r.why) != 0)
			log_warn("etcd: %s", r.why);
		snprintf(b->last_error, sizeof(b->last_error), "%s", r.why);
	} else {
		b->last_error[0] = '\0';
		b->last_ok_at = clock_mono_ms();
	}
	if (type == EE_GRANT && r.ok)
		log_info("etcd: lease %" PRId64 " granted for %" PRId64 " s (asked %" PRIu64 " s)", r.lease, r.ttl,
			 b->el.p.ttl_s);
	etcd_elect_reply(&b->el, &r, clock_mono_ms());
	free(r.kvs);
	b->changed(b->ud);
	etcd_backend_pump(b);
}

static void watch_line(void *ud, const char *line, size_t len)
{
	struct etcd_backend *b = ud;
	struct etcd_watch_msg w;
	struct ee_event *ev;
	char err[ETCD_ERR_MAX];
	size_t n = 0;

	if (etcd_parse_watch(line, len, &w, err, sizeof(err)) != 0) {
		b->requests_failed++;
		log_warn("etcd: an unreadable watch line (%s): the watch starts again", err);
		etcd_cancel(b->watch);
		b->watch = NULL;
		etcd_elect_watch_ended(&b->el, err, clock_mono_ms());
		etcd_backend_pump(b);
		return;
	}
	if (w.canceled || w.r.code != ETCD_OK) {
		b->requests_failed++;
		log_warn("etcd: the watch was canceled (%s%s): the keys are read again",
			 w.cancel_reason[0] ? w.cancel_reason : w.r.error,
			 w.compact_revision ? ", history compacted" : "");
		etcd_watch_msg_free(&w);
		etcd_cancel(b->watch);
		b->watch = NULL;
		etcd_elect_watch_ended(&b->el, "canceled", clock_mono_ms());
		etcd_backend_pump(b);
		return;
	}
	ev = w.nev ? calloc(w.nev, sizeof(*ev)) : NULL;
	for (size_t i = 0; ev != NULL && i < w.nev; i++) {
		const struct etcd_kv *k = &w.ev[i].kv;
		if (strlen(k->key) >= sizeof(ev->kv.key) || k->vlen >= sizeof(ev->kv.value))
			continue;
		ev[n].deleted = w.ev[i].type == ETCD_EV_DELETE;
		memcpy(ev[n].kv.key, k->key, strlen(k->key) + 1);
		memcpy(ev[n].kv.value, k->value, k->vlen + 1);
		ev[n].kv.create_rev = k->create_revision;
		ev[n].kv.mod_rev = k->mod_revision;
		ev[n].kv.lease = k->lease;
		n++;
	}
	if (w.nev > 0 && ev == NULL) {
		/* out of memory: what the watch said is lost, read it all again */
		etcd_watch_msg_free(&w);
		etcd_cancel(b->watch);
		b->watch = NULL;
		etcd_elect_watch_ended(&b->el, "out of memory", clock_mono_ms());
		etcd_backend_pump(b);
		return;
	}
	b->last_ok_at = clock_mono_ms();
	etcd_elect_watch(&b->el, ev, n, w.r.revision, clock_mono_ms());
	free(ev);
	etcd_watch_msg_free(&w);
	b->changed(b->ud);
	etcd_backend_pump(b);
}

static void watch_done(void *ud, const struct etcd_done *d)
{
	struct etcd_backend *b = ud;

	b->watch = NULL;
	b->requests_failed++;
	log_warn("etcd: the watch ended (%s%s%.100s): the keys are read again", d->endpoint,
		 d->result == ETCD_DONE ? ": " : ": ", d->result == ETCD_DONE ? d->body : d->why);
	etcd_elect_watch_ended(&b->el, d->why ? d->why : "ended", clock_mono_ms());
	etcd_backend_pump(b);
}

static char *body_of(const struct ee_req *r)
{
	switch (r->type) {
	case EE_GRANT: return etcd_req_lease_grant(r->ttl);
	case EE_KEEPALIVE:
	case EE_REVOKE: return etcd_req_lease(r->lease);
	case EE_READ: return etcd_req_range(r->key, 1);
	case EE_WATCH: return etcd_req_watch(r->key, 1, r->rev);
	case EE_CREATE:
		return etcd_req_create(r->key, r->value, strlen(r->value), r->lease, r->guard[0] ? r->guard : NULL,
				       r->guard_mod);
	case EE_PUT: return etcd_req_put(r->key, r->value, strlen(r->value), r->lease);
	case EE_SWAP: return etcd_req_swap(r->key, r->value, strlen(r->value), r->mod);
	case EE_DELETE_OWN: {
		struct etcd_put puts[2];
		for (size_t i = 0; i < r->nputs && i < 2; i++)
			puts[i] = (struct etcd_put){.key = r->put[i].key, .value = r->put[i].value,
						    .vlen = strlen(r->put[i].value), .lease = r->put[i].lease};
		return etcd_req_delete_own_put(r->key, r->rev, puts, r->nputs < 2 ? r->nputs : 2);
	}
	case EE_CANCEL_WATCH: break;
	}
	return NULL;
}

static void send_req(struct etcd_backend *b, const struct ee_req *r)
{
	struct etcd_backend_call *c;

	if (r->type == EE_CANCEL_WATCH) {
		etcd_cancel(b->watch);
		b->watch = NULL;
		return;
	}
	if (r->type == EE_WATCH) {
		etcd_cancel(b->watch);
		b->watch = etcd_stream(b->client, paths[EE_WATCH], body_of(r), watch_line, watch_done, b);
		b->requests_sent++;
		if (b->watch == NULL) {
			b->requests_failed++;
			etcd_elect_watch_ended(&b->el, "not started", clock_mono_ms());
		}
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return; /* it times out in etcd_elect */
	c->b = b;
	c->id = r->id;
	c->type = r->type;
	c->call = etcd_call(b->client, paths[r->type], body_of(r), (uint32_t)b->el.p.request_ms, done_cb, c);
	b->requests_sent++;
	if (c->call == NULL) {
		b->requests_failed++;
		free(c);
		return;
	}
	c->next = b->calls;
	b->calls = c;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct etcd_backend *b = w->data;

	(void)loop;
	(void)revents;
	etcd_elect_tick(&b->el, clock_mono_ms());
	b->changed(b->ud);
	etcd_backend_pump(b);
}

void etcd_backend_pump(struct etcd_backend *b)
{
	struct ee_req r;
	uint64_t now = clock_mono_ms(), at;

	while (etcd_elect_take_request(&b->el, &r, now))
		send_req(b, &r);
	at = etcd_elect_wake_at(&b->el);
	ev_timer_stop(b->loop, &b->tick_w);
	if (at != 0) {
		ev_timer_set(&b->tick_w, at > now ? (double)(at - now) / 1000.0 : 0., 0.);
		ev_timer_start(b->loop, &b->tick_w);
	}
}

int etcd_backend_init(struct etcd_backend *b, struct ev_loop *loop, const struct etcd_client_params *cp,
		      const struct ee_params *ep, void (*changed)(void *ud), void *ud)
{
	memset(b, 0, sizeof(*b));
	b->loop = loop;
	b->changed = changed;
	b->ud = ud;
	b->client = etcd_client_new(loop, cp);
	if (b->client == NULL) {
		log_err("etcd: cannot set up the client (libcurl)");
		return -1;
	}
	ev_init(&b->tick_w, tick_cb);
	b->tick_w.data = b;
	etcd_elect_init(&b->el, ep, clock_mono_ms());
	return 0;
}

struct cluster etcd_backend_cluster(struct etcd_backend *b)
{
	return (struct cluster){.ops = &etcd_elect_ops, .impl = &b->el};
}

const char *etcd_backend_endpoint(const struct etcd_backend *b)
{
	return b->client != NULL ? etcd_client_endpoint(b->client) : "";
}

const char *etcd_backend_local_ip(const struct etcd_backend *b)
{
	return b->client != NULL ? etcd_client_local_ip(b->client) : "";
}

void etcd_backend_close(struct etcd_backend *b)
{
	ev_timer_stop(b->loop, &b->tick_w);
	etcd_client_free(b->client); /* ends every call, callbacks not called */
	b->client = NULL;
	b->watch = NULL;
	while (b->calls != NULL) {
		struct etcd_backend_call *c = b->calls;
		b->calls = c->next;
		free(c);
	}
}
