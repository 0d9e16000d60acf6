/*
 * The daemon with cluster.backend = etcd: the etcd backend set up from the
 * configuration, this node's record kept current, and what etcd says
 * mirrored into the election's fields that the status, the hooks and the
 * reports read (the heartbeat protocol does not run in this mode).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "clock.h"
#include "daemon_int.h"
#include "etcd_backend.h"
#include "etcd_client.h"
#include "etcd_record.h"
#include "file.h"
#include "log.h"
#include "state.h"
#include "statewriter.h"

/* The longest wait for one etcd request (see daemon_etcd_setup). */
#define ETCD_REQUEST_MAX_MS 5000

/* Maintenance mode: P/pause as etcd shows it merged (pausenode.c), and
 * how our own write of it ended. */
static void pause_news(struct daemon *d)
{
	char text[EE_VALUE_MAX], why[200];
	struct pause_rec r;
	int res;

	if (etcd_elect_take_pause(&d->etcd->el, text, sizeof(text))) {
		if (pause_parse(text, strlen(text), &r) == 0)
			daemon_pause_heard(d, &r, "etcd");
		else
			log_warn("maintenance: %s/pause in etcd does not hold a valid pause record: ignored (\"%.80s\")",
				 d->etcd->el.p.prefix, text);
	}
	res = etcd_elect_take_pause_result(&d->etcd->el, why, sizeof(why));
	if (res < 0)
		log_warn("maintenance: the change of the pause was not written to etcd: %s; nothing changed (ask "
			 "again)", why);
}

