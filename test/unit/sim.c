/*
 * The simulated cluster (see sim.h).
 */
#include "sim.h"

#include "bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the fake broker ---- */

static void fb_report(struct fake_broker *b, enum ms_input type)
{
	if (b->nrep < sizeof(b->rep) / sizeof(b->rep[0]))
		b->rep[b->nrep++] = type;
	else
		abort(); /* the launcher never reads its reports: a simulator bug */
}

static void fb_advance(struct fake_broker *b, uint64_t now)
{
	if (b->alive && b->down_at != 0 && now >= b->down_at) {
		b->alive = b->ready = 0;
		b->down_at = b->ready_at = 0;
		b->stops++;
		fb_report(b, MS_IN_BROKER_DOWN);
	}
	if (b->alive && !b->ready && b->down_at == 0 && b->ready_at != 0 && now >= b->ready_at) {
		b->ready = 1;
		b->ready_at = 0;
		fb_report(b, MS_IN_BROKER_READY);
	}
	if (b->failing && b->alive) {
		b->failing = 0;
		fb_report(b, MS_IN_BROKER_FAILED);
	}
}

void fb_want(struct fake_broker *b, int want, uint64_t now)
{
	b->wanted = want;
	if (want && !b->alive) {
		b->alive = 1;
		b->ready = 0;
		b->starts++;
		b->ready_at = now + b->start_ms;
		b->down_at = 0;
		fb_report(b, MS_IN_BROKER_UP);
	} else if (!want && b->alive && b->down_at == 0) {
		b->down_at = now + b->stop_ms;
	}
	fb_advance(b, now);
}

int fb_take(struct fake_broker *b, uint64_t now, struct ms_event *ev)
{
	fb_advance(b, now);
	if (b->nrep == 0)
		return 0;
	memset(ev, 0, sizeof(*ev));
	ev->type = b->rep[0];
	if (ev->type == MS_IN_BROKER_FAILED)
		snprintf(ev->reason, sizeof(ev->reason), "broker failed (simulated)");
	memmove(b->rep, b->rep + 1, --b->nrep * sizeof(b->rep[0]));
	return 1;
}

void fb_fail(struct fake_broker *b)
{
	b->failing = 1;
}

/* ---- the fake lease backend ---- */

/* Ids within one lease_world, which snprintf's overlap check cannot tell apart */
static void copy_id(char *dst, const char *src)
{
	size_t n = strnlen(src, MS_ID_MAX);

	memmove(dst, src, n);
	dst[n] = '\0';
}

static struct ms_event *lease_event(struct lease *l, enum ms_input type)
{
	struct ms_event *ev;

	if (l->nev == sizeof(l->ev) / sizeof(l->ev[0]))
		abort();
	ev = &l->ev[(l->head + l->nev++) % (sizeof(l->ev) / sizeof(l->ev[0]))];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	return ev;
}

static const char *lease_self(const struct lease *l)
{
	return l->w->member[l->idx];
}

void lease_init(struct lease *l, struct lease_world *w, int idx)
{
	memset(l, 0, sizeof(*l));
	l->w = w;
	l->idx = idx;
	l->reachable = 1;
	l->claimable = 1;
	w->member_claimable[idx] = 1;
}

static void lease_fence(struct lease *l)
{
	lease_event(l, MS_IN_FENCE)->deadline = l->expiry - l->w->margin_ms;
}

void lease_tick(struct lease *l, uint64_t now)
{
	struct lease_world *w = l->w;
	struct lease_key *k = &w->key;
	const char *self = lease_self(l);
	struct ms_event *ev;

	if (!l->reachable) {
		/* nothing learnt; our own lease runs out on its own */
		if (l->leading && now >= l->expiry) {
			l->leading = 0;
			l->leader[0] = '\0';
			snprintf(lease_event(l, MS_IN_LEADERSHIP_LOST)->reason, MS_REASON_MAX,
				 "lease expired: the key is out of reach");
		}
		return;
	}
	if (l->leading) {
		if (strcmp(k->holder, self) == 0 && k->term == l->term && now < k->expiry) {
			k->expiry = l->expiry = now + w->ttl_ms;
			lease_fence(l);
		} else {
			l->leading = 0;
			ev = lease_event(l, MS_IN_LEADERSHIP_LOST);
			snprintf(ev->reason, sizeof(ev->reason), "the key is %s's at term %llu",
				 k->holder[0] ? k->holder : "nobody", (unsigned long long)k->term);
		}
	}
	if (!l->leading) {
		int free = k->holder[0] == '\0' || now >= k->expiry;
		int other_named = k->next[0] && strcmp(k->next, self) != 0 && now < k->next_until;

		if (free && l->claimable && now >= l->holddown_until && !other_named) {
			k->term++;
			copy_id(k->holder, self);
			k->expiry = l->expiry = now + w->ttl_ms;
			k->next[0] = '\0';
			if (k->term > w->max_term)
				w->max_term = k->term;
			l->leading = 1;
			l->term = k->term;
			copy_id(l->leader, self);
			ev = lease_event(l, MS_IN_LEADER);
			copy_id(ev->node, self);
			ev->term = l->term;
			snprintf(ev->reason, sizeof(ev->reason), "took the key at term %llu", (unsigned long long)l->term);
			lease_fence(l);
		} else if (free) {
			if (l->leader[0]) {
				l->leader[0] = '\0';
				snprintf(lease_event(l, MS_IN_NO_LEADER)->reason, MS_REASON_MAX, "the key is free");
			}
		} else if (strcmp(k->holder, self) == 0) {
			/* held by a former session of ours (we restarted): not
			 * ours to renew; it expires, then we may take it anew */
		} else if (strcmp(k->holder, l->leader) != 0 || k->term != l->term) {
			copy_id(l->leader, k->holder);
			l->term = k->term;
			ev = lease_event(l, MS_IN_LEADER);
			copy_id(ev->node, k->holder);
			ev->term = k->term;
		}
	}
	if (l->leading && w->asked) {
		w->asked = 0;
		copy_id(lease_event(l, MS_IN_HANDOVER_ASKED)->target, w->ask);
	}
}

