/*
 * Opening everything at start (see daemon_int.h), in the order that lets a
 * second instance with the same configuration fail before it touches any
 * of the first one's files.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "daemon_int.h"
#include "log.h"
#include "reload.h"
#include "cluster_settings.h"
#include "replay.h"
#include "settings.h"
#include "state.h"
#include "wire.h"

/* Timers on this host are late by the scheduling noise measured here (20
 * ms of 1 ms sleeps); the heartbeat timer keeps measuring (daemon.c). */
static void warn_noise(const struct config *c)
{
	char why[400];

	if (settings_noise_check(c, clock_sleep_noise_us(20), why, sizeof(why)))
		log_warn("%s", why);
}

/* spawn's gate (supervisor.h): the fence holds each broker before it runs */
static int hold_broker(void *ud, int pidfd, pid_t pid)
{
	struct daemon *d = ud;
	char err[256];

	/* a standby let its fence go (fence_renew): fork it again first */
	if (fence_ensure(&d->fence, err, sizeof(err)) != 0) {
		log_err("cannot start the fence: %s", err);
		return -1;
	}
	return fence_hand(&d->fence, pidfd, pid);
}

/* The node's id, boot id, keys, election and mastership. */
static int setup_cluster(struct daemon *d, const struct config *c)
{
	char err[512];
	struct el_params p;
	struct ms_params mp;
	uint16_t r;
	uint64_t mt;
	uint64_t past;

	if (state_node_id(c->cluster_state_dir, c->cluster_node, d->node, sizeof(d->node), err, sizeof(err)) != 0) {
		log_err("%s", err);
		return -1;
	}
	/* wall-clock ms in the high 48 bits, 16 random bits, and above the
	 * last boot kept here: a later boot has a larger id whatever the
	 * clock did (stepped back by NTP, a VM snapshot restored), and the
	 * others hear it at once (replay.h).  Kept before the first packet. */
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		log_err("getrandom: %s", strerror(errno));
		return -1;
	}
	past = state_read_boot(c->cluster_state_dir);
	d->boot = replay_next_boot(clock_wall_ms(), r, past);
	if (d->boot == past + 1)
		log_warn("the clock is behind this node's previous run: boot id %llu follows the last one kept in %s",
			 (unsigned long long)d->boot, c->cluster_state_dir);
	if (state_write_boot(c->cluster_state_dir, d->boot) != 0)
		/* the others still hear a lower boot of ours, one failure timeout
		 * after our last packet (replay.h) */
		log_warn("cannot keep the boot id in %s/boot: %s", c->cluster_state_dir, strerror(errno));
	if (strcmp(c->cluster_auth, "hmac") == 0) {
		if (auth_init() != 0 || auth_load(&d->keys, c->cluster_key_file, (int)c->cluster_key_id, err, sizeof(err)) != 0) {
			log_err("%s", err);
			return -2; /* a configuration error: restarting will not help */
		}
		d->auth = 1;
		log_info("cluster packets authenticated with key %ld of %s (%d keys accepted)", c->cluster_key_id,
			 c->cluster_key_file, d->keys.n);
	} else {
		log_warn("cluster.auth = none: cluster packets are NOT authenticated; anyone who can send to %s:%ld "
			 "can promote or demote nodes", c->cluster_group, c->cluster_port);
	}
	if (c->cluster_delay * c->cluster_retries < 100)
		log_warn("failure timeout %ld ms (cluster.delay x cluster.retries): a busy host can stall this "
			 "process that long, and a stalled master steps down; raise cluster.retries",
			 c->cluster_delay * c->cluster_retries);
	warn_noise(c);
	d->link.boot = d->boot;
	d->link.keys = d->auth ? &d->keys : NULL;
	d->link.filter = (struct filter){.cluster = wire_cluster_digest(c->cluster_name), .boot = d->boot,
					 .keys = d->link.keys};
	snprintf(d->link.filter.node, sizeof(d->link.filter.node), "%s", d->node);
	p = settings_election(c, d->node);
	/* what this node saw and promised before: the term file of any
	 * release, the election file of this one */
	p.initial_term = state_read_term(c->cluster_state_dir);
	if (state_read_election(c->cluster_state_dir, &mt, &p.voted_term, p.voted_for, sizeof(p.voted_for)) == 0 &&
	    mt > p.initial_term)
		p.initial_term = mt;
	p.persist = 1;
	heartbeat_init(&d->hb, &p, clock_mono_ms());
	d->cl = heartbeat_cluster(&d->hb);
	mp = settings_mastership(c, d->node);
	mastership_init(&d->ms, &mp);
	if (strcmp(c->cluster_backend, "etcd") == 0)
		return daemon_etcd_setup(d, c);
	return 0;
}

