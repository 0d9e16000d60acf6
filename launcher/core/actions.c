/*
 * Carrying out what mastership decided (see daemon_int.h): log lines,
 * packets, hooks, the term, the broker wanted, the status, the end of the
 * loop; and the supervisor's reports fed back in until all is quiet.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "clock.h"
#include "daemon_int.h"
#include "fence_plan.h"
#include "hook.h"
#include "log.h"
#include "node.h"
#include "state.h"

struct report_view daemon_view(struct daemon *d, char *text, size_t len)
{
	struct report_view v = {
		.node = d->node, .cluster_name = d->cfg->cluster_name, .broker_url = d->cfg->broker_url,
		.el = &d->hb.el, .ms = &d->ms, .sup = &d->sup, .health = &d->health, .filter = &d->link.filter, .now = clock_mono_ms(),
		.started_at = d->started_at, .stopped = d->stopped, .status_text = text, .sent = d->link.sent,
		.send_errors = d->link.send_errors, .hb_jitter_last_ms = d->hb_jitter_last,
		.hb_jitter_max_ms = d->hb_jitter_max, .hb_count = d->hb_count, .ctl_served = d->ctl.served,
		.ctl_refused = d->ctl.refused, .http_on = d->http.mhd != NULL, .http_served = d->http.served, .cache_entries = d->cache ? cache_entries(d->cache) : 0,
		.conflict_with = d->conflict.addr, .conflict_heard_at = d->conflict.dup.heard_at,
		.failsafe_active = d->etcd != NULL && d->etcd->el.fs_active,
		.history = d->history != NULL ? &d->history->ring : NULL,
		.pause = &d->pause, .pause_unknown = d->pause_unknown,
	};
	/* with etcd, no packets unless etcd_failsafe sends its beacons */
	v.heartbeats = d->etcd == NULL || d->failsafe;
	if (d->etcd != NULL) {
		const struct etcd_backend *b = d->etcd;
		v.etcd_backend = 1;
		v.etcd = (struct report_etcd){
			.endpoint = etcd_backend_endpoint(b), .last_error = b->last_error,
			.cache_addr = d->etcd_cache_addr, .requests_sent = b->requests_sent,
			.requests_failed = b->requests_failed, .last_ok_at = b->last_ok_at,
			.lease_ttl_s = b->el.lease != 0 ? b->el.granted_ttl_s : 0,
		};
	}
	if (d->etcd != NULL && d->etcd_silent)
		v.backend_down = d->hb.el.reason;
	if (d->etcd == NULL)
		v.pause_older = pause_unaware_peers(&d->hb.el, v.now, v.pause_older_ids, sizeof(v.pause_older_ids));
	else
		v.pause_older = etcd_elect_pause_unaware(&d->etcd->el, v.pause_older_ids, sizeof(v.pause_older_ids));
	log_dropped(&v.log_dropped_own, &v.log_dropped_broker);
	v.log_queued = log_queued();
	if (text != NULL)
		status_text(&v, text, len);
	return v;
}

void daemon_publish(struct daemon *d)
{
	struct report_view v = daemon_view(d, NULL, 0);

	ev_timer_stop(d->loop, &d->status_w);
	status_publish(&d->status, &v);
}

void daemon_send(struct daemon *d, uint8_t type)
{
	uint8_t payload[WIRE_HB_PAUSE_PAYLOAD] = {0};
	struct link_extra x = {.url = d->cfg->broker_url, .serving = d->sup.state == SUP_SERVING};
	/* for the peers' status: why this node may not lead, how its broker is */
	if (d->ms.ineligible)
		x.flags |= WIRE_F_INELIGIBLE | WIRE_F_NOCLAIM;
	if (d->hb.el.state == EL_MASTER && (d->ms.health == MS_HEALTH_BAD || d->ms.degraded))
		x.flags |= WIRE_F_UNHEALTHY;
	uint64_t at;

	/* where peers reach our cache (0: none), and what it holds; the
	 * settings every node must share */
	if (d->cache != NULL) {
		bytes_put16(payload + WIRE_HB_CACHE_PORT, cache_repl_port(d->cache));
		x.cache_digest = cache_digest(d->cache);
	}
	bytes_put64(payload + WIRE_HB_SETTINGS, d->hb.el.p.settings);
	bytes_put32(payload + WIRE_HB_TIMEOUT, (uint32_t)d->hb.el.timeout);
	/* the cluster's pause record as we know it (a guess is never sent:
	 * unknown, it stays version 0) */
	pause_encode(&d->pause, payload);
	x.payload = payload;
	x.payload_len = sizeof(payload);
	if ((at = link_send(&d->link, &d->hb, type, &x)) != 0)
		heartbeat_sent(&d->hb, type, at);
	daemon_notice(d);
}