static void ls_resign(void *impl, const char *target, uint64_t holddown_ms, uint64_t now)
{
	struct lease *l = impl;
	struct lease_key *k = &l->w->key;

	if (l->leading && l->reachable && strcmp(k->holder, lease_self(l)) == 0 && k->term == l->term) {
		k->holder[0] = '\0';
		k->expiry = 0;
		copy_id(k->next, target != NULL ? target : "");
		k->next_until = now + l->w->ttl_ms;
	}
	l->leading = 0;
	l->leader[0] = '\0';
	l->holddown_until = now + holddown_ms;
	lease_event(l, MS_IN_RESIGN_SENT);
}

static int ls_handover(void *impl, const char *target, uint64_t now, char *why, size_t len)
{
	struct lease *l = impl;
	struct lease_world *w = l->w;
	const char *t = target;
	int found = 0;

	if (t == NULL || *t == '\0') {
		t = NULL;
		for (int i = 0; i < w->n && t == NULL; i++)
			if (i != l->idx && strcmp(w->member[i], w->key.holder) != 0 && w->member_claimable[i])
				t = w->member[i];
		if (t == NULL) {
			snprintf(why, len, "no member to hand over to");
			return -1;
		}
	}
	for (int i = 0; i < w->n; i++)
		found |= strcmp(w->member[i], t) == 0;
	if (!found) {
		snprintf(why, len, "%s is not a member", t);
		return -1;
	}
	if (strcmp(t, w->key.holder) == 0 && now < w->key.expiry) {
		snprintf(why, len, "%s already leads", t);
		return -1;
	}
	if (l->leading) {
		copy_id(lease_event(l, MS_IN_HANDOVER_ASKED)->target, t);
		return 0;
	}
	if (w->key.holder[0] == '\0' || now >= w->key.expiry) {
		snprintf(why, len, "nobody leads");
		return -1;
	}
	copy_id(w->ask, t);
	w->asked = 1;
	return 0;
}

static void ls_set_claimable(void *impl, int yes)
{
	struct lease *l = impl;

	l->claimable = yes;
	l->w->member_claimable[l->idx] = yes;
}

static int ls_next_event(void *impl, struct ms_event *ev)
{
	struct lease *l = impl;

	if (l->nev == 0)
		return 0;
	*ev = l->ev[l->head];
	l->head = (l->head + 1) % (sizeof(l->ev) / sizeof(l->ev[0]));
	l->nev--;
	return 1;
}

const struct cluster_ops lease_ops = {
	.name = "lease",
	.resign = ls_resign,
	.handover = ls_handover,
	.set_claimable = ls_set_claimable,
	.next_event = ls_next_event,
};

/* ---- the simulator ---- */

/* Between mastership and the backend: counts resignations commanded while
 * the broker process still lives (never: mastership resigns after DOWN) */
static void chk_resign(void *impl, const char *target, uint64_t holddown_ms, uint64_t now)
{
	struct sim_node *nd = impl;

	nd->resigns++;
	if (nd->b.alive)
		nd->resigned_with_broker++;
	nd->inner.ops->resign(nd->inner.impl, target, holddown_ms, now);
}

static int chk_handover(void *impl, const char *target, uint64_t now, char *why, size_t len)
{
	struct sim_node *nd = impl;

	return nd->inner.ops->handover(nd->inner.impl, target, now, why, len);
}

static void chk_set_claimable(void *impl, int yes)
{
	struct sim_node *nd = impl;

	nd->inner.ops->set_claimable(nd->inner.impl, yes);
}

static int chk_standbys(void *impl, uint64_t now)
{
	struct sim_node *nd = impl;

	return nd->inner.ops->standbys != NULL ? nd->inner.ops->standbys(nd->inner.impl, now) : -1;
}

static int chk_next_event(void *impl, struct ms_event *ev)
{
	struct sim_node *nd = impl;

	return nd->inner.ops->next_event(nd->inner.impl, ev);
}

