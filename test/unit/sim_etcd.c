/*
 * The fake etcd and the simulator's etcd nodes (see sim_etcd.h).
 */
#include "sim_etcd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ETCD_SIM_LOG=from_ms: every request and write from then on, to stderr */
static void logf_(const struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(const struct sim *s, const char *fmt, ...)
{
	static long long from = -2;
	va_list ap;

	if (from == -2)
		from = getenv("ETCD_SIM_LOG") != NULL ? atoll(getenv("ETCD_SIM_LOG")) : -1;
	if (from < 0 || s->now < (uint64_t)from)
		return;
	fprintf(stderr, "%llu etcd: ", (unsigned long long)s->now);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL)
		abort();
	return p;
}

/* ---- the store ---- */

static struct se_key *find_key(struct sim_etcd *e, const char *key)
{
	for (int k = 0; k < SE_KEYS; k++)
		if (e->keys[k].used && strcmp(e->keys[k].kv.key, key) == 0)
			return &e->keys[k];
	return NULL;
}

struct se_lease *sim_etcd_lease(struct sim *s, int64_t id)
{
	struct sim_etcd *e = s->etcd;

	if (id == 0)
		return NULL;
	for (int k = 0; k < SE_LEASES; k++)
		if (e->leases[k].used && e->leases[k].id == id)
			return &e->leases[k];
	return NULL;
}

static int has_prefix(const char *key, const char *prefix)
{
	return strncmp(key, prefix, strlen(prefix)) == 0;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memmove(dst, src, n);
	dst[n] = '\0';
}

static void msg_add(struct sim *s, struct se_msg *m)
{
	struct sim_etcd *e = s->etcd;

	m->next = NULL;
	if (e->tail != NULL)
		e->tail->next = m;
	else
		e->msgs = m;
	e->tail = m;
}

static void msg_free(struct se_msg *m)
{
	free(m->r.kvs);
	free(m->ev);
	free(m);
}

/* Can etcd's messages reach node i now */
static int reaches(const struct sim *s, int i)
{
	return !s->etcd->down && s->nd[i].up && s->nd[i].linked;
}

/* The events of one revision to every watcher of their keys. */
static void publish(struct sim *s, int64_t rev, const struct ee_event *ev, size_t n)
{
	struct sim_etcd *e = s->etcd;

	for (int i = 0; i < s->n; i++) {
		struct se_watch *w = &e->watch[i];
		struct se_msg *m;
		size_t c = 0;

		if (!w->active || rev < w->next_rev)
			continue;
		if (!reaches(s, i) || w->gen != e->gen[i]) {
			/* a crashed node's stream is gone; a cut one is broken */
			w->active = 0;
			if (s->nd[i].up && w->gen == e->gen[i])
				e->watch_broken[i] = 1;
			continue;
		}
		m = xcalloc(1, sizeof(*m));
		m->ev = xcalloc(n, sizeof(*m->ev));
		for (size_t k = 0; k < n; k++)
			if (has_prefix(ev[k].kv.key, w->prefix))
				m->ev[c++] = ev[k];
		w->next_rev = rev + 1;
		if (c == 0) {
			msg_free(m);
			continue;
		}
		m->kind = SE_EVENTS;
		m->nev = c;
		m->rev = rev;
		m->to = i;
		m->gen = e->gen[i];
		m->due = s->now + e->latency_ms + e->watch_lag_ms;
		msg_add(s, m);
	}
}

static void history(struct sim *s, int64_t rev, const struct ee_event *ev, size_t n)
{
	struct sim_etcd *e = s->etcd;

	for (size_t k = 0; k < n; k++) {
		if (e->hn == SE_HIST) {
			/* the oldest goes: history at its revision is compacted */
			e->compacted = e->hist[e->hhead].rev;
			e->hhead = (e->hhead + 1) % SE_HIST;
			e->hn--;
			while (e->hn > 0 && e->hist[e->hhead].rev == e->compacted) {
				e->hhead = (e->hhead + 1) % SE_HIST;
				e->hn--;
			}
		}
		e->hist[(e->hhead + e->hn) % SE_HIST].rev = rev;
		e->hist[(e->hhead + e->hn) % SE_HIST].ev = ev[k];
		e->hn++;
	}
	publish(s, rev, ev, n);
}

