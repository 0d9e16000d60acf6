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

#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bytes.h"
#include "clock.h"
#include "daemon_int.h"
#include "dispatch.h"
#include "log.h"
#include "notify.h"
#include "cluster_settings.h"
#include "settings.h"
#include "state.h"

/* how long the exit waits for a slow reader of what is still queued */
#define LOG_EXIT_FLUSH_MS 1500

/* Datagrams read by one timer callback before it acts: more than the
 * heartbeats of ELECTION_MAX_PEERS nodes over one timeout at the default
 * retries, and a bound (a few ms) when the socket is flooded. */
#define DRAIN_MAX 1024

static void echo(struct daemon *d, const struct wire_msg *m);

/* Reads and handles up to max datagrams, each carried out before the next
 * is read.  1 when the socket was left empty. */
static int read_socket(struct daemon *d, int max)
{
	struct sockaddr_in from;
	struct wire_msg m;
	int got;

	while ((got = link_recv(&d->link, &d->hb.el, &m, &from, &max)) != 0) {
		if (got == LINK_DUPLICATE) {
			daemon_duplicate(d, &m, &from);
			continue;
		}
		/* a peer without a cache sends port 0 (older ones no payload) */
		if (m.type == WIRE_HEARTBEAT && d->cache != NULL && m.payload_len >= 2 &&
		    bytes_get16(m.payload + WIRE_HB_CACHE_PORT) != 0)
			cache_peer_seen(d->cache, m.node, &from, bytes_get16(m.payload + WIRE_HB_CACHE_PORT), m.cache_digest);
		if (d->etcd != NULL)
			daemon_failsafe_packet(d, &m); /* etcd leads; the beacons say who hears whom */
		else {
			/* authenticated and accepted only (link_recv): a forged
			 * packet never reaches here */
			daemon_pause_packet(d, &m);
			heartbeat_on_packet(&d->hb, &m, clock_mono_ms());
		}
		daemon_step(d, NULL);
		echo(d, &m);
	}
	return max > 0;
}

/* Batches of 64: under a flood the timers still run between batches. */
static void rx_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	read_socket(w->data, 64);
}

/*
 * Every timer callback reads what waits in the socket before it acts.
 * After a late wake-up (SIGSTOP, swap, a busy host) libev runs the overdue
 * timers before the readable socket: a candidate would promote at its tick
 * in a term another node won meanwhile, and a master would heartbeat as
 * master after a newer one was elected.  Reading first costs one
 * recvfrom() that fails with EAGAIN when nothing waits, and needs no
 * guess of how late is late; DRAIN_MAX bounds it under a flood.  The
 * simulator (test/unit/sim.c, fire()) runs the same order.
 */
static void drain(struct daemon *d)
{
	if (d->etcd != NULL && !d->failsafe)
		return; /* no cluster socket */
	read_socket(d, DRAIN_MAX);
}

static void statedir_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents);

/*
 * A periodic chore of the loop (the watchdog's ping, the look for the
 * state directory) done by the heartbeat timer when its own timer is due
 * within half an interval: then that timer starts its period again and
 * never wakes the loop by itself while heartbeats come more often than
 * its period.  The chore runs a little early, never late.
 */
static void piggyback(struct daemon *d, ev_timer *w, void (*cb)(struct ev_loop *, ev_timer *, int))
{
	if (!ev_is_active(w) || ev_timer_remaining(d->loop, w) > d->cfg->cluster_delay / 2000.0)
		return;
	cb(d->loop, w, EV_TIMER);
	ev_timer_again(d->loop, w);
}

/* Our heartbeat, now; the chores that ride on its wake-up. */
static void beat(struct daemon *d)
{
	d->last_hb_at = clock_mono_ms();
	d->hb_count++;
	/* also while stopping: a master whose broker is still stopping must
	 * keep the others from promoting.  The clock is read again: what the
	 * drain fed the election was timed after "now" */
	if (d->etcd != NULL)
		daemon_failsafe_beat(d); /* etcd_failsafe: a beacon */
	else
		heartbeat_beat(&d->hb, d->last_hb_at);
	daemon_step(d, NULL);
	piggyback(d, &d->wd_w, watchdog_cb);
	piggyback(d, &d->statedir_w, statedir_cb);
}

