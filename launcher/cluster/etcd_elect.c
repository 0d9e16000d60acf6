/*
 * The etcd backend's decisions (etcd_elect.h).  Pure: requests out,
 * replies, watch events and time in, mastership events out.
 */
#include "etcd_elect.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EE_PROTO 1

const char *etcd_elect_state_name(enum ee_state s)
{
	static const char *const names[] = {"starting", "following", "campaigning", "leading", "resigning"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static void copy_id(char *dst, const char *src)
{
	size_t n = strnlen(src, MS_ID_MAX);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- keys */

static void key_of(const struct etcd_elect *e, const char *name, char *buf)
{
	snprintf(buf, EE_KEY_MAX, "%s/%s", e->p.prefix, name);
}

/* "leader", "term_base", "next", "ask", or the node id of "nodes/ID";
 * NULL for a key that is not ours */
static const char *key_name(const struct etcd_elect *e, const char *key)
{
	size_t n = strlen(e->p.prefix);

	if (strncmp(key, e->p.prefix, n) != 0 || key[n] != '/')
		return NULL;
	return key + n + 1;
}

static const char *node_of(const char *name)
{
	return strncmp(name, "nodes/", 6) == 0 && name[6] != '\0' ? name + 6 : NULL;
}

/* ---- events for mastership */

static struct ms_event *push(struct etcd_elect *e, enum ms_input type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct ms_event *push(struct etcd_elect *e, enum ms_input type, const char *fmt, ...)
{
	static struct ms_event spare;
	struct ms_event *ev;
	va_list ap;

	/* one "peers changed" waiting says it all: a read of many records
	 * must not crowd out the lead's loss */
	if (type == MS_IN_PEERS_CHANGED)
		for (size_t i = 0; i < e->nev; i++)
			if (e->ev[(e->evhead + i) % EE_EVENTS].type == MS_IN_PEERS_CHANGED)
				return &spare;
	if (e->nev == EE_EVENTS) {
		/* never at this depth: leader events are a few per call */
		ev = &spare;
	} else {
		ev = &e->ev[(e->evhead + e->nev) % EE_EVENTS];
		e->nev++;
	}
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(ev->reason, sizeof(ev->reason), fmt, ap);
		va_end(ap);
	}
	return ev;
}

static void set_state(struct etcd_elect *e, enum ee_state s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_state(struct etcd_elect *e, enum ee_state s, const char *fmt, ...)
{
	va_list ap;

	e->state = s;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

/* ---- requests */

static struct ee_req *queue(struct etcd_elect *e, enum ee_req_type type)
{
	struct ee_req *r;

	if (e->qn == EE_REQ_QUEUE)
		return NULL; /* a full queue: the request is made again later */
	r = &e->q[(e->qhead + e->qn) % EE_REQ_QUEUE];
	e->qn++;
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->id = ++e->next_id;
	if (r->id == 0)
		r->id = ++e->next_id;
	return r;
}

static int pending(const struct etcd_elect *e, enum ee_req_type type)
{
	for (size_t i = 0; i < e->qn; i++)
		if (e->q[(e->qhead + i) % EE_REQ_QUEUE].type == type)
			return 1;
	for (size_t i = 0; i < e->npending; i++)
		if (e->pending_type[i] == type)
			return 1;
	return 0;
}

static void req_grant(struct etcd_elect *e)
{
	struct ee_req *r;

	if (pending(e, EE_GRANT) || (r = queue(e, EE_GRANT)) == NULL)
		return;
	r->ttl = (int64_t)e->p.ttl_s;
}

static void req_read(struct etcd_elect *e)
{
	struct ee_req *r;

	if (pending(e, EE_READ) || (r = queue(e, EE_READ)) == NULL)
		return;
	snprintf(r->key, sizeof(r->key), "%s/", e->p.prefix);
}

static void req_keepalive(struct etcd_elect *e)
{
	struct ee_req *r;

	if (e->lease == 0 || pending(e, EE_KEEPALIVE) || (r = queue(e, EE_KEEPALIVE)) == NULL)
		return;
	r->lease = e->lease;
}

/* This node's record: who it is, where it ranks, whether it may lead
 * (held down: not), and the caller's fields (role, broker, cache, health:
 * etcd_elect_set_record). */
static void compose_record(struct etcd_elect *e, int may_lead, char *buf, size_t len)
{
	json_object *o = json_object_new_object(), *info = NULL;
	const char *t = NULL;

	if (e->record[0] != '\0')
		info = json_tokener_parse(e->record);
	if (o != NULL) {
		json_object_object_add(o, "node", json_object_new_string(e->p.self));
		json_object_object_add(o, "position", json_object_new_int64(e->p.position));
		json_object_object_add(o, "may_lead", json_object_new_boolean(may_lead));
		json_object_object_add(o, "proto", json_object_new_int(EE_PROTO));
		if (e->p.failsafe)
			json_object_object_add(o, "failsafe", json_object_new_boolean(1));
		/* it obeys P/pause: a record without it is of a release that
		 * would still campaign during maintenance */
		json_object_object_add(o, "pausable", json_object_new_boolean(1));
		if (info != NULL)
			json_object_object_add(o, "info", info);
		t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	} else {
		json_object_put(info);
	}
	snprintf(buf, len, "%s", t != NULL ? t : "{}");
	json_object_put(o);
}

static void req_record(struct etcd_elect *e, uint64_t now)
{
	struct ee_req *r;

	if (e->lease == 0 || pending(e, EE_PUT) || (r = queue(e, EE_PUT)) == NULL)
		return;
	snprintf(r->key, sizeof(r->key), "%s/nodes/%s", e->p.prefix, e->p.self);
	e->held_published = now < e->holddown_until;
	compose_record(e, e->claimable && !e->held_published, r->value, sizeof(r->value));
	r->lease = e->lease;
	e->record_dirty = 0;
}

static void req_watch(struct etcd_elect *e)
{
	struct ee_req *r;

	if (pending(e, EE_WATCH) || (r = queue(e, EE_WATCH)) == NULL)
		return;
	snprintf(r->key, sizeof(r->key), "%s/", e->p.prefix);
	r->rev = e->revision + 1;
}

/* ---- values */

/* {"node": id, "base": n} (base < 0: left out), into buf */
static void node_value(char *buf, size_t len, const char *node, int64_t base)
{
	json_object *o = json_object_new_object();
	const char *t = NULL;

	if (o != NULL) {
		json_object_object_add(o, "node", json_object_new_string(node));
		if (base >= 0)
			json_object_object_add(o, "base", json_object_new_int64(base));
		t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	}
	snprintf(buf, len, "%s", t != NULL ? t : "{}");
	json_object_put(o);
}

/* {"node": id, "base": n} of the leader key; 0 or -1 */
static int parse_leader(const char *value, char *node, int64_t *base)
{
	json_object *o = json_tokener_parse(value), *v;
	int rc = -1;

	node[0] = '\0';
	*base = 0;
	if (o == NULL)
		return -1;
	if (json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "node", &v) &&
	    json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0 &&
	    json_object_get_string_len(v) <= MS_ID_MAX) {
		copy_id(node, json_object_get_string(v));
		rc = 0;
		if (json_object_object_get_ex(o, "base", &v)) {
			if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0)
				*base = json_object_get_int64(v);
			else
				rc = -1;
		}
	}
	json_object_put(o);
	return rc;
}

/* P/term_base: a number */
static int parse_base(const char *value, int64_t *base)
{
	char *end;
	long long n = strtoll(value, &end, 10);

	if (end == value || *end != '\0' || n < 0)
		return -1;
	*base = n;
	return 0;
}

static int parse_record(const char *value, struct ee_node *n)
{
	json_object *o = json_tokener_parse(value), *v;
	int rc = -1;

	if (o == NULL)
		return -1;
	if (json_object_is_type(o, json_type_object)) {
		rc = 0;
		n->position = 0;
		n->may_lead = 0;
		n->failsafe = 0;
		n->pausable = 0;
		if (json_object_object_get_ex(o, "pausable", &v) && json_object_is_type(v, json_type_boolean))
			n->pausable = json_object_get_boolean(v);
		if (json_object_object_get_ex(o, "failsafe", &v) && json_object_is_type(v, json_type_boolean))
			n->failsafe = json_object_get_boolean(v);
		if (json_object_object_get_ex(o, "position", &v) && json_object_is_type(v, json_type_int))
			n->position = (uint32_t)json_object_get_int64(v);
		if (json_object_object_get_ex(o, "may_lead", &v) && json_object_is_type(v, json_type_boolean))
			n->may_lead = json_object_get_boolean(v);
		snprintf(n->record, sizeof(n->record), "%s", value);
	}
	json_object_put(o);
	return rc;
}

/* ---- what the cluster looks like */

static struct ee_node *find_node(struct etcd_elect *e, const char *id);

static uint64_t deadline(const struct etcd_elect *e)
{
	uint64_t end = e->lease_ok_sent + (uint64_t)e->lease_ok_ttl_s * 1000;

	/* 0 would read as "no deadline" */
	return end > e->p.margin_ms + 1 ? end - e->p.margin_ms : 1;
}

/* The fence's deadline: the lease's, or later what the members' direct
 * hearing gives in failsafe mode (etcd_elect_failsafe). */
static uint64_t fence_deadline(const struct etcd_elect *e)
{
	/* taking our key again: the new lease holds no key yet, so it gives
	 * the lead no time (1: past; 0 would mean no fence at all) */
	uint64_t d = e->fs_rejoin ? 1 : deadline(e);

	return e->p.failsafe && e->fs_deadline > d ? e->fs_deadline : d;
}

/* P/failsafe: {"leader": id, "members": [ids]} */
static void parse_failsafe(struct etcd_elect *e, const char *value)
{
	json_object *o = json_tokener_parse(value), *v, *m;

	e->fs_present = 1;
	e->fs_leader[0] = '\0';
	e->fs_nmembers = 0;
	if (o == NULL)
		return; /* unreadable: present, nobody in it (nobody unlisted campaigns) */
	if (json_object_is_type(o, json_type_object)) {
		if (json_object_object_get_ex(o, "leader", &v) && json_object_is_type(v, json_type_string))
			copy_id(e->fs_leader, json_object_get_string(v));
		if (json_object_object_get_ex(o, "members", &v) && json_object_is_type(v, json_type_array))
			for (size_t i = 0; i < json_object_array_length(v) && e->fs_nmembers < EE_NODES_MAX; i++) {
				m = json_object_array_get_idx(v, i);
				if (json_object_is_type(m, json_type_string) && json_object_get_string_len(m) > 0 &&
				    json_object_get_string_len(m) <= MS_ID_MAX)
					copy_id(e->fs_members[e->fs_nmembers++], json_object_get_string(m));
			}
	}
	json_object_put(o);
}

static int fs_listed(const struct etcd_elect *e, const char *id)
{
	for (size_t i = 0; i < e->fs_nmembers; i++)
		if (strcmp(e->fs_members[i], id) == 0)
			return 1;
	return 0;
}

/* As leader: P/failsafe names us and every node with a record (us
 * included), else it is written again */
static int fs_current(const struct etcd_elect *e)
{
	if (!e->fs_present || strcmp(e->fs_leader, e->p.self) != 0 || !fs_listed(e, e->p.self))
		return 0;
	for (size_t i = 0; i < e->nnodes; i++)
		if (!fs_listed(e, e->nodes[i].id))
			return 0;
	/* one that left is dropped from it too (it need not hear us) */
	for (size_t i = 0; i < e->fs_nmembers; i++)
		if (strcmp(e->fs_members[i], e->p.self) != 0 && find_node((struct etcd_elect *)e, e->fs_members[i]) == NULL)
			return 0;
	return 1;
}

static void req_failsafe(struct etcd_elect *e, uint64_t now)
{
	json_object *o, *a;
	struct ee_req *r;
	const char *t;

	if (e->fs_put_id != 0 || now < e->fs_put_retry_at || (r = queue(e, EE_PUT)) == NULL)
		return;
	o = json_object_new_object();
	a = json_object_new_array();
	if (o == NULL || a == NULL) {
		json_object_put(o);
		json_object_put(a);
		e->qn--; /* not sent after all */
		return;
	}
	json_object_array_add(a, json_object_new_string(e->p.self));
	e->fs_nwrote = 0;
	for (size_t i = 0; i < e->nnodes; i++)
		if (strcmp(e->nodes[i].id, e->p.self) != 0) {
			json_object_array_add(a, json_object_new_string(e->nodes[i].id));
			if (e->fs_nwrote < EE_NODES_MAX)
				copy_id(e->fs_wrote[e->fs_nwrote++], e->nodes[i].id);
		}
	json_object_object_add(o, "leader", json_object_new_string(e->p.self));
	json_object_object_add(o, "members", a);
	t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	key_of(e, "failsafe", r->key);
	snprintf(r->value, sizeof(r->value), "%s", t != NULL ? t : "{}");
	r->lease = 0; /* it outlives our lease: that is its point */
	e->fs_put_id = r->id;
	e->fs_put_retry_at = now + e->p.request_ms;
	json_object_put(o);
}

static struct ee_node *find_node(struct etcd_elect *e, const char *id)
{
	for (size_t i = 0; i < e->nnodes; i++)
		if (strcmp(e->nodes[i].id, id) == 0)
			return &e->nodes[i];
	return NULL;
}

/* A node that may lead ranks before another: lower position, then id. */
static int ranks_before(uint32_t pa, const char *a, uint32_t pb, const char *b)
{
	return pa != pb ? pa < pb : strcmp(a, b) < 0;
}

/* When this node may campaign for a free key: at once when named by a
 * resignation, never while another live node is named, else after the
 * live nodes that rank before it, one step each. */
static void schedule_campaign(struct etcd_elect *e, uint64_t now)
{
	unsigned before = 0;

	e->campaign_at = 0;
	if (!e->claimable || e->leader[0] != '\0' || e->lease == 0)
		return;
	if (e->next[0] != '\0') {
		if (strcmp(e->next, e->p.self) == 0) {
			e->campaign_at = now;
			return;
		}
		const struct ee_node *n = find_node(e, e->next);
		if (n != NULL && n->may_lead)
			return; /* the named successor lives and may lead: its turn */
	}
	for (size_t i = 0; i < e->nnodes; i++) {
		const struct ee_node *n = &e->nodes[i];
		if (strcmp(n->id, e->p.self) != 0 && n->may_lead &&
		    ranks_before(n->position, n->id, e->p.position, e->p.self))
			before++;
	}
	/* nodes started together see each other's records before the first
	 * campaign: the rank holds from the start */
	e->campaign_at = (now > e->settle_until ? now : e->settle_until) + before * e->p.rank_step_ms;
	if (e->campaign_at == 0)
		e->campaign_at = 1;
}

/* P/next, which we wrote when resigning: deleted (once etcd showed it),
 * again until etcd says it is gone */
static void drop_next(struct etcd_elect *e, uint64_t now)
{
	struct ee_req *r;

	if (e->next_create_rev == 0 || e->next_delete_id != 0 || (r = queue(e, EE_DELETE_OWN)) == NULL)
		return; /* at the next tick */
	key_of(e, "next", r->key);
	r->rev = e->next_create_rev;
	e->next_delete_id = r->id;
	e->next_until = now + e->p.request_ms; /* the next try, if this one fails */
}

static void lose(struct etcd_elect *e, uint64_t now, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void lose(struct etcd_elect *e, uint64_t now, const char *fmt, ...)
{
	/* resigning, the lead is given up already: that is done */
	struct ms_event *ev = push(e, e->state == EE_RESIGNING ? MS_IN_RESIGN_SENT : MS_IN_LEADERSHIP_LOST, NULL);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ev->reason, sizeof(ev->reason), fmt, ap);
	va_end(ap);
	set_state(e, EE_FOLLOWING, "%s", ev->reason);
	e->fs_active = e->fs_rejoin = 0;
	e->fs_deadline = 0;
	e->leader[0] = '\0';
	e->leader_create_rev = 0;
	e->resign_id = 0;
	e->rank_due = 1;
	(void)now;
}

static void lead(struct etcd_elect *e, int64_t create_rev, int64_t base, uint64_t now)
{
	struct ms_event *ev;

	copy_id(e->leader, e->p.self);
	/* the members' word of a lead before this one is not for this one */
	if (!e->fs_rejoin)
		e->fs_deadline = 0;
	e->leader_create_rev = create_rev;
	e->own_rev = create_rev;
	e->resigned_rev = 0;
	e->leader_base = base;
	e->term = (uint64_t)(base + create_rev);
	if (e->term > e->max_term)
		e->max_term = e->term;
	e->campaign_at = 0;
	set_state(e, EE_LEADING, "%sleader key created at revision %" PRId64 " (term %" PRIu64 ")",
		  e->fs_rejoin ? "etcd answers again; " : "", create_rev, e->term);
	e->fs_active = e->fs_rejoin = 0;
	ev = push(e, MS_IN_LEADER, "%s", e->reason);
	copy_id(ev->node, e->p.self);
	ev->term = e->term;
	e->fs_fence_sent = fence_deadline(e);
	push(e, MS_IN_FENCE, NULL)->deadline = e->fs_fence_sent;
	(void)now;
}

/* The leader key as it is now (NULL kv: absent). */
static void leader_key(struct etcd_elect *e, const struct ee_kv *kv, uint64_t now)
{
	char node[MS_ID_MAX + 1];
	int64_t base;
	struct ms_event *ev;

	/* our key is gone, or another holds it: nothing of ours to delete */
	if (kv == NULL || kv->create_rev != e->own_rev)
		e->own_rev = e->resigned_rev = 0;
	if (kv == NULL) {
		if (e->state == EE_RESIGNING) {
			lose(e, now, "resigned: our leader key is deleted");
		} else if (e->state == EE_LEADING && e->fs_active) {
			/* our lease ended while etcd could not hear us, and the
			 * members' word kept us leading: the key is taken again
			 * (no member campaigns while it hears us) */
			e->fs_rejoin = 1;
		} else if (e->state == EE_LEADING) {
			lose(e, now, "our leader key is gone");
		} else if (e->leader[0] != '\0') {
			e->leader[0] = '\0';
			push(e, MS_IN_NO_LEADER, "the leader key is gone");
		}
		e->leader_create_rev = 0;
		if (e->state == EE_FOLLOWING)
			schedule_campaign(e, now);
		return;
	}
	if (parse_leader(kv->value, node, &base) != 0) {
		/* someone else's key under our prefix: nobody we know leads */
		if (e->state == EE_LEADING)
			lose(e, now, "our leader key was replaced by an unreadable one");
		if (e->leader[0] != '\0' || e->leader_create_rev != kv->create_rev)
			push(e, MS_IN_NO_LEADER, "the leader key holds no node");
		e->leader[0] = '\0';
		e->leader_create_rev = kv->create_rev;
		e->campaign_at = 0;
		return;
	}
	if (strcmp(node, e->p.self) == 0 && kv->lease == e->lease && e->lease != 0) {
		/* ours, given up (resigning, or lost by our clock): not a new
		 * lead, whatever an older read still shows; it is being deleted */
		if (e->state == EE_RESIGNING || (e->resigned_rev != 0 && kv->create_rev == e->resigned_rev)) {
			/* resigning, a key of ours we did not know of (a
			 * failsafe rejoin's create that landed): it is given
			 * up too, deleted until etcd shows it gone */
			if (e->state == EE_RESIGNING)
				e->own_rev = e->resigned_rev = kv->create_rev;
			e->leader_create_rev = kv->create_rev;
			e->campaign_at = 0;
			return;
		}
		/* ours: a create whose reply was lost shows here */
		if (e->state != EE_LEADING || e->leader_create_rev != kv->create_rev)
			lead(e, kv->create_rev, base, now);
		return;
	}
	if (e->state == EE_LEADING)
		lose(e, now, "our leader key was replaced by %s's", node);
	if (e->state == EE_CAMPAIGNING)
		set_state(e, EE_FOLLOWING, "%s leads", node);
	e->campaign_at = 0;
	if (strcmp(node, e->p.self) == 0) {
		/* our id with another lease: a run of ours before this one
		 * (its lease has not ended yet), or another process with our id */
		if (e->leader[0] != '\0' || e->leader_create_rev != kv->create_rev)
			push(e, MS_IN_NO_LEADER,
			     "the leader key names this node under another lease (a previous run, until its lease ends)");
		e->leader[0] = '\0';
		e->leader_create_rev = kv->create_rev;
		return;
	}
	if (strcmp(e->leader, node) == 0 && e->leader_create_rev == kv->create_rev)
		return;
	copy_id(e->leader, node);
	e->leader_create_rev = kv->create_rev;
	e->leader_base = base;
	e->term = (uint64_t)(base + kv->create_rev);
	if (e->term > e->max_term)
		e->max_term = e->term;
	ev = push(e, MS_IN_LEADER, "%s leads (leader key of revision %" PRId64 ")", node, kv->create_rev);
	copy_id(ev->node, node);
	ev->term = e->term;
	/* whoever was named for it has taken it, or another did */
	e->next[0] = '\0';
	if (e->next_mine)
		drop_next(e, now);
}

static void node_record(struct etcd_elect *e, const char *id, const struct ee_kv *kv, uint64_t now)
{
	struct ee_node *n = find_node(e, id);

	if (kv == NULL) {
		if (n != NULL) {
			*n = e->nodes[--e->nnodes];
			push(e, MS_IN_PEERS_CHANGED, "%s left", id);
		}
	} else {
		struct ee_node tmp = {0};
		if (strlen(id) > MS_ID_MAX || parse_record(kv->value, &tmp) != 0)
			return;
		copy_id(tmp.id, id);
		tmp.mod_rev = kv->mod_rev;
		if (n == NULL) {
			if (e->nnodes == EE_NODES_MAX)
				return;
			n = &e->nodes[e->nnodes++];
		} else if (n->may_lead == tmp.may_lead && n->position == tmp.position &&
			   strcmp(n->record, tmp.record) == 0) {
			return;
		}
		*n = tmp;
		push(e, MS_IN_PEERS_CHANGED, "%s's record changed", id);
	}
	/* the rank may have changed while the key is free */
	if (e->state == EE_FOLLOWING && e->leader[0] == '\0' && e->leader_create_rev == 0 && e->campaign_at != 0)
		schedule_campaign(e, now);
}

/*
 * One key as it is at revision rev (kv NULL: deleted).  News of the
 * leader key older than what we know is dropped: a watch event of our own
 * create that arrives after our resignation's reply must not make us lead
 * again.
 */
static void apply(struct etcd_elect *e, const char *key, const struct ee_kv *kv, int64_t rev, uint64_t now)
{
	const char *name = key_name(e, key), *id;
	char node[MS_ID_MAX + 1];
	int64_t n;

	if (name == NULL)
		return;
	if (strcmp(name, "leader") == 0) {
		if (rev != 0 && rev <= e->leader_rev)
			return;
		if (rev > e->leader_rev)
			e->leader_rev = rev;
		leader_key(e, kv, now);
	} else if (strcmp(name, "term_base") == 0) {
		if (kv != NULL && kv->mod_rev < e->base_mod)
			return; /* older than the base we know */
		if (kv != NULL && parse_base(kv->value, &n) == 0) {
			e->base = n;
			e->base_mod = kv->mod_rev;
		} else if (kv == NULL) {
			e->base = 0;
			e->base_mod = 0;
		}
	} else if (strcmp(name, "next") == 0) {
		if (kv != NULL && parse_leader(kv->value, node, &n) == 0) {
			copy_id(e->next, node);
			if (e->next_mine && kv->lease == e->lease)
				e->next_create_rev = kv->create_rev;
		} else {
			e->next[0] = '\0';
		}
		if (kv == NULL || kv->lease != e->lease) {
			/* ours is gone */
			e->next_mine = 0;
			e->next_create_rev = 0;
		}
		if (e->state == EE_FOLLOWING && e->leader[0] == '\0' && e->leader_create_rev == 0)
			schedule_campaign(e, now);
	} else if (strcmp(name, "pause") == 0) {
		/* a deleted key says nothing: every node keeps what it knows */
		if (kv == NULL || kv->mod_rev < e->pause_mod)
			return;
		e->pause_mod = kv->mod_rev;
		if (strcmp(e->pause, kv->value) != 0 || !e->pause_news) {
			snprintf(e->pause, sizeof(e->pause), "%s", kv->value);
			e->pause_news = 1;
		}
	} else if (strcmp(name, "failsafe") == 0) {
		if (kv != NULL) {
			parse_failsafe(e, kv->value);
		} else {
			e->fs_present = 0;
			e->fs_nmembers = 0;
			e->fs_leader[0] = '\0';
		}
		if (e->state == EE_FOLLOWING && e->leader[0] == '\0' && e->leader_create_rev == 0)
			schedule_campaign(e, now);
	} else if (strcmp(name, "ask") == 0) {
		/* a request to the leader we are, made since we lead; an older
		 * one (made while nobody led, or to the one before us) is only
		 * deleted */
		if (kv != NULL && e->state == EE_LEADING) {
			struct ee_req *r = queue(e, EE_DELETE_OWN);
			if (r != NULL) {
				snprintf(r->key, sizeof(r->key), "%s", kv->key);
				r->rev = kv->create_rev;
			}
			if (kv->mod_rev > e->leader_create_rev && parse_leader(kv->value, node, &n) == 0 &&
			    strcmp(node, e->p.self) != 0)
				copy_id(push(e, MS_IN_HANDOVER_ASKED, "switchover asked")->target, node);
		}
	} else if ((id = node_of(name)) != NULL) {
		node_record(e, id, kv, now);
	}
}

/* ---- the backend */

void etcd_elect_init(struct etcd_elect *e, const struct ee_params *p, uint64_t now)
{
	memset(e, 0, sizeof(*e));
	e->p = *p;
	e->max_term = p->initial_term;
	e->claimable = 1;
	set_state(e, EE_STARTING, "asking etcd for a lease");
	req_grant(e);
	(void)now;
}

void etcd_elect_set_record(struct etcd_elect *e, const char *json)
{
	if (strcmp(e->record, json) == 0)
		return;
	snprintf(e->record, sizeof(e->record), "%s", json);
	e->record_dirty = 1;
}

/* The leader key created on our lease if absent, guarded by the term base
 * we know (a campaign, or failsafe's key taken again); NULL: a full queue. */
static struct ee_req *req_create(struct etcd_elect *e)
{
	struct ee_req *r = queue(e, EE_CREATE);

	if (r == NULL)
		return NULL;
	key_of(e, "leader", r->key);
	node_value(r->value, sizeof(r->value), e->p.self, e->base);
	r->lease = e->lease;
	key_of(e, "term_base", r->guard);
	r->guard_mod = e->base_mod;
	e->campaign_base = e->base;
	return r;
}

static void campaign(struct etcd_elect *e, uint64_t now)
{
	struct ee_req *r;

	e->campaign_at = 0;
	if (e->p.failsafe && (e->next[0] == '\0' || strcmp(e->next, e->p.self) != 0)) {
		/* a master may serve on without etcd while its members hear
		 * it: not while we hear one (a resignation's successor goes at
		 * once: its master stopped its broker before it resigned) */
		if (now < e->fs_hold_until) {
			e->campaign_at = e->fs_hold_until;
			set_state(e, EE_FOLLOWING, "failsafe: a master was heard directly; no campaign before %" PRIu64
				  " ms from now", e->fs_hold_until - now);
			return;
		}
		/* nor when we are not of the members it hears (it may be
		 * serving, cut off from etcd and from us); a list of its
		 * writer alone gives it no failsafe lead (failsafe.h) */
		if (e->fs_present && !fs_listed(e, e->p.self) && strcmp(e->fs_leader, e->p.self) != 0 &&
		    (e->fs_nmembers > 1 || (e->fs_nmembers == 1 && strcmp(e->fs_members[0], e->fs_leader) != 0))) {
			set_state(e, EE_FOLLOWING, "failsafe: not among the members in %s/failsafe (written by %s); "
				  "no campaign", e->p.prefix, e->fs_leader[0] ? e->fs_leader : "?");
			return;
		}
	}
	/* a lease that may end before we could even serve: renew first */
	if (deadline(e) <= now + e->p.request_ms) {
		e->keepalive_due = now;
		e->renew_to_campaign = 1;
		e->campaign_at = now + e->p.request_ms; /* unless the renewal comes first */
		return;
	}
	/* the next create_revision is above revision: a base that would give
	 * a term we (or an older backend) already used is raised first */
	if ((uint64_t)(e->base + e->revision + 1) <= e->max_term) {
		if (pending(e, EE_SWAP))
			return; /* its reply campaigns again */
		if ((r = queue(e, EE_SWAP)) == NULL) {
			e->campaign_at = now + e->p.rank_step_ms;
			return;
		}
		key_of(e, "term_base", r->key);
		snprintf(r->value, sizeof(r->value), "%" PRIu64, e->max_term);
		r->mod = e->base_mod;
		return; /* the reply campaigns again */
	}
	if (req_create(e) == NULL) {
		e->campaign_at = now + e->p.rank_step_ms; /* a full queue: soon again */
		return;
	}
	set_state(e, EE_CAMPAIGNING, "campaigning: creating the leader key");
}

void etcd_elect_tick(struct etcd_elect *e, uint64_t now)
{
	int lease_over;

	/* requests without an answer in time have failed */
	for (size_t i = 0; i < e->npending;) {
		if (now - e->pending_sent[i] >= e->p.request_ms) {
			struct ee_reply r = {.id = e->pending[i], .ok = 0};
			snprintf(r.why, sizeof(r.why), "no answer within %" PRIu64 " ms", e->p.request_ms);
			etcd_elect_reply(e, &r, now);
			i = 0; /* the list changed */
			continue;
		}
		i++;
	}
	/* our key being taken again (fs_rejoin): no lease of ours holds it */
	lease_over = e->lease_ok_sent + (uint64_t)e->lease_ok_ttl_s * 1000 <= now || e->fs_rejoin;
	if (e->state == EE_LEADING && lease_over && e->p.failsafe && e->fs_deadline != 0 && now < e->fs_deadline) {
		/* failsafe: every member still hears us directly */
		if (!e->fs_active)
			set_state(e, EE_LEADING, "failsafe: no keep-alive answered for %" PRId64
				  " s; leading on while every member hears us", e->lease_ok_ttl_s);
		e->fs_active = 1;
	} else if (e->state == EE_LEADING && lease_over) {
		e->fs_active = e->fs_rejoin = 0;
		lose(e, now, "no keep-alive answered for %" PRId64 " s: our lease has ended%s", e->lease_ok_ttl_s,
		     e->p.failsafe ? " (failsafe: not every member hears us)" : "");
		/* etcd may have kept it (a new etcd leader extends leases): our
		 * key is given up, deleted when etcd answers again */
		e->resigned_rev = e->own_rev;
		e->resign_retry_at = now;
	}
	if (e->lease == 0) {
		if (now >= e->retry_at && !pending(e, EE_GRANT))
			req_grant(e);
		return;
	}
	if (now >= e->keepalive_due)
		req_keepalive(e);
	/* failsafe: our key taken again once we have a lease (granted()) */
	if (e->state == EE_LEADING && e->fs_rejoin && !pending(e, EE_CREATE) && now >= e->retry_at) {
		if (req_create(e) != NULL)
			e->retry_at = now + e->p.request_ms;
	}
	/* failsafe, leading: P/failsafe names the members we hear */
	if (e->p.failsafe && e->state == EE_LEADING && !e->fs_active && e->watching && !fs_current(e))
		req_failsafe(e, now);
	else if (e->fs_put_id == 0)
		e->fs_put_retry_at = 0; /* nothing to write again: no wake-up for it */
	if (e->held_published && now >= e->holddown_until)
		e->record_dirty = 1; /* out of the holddown: we may lead again */
	if (e->record_dirty)
		req_record(e, now);
	if (!e->watching && now >= e->retry_at)
		req_read(e);
	if (e->state == EE_FOLLOWING && e->watching && e->campaign_at != 0 && now >= e->campaign_at &&
	    now >= e->holddown_until && e->claimable && e->leader[0] == '\0' && e->leader_create_rev == 0)
		campaign(e, now);
	/* our key, given up: deleted until etcd shows it gone */
	if (e->resigned_rev != 0 && e->resigned_rev == e->own_rev && e->state != EE_RESIGNING &&
	    now >= e->resign_retry_at && e->resign_id == 0) {
		struct ee_req *r = queue(e, EE_DELETE_OWN);
		if (r != NULL) {
			key_of(e, "leader", r->key);
			r->rev = e->resigned_rev;
			e->resign_id = r->id;
			e->resign_retry_at = now + e->p.request_ms;
		}
	}
	/* our named successor did not take over in time: anyone may */
	if (e->next_mine && e->next_until <= now)
		drop_next(e, now);
	if (e->rank_due) {
		/* a campaign scheduled already keeps its time */
		e->rank_due = 0;
		if (e->state == EE_FOLLOWING && e->leader[0] == '\0' && e->leader_create_rev == 0 &&
		    e->campaign_at == 0)
			schedule_campaign(e, now);
	}
}

int etcd_elect_take_request(struct etcd_elect *e, struct ee_req *r, uint64_t now)
{
	if (e->qn == 0 || e->npending == EE_REQ_QUEUE)
		return 0;
	*r = e->q[e->qhead];
	e->qhead = (e->qhead + 1) % EE_REQ_QUEUE;
	e->qn--;
	/* a watch is a stream: it has no answer to wait for */
	if (r->type != EE_WATCH && r->type != EE_CANCEL_WATCH) {
		e->pending[e->npending] = r->id;
		e->pending_type[e->npending] = r->type;
		e->pending_sent[e->npending] = now;
		e->npending++;
	}
	if (r->type == EE_WATCH)
		e->watching = 1;
	return 1;
}

static void granted(struct etcd_elect *e, const struct ee_reply *r, uint64_t sent, uint64_t now)
{
	if (!r->ok || r->lease == 0 || r->ttl <= 0) {
		e->retry_at = now + e->p.request_ms;
		return;
	}
	e->lease = r->lease;
	e->granted_ttl_s = r->ttl;
	e->lease_ok_ttl_s = r->ttl;
	e->lease_ok_sent = sent;
	e->keepalive_due = sent + (uint64_t)r->ttl * 1000 / 3;
	e->record_dirty = 1;
	req_record(e, now);
	if (!e->watching)
		req_read(e);
	/* a lease again after ours ended: a free key is campaigned for */
	e->rank_due = 1;
	if (e->state == EE_STARTING)
		set_state(e, EE_STARTING, "lease granted for %" PRId64 " s", r->ttl);
}

static void kept_alive(struct etcd_elect *e, const struct ee_reply *r, uint64_t sent, uint64_t now)
{
	uint64_t ttl_ms = (uint64_t)e->granted_ttl_s * 1000;

	if (!r->ok) {
		/* again soon, while the lease still runs */
		e->keepalive_due = now + (ttl_ms / 10 > 0 ? ttl_ms / 10 : 1);
		return;
	}
	if (r->ttl <= 0 && e->state == EE_LEADING && e->fs_active) {
		/* failsafe: our lease ended while the members' word kept us
		 * leading; a new one, and our key taken again (tick) */
		e->lease = 0;
		e->fs_rejoin = 1;
		req_grant(e);
		return;
	}
	if (r->ttl <= 0) {
		/* etcd forgot it (it expired, or a revoke): a new lease and record */
		e->lease = 0;
		if (e->state == EE_LEADING || e->state == EE_CAMPAIGNING || e->state == EE_RESIGNING)
			lose(e, now, "our lease has ended");
		e->campaign_at = 0;
		req_grant(e);
		return;
	}
	if (e->state == EE_LEADING && e->fs_active && !e->fs_rejoin) {
		/* etcd answers again and kept our lease (a new etcd leader
		 * extends leases): our key is ours, the lead on the members'
		 * word is over */
		e->fs_active = 0;
		set_state(e, EE_LEADING, "etcd answers again; our lease and key were kept (term %" PRIu64 ")", e->term);
	}
	if (sent > e->lease_ok_sent) {
		e->lease_ok_sent = sent;
		/* etcd promises what it answered, never more than it granted */
		e->lease_ok_ttl_s = r->ttl < e->granted_ttl_s ? r->ttl : e->granted_ttl_s;
	}
	e->keepalive_due = sent + ttl_ms / 3;
	if (e->renew_to_campaign) {
		/* renewed for a campaign: it goes now, its rank kept */
		e->renew_to_campaign = 0;
		if (e->campaign_at > now)
			e->campaign_at = now ? now : 1;
	}
	if ((e->state == EE_LEADING || e->state == EE_RESIGNING) && !e->fs_rejoin) {
		e->fs_fence_sent = fence_deadline(e);
		push(e, MS_IN_FENCE, NULL)->deadline = e->fs_fence_sent;
	}
}

static void read_done(struct etcd_elect *e, const struct ee_reply *r, uint64_t now)
{
	int leader_seen = 0;
	char key[EE_KEY_MAX];

	if (!r->ok) {
		e->watching = 0;
		e->retry_at = now + e->p.request_ms;
		return;
	}
	e->revision = r->revision;
	key_of(e, "leader", key);
	/* records that are gone: not in this read */
	for (size_t i = 0; i < e->nnodes;) {
		int found = 0;
		char k[EE_KEY_MAX];
		snprintf(k, sizeof(k), "%s/nodes/%s", e->p.prefix, e->nodes[i].id);
		for (size_t j = 0; j < r->nkvs && !found; j++)
			found = strcmp(r->kvs[j].key, k) == 0;
		if (!found) {
			push(e, MS_IN_PEERS_CHANGED, "%s left", e->nodes[i].id);
			e->nodes[i] = e->nodes[--e->nnodes];
		} else {
			i++;
		}
	}
	/* the base first: the leader's term does not need it, a campaign does */
	for (size_t j = 0; j < r->nkvs; j++)
		if (strcmp(r->kvs[j].key, key) != 0)
			apply(e, r->kvs[j].key, &r->kvs[j], r->revision, now);
	for (size_t j = 0; j < r->nkvs; j++)
		if (strcmp(r->kvs[j].key, key) == 0) {
			apply(e, key, &r->kvs[j], r->revision, now);
			leader_seen = 1;
		}
	if (e->state == EE_STARTING) {
		set_state(e, EE_FOLLOWING, "watching the cluster's keys");
		uint64_t settle = e->p.settle_ms;
		/* failsafe (etcd_node.c asks a lease's listening): the
		 * hearing a master may serve on lasts the TTL etcd granted,
		 * which may be longer than the one asked */
		if (e->p.failsafe && settle != 0 && (uint64_t)e->granted_ttl_s * 1000 > settle)
			settle = (uint64_t)e->granted_ttl_s * 1000;
		e->settle_until = now + settle;
	}
	if (!leader_seen)
		apply(e, key, NULL, r->revision, now);
	req_watch(e);
}

static void created(struct etcd_elect *e, const struct ee_reply *r, uint64_t now)
{
	char key[EE_KEY_MAX];

	if (e->state == EE_LEADING && e->fs_rejoin) {
		/* failsafe: our key again */
		if (r->ok && r->succeeded) {
			if (r->revision > e->leader_rev)
				e->leader_rev = r->revision;
			lead(e, r->revision, e->campaign_base, now);
		} else if (r->ok) {
			/* another holds it (a base that moved is asked again) */
			key_of(e, "leader", key);
			for (size_t i = 0; i < r->nkvs; i++)
				if (strcmp(r->kvs[i].key, key) == 0)
					apply(e, key, &r->kvs[i], r->revision, now);
			e->retry_at = now;
		}
		return; /* no answer: again from tick */
	}
	if (e->state != EE_CAMPAIGNING)
		return;
	if (r->ok && r->succeeded) {
		if (r->revision > e->leader_rev)
			e->leader_rev = r->revision;
		lead(e, r->revision, e->campaign_base, now);
		return;
	}
	set_state(e, EE_FOLLOWING, "campaign lost%s%s", r->ok ? "" : ": ", r->ok ? "" : r->why);
	key_of(e, "leader", key);
	if (r->ok) {
		/* the failed compare read the key: its holder, or a base that moved */
		for (size_t i = 0; i < r->nkvs; i++)
			if (strcmp(r->kvs[i].key, key) == 0)
				apply(e, key, &r->kvs[i], r->revision, now);
		if (e->leader[0] == '\0' && e->leader_create_rev == 0)
			e->campaign_at = now + e->p.rank_step_ms; /* the watch brings the new base */
	} else {
		/* no answer: the watch tells whether it was made; try again later */
		e->campaign_at = now + e->p.request_ms;
	}
}

/* Our write of P/pause: done, or refused with the key as it is now (its
 * news goes to the daemon as the watch's would). */
static void pause_swapped(struct etcd_elect *e, const struct ee_reply *r, uint64_t now)
{
	char key[EE_KEY_MAX];

	e->pause_put_id = 0;
	key_of(e, "pause", key);
	if (r->ok && r->succeeded) {
		e->pause_put_result = 1;
		e->pause_put_why[0] = '\0';
		return; /* the watch shows it */
	}
	e->pause_put_result = -1;
	if (r->ok) {
		snprintf(e->pause_put_why, sizeof(e->pause_put_why), "%.150s/pause changed meanwhile", e->p.prefix);
		for (size_t i = 0; i < r->nkvs; i++)
			if (strcmp(r->kvs[i].key, key) == 0)
				apply(e, key, &r->kvs[i], r->revision, now);
	} else {
		snprintf(e->pause_put_why, sizeof(e->pause_put_why), "%.190s", r->why);
	}
	/* a campaign that waited for this swap's reply (campaign()) */
	if (e->claimable && e->state == EE_FOLLOWING && e->leader[0] == '\0' && e->leader_create_rev == 0)
		schedule_campaign(e, now);
}

static void swapped(struct etcd_elect *e, const struct ee_reply *r, uint64_t now)
{
	char key[EE_KEY_MAX];
	int64_t n;

	if (r->id != 0 && r->id == e->pause_put_id) {
		pause_swapped(e, r, now);
		return;
	}

	key_of(e, "term_base", key);
	if (r->ok && r->succeeded) {
		e->base = (int64_t)e->max_term;
		e->base_mod = r->revision;
	} else if (r->ok) {
		for (size_t i = 0; i < r->nkvs; i++)
			if (strcmp(r->kvs[i].key, key) == 0 && parse_base(r->kvs[i].value, &n) == 0) {
				e->base = n;
				e->base_mod = r->kvs[i].mod_rev;
			}
	}
	if (e->state == EE_FOLLOWING && e->leader[0] == '\0' && e->leader_create_rev == 0)
		e->campaign_at = r->ok ? (now ? now : 1) : now + e->p.request_ms;
}

static void deleted(struct etcd_elect *e, const struct ee_reply *r, uint64_t now)
{
	char key[EE_KEY_MAX];

	if (r->id == e->next_delete_id) {
		e->next_delete_id = 0;
		if (r->ok) {
			/* gone, or not ours any more */
			e->next_mine = 0;
			e->next_create_rev = 0;
		}
		return; /* failed: tried again at next_until */
	}
	if (r->id != e->resign_id)
		return; /* P/ask, or the watch told already */
	e->resign_id = 0;
	key_of(e, "leader", key);
	if (r->ok && r->succeeded) {
		/* our key is gone at this revision: older news of it is stale */
		apply(e, key, NULL, r->revision, now);
	} else if (r->ok) {
		/* not ours any more: the key as it is (or absent) */
		int seen = 0;
		for (size_t i = 0; i < r->nkvs; i++)
			if (strcmp(r->kvs[i].key, key) == 0) {
				apply(e, key, &r->kvs[i], r->revision, now);
				seen = 1;
			}
		if (!seen)
			apply(e, key, NULL, r->revision, now);
	}
	if (e->state != EE_RESIGNING)
		return; /* done above */
	/* no answer: our broker is down; the key is deleted again until etcd
	 * shows it gone (tick), a successor sees it go */
	set_state(e, EE_FOLLOWING, "resigned; our leader key is deleted again until etcd answers");
	e->resigned_rev = e->own_rev;
	e->resign_retry_at = now + e->p.request_ms;
	e->leader[0] = '\0';
	e->rank_due = 1;
	push(e, MS_IN_RESIGN_SENT, "resigned (etcd did not answer the delete of our key)");
}

void etcd_elect_reply(struct etcd_elect *e, const struct ee_reply *r, uint64_t now)
{
	enum ee_req_type type;
	uint64_t sent;
	size_t i;

	for (i = 0; i < e->npending; i++)
		if (e->pending[i] == r->id)
			break;
	if (i == e->npending)
		return; /* timed out already, or not ours */
	type = e->pending_type[i];
	sent = e->pending_sent[i];
	/* a request that failed may have lost the watch's connection with it
	 * (a cut that ends no stream: no reset reaches us); after the next
	 * answer the keys are read again and watched anew */
	if (!r->ok) {
		e->watch_suspect = 1;
	} else if (e->watch_suspect) {
		struct ee_req *c;
		e->watch_suspect = 0;
		if (e->watching && (c = queue(e, EE_CANCEL_WATCH)) != NULL) {
			e->watching = 0;
			e->retry_at = now;
		}
	}
	e->npending--;
	e->pending[i] = e->pending[e->npending];
	e->pending_type[i] = e->pending_type[e->npending];
	e->pending_sent[i] = e->pending_sent[e->npending];
	switch (type) {
	case EE_GRANT: granted(e, r, sent, now); break;
	case EE_KEEPALIVE: kept_alive(e, r, sent, now); break;
	case EE_READ: read_done(e, r, now); break;
	case EE_CREATE: created(e, r, now); break;
	case EE_SWAP: swapped(e, r, now); break;
	case EE_DELETE_OWN: deleted(e, r, now); break;
	case EE_PUT:
		if (r->id == e->fs_put_id) {
			/* the watch shows P/failsafe as written */
			e->fs_put_id = 0;
			if (r->ok)
				e->fs_put_retry_at = 0;
			break;
		}
		if (!r->ok)
			e->record_dirty = 1; /* again at the next tick */
		break;
	case EE_REVOKE:
	case EE_WATCH:
	case EE_CANCEL_WATCH:
		break;
	}
}

void etcd_elect_watch(struct etcd_elect *e, const struct ee_event *ev, size_t n, int64_t rev, uint64_t now)
{
	for (size_t i = 0; i < n; i++)
		apply(e, ev[i].kv.key, ev[i].deleted ? NULL : &ev[i].kv, ev[i].kv.mod_rev, now);
	if (rev > e->revision)
		e->revision = rev;
}

void etcd_elect_watch_ended(struct etcd_elect *e, const char *why, uint64_t now)
{
	(void)why;
	e->watching = 0;
	e->retry_at = now + e->p.request_ms / 4;
}

uint64_t etcd_elect_wake_at(const struct etcd_elect *e)
{
	uint64_t at = UINT64_MAX;

#define EARLIER(t)                                                                                                     \
	do {                                                                                                           \
		if ((t) != 0 && (t) < at)                                                                              \
			at = (t);                                                                                      \
	} while (0)
	for (size_t i = 0; i < e->npending; i++)
		EARLIER(e->pending_sent[i] + e->p.request_ms);
	if (e->lease != 0) {
		EARLIER(e->keepalive_due);
		if (e->state == EE_LEADING)
			EARLIER(e->lease_ok_sent + (uint64_t)e->lease_ok_ttl_s * 1000);
	} else if (!pending(e, EE_GRANT)) {
		/* a grant on its way: its answer or its timeout (above) */
		EARLIER(e->retry_at ? e->retry_at : 1);
	}
	if (e->state == EE_LEADING && e->p.failsafe) {
		if (e->fs_active && e->fs_deadline != 0)
			EARLIER(e->fs_deadline);
		if (e->fs_put_retry_at != 0)
			EARLIER(e->fs_put_retry_at);
		if (e->fs_rejoin)
			EARLIER(e->retry_at ? e->retry_at : 1);
	}
	/* the read again (tick: once we have a lease), unless it is on its way */
	if (!e->watching && e->lease != 0 && !pending(e, EE_READ))
		EARLIER(e->retry_at ? e->retry_at : 1);
	/* a campaign waits for the watch (tick): its start wakes us */
	if (e->campaign_at != 0 && e->watching)
		EARLIER(e->campaign_at > e->holddown_until ? e->campaign_at : e->holddown_until);
	if (e->next_mine)
		EARLIER(e->next_until);
	if (e->qn > 0 || e->record_dirty || e->nev > 0)
		at = 1; /* now (events: etcd_elect_failsafe's, for mastership) */
#undef EARLIER
	return at == UINT64_MAX ? 0 : at;
}

void etcd_elect_failsafe(struct etcd_elect *e, uint64_t hold_until, uint64_t deadline_at, uint64_t now)
{
	uint64_t d;

	if (!e->p.failsafe)
		return;
	if (hold_until != e->fs_hold_until) {
		int released = hold_until < e->fs_hold_until;
		e->fs_hold_until = hold_until;
		/* the master we heard says it leads no more: the free key is
		 * campaigned for in rank now, not when the hold would have ended */
		if (released && e->state == EE_FOLLOWING && e->leader[0] == '\0' && e->leader_create_rev == 0)
			schedule_campaign(e, now);
		/* a campaign waiting for the hold keeps its rank */
		if (e->campaign_at != 0 && e->campaign_at < hold_until)
			e->campaign_at = hold_until;
	}
	/* leading on the members' word, and that word ran out (the fence came
	 * down then): the lead ends, whatever word comes in late (a beacon
	 * read after a stall; a member whose hold ended may be campaigning) */
	if (e->state == EE_LEADING && e->fs_active && now >= e->fs_deadline) {
		e->fs_deadline = 0;
		etcd_elect_tick(e, now);
	}
	e->fs_deadline = deadline_at;
	if (e->state != EE_LEADING && e->state != EE_RESIGNING)
		return;
	/* the fence follows the members' word (up, or down when one stops
	 * hearing us) */
	d = fence_deadline(e);
	if (d != e->fs_fence_sent) {
		e->fs_fence_sent = d;
		push(e, MS_IN_FENCE, NULL)->deadline = d;
	}
	/* leading on their word, and that word ran out: the lead ends */
	if (e->state == EE_LEADING && e->fs_active && (e->fs_deadline == 0 || now >= e->fs_deadline))
		etcd_elect_tick(e, now);
}

static int fs_add(const char **out, size_t *n, size_t max, const char *self, const char *id)
{
	if (strcmp(id, self) == 0)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(out[i], id) == 0)
			return 0;
	if (*n == max)
		return -1;
	out[(*n)++] = id;
	return 0;
}

size_t etcd_elect_failsafe_members(const struct etcd_elect *e, const char **out, size_t max)
{
	size_t n = 0;

	if (!e->p.failsafe || !e->fs_present || strcmp(e->fs_leader, e->p.self) != 0)
		return 0;
	/* a node whose record says it runs without failsafe mode campaigns
	 * whatever it hears, listed or not yet: no failsafe lead with it */
	for (size_t i = 0; i < e->nnodes; i++)
		if (!e->nodes[i].failsafe && strcmp(e->nodes[i].id, e->p.self) != 0)
			return 0;
	/* whoever etcd may list: the list shown, the list we put last (its
	 * watch event may not have come), and every record (a put naming it
	 * may be on its way) */
	for (size_t i = 0; i < e->fs_nmembers; i++)
		if (fs_add(out, &n, max, e->p.self, e->fs_members[i]) != 0)
			return 0;
	for (size_t i = 0; i < e->fs_nwrote; i++)
		if (fs_add(out, &n, max, e->p.self, e->fs_wrote[i]) != 0)
			return 0;
	for (size_t i = 0; i < e->nnodes; i++)
		if (fs_add(out, &n, max, e->p.self, e->nodes[i].id) != 0)
			return 0;
	return n;
}

/* ---- cluster_ops */

static void ee_resign(void *impl, const char *target, uint64_t holddown_ms, uint64_t now)
{
	struct etcd_elect *e = impl;
	struct ee_req *r;

	e->holddown_until = holddown_ms > UINT64_MAX - now ? UINT64_MAX : now + holddown_ms;
	e->campaign_at = 0;
	/* a failsafe lead given up is over (our key, if any, is deleted) */
	e->fs_active = e->fs_rejoin = 0;
	if (e->state != EE_LEADING) {
		if (e->state == EE_CAMPAIGNING)
			set_state(e, EE_FOLLOWING, "resigned while campaigning");
		e->record_dirty = 1;
		e->rank_due = 1;
		/* a key of ours etcd may still hold (the lead lost by our clock):
		 * deleted */
		if (e->own_rev != 0 && e->resigned_rev == 0) {
			e->resigned_rev = e->own_rev;
			e->resign_retry_at = now;
		}
		push(e, MS_IN_RESIGN_SENT, "not leading: nothing to resign");
		return;
	}
	if ((r = queue(e, EE_DELETE_OWN)) == NULL) {
		set_state(e, EE_FOLLOWING, "resigned (the key ends with our lease)");
		push(e, MS_IN_RESIGN_SENT, "%s", e->reason);
		return;
	}
	key_of(e, "leader", r->key);
	r->rev = e->leader_create_rev;
	/* in the same transaction: our record says we may not lead (so no
	 * follower ranks us first when it sees the key go), and the
	 * successor's name, bound to our lease (it ends with us) */
	snprintf(r->put[0].key, sizeof(r->put[0].key), "%s/nodes/%s", e->p.prefix, e->p.self);
	compose_record(e, 0, r->put[0].value, sizeof(r->put[0].value));
	r->put[0].lease = e->lease;
	r->nputs = 1;
	e->held_published = 1;
	e->record_dirty = 0;
	if (target != NULL && *target != '\0') {
		key_of(e, "next", r->put[1].key);
		node_value(r->put[1].value, sizeof(r->put[1].value), target, -1);
		r->put[1].lease = e->lease;
		r->nputs = 2;
		e->next_mine = 1;
		e->next_until = e->holddown_until;
		e->next_create_rev = 0; /* etcd shows it (apply) */
	}
	e->resign_id = r->id;
	e->resigned_rev = e->leader_create_rev;
	set_state(e, EE_RESIGNING, "resigning%s%s", target != NULL && *target ? " in favour of " : "",
		  target != NULL ? target : "");
}

static int ee_handover(void *impl, const char *target, uint64_t now, char *why, size_t len)
{
	struct etcd_elect *e = impl;
	const struct ee_node *best = NULL;
	struct ee_req *r;

	(void)now;
	if (target == NULL || *target == '\0') {
		for (size_t i = 0; i < e->nnodes; i++) {
			const struct ee_node *n = &e->nodes[i];
			if (strcmp(n->id, e->p.self) == 0 || strcmp(n->id, e->leader) == 0 || !n->may_lead)
				continue;
			if (best == NULL || ranks_before(n->position, n->id, best->position, best->id))
				best = n;
		}
		if (best == NULL) {
			snprintf(why, len, "no live node that may lead to hand over to");
			return -1;
		}
		target = best->id;
	} else {
		const struct ee_node *n;
		for (n = e->nodes; n < e->nodes + e->nnodes && strcmp(n->id, target) != 0; n++)
			;
		if (n == e->nodes + e->nnodes) {
			snprintf(why, len, "%.64s has no record in etcd (not running, or another cluster)", target);
			return -1;
		}
		if (!n->may_lead) {
			snprintf(why, len, "%.64s may not lead now (not eligible, unhealthy or paused)", target);
			return -1;
		}
		if (strcmp(target, e->leader) == 0) {
			snprintf(why, len, "%.64s already leads", target);
			return -1;
		}
	}
	copy_id(e->handover_target, target);
	if (e->state == EE_LEADING) {
		copy_id(push(e, MS_IN_HANDOVER_ASKED, "switchover")->target, target);
		return 0;
	}
	if (e->leader[0] == '\0') {
		snprintf(why, len, "nobody leads");
		return -1;
	}
	if (e->lease == 0) {
		snprintf(why, len, "this node has no etcd lease yet (is etcd reachable?)");
		return -1;
	}
	if ((r = queue(e, EE_PUT)) == NULL) {
		snprintf(why, len, "too many requests to etcd under way");
		return -1;
	}
	key_of(e, "ask", r->key);
	node_value(r->value, sizeof(r->value), target, -1);
	r->lease = e->lease;
	return 0;
}

int etcd_elect_put_pause(struct etcd_elect *e, const char *text)
{
	struct ee_req *r;

	if (e->pause_put_id != 0 || (r = queue(e, EE_SWAP)) == NULL)
		return -1;
	key_of(e, "pause", r->key);
	snprintf(r->value, sizeof(r->value), "%s", text);
	r->mod = e->pause_mod; /* 0: absent, as etcd compares a key that is not there */
	e->pause_put_id = r->id;
	e->pause_put_result = 0;
	return 0;
}

size_t etcd_elect_pause_unaware(const struct etcd_elect *e, char *list, size_t len)
{
	size_t n = 0, used = 0;

	if (len > 0)
		list[0] = '\0';
	for (size_t i = 0; i < e->nnodes; i++) {
		if (strcmp(e->nodes[i].id, e->p.self) == 0 || e->nodes[i].pausable)
			continue;
		n++;
		if (used < len) {
			int k = snprintf(list + used, len - used, "%s%s", used ? ", " : "", e->nodes[i].id);
			if (k > 0)
				used += (size_t)k;
		}
	}
	return n;
}

int etcd_elect_take_pause(struct etcd_elect *e, char *text, size_t len)
{
	if (!e->pause_news)
		return 0;
	e->pause_news = 0;
	snprintf(text, len, "%s", e->pause);
	return 1;
}

int etcd_elect_take_pause_result(struct etcd_elect *e, char *why, size_t len)
{
	int r = e->pause_put_result;

	e->pause_put_result = 0;
	if (r < 0)
		snprintf(why, len, "%s", e->pause_put_why);
	return r;
}

static void ee_set_claimable(void *impl, int yes)
{
	struct etcd_elect *e = impl;

	if (e->claimable == yes)
		return;
	e->claimable = yes;
	e->record_dirty = 1;
	if (!yes)
		e->campaign_at = 0;
	else
		e->rank_due = 1;
}

static int ee_standbys(void *impl, uint64_t now)
{
	struct etcd_elect *e = impl;
	int n = 0;

	(void)now;
	if (e->state == EE_STARTING)
		return -1;
	for (size_t i = 0; i < e->nnodes; i++)
		n += strcmp(e->nodes[i].id, e->p.self) != 0 && e->nodes[i].may_lead;
	return n;
}

static int ee_next_event(void *impl, struct ms_event *ev)
{
	struct etcd_elect *e = impl;

	if (e->nev == 0)
		return 0;
	*ev = e->ev[e->evhead];
	e->evhead = (e->evhead + 1) % EE_EVENTS;
	e->nev--;
	return 1;
}

const struct cluster_ops etcd_elect_ops = {
	.name = "etcd",
	.resign = ee_resign,
	.handover = ee_handover,
	.set_claimable = ee_set_claimable,
	.standbys = ee_standbys,
	.next_event = ee_next_event,
};