/* A put at a new revision (the caller bumped it) */
static void put(struct sim *s, const char *key, const char *value, int64_t lease)
{
	struct sim_etcd *e = s->etcd;
	struct se_key *k = find_key(e, key);
	struct ee_event ev;

	if (k == NULL) {
		for (int j = 0; j < SE_KEYS && k == NULL; j++)
			if (!e->keys[j].used)
				k = &e->keys[j];
		if (k == NULL)
			abort(); /* more keys than a cluster has */
		memset(k, 0, sizeof(*k));
		k->used = 1;
		copy_str(k->kv.key, sizeof(k->kv.key), key);
		k->kv.create_rev = e->revision;
	}
	copy_str(k->kv.value, sizeof(k->kv.value), value);
	k->kv.mod_rev = e->revision;
	k->kv.lease = lease;
	memset(&ev, 0, sizeof(ev));
	ev.kv = k->kv;
	logf_(s, "put %s = %s lease %lld at %lld", key, value, (long long)lease, (long long)e->revision);
	history(s, e->revision, &ev, 1);
}

static void del_event(const struct sim *s, struct se_key *k, int64_t rev, struct ee_event *ev)
{
	logf_(s, "delete %s at %lld", k->kv.key, (long long)rev);
	memset(ev, 0, sizeof(*ev));
	ev->deleted = 1;
	copy_str(ev->kv.key, sizeof(ev->kv.key), k->kv.key);
	ev->kv.mod_rev = rev;
	k->used = 0;
}

/* The lease and its keys go (an end or a revoke) */
static void lease_end(struct sim *s, struct se_lease *l)
{
	struct sim_etcd *e = s->etcd;
	struct ee_event ev[SE_KEYS];
	size_t n = 0;

	logf_(s, "lease %lld of n%d ends (expiry %llu)", (long long)l->id, l->owner + 1, (unsigned long long)l->expiry);
	for (int j = 0; j < SE_KEYS; j++) {
		struct se_key *k = &e->keys[j];

		if (!k->used || k->kv.lease != l->id)
			continue;
		if (e->per_key_expiry) {
			e->revision++;
			del_event(s, k, e->revision, &ev[0]);
			history(s, e->revision, ev, 1);
		} else {
			if (n == 0)
				e->revision++;
			del_event(s, k, e->revision, &ev[n++]);
		}
	}
	if (n > 0)
		history(s, e->revision, ev, n);
	l->used = 0;
}

static void reply_kv(struct ee_reply *r, const struct se_key *k)
{
	if (k == NULL)
		return;
	r->kvs = xcalloc(1, sizeof(*r->kvs));
	r->kvs[0] = k->kv;
	r->nkvs = 1;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ee_kv *)a)->key, ((const struct ee_kv *)b)->key);
}

