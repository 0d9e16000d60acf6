/*
 * The daemon: setup, watchers, signals, and one loop that carries out what
 * mastership decides.  No decision is taken here.
 *
 *   socket --rx--> filter --> heartbeat (election) --events--+
 *   timers: heartbeat, tick, wake ---------------------------+--> node_feed:
 *   signals, control socket, supervisor reports ----events--+    mastership <-> cluster backend
 *                                                                   |
 *          carry_out: packets, log lines, hooks, term, broker wanted, status, exit
 *
 * The broker supervisor only reconciles the wanted state and reports back
 * (supervisor_take_report); the reports go in as events until all is quiet.
 */
#include "daemon.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "auth.h"
#include "bytes.h"
#include "cache.h"
#include "clock.h"
#include "control.h"
#include "dispatch.h"
#include "filter.h"
#include "heartbeat.h"
#include "hook.h"
#include "log.h"
#include "mastership.h"
#include "node.h"
#include "notify.h"
#include "reload.h"
#include "report.h"
#include "settings.h"
#include "state.h"
#include "status.h"
#include "supervisor.h"
#include "transport.h"
#include "wire.h"

struct daemon {
	struct ev_loop *loop;
	struct config *cfg;         /* owned; replaced by a reload */
	const char *ini;            /* for reloads */
	const struct strlist *overrides;
	struct heartbeat hb;        /* the cluster backend: the election */
	struct cluster cl;
	struct mastership ms;
	struct filter filter;
	struct transport tr;
	struct supervisor sup;
	struct cache *cache;
	struct auth_keys keys;
	int auth;                   /* cluster.auth = hmac */
	char node[WIRE_ID_MAX + 1];
	uint64_t boot, seq;
	struct status_file status;
	struct control ctl;
	ev_io rx_w;
	ev_timer hb_w, tick_w, wake_w, status_w, wd_w, extend_w;
	ev_prepare reports_w;
	ev_signal term_w, int_w, hup_w, usr1_w;
	uint64_t started_at, last_hb_at, hb_count;
	double hb_jitter_last, hb_jitter_max;
	uint64_t sent, send_errors;
	int stopped;                /* the loop has ended */
};

static struct report_view view(struct daemon *d, char *text, size_t len)
{
	struct report_view v = {
		.node = d->node, .cluster_name = d->cfg->cluster_name, .broker_url = d->cfg->broker_url,
		.el = &d->hb.el, .ms = &d->ms, .sup = &d->sup, .filter = &d->filter, .now = clock_mono_ms(),
		.started_at = d->started_at, .stopped = d->stopped, .status_text = text, .sent = d->sent,
		.send_errors = d->send_errors, .hb_jitter_last_ms = d->hb_jitter_last,
		.hb_jitter_max_ms = d->hb_jitter_max, .hb_count = d->hb_count, .ctl_served = d->ctl.served,
		.ctl_refused = d->ctl.refused, .cache_entries = d->cache ? cache_entries(d->cache) : 0,
	};
	if (text != NULL)
		status_text(&v, text, len);
	return v;
}

static void publish(struct daemon *d)
{
	struct report_view v = view(d, NULL, 0);

	ev_timer_stop(d->loop, &d->status_w);
	status_publish(&d->status, &v);
}

static void send_packet(struct daemon *d, uint8_t type)
{
	struct wire_msg m;
	uint8_t buf[WIRE_MAX_LEN], payload[CACHE_HB_PAYLOAD];
	size_t n;

	memset(&m, 0, sizeof(m));
	heartbeat_fill(&d->hb, type, clock_mono_ms(), &m);
	m.cluster = d->filter.cluster;
	m.boot = d->boot;
	m.seq = ++d->seq;
	if (d->hb.el.state == EL_MASTER && d->sup.state == SUP_SERVING)
		m.flags |= WIRE_F_SERVING;
	snprintf(m.url, sizeof(m.url), "%s", d->cfg->broker_url);
	if (type == WIRE_HEARTBEAT && d->cache != NULL) {
		/* where peers reach our cache, and what it holds */
		bytes_put16(payload, cache_repl_port(d->cache));
		m.payload = payload;
		m.payload_len = CACHE_HB_PAYLOAD;
		m.cache_digest = cache_digest(d->cache);
	}
	n = wire_encode(&m, buf, sizeof(buf));
	if (n == 0) {
		log_err("cannot encode a %s packet", wire_type_name(type));
		return;
	}
	if (d->auth)
		auth_sign(&d->keys, buf, n);
	if (transport_send(&d->tr, buf, n) != 0) {
		d->send_errors++;
		/* every few seconds at most: a dead link must not flood the log */
		if (d->send_errors == 1 || d->send_errors % 100 == 0)
			log_warn("sending a %s failed (%llu failures so far): %s", wire_type_name(type),
				 (unsigned long long)d->send_errors, strerror(errno));
		return;
	}
	d->sent++;
	log_debug("sent %s term %llu seq %llu", wire_type_name(type), (unsigned long long)m.term,
		  (unsigned long long)m.seq);
}