static const struct cluster_ops check_ops = {
	.name = "checked",
	.resign = chk_resign,
	.handover = chk_handover,
	.set_claimable = chk_set_claimable,
	.standbys = chk_standbys,
	.next_event = chk_next_event,
};

struct el_params sim_params(int i, uint32_t delay, uint32_t retries)
{
	struct el_params p;

	memset(&p, 0, sizeof(p));
	snprintf(p.self, sizeof(p.self), "n%d", i + 1);
	p.position = 100;
	p.delay_ms = delay;
	p.retries = retries;
	p.persist = 1;
	return p;
}

struct sim *sim_new(void)
{
	struct sim *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	return s;
}

unsigned sim_rand(struct sim *s)
{
	s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)(s->rng >> 33);
}

static void trace(struct sim_node *nd, char c)
{
	if (nd->ntrace < SIM_TRACE) {
		nd->trace[nd->ntrace] = c;
		nd->trace_want[nd->ntrace] = nd->b.wanted ? '1' : '0';
		nd->ntrace++;
		nd->trace[nd->ntrace] = nd->trace_want[nd->ntrace] = '\0';
	}
}

static void sim_send(struct sim *s, int i, uint8_t type)
{
	struct wire_msg *m;

	if (s->qn == SIM_BUS)
		abort(); /* bus overflow */
	m = &s->q[s->qn];
	memset(m, 0, sizeof(*m));
	heartbeat_fill(&s->nd[i].hb, type, s->now, m);
	if (type == WIRE_HEARTBEAT) {
		bytes_put64(s->nd[i].payload + WIRE_HB_SETTINGS, s->nd[i].hb.el.p.settings);
		bytes_put32(s->nd[i].payload + WIRE_HB_TIMEOUT, (uint32_t)s->nd[i].hb.el.timeout);
		m->payload = s->nd[i].payload;
		m->payload_len = WIRE_HB_PAYLOAD;
	}
	m->boot = s->filter ? s->nd[i].boot : (uint64_t)i + 1000;
	m->seq = ++s->nd[i].seq;
	m->version = s->nd[i].version;
	s->qfrom[s->qn++] = i;
	if (type <= WIRE_TYPE_MAX) {
		s->nd[i].sent[type]++;
		s->nd[i].sent_at[type] = s->now;
	}
	heartbeat_sent(&s->nd[i].hb, type, s->now);
}

/* What the daemon does after node_feed: send, set the broker's wanted
 * state, feed the broker's immediate reports back until quiet, re-arm. */
static void carry_out(struct sim *s, int i, struct node_out *out)
{
	struct sim_node *nd = &s->nd[i];
	struct ms_event ev;
	struct hb_note note;
	uint8_t t;

	for (;;) {
		if (s->backend == SIM_HEARTBEAT) {
			while ((t = heartbeat_take_send(&nd->hb)) != 0)
				sim_send(s, i, t);
			while (heartbeat_take_note(&nd->hb, &note))
				;
		}
		if (out->exit) {
			nd->exited = 1;
			nd->up = 0;
			break;
		}
		fb_want(&nd->b, out->want_broker, s->now);
		if (fb_take(&nd->b, s->now, &ev))
			node_feed(&nd->ms, &nd->c, &ev, s->now, out);
		else if (s->backend == SIM_HEARTBEAT && heartbeat_has_events(&nd->hb))
			node_feed(&nd->ms, &nd->c, NULL, s->now, out); /* a renewed fence */
		else
			break;
	}
	if (s->backend == SIM_HEARTBEAT) {
		/* the daemon hands the write to its writer thread */
		if (out->persist_term != 0)
			heartbeat_persist_term(&nd->hb);
		if (nd->at[ST_DISK] == 0 && heartbeat_take_persist(&nd->hb, &nd->writing, s->now))
			nd->at[ST_DISK] = s->now + (nd->disk_ms ? nd->disk_ms : 1);
	}
	if (nd->ms.term > nd->max_term)
		nd->max_term = nd->ms.term;
	/* the daemon publishes the fence's deadline here (fence_renew) */
	if (mastership_fence(&nd->ms) != 0)
		nd->fence_at = mastership_fence(&nd->ms);
	else if (!nd->b.alive)
		nd->fence_at = 0;
	/* the daemon logs out->transitions and runs the hooks here */
	nd->hooks_promote += out->hook_promote != 0;
	nd->hooks_demote += out->hook_demote != 0;
	nd->at[ST_RESIGN] = s->backend == SIM_HEARTBEAT ? heartbeat_wake_at(&nd->hb) : 0;
	nd->at[ST_WAKE] = out->wake_at;
	if (s->backend == SIM_ETCD)
		s->hooks->carry(s, i); /* its requests go out, its tick is set */
}

/* One callback of the daemon: the broker's reports not yet taken go in
 * first (daemon_feed), then its event, then all is carried out. */
