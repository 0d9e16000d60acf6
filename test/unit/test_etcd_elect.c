/* Unit tests of the etcd backend's decisions (etcd_elect.h), driven by
 * hand: the requests it makes, replies and watch events as etcd would
 * give them, and the mastership events it says.  The simulated cluster
 * (test_etcd_sim.c) runs it against a fake etcd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "etcd_elect.h"

#define TTL_S 3
#define MARGIN 500

static struct ee_params params(const char *self, uint32_t position, uint64_t initial_term)
{
	struct ee_params p;

	memset(&p, 0, sizeof(p));
	snprintf(p.self, sizeof(p.self), "%s", self);
	snprintf(p.prefix, sizeof(p.prefix), "/fl/c1");
	p.position = position;
	p.ttl_s = TTL_S;
	p.margin_ms = MARGIN;
	p.request_ms = 1000;
	p.rank_step_ms = 100;
	p.initial_term = initial_term;
	return p;
}

/* The one request waiting, of type t. */
static struct ee_req take(struct etcd_elect *e, enum ee_req_type t, uint64_t now)
{
	struct ee_req r;

	assert_true(etcd_elect_take_request(e, &r, now));
	assert_int_equal(r.type, t);
	return r;
}

static void no_request(struct etcd_elect *e, uint64_t now)
{
	struct ee_req r;

	assert_false(etcd_elect_take_request(e, &r, now));
}

static struct ee_reply ok(unsigned id, int64_t revision)
{
	struct ee_reply r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.ok = 1;
	r.revision = revision;
	return r;
}

static struct ms_event next_event(struct etcd_elect *e)
{
	struct ms_event ev;

	assert_true(etcd_elect_ops.next_event(e, &ev));
	return ev;
}

static void no_event(struct etcd_elect *e)
{
	struct ms_event ev;

	assert_false(etcd_elect_ops.next_event(e, &ev));
}

static struct ee_kv kv(const char *key, const char *value, int64_t create, int64_t mod, int64_t lease)
{
	struct ee_kv k;

	memset(&k, 0, sizeof(k));
	snprintf(k.key, sizeof(k.key), "%s", key);
	snprintf(k.value, sizeof(k.value), "%s", value);
	k.create_rev = create;
	k.mod_rev = mod;
	k.lease = lease;
	return k;
}

/* Started at t=1000: lease 42 granted, the record put, the keys read at
 * revision rev (kvs), the watch from rev + 1.  Events of the read are left. */
static void start(struct etcd_elect *e, struct ee_params p, struct ee_kv *kvs, size_t n, int64_t rev)
{
	struct ee_req g, put, rd, w;
	struct ee_reply r;

	etcd_elect_init(e, &p, 1000);
	g = take(e, EE_GRANT, 1000);
	assert_int_equal(g.ttl, TTL_S);
	r = ok(g.id, rev);
	r.lease = 42;
	r.ttl = TTL_S;
	etcd_elect_reply(e, &r, 1005);
	put = take(e, EE_PUT, 1005);
	assert_string_equal(put.key, "/fl/c1/nodes/n1");
	assert_int_equal(put.lease, 42);
	rd = take(e, EE_READ, 1005);
	assert_string_equal(rd.key, "/fl/c1/");
	etcd_elect_reply(e, &(struct ee_reply){.id = put.id, .ok = 1, .revision = rev}, 1006);
	r = ok(rd.id, rev);
	r.kvs = kvs;
	r.nkvs = n;
	etcd_elect_reply(e, &r, 1007);
	w = take(e, EE_WATCH, 1007);
	assert_int_equal(w.rev, rev + 1);
	assert_int_equal(e->state, EE_FOLLOWING);
}

/* A free key: the first in rank creates it, guarded by the term base; its
 * term is base + create_revision; its fence is the grant's send time plus
 * the TTL, minus the margin. */
static void first_leader(void **state)
{
	struct etcd_elect e;
	struct ee_req c;
	struct ee_reply r;
	struct ms_event ev;

	(void)state;
	start(&e, params("n1", 101, 0), NULL, 0, 5);
	no_event(&e); /* nobody led, nobody leads */
	etcd_elect_tick(&e, 1010);
	c = take(&e, EE_CREATE, 1010);
	assert_string_equal(c.key, "/fl/c1/leader");
	assert_string_equal(c.value, "{\"node\":\"n1\",\"base\":0}");
	assert_string_equal(c.guard, "/fl/c1/term_base");
	assert_int_equal(c.guard_mod, 0);
	assert_int_equal(c.lease, 42);
	assert_int_equal(e.state, EE_CAMPAIGNING);
	r = ok(c.id, 7);
	r.succeeded = 1;
	etcd_elect_reply(&e, &r, 1015);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_LEADER);
	assert_string_equal(ev.node, "n1");
	assert_int_equal(ev.term, 7);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_FENCE);
	assert_int_equal(ev.deadline, 1000 + TTL_S * 1000 - MARGIN);
	assert_int_equal(e.state, EE_LEADING);
	no_event(&e);
}

/* The keep-alive due, answered with the full TTL at once. */
static void keep(struct etcd_elect *e, uint64_t now)
{
	struct ee_req k = take(e, EE_KEEPALIVE, now);
	struct ee_reply r = ok(k.id, 1);

	r.ttl = TTL_S;
	etcd_elect_reply(e, &r, now);
}

static void drain(struct etcd_elect *e)
{
	struct ms_event ev;

	while (etcd_elect_ops.next_event(e, &ev))
		;
}

static void lead_at(struct etcd_elect *e, int64_t rev)
{
	struct ee_req c;
	struct ee_reply r;

	start(e, params("n1", 101, 0), NULL, 0, rev - 1);
	etcd_elect_tick(e, 1010);
	c = take(e, EE_CREATE, 1010);
	r = ok(c.id, rev);
	r.succeeded = 1;
	etcd_elect_reply(e, &r, 1015);
	assert_int_equal(e->state, EE_LEADING);
	drain(e);
}

/* Keep-alives every TTL/3; each answered one moves the fence to its send
 * time + TTL - margin; a lease etcd forgot ends the lead at once. */
static void keepalives_move_the_fence(void **state)
{
	struct etcd_elect e;
	struct ee_req k;
	struct ee_reply r;
	struct ms_event ev;

	(void)state;
	lead_at(&e, 7);
	assert_true(etcd_elect_wake_at(&e) <= 1000 + TTL_S * 1000 / 3);
	etcd_elect_tick(&e, 2000);
	k = take(&e, EE_KEEPALIVE, 2000);
	assert_int_equal(k.lease, 42);
	r = ok(k.id, 7);
	r.ttl = TTL_S;
	etcd_elect_reply(&e, &r, 2400); /* a slow answer: counted from the send */
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_FENCE);
	assert_int_equal(ev.deadline, 2000 + TTL_S * 1000 - MARGIN);
	/* unanswered: the lead ends when the lease surely has */
	etcd_elect_tick(&e, 3000);
	k = take(&e, EE_KEEPALIVE, 3000);
	etcd_elect_tick(&e, 4000); /* request_ms: failed, tried again soon */
	etcd_elect_tick(&e, 4300);
	no_event(&e);
	etcd_elect_tick(&e, 2000 + TTL_S * 1000);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_LEADERSHIP_LOST);
	assert_non_null(strstr(ev.reason, "lease has ended"));
	assert_int_equal(e.state, EE_FOLLOWING);
}

static void lease_gone_ends_the_lead(void **state)
{
	struct etcd_elect e;
	struct ee_req k;
	struct ee_reply r;
	struct ms_event ev;

	(void)state;
	lead_at(&e, 7);
	etcd_elect_tick(&e, 2000);
	k = take(&e, EE_KEEPALIVE, 2000);
	r = ok(k.id, 9);
	r.ttl = 0;
	etcd_elect_reply(&e, &r, 2001);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_LEADERSHIP_LOST);
	assert_int_equal(e.lease, 0);
	take(&e, EE_GRANT, 2001);
}