/* The watch of node i from revision rev (0: from the next) */
static void watch_start(struct sim *s, int i, const struct ee_req *q)
{
	struct sim_etcd *e = s->etcd;
	struct se_watch *w = &e->watch[i];
	int64_t from = q->rev > 0 ? q->rev : e->revision + 1;
	struct se_msg *m;

	w->active = 1;
	w->gen = e->gen[i];
	copy_str(w->prefix, sizeof(w->prefix), q->key);
	e->watch_broken[i] = 0;
	if (from <= e->compacted) {
		w->active = 0;
		m = xcalloc(1, sizeof(*m));
		m->kind = SE_ENDED;
		snprintf(m->why, sizeof(m->why), "compacted at %lld", (long long)e->compacted);
		m->to = i;
		m->gen = e->gen[i];
		m->due = s->now + e->latency_ms;
		msg_add(s, m);
		return;
	}
	/* the history since from, revision by revision */
	w->next_rev = from;
	for (size_t k = 0; k < e->hn;) {
		struct ee_event ev[SE_KEYS];
		int64_t rev = e->hist[(e->hhead + k) % SE_HIST].rev;
		size_t n = 0;

		while (k < e->hn && e->hist[(e->hhead + k) % SE_HIST].rev == rev) {
			if (n < SE_KEYS)
				ev[n++] = e->hist[(e->hhead + k) % SE_HIST].ev;
			k++;
		}
		if (rev < from)
			continue;
		/* as publish() but to this watcher only */
		{
			struct se_msg *mm;
			size_t c = 0;

			mm = xcalloc(1, sizeof(*mm));
			mm->ev = xcalloc(n, sizeof(*mm->ev));
			for (size_t j = 0; j < n; j++)
				if (has_prefix(ev[j].kv.key, w->prefix))
					mm->ev[c++] = ev[j];
			w->next_rev = rev + 1;
			if (c == 0) {
				msg_free(mm);
				continue;
			}
			mm->kind = SE_EVENTS;
			mm->nev = c;
			mm->rev = rev;
			mm->to = i;
			mm->gen = e->gen[i];
			mm->due = s->now + e->latency_ms + e->watch_lag_ms;
			msg_add(s, mm);
		}
	}
	if (w->next_rev <= e->revision)
		w->next_rev = e->revision + 1;
}

/* One request of node i, applied now; its reply queued (before the
 * watch's replay, which the created reply precedes on the stream) */
static void request(struct sim *s, int i, const struct ee_req *q)
{
	struct sim_etcd *e = s->etcd;
	struct se_msg *m;
	struct ee_reply *r;
	struct se_key *k;
	struct se_lease *l;

	e->requests++;
	logf_(s, "n%d %s id %u type %d key %s value %s lease %lld rev %lld mod %lld guard %s/%lld ttl %lld", i + 1,
	      reaches(s, i) ? "->" : "-> (vanishes)", q->id, (int)q->type, q->key, q->value, (long long)q->lease,
	      (long long)q->rev, (long long)q->mod, q->guard, (long long)q->guard_mod, (long long)q->ttl);
	if (q->type <= EE_DELETE_OWN)
		e->by_type[q->type]++;
	if (!reaches(s, i)) {
		e->vanished++;
		return;
	}
	e->answered++;
	m = xcalloc(1, sizeof(*m));
	m->kind = SE_REPLY;
	m->to = i;
	m->gen = e->gen[i];
	m->due = s->now + e->latency_ms;
	r = &m->r;
	r->id = q->id;
	r->ok = 1;
	msg_add(s, m); /* queued first: the reply goes before a watch's replay */
	switch (q->type) {
	case EE_GRANT:
		l = NULL;
		for (int j = 0; j < SE_LEASES && l == NULL; j++)
			if (!e->leases[j].used)
				l = &e->leases[j];
		if (l == NULL)
			abort(); /* leases leak: a simulator or backend bug */
		memset(l, 0, sizeof(*l));
		l->used = 1;
		l->id = ++e->next_lease;
		l->ttl = q->ttl > e->min_ttl_s ? q->ttl : e->min_ttl_s;
		l->expiry = s->now + (uint64_t)l->ttl * 1000;
		l->owner = i;
		r->lease = l->id;
		r->ttl = l->ttl;
		break;
	case EE_KEEPALIVE:
		l = sim_etcd_lease(s, q->lease);
		r->lease = q->lease;
		if (l != NULL) {
			l->expiry = s->now + (uint64_t)l->ttl * 1000;
			r->ttl = l->ttl;
		}
		break;
	case EE_REVOKE:
		l = sim_etcd_lease(s, q->lease);
		if (l == NULL) {
			r->ok = 0;
			snprintf(r->why, sizeof(r->why), "etcdserver: requested lease not found");
		} else {
			lease_end(s, l);
		}
		break;
	case EE_READ: {
		size_t n = 0;

		r->kvs = xcalloc(SE_KEYS, sizeof(*r->kvs));
		for (int j = 0; j < SE_KEYS; j++)
			if (e->keys[j].used && has_prefix(e->keys[j].kv.key, q->key))
				r->kvs[n++] = e->keys[j].kv;
		qsort(r->kvs, n, sizeof(*r->kvs), key_cmp);
		r->nkvs = n;
		break;
	}
	case EE_WATCH:
		r->revision = e->revision;
		watch_start(s, i, q);
		break;
	case EE_CANCEL_WATCH:
		e->watch[i].active = 0;
		break;
	case EE_CREATE: {
		struct se_key *g = q->guard[0] ? find_key(e, q->guard) : NULL;
		int64_t gmod = g != NULL ? g->kv.mod_rev : 0;

		k = find_key(e, q->key);
		if (q->lease != 0 && sim_etcd_lease(s, q->lease) == NULL) {
			r->ok = 0;
			snprintf(r->why, sizeof(r->why), "etcdserver: requested lease not found");
		} else if (k == NULL && (q->guard[0] == '\0' || gmod == q->guard_mod)) {
			e->revision++;
			put(s, q->key, q->value, q->lease);
			r->succeeded = 1;
		} else {
			reply_kv(r, k);
		}
		break;
	}
	case EE_PUT:
		if (q->lease != 0 && sim_etcd_lease(s, q->lease) == NULL) {
			r->ok = 0;
			snprintf(r->why, sizeof(r->why), "etcdserver: requested lease not found");
		} else {
			e->revision++;
			put(s, q->key, q->value, q->lease);
		}
		break;
	case EE_SWAP:
		k = find_key(e, q->key);
		if ((k != NULL ? k->kv.mod_rev : 0) == q->mod) {
			e->revision++;
			put(s, q->key, q->value, 0);
			r->succeeded = 1;
		} else {
			reply_kv(r, k);
		}
		break;
	case EE_DELETE_OWN:
		k = find_key(e, q->key);
		if ((k != NULL ? k->kv.create_rev : 0) == q->rev) {
			if (k != NULL) {
				struct ee_event ev;

				e->revision++;
				del_event(s, k, e->revision, &ev);
				history(s, e->revision, &ev, 1);
			}
			r->succeeded = 1;
		} else {
			reply_kv(r, k);
		}
		break;
	}
	r->revision = e->revision;
	logf_(s, "n%d <- id %u ok %d %s succeeded %d revision %lld lease %lld ttl %lld nkvs %zu", i + 1, r->id, r->ok,
	      r->why, r->succeeded, (long long)r->revision, (long long)r->lease, (long long)r->ttl, r->nkvs);
}