/* The HTTP endpoint, when http.listen is set: after the election exists
 * (its routes read it), before the broker. */
static int setup_http(struct daemon *d, const struct config *c)
{
	struct http_params hp;
	char err[512];

	settings_http(c, &hp);
	/* libmicrohttpd is loaded now, not linked: missing, the node cannot
	 * run this configuration, and restarting will not help */
	if (hp.listen[0] != '\0' && http_load_library(err, sizeof(err)) != 0) {
		log_err("http.listen: %s", err);
		return -2;
	}
	if (http_open(&d->http, d->loop, &hp, daemon_http_facts, daemon_http_body, d, err, sizeof(err)) != 0) {
		log_err("%s", err);
		return -1;
	}
	if (d->http.mhd == NULL)
		return 0;
	if (http_listen_wildcard(hp.listen))
		log_warn("http.listen = %s: the HTTP endpoint answers on every address of this host, unauthenticated; "
			 "give the address the load balancer and the scraper reach", hp.listen);
	log_info("HTTP endpoint on %s", hp.listen);
	return 0;
}

int daemon_setup(struct daemon *d, const struct config *c, control_handler handler)
{
	char err[512], dir[256], *slash;
	struct cache_params cp;
	struct sup_params sp;
	struct health_params hp;
	struct transport_params tp;
	int rc;

	if (state_mkdir(c->cluster_state_dir) != 0) {
		log_err("cannot create the state directory %s: %s", c->cluster_state_dir, strerror(errno));
		return -1;
	}
	/* first: a second launcher with this socket is another instance's
	 * configuration, refused before it touches anything else */
	snprintf(dir, sizeof(dir), "%s", c->control_socket);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		state_mkdir(dir);
	}
	rc = control_open(&d->ctl, d->loop, c->control_socket, (unsigned)c->control_mode, handler, d, err,
			  sizeof(err));
	if (rc != 0) {
		log_err("%s", err);
		return rc == -2 ? -2 : -1;
	}
	if ((rc = setup_cluster(d, c)) != 0)
		return rc;
	if ((rc = setup_http(d, c)) != 0)
		return rc;
	d->writer = state_writer_open(d->loop, c->cluster_state_dir, daemon_persisted, d);
	if (d->writer == NULL) {
		log_err("cannot start the thread that keeps the election state: %s", strerror(errno));
		return -1;
	}
	/* the history is for people: without it the node still serves */
	d->history = history_log_open(d->loop, c->cluster_state_dir);
	if (d->history == NULL)
		log_warn("cannot start the thread that keeps the failover history: %s; failoverctl history stays empty",
			 strerror(errno));
	snprintf(d->status.path, sizeof(d->status.path), "%s/status", c->cluster_state_dir);
	settings_cache(c, &cp);
	d->cache = cache_open(d->loop, &cp, d->node, d->auth ? &d->keys : NULL, err, sizeof(err));
	if (d->cache == NULL) {
		log_err("cannot start the cache: %s", err);
		return -1;
	}
	if (strncmp(c->cache_listen, "0.0.0.0:", 8) == 0)
		log_warn("cache.listen = %s: the memcached port answers on every address of this host and has no "
			 "authentication; every host that reaches it can read and change the cache", c->cache_listen);
	if (settings_supervisor(c, &sp) != 0) {
		log_err("out of memory");
		return -1;
	}
	if (supervisor_resolve_ready(&sp, err, sizeof(err)) != 0) {
		log_err("%s", err);
		sup_params_free(&sp);
		return -1;
	}
	supervisor_init(&d->sup, d->loop, &sp, d->node);
	if (settings_health(c, &hp) != 0) {
		log_err("out of memory");
		return -1;
	}
	health_init(&d->health, d->loop, &hp, d->node);
	if (health_configured(&d->health) && !*c->broker_ready_tcp && !*c->broker_ready_pattern)
		log_warn("health checks start as soon as the broker is spawned: without broker.ready_pattern or "
			 "broker.ready_tcp a slow start counts as failed checks");
	if (*c->health_precheck != '\0') {
		/* not eligible until the precheck said so */
		struct ms_event ev = {.type = MS_IN_INELIGIBLE};
		struct ms_actions a;
		snprintf(ev.reason, sizeof(ev.reason), "precheck not run yet");
		mastership_step(&d->ms, &ev, clock_mono_ms(), &a);
		d->hb.el.noclaim = !a.claimable;
	}
	snprintf(d->sup.cache_address, sizeof(d->sup.cache_address), "%s", cache_address(d->cache));
	if (d->etcd != NULL)
		log_info("node %s of cluster %s, position %ld, leadership from etcd (lease %ld s)", d->node,
			 c->cluster_name, c->cluster_position, c->cluster_lease_ttl);
	else
		log_info("node %s of cluster %s, position %ld, heartbeat %ld ms, master lost after %ld missed", d->node,
			 c->cluster_name, c->cluster_position, c->cluster_delay, c->cluster_retries);

	if (d->etcd != NULL && !d->failsafe)
		goto fence; /* no heartbeats: etcd says who leads */
	log_info("Creating listener...");
	if (settings_transport(c, &tp) != 0) {
		log_err("cannot open the cluster socket: cluster.peer, cluster.group or cluster.interface too long");
		return -2;
	}
	if (transport_open(&d->link.tr, &tp, err, sizeof(err)) != 0) {
		log_err("cannot open the cluster socket: %s", err);
		return -1;
	}
	/* our own datagrams come back (the group's loopback, a peer list
	 * that names this host) and would wake the loop for nothing */
	if (transport_drop_own(&d->link.tr, d->boot, d->node) != 0)
		log_warn("cannot have the kernel drop our own packets (%s): each is read and dropped", strerror(errno));
	log_info("Creating broadcaster...");