/*
 * The death notice (fence.h): while master, the resignation we would send
 * if we stopped now, numbered after every packet sent so far, so that no
 * peer takes it for a replay; withdrawn in any other role.  Built after
 * each packet we send, and dropped by the first step that finds us no
 * longer master (fence_renew).
 */
void daemon_notice(struct daemon *d)
{
	struct wire_msg m;
	struct link_extra x = {.url = d->cfg->broker_url};
	uint8_t buf[WIRE_MAX_LEN];
	size_t n;

	if (d->etcd != NULL)
		return;
	memset(&m, 0, sizeof(m));
	if (!election_fill_notice(&d->hb.el, clock_mono_ms(), &m)) {
		fence_notice(&d->fence, NULL, 0);
		return;
	}
	n = link_build(&d->link, &m, &x, buf, sizeof(buf));
	fence_notice(&d->fence, buf, n);
}

static void run_hook(struct daemon *d, const char *cmd, const char *event, const char *role)
{
	struct hook_env env = {.event = event, .role = role, .node = d->node, .master = d->hb.el.master,
			       .term = d->hb.el.term};

	if (*cmd != '\0')
		hook_run(d->loop, cmd, &env, d->cfg->broker_hook_timeout);
}

/* What the election and mastership said, for the log; hooks and the term
 * go with the lead taken or given up. */
static void log_changes(struct daemon *d, const struct node_out *o)
{
	struct hb_note n;

	while (heartbeat_take_note(&d->hb, &n))
		if (n.kind == HB_NOTE_ROLE) {
			log_info("role %s -> %s (%s)", election_state_name(n.from), election_state_name(n.to), n.text);
			/* a candidate's term is the one it claims */
			history_log_add(d->history, n.to == EL_CANDIDATE ? d->hb.el.claim_term : d->hb.el.term,
					HISTORY_ROLE, d->node, "%s -> %s: %s",
					election_state_name(n.from), election_state_name(n.to), n.text);
		} else if (n.kind == HB_NOTE_HEALED) {
			log_info("%s", n.text);
			history_log_add(d->history, d->hb.el.term, HISTORY_ROLE, d->node, "%s", n.text);
		} else if (n.kind == HB_NOTE_WARN)
			log_warn("%s", n.text);
		else
			log_info("%s", n.text);
	for (size_t i = 0; i < o->ntransitions; i++) {
		const struct ms_transition *t = &o->transitions[i];
		log_info("mastership %s -> %s (%s)", mastership_state_name(t->from), mastership_state_name(t->to),
			 t->reason);
		/* the lead given away (the election's role change follows once the
		 * broker is down); a lead forfeit at the fence's deadline is the
		 * fence's doing */
		if (t->to == MS_HANDING_OVER)
			history_log_add(d->history, d->hb.el.term,
					t->forfeit ? HISTORY_FENCE : HISTORY_HANDOVER,
					d->node, "%s", t->reason);
		if (t->to == MS_MASTER) {
			/* the seed's lines: operators' alerts match them */
			log_info("Promoted to Master node");
			log_info("Failover Manager has been promoted");
		}
	}
	/* when the lead is given up: a resigning master's broker is down by now */
	if (o->hook_demote)
		log_warn("Demoted from master: %s", o->demote_reason);
	if (o->hook_promote)
		run_hook(d, d->cfg->broker_on_promote, "promote", "master");
	if (o->hook_demote)
		run_hook(d, d->cfg->broker_on_demote, "demote",
			 d->hb.el.state == EL_MASTER ? "slave" : election_state_name(d->hb.el.state));
}

