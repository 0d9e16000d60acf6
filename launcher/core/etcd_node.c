/*
 * The daemon with cluster.backend = etcd: the etcd backend set up from the
 * configuration, this node's record kept current, and what etcd says
 * mirrored into the election's fields that the status, the hooks and the
 * reports read (the heartbeat protocol does not run in this mode).
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon_int.h"
#include "etcd_backend.h"
#include "file.h"
#include "log.h"
#include "state.h"
#include "statewriter.h"

static void changed(void *ud)
{
	daemon_step(ud, NULL);
}

/* The password's first line, from a file nobody else may read (as the
 * cluster key file). */
static int read_password(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "cluster.etcd_password_file: cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (file_check_private(fileno(f), path, "cluster.etcd_password_file", err, errlen) != 0) {
		fclose(f);
		return -1;
	}
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n == 0) {
		snprintf(err, errlen, "cluster.etcd_password_file: %s has no password on its first line", path);
		return -1;
	}
	return 0;
}

int daemon_etcd_check_files(const struct config *c, char *err, size_t len)
{
	const struct {
		const char *key, *path;
	} files[] = {{"etcd_ca", c->cluster_etcd_ca}, {"etcd_cert", c->cluster_etcd_cert}, {"etcd_key", c->cluster_etcd_key}};
	char password[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;
		if (*files[i].path == '\0')
			continue;
		if ((f = fopen(files[i].path, "re")) == NULL) {
			snprintf(err, len, "cluster.%s: cannot read %s: %s", files[i].key, files[i].path, strerror(errno));
			return -1;
		}
		fclose(f);
	}
	if (*c->cluster_etcd_password_file != '\0') {
		int rc = read_password(c->cluster_etcd_password_file, password, sizeof(password), err, len);
		memset(password, 0, sizeof(password));
		return rc;
	}
	return 0;
}

int daemon_etcd_setup(struct daemon *d, const struct config *c)
{
	struct etcd_client_params cp = {.connect_timeout_ms = 1000};
	struct ee_params ep;
	char password[256] = "", why[512];
	uint64_t t;
	int rc;

	for (size_t i = 0; i < c->cluster_etcd_endpoint.n && i < ETCD_ENDPOINTS_MAX; i++)
		cp.endpoints[cp.nendpoints++] = c->cluster_etcd_endpoint.v[i];
	cp.ca_file = c->cluster_etcd_ca;
	cp.cert_file = c->cluster_etcd_cert;
	cp.key_file = c->cluster_etcd_key;
	if (daemon_etcd_check_files(c, why, sizeof(why)) != 0) {
		log_err("%s", why);
		return -2; /* a configuration error */
	}
	if (*c->cluster_etcd_user != '\0') {
		if (read_password(c->cluster_etcd_password_file, password, sizeof(password), why, sizeof(why)) != 0) {
			log_err("%s", why);
			return -2;
		}
		cp.user = c->cluster_etcd_user;
		cp.password = password;
	}
	memset(&ep, 0, sizeof(ep));
	snprintf(ep.self, sizeof(ep.self), "%s", d->node);
	snprintf(ep.prefix, sizeof(ep.prefix), "%s/%s", c->cluster_etcd_prefix, c->cluster_name);
	ep.position = (uint32_t)c->cluster_position;
	ep.ttl_s = (uint64_t)c->cluster_lease_ttl;
	ep.margin_ms = etcd_margin_ms((int)c->cluster_lease_ttl);
	/* a keep-alive every third of the TTL has a third to be answered */
	ep.request_ms = ep.ttl_s * 1000 / 3;
	ep.rank_step_ms = 200;
	/* the highest term this node saw in any backend: terms go on from it */
	ep.initial_term = d->hb.el.max_term;
	t = state_read_term(c->cluster_state_dir);
	if (t > ep.initial_term)
		ep.initial_term = t;
	d->etcd = calloc(1, sizeof(*d->etcd));
	if (d->etcd == NULL) {
		log_err("out of memory");
		return -1;
	}
	rc = etcd_backend_init(d->etcd, d->loop, &cp, &ep, changed, d);
	memset(password, 0, sizeof(password));
	if (rc != 0) {
		free(d->etcd);
		d->etcd = NULL;
		return -1;
	}
	d->cl = etcd_backend_cluster(d->etcd);
	log_info("cluster backend etcd: %zu endpoint%s (first %s), keys under %s/, lease %" PRIu64 " s asked", cp.nendpoints,
		 cp.nendpoints == 1 ? "" : "s", cp.endpoints[0], ep.prefix, ep.ttl_s);
	return 0;
}