fence:
	/* before any broker: it must be there to hold the first one */
	if (fence_open(&d->fence, d->loop, err, sizeof(err)) != 0) {
		log_err("cannot start the fence: %s", err);
		return -1;
	}
	log_debug("fence process %ld", (long)d->fence.pid);
	if (d->etcd == NULL) {
		/* the death notice goes where our heartbeats go (fence.h) */
		const struct transport *t = &d->link.tr;
		if (fence_route(&d->fence, t->fd, t->multicast ? &t->group : t->peers, t->multicast ? 1 : t->npeers) != 0)
			log_warn("the fence cannot send a death notice: after a crash the others take over at the "
				 "failure timeout");
	}
	d->sup.hold = hold_broker;
	d->sup.hold_ud = d;
	return 0;
}


void daemon_reconfigure(struct daemon *d, struct reload *r)
{
	struct el_params p = settings_election(r->cfg, d->node);
	struct ms_params mp = settings_mastership(r->cfg, d->node);
	struct cache_params cp;

	/* nothing can refuse it now: apply it whole */
	reload_log_changes(r);
	if (d->auth) {
		/* a key rotation: the new file's keys are accepted at once */
		d->keys = r->keys;
		log_info("keys reloaded: signing with key %ld, %d accepted", r->cfg->cluster_key_id, r->keys.n);
	}
	log_set_level((enum log_level)log_level_parse(r->cfg->log_level));
	p.initial_term = d->hb.el.p.initial_term;
	p.persist = d->hb.el.p.persist;
	mastership_set_params(&d->ms, &mp);
	settings_cache(r->cfg, &cp);
	cache_set_params(d->cache, &cp);
	if (d->etcd != NULL) {
		/* the rank in etcd: our record says it from now on */
		d->etcd->el.p.position = (uint32_t)r->cfg->cluster_position;
		d->etcd->el.record_dirty = 1;
	} else {
		heartbeat_set_params(&d->hb, &p);
		ev_timer_set(&d->hb_w, r->cfg->cluster_delay / 1000.0, r->cfg->cluster_delay / 1000.0);
		ev_timer_again(d->loop, &d->hb_w);
		d->hb_due_at = clock_mono_ms() + (uint64_t)r->cfg->cluster_delay;
		/* the tick: at once, then by the new timing (arm_tick) */
	}
	/* the broker's settings apply from its next start */
	supervisor_set_params(&d->sup, &r->sup);
	health_set_params(&d->health, &r->health);
	config_free(d->cfg);
	d->cfg = r->cfg;
	r->cfg = NULL;
	reload_free(r);
	log_info("reloaded");
}