/*
 * A health verdict in the history.  To and from unhealthy always; a check
 * that flaps between failing and healthy is kept HIST_FLAPS_MAX times per
 * window, then left out (and counted in the next entry), so that 200
 * entries still reach back to the failovers they are there for.
 */
static void history_health(struct daemon *d, enum health_state to, const char *reason)
{
	uint64_t now = clock_mono_ms(), *oldest = &d->hist_flaps[d->hist_flaps_next];
	int flap = to != HEALTH_BAD && d->hist_health != (int)HEALTH_BAD;
	char skipped[64] = "";

	if (flap) {
		if (*oldest != 0 && now - *oldest < HIST_FLAPS_WINDOW_MS) {
			d->hist_flaps_skipped++;
			return;
		}
		*oldest = now;
		d->hist_flaps_next = (d->hist_flaps_next + 1) % HIST_FLAPS_MAX;
	}
	if (d->hist_flaps_skipped > 0)
		snprintf(skipped, sizeof(skipped), " (%u failing/healthy changes before this not recorded)",
			 d->hist_flaps_skipped);
	d->hist_flaps_skipped = 0;
	history_log_add(d->history, d->hb.el.term, HISTORY_HEALTH, d->node, "%s -> %s%s%s%s",
			health_state_name((enum health_state)d->hist_health), health_state_name(to),
			reason[0] ? ": " : "", reason, skipped);
}

/*
 * The election's promises go to the writer thread, one write at a time
 * (heartbeat.h); a promoted master's term is in max_term.  The log says
 * when a node stops claiming and voting because its state cannot be kept,
 * and when it may again.
 */
static void persist(struct daemon *d, const struct node_out *o)
{
	struct hb_persist rec;
	int held = (d->hb.el.hold & EL_HOLD_PERSIST) != 0;

	if (d->etcd != NULL) {
		/* no heartbeat election: only the term is kept */
		daemon_etcd_persist(d);
		return;
	}
	if (o->persist_term != 0)
		heartbeat_persist_term(&d->hb);
	if (d->writer != NULL && heartbeat_take_persist(&d->hb, &rec, clock_mono_ms()))
		state_writer_post(d->writer, &rec);
	if (held == d->persist_held)
		return;
	d->persist_held = held;
	if (held)
		log_err("cannot keep the election state in %s (%s): this node neither claims nor votes until it can%s",
			d->cfg->cluster_state_dir, d->persist_error[0] ? d->persist_error : "the write takes too long",
			d->hb.el.state == EL_MASTER ? "; it stays master" : "");
	else
		log_info("the election state is kept in %s again: this node may claim and vote", d->cfg->cluster_state_dir);
}

void daemon_persisted(struct state_writer *w, int ok, int err, void *ud)
{
	struct daemon *d = ud;

	(void)w;
	snprintf(d->persist_error, sizeof(d->persist_error), "%s", ok ? "" : strerror(err));
	if (d->etcd != NULL)
		daemon_etcd_persisted(d, ok, err);
	else
		heartbeat_written(&d->hb, ok, clock_mono_ms());
	daemon_step(d, NULL);
}

static void arm_wake(struct daemon *d, uint64_t at)
{
	uint64_t hb = heartbeat_wake_at(&d->hb), now = clock_mono_ms();

	if (hb != 0 && (at == 0 || hb < at))
		at = hb;
	ev_timer_stop(d->loop, &d->wake_w);
	if (at == 0)
		return;
	ev_timer_set(&d->wake_w, at > now ? (double)(at - now) / 1000.0 : 0., 0.);
	ev_timer_start(d->loop, &d->wake_w);
}

/* Health checks run while the broker serves, and their results and the
 * precheck's go in as events.  1 when any. */