/*
 * A slave's heartbeat answers its master's (heartbeat_echo()): sent now,
 * and the timer moved to a delay and a quarter from now, then every delay,
 * for when the master's next one is lost; or, within half a delay of our
 * last, the timer moved to that wait after our last, so that the master's
 * next heartbeat comes first.  So a slave wakes for the master's
 * heartbeats, not for a timer of its own as well.
 */
static void echo(struct daemon *d, const struct wire_msg *m)
{
	uint64_t now = clock_mono_ms(), wait = heartbeat_echo_wait(&d->hb), at;

	if (d->etcd != NULL)
		return;
	switch (heartbeat_echo(&d->hb, m, d->last_hb_at, now)) {
	case HB_ECHO_NOW:
		beat(d);
		at = clock_mono_ms() + wait;
		break;
	case HB_ECHO_LATER:
		at = d->last_hb_at + wait;
		break;
	default:
		return;
	}
	now = clock_mono_ms();
	d->hb_echoed = 1;
	ev_timer_stop(d->loop, &d->hb_w);
	ev_now_update(d->loop);
	ev_timer_set(&d->hb_w, at > now ? (double)(at - now) / 1000.0 : 0., d->cfg->cluster_delay / 1000.0);
	ev_timer_start(d->loop, &d->hb_w);
	d->hb_due_at = at;
}

static void hb_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	uint64_t now = clock_mono_ms();

	/* how late the timer fires: a busy or stalled loop shows here first */
	if (d->hb_due_at != 0) {
		double late = (double)now - (double)d->hb_due_at;
		d->hb_jitter_last = late < 0 ? -late : late;
		if (d->hb_jitter_last > d->hb_jitter_max)
			d->hb_jitter_max = d->hb_jitter_last;
		/* the noise measured at start, measured again: once a minute at most */
		if (late > 0 && (d->noise_warned_at == 0 || now - d->noise_warned_at > 60000)) {
			char why[400];
			if (settings_noise_check(d->cfg, (uint64_t)(late * 1000.0), why, sizeof(why))) {
				d->noise_warned_at = now;
				log_warn("heartbeat timer: %s", why);
			}
		}
	}
	/* libev's next expiry: a delay after this one, never before now */
	d->hb_due_at = d->hb_due_at + (uint64_t)d->cfg->cluster_delay > now ? d->hb_due_at + (uint64_t)d->cfg->cluster_delay
									       : now;
	d->hb_echoed = 0;
	drain(d);
	/* what the drain read may have been the master's heartbeat: ours
	 * answered it, or the timer moved for the next (echo) */
	if (d->hb_echoed)
		return;
	beat(d);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	drain(d);
	daemon_conflict_tick(d);
	heartbeat_tick(&d->hb, clock_mono_ms());
	daemon_step(d, NULL);
}

/*
 * The tick's timer, before the loop sleeps: at the time the election says
 * it is next needed (election_next_due(): its deadlines, at once after a
 * change, at most a delay after the last call into it; on the grid of a fixed
 * tick of election_tick_ms(), so each decision comes when such a tick
 * would have made it), or when a held node id
 * conflict ends.  Asked after whatever this iteration did, so every call
 * into the election and every change of its settings counts.  No tick
 * while nothing is due: an idle node wakes for its heartbeats, the
 * packets it reads and a tick when nothing called for about a delay (none
 * between a master's heartbeats; a slave's answer them, echo()), not for
 * a fixed tick.
 */