static void run_hook(struct daemon *d, const char *cmd, const char *event, const char *role)
{
	struct hook_env env = {.event = event, .role = role, .node = d->node, .master = d->hb.el.master,
			       .term = d->hb.el.term};

	if (*cmd != '\0')
		hook_run(d->loop, cmd, &env, d->cfg->broker_hook_timeout);
}

/* What the election and mastership said, for the log; hooks and the term
 * go with the changes of mastership. */
static void log_changes(struct daemon *d, const struct node_out *o)
{
	struct hb_note n;

	while (heartbeat_take_note(&d->hb, &n))
		if (n.kind == HB_NOTE_ROLE)
			log_info("role %s -> %s (%s)", election_state_name(n.from), election_state_name(n.to), n.text);
		else
			log_info("%s", n.text);
	for (size_t i = 0; i < o->ntransitions; i++) {
		const struct ms_transition *t = &o->transitions[i];
		log_info("mastership %s -> %s (%s)", mastership_state_name(t->from), mastership_state_name(t->to),
			 t->reason);
		if (t->to == MS_MASTER) {
			/* the seed's lines: operators' alerts match them */
			log_info("Promoted to Master node");
			log_info("Failover Manager has been promoted");
		} else if (t->from == MS_MASTER) {
			log_warn("Demoted from master: %s", t->reason);
		}
	}
	if (o->hook_promote)
		run_hook(d, d->cfg->broker_on_promote, "promote", "master");
	if (o->hook_demote)
		run_hook(d, d->cfg->broker_on_demote, "demote",
			 d->hb.el.state == EL_MASTER ? "slave" : election_state_name(d->hb.el.state));
	if (o->persist_term != 0 && state_write_term(d->cfg->cluster_state_dir, o->persist_term) != 0)
		log_warn("cannot keep term %llu in %s: %s", (unsigned long long)o->persist_term, d->cfg->cluster_state_dir,
			 strerror(errno));
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

/* The supervisor's reports since the last look, into o.  1 when any. */
static int take_reports(struct daemon *d, struct node_out *o)
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
		case SUP_REPORT_UP: ev.type = MS_IN_BROKER_UP; break;
		case SUP_REPORT_READY: ev.type = MS_IN_BROKER_READY; break;
		case SUP_REPORT_DOWN: ev.type = MS_IN_BROKER_DOWN; break;
		case SUP_REPORT_FAILED: ev.type = MS_IN_BROKER_FAILED; break;
		}
		snprintf(ev.reason, sizeof(ev.reason), "%s", r.why);
		node_feed(&d->ms, &d->cl, &ev, clock_mono_ms(), o);
	}
	return any;
}

/*
 * Carries out a decision: log, packets, then the broker (a node that is no
 * longer master stops its broker before anything else waits), then the
 * status.  What the supervisor reports back goes in again, until quiet.
 */
static void carry_out(struct daemon *d, struct node_out *o)
{
	struct node_out next;
	uint8_t type;

	for (int round = 0; round < 16; round++) {
		log_changes(d, o);
		while ((type = heartbeat_take_send(&d->hb)) != 0)
			send_packet(d, type);
		supervisor_want(&d->sup, o->want_broker, o->broker_term);
		if (d->cache != NULL)
			cache_set_term(d->cache, d->hb.el.state == EL_MASTER ? d->hb.el.term : d->hb.el.max_term);
		if (o->status == MS_STATUS_NOW || d->hb.changed) {
			d->hb.changed = 0;
			publish(d);
		} else if ((o->status == MS_STATUS_LATER || d->filter.changed) && !ev_is_active(&d->status_w)) {
			/* peers only: coalesced (a large group under load changes
			 * many times a second; the file is rewritten at most every
			 * second) */
			ev_timer_set(&d->status_w, 1., 0.);
			ev_timer_start(d->loop, &d->status_w);
		}
		d->filter.changed = 0;
		arm_wake(d, o->wake_at);
		if (o->exit) {
			ev_break(d->loop, EVBREAK_ALL);
			return;
		}
		node_out_clear(&next);
		next.want_broker = o->want_broker;
		next.broker_term = o->broker_term;
		if (!take_reports(d, &next))
			return;
		*o = next;
	}
	log_err("mastership and the broker supervisor did not settle; going on");
}