/* ---- the nodes ---- */

struct etcd_elect *sim_ee(struct sim *s, int i)
{
	return &s->etcd->ee[i];
}

static struct cluster sim_etcd_cluster(struct sim *s, int i)
{
	return (struct cluster){.ops = &etcd_elect_ops, .impl = &s->etcd->ee[i]};
}

static uint64_t sim_etcd_holddown_ms(const struct sim *s)
{
	return s->etcd->ttl_s * 1000;
}

static void sim_etcd_tick(struct sim *s, int i)
{
	etcd_elect_tick(&s->etcd->ee[i], s->now);
}

static void sim_etcd_carry(struct sim *s, int i)
{
	struct sim_etcd *e = s->etcd;
	struct sim_node *nd = &s->nd[i];
	struct ee_req q;
	uint64_t at;

	if (!nd->up)
		return;
	if ((int)nd->ms.state != e->logged_ms[i] || (int)e->ee[i].state != e->logged_ee[i] || nd->b.wanted != e->logged_want[i]) {
		logf_(s, "n%d: mastership %d (%s), etcd_elect %s (%s), broker wanted %d alive %d", i + 1, nd->ms.state,
		      nd->ms.reason, etcd_elect_state_name(e->ee[i].state), e->ee[i].reason, nd->b.wanted, nd->b.alive);
		e->logged_ms[i] = (int)nd->ms.state;
		e->logged_ee[i] = (int)e->ee[i].state;
		e->logged_want[i] = nd->b.wanted;
	}
	while (etcd_elect_take_request(&e->ee[i], &q, s->now))
		request(s, i, &q);
	/* a one-shot timer for the backend's next tick; never in the past */
	at = etcd_elect_wake_at(&e->ee[i]);
	nd->at[ST_LEASE] = at == 0 ? 0 : at > s->now ? at : s->now + 1;
	nd->repeat[ST_LEASE] = 0;
}

