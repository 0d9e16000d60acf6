/*
 * Text for people, JSON for tools, Prometheus text for scrapers.
 */
#include "report.h"

#include <stdio.h>
#include <string.h>

#include "wire.h"


/* The reasons of election.h's hold, as status and metrics name them. */
static const struct {
	unsigned bit;
	const char *json, *metric;
} holds[] = {
	{EL_HOLD_DUPLICATE, "node_id_conflict", "node-id-conflict"},
	{EL_HOLD_SETTINGS, "settings_differ", "settings-differ"},
	{EL_HOLD_PERSIST, "cannot_persist", "cannot-persist"},
};
#define HOLDS (sizeof(holds) / sizeof(holds[0]))

static void json_str(struct ctl_out *o, const char *s)
{
	ctl_printf(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			ctl_printf(o, "\\%c", c);
		else if (c < 0x20)
			ctl_printf(o, "\\u%04x", c);
		else
			ctl_printf(o, "%c", c);
	}
	ctl_printf(o, "\"");
}

int report_stopping(const struct report_view *v)
{
	return mastership_exiting(v->ms);
}

int report_paused(const struct report_view *v)
{
	return v->pause != NULL && (v->pause->paused || v->pause_unknown);
}

/* Maintenance mode, for --json: "paused" and what the record says. */
static void pause_json(const struct report_view *v, struct ctl_out *o)
{
	static const struct pause_rec none;
	const struct pause_rec *r = v->pause != NULL ? v->pause : &none;

	ctl_printf(o, ",\"paused\":%s,\"pause\":{\"version\":%llu,\"by\":", report_paused(v) ? "true" : "false",
		   (unsigned long long)r->version);
	json_str(o, r->by);
	ctl_printf(o, ",\"unknown\":%s,\"broker_held_down\":%s,\"older_peers\":", v->pause_unknown ? "true" : "false",
		   v->sup->held_down ? "true" : "false");
	json_str(o, v->pause_older_ids);
	ctl_printf(o, "}");
}

static void pause_text(const struct report_view *v, struct ctl_out *o)
{
	if (v->pause_unknown)
		ctl_printf(o, "paused:    yes: the pause record in the state directory did not read; paused until the "
			      "cluster or an operator says otherwise (failoverctl resume)\n");
	else if (report_paused(v))
		ctl_printf(o, "paused:    yes, by %s (version %llu): no promotion, demotion or broker restart until "
			      "resume; the fence still acts\n", v->pause->by, (unsigned long long)v->pause->version);
	if (v->sup->held_down)
		ctl_printf(o, "paused:    the broker exited (%s) and stays down until resume\n", v->sup->last_exit);
	if (v->pause_older > 0)
		ctl_printf(o, "pause:     %zu live peer%s run%s a release without maintenance mode (%s): pause is refused\n",
			   v->pause_older, v->pause_older == 1 ? "" : "s", v->pause_older == 1 ? "s" : "", v->pause_older_ids);
}

int report_conflict(const struct report_view *v)
{
	return (v->el->hold & EL_HOLD_DUPLICATE) != 0;
}

static const char *conflict_with(const struct report_view *v)
{
	return v->conflict_with != NULL ? v->conflict_with : "";
}

static const char *master_url(const struct report_view *v)
{
	const struct el_peer *p;

	if (v->el->state == EL_MASTER)
		return v->broker_url;
	if (v->el->master[0] == '\0')
		return "";
	p = election_peer(v->el, v->el->master);
	return p ? p->url : "";
}

static uint64_t broker_uptime(const struct report_view *v)
{
	return supervisor_alive(v->sup) && v->sup->started_at ? v->now - v->sup->started_at : 0;
}