/* This node's record: what status and peers show of it elsewhere. */
static void put_record(struct daemon *d)
{
	json_object *o = json_object_new_object();
	const char *t;

	if (o == NULL)
		return;
	json_object_object_add(o, "role", json_object_new_string(d->hb.el.state == EL_MASTER ? "master" : "slave"));
	json_object_object_add(o, "term", json_object_new_int64((int64_t)d->hb.el.term));
	json_object_object_add(o, "url", json_object_new_string(d->cfg->broker_url));
	json_object_object_add(o, "leader", json_object_new_string(d->etcd->el.leader));
	json_object_object_add(o, "serving", json_object_new_boolean(d->sup.state == SUP_SERVING));
	json_object_object_add(o, "eligible", json_object_new_boolean(!d->ms.ineligible));
	json_object_object_add(o, "healthy",
			       json_object_new_boolean(!(d->ms.health == MS_HEALTH_BAD || d->ms.degraded)));
	t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (t != NULL)
		etcd_elect_set_record(&d->etcd->el, t);
	json_object_put(o);
}

/* A peer of the mirror, from its record's "info". */
static void mirror_peer(struct el_peer *p, const struct ee_node *n, uint64_t now)
{
	json_object *o = json_tokener_parse(n->record), *info = NULL, *v;

	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", n->id);
	p->last_seen = p->first_seen = now;
	p->position = (uint16_t)n->position;
	p->role = WIRE_ROLE_SLAVE;
	if (o != NULL && json_object_object_get_ex(o, "info", &info) && json_object_is_type(info, json_type_object)) {
		if (json_object_object_get_ex(info, "role", &v) && json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), "master") == 0)
			p->role = WIRE_ROLE_MASTER;
		if (json_object_object_get_ex(info, "term", &v) && json_object_is_type(v, json_type_int))
			p->term = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(info, "url", &v) && json_object_is_type(v, json_type_string))
			snprintf(p->url, sizeof(p->url), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(info, "leader", &v) && json_object_is_type(v, json_type_string))
			snprintf(p->leader, sizeof(p->leader), "%s", json_object_get_string(v));
		if (json_object_object_get_ex(info, "serving", &v) && json_object_get_boolean(v))
			p->flags |= WIRE_F_SERVING;
		if (json_object_object_get_ex(info, "eligible", &v) && !json_object_get_boolean(v))
			p->flags |= WIRE_F_INELIGIBLE;
		if (json_object_object_get_ex(info, "healthy", &v) && !json_object_get_boolean(v))
			p->flags |= WIRE_F_UNHEALTHY;
	}
	if (!n->may_lead)
		p->flags |= WIRE_F_NOCLAIM;
	json_object_put(o);
}

/* etcd's view into the election's fields the reports and hooks read; a
 * change of role logged as the heartbeat backend logs it. */