/* Our key deleted or replaced (the watch): the lead ends at once. */
static void key_replaced_ends_the_lead(void **state)
{
	struct etcd_elect e;
	struct ee_event w;
	struct ms_event ev;

	(void)state;
	lead_at(&e, 7);
	memset(&w, 0, sizeof(w));
	w.kv = kv("/fl/c1/leader", "{\"node\":\"n2\",\"base\":0}", 12, 12, 77);
	etcd_elect_watch(&e, &w, 1, 12, 1500);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_LEADERSHIP_LOST);
	assert_non_null(strstr(ev.reason, "replaced by n2"));
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_LEADER);
	assert_string_equal(ev.node, "n2");
	assert_int_equal(ev.term, 12);
}

/* A term this node already knows (kept from the heartbeat backend) above
 * what base + revision would give: the base is raised first, by a
 * compare-and-swap, and the new term is above it. */
static void term_base_raised(void **state)
{
	struct etcd_elect e;
	struct ee_req s, c;
	struct ee_reply r;
	struct ms_event ev;

	(void)state;
	start(&e, params("n1", 101, 500), NULL, 0, 5);
	drain(&e);
	etcd_elect_tick(&e, 1010);
	s = take(&e, EE_SWAP, 1010);
	assert_string_equal(s.key, "/fl/c1/term_base");
	assert_string_equal(s.value, "500");
	assert_int_equal(s.mod, 0);
	r = ok(s.id, 6);
	r.succeeded = 1;
	etcd_elect_reply(&e, &r, 1012);
	etcd_elect_tick(&e, 1013);
	c = take(&e, EE_CREATE, 1013);
	assert_string_equal(c.value, "{\"node\":\"n1\",\"base\":500}");
	assert_int_equal(c.guard_mod, 6);
	r = ok(c.id, 7);
	r.succeeded = 1;
	etcd_elect_reply(&e, &r, 1015);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_LEADER);
	assert_int_equal(ev.term, 507);
}

/* The key names this node under another lease (its previous run): no
 * "we lead", and no campaign until it goes. */
static void previous_run_key(void **state)
{
	struct etcd_elect e;
	struct ee_kv k = kv("/fl/c1/leader", "{\"node\":\"n1\",\"base\":0}", 3, 3, 41);
	struct ms_event ev;

	(void)state;
	start(&e, params("n1", 101, 0), &k, 1, 5);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_NO_LEADER);
	assert_non_null(strstr(ev.reason, "previous run"));
	no_event(&e);
	etcd_elect_tick(&e, 1500);
	no_request(&e, 1500);
	etcd_elect_tick(&e, 2000);
	keep(&e, 2000);
	no_request(&e, 2000);
	/* it expires: now this node campaigns */
	struct ee_event w = {.deleted = 1, .kv = kv("/fl/c1/leader", "", 0, 9, 0)};
	etcd_elect_watch(&e, &w, 1, 9, 2500);
	etcd_elect_tick(&e, 2500);
	take(&e, EE_CREATE, 2500);
}

/* Followers campaign in rank order: a node that may lead and ranks
 * before us goes first, one step each. */
static void rank_order(void **state)
{
	struct etcd_elect e;
	struct ee_kv ks[3] = {
		kv("/fl/c1/nodes/n2", "{\"node\":\"n2\",\"position\":100,\"may_lead\":true}", 2, 2, 50),
		kv("/fl/c1/nodes/n3", "{\"node\":\"n3\",\"position\":99,\"may_lead\":false}", 3, 3, 51),
		kv("/fl/c1/leader", "{\"node\":\"n2\",\"base\":0}", 4, 4, 50),
	};
	struct ee_event w = {.deleted = 1, .kv = kv("/fl/c1/leader", "", 0, 9, 0)};
	struct ms_event ev;

	(void)state;
	start(&e, params("n1", 101, 0), ks, 3, 5);
	assert_int_equal(etcd_elect_ops.standbys(&e, 1010), 1); /* n2; n3 may not lead */
	drain(&e);
	/* n2 led, and left: it is still a record, so it ranks first */
	etcd_elect_watch(&e, &w, 1, 9, 2000);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_NO_LEADER);
	etcd_elect_tick(&e, 2050);
	keep(&e, 2050); /* the lease's, due at 2000: no campaign yet */
	no_request(&e, 2050);
	etcd_elect_tick(&e, 2100);
	take(&e, EE_CREATE, 2100);
}

/* Resigning in favour of n2: in one transaction our key is deleted, our
 * record says we may not lead, and P/next names n2 (on our lease); when
 * the watch shows our key gone the resignation is done; out of the
 * holddown our record says we may lead again. */
static void resign_names_the_successor(void **state)
{
	struct etcd_elect e;
	struct ee_req d, rec;
	struct ms_event ev;

	(void)state;
	lead_at(&e, 7);
	etcd_elect_ops.resign(&e, "n2", 5000, 1100);
	d = take(&e, EE_DELETE_OWN, 1100);
	assert_string_equal(d.key, "/fl/c1/leader");
	assert_int_equal(d.rev, 7);
	assert_int_equal(d.nputs, 2);
	assert_string_equal(d.put[0].key, "/fl/c1/nodes/n1");
	assert_non_null(strstr(d.put[0].value, "\"may_lead\":false"));
	assert_int_equal(d.put[0].lease, 42);
	assert_string_equal(d.put[1].key, "/fl/c1/next");
	assert_string_equal(d.put[1].value, "{\"node\":\"n2\"}");
	assert_int_equal(d.put[1].lease, 42);
	assert_int_equal(e.state, EE_RESIGNING);
	no_event(&e);
	struct ee_event w = {.deleted = 1, .kv = kv("/fl/c1/leader", "", 0, 9, 0)};
	etcd_elect_watch(&e, &w, 1, 9, 1105);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_RESIGN_SENT);
	assert_int_equal(e.state, EE_FOLLOWING);
	/* the delete's own reply changes nothing more */
	etcd_elect_reply(&e, &(struct ee_reply){.id = d.id, .ok = 1, .succeeded = 1, .revision = 9}, 1106);
	no_event(&e);
	/* held down: no campaign of ours */
	etcd_elect_tick(&e, 1200);
	no_request(&e, 1200);
	etcd_elect_tick(&e, 2000);
	keep(&e, 2000);
	etcd_elect_tick(&e, 6100);
	keep(&e, 6100);
	rec = take(&e, EE_PUT, 6100);
	assert_string_equal(rec.key, "/fl/c1/nodes/n1");
	assert_non_null(strstr(rec.value, "\"may_lead\":true"));
}

/* A follower's switchover: P/ask names the target; the leader hears it
 * as a handover request and deletes the ask. */
