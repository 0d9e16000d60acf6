/*
 * The one place that knows which configuration keys feed which module.
 */
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_settings.h"
#include "wire.h"

struct el_params settings_election(const struct config *c, const char *self)
{
	struct el_params p = {0};

	snprintf(p.self, sizeof(p.self), "%s", self);
	p.position = (uint16_t)c->cluster_position;
	p.delay_ms = (uint32_t)c->cluster_delay;
	p.retries = (uint32_t)c->cluster_retries;
	p.preempt = c->cluster_preempt;
	p.expected_nodes = (unsigned)c->cluster_expected_nodes;
	p.settings = settings_cluster_digest(c);
	return p;
}

/* A load balancer's check and a scrape each take one connection for a few
 * ms: 16 serve several balancers and scrapers; 5 s of silence is a client
 * that will not finish, and so is one whose request and answer take 10 s,
 * however slowly it trickles bytes; 8 KiB holds any sane request line and
 * headers (MHD refuses longer ones: 414, 431). */
void settings_http(const struct config *c, struct http_params *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->listen, sizeof(p->listen), "%s", c->http_listen);
	p->max_conns = 16;
	p->timeout_s = 5;
	p->request_s = 10;
	p->conn_memory = 8192;
}

void settings_cache(const struct config *c, struct cache_params *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->listen, sizeof(p->listen), "%s", c->cache_listen);
	p->repl_port = (uint16_t)c->cache_port;
	/* replication stays on the cluster's own network when it has one */
	snprintf(p->repl_on, sizeof(p->repl_on), "%s", c->cluster_interface);
	snprintf(p->state_dir, sizeof(p->state_dir), "%s", c->cluster_state_dir);
	p->cluster = wire_cluster_digest(c->cluster_name);
	p->max_entries = (size_t)c->cache_max_entries;
	p->max_key = (size_t)c->cache_max_key;
	p->max_value = (size_t)c->cache_max_value;
	p->tombstone_ms = (uint64_t)c->cache_tombstone_ttl;
	p->sync = strcmp(c->cache_mode, "sync") == 0;
	p->sync_timeout_ms = (uint64_t)c->cache_sync_timeout;
	/* the election's failure timeout (election.c: retries x delay); with
	 * etcd the records are the peers' heartbeats (etcd_node.c), read again
	 * at each answer, which comes at least every third of the lease TTL:
	 * the TTL, what etcd gives a silent node, outlasts that gap */
	if (strcmp(c->cluster_backend, "etcd") == 0)
		p->peer_timeout_ms = (uint64_t)c->cluster_lease_ttl * 1000;
	else
		p->peer_timeout_ms = (uint64_t)c->cluster_delay * (uint64_t)c->cluster_retries;
}

int settings_transport(const struct config *c, struct transport_params *p)
{
	memset(p, 0, sizeof(*p));
	p->port = (uint16_t)c->cluster_port;
	p->ttl = (unsigned char)c->cluster_ttl;
	p->loopback = (unsigned char)(c->cluster_loopback != 0);
	if (c->cluster_peer.n > TRANSPORT_MAX_PEERS || strlen(c->cluster_group) >= sizeof(p->group) ||
	    strlen(c->cluster_interface) >= sizeof(p->interface))
		return -1;
	snprintf(p->group, sizeof(p->group), "%s", c->cluster_group);
	snprintf(p->interface, sizeof(p->interface), "%s", c->cluster_interface);
	p->npeers = c->cluster_peer.n;
	for (size_t i = 0; i < p->npeers; i++) {
		if (strlen(c->cluster_peer.v[i]) >= sizeof(p->peers[i]))
			return -1;
		snprintf(p->peers[i], sizeof(p->peers[i]), "%s", c->cluster_peer.v[i]);
	}
	return 0;
}

int settings_supervisor(const struct config *c, struct sup_params *p)
{
	memset(p, 0, sizeof(*p));
	p->stop_timeout_ms = (uint64_t)c->broker_stop_timeout;
	p->restart_min_ms = (uint64_t)c->broker_restart_min;
	p->restart_max_ms = (uint64_t)c->broker_restart_max;
	p->restart_window_ms = (uint64_t)c->broker_restart_window;
	p->max_restarts = (unsigned)c->broker_max_restarts;
	p->ready_timeout_ms = (uint64_t)c->broker_ready_timeout;
	p->ready_tcp = strdup(c->broker_ready_tcp);
	p->ready_pattern = strdup(c->broker_ready_pattern);
	p->cluster = strdup(c->cluster_name);
	p->output = strdup(c->log_broker_output);
	if (p->ready_tcp == NULL || p->ready_pattern == NULL || p->cluster == NULL || p->output == NULL ||
	    command_params_from_config(&p->cmd, c) != 0) {
		sup_params_free(p);
		return -1;
	}
	return 0;
}

int settings_health(const struct config *c, struct health_params *p)
{
	memset(p, 0, sizeof(*p));
	p->interval_ms = (uint64_t)c->health_interval;
	p->timeout_ms = (uint64_t)c->health_timeout;
	p->precheck_interval_ms = (uint64_t)c->health_precheck_interval;
	p->fall = (unsigned)c->health_fall;
	p->rise = (unsigned)c->health_rise;
	p->tcp = strdup(c->health_tcp);
	p->command = strdup(c->health_command);
	p->probe = strdup(c->health_probe);
	p->precheck = strdup(c->health_precheck);
	p->cluster = strdup(c->cluster_name);
	p->url = strdup(c->broker_url);
	if (p->tcp == NULL || p->command == NULL || p->probe == NULL || p->precheck == NULL || p->cluster == NULL ||
	    p->url == NULL) {
		health_params_free(p);
		return -1;
	}
	return 0;
}

int settings_reload_keys(struct config *n, const struct config *old, unsigned char changed[CFG_COUNT])
{
	for (int id = 0; id < CFG_COUNT; id++) {
		changed[id] = !config_key_equal(n, old, id);
		if (cfg_table[id].reload == CFG_RELOAD_RESTART && config_copy_key(n, old, id) != 0)
			return -1;
	}
	return 0;
}

struct ms_params settings_mastership(const struct config *c, const char *self)
{
	struct ms_params p;

	memset(&p, 0, sizeof(p));
	snprintf(p.self, sizeof(p.self), "%s", self);
	/* a handover's old master waits one failure timeout before it may
	 * claim again; one whose broker failed, broker.holddown */
	p.handover_holddown_ms = (uint64_t)c->cluster_delay * (uint64_t)c->cluster_retries;
	p.failed_holddown_ms = (uint64_t)c->broker_holddown;
	p.health_action = strcmp(c->health_action, "resign") == 0 ? MS_HEALTH_RESIGN : MS_HEALTH_RESTART;
	p.max_restarts = (unsigned)c->broker_max_restarts;
	return p;
}