static void peer_json(const struct report_view *v, const struct el_peer *p, struct ctl_out *o)
{
	ctl_printf(o, "{\"node\":");
	json_str(o, p->id);
	ctl_printf(o, ",\"role\":\"%s\",\"term\":%llu,\"position\":%u,\"age_ms\":%llu,\"live\":%s,\"url\":",
		   wire_role_name(p->role), (unsigned long long)p->term, p->position,
		   (unsigned long long)(v->now - p->last_seen), election_peer_live(v->el, p, v->now) ? "true" : "false");
	json_str(o, p->url);
	ctl_printf(o, ",\"master\":");
	json_str(o, p->leader);
	ctl_printf(o, ",\"serving\":%s,\"eligible\":%s,\"healthy\":%s",
		   p->flags & WIRE_F_SERVING ? "true" : "false", p->flags & WIRE_F_INELIGIBLE ? "false" : "true",
		   p->flags & WIRE_F_UNHEALTHY ? "false" : "true");
	/* the version of a peer's last packet: none without heartbeats */
	if (v->heartbeats)
		ctl_printf(o, ",\"protocol\":%u", p->version);
	ctl_printf(o, "}");
}

static void peers_json(const struct report_view *v, struct ctl_out *o)
{
	ctl_printf(o, "[");
	for (size_t i = 0; i < v->el->npeers; i++) {
		if (i)
			ctl_printf(o, ",");
		peer_json(v, &v->el->peers[i], o);
	}
	ctl_printf(o, "]");
}

void report_peers(const struct report_view *v, int json, struct ctl_out *o)
{
	const struct election *e = v->el;

	if (json) {
		peers_json(v, o);
		ctl_printf(o, "\n");
		return;
	}
	ctl_printf(o, "%-20s %-10s %6s %8s %9s  %s\n", "NODE", "ROLE", "TERM", "POSITION", "LAST SEEN", "URL");
	for (size_t i = 0; i < e->npeers; i++) {
		const struct el_peer *p = &e->peers[i];
		ctl_printf(o, "%-20s %-10s %6llu %8u %7llums  %s\n", p->id, wire_role_name(p->role),
			   (unsigned long long)p->term, p->position, (unsigned long long)(v->now - p->last_seen),
			   p->url[0] ? p->url : "-");
	}
}

/* What the peers' flags say of who could lead: "" or why no node may. */
static const char *nobody_eligible(const struct report_view *v)
{
	const struct election *e = v->el;

	if (!v->ms->ineligible || e->master[0] != '\0' || e->state == EL_MASTER)
		return "";
	for (size_t i = 0; i < e->npeers; i++) {
		const struct el_peer *p = &e->peers[i];
		if (election_peer_live(e, p, v->now) && !(p->flags & WIRE_F_INELIGIBLE))
			return "";
	}
	return "no node may become master: every live node fails its precheck";
}

static void health_json(const struct report_view *v, struct ctl_out *o)
{
	const struct health *h = v->health;
	const struct mastership *m = v->ms;

	ctl_printf(o, ",\"health\":{\"configured\":%s,\"checking\":%s,\"state\":\"%s\",\"failed_in_a_row\":%u,"
		      "\"fall\":%u,\"passed_in_a_row\":%u,\"rise\":%u,\"reason\":",
		   health_configured(h) ? "true" : "false", h->active ? "true" : "false", health_state_name(h->ev.state),
		   h->ev.fails, h->ev.fall, h->ev.passes, h->ev.rise);
	json_str(o, h->ev.state == HEALTH_OK ? "" : h->ev.reason);
	ctl_printf(o, ",\"since_ms\":%llu,\"last_check_ms_ago\":%lld,\"last_check_ms\":%llu,\"checks\":%llu,"
		      "\"failures\":%llu,\"probe_rtt_us\":%llu,\"restarts_in_a_row\":%u,\"degraded\":%s,"
		      "\"degraded_reason\":",
		   (unsigned long long)(h->ev.changed_at ? v->now - h->ev.changed_at : 0),
		   h->ev.last_at ? (long long)(v->now - h->ev.last_at) : -1LL, (unsigned long long)h->last_ms,
		   (unsigned long long)h->ev.checks, (unsigned long long)h->ev.failures, (unsigned long long)h->probe_us,
		   m->health_restarts, m->degraded ? "true" : "false");
	json_str(o, m->degraded ? m->degraded_reason : "");
	ctl_printf(o, "},\"eligibility\":{\"eligible\":%s,\"precheck\":%s,\"reason\":",
		   m->ineligible ? "false" : "true", *h->p.precheck ? "true" : "false");
	json_str(o, m->ineligible ? m->ineligible_reason : "");
	ctl_printf(o, ",\"cluster\":");
	json_str(o, nobody_eligible(v));
	ctl_printf(o, "}");
}