/* One event (NULL: only what the backend queued) and all that follows. */
static void step(struct daemon *d, const struct ms_event *ev)
{
	struct node_out o;

	node_out_clear(&o);
	node_feed(&d->ms, &d->cl, ev, clock_mono_ms(), &o);
	carry_out(d, &o);
}

static void rx_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct daemon *d = w->data;
	uint8_t buf[WIRE_MAX_LEN + 64];
	struct sockaddr_in from;
	struct wire_msg m;

	/* a bounded batch: a flood must not starve the timers */
	for (int i = 0; i < 64; i++) {
		ssize_t n = transport_recv(&d->tr, buf, sizeof(buf), &from);
		uint64_t now = clock_mono_ms();

		if (n < 0)
			break;
		if (filter_packet(&d->filter, buf, (size_t)n, &from, &d->hb.el, now, &m) != FILTER_ACCEPT)
			continue;
		if (m.type == WIRE_HEARTBEAT && d->cache != NULL && m.payload_len >= CACHE_HB_PAYLOAD)
			cache_peer_seen(d->cache, m.node, &from, bytes_get16(m.payload), m.cache_digest);
		heartbeat_on_packet(&d->hb, &m, now);
		step(d, NULL);
	}
}

static void hb_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	uint64_t now = clock_mono_ms();

	/* how late the timer fires: a busy or stalled loop shows here first */
	if (d->last_hb_at != 0) {
		double late = (double)(now - d->last_hb_at) - (double)d->cfg->cluster_delay;
		d->hb_jitter_last = late < 0 ? -late : late;
		if (d->hb_jitter_last > d->hb_jitter_max)
			d->hb_jitter_max = d->hb_jitter_last;
	}
	d->last_hb_at = now;
	d->hb_count++;
	/* also while stopping: a master whose broker is still stopping must
	 * keep the others from promoting */
	heartbeat_beat(&d->hb);
	step(d, NULL);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	heartbeat_tick(&d->hb, clock_mono_ms());
	step(d, NULL);
}

/* A resignation copy, or a fence deadline. */
static void wake_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	struct ms_event ev = {.type = MS_IN_TIME};

	heartbeat_wake(&d->hb, clock_mono_ms());
	step(d, &ev);
}

static void reports_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct daemon *d = w->data;
	struct node_out o;

	node_out_clear(&o);
	o.want_broker = mastership_wants_broker(&d->ms);
	o.broker_term = d->ms.term;
	if (take_reports(d, &o))
		carry_out(d, &o);
}

static void status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	struct report_view v = view(d, NULL, 0);

	status_write(&d->status, &v);
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	struct ms_event ev = {.type = MS_IN_STOP};

	if (mastership_exiting(&d->ms)) {
		log_info("signal %d again while stopping: exiting now", w->signum);
	} else {
		log_info("signal %d: stopping", w->signum);
		notify_stopping();
		/* while a slow broker stops, keep systemd's stop timeout ahead of
		 * us; our own SIGKILL escalation bounds the wait */
		ev_timer_set(&d->extend_w, 0., 1.);
		ev_timer_start(loop, &d->extend_w);
	}
	step(d, &ev);
}

static void extend_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	publish(d);
	if (supervisor_alive(&d->sup))
		notify_extend_timeout(3000000);
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	notify_watchdog();
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	struct reload r;
	char text[256];

	notify_reloading();
	log_info("SIGHUP: reloading %s", d->ini);
	if (reload_prepare(d->ini, d->overrides, d->cfg, d->auth ? &d->keys : NULL, &r) == 0) {
		struct el_params p = settings_election(r.cfg, d->node);
		struct ms_params mp = settings_mastership(r.cfg, d->node);
		struct cache_params cp;

		/* nothing can refuse it now: apply it whole */
		reload_log_changes(&r);
		if (d->auth) {
			/* a key rotation: the new file's keys are accepted at once */
			d->keys = r.keys;
			log_info("keys reloaded: signing with key %ld, %d accepted", r.cfg->cluster_key_id, r.keys.n);
		}
		log_set_level((enum log_level)log_level_parse(r.cfg->log_level));
		p.initial_term = d->hb.el.p.initial_term;
		heartbeat_set_params(&d->hb, &p);
		mastership_set_params(&d->ms, &mp);
		settings_cache(r.cfg, &cp);
		cache_set_params(d->cache, &cp);
		ev_timer_set(&d->hb_w, r.cfg->cluster_delay / 1000.0, r.cfg->cluster_delay / 1000.0);
		ev_timer_again(loop, &d->hb_w);
		ev_timer_set(&d->tick_w, election_tick_ms(&d->hb.el) / 1000.0, election_tick_ms(&d->hb.el) / 1000.0);
		ev_timer_again(loop, &d->tick_w);
		/* the broker's settings apply from its next start */
		supervisor_set_params(&d->sup, &r.sup);
		config_free(d->cfg);
		d->cfg = r.cfg;
		r.cfg = NULL;
		reload_free(&r);
		log_info("reloaded");
	}
	view(d, text, sizeof(text));
	notify_ready(text);
}

