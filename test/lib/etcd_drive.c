/*
 * Drives etcd_client.c and etcd_codec.c against a real etcd (the lab's,
 * test/lib/etcd.bash) through what the etcd backend does: a lease, the
 * leader key created only if absent, a second claim that loses and learns
 * the holder, a watch that sees a record put and the leader key go with
 * its lease, a keep-alive of a lease that is gone.  Each step prints one
 * line; the exit status is 0 only when every step got what etcd must
 * answer.  etcd_drive.bats runs it.
 *
 *   etcd_drive PREFIX ENDPOINT...
 *   environment: ETCD_CA, ETCD_CERT, ETCD_KEY, ETCD_USER, ETCD_PASSWORD
 */
#include <ev.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_client.h"
#include "etcd_codec.h"

static struct ev_loop *loop;
static struct etcd_client *client;
static int failures;

/* the last reply of a call */
static struct {
	int done;
	enum etcd_result result;
	long status;
	char body[65536];
	size_t len;
	char why[256];
} last;

/* the watch's events so far */
static char events[8192];
static int watch_ended;

static void done_cb(void *ud, const struct etcd_done *d)
{
	(void)ud;
	last.done = 1;
	last.result = d->result;
	last.status = d->http_status;
	last.len = d->len < sizeof(last.body) - 1 ? d->len : sizeof(last.body) - 1;
	memcpy(last.body, d->body, last.len);
	last.body[last.len] = '\0';
	snprintf(last.why, sizeof(last.why), "%s", d->why ? d->why : "");
	ev_break(loop, EVBREAK_ONE);
}

static void timeout_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(l, EVBREAK_ONE);
}

/* Runs the loop until done_cb, at most ms. */
static int wait_done(unsigned ms)
{
	ev_timer t;

	ev_timer_init(&t, timeout_cb, ms / 1000.0, 0.);
	ev_timer_start(loop, &t);
	while (!last.done && ev_is_active(&t))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return last.done;
}

/* One call to its end: 0, or -1 (said why). */
static int call(const char *step, const char *path, char *body)
{
	memset(&last, 0, sizeof(last));
	if (etcd_call(client, path, body, 3000, done_cb, NULL) == NULL) {
		printf("%s: not started\n", step);
		return -1;
	}
	if (!wait_done(10000)) {
		printf("%s: no answer in 10 s\n", step);
		return -1;
	}
	if (last.result != ETCD_DONE || last.status != 200) {
		printf("%s: result %d HTTP %ld %s %s\n", step, last.result, last.status, last.why, last.body);
		return -1;
	}
	return 0;
}

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("FAILED: %s\n", what);
		failures++;
	}
}

static void line_cb(void *ud, const char *line, size_t len)
{
	struct etcd_watch_msg w;
	char err[ETCD_ERR_MAX], one[600];

	(void)ud;
	if (etcd_parse_watch(line, len, &w, err, sizeof(err)) != 0) {
		printf("watch: unreadable line (%s): %.200s\n", err, line);
		failures++;
		return;
	}
	for (size_t i = 0; i < w.nev; i++) {
		snprintf(one, sizeof(one), "%s %s=%s%s%s;", w.ev[i].type == ETCD_EV_PUT ? "PUT" : "DELETE",
			 w.ev[i].kv.key, w.ev[i].kv.value ? (char *)w.ev[i].kv.value : "",
			 w.ev[i].prev.key ? " prev=" : "", w.ev[i].prev.key ? (char *)w.ev[i].prev.value : "");
		strncat(events, one, sizeof(events) - strlen(events) - 1);
	}
	etcd_watch_msg_free(&w);
	ev_break(loop, EVBREAK_ONE);
}

static void watch_done(void *ud, const struct etcd_done *d)
{
	(void)ud;
	printf("watch ended: result %d HTTP %ld %s\n", d->result, d->http_status, d->why ? d->why : "");
	watch_ended = 1;
}

/* Runs the loop until the watch has seen text, at most 5 s. */
static int wait_event(const char *text)
{
	ev_timer t;

	ev_timer_init(&t, timeout_cb, 5., 0.);
	ev_timer_start(loop, &t);
	while (strstr(events, text) == NULL && ev_is_active(&t))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return strstr(events, text) != NULL;
}