static void health_text(const struct report_view *v, struct ctl_out *o)
{
	const struct health *h = v->health;
	char d[HEALTH_REASON_MAX + 64];

	health_describe(h, d, sizeof(d));
	if (health_configured(h) && h->active && h->ev.last_at)
		ctl_printf(o, "health:    %s; last check %llu ms ago, took %llu ms\n", d,
			   (unsigned long long)(v->now - h->ev.last_at), (unsigned long long)h->last_ms);
	else
		ctl_printf(o, "health:    %s\n", d);
	if (v->ms->degraded)
		ctl_printf(o, "degraded:  %s\n", v->ms->degraded_reason);
	if (v->ms->ineligible)
		ctl_printf(o, "eligible:  no: %s\n", v->ms->ineligible_reason);
	else
		ctl_printf(o, "eligible:  yes%s\n", *h->p.precheck ? " (precheck passed)" : "");
	if (*nobody_eligible(v))
		ctl_printf(o, "cluster:   %s\n", nobody_eligible(v));
}

/* ms since etcd last answered; -1: never */
static long long etcd_age(const struct report_view *v)
{
	return v->etcd.last_ok_at ? (long long)(v->now - v->etcd.last_ok_at) : -1LL;
}

static const char *str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static void etcd_json(const struct report_view *v, struct ctl_out *o)
{
	const struct report_etcd *x = &v->etcd;

	ctl_printf(o, ",\"etcd\":{\"endpoint\":");
	json_str(o, str_or_empty(x->endpoint));
	ctl_printf(o, ",\"last_answer_ms_ago\":%lld,\"lease_ttl_s\":%lld,\"requests\":%llu,\"failed\":%llu,"
		      "\"last_error\":",
		   etcd_age(v), (long long)x->lease_ttl_s, (unsigned long long)x->requests_sent,
		   (unsigned long long)x->requests_failed);
	json_str(o, str_or_empty(x->last_error));
	ctl_printf(o, ",\"cache_addr\":");
	json_str(o, str_or_empty(x->cache_addr));
	ctl_printf(o, "}");
}

static void etcd_text(const struct report_view *v, struct ctl_out *o)
{
	const struct report_etcd *x = &v->etcd;

	ctl_printf(o, "etcd:      %s; ", str_or_empty(x->endpoint));
	if (x->last_ok_at)
		ctl_printf(o, "last answer %lld ms ago", etcd_age(v));
	else
		ctl_printf(o, "no answer yet");
	if (x->lease_ttl_s > 0)
		ctl_printf(o, ", lease TTL %lld s", (long long)x->lease_ttl_s);
	else
		ctl_printf(o, ", no lease");
	ctl_printf(o, "; %llu requests, %llu failed\n", (unsigned long long)x->requests_sent,
		   (unsigned long long)x->requests_failed);
	if (*str_or_empty(x->last_error))
		ctl_printf(o, "etcd error: %s\n", x->last_error);
	if (*str_or_empty(x->cache_addr))
		ctl_printf(o, "cache at:  %s (advertised in this node's record)\n", x->cache_addr);
}