static int control_cb(void *ud, const struct ctl_request *req, struct ctl_out *out)
{
	struct daemon *d = ud;
	char text[256], from[WIRE_ID_MAX + 1];
	struct report_view v = view(d, text, sizeof(text));
	struct ms_event ev;
	struct node_out o;
	int rc;

	switch (dispatch_control(&v, d->cache, req, out, &ev)) {
	case DISPATCH_ERROR:
		return -1;
	case DISPATCH_DONE:
		return 0;
	case DISPATCH_REQUEST:
		break;
	}
	/* who hands over, as it was asked */
	snprintf(from, sizeof(from), "%s", d->hb.el.state == EL_MASTER ? d->node : d->hb.el.master);
	node_out_clear(&o);
	node_feed(&d->ms, &d->cl, &ev, clock_mono_ms(), &o);
	rc = dispatch_answer(&v, req, &o, from, out);
	carry_out(d, &o);
	return rc;
}

static void usr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	char text[256];
	struct report_view v = view(d, text, sizeof(text));

	dispatch_dump(&v);
}

/* The node's id, boot id, keys, election and mastership. */
static int setup_cluster(struct daemon *d, const struct config *c)
{
	char err[512];
	struct el_params p;
	struct ms_params mp;
	uint16_t r;

	if (state_node_id(c->cluster_state_dir, c->cluster_node, d->node, sizeof(d->node), err, sizeof(err)) != 0) {
		log_err("%s", err);
		return -1;
	}
	/* wall-clock ms in the high 48 bits, 16 random bits: a later boot has
	 * a larger id, which replay protection relies on */
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		log_err("getrandom: %s", strerror(errno));
		return -1;
	}
	d->boot = clock_wall_ms() << 16 | r;
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
	d->filter = (struct filter){.cluster = wire_cluster_digest(c->cluster_name), .boot = d->boot,
				    .keys = d->auth ? &d->keys : NULL};
	snprintf(d->filter.node, sizeof(d->filter.node), "%s", d->node);
	p = settings_election(c, d->node);
	p.initial_term = state_read_term(c->cluster_state_dir);
	heartbeat_init(&d->hb, &p, clock_mono_ms());
	d->cl = heartbeat_cluster(&d->hb);
	mp = settings_mastership(c, d->node);
	mastership_init(&d->ms, &mp);
	return 0;
}

static int setup(struct daemon *d, const struct config *c)
{
	char err[512], dir[256], *slash;
	struct cache_params cp;
	struct sup_params sp;
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
	rc = control_open(&d->ctl, d->loop, c->control_socket, (unsigned)c->control_mode, control_cb, d, err,
			  sizeof(err));
	if (rc != 0) {
		log_err("%s", err);
		return rc == -2 ? -2 : -1;
	}
	if ((rc = setup_cluster(d, c)) != 0)
		return rc;
	snprintf(d->status.path, sizeof(d->status.path), "%s/status", c->cluster_state_dir);
	settings_cache(c, &cp);
	d->cache = cache_open(d->loop, &cp, d->node, d->auth ? &d->keys : NULL, err, sizeof(err));
	if (d->cache == NULL) {
		log_err("cannot start the cache: %s", err);
		return -1;
	}
	if (settings_supervisor(c, &sp) != 0) {
		log_err("out of memory");
		return -1;
	}
	supervisor_init(&d->sup, d->loop, &sp, d->node);
	snprintf(d->sup.cache_address, sizeof(d->sup.cache_address), "%s", cache_address(d->cache));
	log_info("node %s of cluster %s, position %ld, heartbeat %ld ms, master lost after %ld missed", d->node,
		 c->cluster_name, c->cluster_position, c->cluster_delay, c->cluster_retries);

	log_info("Creating listener...");
	if (settings_transport(c, &tp) != 0) {
		log_err("cannot open the cluster socket: cluster.peer, cluster.group or cluster.interface too long");
		return -2;
	}
	if (transport_open(&d->tr, &tp, err, sizeof(err)) != 0) {
		log_err("cannot open the cluster socket: %s", err);
		return -1;
	}
	log_info("Creating broadcaster...");
	return 0;
}