static void mirror(struct daemon *d)
{
	struct election *e = &d->hb.el;
	const struct etcd_elect *x = &d->etcd->el;
	uint64_t now = clock_mono_ms(), ttl = (uint64_t)(x->granted_ttl_s ? x->granted_ttl_s : (int64_t)x->p.ttl_s) * 1000;
	uint64_t seen = d->etcd->last_ok_at;
	/* etcd silent for a TTL: what it last said is no longer known */
	int stale = seen == 0 || now - seen >= ttl;
	enum el_state st = x->state == EE_LEADING && d->ms.leading ? EL_MASTER
			   : stale                                    ? EL_LISTENING
			   : x->leader[0] != '\0'                     ? EL_SLAVE
			   : x->state == EE_CAMPAIGNING               ? EL_CANDIDATE
								      : EL_LISTENING;
	char reason[160], master[WIRE_ID_MAX + 1];

	if (stale && st != EL_MASTER)
		snprintf(reason, sizeof(reason), "etcd has not answered for %llu ms%s%.100s",
			 (unsigned long long)(seen ? now - seen : now - d->started_at),
			 d->etcd->last_error[0] ? ": " : "", d->etcd->last_error);
	else
		snprintf(reason, sizeof(reason), "%.159s", x->reason);
	snprintf(master, sizeof(master), "%.32s", stale && st != EL_MASTER ? "" : x->leader);
	if (st != e->state || strcmp(master, e->master) != 0) {
		log_info("role %s -> %s (%s%s%s)", election_state_name(e->state), election_state_name(st), reason,
			 master[0] && st != EL_MASTER ? "; master is " : "", st != EL_MASTER ? master : "");
		if (st == EL_MASTER)
			e->promotions++;
		else if (e->state == EL_MASTER)
			e->demotions++;
		d->hb.changed = 1;
	}
	if (strcmp(e->reason, reason) != 0)
		d->hb.changed = 1;
	d->etcd_silent = stale && st != EL_MASTER;
	e->state = st;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
	snprintf(e->master, sizeof(e->master), "%s", master);
	snprintf(e->handover_target, sizeof(e->handover_target), "%.32s", x->handover_target);
	if (x->leader[0] != '\0')
		e->term = x->term;
	e->max_term = x->max_term > e->max_term ? x->max_term : e->max_term;
	/* a peer is live while etcd shows its record (its lease), as of
	 * etcd's last answer */
	e->timeout = ttl;
	e->npeers = 0;
	for (size_t i = 0; i < x->nnodes && e->npeers < ELECTION_MAX_PEERS; i++)
		if (strcmp(x->nodes[i].id, d->node) != 0)
			mirror_peer(&e->peers[e->npeers++], &x->nodes[i], seen);
}

/* Before a step's hooks and log lines: the term and the master they name
 * are etcd's as of now. */
void daemon_etcd_mirror(struct daemon *d)
{
	if (d->etcd != NULL)
		mirror(d);
}

void daemon_etcd_after(struct daemon *d)
{
	if (d->etcd == NULL)
		return;
	mirror(d);
	put_record(d);
	etcd_backend_pump(d->etcd);
}

void daemon_etcd_persist(struct daemon *d)
{
	struct hb_persist rec;
	uint64_t t = d->etcd->el.max_term;

	if (d->writer == NULL || d->etcd_writing || t <= d->etcd_written)
		return;
	memset(&rec, 0, sizeof(rec));
	rec.max_term = t;
	rec.voted_term = d->hb.el.voted_term;
	memcpy(rec.voted_for, d->hb.el.voted_for, sizeof(rec.voted_for));
	d->etcd_writing = 1;
	d->etcd_written = t;
	state_writer_post(d->writer, &rec);
}

void daemon_etcd_persisted(struct daemon *d, int ok, int err)
{
	d->etcd_writing = 0;
	if (!ok) {
		log_warn("cannot keep the term %llu in %s: %s", (unsigned long long)d->etcd_written,
			 d->cfg->cluster_state_dir, strerror(err));
		d->etcd_written = 0; /* again with the next step */
	}
}

uint64_t daemon_renew_interval(const struct daemon *d)
{
	/* a keep-alive every third of the TTL, answered within a third */
	if (d->etcd != NULL)
		return 2 * d->etcd->el.p.request_ms;
	return (uint64_t)d->cfg->cluster_delay;
}

void daemon_etcd_close(struct daemon *d)
{
	if (d->etcd == NULL)
		return;
	etcd_backend_close(d->etcd);
	free(d->etcd);
	d->etcd = NULL;
}