static void arm_tick(struct daemon *d)
{
	uint64_t now = clock_mono_ms(), at = election_next_due(&d->hb.el, now);
	const struct replay_dup *dup = &d->conflict.dup;

	/* on the grid too: what that tick decides comes when a fixed tick's would */
	if (dup->held && election_on_grid(&d->hb.el, dup->heard_at + d->hb.el.timeout) < at)
		at = election_on_grid(&d->hb.el, dup->heard_at + d->hb.el.timeout);
	if (at == d->tick_at && ev_is_active(&d->tick_w))
		return;
	d->tick_at = at;
	ev_timer_stop(d->loop, &d->tick_w);
	/* the timer counts from the loop's time: brought up to now, it
	 * fires at the millisecond asked for, never before */
	ev_now_update(d->loop);
	ev_timer_set(&d->tick_w, at > now ? (double)(at - now) / 1000.0 : 0., 0.);
	ev_timer_start(d->loop, &d->tick_w);
}

/* A resignation copy, or a fence deadline. */
static void wake_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	struct ms_event ev = {.type = MS_IN_TIME};

	drain(d);
	if (d->etcd == NULL)
		heartbeat_wake(&d->hb, clock_mono_ms());
	daemon_step(d, &ev);
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct daemon *d = w->data;

	daemon_take_pending(d);
	if (d->etcd == NULL)
		arm_tick(d); /* last: what the reports did counts */
}

static void status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	struct report_view v = daemon_view(d, NULL, 0);

	status_write(&d->status, &v);
}

/* How often the state directory is looked for: a removed one (a cleanup
 * script, a tmpfs remounted) is made again with what this node keeps there,
 * rather than left missing until the next promotion writes a term. */
#define STATEDIR_CHECK_S 5.0

static void statedir_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;
	const char *dir = d->cfg->cluster_state_dir;
	uint64_t max_term = d->etcd != NULL ? d->etcd->el.max_term : d->hb.el.max_term;
	char path[4200], id[WIRE_ID_MAX + 2];
	struct stat st;
	int n;

	(void)loop;
	(void)revents;
	if (stat(dir, &st) == 0 || errno != ENOENT)
		return;
	if (state_mkdir(dir) != 0) {
		log_err("state directory %s was removed and cannot be made again: %s", dir, strerror(errno));
		return;
	}
	/* the id as it is now (never a new one; kept only when it was made
	 * here, not configured), the boot, the election's
	 * promises and the term (fsync'd: rare, and a restart must find them) */
	n = snprintf(id, sizeof(id), "%s\n", d->node);
	snprintf(path, sizeof(path), "%s/node-id", dir);
	if ((*d->cfg->cluster_node == '\0' && state_write_file(path, id, (size_t)n, 1) != 0) ||
	    state_write_boot(dir, d->boot) != 0 ||
	    state_write_election(dir, max_term, d->hb.el.voted_term, d->hb.el.voted_for) != 0) {
		log_err("state directory %s was removed; made again, but its files cannot be written: %s", dir,
			strerror(errno));
		return;
	}
	d->status.last[0] = '\0'; /* the status file too, at once */
	status_cb(loop, &d->status_w, 0);
	log_warn("state directory %s was removed while running: made again with the node id, the boot id, term %llu "
		 "and the election state", dir, (unsigned long long)max_term);
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
		supervisor_closing(&d->sup); /* no warm standby forked on the way out */
		/* while a slow broker stops, keep systemd's stop timeout ahead of
		 * us; our own SIGKILL escalation bounds the wait */
		ev_timer_set(&d->extend_w, 0., 1.);
		ev_timer_start(loop, &d->extend_w);
	}
	daemon_step(d, &ev);
}

static void extend_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	daemon_publish(d);
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
	if (reload_prepare(d->ini, d->overrides, d->cfg, d->auth ? &d->keys : NULL, &r) == 0)
		daemon_reconfigure(d, &r);
	daemon_view(d, text, sizeof(text));
	notify_ready(text);
}