void report_status(const struct report_view *v, int json, struct ctl_out *o)
{
	const struct election *e = v->el;
	const struct supervisor *s = v->sup;
	uint64_t term = e->state == EL_MASTER || e->master[0] ? e->term : e->max_term;
	size_t live = election_live(e, v->now);

	if (json) {
		ctl_printf(o, "{\"node\":");
		json_str(o, v->node);
		ctl_printf(o, ",\"cluster\":");
		json_str(o, v->cluster_name);
		ctl_printf(o, ",\"role\":\"%s\",\"term\":%llu,\"master\":", election_state_name(e->state),
			   (unsigned long long)term);
		json_str(o, e->master);
		ctl_printf(o, ",\"master_url\":");
		json_str(o, master_url(v));
		ctl_printf(o, ",\"status\":");
		json_str(o, v->status_text);
		ctl_printf(o, ",\"mastership\":{\"state\":\"%s\",\"reason\":", mastership_state_name(v->ms->state));
		json_str(o, v->ms->reason);
		ctl_printf(o, "}");
		pause_json(v, o);
		ctl_printf(o, ",\"backend\":\"%s\",\"uptime_ms\":%llu,\"position\":%u", v->etcd_backend ? "etcd" : "heartbeat",
			   (unsigned long long)(v->now - v->started_at), e->p.position);
		/* the heartbeat's period means nothing without heartbeats */
		if (v->heartbeats)
			ctl_printf(o, ",\"delay_ms\":%u", e->p.delay_ms);
		ctl_printf(o, ",\"timeout_ms\":%llu,\"stopping\":%s", (unsigned long long)e->timeout,
			   report_stopping(v) ? "true" : "false");
		if (v->etcd_backend)
			etcd_json(v, o);
		ctl_printf(o, ",\"quorum\":{\"expected\":%u,\"live\":%zu,\"ok\":%s}", e->p.expected_nodes, live,
			   election_quorum(e, v->now) ? "true" : "false");
		ctl_printf(o, ",\"hold\":{");
		for (size_t i = 0; i < HOLDS; i++)
			ctl_printf(o, "%s\"%s\":%s", i ? "," : "", holds[i].json, e->hold & holds[i].bit ? "true" : "false");
		ctl_printf(o, ",\"reason\":");
		json_str(o, e->hold ? e->hold_reason : "");
		ctl_printf(o, "}");
		/* the settings' digests travel in heartbeats only */
		if (!v->etcd_backend)
			ctl_printf(o, ",\"settings\":{\"digest\":\"%016llx\",\"master_digest\":\"%016llx\"}",
				   (unsigned long long)e->p.settings, (unsigned long long)e->master_settings);
		health_json(v, o);
		ctl_printf(o, ",\"broker\":{\"state\":\"%s\",\"pid\":%ld,\"uptime_ms\":%llu,\"starts\":%llu,"
			      "\"restarts\":%llu,\"crashes\":%llu,\"recent_crashes\":%u,\"last_exit\":",
			   supervisor_state_name(s->state), (long)s->pid, (unsigned long long)broker_uptime(v),
			   (unsigned long long)s->starts, (unsigned long long)s->restarts,
			   (unsigned long long)s->crashes_total, supervisor_recent_crashes(s, v->now));
		json_str(o, s->last_exit);
		ctl_printf(o, "},\"cache\":{\"entries\":%llu}", (unsigned long long)v->cache_entries);
		/* the wire protocol's version and the node-id conflict are told
		 * by packets: none without the heartbeat socket */
		if (v->heartbeats)
			ctl_printf(o, ",\"protocol\":{\"version\":%d,\"newer_peers\":%zu}", WIRE_VERSION,
				   election_newer_live(e, v->now));
		ctl_printf(o, ",\"peers\":");
		peers_json(v, o);
		if (v->heartbeats) {
			ctl_printf(o, ",\"conflict\":{\"node_id\":%s,\"with\":", report_conflict(v) ? "true" : "false");
			json_str(o, report_conflict(v) ? conflict_with(v) : "");
			ctl_printf(o, ",\"heard_ms_ago\":%llu}",
				   report_conflict(v) ? (unsigned long long)(v->now - v->conflict_heard_at) : 0ULL);
		}
		ctl_printf(o, ",\"promotions\":%llu,\"demotions\":%llu}\n", (unsigned long long)e->promotions,
			   (unsigned long long)e->demotions);
		return;
	}
	ctl_printf(o, "node:      %s (cluster %s, position %u)\n", v->node, v->cluster_name, e->p.position);
	ctl_printf(o, "role:      %s%s\n", election_state_name(e->state), report_stopping(v) ? " (stopping)" : "");
	ctl_printf(o, "status:    %s\n", v->status_text);
	if (report_conflict(v))
		ctl_printf(o, "conflict:  node id %s is also used by the launcher at %s (heard %llu ms ago): not "
			      "claiming, not voting; give every node its own cluster.node\n",
			   v->node, conflict_with(v), (unsigned long long)(v->now - v->conflict_heard_at));
	ctl_printf(o, "mastership: %s (%s)\n", mastership_state_name(v->ms->state), v->ms->reason);
	pause_text(v, o);
	ctl_printf(o, "term:      %llu\n", (unsigned long long)term);
	ctl_printf(o, "master:    %s%s%s\n", e->master[0] ? e->master : "none", *master_url(v) ? " at " : "",
		   master_url(v));
	if (e->p.expected_nodes)
		ctl_printf(o, "quorum:    %s (%zu of %u nodes live)\n", election_quorum(e, v->now) ? "yes" : "NO", live,
			   e->p.expected_nodes);
	else
		ctl_printf(o, "quorum:    not configured (%zu nodes live)\n", live);
	if (e->hold)
		ctl_printf(o, "hold:      not claiming or voting: %s\n", e->hold_reason);
	health_text(v, o);
	ctl_printf(o, "broker:    %s", supervisor_state_name(s->state));
	if (s->pid)
		ctl_printf(o, ", pid %ld, up %llu s", (long)s->pid, (unsigned long long)(broker_uptime(v) / 1000));
	ctl_printf(o, "; %llu starts, %llu restarts, last exit: %s\n", (unsigned long long)s->starts,
		   (unsigned long long)s->restarts, s->last_exit);
	ctl_printf(o, "cache:     %llu entries\n", (unsigned long long)v->cache_entries);
	ctl_printf(o, "uptime:    %llu s; %llu promotions, %llu demotions\n",
		   (unsigned long long)((v->now - v->started_at) / 1000), (unsigned long long)e->promotions,
		   (unsigned long long)e->demotions);
	if (v->etcd_backend)
		etcd_text(v, o);
	/* the wire protocol: only where packets go */
	if (v->heartbeats && election_newer_live(e, v->now) > 0)
		ctl_printf(o, "protocol:  %d; %zu live peers speak a newer one: not claiming (upgrade this node)\n",
			   WIRE_VERSION, election_newer_live(e, v->now));
	else if (v->heartbeats)
		ctl_printf(o, "protocol:  %d\n", WIRE_VERSION);
	ctl_printf(o, "peers:     %zu\n", e->npeers);
	for (size_t i = 0; i < e->npeers; i++) {
		const struct el_peer *p = &e->peers[i];
		ctl_printf(o, "  %-20s %-10s term %-4llu seen %llu ms ago%s%s", p->id, wire_role_name(p->role),
			   (unsigned long long)p->term, (unsigned long long)(v->now - p->last_seen),
			   p->url[0] ? ", " : "", p->url);
		if (p->flags & WIRE_F_INELIGIBLE)
			ctl_printf(o, ", not eligible");
		if (p->flags & WIRE_F_UNHEALTHY)
			ctl_printf(o, ", broker unhealthy");
		if (p->version > WIRE_VERSION)
			ctl_printf(o, ", protocol %u (newer)", p->version);
		ctl_printf(o, "\n");
	}
}