static void callback(struct sim *s, int i, const struct ms_event *ev, struct node_out *out)
{
	struct sim_node *nd = &s->nd[i];
	struct ms_event rep;

	while (fb_take(&nd->b, s->now, &rep))
		node_feed(&nd->ms, &nd->c, &rep, s->now, out);
	node_feed(&nd->ms, &nd->c, ev, s->now, out);
	carry_out(s, i, out);
}

/* One packet as the daemon's socket callback handles it, carried out
 * before the next is read; nodes given a newer version run this same
 * code, so among themselves they speak as equals: only the others see the
 * newer version. */
/* Another process with our node id, as the daemon's conflict.c takes it:
 * the newer exits (as on SIGTERM), the older holds. */
static void duplicate(struct sim *s, int i, const struct wire_msg *m, struct node_out *out)
{
	struct sim_node *nd = &s->nd[i];
	struct ms_event ev;

	if (nd->exited || mastership_exiting(&nd->ms))
		return;
	election_set_hold(&nd->hb.el, EL_HOLD_DUPLICATE, 1);
	if (replay_dup_heard(&nd->dup, s->now - nd->started < nd->hb.el.timeout, nd->boot, m->role, m->boot, s->now)) {
		nd->dup_exits++;
		memset(&ev, 0, sizeof(ev));
		ev.type = MS_IN_STOP;
		callback(s, i, &ev, out);
		return;
	}
	callback(s, i, NULL, out);
}

/* The daemon's filter (filter.c) on what the bus delivered: 1 to read it. */
/* One of the last 64 runs of node k had this boot id. */
static int was_boot_of(const struct sim *s, int k, uint64_t boot)
{
	const struct sim_node *nd = &s->nd[k];

	for (unsigned r = 0; r < nd->nboot_hist && r < 64; r++)
		if (nd->boot_hist[r] == boot)
			return 1;
	return 0;
}

/* A packet sent as master by a live process, dropped by node i as another
 * run of its id because i follows a run of a second process that had that
 * id (running or gone): i is deaf to this one, the documented limit of
 * duplicate ids (README).  Marked by when it reached i's buffer.  Not when
 * the run i follows is an earlier run of the sender's own slot: then the
 * drop is the filter's own doing, and the packet counts as heard. */
static void deaf_by_duplicate(struct sim *s, int i, const struct wire_msg *m)
{
	const struct replay_table *t = &s->nd[i].seen;
	uint64_t followed = 0;
	int from = -1;

	for (size_t e = 0; e < t->n; e++)
		if (strcmp(t->e[e].node, m->node) == 0)
			followed = t->e[e].boot;
	for (int k = 0; k < SIM_N; k++)
		if (s->nd[k].up && s->nd[k].boot == m->boot && strcmp(s->nd[k].hb.el.p.self, m->node) == 0)
			from = k;
	if (from >= 0 && followed != 0 && followed != m->boot && !was_boot_of(s, from, followed))
		s->nd[i].master_deaf_at[from] = s->now - m->waited_ms;
}

static int filter(struct sim *s, int i, const struct wire_msg *m, struct node_out *out)
{
	struct sim_node *nd = &s->nd[i];
	int self = strcmp(m->node, nd->hb.el.p.self) == 0;
	enum replay_verdict v;

	if (!s->filter)
		return 1;
	if (self && m->boot == nd->boot)
		return 0;
	/* by when it arrived (link.c) */
	v = replay_check(&nd->seen, m->node, m->boot, m->seq, s->now - m->waited_ms, nd->hb.el.timeout, NULL);
	if (v == REPLAY_TWO_BOOTS)
		nd->two_boots++;
	if (!replay_accepted(v)) {
		if (v == REPLAY_OLD)
			nd->drop_old++;
		else
			nd->drop_other++;
		/* of another boot than the one followed (given up, or the
		 * other live one): old or not, it was not heard */
		if (m->role == WIRE_ROLE_MASTER)
			deaf_by_duplicate(s, i, m);
		return 0;
	}
	if (self) {
		duplicate(s, i, m, out);
		return 0;
	}
	return 1;
}

static void read_packet(struct sim *s, int i, const struct wire_msg *m, struct node_out *out)
{
	struct sim_node *nd = &s->nd[i];
	struct wire_msg c = *m;
	uint64_t from = m->boot - 1000;

	if (s->filter) {
		if (!filter(s, i, m, out))
			return;
	} else if (from < SIM_N) {
		/* without the filter, its order still: an older sequence
		 * number than one read (jitter reorders) is dropped */
		if (m->seq <= nd->seq_seen[from]) {
			nd->reordered_dropped++;
			return;
		}
		nd->seq_seen[from] = m->seq;
	}
	if (nd->version >= c.version)
		c.version = 0;
	heartbeat_on_packet(&nd->hb, &c, s->now);
	callback(s, i, NULL, out);
	/* a slave answers its master's heartbeat at once, and its timer
	 * waits a delay and a quarter (the daemon's echo()) */
	if (!nd->up)
		return;
	switch (heartbeat_echo(&nd->hb, &c, nd->beat_at, s->now)) {
	case HB_ECHO_NOW:
		nd->echoed = 1;
		trace(nd, 'B');
		nd->beat_at = s->now;
		heartbeat_beat(&nd->hb, s->now);
		callback(s, i, NULL, out);
		nd->at[ST_BEAT] = s->now + heartbeat_echo_wait(&nd->hb);
		break;
	case HB_ECHO_LATER:
		nd->echoed = 1;
		nd->at[ST_BEAT] = nd->beat_at + heartbeat_echo_wait(&nd->hb);
		break;
	}
}