static void switchover_asked(void **state)
{
	struct etcd_elect e;
	struct ee_req d;
	struct ms_event ev;
	struct ee_event w;
	char why[100];

	(void)state;
	lead_at(&e, 7);
	/* n3 is not known: refused */
	assert_int_equal(etcd_elect_ops.handover(&e, "n3", 1100, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no record"));
	memset(&w, 0, sizeof(w));
	w.kv = kv("/fl/c1/ask", "{\"node\":\"n3\"}", 11, 11, 60);
	etcd_elect_watch(&e, &w, 1, 11, 1200);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_HANDOVER_ASKED);
	assert_string_equal(ev.target, "n3");
	d = take(&e, EE_DELETE_OWN, 1200);
	assert_string_equal(d.key, "/fl/c1/ask");
	assert_int_equal(d.rev, 11);
}


/* Answers every keep-alive that is due and drops the other requests, from
 * `from` to `to` in steps of 100 ms; returns the first request of type t
 * (to the key `key` when not NULL) that was made, or 0. */
static int made_until(struct etcd_elect *e, uint64_t from, uint64_t to, enum ee_req_type t, const char *key)
{
	struct ee_req r;
	/* etcd's keys as these tests have them: our leader key (create 7,
	 * lease 42) until a delete of it goes through */
	struct ee_kv leader = kv("/fl/c1/leader", "{\"node\":\"n1\",\"base\":0}", 7, 7, 42);
	int leader_alive = e->own_rev == 7 || e->resigned_rev == 7;
	int64_t rev = 20; /* each answer a revision later, as etcd's writes make them */

	for (uint64_t now = from; now <= to; now += 100) {
		etcd_elect_tick(e, now);
		while (etcd_elect_take_request(e, &r, now)) {
			if (r.type == t && (key == NULL || strcmp(r.key, key) == 0))
				return 1;
			if (r.type == EE_KEEPALIVE) {
				struct ee_reply k = ok(r.id, ++rev);
				k.ttl = TTL_S;
				etcd_elect_reply(e, &k, now);
			} else if (r.type == EE_READ) {
				struct ee_reply k = ok(r.id, ++rev);
				k.kvs = &leader;
				k.nkvs = leader_alive;
				etcd_elect_reply(e, &k, now);
			} else if (r.type != EE_WATCH && r.type != EE_CANCEL_WATCH) {
				struct ee_reply k = ok(r.id, ++rev);
				if (r.type == EE_DELETE_OWN && strcmp(r.key, leader.key) == 0)
					leader_alive = 0;
				k.succeeded = 1;
				etcd_elect_reply(e, &k, now);
			}
		}
		drain(e);
	}
	return 0;
}

/* Resigning, the watch starts again: the read (made before the delete
 * reached etcd) still shows our key.  That is not a new lead: the broker
 * is down and our delete is on its way (it will succeed).  Observed:
 * etcd_elect leads again (MS_IN_LEADER for us: mastership goes from
 * RESIGNING back to MASTER and starts the broker), and the delete's
 * reply, which removed our key, is then ignored: a broker runs on a node
 * whose key is gone until the watch brings the delete. */
static void resigning_read_does_not_lead_again(void **state)
{
	struct etcd_elect e;
	struct ee_req d, rd;
	struct ee_reply r;
	struct ee_kv k = kv("/fl/c1/leader", "{\"node\":\"n1\",\"base\":0}", 7, 7, 42);
	struct ms_event ev;

	(void)state;
	lead_at(&e, 7);
	etcd_elect_ops.resign(&e, "", 5000, 1100);
	d = take(&e, EE_DELETE_OWN, 1100);
	assert_int_equal(e.state, EE_RESIGNING);
	etcd_elect_watch_ended(&e, "reset", 1110);
	etcd_elect_tick(&e, 1400);
	rd = take(&e, EE_READ, 1400);
	r = ok(rd.id, 8); /* executed before the delete */
	r.kvs = &k;
	r.nkvs = 1;
	etcd_elect_reply(&e, &r, 1405);
	while (etcd_elect_ops.next_event(&e, &ev))
		assert_int_not_equal(ev.type, MS_IN_LEADER);
	assert_int_equal(e.state, EE_RESIGNING);
	/* the delete went through: the resignation is done */
	etcd_elect_reply(&e, &(struct ee_reply){.id = d.id, .ok = 1, .succeeded = 1, .revision = 9}, 1410);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_RESIGN_SENT);
	assert_int_equal(e.state, EE_FOLLOWING);
}

/* Resigning because this node may not lead (unhealthy): the delete of
 * our key gets no answer.  etcd_elect says "the key ends with our lease"
 * but keeps that lease alive for ever, and never deletes the key again:
 * nobody else can campaign while it lives, so the cluster has no master
 * for good.  Expected: the key is deleted again (or the lease revoked). */
static void unanswered_resign_frees_the_key(void **state)
{
	struct etcd_elect e;
	struct ms_event ev;

	(void)state;
	lead_at(&e, 7);
	etcd_elect_ops.set_claimable(&e, 0);
	etcd_elect_ops.resign(&e, "", 5000, 1100);
	take(&e, EE_DELETE_OWN, 1100);
	etcd_elect_tick(&e, 2100); /* request_ms: no answer */
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_RESIGN_SENT);
	assert_int_equal(e.state, EE_FOLLOWING);
	drain(&e);
	assert_true(made_until(&e, 2100, 30000, EE_DELETE_OWN, "/fl/c1/leader") ||
		    made_until(&e, 30100, 30200, EE_REVOKE, NULL));
}

/* Resigned in favour of n2, whose record lives; our P/next (on our lease)
 * is to go at the end of the holddown, and that delete fails once.  It is
 * never made again: P/next lives as long as our lease, every node waits
 * for n2 (schedule_campaign: "the named successor lives"), and n2 does
 * not campaign (its record says it may not lead). */
static void failed_next_delete_is_retried(void **state)
{
	struct etcd_elect e;
	struct ee_req d;
	struct ee_event w[3];

	(void)state;
	lead_at(&e, 7);
	memset(w, 0, sizeof(w));
	w[0].kv = kv("/fl/c1/nodes/n2", "{\"node\":\"n2\",\"position\":100,\"may_lead\":true}", 8, 8, 50);
	etcd_elect_watch(&e, w, 1, 8, 1050);
	drain(&e);
	etcd_elect_ops.resign(&e, "n2", 2000, 1100);
	d = take(&e, EE_DELETE_OWN, 1100);
	memset(w, 0, sizeof(w));
	w[0].deleted = 1;
	w[0].kv = kv("/fl/c1/leader", "", 0, 9, 0);
	w[1].kv = kv("/fl/c1/nodes/n1", "{\"node\":\"n1\",\"position\":101,\"may_lead\":false}", 2, 9, 42);
	w[2].kv = kv("/fl/c1/next", "{\"node\":\"n2\"}", 9, 9, 42);
	etcd_elect_watch(&e, w, 3, 9, 1105);
	etcd_elect_reply(&e, &(struct ee_reply){.id = d.id, .ok = 1, .succeeded = 1, .revision = 9}, 1106);
	drain(&e);
	/* n2 may not lead any more (paused, unhealthy) */
	memset(w, 0, sizeof(w));
	w[0].kv = kv("/fl/c1/nodes/n2", "{\"node\":\"n2\",\"position\":100,\"may_lead\":false}", 8, 10, 50);
	etcd_elect_watch(&e, w, 1, 10, 1200);
	drain(&e);
	/* out of the holddown: P/next is deleted; etcd does not answer */
	assert_true(made_until(&e, 1300, 3200, EE_DELETE_OWN, "/fl/c1/next"));
	etcd_elect_tick(&e, 4300); /* request_ms later: failed */
	drain(&e);
	/* expected: P/next deleted again, or our own campaign */
	assert_true(made_until(&e, 4300, 30000, EE_DELETE_OWN, "/fl/c1/next") ||
		    made_until(&e, 30100, 30200, EE_CREATE, NULL));
}

/* The lead ended by our clock (no keep-alive answered for the TTL) while
 * etcd kept the lease (it had no leader for a while, and a new etcd
 * leader extends every lease); mastership, fenced, stops the broker and
 * resigns: etcd_elect is FOLLOWING then, and its resign clears the
 * campaign without scheduling one again.  Keep-alives work again: our
 * key lives on our lease; no other node campaigns while it lives, and
 * we never do: no master for good.  Expected: a campaign (its failed
 * create shows the key is ours: we lead), or the key deleted. */
static void resign_after_lost_lead_campaigns_again(void **state)
{
	struct etcd_elect e;
	struct ee_req k;
	struct ms_event ev;
	int lost = 0;

	(void)state;
	lead_at(&e, 7);
	etcd_elect_tick(&e, 2000);
	k = take(&e, EE_KEEPALIVE, 2000); /* never answered */
	(void)k;
	for (uint64_t now = 2100; now <= 4100; now += 100) {
		struct ee_req r;
		etcd_elect_tick(&e, now);
		while (etcd_elect_take_request(&e, &r, now))
			; /* etcd has no leader: nothing is answered */
		while (etcd_elect_ops.next_event(&e, &ev))
			lost |= ev.type == MS_IN_LEADERSHIP_LOST;
	}
	assert_true(lost);
	assert_int_equal(e.state, EE_FOLLOWING);
	/* the broker is down: mastership resigns */
	etcd_elect_ops.resign(&e, "", 1000, 4200);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_RESIGN_SENT);
	drain(&e);
	/* etcd is back: keep-alives answered with the full TTL; the key
	 * (create 7, lease 42) was never deleted */
	assert_true(made_until(&e, 4300, 30000, EE_CREATE, NULL) ||
		    made_until(&e, 30100, 30200, EE_DELETE_OWN, "/fl/c1/leader"));
}