int report_locate(const struct report_view *v, const char *uri, struct ctl_out *o)
{
	const struct election *e = v->el;
	const char *murl = master_url(v);
	const struct el_peer *order[ELECTION_MAX_PEERS];
	size_t n = 0;

	if (e->state != EL_MASTER && e->master[0] == '\0') {
		ctl_printf(o, "no master at the moment");
		return -1;
	}
	if (*murl == '\0') {
		ctl_printf(o, "master %s advertises no broker URL (broker.url)", e->state == EL_MASTER ? v->node : e->master);
		return -1;
	}
	if (uri == NULL) {
		ctl_printf(o, "%s\n", murl);
		return 0;
	}
	/* the others in election order, after the master */
	for (size_t i = 0; i < e->npeers; i++) {
		const struct el_peer *p = &e->peers[i];
		size_t k = n;
		if (p->url[0] == '\0' || strcmp(p->id, e->master) == 0 || !election_peer_live(e, p, v->now))
			continue;
		while (k > 0 && (order[k - 1]->position > p->position ||
				 (order[k - 1]->position == p->position && strcmp(order[k - 1]->id, p->id) > 0))) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = p;
		n++;
	}
	ctl_printf(o, "%s:(%s", strcmp(uri, "failover") == 0 ? "failover" : "masterslave", murl);
	{
		/* this node too, when it is not the master, in its place */
		int self_done = e->state == EL_MASTER || v->broker_url[0] == '\0';
		for (size_t i = 0; i < n; i++) {
			if (!self_done && (e->p.position < order[i]->position ||
					   (e->p.position == order[i]->position && strcmp(v->node, order[i]->id) < 0))) {
				ctl_printf(o, ",%s", v->broker_url);
				self_done = 1;
			}
			ctl_printf(o, ",%s", order[i]->url);
		}
		if (!self_done)
			ctl_printf(o, ",%s", v->broker_url);
	}
	ctl_printf(o, ")%s\n", strcmp(uri, "failover") == 0 ? "?randomize=false" : "");
	return 0;
}