/* The next packet of node i's receive buffer, read and carried out,
 * with the time it waited there (the daemon's receive timestamp). */
static void read_next(struct sim *s, int i)
{
	struct sim_node *nd = &s->nd[i];
	struct node_out out;

	trace(nd, 'P');
	node_out_clear(&out);
	nd->rcv[nd->rhead].waited_ms = (uint32_t)(s->now - nd->rcv_at[nd->rhead]);
	read_packet(s, i, &nd->rcv[nd->rhead], &out);
	nd->rhead = (nd->rhead + 1) % SIM_RCVBUF;
	nd->rn--;
}

/* What the daemon's timer callbacks do first (daemon.c, drain()): read
 * what waits in the socket, each packet carried out as it is read.  The
 * daemon's bound (1024) is above what the simulated buffer holds. */
static void drain(struct sim *s, int i)
{
	struct sim_node *nd = &s->nd[i];

	while (nd->up && nd->rn > 0)
		read_next(s, i);
}

static void fire(struct sim *s, int i, enum sim_timer t);

/* The daemon's prepare watcher, last: the tick's timer at the time the
 * election asks for, or when a held duplicate id ends (daemon.c,
 * arm_tick()).  Due already: the loop does not sleep, the tick runs in
 * its next iteration, in this same millisecond. */
static void prepare(struct sim *s, int i)
{
	struct sim_node *nd = &s->nd[i];

	for (int round = 0; round < 8 && s->backend == SIM_HEARTBEAT && nd->up; round++) {
		uint64_t at = election_next_due(&nd->hb.el, s->now);

		if (s->filter && nd->dup.held && election_on_grid(&nd->hb.el, nd->dup.heard_at + nd->hb.el.timeout) < at)
			at = election_on_grid(&nd->hb.el, nd->dup.heard_at + nd->hb.el.timeout);
		nd->at[ST_TICK] = at != 0 ? at : 1;
		nd->repeat[ST_TICK] = 0;
		if (at > s->now)
			break;
		fire(s, i, ST_TICK);
	}
}

static void fire(struct sim *s, int i, enum sim_timer t)
{
	struct sim_node *nd = &s->nd[i];
	struct node_out out;
	struct ms_event ev;

	/* libev: a repeating timer goes on from its expiry, and never from
	 * before now; a one-shot one stops */
	if (nd->repeat[t] != 0) {
		nd->at[t] += nd->repeat[t];
		if (nd->at[t] < s->now)
			nd->at[t] = s->now;
	} else {
		nd->at[t] = 0;
	}
	if (t == ST_DISK && nd->disk_hung) {
		nd->at[t] = s->now + 1; /* still in the kernel */
		return;
	}
	if (s->backend == SIM_HEARTBEAT && t != ST_LEASE && t != ST_DISK) {
		nd->echoed = 0;
		drain(s, i);
		if (!nd->up)
			return;
	}
	node_out_clear(&out);
	switch (t) {
	case ST_TICK:
		trace(nd, 'T');
		if (s->filter && replay_dup_tick(&nd->dup, s->now, nd->hb.el.timeout))
			election_set_hold(&nd->hb.el, EL_HOLD_DUPLICATE, 0);
		heartbeat_tick(&nd->hb, s->now);
		callback(s, i, NULL, &out);
		break;
	case ST_BEAT:
		/* the drain read the master's heartbeat: ours answered it, or
		 * the timer moved for the next (the daemon's hb_cb) */
		if (nd->echoed)
			break;
		trace(nd, 'B');
		nd->beat_at = s->now;
		heartbeat_beat(&nd->hb, s->now);
		callback(s, i, NULL, &out);
		break;
	case ST_RESIGN:
		trace(nd, 'R');
		heartbeat_wake(&nd->hb, s->now);
		callback(s, i, NULL, &out);
		break;
	case ST_WAKE:
		trace(nd, 'W');
		memset(&ev, 0, sizeof(ev));
		ev.type = MS_IN_TIME;
		callback(s, i, &ev, &out);
		break;
	case ST_DISK:
		trace(nd, 'D');
		nd->disk_writes++;
		if (!nd->disk_fail)
			nd->disk = nd->writing;
		heartbeat_written(&nd->hb, !nd->disk_fail, s->now);
		callback(s, i, NULL, &out);
		break;
	case ST_LEASE:
		trace(nd, 'L');
		if (s->backend == SIM_ETCD) {
			s->hooks->tick(s, i);
		} else {
			nd->ls.reachable = nd->linked;
			lease_tick(&nd->ls, s->now);
		}
		callback(s, i, NULL, &out);
		break;
	case ST_COUNT:
		break;
	}
}