static int take_health(struct daemon *d, struct node_out *o)
{
	struct health_report r;
	struct ms_event ev;
	int any = 0, ok;

	if (d->sup.state == SUP_SERVING && mastership_wants_broker(&d->ms))
		health_start(&d->health, d->sup.term);
	else
		health_stop(&d->health);
	while (health_take_report(&d->health, &r)) {
		memset(&ev, 0, sizeof(ev));
		any = 1;
		switch (r.state) {
		case HEALTH_OK: ev.type = MS_IN_HEALTHY; break;
		case HEALTH_FAILING: ev.type = MS_IN_HEALTH_FAILING; break;
		case HEALTH_BAD: ev.type = MS_IN_UNHEALTHY; break;
		case HEALTH_UNKNOWN: /* no checks any more: nothing known against it */
			ev.type = MS_IN_HEALTHY;
			break;
		}
		ev.count = r.passes;
		snprintf(ev.reason, sizeof(ev.reason), "%s", r.reason);
		/* the verdicts that matter: failing or bad, and their end (not
		 * every start and stop of the checks with the broker) */
		if ((int)r.state != d->hist_health &&
		    (r.state >= HEALTH_FAILING || d->hist_health >= (int)HEALTH_FAILING))
			history_health(d, r.state, r.reason);
		d->hist_health = (int)r.state;
		node_feed(&d->ms, &d->cl, &ev, clock_mono_ms(), o);
	}
	memset(&ev, 0, sizeof(ev));
	if (health_take_precheck(&d->health, &ok, ev.reason, sizeof(ev.reason))) {
		any = 1;
		ev.type = ok ? MS_IN_ELIGIBLE : MS_IN_INELIGIBLE;
		node_feed(&d->ms, &d->cl, &ev, clock_mono_ms(), o);
	}
	return any;
}

/* The supervisor's reports since the last look, into o.  1 when any. */
int daemon_take_reports(struct daemon *d, struct node_out *o)
{
	struct sup_report r;
	int any = 0;

	while (supervisor_take_report(&d->sup, &r)) {
		struct ms_event ev = {0};
		any = 1;
		switch (r.kind) {
		case SUP_REPORT_CHANGED:
			o->status = MS_STATUS_NOW;
			continue;
		case SUP_REPORT_UP:
			ev.type = MS_IN_BROKER_UP; /* the fence holds it already (setup.c) */
			break;
		case SUP_REPORT_READY: ev.type = MS_IN_BROKER_READY; break;
		case SUP_REPORT_DOWN:
			ev.type = MS_IN_BROKER_DOWN;
			/* a broker started since holds the fence already: never
			 * let go of that one */
			if (!supervisor_alive(&d->sup))
				fence_broker_gone(&d->fence);
			break;
		case SUP_REPORT_FAILED: ev.type = MS_IN_BROKER_FAILED; break;
		}
		snprintf(ev.reason, sizeof(ev.reason), "%s", r.why);
		node_feed(&d->ms, &d->cl, &ev, clock_mono_ms(), o);
	}
	return take_health(d, o) || any;
}

/* The fence's deadline, as mastership has it now, to the shared page; and
 * what the fence did while this loop could not look. */
static void fence_renew(struct daemon *d)
{
	uint64_t at = mastership_fence(&d->ms), now = clock_mono_ms();
	struct fence_fired ff;

	if (d->fence.notice_armed && d->hb.el.state != EL_MASTER)
		fence_notice(&d->fence, NULL, 0);
	/* the fence where a broker may run: leading, or a broker still alive
	 * (a standby lets it go: one process, a few MiB less) */
	if (at != 0 || d->hb.el.state == EL_MASTER || supervisor_alive(&d->sup)) {
		char err[256];
		if (d->fence.pid <= 0 || d->fence.releasing) {
			if (fence_ensure(&d->fence, err, sizeof(err)) != 0)
				log_err("cannot start the fence: %s", err);
			else
				d->fence_at = 0; /* published again below */
		}
	} else {
		fence_release(&d->fence);
	}
	if (at != d->fence_at) {
		d->fence_at = at;
		/* SIGTERM first only when the deadline leaves stop_timeout for
		 * it, a heartbeat interval after this renewal */
		fence_publish(&d->fence, at,
			      fence_term_at(at, now, d->sup.p.stop_timeout_ms, daemon_renew_interval(d)), now);
	}
	if (fence_take_fired(&d->fence, &ff)) {
		history_log_add(d->history, d->hb.el.term, HISTORY_FENCE, d->node,
				"the fence stopped the broker: its deadline was not renewed for %llu ms (%s)",
				(unsigned long long)ff.unrenewed_ms,
				ff.sig != SIGKILL ? "SIGTERM" : ff.count > 1 ? "SIGTERM, then SIGKILL" : "SIGKILL");
		log_err("the fence stopped the broker: the launcher did not renew its deadline for %llu ms (%s to "
			"process group %ld, %llu ms after %s)",
			(unsigned long long)ff.unrenewed_ms,
			ff.sig != SIGKILL ? "SIGTERM" : ff.count > 1 ? "SIGTERM, then SIGKILL" : "SIGKILL", (long)ff.pid,
			(unsigned long long)ff.late_ms, ff.sig == SIGKILL ? "the deadline" : "its SIGTERM point");
	}
}