static int sim_etcd_deliver(struct sim *s, int i)
{
	struct sim_etcd *e = s->etcd;
	struct se_msg *m, *prev = NULL;

	for (m = e->msgs; m != NULL; prev = m, m = m->next)
		if (m->to == i && m->due <= s->now)
			break;
	if (m == NULL)
		return 0;
	if (prev != NULL)
		prev->next = m->next;
	else
		e->msgs = m->next;
	if (e->tail == m)
		e->tail = prev;
	if (m->gen != e->gen[i] || !s->nd[i].up) {
		msg_free(m);
		return sim_etcd_deliver(s, i);
	}
	switch (m->kind) {
	case SE_REPLY:
		etcd_elect_reply(&e->ee[i], &m->r, s->now);
		break;
	case SE_EVENTS:
		etcd_elect_watch(&e->ee[i], m->ev, m->nev, m->rev, s->now);
		break;
	case SE_ENDED:
		etcd_elect_watch_ended(&e->ee[i], m->why, s->now);
		break;
	}
	msg_free(m);
	return 1;
}

/* Whatever was on its way to node i is lost */
static void drop_to(struct sim *s, int i)
{
	struct sim_etcd *e = s->etcd;
	struct se_msg **pp = &e->msgs;

	e->tail = NULL;
	while (*pp != NULL) {
		struct se_msg *m = *pp;

		if (m->to == i) {
			*pp = m->next;
			msg_free(m);
		} else {
			e->tail = m;
			pp = &m->next;
		}
	}
}

static void ended(struct sim *s, int i, const char *why)
{
	struct sim_etcd *e = s->etcd;
	struct se_msg *m = xcalloc(1, sizeof(*m));

	m->kind = SE_ENDED;
	snprintf(m->why, sizeof(m->why), "%s", why);
	m->to = i;
	m->gen = e->gen[i];
	m->due = s->now + e->latency_ms;
	msg_add(s, m);
}

static void sim_etcd_step(struct sim *s)
{
	struct sim_etcd *e = s->etcd;

	for (int i = 0; i < s->n; i++) {
		int linked = s->nd[i].linked;

		if (e->was_linked[i] && !linked) {
			drop_to(s, i);
			if (e->watch[i].active && e->watch[i].gen == e->gen[i])
				e->watch_broken[i] = 1;
			e->watch[i].active = 0;
		} else if (!e->was_linked[i] && linked && e->watch_broken[i] && !e->down && s->nd[i].up) {
			e->watch_broken[i] = 0;
			ended(s, i, "connection lost");
		}
		e->was_linked[i] = linked;
	}
	if (e->down)
		return; /* nobody counts the leases' time */
	for (int k = 0; k < SE_LEASES; k++)
		if (e->leases[k].used && s->now >= e->leases[k].expiry) {
			e->expired_leases++;
			lease_end(s, &e->leases[k]);
		}
}

void sim_etcd_outage(struct sim *s, int down)
{
	struct sim_etcd *e = s->etcd;

	if (down == e->down)
		return;
	e->down = down;
	if (down) {
		/* the members' connections close: every stream ends */
		for (int i = 0; i < s->n; i++) {
			if (e->watch[i].active && e->watch[i].gen == e->gen[i] && s->nd[i].up && s->nd[i].linked)
				ended(s, i, "etcd unavailable");
			e->watch[i].active = 0;
		}
	} else {
		for (int k = 0; k < SE_LEASES; k++)
			if (e->leases[k].used)
				e->leases[k].expiry = s->now + (uint64_t)e->leases[k].ttl * 1000;
	}
}

const struct ee_kv *sim_etcd_key(const struct sim *s, const char *suffix)
{
	char key[EE_KEY_MAX];
	struct se_key *k;

	snprintf(key, sizeof(key), "%s%s", SE_PREFIX, suffix);
	k = find_key(s->etcd, key);
	return k != NULL ? &k->kv : NULL;
}