/* A keep-alive answered with less than the granted TTL (a lease etcd
 * shortened: revoked and granted again under the same ID, or a proxy):
 * etcd promises only that TTL from now.  Observed: the fence is
 * computed with the TTL of the grant, 2 s past the lease's end. */
static void keepalive_ttl_bounds_the_fence(void **state)
{
	struct etcd_elect e;
	struct ee_req k;
	struct ee_reply r;
	struct ms_event ev;

	(void)state;
	lead_at(&e, 7);
	etcd_elect_tick(&e, 2000);
	k = take(&e, EE_KEEPALIVE, 2000);
	r = ok(k.id, 7);
	r.ttl = 1;
	etcd_elect_reply(&e, &r, 2010);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_FENCE);
	assert_true(ev.deadline <= 2000 + 1000 - MARGIN);
}

/* P/ask written while nobody led (or the leader was resigning) stays, on
 * the asker's lease.  A later leader hears it at its next read (a watch
 * restart, any time later) and hands over to that stale target.
 * Expected: an ask older than our lead is deleted, not obeyed. */
static void stale_ask_is_not_obeyed(void **state)
{
	struct etcd_elect e;
	struct ee_kv ask = kv("/fl/c1/ask", "{\"node\":\"n3\"}", 3, 3, 60);
	struct ee_kv now_keys[3] = {
		kv("/fl/c1/nodes/n3", "{\"node\":\"n3\",\"position\":100,\"may_lead\":true}", 2, 2, 60),
		ask,
		kv("/fl/c1/leader", "{\"node\":\"n1\",\"base\":0}", 7, 7, 42),
	};
	struct ee_req c, rd;
	struct ee_reply r;
	struct ms_event ev;

	(void)state;
	start(&e, params("n1", 99, 0), &ask, 1, 5);
	drain(&e);
	etcd_elect_tick(&e, 1010);
	c = take(&e, EE_CREATE, 1010);
	r = ok(c.id, 7);
	r.succeeded = 1;
	etcd_elect_reply(&e, &r, 1015);
	assert_int_equal(e.state, EE_LEADING);
	drain(&e);
	/* the watch starts again a while later */
	etcd_elect_watch_ended(&e, "reset", 1500);
	etcd_elect_tick(&e, 1800);
	rd = take(&e, EE_READ, 1800);
	r = ok(rd.id, 8);
	r.kvs = now_keys;
	r.nkvs = 3;
	etcd_elect_reply(&e, &r, 1805);
	while (etcd_elect_ops.next_event(&e, &ev))
		assert_int_not_equal(ev.type, MS_IN_HANDOVER_ASKED);
}

/* Leading, the watch starts again after a gap in which the other nodes'
 * records changed (health, role) and our key was replaced: one read
 * gives one event per record, then "lead lost".  Past EE_EVENTS events
 * push() writes into a spare that nobody reads: with 32 records the
 * LEADERSHIP_LOST is lost and mastership keeps our broker running while
 * n2 leads (two brokers).  Expected: every event reaches mastership, or
 * at least the lead's loss. */
static void many_records_do_not_hide_the_lost_lead(void **state)
{
	static struct ee_kv ks[EE_NODES_MAX + 1];
	struct etcd_elect e;
	struct ee_req rd;
	struct ee_reply r;
	struct ms_event ev;
	int lost = 0;

	(void)state;
	lead_at(&e, 7);
	for (int i = 0; i < EE_NODES_MAX; i++) {
		char key[64], val[128];
		snprintf(key, sizeof(key), "/fl/c1/nodes/m%02d", i);
		snprintf(val, sizeof(val), "{\"node\":\"m%02d\",\"position\":%d,\"may_lead\":true}", i, 200 + i);
		ks[i] = kv(key, val, 8, 20, 100 + i);
	}
	ks[EE_NODES_MAX] = kv("/fl/c1/leader", "{\"node\":\"m00\",\"base\":0}", 30, 30, 100);
	etcd_elect_watch_ended(&e, "reset", 1500);
	etcd_elect_tick(&e, 1800);
	rd = take(&e, EE_READ, 1800);
	r = ok(rd.id, 31);
	r.kvs = ks;
	r.nkvs = EE_NODES_MAX + 1;
	etcd_elect_reply(&e, &r, 1805);
	assert_int_equal(e.state, EE_FOLLOWING);
	while (etcd_elect_ops.next_event(&e, &ev))
		lost |= ev.type == MS_IN_LEADERSHIP_LOST;
	assert_true(lost);
}

/* ---- failsafe mode (cluster.etcd_failsafe) */

static struct ee_params fs_params(const char *self, uint32_t position)
{
	struct ee_params p = params(self, position, 0);

	p.failsafe = 1;
	return p;
}

/* n1 leads in failsafe mode with n2 (whose record says failsafe) known:
 * P/failsafe is written without a lease, naming both; once the watch
 * shows it, its members are the ones the lead must hear. */
static void fs_lead(struct etcd_elect *e, const char *n2_record)
{
	struct ee_kv ks[1] = {kv("/fl/c1/nodes/n2", n2_record, 2, 2, 50)};
	struct ee_req c, put;
	struct ee_reply r;
	struct ee_event w;

	start(e, fs_params("n1", 101), ks, 1, 5);
	etcd_elect_tick(e, 1010);
	c = take(e, EE_CREATE, 1010);
	r = ok(c.id, 7);
	r.succeeded = 1;
	etcd_elect_reply(e, &r, 1015);
	assert_int_equal(e->state, EE_LEADING);
	drain(e);
	etcd_elect_tick(e, 1020);
	put = take(e, EE_PUT, 1020);
	assert_string_equal(put.key, "/fl/c1/failsafe");
	assert_string_equal(put.value, "{\"leader\":\"n1\",\"members\":[\"n1\",\"n2\"]}");
	assert_int_equal(put.lease, 0);
	etcd_elect_reply(e, &(struct ee_reply){.id = put.id, .ok = 1, .revision = 8}, 1025);
	memset(&w, 0, sizeof(w));
	w.kv = kv("/fl/c1/failsafe", put.value, 8, 8, 0);
	etcd_elect_watch(e, &w, 1, 8, 1030);
	etcd_elect_tick(e, 1040);
	no_request(e, 1040); /* written: not again */
}

/* etcd silent past the lease: while the members' word (the daemon's
 * deadline) runs, the lead goes on and the fence follows it; when it ends
 * the lead ends. */
static void failsafe_carries_the_lead_past_the_lease(void **state)
{
	struct etcd_elect e;
	const char *m[4];
	struct ms_event ev;
	int lost = 0;

	(void)state;
	fs_lead(&e, "{\"node\":\"n2\",\"position\":102,\"may_lead\":true,\"failsafe\":true}");
	assert_int_equal(etcd_elect_failsafe_members(&e, m, 4), 1);
	assert_string_equal(m[0], "n2");
	/* the members' word reaches 9000 */
	etcd_elect_failsafe(&e, 0, 9000, 1100);
	ev = next_event(&e);
	assert_int_equal(ev.type, MS_IN_FENCE);
	assert_int_equal(ev.deadline, 9000);
	/* no keep-alive answered: the lease (granted at 1000, 3 s) ends at 4000 */
	etcd_elect_tick(&e, 2000);
	take(&e, EE_KEEPALIVE, 2000);
	etcd_elect_tick(&e, 4000);
	while (etcd_elect_ops.next_event(&e, &ev))
		lost |= ev.type == MS_IN_LEADERSHIP_LOST;
	assert_false(lost);
	assert_int_equal(e.state, EE_LEADING);
	assert_true(e.fs_active);
	assert_non_null(strstr(e.reason, "failsafe"));
	/* the word ends (a member stops hearing us): the fence comes down at
	 * once, the lead ends */
	etcd_elect_failsafe(&e, 0, 0, 5000);
	while (etcd_elect_ops.next_event(&e, &ev)) {
		if (ev.type == MS_IN_FENCE)
			assert_true(ev.deadline <= 5000);
		lost |= ev.type == MS_IN_LEADERSHIP_LOST;
	}
	assert_true(lost);
	assert_int_equal(e.state, EE_FOLLOWING);
}