static void iterate(struct sim *s, int i)
{
	struct sim_node *nd = &s->nd[i];
	enum sim_timer due[ST_COUNT];
	uint64_t due_at[ST_COUNT];
	size_t ndue = 0;
	struct node_out out;
	struct ms_event ev;

	nd->ntrace = 0;
	nd->trace[0] = nd->trace_want[0] = '\0';
	/* 1. the overdue timers, the latest expiry first (ties: in enum order) */
	for (int t = 0; t < ST_COUNT; t++) {
		size_t k;

		if (nd->at[t] == 0 || nd->at[t] > s->now)
			continue;
		for (k = ndue; k > 0 && due_at[k - 1] < nd->at[t]; k--) {
			due[k] = due[k - 1];
			due_at[k] = due_at[k - 1];
		}
		due[k] = (enum sim_timer)t;
		due_at[k] = nd->at[t];
		ndue++;
	}
	for (size_t k = 0; k < ndue && nd->up; k++)
		/* stopped or moved by an earlier callback: no longer pending */
		if (nd->at[due[k]] == due_at[k])
			fire(s, i, due[k]);
	/* etcd's replies and watch events that reached the node */
	while (s->backend == SIM_ETCD && nd->up && s->hooks->deliver(s, i)) {
		trace(nd, 'E');
		node_out_clear(&out);
		callback(s, i, NULL, &out);
	}
	/* 2. the socket, one batch */
	for (int k = 0; k < SIM_BATCH && nd->up && nd->rn > 0; k++)
		read_next(s, i);
	/* 3. the broker's reports, and the tick's timer: before the loop
	 * sleeps again, after an iteration that did anything (one that did
	 * nothing was no wake-up of the daemon's loop) */
	while (nd->up && fb_take(&nd->b, s->now, &ev)) {
		trace(nd, 'K');
		node_out_clear(&out);
		callback(s, i, &ev, &out);
	}
	if (nd->ntrace > 0)
		prepare(s, i);
}

static void node_reset(struct sim *s, int i)
{
	struct sim_node *nd = &s->nd[i];
	struct ms_params mp;

	memset(&mp, 0, sizeof(mp));
	snprintf(mp.self, sizeof(mp.self), "n%d", i + 1);
	if (s->backend == SIM_HEARTBEAT) {
		mp.handover_holddown_ms = nd->hb.el.timeout;
		nd->inner = heartbeat_cluster(&nd->hb);
	} else if (s->backend == SIM_ETCD) {
		mp.handover_holddown_ms = s->hooks->holddown_ms(s);
		nd->inner = s->hooks->cluster(s, i);
	} else {
		mp.handover_holddown_ms = s->world.ttl_ms;
		nd->inner = (struct cluster){.ops = &lease_ops, .impl = &nd->ls};
	}
	nd->c = (struct cluster){.ops = &check_ops, .impl = nd};
	mp.failed_holddown_ms = 10 * mp.handover_holddown_ms;
	mastership_init(&nd->ms, &mp);
	/* a new launcher: its old broker went with the old one */
	{
		uint64_t start = nd->b.start_ms, stop = nd->b.stop_ms; /* the broker's, kept */

		memset(&nd->b, 0, sizeof(nd->b));
		nd->b.start_ms = start;
		nd->b.stop_ms = stop;
	}
	nd->rhead = nd->rn = 0;
	memset(nd->seq_seen, 0, sizeof(nd->seq_seen));
	memset(nd->at, 0, sizeof(nd->at));
	memset(nd->repeat, 0, sizeof(nd->repeat));
	nd->beat_at = 0;
	nd->up = 1;
	nd->frozen = 0;
	nd->exited = 0;
	nd->fence_at = 0;
}

void sim_reset_node(struct sim *s, int i)
{
	node_reset(s, i);
}

void sim_start(struct sim *s, int i, struct el_params p)
{
	struct sim_node *nd = &s->nd[i];

	/* what the state directory kept (daemon: setup.c) */
	if (nd->disk.max_term > p.initial_term)
		p.initial_term = nd->disk.max_term;
	p.voted_term = nd->disk.voted_term;
	memcpy(p.voted_for, nd->disk.voted_for, sizeof(p.voted_for));
	heartbeat_init(&nd->hb, &p, s->now);
	node_reset(s, i);
	nd->started = s->now;
	nd->seq = ++nd->boots << 32;
	if (s->filter) {
		/* the daemon's setup.c: a boot id above the last one kept */
		uint64_t wall = (uint64_t)((int64_t)(SIM_WALL_EPOCH + s->now) + nd->clock_offset);

		nd->boot = replay_next_boot(wall, (uint16_t)sim_rand(s), nd->boot_kept);
		nd->boot_hist[nd->nboot_hist++ % 64] = nd->boot;
		nd->boot_kept = nd->boot;
		memset(&nd->seen, 0, sizeof(nd->seen));
		memset(&nd->dup, 0, sizeof(nd->dup));
	}
	/* the first tick at once, then as the election asks (prepare()) */
	nd->at[ST_TICK] = nd->at[ST_BEAT] = s->now;
	nd->repeat[ST_TICK] = 0;
	nd->repeat[ST_BEAT] = p.delay_ms;
}