static int control_cb(void *ud, const struct ctl_request *req, struct ctl_out *out)
{
	struct daemon *d = ud;
	char text[256], from[WIRE_ID_MAX + 1];
	struct report_view v = daemon_view(d, text, sizeof(text));
	struct ms_event ev;
	struct node_out o;
	int rc;

	switch (dispatch_control(&v, d->cache, req, out, &ev)) {
	case DISPATCH_ERROR:
		return -1;
	case DISPATCH_DONE:
		return 0;
	case DISPATCH_PAUSE:
		return daemon_pause_request(d, req->cmd == CTL_PAUSE, out);
	case DISPATCH_REQUEST:
		break;
	}
	node_out_clear(&o);
	/* the reports first (daemon_feed), then who hands over, as it was asked */
	daemon_take_reports(d, &o);
	snprintf(from, sizeof(from), "%s", d->hb.el.state == EL_MASTER ? d->node : d->hb.el.master);
	node_feed(&d->ms, &d->cl, &ev, clock_mono_ms(), &o);
	daemon_etcd_mirror(d); /* with etcd: the answer names what etcd_elect resolved */
	rc = dispatch_answer(&v, req, &o, from, out);
	daemon_carry_out(d, &o);
	return rc;
}

void daemon_http_facts(void *ud, struct http_facts *f)
{
	struct daemon *d = ud;
	const struct election *e = &d->hb.el;

	f->stopping = d->stopped || mastership_exiting(&d->ms);
	f->role_known = e->state != EL_LISTENING;
	f->master = e->state == EL_MASTER;
	f->slave = e->state == EL_SLAVE;
	f->master_known = e->master[0] != '\0';
	f->serving = d->sup.state == SUP_SERVING;
	/* failing checks below health.fall still serve (the balancer's own
	 * check would flap with them); unhealthy past fall does not */
	f->healthy = d->health.ev.state != HEALTH_BAD && !(d->ms.degraded && d->ms.degraded_by_health);
	f->eligible = !d->ms.ineligible && !e->noclaim && !e->hold;
	f->paused = daemon_paused(d);
}

void daemon_http_body(void *ud, enum http_body b, struct ctl_out *o)
{
	struct daemon *d = ud;
	char text[256];
	struct report_view v = daemon_view(d, text, sizeof(text));

	switch (b) {
	case HTTP_BODY_STATUS:
		report_status(&v, 1, o);
		break;
	case HTTP_BODY_PEERS:
		report_peers(&v, 1, o);
		break;
	case HTTP_BODY_METRICS:
		dispatch_metrics(&v, d->cache, o);
		break;
	case HTTP_BODY_HISTORY:
		/* out of memory: a 500, not the reason as a history */
		if (dispatch_history(&v, 1, o) != 0)
			o->overflow = 1;
		break;
	case HTTP_BODY_NONE:
		break;
	}
}

static void usr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	char text[256];
	struct report_view v = daemon_view(d, text, sizeof(text));

	dispatch_dump(&v);
}

/* log.c wants to know when stdout or stderr is writable again */
static void log_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct daemon *d = w->data;

	log_async_writable(w == &d->log_w[1]);
}

static void log_want_cb(void *ud, int which, int fd, int on)
{
	struct daemon *d = ud;
	ev_io *w = &d->log_w[which];

	ev_io_stop(d->loop, w);
	if (on) {
		ev_io_init(w, log_io_cb, fd, EV_WRITE);
		w->data = d;
		ev_io_start(d->loop, w);
	}
}

static void start_watchers(struct daemon *d, const struct config *c)
{
	struct ev_loop *loop = d->loop;
	uint32_t r = 0;
	uint64_t wd, first_ms;

	ev_init(&d->hb_w, hb_cb);
	ev_init(&d->tick_w, tick_cb);
	if (d->etcd != NULL && !d->failsafe)
		goto timers; /* no heartbeats: etcd's own timer (etcd_backend.c) */
	ev_io_init(&d->rx_w, rx_cb, d->link.tr.fd, EV_READ);
	ev_io_start(loop, &d->rx_w);
	/* one heartbeat goes out at once (daemon_run); the timer's first one
	 * at a random point of the interval, so launchers started together do
	 * not send in step */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)getpid() * 2654435761u;
	first_ms = (uint64_t)(r % 1000) * (uint64_t)c->cluster_delay / 1000;
	ev_timer_init(&d->hb_w, hb_cb, (double)first_ms / 1000.0, c->cluster_delay / 1000.0);
	ev_timer_start(loop, &d->hb_w);
	d->hb_due_at = clock_mono_ms() + first_ms;
	if (d->etcd != NULL)
		goto timers; /* etcd_failsafe: beacons in and out, etcd's own timer */
	/* the first tick at once; then arm_tick() sets it each time */
	ev_timer_init(&d->tick_w, tick_cb, 0., 0.);
	ev_timer_start(loop, &d->tick_w);