/* The figures of the heartbeat protocol: its packets, its timer. */
static void heartbeat_metrics(const struct report_view *v, struct ctl_out *o)
{
	const struct election *e = v->el;

	ctl_metric(o, "failover_packets_sent_total", "counter", "Cluster packets sent.", v->sent);
	ctl_metric(o, "failover_packets_send_errors_total", "counter", "Cluster packets the kernel refused.",
		   v->send_errors);
	ctl_metric(o, "failover_packets_received_total", "counter", "Datagrams received.", v->filter->received);
	ctl_metric_head(o, "failover_packets_dropped_total", "counter", "Datagrams dropped, by reason.");
	for (int i = 1; i < DROP_COUNT; i++)
		ctl_printf(o, "failover_packets_dropped_total{reason=\"%s\"} %llu\n", filter_drop_names[i],
			   (unsigned long long)v->filter->dropped[i]);
	ctl_metric(o, "failover_node_id_conflict", "gauge",
		   "1 while another launcher uses this node's id (this node neither claims nor votes).",
		   (unsigned long long)report_conflict(v));
	ctl_metric(o, "failover_packets_two_boots_total", "counter",
		   "Packets of a peer's id from a second live process (two launchers share that id).",
		   v->filter->two_boots);
	ctl_metric(o, "failover_protocol_version", "gauge", "The cluster protocol version this node speaks.",
		   (unsigned long long)WIRE_VERSION);
	ctl_metric(o, "failover_peers_newer_protocol", "gauge",
		   "Live peers speaking a newer protocol version (this node does not claim meanwhile).",
		   election_newer_live(e, v->now));
	ctl_metric(o, "failover_packets_newer_protocol_total", "counter",
		   "Packets accepted from peers speaking a newer protocol version.", v->filter->newer_received);
	ctl_metric(o, "failover_packets_newer_unknown_type_total", "counter",
		   "Packets of a newer protocol with a type this version does not know (only their sender's state is used).",
		   v->filter->newer_unknown_type);
	ctl_metric_head(o, "failover_heartbeat_jitter_ms", "gauge", "Lateness of our heartbeat timer.");
	ctl_printf(o, "failover_heartbeat_jitter_ms{stat=\"last\"} %.3f\nfailover_heartbeat_jitter_ms{stat=\"max\"} %.3f\n",
		   v->hb_jitter_last_ms, v->hb_jitter_max_ms);
	ctl_metric(o, "failover_heartbeats_total", "counter", "Heartbeats sent.", v->hb_count);
}