void sim_init(struct sim *s, int n, uint32_t delay, uint32_t retries)
{
	sim_init_filter(s, n, delay, retries, 0);
}

void sim_init_filter(struct sim *s, int n, uint32_t delay, uint32_t retries, int filter)
{
	memset(s, 0, sizeof(*s));
	s->filter = filter;
	s->n = n;
	s->now = 1000;
	s->backend = SIM_HEARTBEAT;
	for (int i = 0; i < n; i++) {
		s->nd[i].linked = 1;
		sim_start(s, i, sim_params(i, delay, retries));
	}
}

void sim_init_quorum(struct sim *s, int n, uint32_t delay, uint32_t retries)
{
	sim_init(s, n, delay, retries);
	for (int i = 0; i < n; i++) {
		struct el_params p = sim_params(i, delay, retries);
		p.expected_nodes = (unsigned)n;
		sim_start(s, i, p);
	}
}

void sim_init_lease(struct sim *s, int n, uint64_t ttl, uint64_t renew, uint64_t margin)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->now = 1000;
	s->backend = SIM_LEASE;
	s->world.ttl_ms = ttl;
	s->world.renew_ms = renew;
	s->world.margin_ms = margin;
	s->world.n = n;
	for (int i = 0; i < n; i++) {
		snprintf(s->world.member[i], sizeof(s->world.member[i]), "n%d", i + 1);
		s->nd[i].linked = 1;
		sim_restart_lease(s, i);
	}
}

void sim_restart_lease(struct sim *s, int i)
{
	lease_init(&s->nd[i].ls, &s->world, i);
	node_reset(s, i);
	s->nd[i].at[ST_LEASE] = s->now;
	s->nd[i].repeat[ST_LEASE] = s->world.renew_ms;
}

void sim_crash(struct sim *s, int i)
{
	s->nd[i].up = 0;
	s->nd[i].b.alive = s->nd[i].b.ready = 0;
	s->nd[i].b.down_at = s->nd[i].b.ready_at = 0;
}

int sim_hears(const struct sim *s, int a, int b)
{
	return s->nd[b].up && s->nd[a].linked && s->nd[b].linked && s->nd[a].group == s->nd[b].group &&
	       !s->mute[a][b];
}

static int is_master(const struct sim *s, int i)
{
	if (s->backend == SIM_HEARTBEAT)
		return s->nd[i].hb.el.state == EL_MASTER;
	return s->nd[i].ms.state == MS_MASTER;
}

int sim_masters_in(const struct sim *s, int group)
{
	int c = 0;

	for (int i = 0; i < s->n; i++)
		c += s->nd[i].up && !s->nd[i].frozen && s->nd[i].linked && s->nd[i].group == group && is_master(s, i);
	return c;
}

int sim_count_masters(const struct sim *s)
{
	int c = 0;

	for (int i = 0; i < s->n; i++)
		c += s->nd[i].up && !s->nd[i].frozen && is_master(s, i);
	return c;
}

int sim_live_brokers(const struct sim *s)
{
	int c = 0;

	for (int i = 0; i < s->n; i++)
		c += s->nd[i].b.alive && !(s->nd[i].frozen && s->freeze_whole_node);
	return c;
}

static void check(struct sim *s)
{
	int dual = 0;

	for (int g = 0; g < 3; g++)
		if (sim_masters_in(s, g) > 1)
			dual = 1;
	if (dual) {
		if (++s->overlap_ms > s->longest_overlap)
			s->longest_overlap = s->overlap_ms;
	} else {
		s->overlap_ms = 0;
	}
	if (sim_live_brokers(s) > 1) {
		if (++s->broker_overlap_ms > s->longest_broker_overlap)
			s->longest_broker_overlap = s->broker_overlap_ms;
	} else {
		s->broker_overlap_ms = 0;
	}
	if (s->backend == SIM_LEASE && s->world.key.holder[0] && s->now < s->world.key.expiry)
		for (int i = 0; i < s->n; i++)
			if (s->nd[i].b.alive && !(s->nd[i].frozen && s->freeze_whole_node) &&
			    strcmp(s->world.member[i], s->world.key.holder) != 0) {
				s->lease_violation_ms++;
				break;
			}
	if (s->backend == SIM_ETCD)
		s->hooks->check(s);
	for (int i = 0; i < s->n; i++)
		if (s->nd[i].ms.term < s->nd[i].max_term && s->nd[i].ms.term != 0 && !s->terms_went_back) {
			s->terms_went_back = 1;
			s->terms_back_at = s->now;
			s->terms_back_node = i;
		}
}