/* etcd answers again after our lease ended on the members' word: a new
 * lease, our key created again, a new term, and no loss of the lead in
 * between (the broker is kept). */
static void failsafe_lead_takes_its_key_again(void **state)
{
	struct etcd_elect e;
	struct ee_req k, g, c;
	struct ee_reply r;
	struct ms_event ev;
	int lost = 0, led = 0;

	(void)state;
	fs_lead(&e, "{\"node\":\"n2\",\"position\":102,\"may_lead\":true,\"failsafe\":true}");
	etcd_elect_failsafe(&e, 0, 20000, 1100);
	etcd_elect_tick(&e, 2000);
	take(&e, EE_KEEPALIVE, 2000);
	etcd_elect_tick(&e, 4100);
	assert_true(e.fs_active);
	etcd_elect_tick(&e, 4500); /* the failed keep-alive again */
	k = take(&e, EE_KEEPALIVE, 4500);
	r = ok(k.id, 30);
	r.ttl = 0; /* etcd is back; our lease ended meanwhile */
	etcd_elect_reply(&e, &r, 4600);
	assert_int_equal(e.state, EE_LEADING);
	take(&e, EE_CANCEL_WATCH, 4600); /* the watch may have died with the cut: anew */
	g = take(&e, EE_GRANT, 4600);
	r = ok(g.id, 31);
	r.lease = 43;
	r.ttl = TTL_S;
	etcd_elect_reply(&e, &r, 4700);
	take(&e, EE_PUT, 4700); /* our record on the new lease */
	take(&e, EE_READ, 4700); /* and the keys read again */
	etcd_elect_tick(&e, 4710);
	c = take(&e, EE_CREATE, 4710);
	assert_string_equal(c.key, "/fl/c1/leader");
	assert_int_equal(c.lease, 43);
	r = ok(c.id, 32);
	r.succeeded = 1;
	etcd_elect_reply(&e, &r, 4720);
	while (etcd_elect_ops.next_event(&e, &ev)) {
		lost |= ev.type == MS_IN_LEADERSHIP_LOST;
		if (ev.type == MS_IN_LEADER) {
			assert_string_equal(ev.node, "n1");
			assert_int_equal(ev.term, 32);
			led = 1;
		}
	}
	assert_false(lost);
	assert_true(led);
	assert_false(e.fs_active);
}

/* A member whose record does not say failsafe campaigns whatever it
 * hears: the lead gets no members' word at all. */
static void failsafe_needs_every_member_in_failsafe_mode(void **state)
{
	struct etcd_elect e;
	const char *m[4];

	(void)state;
	fs_lead(&e, "{\"node\":\"n2\",\"position\":102,\"may_lead\":true}");
	assert_int_equal(etcd_elect_failsafe_members(&e, m, 4), 0);
}

/* Time passes from..to in steps, keep-alives answered; the time of the
 * first create (0: none). */
static uint64_t run_until(struct etcd_elect *e, uint64_t from, uint64_t to)
{
	struct ee_req r;

	for (uint64_t t = from; t <= to; t += 100) {
		etcd_elect_tick(e, t);
		while (etcd_elect_take_request(e, &r, t)) {
			if (r.type == EE_CREATE)
				return t;
			if (r.type == EE_KEEPALIVE) {
				struct ee_reply a = ok(r.id, 9);
				a.ttl = TTL_S;
				etcd_elect_reply(e, &a, t);
			}
		}
	}
	return 0;
}

/* A follower that hears a master waits for the hold; one not among
 * P/failsafe's members never campaigns; a resignation's successor goes at
 * once. */
static void failsafe_follower_holds(void **state)
{
	struct etcd_elect e;
	struct ee_kv ks[2] = {
		kv("/fl/c1/failsafe", "{\"leader\":\"n2\",\"members\":[\"n2\",\"n1\"]}", 3, 3, 0),
		kv("/fl/c1/leader", "{\"node\":\"n2\",\"base\":0}", 4, 4, 50),
	};
	struct ee_event w = {.deleted = 1, .kv = kv("/fl/c1/leader", "", 0, 9, 0)};

	(void)state;
	start(&e, fs_params("n1", 101), ks, 2, 5);
	drain(&e);
	etcd_elect_failsafe(&e, 6000, 0, 1500);
	etcd_elect_watch(&e, &w, 1, 9, 2000); /* the key expired */
	drain(&e);
	assert_int_equal(run_until(&e, 2100, 5900), 0);
	assert_non_null(strstr(e.reason, "failsafe"));
	assert_true(run_until(&e, 6000, 6500) != 0);

	/* held again, then released (the master's beacon says it leads no
	 * more): a campaign in rank at once, not at the hold's end */
	start(&e, fs_params("n1", 101), ks, 2, 5);
	drain(&e);
	etcd_elect_failsafe(&e, 60000, 0, 1500);
	etcd_elect_watch(&e, &w, 1, 9, 2000);
	drain(&e);
	assert_int_equal(run_until(&e, 2100, 2500), 0);
	etcd_elect_failsafe(&e, 0, 0, 2600);
	assert_int_equal(run_until(&e, 2600, 3000), 2600);

	/* not among the members: never */
	ks[0] = kv("/fl/c1/failsafe", "{\"leader\":\"n2\",\"members\":[\"n2\",\"n3\"]}", 3, 3, 0);
	start(&e, fs_params("n1", 101), ks, 2, 5);
	drain(&e);
	etcd_elect_watch(&e, &w, 1, 9, 2000);
	drain(&e);
	assert_int_equal(run_until(&e, 2100, 12000), 0);
	assert_non_null(strstr(e.reason, "not among the members"));

	/* named by the master's resignation: at once, whatever was heard */
	ks[0] = kv("/fl/c1/failsafe", "{\"leader\":\"n2\",\"members\":[\"n2\",\"n1\"]}", 3, 3, 0);
	start(&e, fs_params("n1", 101), ks, 2, 5);
	drain(&e);
	etcd_elect_failsafe(&e, 60000, 0, 1500);
	{
		struct ee_event two[2] = {
			{.deleted = 1, .kv = kv("/fl/c1/leader", "", 0, 9, 0)},
			{.deleted = 0, .kv = kv("/fl/c1/next", "{\"node\":\"n1\"}", 9, 9, 50)},
		};
		etcd_elect_watch(&e, two, 2, 9, 2000);
	}
	drain(&e);
	assert_int_equal(run_until(&e, 2100, 2500), 2100);
}

/* A request fails (a cut that may have taken the watch's connection with
 * it, without a reset to say so): after the next answer the watch is
 * dropped and the keys read and watched again, so that a key change
 * missed meanwhile is seen. */