const char *sim_etcd_leader(const struct sim *s, char *buf, size_t len)
{
	const struct ee_kv *kv = sim_etcd_key(s, "/leader");
	const char *p;
	size_t n = 0;

	buf[0] = '\0';
	if (kv == NULL || (p = strstr(kv->value, "\"node\"")) == NULL)
		return buf;
	p = strchr(p + 6, '"');
	if (p == NULL)
		return buf;
	for (p++; *p && *p != '"' && n + 1 < len; p++)
		buf[n++] = *p;
	buf[n] = '\0';
	return buf;
}

static void sim_etcd_check(struct sim *s)
{
	const struct ee_kv *kv = sim_etcd_key(s, "/leader");
	char holder[MS_ID_MAX + 1];
	int live = kv != NULL && sim_etcd_lease(s, kv->lease) != NULL;

	sim_etcd_leader(s, holder, sizeof(holder));
	for (int i = 0; i < s->n; i++) {
		char id[16];

		snprintf(id, sizeof(id), "n%d", i + 1);
		if (s->nd[i].b.alive && !(s->nd[i].frozen && s->freeze_whole_node) &&
		    (!live || strcmp(holder, id) != 0)) {
			s->etcd_violation_ms++;
			break;
		}
	}
}

static const struct sim_hooks etcd_hooks = {
	.cluster = sim_etcd_cluster,
	.holddown_ms = sim_etcd_holddown_ms,
	.step = sim_etcd_step,
	.tick = sim_etcd_tick,
	.carry = sim_etcd_carry,
	.deliver = sim_etcd_deliver,
	.check = sim_etcd_check,
};

/* ---- setup ---- */

void sim_restart_etcd(struct sim *s, int i, uint64_t initial_term)
{
	struct sim_etcd *e = s->etcd;
	struct ee_params p;
	char rec[256];

	memset(&p, 0, sizeof(p));
	snprintf(p.self, sizeof(p.self), "n%d", i + 1);
	snprintf(p.prefix, sizeof(p.prefix), "%s", SE_PREFIX);
	p.position = 100 + (uint32_t)i;
	p.ttl_s = e->ttl_s;
	p.margin_ms = e->margin_ms;
	p.request_ms = e->request_ms;
	p.rank_step_ms = e->rank_step_ms;
	p.initial_term = initial_term;
	e->gen[i]++;
	drop_to(s, i);
	e->watch[i].active = 0;
	e->watch_broken[i] = 0;
	etcd_elect_init(&e->ee[i], &p, s->now);
	snprintf(rec, sizeof(rec), "{\"node\":\"n%d\",\"eligible\":true,\"healthy\":true,\"position\":%u}", i + 1,
		 100 + i);
	etcd_elect_set_record(&e->ee[i], rec);
	sim_reset_node(s, i);
	s->nd[i].started = s->now;
	s->nd[i].at[ST_LEASE] = s->now;
	s->nd[i].repeat[ST_LEASE] = 0;
	e->was_linked[i] = s->nd[i].linked;
}

void sim_init_etcd(struct sim *s, int n, uint64_t ttl_s, uint64_t margin_ms, uint64_t request_ms,
		   uint64_t rank_step_ms)
{
	struct sim_etcd *e = xcalloc(1, sizeof(*e));

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->now = 1000;
	s->backend = SIM_ETCD;
	s->etcd = e;
	s->hooks = &etcd_hooks;
	e->latency_ms = 2;
	e->revision = 1;
	e->next_lease = 0x694d7a2b3c000000ll;
	e->ttl_s = ttl_s;
	e->margin_ms = margin_ms;
	e->request_ms = request_ms;
	e->rank_step_ms = rank_step_ms;
	for (int i = 0; i < n; i++) {
		s->nd[i].linked = 1;
		sim_restart_etcd(s, i, 0);
	}
}

void sim_etcd_free(struct sim *s)
{
	struct sim_etcd *e = s->etcd;

	if (e == NULL)
		return;
	while (e->msgs != NULL) {
		struct se_msg *m = e->msgs;

		e->msgs = m->next;
		msg_free(m);
	}
	free(e);
	s->etcd = NULL;
}