int main(int argc, char **argv)
{
	struct etcd_client_params p = {.connect_timeout_ms = 1000};
	struct etcd_reply r;
	struct etcd_kvs kvs;
	struct etcd_call *watch;
	char err[ETCD_ERR_MAX], key[256], rec[256], want[300];
	int64_t id, ttl, rev;
	int won;

	if (argc < 3 || (size_t)argc - 2 > ETCD_ENDPOINTS_MAX) {
		fprintf(stderr, "usage: etcd_drive PREFIX ENDPOINT...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++)
		p.endpoints[p.nendpoints++] = argv[i];
	p.ca_file = getenv("ETCD_CA");
	p.cert_file = getenv("ETCD_CERT");
	p.key_file = getenv("ETCD_KEY");
	p.user = getenv("ETCD_USER");
	p.password = getenv("ETCD_PASSWORD");
	loop = EV_DEFAULT;
	client = etcd_client_new(loop, &p);
	if (client == NULL)
		return 2;
	snprintf(key, sizeof(key), "%s/leader", argv[1]);
	snprintf(rec, sizeof(rec), "%s/nodes/n1", argv[1]);

	/* a lease: a dead first endpoint costs one failed call, then the
	 * client moves on */
	if (call("grant", "/v3/lease/grant", etcd_req_lease_grant(2)) != 0 && last.result == ETCD_TRANSPORT) {
		printf("grant: %s; now at %s\n", last.why, etcd_client_endpoint(client));
		if (call("grant again", "/v3/lease/grant", etcd_req_lease_grant(2)) != 0)
			return 1;
	} else if (!last.done || last.result != ETCD_DONE) {
		return 1;
	}
	check(etcd_parse_lease_grant(last.body, last.len, &r, &id, &ttl, err, sizeof(err)) == 0 && r.code == 0,
	      "a lease granted");
	printf("grant: ttl %" PRId64 "\n", ttl);

	/* the leader key, created only if absent */
	if (call("create", "/v3/kv/txn", etcd_req_create(key, "n1", 2, id, NULL, 0)) != 0)
		return 1;
	check(etcd_parse_txn(last.body, last.len, &r, &won, &kvs, err, sizeof(err)) == 0 && won, "n1 wins");
	rev = r.revision;
	etcd_kvs_free(&kvs);
	printf("create: won at revision %" PRId64 "\n", rev);
	if (call("create again", "/v3/kv/txn", etcd_req_create(key, "n2", 2, 0, NULL, 0)) != 0)
		return 1;
	check(etcd_parse_txn(last.body, last.len, &r, &won, &kvs, err, sizeof(err)) == 0 && !won && kvs.n == 1,
	      "n2 loses and reads the holder");
	if (kvs.n == 1) {
		printf("create again: lost to %s (create_revision %" PRId64 ", lease %s)\n", (char *)kvs.v[0].value,
		       kvs.v[0].create_revision, kvs.v[0].lease == id ? "n1's" : "another");
		check(kvs.v[0].create_revision == rev && strcmp((char *)kvs.v[0].value, "n1") == 0,
		      "the holder is n1 at its revision");
	}
	etcd_kvs_free(&kvs);

	/* a watch from the next revision on: a record, then the lease's end */
	watch = etcd_stream(client, "/v3/watch", etcd_req_watch(argv[1], 1, rev + 1), line_cb, watch_done, NULL);
	check(watch != NULL, "a watch started");
	if (call("keepalive", "/v3/lease/keepalive", etcd_req_lease(id)) != 0)
		return 1;
	check(etcd_parse_keepalive(last.body, last.len, &r, &ttl, err, sizeof(err)) == 0 && ttl > 0,
	      "the lease kept alive");
	printf("keepalive: ttl %" PRId64 "\n", ttl);
	if (call("put", "/v3/kv/put", etcd_req_put(rec, "slave", 5, 0)) != 0)
		return 1;
	snprintf(want, sizeof(want), "PUT %s=slave;", rec);
	check(wait_event(want), "the watch saw the record");
	if (call("revoke", "/v3/lease/revoke", etcd_req_lease(id)) != 0)
		return 1;
	snprintf(want, sizeof(want), "DELETE %s= prev=n1;", key);
	check(wait_event(want), "the watch saw the leader key go with its lease");
	printf("watch: %s\n", events);
	if (call("keepalive gone", "/v3/lease/keepalive", etcd_req_lease(id)) != 0)
		return 1;
	check(etcd_parse_keepalive(last.body, last.len, &r, &ttl, err, sizeof(err)) == 0 && ttl == 0,
	      "a revoked lease reads as gone");
	printf("keepalive after revoke: ttl %" PRId64 "\n", ttl);
	etcd_cancel(watch);
	check(!watch_ended, "a canceled watch ends without its callback");
	etcd_client_free(client);
	printf("%s\n", failures ? "FAILED" : "all steps as expected");
	return failures ? 1 : 0;
}