static void failed_request_renews_the_watch(void **state)
{
	struct etcd_elect e;
	struct ee_req k, w;
	struct ee_reply r;

	(void)state;
	lead_at(&e, 7);
	etcd_elect_tick(&e, 2000);
	k = take(&e, EE_KEEPALIVE, 2000);
	etcd_elect_reply(&e, &(struct ee_reply){.id = k.id, .ok = 0}, 2100);
	no_request(&e, 2100); /* nothing to renew yet: etcd did not answer */
	etcd_elect_tick(&e, 2400);
	k = take(&e, EE_KEEPALIVE, 2400);
	r = ok(k.id, 9);
	r.ttl = TTL_S;
	etcd_elect_reply(&e, &r, 2450);
	take(&e, EE_CANCEL_WATCH, 2450);
	etcd_elect_tick(&e, 2460);
	{
		struct ee_kv mine = kv("/fl/c1/leader", "{\"node\":\"n1\",\"base\":0}", 7, 7, 42);
		r = ok(take(&e, EE_READ, 2460).id, 10);
		r.kvs = &mine;
		r.nkvs = 1;
		etcd_elect_reply(&e, &r, 2470);
	}
	w = take(&e, EE_WATCH, 2470);
	assert_int_equal(w.rev, 11);
	assert_int_equal(e.state, EE_LEADING);
	/* no renewal without a failure */
	etcd_elect_tick(&e, 3400);
	k = take(&e, EE_KEEPALIVE, 3400);
	r = ok(k.id, 11);
	r.ttl = TTL_S;
	etcd_elect_reply(&e, &r, 3410);
	no_request(&e, 3410);
}

/* ---- failsafe: the adversary's cases (review of the failsafe mode) */

/* The first request of type t waiting; the others before it (a renewed
 * watch's cancel and read) are left unanswered. */
static struct ee_req take_skip(struct etcd_elect *e, enum ee_req_type t, uint64_t now)
{
	struct ee_req r;

	while (etcd_elect_take_request(e, &r, now))
		if (r.type == t)
			return r;
	fail_msg("no request of type %d", (int)t);
	return r;
}

#define FS_N2 "{\"node\":\"n2\",\"position\":102,\"may_lead\":true,\"failsafe\":true}"

/* Whether any event waiting is a loss of the lead; every fence deadline
 * said is at most not_after (0: any). */
static int lost_and_fenced(struct etcd_elect *e, uint64_t not_after)
{
	struct ms_event ev;
	int lost = 0;

	while (etcd_elect_ops.next_event(e, &ev)) {
		if (ev.type == MS_IN_FENCE && not_after != 0)
			assert_true(ev.deadline <= not_after);
		lost |= ev.type == MS_IN_LEADERSHIP_LOST;
	}
	return lost;
}

/* A failsafe lead (fs_lead) whose members' word runs to `word`: no
 * keep-alive answered from 2000 on, the lease ends and the word carries
 * the lead; at 4600 etcd answers that the lease is gone, a new one (43)
 * is granted, and the create of our key goes out at 4710 (returned). */
static struct ee_req fs_etcd_back(struct etcd_elect *e, uint64_t word)
{
	struct ee_req k, g;
	struct ee_reply r;

	etcd_elect_failsafe(e, 0, word, 1100);
	etcd_elect_tick(e, 2000);
	take(e, EE_KEEPALIVE, 2000);
	etcd_elect_tick(e, 4100);
	assert_true(e->fs_active);
	etcd_elect_tick(e, 4500);
	k = take(e, EE_KEEPALIVE, 4500);
	r = ok(k.id, 30);
	r.ttl = 0;
	etcd_elect_reply(e, &r, 4600);
	g = take_skip(e, EE_GRANT, 4600);
	r = ok(g.id, 31);
	r.lease = 43;
	r.ttl = TTL_S;
	etcd_elect_reply(e, &r, 4700);
	take_skip(e, EE_PUT, 4700);
	etcd_elect_tick(e, 4710);
	return take_skip(e, EE_CREATE, 4710);
}

/* etcd answers again (our lease gone), a new lease is granted, the create
 * of our key is on its way; then a member stops hearing us.  The new
 * lease holds no key: it must not carry the lead nor move the fence, or
 * a member that no longer hears us campaigns (the key is free) while our
 * broker serves on the new lease's deadline. */
static void fs_rejoin_lease_does_not_carry_a_keyless_lead(void **state)
{
	struct etcd_elect e;

	(void)state;
	fs_lead(&e, FS_N2);
	fs_etcd_back(&e, 6000); /* the create: no answer yet */
	drain(&e);
	/* n2 no longer hears us: the members' word is gone */
	etcd_elect_failsafe(&e, 0, 0, 4800);
	etcd_elect_tick(&e, 4800);
	assert_true(lost_and_fenced(&e, 4800));
	assert_int_not_equal(e.state, EE_LEADING);
}

/* The members' word ran out (deadline 5000: the fence came down then),
 * the lead's timer is late, and a beacon read after it (a drain before
 * the tick, after a stall) brings a fresh word: the lead that ended must
 * not come back, its fence not move on. */
static void fs_word_that_ran_out_does_not_revive(void **state)
{
	struct etcd_elect e;

	(void)state;
	fs_lead(&e, FS_N2);
	etcd_elect_failsafe(&e, 0, 5000, 1100);
	etcd_elect_tick(&e, 2000);
	take(&e, EE_KEEPALIVE, 2000);
	etcd_elect_tick(&e, 4000);
	assert_true(e.fs_active);
	drain(&e);
	etcd_elect_failsafe(&e, 0, 9000, 5600);
	assert_true(lost_and_fenced(&e, 5600));
	assert_int_not_equal(e.state, EE_LEADING);
}

/* A node whose record does not say failsafe appears after P/failsafe was
 * written (it is not listed yet, or the rewrite has not shown): it
 * campaigns whatever it hears, so no failsafe lead. */
static void fs_unlisted_node_without_failsafe_gives_no_lead(void **state)
{
	struct etcd_elect e;
	const char *m[4];
	struct ee_event w;

	(void)state;
	fs_lead(&e, FS_N2);
	memset(&w, 0, sizeof(w));
	w.kv = kv("/fl/c1/nodes/n3", "{\"node\":\"n3\",\"position\":103,\"may_lead\":true}", 9, 9, 60);
	etcd_elect_watch(&e, &w, 1, 9, 1100);
	drain(&e);
	assert_int_equal(etcd_elect_failsafe_members(&e, m, 4), 0);
}

/* n3 joins; our put of P/failsafe naming it is answered, but etcd is cut
 * off before the watch shows it.  In etcd n3 is listed: cut off from us
 * it campaigns once the key is free, so its word is needed too. */
static void fs_written_list_counts_before_the_watch_shows_it(void **state)
{
	struct etcd_elect e;
	const char *m[4];
	struct ee_event w;
	struct ee_req put;
	int n3 = 0;
	size_t n;

	(void)state;
	fs_lead(&e, FS_N2);
	memset(&w, 0, sizeof(w));
	w.kv = kv("/fl/c1/nodes/n3", "{\"node\":\"n3\",\"position\":103,\"may_lead\":true,\"failsafe\":true}", 9, 9,
		  60);
	etcd_elect_watch(&e, &w, 1, 9, 1100);
	drain(&e);
	etcd_elect_tick(&e, 1110);
	put = take(&e, EE_PUT, 1110);
	assert_string_equal(put.key, "/fl/c1/failsafe");
	assert_non_null(strstr(put.value, "n3"));
	etcd_elect_reply(&e, &(struct ee_reply){.id = put.id, .ok = 1, .revision = 10}, 1120);
	n = etcd_elect_failsafe_members(&e, m, 4);
	for (size_t i = 0; i < n; i++)
		n3 |= strcmp(m[i], "n3") == 0;
	assert_true(n3);
}

/* etcd answers again before our lease ended on its side (a new etcd
 * leader extends leases): the keep-alive is answered with a TTL, our key
 * is still ours.  The failsafe lead is over: P/failsafe is kept up to date
 * again (a node that joins is listed), the status says no failsafe. */