timers:
	ev_init(&d->wake_w, wake_cb);
	ev_init(&d->status_w, status_cb);
	ev_timer_init(&d->statedir_w, statedir_cb, STATEDIR_CHECK_S, STATEDIR_CHECK_S);
	d->statedir_w.data = d;
	ev_timer_start(loop, &d->statedir_w);
	ev_init(&d->extend_w, extend_cb);
	ev_prepare_init(&d->reports_w, prepare_cb);
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
	d->link.tr.fd = -1;
	d->cfg = c;
	d->ini = ini;
	d->overrides = overrides;
	d->started_at = clock_mono_ms();
	/* from here on nothing waits for a slow reader of stdout or stderr */
	log_async_start(log_want_cb, d);
	/* heartbeats before the broker's JVM threads on a busy host: a
	 * slightly higher priority when allowed (children go back to 0) */
	if (getpriority(PRIO_PROCESS, 0) == 0 && setpriority(PRIO_PROCESS, 0, -5) == 0)
		log_debug("running at nice -5, the broker at 0");
	if ((rc = daemon_setup(d, c, control_cb)) != 0) {
		transport_close(&d->link.tr);
		daemon_etcd_close(d);
		/* no broker has started: the settings are all there is to free */
		sup_params_free(&d->sup.p);
		health_close(&d->health);
		cache_close(d->cache);
		control_close(&d->ctl);
		http_close(&d->http);
		state_writer_close(d->writer);
		history_log_close(d->history);
		config_free(d->cfg);
		log_async_stop(LOG_EXIT_FLUSH_MS);
		free(d);
		return rc == -2 ? 1 : 2;
	}
	start_watchers(d, c);
	/* before the first packet: a node restarted in maintenance says so */
	daemon_pause_start(d);
	if (d->etcd != NULL)
		log_info("Started: leadership from etcd%s", d->failsafe ? "; failsafe beacons on the cluster socket" : "");
	if (d->etcd != NULL && !d->failsafe)
		; /* no cluster socket */
	else if (d->link.tr.multicast)
		log_info("Started listener on %s:%ld%s%s", c->cluster_group, c->cluster_port, d->link.tr.ifname[0] ? " via " : "",
			 d->link.tr.ifname);
	else
		log_info("Started listener on port %ld (unicast, %zu peers)", c->cluster_port, d->link.tr.npeers);
	if (d->etcd == NULL)
		daemon_send(d, WIRE_HEARTBEAT);
	else
		daemon_step(d, NULL); /* the first requests to etcd */
	if (d->etcd == NULL || d->failsafe)
		log_info("Started broadcaster");
	log_info("Failover Manager has started");
	daemon_publish(d);

	ev_run(loop, 0);

	d->stopped = 1;
	daemon_publish(d);
	health_close(&d->health);
	supervisor_close(&d->sup);
	fence_close(&d->fence);
	/* no process of ours left behind: a service manager would kill it */
	if (fence_wait_gone(&d->fence, 1000) != 0)
		log_warn("the fence process %ld did not exit within 1 s", (long)d->fence.pid);
	cache_close(d->cache);
	control_close(&d->ctl);
	http_close(&d->http);
	transport_close(&d->link.tr);
	daemon_etcd_close(d);
	state_writer_close(d->writer);
	history_log_close(d->history);
	log_info("stopped");
	rc = d->exit_code;
	config_free(d->cfg);
	/* the last lines, unless the reader is stuck rather than slow */
	log_async_stop(LOG_EXIT_FLUSH_MS);
	free(d);
	return rc;
}