/*
 * Carries out a decision: log, packets, then the broker (a node that is no
 * longer master stops its broker before anything else waits), then the
 * status.  What the supervisor reports back goes in again, until quiet.
 */
void daemon_carry_out(struct daemon *d, struct node_out *o)
{
	struct node_out next;
	uint8_t type;
	int more;

	for (int round = 0; round < 16; round++) {
		/* with etcd: the hooks' term and master are etcd's of now */
		daemon_etcd_mirror(d);
		log_changes(d, o);
		while ((type = heartbeat_take_send(&d->hb)) != 0)
			daemon_send(d, type);
		/* the deadline is in the fence's page before a broker starts */
		fence_renew(d);
		persist(d, o);
		if (o->restart_broker && o->want_broker) {
			log_warn("restarting the broker: %s", d->ms.reason);
			supervisor_restart(&d->sup, o->broker_term);
		}
		supervisor_want(&d->sup, o->want_broker, o->broker_term);
		/* with etcd: the mirror for the status, our record, requests out */
		daemon_etcd_after(d);
		if (d->cache != NULL)
			cache_set_term(d->cache, d->hb.el.state == EL_MASTER ? d->hb.el.term : d->hb.el.max_term);
		if (o->status == MS_STATUS_NOW || d->hb.changed) {
			d->hb.changed = 0;
			daemon_publish(d);
		} else if ((o->status == MS_STATUS_LATER || d->link.filter.changed) && !ev_is_active(&d->status_w)) {
			/* peers only: coalesced (a large group under load changes
			 * many times a second; the file is rewritten at most every
			 * second) */
			ev_timer_set(&d->status_w, 1., 0.);
			ev_timer_start(d->loop, &d->status_w);
		}
		d->link.filter.changed = 0;
		arm_wake(d, o->wake_at);
		if (o->exit) {
			ev_break(d->loop, EVBREAK_ALL);
			return;
		}
		node_out_clear(&next);
		next.want_broker = o->want_broker;
		next.broker_term = o->broker_term;
		more = daemon_take_reports(d, &next);
		/* what sending queued (a renewed fence) goes in at once */
		if (heartbeat_has_events(&d->hb)) {
			node_feed(&d->ms, &d->cl, NULL, clock_mono_ms(), &next);
			more = 1;
		}
		fence_renew(d);
		if (!more)
			return;
		*o = next;
	}
	log_err("mastership and the broker supervisor did not settle; going on");
}

void daemon_take_pending(struct daemon *d)
{
	struct node_out o;

	node_out_clear(&o);
	/* a report of a change alone feeds nothing: the wanted state stays */
	o.want_broker = mastership_wants_broker(&d->ms);
	o.broker_term = d->ms.term;
	if (daemon_take_reports(d, &o))
		daemon_carry_out(d, &o);
}

/*
 * The supervisor's own callbacks (child exit, back-off, readiness) queue
 * reports that the prepare watcher takes only at the end of the loop
 * iteration; another watcher of the same iteration comes first.  Those
 * reports go in before its event: mastership resigns only while it knows
 * of no broker process, and a broker the supervisor gave up on must not
 * be wanted again with a clean crash count.
 */
void daemon_feed(struct daemon *d, const struct ms_event *ev, struct node_out *o)
{
	daemon_take_reports(d, o);
	node_feed(&d->ms, &d->cl, ev, clock_mono_ms(), o);
}

/* One event (NULL: only what the backend queued) and all that follows. */
void daemon_step(struct daemon *d, const struct ms_event *ev)
{
	struct node_out o;

	node_out_clear(&o);
	daemon_feed(d, ev, &o);
	daemon_carry_out(d, &o);
}