static void fs_lead_ends_when_the_old_lease_answers(void **state)
{
	struct etcd_elect e;
	struct ee_req k, r0;
	struct ee_reply r;
	struct ee_event w;
	int put = 0;

	(void)state;
	fs_lead(&e, FS_N2);
	etcd_elect_failsafe(&e, 0, 20000, 1100);
	etcd_elect_tick(&e, 2000);
	take(&e, EE_KEEPALIVE, 2000);
	etcd_elect_tick(&e, 4100);
	assert_true(e.fs_active);
	etcd_elect_tick(&e, 4500);
	k = take(&e, EE_KEEPALIVE, 4500);
	r = ok(k.id, 30);
	r.ttl = TTL_S;
	etcd_elect_reply(&e, &r, 4600);
	etcd_elect_tick(&e, 4700);
	assert_false(e.fs_active);
	/* the watch renewed after the failures: the keys read again */
	{
		struct ee_kv ks[3] = {
			kv("/fl/c1/leader", "{\"node\":\"n1\",\"base\":0}", 7, 7, 42),
			kv("/fl/c1/failsafe", "{\"leader\":\"n1\",\"members\":[\"n1\",\"n2\"]}", 8, 8, 0),
			kv("/fl/c1/nodes/n2", FS_N2, 2, 2, 50),
		};
		struct ee_req rd = take_skip(&e, EE_READ, 4700);
		r = ok(rd.id, 30);
		r.kvs = ks;
		r.nkvs = 3;
		etcd_elect_reply(&e, &r, 4710);
		take_skip(&e, EE_WATCH, 4710);
	}
	drain(&e);
	memset(&w, 0, sizeof(w));
	w.kv = kv("/fl/c1/nodes/n3", "{\"node\":\"n3\",\"position\":103,\"may_lead\":true,\"failsafe\":true}", 31,
		  31, 60);
	etcd_elect_watch(&e, &w, 1, 31, 4800);
	etcd_elect_tick(&e, 4900);
	while (etcd_elect_take_request(&e, &r0, 4900))
		put |= r0.type == EE_PUT && strcmp(r0.key, "/fl/c1/failsafe") == 0;
	assert_true(put);
}

/* Our put of P/failsafe goes unanswered in time, but it was made (the
 * watch shows it): nothing is left to retry, so the wake-up time must not
 * stay in the past (etcd_backend would run its timer at 0 s forever). */
static void fs_unanswered_put_does_not_spin(void **state)
{
	struct etcd_elect e;
	struct ee_kv ks[1] = {kv("/fl/c1/nodes/n2", FS_N2, 2, 2, 50)};
	struct ee_req c, put, k;
	struct ee_reply r;
	struct ee_event w;

	(void)state;
	start(&e, fs_params("n1", 101), ks, 1, 5);
	etcd_elect_tick(&e, 1010);
	c = take(&e, EE_CREATE, 1010);
	r = ok(c.id, 7);
	r.succeeded = 1;
	etcd_elect_reply(&e, &r, 1015);
	drain(&e);
	etcd_elect_tick(&e, 1020);
	put = take(&e, EE_PUT, 1020);
	memset(&w, 0, sizeof(w));
	w.kv = kv("/fl/c1/failsafe", put.value, 8, 8, 0);
	etcd_elect_watch(&e, &w, 1, 8, 1500);
	etcd_elect_tick(&e, 2020); /* the put's reply is overdue */
	k = take(&e, EE_KEEPALIVE, 2020);
	r = ok(k.id, 9);
	r.ttl = TTL_S;
	etcd_elect_reply(&e, &r, 2030);
	/* the watch renewed after the failure: the keys read again */
	{
		struct ee_kv ks2[3] = {
			kv("/fl/c1/leader", "{\"node\":\"n1\",\"base\":0}", 7, 7, 42),
			kv("/fl/c1/failsafe", put.value, 8, 8, 0),
			kv("/fl/c1/nodes/n2", FS_N2, 2, 2, 50),
		};
		struct ee_req rd;
		etcd_elect_tick(&e, 2040);
		rd = take_skip(&e, EE_READ, 2040);
		r = ok(rd.id, 9);
		r.kvs = ks2;
		r.nkvs = 3;
		etcd_elect_reply(&e, &r, 2050);
		take_skip(&e, EE_WATCH, 2050);
	}
	etcd_elect_tick(&e, 2100);
	no_request(&e, 2100);
	drain(&e);
	assert_true(etcd_elect_wake_at(&e) > 2100);
}


/* A grant or a read on its way: nothing to do until its answer or its
 * timeout, so the wake-up time is not "now" (the backend would run its
 * timer at 0 s until the answer: a busy loop while etcd is slow or down). */
static void waiting_for_an_answer_does_not_spin(void **state)
{
	struct etcd_elect e;
	struct ee_req rd;
	struct ee_params p = params("n1", 101, 0);

	(void)state;
	etcd_elect_init(&e, &p, 1000);
	take(&e, EE_GRANT, 1000);
	assert_true(etcd_elect_wake_at(&e) > 1000);
	etcd_elect_tick(&e, 1001);
	assert_true(etcd_elect_wake_at(&e) > 1001);

	/* following; the watch ends, the read again is on its way */
	start(&e, params("n1", 101, 0), NULL, 0, 5);
	drain(&e);
	etcd_elect_watch_ended(&e, "reset", 1100);
	etcd_elect_tick(&e, 1400);
	rd = take(&e, EE_READ, 1400);
	(void)rd;
	etcd_elect_tick(&e, 1401);
	assert_true(etcd_elect_wake_at(&e) > 1401);
}


/* A resignation while our key is being created again (fs_rejoin): the
 * create lands, the resignation's delete (of the old key's revision)
 * fails and reads our new key.  That key is ours and our lease lives on:
 * it must be deleted (or led), never left standing with nobody leading
 * behind it (every other node would follow us for good). */
static void fs_resign_during_rejoin_leaves_no_orphan_key(void **state)
{
	struct etcd_elect e;
	struct ee_req c, d, r0;
	struct ee_reply r;
	struct ee_kv mine = kv("/fl/c1/leader", "{\"node\":\"n1\",\"base\":0}", 32, 32, 43);
	int deletes = 0;

	(void)state;
	fs_lead(&e, FS_N2);
	c = fs_etcd_back(&e, 20000);
	etcd_elect_ops.resign(&e, "", 0, 4720);
	d = take_skip(&e, EE_DELETE_OWN, 4720);
	r = ok(c.id, 32);
	r.succeeded = 1;
	etcd_elect_reply(&e, &r, 4730);
	r = ok(d.id, 33);
	r.kvs = &mine;
	r.nkvs = 1;
	etcd_elect_reply(&e, &r, 4740);
	drain(&e);
	for (uint64_t t = 4800; t < 9000; t += 100) {
		etcd_elect_tick(&e, t);
		while (etcd_elect_take_request(&e, &r0, t)) {
			if (r0.type == EE_DELETE_OWN && strcmp(r0.key, "/fl/c1/leader") == 0 && r0.rev == 32)
				deletes++;
			if (r0.type == EE_KEEPALIVE) {
				struct ee_reply a = ok(r0.id, 34);
				a.ttl = TTL_S;
				etcd_elect_reply(&e, &a, t);
			}
		}
	}
	assert_true(deletes > 0 || e.state == EE_LEADING);
}


/* etcd may grant a longer TTL than asked (its minimum follows its
 * election timeout).  A master counts on a member's hold of the granted
 * TTL after its last hearing, and a restarted member listens before it
 * campaigns so that the hearing of its previous run has run out: that
 * listening must last the granted TTL, not the one asked. */
static void fs_start_listens_for_the_granted_ttl(void **state)
{
	struct etcd_elect e;
	struct ee_params p = fs_params("n1", 101);
	struct ee_req g, put, rd, r0;
	struct ee_reply r;
	uint64_t created = 0;

	(void)state;
	p.settle_ms = TTL_S * 1000; /* as etcd_node.c sets it: the TTL asked */
	etcd_elect_init(&e, &p, 1000);
	g = take(&e, EE_GRANT, 1000);
	r = ok(g.id, 5);
	r.lease = 42;
	r.ttl = 10; /* granted: 10 s */
	etcd_elect_reply(&e, &r, 1005);
	put = take(&e, EE_PUT, 1005);
	rd = take(&e, EE_READ, 1005);
	etcd_elect_reply(&e, &(struct ee_reply){.id = put.id, .ok = 1, .revision = 5}, 1006);
	r = ok(rd.id, 5);
	etcd_elect_reply(&e, &r, 1007);
	take(&e, EE_WATCH, 1007);
	drain(&e);
	for (uint64_t t = 1100; t <= 12000 && created == 0; t += 100) {
		etcd_elect_tick(&e, t);
		while (etcd_elect_take_request(&e, &r0, t)) {
			if (r0.type == EE_CREATE)
				created = t;
			if (r0.type == EE_KEEPALIVE) {
				struct ee_reply a = ok(r0.id, 6);
				a.ttl = 10;
				etcd_elect_reply(&e, &a, t);
			}
		}
	}
	assert_true(created >= 1007 + 10000);
}