/* With etcd: its requests, its last answer, the lease. */
static void etcd_metrics(const struct report_view *v, struct ctl_out *o)
{
	const struct report_etcd *x = &v->etcd;

	ctl_metric(o, "failover_etcd_requests_total", "counter", "Requests sent to etcd (a watch counts once).",
		   x->requests_sent);
	ctl_metric(o, "failover_etcd_request_failures_total", "counter",
		   "Requests to etcd that failed: no reply, an error reply, a watch that ended.", x->requests_failed);
	ctl_metric_head(o, "failover_etcd_last_answer_age_seconds", "gauge",
			"Time since etcd last answered (-1: never).");
	if (x->last_ok_at)
		ctl_printf(o, "failover_etcd_last_answer_age_seconds %.3f\n", (double)(v->now - x->last_ok_at) / 1000.0);
	else
		ctl_printf(o, "failover_etcd_last_answer_age_seconds -1\n");
	ctl_metric(o, "failover_etcd_lease_ttl_seconds", "gauge", "The TTL etcd granted this node's lease (0: no lease).",
		   (unsigned long long)(x->lease_ttl_s > 0 ? x->lease_ttl_s : 0));
	ctl_metric(o, "failover_etcd_error", "gauge", "1 while the last request to etcd failed.",
		   (unsigned long long)(*str_or_empty(x->last_error) != '\0'));
	ctl_metric_head(o, "failover_etcd_endpoint", "gauge", "1 for the etcd endpoint in use.");
	ctl_printf(o, "failover_etcd_endpoint{endpoint=\"");
	/* a label value escapes backslash, quote and newline */
	for (const char *c = str_or_empty(x->endpoint); *c; c++)
		if (*c == '"' || *c == '\\')
			ctl_printf(o, "\\%c", *c);
		else if (*c == '\n')
			ctl_printf(o, "\\n");
		else
			ctl_printf(o, "%c", *c);
	ctl_printf(o, "\"} 1\n");
}