/* Into node j's receive buffer, as the kernel does: dropped when full. */
static void deliver(struct sim *s, int j, int from, const struct wire_msg *m)
{
	struct sim_node *nd = &s->nd[j];

	if (m->role == WIRE_ROLE_MASTER)
		nd->master_heard_at[from] = s->now;
	if (nd->rn == SIM_RCVBUF) {
		nd->rcv_dropped++;
		return;
	}
	nd->rcv_at[(nd->rhead + nd->rn) % SIM_RCVBUF] = s->now;
	nd->rcv[(nd->rhead + nd->rn++) % SIM_RCVBUF] = *m;
}

void sim_step(struct sim *s)
{
	size_t qn = s->qn;

	s->now++;
	if (s->backend == SIM_ETCD)
		s->hooks->step(s); /* leases end, links change */
	/* deliveries that jitter held back, due now (a node gone meanwhile
	 * receives nothing) */
	for (size_t k = 0; k < s->nlate;) {
		if (s->late[k].due > s->now) {
			k++;
			continue;
		}
		if (s->nd[s->late[k].to].up)
			deliver(s, s->late[k].to, s->late[k].from, &s->late[k].m);
		s->late[k] = s->late[--s->nlate];
	}
	/* what was sent last millisecond arrives; packets sent now go to the
	 * bus after these */
	for (size_t k = 0; k < qn; k++) {
		int from = s->qfrom[k];

		for (int j = 0; j < s->n; j++) {
			struct sim_node *nd = &s->nd[j];

			if (j == from || !s->nd[from].up || !sim_hears(s, from, j) ||
			    (s->q[k].type == WIRE_RESIGN && nd->deaf_resign))
				continue;
			if (s->loss_pct != 0 && sim_rand(s) % 100 < s->loss_pct) {
				s->lost++;
				continue;
			}
			s->delivered++;
			if (s->jitter_ms != 0) {
				uint64_t d = sim_rand(s) % (s->jitter_ms + 1);
				if (d != 0 && s->nlate < SIM_LATE) {
					s->late[s->nlate].due = s->now + d;
					s->late[s->nlate].to = j;
					s->late[s->nlate].from = from;
					s->late[s->nlate].m = s->q[k];
					s->nlate++;
					continue;
				}
			}
			deliver(s, j, from, &s->q[k]);
		}
	}
	s->qn = 0;
	/* a broker runs on while only its launcher is frozen */
	for (int i = 0; i < s->n; i++)
		if (s->nd[i].up && s->nd[i].frozen && !s->freeze_whole_node)
			fb_advance(&s->nd[i].b, s->now);
	/* the fence: not frozen with the launcher, only with the whole node */
	for (int i = 0; i < s->n; i++) {
		struct sim_node *nd = &s->nd[i];

		if (nd->up && nd->b.alive && nd->fence_at != 0 && s->now >= nd->fence_at &&
		    !(nd->frozen && s->freeze_whole_node)) {
			nd->b.alive = nd->b.ready = 0;
			nd->b.down_at = nd->b.ready_at = 0;
			nd->b.stops++;
			fb_report(&nd->b, MS_IN_BROKER_DOWN);
			nd->fence_at = 0;
			nd->fence_kills++;
		}
	}
	/* the bus is empty again: packets sent below go out next millisecond */
	for (int i = 0; i < s->n; i++)
		if (s->nd[i].up && !s->nd[i].frozen)
			iterate(s, i);
	check(s);
}

void sim_run(struct sim *s, uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t++)
		sim_step(s);
}

int sim_until_master(struct sim *s, uint64_t limit, uint64_t *took)
{
	uint64_t t0 = s->now;

	while (s->now - t0 < limit) {
		int m = -1, c = 0;

		sim_step(s);
		for (int i = 0; i < s->n; i++)
			if (s->nd[i].up && !s->nd[i].frozen && is_master(s, i))
				m = i, c++;
		if (c == 1) {
			if (took)
				*took = s->now - t0;
			return m;
		}
	}
	return -1;
}

void sim_event(struct sim *s, int i, enum ms_input type, const char *target, struct node_out *out)
{
	struct ms_event ev;
	struct node_out o;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	if (target != NULL)
		snprintf(ev.target, sizeof(ev.target), "%s", target);
	node_out_clear(&o);
	callback(s, i, &ev, &o);
	prepare(s, i);
	if (out != NULL)
		*out = o;
}

void sim_packet(struct sim *s, int i, const struct wire_msg *m)
{
	struct node_out out;

	node_out_clear(&out);
	read_packet(s, i, m, &out);
	carry_out(s, i, &out);
	prepare(s, i);
}

void sim_tick(struct sim *s, int i)
{
	struct node_out out;

	node_out_clear(&out);
	heartbeat_tick(&s->nd[i].hb, s->now);
	callback(s, i, NULL, &out);
	prepare(s, i);
}

int sim_heard(const struct sim *s, int j, int i)
{
	const struct el_peer *p = election_peer(&s->nd[j].hb.el, s->nd[i].hb.el.p.self);

	return p != NULL && p->boot == s->nd[i].boot && election_peer_live(&s->nd[j].hb.el, p, s->now);
}