static void start_watchers(struct daemon *d, const struct config *c)
{
	struct ev_loop *loop = d->loop;
	uint32_t r = 0;
	uint64_t wd;

	ev_io_init(&d->rx_w, rx_cb, d->tr.fd, EV_READ);
	ev_io_start(loop, &d->rx_w);
	/* one heartbeat goes out at once (daemon_run); the timer's first one
	 * at a random point of the interval, so launchers started together do
	 * not send in step */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)getpid() * 2654435761u;
	ev_timer_init(&d->hb_w, hb_cb, (double)(r % 1000) / 1000.0 * (double)c->cluster_delay / 1000.0,
		      c->cluster_delay / 1000.0);
	ev_timer_start(loop, &d->hb_w);
	ev_timer_init(&d->tick_w, tick_cb, 0., election_tick_ms(&d->hb.el) / 1000.0);
	ev_timer_start(loop, &d->tick_w);
	ev_init(&d->wake_w, wake_cb);
	ev_init(&d->status_w, status_cb);
	ev_init(&d->extend_w, extend_cb);
	ev_prepare_init(&d->reports_w, reports_cb);
	ev_prepare_start(loop, &d->reports_w);
	ev_signal_init(&d->term_w, stop_cb, SIGTERM);
	ev_signal_start(loop, &d->term_w);
	ev_signal_init(&d->int_w, stop_cb, SIGINT);
	ev_signal_start(loop, &d->int_w);
	ev_signal_init(&d->hup_w, hup_cb, SIGHUP);
	ev_signal_start(loop, &d->hup_w);
	ev_signal_init(&d->usr1_w, usr1_cb, SIGUSR1);
	ev_signal_start(loop, &d->usr1_w);
	d->rx_w.data = d->hb_w.data = d->tick_w.data = d->wake_w.data = d->status_w.data = d->extend_w.data = d;
	d->reports_w.data = d->term_w.data = d->int_w.data = d->hup_w.data = d->usr1_w.data = d;
	wd = notify_watchdog_usec();
	if (wd > 0) {
		/* from the event loop itself: a hung loop stops the pings */
		ev_timer_init(&d->wd_w, watchdog_cb, 0., wd / 2e6);
		d->wd_w.data = d;
		ev_timer_start(loop, &d->wd_w);
		log_info("systemd watchdog every %llu ms", (unsigned long long)(wd / 2000));
	}
	signal(SIGPIPE, SIG_IGN);
}

int daemon_run(struct config *c, const char *ini, const struct strlist *overrides)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	int rc;

	if (d == NULL || loop == NULL) {
		log_err("out of memory");
		free(d);
		config_free(c);
		return 2;
	}
	d->loop = loop;
	d->tr.fd = -1;
	d->cfg = c;
	d->ini = ini;
	d->overrides = overrides;
	d->started_at = clock_mono_ms();
	/* heartbeats before the broker's JVM threads on a busy host: a
	 * slightly higher priority when allowed (children go back to 0) */
	if (getpriority(PRIO_PROCESS, 0) == 0 && setpriority(PRIO_PROCESS, 0, -5) == 0)
		log_debug("running at nice -5, the broker at 0");
	if ((rc = setup(d, c)) != 0) {
		transport_close(&d->tr);
		/* no broker has started: the settings are all there is to free */
		sup_params_free(&d->sup.p);
		cache_close(d->cache);
		control_close(&d->ctl);
		config_free(d->cfg);
		free(d);
		return rc == -2 ? 1 : 2;
	}
	start_watchers(d, c);
	if (d->tr.multicast)
		log_info("Started listener on %s:%ld%s%s", c->cluster_group, c->cluster_port, d->tr.ifname[0] ? " via " : "",
			 d->tr.ifname);
	else
		log_info("Started listener on port %ld (unicast, %zu peers)", c->cluster_port, d->tr.npeers);
	send_packet(d, WIRE_HEARTBEAT);
	log_info("Started broadcaster");
	log_info("Failover Manager has started");
	publish(d);

	ev_run(loop, 0);

	d->stopped = 1;
	publish(d);
	supervisor_close(&d->sup);
	cache_close(d->cache);
	control_close(&d->ctl);
	transport_close(&d->tr);
	log_info("stopped");
	config_free(d->cfg);
	free(d);
	return 0;
}