/* Maintenance mode: P/pause read at start and watched (news once per
 * change; a deleted key or an older revision says nothing), written by a
 * compare-and-swap on the mod_revision last seen (absent: 0), one write
 * at a time; a refused swap applies the key as etcd returned it.  Not
 * claimable (paused), a follower does not campaign for a free key. */
static void pause_key(void **state)
{
	struct etcd_elect e;
	struct ee_kv ks[1] = {kv("/fl/c1/pause", "version=3 paused=1 by=n2", 7, 7, 0)};
	struct ee_event w;
	struct ee_req s;
	struct ee_reply r;
	struct ee_kv now_is;
	char text[EE_VALUE_MAX], why[200];

	(void)state;
	start(&e, params("n1", 100, 0), ks, 1, 8);
	assert_int_equal(etcd_elect_take_pause(&e, text, sizeof(text)), 1);
	assert_string_equal(text, "version=3 paused=1 by=n2");
	assert_int_equal(etcd_elect_take_pause(&e, text, sizeof(text)), 0);
	drain(&e);
	/* paused: no campaign for the free key */
	etcd_elect_ops.set_claimable(&e, 0);
	etcd_elect_tick(&e, 5000);
	etcd_elect_tick(&e, 5100);
	assert_int_equal(e.state, EE_FOLLOWING);
	assert_int_equal(e.campaign_at, 0);
	/* our resume: a swap guarded by the mod_revision seen */
	assert_int_equal(etcd_elect_put_pause(&e, "version=4 paused=0 by=n1"), 0);
	assert_int_equal(etcd_elect_put_pause(&e, "version=4 paused=0 by=n1"), -1); /* one at a time */
	s = take_skip(&e, EE_SWAP, 5100);
	assert_string_equal(s.key, "/fl/c1/pause");
	assert_string_equal(s.value, "version=4 paused=0 by=n1");
	assert_int_equal(s.mod, 7);
	/* another write came first: refused, the key as it is applied */
	r = ok(s.id, 12);
	r.succeeded = 0;
	now_is = kv("/fl/c1/pause", "version=4 paused=1 by=n3", 7, 11, 0);
	r.kvs = &now_is;
	r.nkvs = 1;
	etcd_elect_reply(&e, &r, 5110);
	assert_int_equal(etcd_elect_take_pause_result(&e, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "changed meanwhile"));
	assert_int_equal(etcd_elect_take_pause_result(&e, why, sizeof(why)), 0);
	assert_int_equal(etcd_elect_take_pause(&e, text, sizeof(text)), 1);
	assert_string_equal(text, "version=4 paused=1 by=n3");
	/* again, on the revision now known: written; the watch shows it */
	assert_int_equal(etcd_elect_put_pause(&e, "version=5 paused=0 by=n1"), 0);
	s = take_skip(&e, EE_SWAP, 5200);
	assert_int_equal(s.mod, 11);
	r = ok(s.id, 13);
	r.succeeded = 1;
	etcd_elect_reply(&e, &r, 5210);
	assert_int_equal(etcd_elect_take_pause_result(&e, why, sizeof(why)), 1);
	w = (struct ee_event){.kv = kv("/fl/c1/pause", "version=5 paused=0 by=n1", 7, 13, 0)};
	etcd_elect_watch(&e, &w, 1, 13, 5220);
	assert_int_equal(etcd_elect_take_pause(&e, text, sizeof(text)), 1);
	assert_string_equal(text, "version=5 paused=0 by=n1");
	/* older news, and a delete, say nothing */
	w = (struct ee_event){.kv = kv("/fl/c1/pause", "version=9 paused=1 by=n9", 7, 12, 0)};
	etcd_elect_watch(&e, &w, 1, 13, 5230);
	w = (struct ee_event){.deleted = 1, .kv = kv("/fl/c1/pause", "", 0, 14, 0)};
	etcd_elect_watch(&e, &w, 1, 14, 5240);
	assert_int_equal(etcd_elect_take_pause(&e, text, sizeof(text)), 0);
	/* records without "pausable" are of releases that would still
	 * campaign: named (self aside) */
	{
		struct ee_event r2[3] = {
			{.kv = kv("/fl/c1/nodes/n2", "{\"node\":\"n2\",\"position\":1,\"may_lead\":true}", 20, 20, 50)},
			{.kv = kv("/fl/c1/nodes/n3", "{\"node\":\"n3\",\"may_lead\":true,\"pausable\":true}", 21, 21, 51)},
			{.kv = kv("/fl/c1/nodes/n1", "{\"node\":\"n1\",\"may_lead\":true}", 22, 22, 42)},
		};
		char list[64];
		etcd_elect_watch(&e, r2, 3, 22, 5250);
		assert_int_equal(etcd_elect_pause_unaware(&e, list, sizeof(list)), 1);
		assert_string_equal(list, "n2");
	}
	/* no answer: not written */
	assert_int_equal(etcd_elect_put_pause(&e, "version=6 paused=1 by=n1"), 0);
	s = take_skip(&e, EE_SWAP, 5300);
	etcd_elect_reply(&e, &(struct ee_reply){.id = s.id, .ok = 0, .why = "no answer"}, 5310);
	assert_int_equal(etcd_elect_take_pause_result(&e, why, sizeof(why)), -1);
	assert_string_equal(why, "no answer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_leader), cmocka_unit_test(pause_key),
		cmocka_unit_test(keepalives_move_the_fence),
		cmocka_unit_test(lease_gone_ends_the_lead),
		cmocka_unit_test(key_replaced_ends_the_lead),
		cmocka_unit_test(term_base_raised),
		cmocka_unit_test(previous_run_key),
		cmocka_unit_test(rank_order),
		cmocka_unit_test(resign_names_the_successor),
		cmocka_unit_test(switchover_asked),
		cmocka_unit_test(resigning_read_does_not_lead_again),
		cmocka_unit_test(unanswered_resign_frees_the_key),
		cmocka_unit_test(failed_next_delete_is_retried),
		cmocka_unit_test(resign_after_lost_lead_campaigns_again),
		cmocka_unit_test(keepalive_ttl_bounds_the_fence),
		cmocka_unit_test(stale_ask_is_not_obeyed),
		cmocka_unit_test(many_records_do_not_hide_the_lost_lead),
		cmocka_unit_test(failsafe_carries_the_lead_past_the_lease),
		cmocka_unit_test(failsafe_lead_takes_its_key_again),
		cmocka_unit_test(failsafe_needs_every_member_in_failsafe_mode),
		cmocka_unit_test(failsafe_follower_holds),
		cmocka_unit_test(failed_request_renews_the_watch),
		cmocka_unit_test(fs_rejoin_lease_does_not_carry_a_keyless_lead),
		cmocka_unit_test(fs_word_that_ran_out_does_not_revive),
		cmocka_unit_test(fs_unlisted_node_without_failsafe_gives_no_lead),
		cmocka_unit_test(fs_written_list_counts_before_the_watch_shows_it),
		cmocka_unit_test(fs_lead_ends_when_the_old_lease_answers),
		cmocka_unit_test(fs_unanswered_put_does_not_spin),
		cmocka_unit_test(waiting_for_an_answer_does_not_spin),
		cmocka_unit_test(fs_resign_during_rejoin_leaves_no_orphan_key),
		cmocka_unit_test(fs_start_listens_for_the_granted_ttl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