void report_metrics(const struct report_view *v, struct ctl_out *o)
{
	const struct election *e = v->el;
	const struct supervisor *s = v->sup;
	static const char *const roles[] = {"listening", "slave", "candidate", "master"};

	ctl_metric_head(o, "failover_role", "gauge", "1 for the role this node has now.");
	for (int r = 0; r < 4; r++)
		ctl_printf(o, "failover_role{role=\"%s\"} %d\n", roles[r], (int)e->state == r);
	ctl_metric(o, "failover_term", "gauge", "The current term.",
		   e->state == EL_MASTER || e->master[0] ? e->term : e->max_term);
	ctl_metric(o, "failover_peers", "gauge", "Live peers.", election_live(e, v->now) - 1);
	ctl_metric(o, "failover_quorum", "gauge", "1 when this node sees a majority (or none is configured).",
		   (unsigned long long)election_quorum(e, v->now));
	ctl_metric_head(o, "failover_claim_hold", "gauge",
			"1 while this reason keeps the node from claiming and voting: its node id in conflict, "
			"settings that differ from the master's, a promise it cannot persist.");
	for (size_t i = 0; i < HOLDS; i++)
		ctl_printf(o, "failover_claim_hold{reason=\"%s\"} %d\n", holds[i].metric, (e->hold & holds[i].bit) != 0);
	ctl_metric(o, "failover_etcd_failsafe", "gauge",
		   "1 while this master serves past its etcd lease because every member hears it (etcd_failsafe).",
		   v->failsafe_active);
	ctl_metric(o, "failover_promotions_total", "counter", "Promotions to master.", e->promotions);
	ctl_metric(o, "failover_demotions_total", "counter", "Demotions from master.", e->demotions);
	ctl_metric(o, "failover_broker_up", "gauge", "1 while a broker process runs here.",
		   (unsigned long long)supervisor_alive(s));
	ctl_metric(o, "failover_broker_serving", "gauge", "1 while the broker is ready.", s->state == SUP_SERVING);
	ctl_metric(o, "failover_broker_starts_total", "counter", "Broker starts.", s->starts);
	ctl_metric(o, "failover_broker_restarts_total", "counter", "Restarts after a crash.", s->restarts);
	ctl_metric_head(o, "failover_broker_exits_total", "counter", "Broker exits by reason.");
	ctl_printf(o, "failover_broker_exits_total{reason=\"crash\"} %llu\nfailover_broker_exits_total{reason=\"stop\"} %llu\n",
		   (unsigned long long)s->crashes_total, (unsigned long long)s->clean_stops);
	{
		const struct health *h = v->health;
		static const char *const levels[] = {"tcp", "command", "probe"};
		ctl_metric_head(o, "failover_health_state", "gauge",
				"1 for the health of this node's broker now (unknown while no broker serves or no check "
				"is configured).");
		for (int st = HEALTH_UNKNOWN; st <= HEALTH_BAD; st++)
			ctl_printf(o, "failover_health_state{state=\"%s\"} %d\n", health_state_name((enum health_state)st),
				   (int)h->ev.state == st);
		ctl_metric(o, "failover_health_checks_total", "counter", "Health checks done.", h->ev.checks);
		ctl_metric(o, "failover_health_check_failures_total", "counter", "Health checks failed.", h->ev.failures);
		ctl_metric_head(o, "failover_health_level_failures_total", "counter", "Failed health checks by level.");
		for (int l = 0; l < 3; l++)
			ctl_printf(o, "failover_health_level_failures_total{level=\"%s\"} %llu\n", levels[l],
				   (unsigned long long)h->level_fail[l]);
		ctl_metric_head(o, "failover_health_check_seconds", "gauge", "How long the last health check took.");
		ctl_printf(o, "failover_health_check_seconds %.6f\n", (double)h->last_ms / 1000.0);
		ctl_metric_head(o, "failover_health_probe_rtt_seconds", "gauge",
				"The deep probe's last round trip, as the helper measured it.");
		ctl_printf(o, "failover_health_probe_rtt_seconds %.6f\n", (double)h->probe_us / 1e6);
		ctl_metric(o, "failover_health_probe_starts_total", "counter", "Probe helpers started.", h->probe_starts);
		ctl_metric(o, "failover_health_restarts_in_a_row", "gauge",
			   "Broker restarts for failed health in a row (this mastership).", v->ms->health_restarts);
		ctl_metric(o, "failover_degraded", "gauge",
			   "1 while this master restarts its broker here because no other node could take over.",
			   (unsigned long long)v->ms->degraded);
		ctl_metric(o, "failover_eligible", "gauge", "1 while this node may become master (its precheck passes).",
			   (unsigned long long)!v->ms->ineligible);
		ctl_metric(o, "failover_precheck_runs_total", "counter", "Precheck runs.", h->pre_runs);
		ctl_metric(o, "failover_precheck_failures_total", "counter", "Precheck runs that failed.", h->pre_failures);
	}
	ctl_metric(o, "failover_paused", "gauge",
		   "1 while the cluster is in maintenance mode (failoverctl pause): no promotion, demotion or broker "
		   "restart.", (unsigned long long)report_paused(v));
	ctl_metric(o, "failover_pause_version", "gauge", "The version of the cluster's pause record this node knows.",
		   (unsigned long long)(v->pause != NULL ? v->pause->version : 0));
	if (v->etcd_backend)
		etcd_metrics(v, o);
	if (v->heartbeats)
		heartbeat_metrics(v, o);
	ctl_metric(o, "failover_cache_entries", "gauge", "Entries in the replicated cache.", v->cache_entries);
	ctl_metric_head(o, "failover_log_lines_dropped_total", "counter",
			"Output lines dropped because stdout or stderr was not read fast enough, by source.");
	ctl_printf(o, "failover_log_lines_dropped_total{source=\"broker\"} %llu\n"
		      "failover_log_lines_dropped_total{source=\"launcher\"} %llu\n",
		   (unsigned long long)v->log_dropped_broker, (unsigned long long)v->log_dropped_own);
	ctl_metric(o, "failover_log_queued_bytes", "gauge", "Output bytes waiting for stdout and stderr.",
		   v->log_queued);
	ctl_metric_head(o, "failover_control_requests_total", "counter", "Control requests served and refused.");
	ctl_printf(o, "failover_control_requests_total{result=\"served\"} %llu\n"
		      "failover_control_requests_total{result=\"refused\"} %llu\n",
		   v->ctl_served, v->ctl_refused);
	if (v->http_on)
		ctl_metric(o, "failover_http_requests_total", "counter",
			   "HTTP requests answered (any status) on http.listen.", v->http_served);
}