static void changed(void *ud)
{
	struct daemon *d = ud;

	pause_news(d);
	daemon_step(d, NULL);
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
	/* libcurl is loaded now, not linked: missing, the node cannot run
	 * this configuration, and restarting will not help */
	if (etcd_client_load_library(why, sizeof(why)) != 0) {
		log_err("cluster.backend = etcd: %s", why);
		return -2;
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
	/* a keep-alive every third of the TTL has a third to be answered, and
	 * 5 s at most: a long lease must not make a resignation wait past
	 * systemd's stop timeout for an etcd that does not answer */
	ep.request_ms = ep.ttl_s * 1000 / 3;
	if (ep.request_ms > ETCD_REQUEST_MAX_MS)
		ep.request_ms = ETCD_REQUEST_MAX_MS;
	ep.rank_step_ms = 200;
	/* nodes started together put their records before the first campaign,
	 * so that the rank holds from the start (two requests' time) */
	ep.settle_ms = 2 * ep.request_ms;
	ep.failsafe = c->cluster_etcd_failsafe;
	if (ep.failsafe)
		/* a node that starts listens for a lease before it campaigns: a
		 * master it has not heard yet may be serving on its members'
		 * word, with our hearing of it among them (failsafe.h) */
		ep.settle_ms = ep.ttl_s * 1000;
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
	d->failsafe = ep.failsafe;
	if (d->failsafe)
		failsafe_init(&d->fs, d->node, ep.ttl_s * 1000);
	log_info("cluster backend etcd: %zu endpoint%s (first %s), keys under %s/, lease %" PRIu64 " s asked", cp.nendpoints,
		 cp.nendpoints == 1 ? "" : "s", cp.endpoints[0], ep.prefix, ep.ttl_s);
	return 0;
}

/* This node's record: what status and peers show of it elsewhere. */
static void put_record(struct daemon *d)
{
	json_object *o = json_object_new_object();
	const char *t;
	char host[INET_ADDRSTRLEN];

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
	/* where peers reach our cache: the replication listener's own address,
	 * or (listening on every address) ours toward etcd, on the network the
	 * nodes share; none until the first answer tells it */
	if (d->cache != NULL &&
	    etcd_record_cache_host(cache_repl_host(d->cache), etcd_backend_local_ip(d->etcd), host, sizeof(host)) == 0) {
		etcd_record_put_cache(o, host, cache_repl_port(d->cache));
		snprintf(d->etcd_cache_addr, sizeof(d->etcd_cache_addr), "%s:%u", host, cache_repl_port(d->cache));
	} else if (d->cache != NULL && *etcd_backend_local_ip(d->etcd) != '\0' && !d->etcd_cache_warned) {
		/* etcd reached over IPv6: peers would never find this cache */
		log_warn("cache: no IPv4 address to give peers (replication on every address, etcd reached from %s): "
			 "set cluster.interface",
			 etcd_backend_local_ip(d->etcd));
		d->etcd_cache_warned = 1;
	}
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
		history_log_add(d->history, st == EL_MASTER ? x->term : e->term, HISTORY_ROLE, d->node, "%s -> %s: %s%s%s",
				election_state_name(e->state), election_state_name(st), reason,
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

/*
 * The cache's peers from the records, as heartbeats give them in the
 * other backend: every live peer whose record has a cache address.
 *
 * The digest: a heartbeat carries the sender's cache digest, and three
 * quiet heartbeats with another one than ours make both sides exchange
 * snapshots (mesh.c).  A record does not carry it: it would have to be
 * written to etcd on every cache write.  Ours is passed instead, which
 * mesh.c reads as "no disagreement": the repair by digest stays idle.
 * Nothing depends on it for a peer that joins or comes back: every
 * replication connection, once authenticated, starts with a full snapshot
 * both ways (peer_ready), and writes go over that connection while it
 * lasts; a connection that breaks is made again with new snapshots.
 *
 * Only while etcd answers: the records are as of its last answer, and a
 * peer etcd no longer shows is dropped by the cache after its peer
 * timeout (settings_cache: the lease TTL, longer than the gap between
 * answers, which come at least every third of it).
 */
static void feed_cache(struct daemon *d)
{
	const struct etcd_elect *x = &d->etcd->el;
	uint64_t now = clock_mono_ms(), seen = d->etcd->last_ok_at;
	uint64_t ttl = (uint64_t)(x->granted_ttl_s ? x->granted_ttl_s : (int64_t)x->p.ttl_s) * 1000;

	if (d->cache == NULL || seen == 0 || now - seen >= ttl)
		return;
	for (size_t i = 0; i < x->nnodes; i++) {
		const struct ee_node *n = &x->nodes[i];
		struct sockaddr_in a;
		uint16_t port;
		int rc;
		if (strcmp(n->id, d->node) == 0 || strlen(n->id) > WIRE_ID_MAX)
			continue;
		rc = etcd_record_cache(n->record, &a, &port);
		if (rc == 1)
			cache_peer_seen(d->cache, n->id, &a, port, cache_digest(d->cache));
		else if (rc < 0)
			log_debug("etcd: the record of %s has no usable cache address or port", n->id);
	}
}

/* Before a step's hooks and log lines: the term and the master they name
 * are etcd's as of now. */
void daemon_etcd_mirror(struct daemon *d)
{
	if (d->etcd != NULL)
		mirror(d);
}

/* Failsafe: whether we lead for the beacons (a broker of ours still up
 * counts: a slave must not campaign beside it), the campaign hold and the
 * lead's deadline to etcd_elect. */
static void failsafe_update(struct daemon *d, uint64_t now)
{
	struct etcd_elect *x = &d->etcd->el;
	const char *members[EE_NODES_MAX];
	size_t n;
	uint64_t dl;
	int leading = x->state == EE_LEADING || x->state == EE_RESIGNING || d->ms.leading ||
		      (d->sup.state != SUP_IDLE && d->sup.state != SUP_BACKOFF);

	if (x->granted_ttl_s > 0)
		failsafe_set_window(&d->fs, (uint64_t)x->granted_ttl_s * 1000);
	failsafe_set_leading(&d->fs, leading, now);
	n = etcd_elect_failsafe_members(x, members, EE_NODES_MAX);
	dl = failsafe_deadline(&d->fs, members, n, x->p.margin_ms);
	etcd_elect_failsafe(x, failsafe_hold_until(&d->fs), dl, now);
	if (x->fs_active) {
		if (!d->fs_was_active)
			log_warn("failsafe: etcd does not answer; serving on while every member hears us (%zu member%s, "
				 "the lead ends %llu ms from now unless they keep hearing us)",
				 n, n == 1 ? "" : "s", (unsigned long long)(dl > now ? dl - now : 0));
		if (n > 0)
			snprintf(d->fs_weakest, sizeof(d->fs_weakest), "%s", failsafe_weakest(&d->fs, members, n));
	} else if (d->fs_was_active) {
		if (x->state == EE_LEADING)
			log_info("failsafe: etcd answers again; the lead goes on in term %llu", (unsigned long long)x->term);
		else
			log_warn("failsafe: the lead ends: %s no longer says it hears us",
				 d->fs_weakest[0] ? d->fs_weakest : "a member");
	}
	d->fs_was_active = x->fs_active;
	/* the key is free and we hold back for a master we hear: said once */
	if (x->state == EE_FOLLOWING && x->leader[0] == '\0' && failsafe_hold_until(&d->fs) > now) {
		if (!d->fs_hold_logged)
			log_info("failsafe: the leader key is free, but %s is heard directly as master (it may serve "
				 "without etcd): no campaign while it is heard", d->fs.master);
		d->fs_hold_logged = 1;
	} else if (x->leader[0] != '\0' || failsafe_hold_until(&d->fs) <= now) {
		d->fs_hold_logged = 0;
	}
}

void daemon_etcd_after(struct daemon *d)
{
	if (d->etcd == NULL)
		return;
	mirror(d);
	feed_cache(d);
	put_record(d);
	if (d->failsafe) {
		int was = d->fs.leading;
		failsafe_update(d, clock_mono_ms());
		/* leading no more (a resignation, an exit): said at once, so
		 * that the others' hold ends now, not a lease from now */
		if (was && !d->fs.leading)
			daemon_failsafe_beat(d);
	}
	etcd_backend_pump(d->etcd);
}

void daemon_failsafe_packet(struct daemon *d, const struct wire_msg *m)
{
	uint64_t now = clock_mono_ms();

	failsafe_on_packet(&d->fs, m, now);
	failsafe_update(d, now);
}

void daemon_failsafe_beat(struct daemon *d)
{
	uint8_t payload[WIRE_HB_BEACON_PAYLOAD] = {0};
	struct link_extra x = {.url = d->cfg->broker_url, .payload = payload, .payload_len = sizeof(payload)};
	struct wire_msg m;
	uint64_t now = clock_mono_ms();

	failsafe_update(d, now);
	memset(&m, 0, sizeof(m));
	failsafe_fill(&d->fs, d->hb.el.term, now, &m);
	m.position = (uint16_t)d->etcd->el.p.position;
	if (m.role == WIRE_ROLE_MASTER && d->sup.state == SUP_SERVING)
		m.flags |= WIRE_F_SERVING;
	if (d->ms.ineligible)
		x.flags |= WIRE_F_INELIGIBLE | WIRE_F_NOCLAIM;
	/* no cache port: with etcd the cache finds its peers by their records */
	bytes_put64(payload + WIRE_HB_SETTINGS, d->hb.el.p.settings);
	/* our hold, our send time, and the master's that we echo */
	failsafe_payload(&d->fs, now, payload);
	link_send_msg(&d->link, &m, &x);
	/* what changed goes to etcd_elect now (a hold, a deadline) */
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
	/* a keep-alive every third of the TTL, answered within request_ms */
	if (d->etcd != NULL)
		return d->etcd->el.p.ttl_s * 1000 / 3 + d->etcd->el.p.request_ms;
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

int daemon_etcd_pause(struct daemon *d, const struct pause_rec *r, struct ctl_out *out)
{
	char text[PAUSE_TEXT_MAX];

	pause_format(r, text, sizeof(text));
	if (etcd_elect_put_pause(&d->etcd->el, text) != 0) {
		ctl_printf(out, "a change of the pause is on its way to etcd already; try again");
		return -1;
	}
	etcd_backend_pump(d->etcd);
	log_info("maintenance: asking etcd for %s/pause = %s", d->etcd->el.p.prefix, text);
	ctl_printf(out, "%s (version %llu) written to etcd; every node acts on it as etcd shows it\n",
		   r->paused ? "pause" : "resume", (unsigned long long)r->version);
	return 0;
}
