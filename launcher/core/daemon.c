/*
 * The daemon's event loop (libev).  Thin glue: datagrams are decoded and
 * handed to the election, timers tick it, and what it asks for is done here:
 * packets sent, the role logged and published, the broker wanted up or down.
 *
 *   transport --rx--> wire_decode --> election --actions--> send / log / status
 *        ^                                 ^
 *        +---- heartbeat timer (delay) ----+---- tick timer (delay/10)
 */
#include "daemon.h"

#include <arpa/inet.h>
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
#include "command.h"
#include "control.h"
#include "election.h"
#include "hook.h"
#include "log.h"
#include "notify.h"
#include "report.h"
#include "settings.h"
#include "state.h"
#include "supervisor.h"
#include "transport.h"
#include "wire.h"

extern char **environ;

enum drop_reason {
	DROP_DECODE_BASE = 0, /* + enum wire_error */
	DROP_FOREIGN = WIRE_ERR_COUNT,
	DROP_DUPLICATE_ID,
	DROP_UNAUTHENTICATED, /* no key id, or one we do not hold */
	DROP_BAD_TAG,         /* forged or corrupted */
	DROP_REPLAY,          /* a sequence number or boot already seen */
	DROP_COUNT,
};

static const char *const drop_names[DROP_COUNT] = {
	"ok", "short", "magic", "version", "type", "length", "field", "foreign-cluster", "duplicate-node-id",
	"unauthenticated", "bad-tag", "replay",
};

/* Replay protection: per sender, its newest boot and the highest sequence
 * number seen in it.  Boot ids start with the boot's wall-clock time, so an
 * older boot replayed is recognised as such. */
struct seen {
	char node[WIRE_ID_MAX + 1];
	uint64_t boot, seq;
};
#define SEEN_MAX 512

struct daemon {
	struct ev_loop *loop;
	struct config *cfg;         /* owned; replaced by a reload */
	const char *ini;            /* for reloads */
	const struct strlist *overrides;
	int ready_sent;
	struct election el;
	struct transport tr;
	struct supervisor sup;
	struct cache *cache;
	struct auth_keys keys;
	int auth;            /* cluster.auth = hmac */
	struct seen seen[SEEN_MAX];
	size_t nseen;
	int resign_pending;  /* waiting for the broker to stop before resigning */
	char resign_target[WIRE_ID_MAX + 1];
	uint64_t resign_holddown;
	char node[WIRE_ID_MAX + 1];
	uint64_t boot, seq, cluster;
	ev_io rx_w;
	ev_timer hb_w, tick_w, resign_w;
	ev_signal term_w, int_w, hup_w, usr1_w;
	struct control ctl;
	uint64_t started_at;
	uint64_t last_hb_at, hb_count;
	double hb_jitter_last, hb_jitter_max;
	ev_timer wd_w, extend_w;
	int resign_copies;   /* RESIGN copies still to send before exiting */
	int stopping;
	int exit_code;
	int stopped;         /* the loop has ended */
	char status_path[4200];
	char status_last[1024]; /* what the status file holds now */
	ev_timer status_w;      /* a peers-only change, written late */
	uint64_t sent, send_errors, received, dropped[DROP_COUNT];
	/* accepted packets of a newer protocol version (wire.h), and those of
	 * them whose type we do not know (their common part still counts) */
	uint64_t newer_received, newer_unknown_type;
	uint64_t dup_warned_at;
};

static void send_packet(struct daemon *d, uint8_t type)
{
	struct wire_msg m;
	uint8_t buf[WIRE_MAX_LEN], payload[CACHE_HB_PAYLOAD];
	size_t n;

	memset(&m, 0, sizeof(m));
	election_fill(&d->el, type, clock_mono_ms(), &m);
	m.cluster = d->cluster;
	m.boot = d->boot;
	m.seq = ++d->seq;
	if (election_quorum(&d->el, clock_mono_ms()))
		m.flags |= WIRE_F_QUORUM;
	if (d->stopping || d->resign_pending)
		m.flags |= WIRE_F_NOCLAIM;
	if (d->el.state == EL_MASTER && d->sup.state == SUP_SERVING)
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

static void write_status(struct daemon *d)
{
	char buf[1024];
	const struct election *e = &d->el;
	uint64_t now = clock_mono_ms();
	int n = snprintf(buf, sizeof(buf),
			 "node=%s\nrole=%s\nterm=%llu\nmaster=%s\npeers=%zu\nquorum=%s\npid=%ld\npromotions=%llu\n"
			 "demotions=%llu\nbroker=%s\nbroker_pid=%ld\nbroker_starts=%llu\nbroker_restarts=%llu\n"
			 "broker_last_exit=%s\nprotocol=%d\nnewer_peers=%zu\n",
			 d->node, d->stopped ? "stopped" : election_state_name(e->state),
			 (unsigned long long)(e->state == EL_MASTER || e->master[0] ? e->term : e->max_term), e->master,
			 election_live(e, now) - 1, election_quorum(e, now) ? "yes" : "no", (long)getpid(),
			 (unsigned long long)e->promotions, (unsigned long long)e->demotions,
			 supervisor_state_name(d->sup.state), (long)d->sup.pid, (unsigned long long)d->sup.starts,
			 (unsigned long long)d->sup.restarts, d->sup.last_exit, WIRE_VERSION, election_newer_live(e, now));

	ev_timer_stop(d->loop, &d->status_w);
	if (n < 0 || (size_t)n >= sizeof(buf) || strcmp(buf, d->status_last) == 0)
		return;
	if (state_write_file(d->status_path, buf, (size_t)n, 0) != 0) {
		log_warn("cannot write %s: %s", d->status_path, strerror(errno));
		d->status_last[0] = '\0';
		return;
	}
	memcpy(d->status_last, buf, (size_t)n + 1);
}

/*
 * A peer seen or lost changes only the file's count of peers.  In a large
 * group under load peers come and go many times a second, and a file
 * rewritten (new file, rename) at that rate costs the disk more than the
 * heartbeats cost the network: such changes wait up to STATUS_COALESCE_MS
 * and go out together.  Role, master, term and broker changes are written
 * at once.
 */
#define STATUS_COALESCE_MS 1000

static void status_later(struct daemon *d)
{
	if (!ev_is_active(&d->status_w)) {
		ev_timer_set(&d->status_w, STATUS_COALESCE_MS / 1000.0, 0.);
		ev_timer_start(d->loop, &d->status_w);
	}
}

static void status_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	write_status(w->data);
}

/* One line for a person: systemd's StatusText and the log. */
static void status_text(const struct daemon *d, char *buf, size_t len)
{
	const struct election *e = &d->el;
	const struct supervisor *s = &d->sup;

	if (d->stopping) {
		if (supervisor_alive(s))
			snprintf(buf, len, "stopping; broker pid %ld stopping", (long)s->pid);
		else
			snprintf(buf, len, "stopping");
		return;
	}
	switch (e->state) {
	case EL_LISTENING:
		snprintf(buf, len, "listening; joining cluster %s", d->cfg->cluster_name);
		return;
	case EL_CANDIDATE:
		snprintf(buf, len, "candidate; claiming term %llu", (unsigned long long)e->claim_term);
		return;
	case EL_SLAVE:
		if (e->master[0])
			snprintf(buf, len, "slave; master is %s (term %llu)", e->master, (unsigned long long)e->term);
		else
			snprintf(buf, len, "slave; no master");
		return;
	case EL_MASTER:
		break;
	}
	if (d->resign_pending) {
		snprintf(buf, len, "master; handing over, broker pid %ld stopping", (long)s->pid);
		return;
	}
	switch (s->state) {
	case SUP_STARTING:
		snprintf(buf, len, "master; broker pid %ld starting", (long)s->pid);
		break;
	case SUP_SERVING:
		snprintf(buf, len, "master; broker pid %ld serving", (long)s->pid);
		break;
	case SUP_STOPPING:
		snprintf(buf, len, "master; broker pid %ld stopping", (long)s->pid);
		break;
	case SUP_BACKOFF:
		snprintf(buf, len, "master; broker restarting (%u/%ld)", supervisor_recent_crashes(s, clock_mono_ms()),
			 d->cfg->broker_max_restarts);
		break;
	case SUP_IDLE:
		snprintf(buf, len, "master; broker down");
		break;
	}
}

/* The status file and systemd's view, after any change.  READY=1 goes out
 * once the node has joined and knows its role. */
static void update_status(struct daemon *d)
{
	char text[256];

	write_status(d);
	status_text(d, text, sizeof(text));
	if (!d->ready_sent && d->el.state != EL_LISTENING && d->el.state != EL_CANDIDATE) {
		d->ready_sent = 1;
		notify_ready(text);
	} else {
		notify_status(text);
	}
}

static void run_hook(struct daemon *d, const char *cmd, const char *event)
{
	struct hook_env env = {.event = event, .role = election_state_name(d->el.state), .node = d->node,
			       .master = d->el.master, .term = d->el.term};

	if (*cmd != '\0')
		hook_run(d->loop, cmd, &env, d->cfg->broker_hook_timeout);
}

static void on_state_changed(struct daemon *d, enum el_state old)
{
	const struct election *e = &d->el;

	if (old == e->state)
		return;
	if (e->state == EL_MASTER)
		run_hook(d, d->cfg->broker_on_promote, "promote");
	else if (old == EL_MASTER)
		run_hook(d, d->cfg->broker_on_demote, "demote");
	log_info("role %s -> %s (%s)", election_state_name(old), election_state_name(e->state), e->reason);
	if (e->state == EL_MASTER) {
		/* the seed's lines: operators' alerts match them */
		log_info("Promoted to Master node");
		log_info("Failover Manager has been promoted");
		if (state_write_term(d->cfg->cluster_state_dir, e->term) != 0)
			log_warn("cannot keep term %llu in %s: %s", (unsigned long long)e->term, d->cfg->cluster_state_dir,
				 strerror(errno));
	} else if (old == EL_MASTER) {
		log_warn("Demoted from master: %s", e->reason);
	}
}

static void resign_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void begin_resign(struct daemon *d, const char *target, uint64_t holddown);

/* The broker runs only while the election wants it and no resignation is
 * under way. */
static void reconcile(struct daemon *d)
{
	supervisor_want(&d->sup, d->el.state == EL_MASTER && !d->resign_pending && !d->stopping, d->el.term);
}

/* Does what the election asked for.  old is the state before the call. */
static void act(struct daemon *d, unsigned a, enum el_state old, const char *old_master)
{
	if ((a & EL_MASTER_CHANGED) && strcmp(old_master, d->el.master) != 0 && d->el.state != EL_MASTER) {
		if (d->el.master[0])
			log_info("master is %s (term %llu)", d->el.master, (unsigned long long)d->el.term);
		else
			log_info("no master: %s", d->el.master_reason);
	}
	if (a & EL_STATE_CHANGED)
		on_state_changed(d, old);
	if (a & EL_SEND_CLAIM)
		send_packet(d, WIRE_CLAIM);
	if (a & EL_SEND_HEARTBEAT)
		send_packet(d, WIRE_HEARTBEAT);
	if (a & EL_SEND_VOTE)
		send_packet(d, WIRE_VOTE);
	if (a & EL_SEND_HANDOVER) {
		log_info("asking master %s to hand over to %s", d->el.master, d->el.handover_target);
		/* two copies: a lost request would only be retried by a person */
		send_packet(d, WIRE_HANDOVER);
		send_packet(d, WIRE_HANDOVER);
	}
	if (a & EL_SEND_RESIGN) {
		/* several copies across one interval: datagrams get lost */
		send_packet(d, WIRE_RESIGN);
		d->resign_copies = 2;
		ev_timer_set(&d->resign_w, d->cfg->cluster_delay / 3000.0, d->cfg->cluster_delay / 3000.0);
		ev_timer_again(d->loop, &d->resign_w);
	}
	if (a & EL_HANDOVER_REQUESTED) {
		log_info("handing over to %s: stopping the broker first", d->el.handover_target);
		begin_resign(d, d->el.handover_target, d->el.timeout);
	}
	/* never two brokers: a node that is no longer master stops its broker
	 * before anything else */
	reconcile(d);
	if (d->cache != NULL)
		cache_set_term(d->cache, d->el.state == EL_MASTER ? d->el.term : d->el.max_term);
	if (a & (EL_STATE_CHANGED | EL_MASTER_CHANGED))
		update_status(d);
	else if (a & EL_PEERS_CHANGED)
		status_later(d);
}

#define STEP(d, call)                                                                                               \
	do {                                                                                                        \
		enum el_state old_ = (d)->el.state;                                                                 \
		char om_[WIRE_ID_MAX + 1];                                                                          \
		unsigned a_;                                                                                        \
		memcpy(om_, (d)->el.master, sizeof(om_));                                                           \
		a_ = (call);                                                                                        \
		act((d), a_, old_, om_);                                                                            \
	} while (0)

/* The broker is down: the resignation can go out. */
static void finish_resign(struct daemon *d)
{
	d->resign_pending = 0;
	STEP(d, election_resign(&d->el, d->resign_target[0] ? d->resign_target : NULL, d->resign_holddown, clock_mono_ms()));
	if (d->stopping && d->resign_copies == 0)
		ev_break(d->loop, EVBREAK_ALL);
}

static void begin_resign(struct daemon *d, const char *target, uint64_t holddown)
{
	if (d->resign_pending)
		return;
	d->resign_pending = 1;
	d->resign_holddown = holddown;
	snprintf(d->resign_target, sizeof(d->resign_target), "%s", target ? target : "");
	reconcile(d);
	if (!supervisor_alive(&d->sup))
		finish_resign(d);
}

static void sup_changed(void *ud)
{
	update_status(ud);
}

static void sup_down(void *ud)
{
	struct daemon *d = ud;

	if (d->resign_pending)
		finish_resign(d);
	else if (d->stopping && d->resign_copies == 0)
		ev_break(d->loop, EVBREAK_ALL);
}

static void sup_gave_up(void *ud, const char *why)
{
	struct daemon *d = ud;

	log_warn("resigning mastership: %s; staying slave for %ld ms", why, d->cfg->broker_holddown);
	begin_resign(d, NULL, (uint64_t)d->cfg->broker_holddown);
}

static void resign_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	(void)revents;
	send_packet(d, WIRE_RESIGN);
	if (--d->resign_copies > 0)
		return;
	ev_timer_stop(loop, w);
	if (d->stopping)
		ev_break(loop, EVBREAK_ALL);
}

static void drop(struct daemon *d, enum drop_reason r, const struct sockaddr_in *from)
{
	char addr[32];

	d->dropped[r]++;
	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
		log_debug("dropped a packet from %s: %s", addr, drop_names[r]);
	}
}

/* Strictly increasing sequence numbers per sender and boot. */
static int fresh(struct daemon *d, const struct wire_msg *m)
{
	struct seen *s = NULL;

	for (size_t i = 0; i < d->nseen; i++)
		if (strcmp(d->seen[i].node, m->node) == 0)
			s = &d->seen[i];
	if (s == NULL) {
		if (d->nseen == SEEN_MAX)
			s = &d->seen[m->seq % SEEN_MAX]; /* forget someone long gone, not the table */
		else
			s = &d->seen[d->nseen++];
		snprintf(s->node, sizeof(s->node), "%s", m->node);
		s->boot = m->boot;
		s->seq = m->seq;
		return 1;
	}
	if (m->boot < s->boot || (m->boot == s->boot && m->seq <= s->seq))
		return 0;
	s->boot = m->boot;
	s->seq = m->seq;
	return 1;
}

/*
 * A peer that speaks a newer protocol is heard, not dropped: dropping it
 * would make us deaf to it, and a deaf node claims against a live master.
 * It is counted, and logged once when it starts (or stops) speaking it;
 * the election does not claim while such a peer is live (election.h).
 */
static void note_version(struct daemon *d, const struct wire_msg *m)
{
	const struct el_peer *p = election_peer(&d->el, m->node);
	uint8_t before = p != NULL ? p->version : WIRE_VERSION;

	if (m->version > WIRE_VERSION) {
		d->newer_received++;
		if (!wire_type_known(m->type)) {
			d->newer_unknown_type++;
			log_debug("%s sent a packet of type %u, new in protocol %u: only its sender's state is used",
				  m->node, m->type, m->version);
		}
	}
	/* once per peer, on a change; a new peer the full table cannot take is
	 * not followed, and would be logged at every packet */
	if ((p == NULL && d->el.npeers >= ELECTION_MAX_PEERS) || m->version == before ||
	    (m->version <= WIRE_VERSION && before <= WIRE_VERSION))
		return;
	if (m->version > WIRE_VERSION)
		log_warn("%s speaks protocol version %u, newer than ours (%d): following it, not claiming while it is "
			 "live; upgrade this node",
			 m->node, m->version, WIRE_VERSION);
	else
		log_info("%s speaks protocol version %u again", m->node, m->version);
	status_later(d);
}

static void rx_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct daemon *d = w->data;
	uint8_t buf[WIRE_MAX_LEN + 64];
	struct sockaddr_in from;
	struct wire_msg m;

	(void)loop;
	(void)revents;
	/* a bounded batch: a flood must not starve the timers */
	for (int i = 0; i < 64; i++) {
		ssize_t n = transport_recv(&d->tr, buf, sizeof(buf), &from);
		enum wire_error err;
		uint64_t now;

		if (n < 0)
			break;
		d->received++;
		err = wire_decode(buf, (size_t)n, &m);
		if (err != WIRE_OK) {
			drop(d, (enum drop_reason)err, &from);
			continue;
		}
		if (m.cluster != d->cluster) {
			drop(d, DROP_FOREIGN, &from);
			continue;
		}
		/* nothing unauthenticated or replayed changes any state */
		if (d->auth) {
			int v = auth_verify(&d->keys, buf, (size_t)n);
			if (v != 0) {
				drop(d, v == -1 ? DROP_UNAUTHENTICATED : DROP_BAD_TAG, &from);
				continue;
			}
		}
		if (m.boot == d->boot && strcmp(m.node, d->node) == 0)
			continue; /* our own, looped back */
		if (!fresh(d, &m)) {
			drop(d, DROP_REPLAY, &from);
			continue;
		}
		now = clock_mono_ms();
		if (strcmp(m.node, d->node) == 0) {
			drop(d, DROP_DUPLICATE_ID, &from);
			if (d->dup_warned_at == 0 || now - d->dup_warned_at > 10000) {
				d->dup_warned_at = now;
				log_err("another launcher uses our node id %s: give every node its own cluster.node", d->node);
			}
			continue;
		}
		log_debug("received %s from %s role %s term %llu", wire_type_name(m.type), m.node,
			  wire_role_name(m.role), (unsigned long long)m.term);
		note_version(d, &m);
		if (m.type == WIRE_HEARTBEAT && d->cache != NULL && m.payload_len >= CACHE_HB_PAYLOAD)
			cache_peer_seen(d->cache, m.node, &from, bytes_get16(m.payload),
					m.cache_digest);
		STEP(d, election_on_packet(&d->el, &m, now));
	}
}

static void hb_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	(void)loop;
	(void)revents;
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
	send_packet(d, WIRE_HEARTBEAT);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	(void)loop;
	(void)revents;
	STEP(d, election_tick(&d->el, clock_mono_ms()));
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;

	(void)revents;
	if (d->stopping) {
		log_info("signal %d again while stopping: exiting now", w->signum);
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("signal %d: stopping", w->signum);
	notify_stopping();
	/* while a slow broker stops, keep systemd's stop timeout ahead of us;
	 * our own SIGKILL escalation bounds the wait */
	ev_timer_set(&d->extend_w, 0., 1.);
	ev_timer_start(loop, &d->extend_w);
	if (d->el.state == EL_MASTER) {
		/* stop the broker, then resign; a stopping node never claims again;
		 * resign_cb ends the loop after the last copy */
		begin_resign(d, NULL, UINT64_MAX / 4);
		d->stopping = 1;
		reconcile(d);
		return;
	}
	d->stopping = 1;
	reconcile(d);
	if (!supervisor_alive(&d->sup))
		ev_break(loop, EVBREAK_ALL); /* else sup_down does */
}

static void extend_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct daemon *d = w->data;

	(void)loop;
	(void)revents;
	update_status(d);
	if (supervisor_alive(&d->sup))
		notify_extend_timeout(3000000);
}

static void watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	notify_watchdog();
}

static void reload_key_changed(int id)
{
	const struct cfg_desc *k = &cfg_table[id];

	if (k->reload == CFG_RELOAD_RESTART)
		log_warn("reload: %s.%s changed: it takes effect after a restart; the running value is kept", k->section,
			 k->key);
	else
		log_info("reload: %s.%s changed: applied%s", k->section, k->key,
			 k->reload == CFG_RELOAD_START ? " from the broker's next start" : "");
}

/* SIGHUP: re-read and fully validate; a bad configuration is refused and
 * the old one stays; what can change without a restart is applied. */
static void reload(struct daemon *d)
{
	struct config *n = config_new();
	struct command cmd;
	char err[2048];
	struct el_params p;
	struct sup_params sp = {0};
	struct cache_params cp;
	struct auth_keys ks = d->keys;
	unsigned char changed[CFG_COUNT];

	notify_reloading();
	log_info("SIGHUP: reloading %s", d->ini);
	if (n == NULL || config_load(n, d->ini, d->overrides, environ) != 0) {
		for (size_t i = 0; n != NULL && i < n->errors.n; i++)
			log_err("%s", n->errors.v[i]);
		log_err("reload refused: the configuration is not valid; keeping the running one");
		goto out;
	}
	/* first the running values of the keys a reload keeps, so that the
	 * checks below see what will run (the broker's CDS archive lives in
	 * the running state_dir) */
	if (settings_reload_keys(n, d->cfg, changed) != 0 || settings_supervisor(n, &sp) != 0) {
		log_err("reload refused: out of memory; keeping the running configuration");
		goto out;
	}
	if (command_build(n, environ, &cmd, err, sizeof(err)) != 0) {
		log_err("reload refused: %s; keeping the running configuration", err);
		goto out;
	}
	command_free(&cmd);
	if (d->auth && auth_load(&ks, n->cluster_key_file, (int)n->cluster_key_id, err, sizeof(err)) != 0) {
		log_err("reload refused: %s; keeping the running configuration", err);
		goto out;
	}
	/* nothing can refuse it now: apply it whole */
	for (int id = 0; id < CFG_COUNT; id++)
		if (changed[id])
			reload_key_changed(id);
	if (d->auth) {
		/* a key rotation: the new file's keys are accepted at once */
		d->keys = ks;
		log_info("keys reloaded: signing with key %ld, %d accepted", n->cluster_key_id, ks.n);
	}
	log_set_level((enum log_level)log_level_parse(n->log_level));
	p = settings_election(n, d->node);
	p.initial_term = d->el.p.initial_term;
	election_set_params(&d->el, &p);
	settings_cache(n, &cp);
	cache_set_params(d->cache, &cp);
	ev_timer_set(&d->hb_w, n->cluster_delay / 1000.0, n->cluster_delay / 1000.0);
	ev_timer_again(d->loop, &d->hb_w);
	ev_timer_set(&d->tick_w, election_tick_ms(&d->el) / 1000.0, election_tick_ms(&d->el) / 1000.0);
	ev_timer_again(d->loop, &d->tick_w);
	/* the broker's settings apply from its next start */
	supervisor_set_params(&d->sup, &sp);
	config_free(d->cfg);
	d->cfg = n;
	n = NULL;
	log_info("reloaded");
out:
	config_free(n);
	sup_params_free(&sp);
	{
		char text[256];
		status_text(d, text, sizeof(text));
		notify_ready(text);
	}
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)revents;
	reload(w->data);
}

static struct report_view view(struct daemon *d, char *text, size_t len)
{
	status_text(d, text, len);
	return (struct report_view){
		.node = d->node, .cluster_name = d->cfg->cluster_name, .broker_url = d->cfg->broker_url,
		.el = &d->el, .sup = &d->sup, .now = clock_mono_ms(),
		.started_at = d->started_at, .stopping = d->stopping, .resign_pending = d->resign_pending,
		.status_text = text, .sent = d->sent, .send_errors = d->send_errors, .received = d->received,
		.dropped = d->dropped, .drop_names = drop_names, .ndrop = DROP_COUNT,
		.newer_received = d->newer_received, .newer_unknown_type = d->newer_unknown_type,
		.hb_jitter_last_ms = d->hb_jitter_last, .hb_jitter_max_ms = d->hb_jitter_max, .hb_count = d->hb_count,
		.ctl_served = d->ctl.served, .ctl_refused = d->ctl.refused,
		.cache_entries = d->cache ? cache_entries(d->cache) : 0,
	};
}

static int control_handler_cb(void *ud, const struct ctl_request *req, struct ctl_out *out)
{
	struct daemon *d = ud;
	char text[256];
	struct report_view v = view(d, text, sizeof(text));

	switch (req->cmd) {
	case CTL_PING:
		ctl_printf(out, "pong\n");
		return 0;
	case CTL_STATUS:
		report_status(&v, req->json, out);
		return 0;
	case CTL_PEERS:
		report_peers(&v, req->json, out);
		return 0;
	case CTL_METRICS:
		report_metrics(&v, out);
		cache_metrics(d->cache, out);
		return 0;
	case CTL_LOCATE:
		return report_locate(&v, req->arg, out);
	case CTL_RESIGN:
		if (d->el.state != EL_MASTER || d->resign_pending) {
			ctl_printf(out, "this node is %s, not master", election_state_name(d->el.state));
			return -1;
		}
		log_info("resign requested on the control socket");
		ctl_printf(out, "resigning: stopping the broker, then handing over\n");
		begin_resign(d, NULL, d->el.timeout);
		return 0;
	case CTL_SWITCHOVER: {
		enum el_state old = d->el.state;
		char om[WIRE_ID_MAX + 1];
		unsigned a;
		if (d->stopping || d->resign_pending) {
			ctl_printf(out, "a handover is already under way");
			return -1;
		}
		memcpy(om, d->el.master, sizeof(om));
		a = election_request_handover(&d->el, req->arg, clock_mono_ms());
		if ((a & (EL_SEND_HANDOVER | EL_HANDOVER_REQUESTED)) == 0) {
			ctl_printf(out, "switchover refused: %s", d->el.reason);
			return -1;
		}
		log_info("switchover to %s requested on the control socket", d->el.handover_target);
		ctl_printf(out, "switchover: %s hands over to %s\n", d->el.state == EL_MASTER ? d->node : d->el.master,
			   d->el.handover_target);
		act(d, a, old, om);
		return 0;
	}
	case CTL_CACHE:
		if (strcmp(req->arg, "address") == 0 && req->argc == 1) {
			ctl_printf(out, "%s\n", cache_address(d->cache));
			return 0;
		}
		if (strcmp(req->arg, "list") == 0 && req->argc == 1) {
			cache_list(d->cache, out);
			return 0;
		}
		ctl_printf(out, "cache takes address or list here (failoverctl speaks the memcached protocol for "
				"get, put and del)");
		return -1;
	}
	ctl_printf(out, "unhandled command");
	return -1;
}

static void usr1_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	char text[256];
	struct report_view v = view(d, text, sizeof(text));
	struct ctl_out o = {0};
	char *line, *save = NULL;

	(void)loop;
	(void)revents;
	report_status(&v, 0, &o);
	report_metrics(&v, &o);
	log_info("SIGUSR1: state follows");
	for (line = o.p ? strtok_r(o.p, "\n", &save) : NULL; line != NULL; line = strtok_r(NULL, "\n", &save))
		if (line[0] != '#')
			log_info("state: %s", line);
	free(o.p);
}

static int setup(struct daemon *d, const struct config *c)
{
	char err[512];
	struct el_params p;
	struct cache_params cp;
	struct sup_params sp;
	struct transport_params tp;

	d->cluster = wire_cluster_digest(c->cluster_name);
	if (state_mkdir(c->cluster_state_dir) != 0) {
		log_err("cannot create the state directory %s: %s", c->cluster_state_dir, strerror(errno));
		return -1;
	}
	/* first: a second launcher with this socket is another instance's
	 * configuration, refused before it touches anything else */
	{
		char dir[256], *slash;
		int rc;
		snprintf(dir, sizeof(dir), "%s", c->control_socket);
		slash = strrchr(dir, '/');
		if (slash != NULL && slash != dir) {
			*slash = '\0';
			state_mkdir(dir);
		}
		rc = control_open(&d->ctl, d->loop, c->control_socket, (unsigned)c->control_mode, control_handler_cb, d,
				  err, sizeof(err));
		if (rc != 0) {
			log_err("%s", err);
			return rc == -2 ? -2 : -1;
		}
	}
	if (state_node_id(c->cluster_state_dir, c->cluster_node, d->node, sizeof(d->node), err, sizeof(err)) != 0) {
		log_err("%s", err);
		return -1;
	}
	{
		/* wall-clock ms in the high 48 bits, 16 random bits: a later boot
		 * has a larger id, which replay protection relies on */
		uint16_t r;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			log_err("getrandom: %s", strerror(errno));
			return -1;
		}
		d->boot = clock_wall_ms() << 16 | r;
	}
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
	snprintf(d->status_path, sizeof(d->status_path), "%s/status", c->cluster_state_dir);
	p = settings_election(c, d->node);
	p.initial_term = state_read_term(c->cluster_state_dir);
	election_init(&d->el, &p, clock_mono_ms());
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
	supervisor_init(&d->sup, d->loop, &sp, d->node,
			(struct sup_hooks){.ud = d, .changed = sup_changed, .down = sup_down, .gave_up = sup_gave_up});
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

int daemon_run(struct config *c, const char *ini, const struct strlist *overrides)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
	uint64_t wd;
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
	ev_io_init(&d->rx_w, rx_cb, d->tr.fd, EV_READ);
	d->rx_w.data = d;
	ev_io_start(loop, &d->rx_w);
	if (d->tr.multicast)
		log_info("Started listener on %s:%ld%s%s", c->cluster_group, c->cluster_port, d->tr.ifname[0] ? " via " : "",
			 d->tr.ifname);
	else
		log_info("Started listener on port %ld (unicast, %zu peers)", c->cluster_port, d->tr.npeers);

	{
		/* one heartbeat goes out at once (below); the timer's first one at
		 * a random point of the interval, so launchers started together
		 * do not send in step */
		uint32_t r = 0;
		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
			r = (uint32_t)getpid() * 2654435761u;
		ev_timer_init(&d->hb_w, hb_cb, (double)(r % 1000) / 1000.0 * (double)c->cluster_delay / 1000.0,
			      c->cluster_delay / 1000.0);
	}
	d->hb_w.data = d;
	ev_timer_start(loop, &d->hb_w);
	ev_timer_init(&d->tick_w, tick_cb, 0., election_tick_ms(&d->el) / 1000.0);
	d->tick_w.data = d;
	ev_timer_start(loop, &d->tick_w);
	ev_init(&d->resign_w, resign_cb);
	d->resign_w.data = d;
	ev_init(&d->status_w, status_cb);
	d->status_w.data = d;
	ev_signal_init(&d->term_w, stop_cb, SIGTERM);
	d->term_w.data = d;
	ev_signal_start(loop, &d->term_w);
	ev_signal_init(&d->int_w, stop_cb, SIGINT);
	d->int_w.data = d;
	ev_signal_start(loop, &d->int_w);
	ev_signal_init(&d->hup_w, hup_cb, SIGHUP);
	d->hup_w.data = d;
	ev_signal_start(loop, &d->hup_w);
	ev_signal_init(&d->usr1_w, usr1_cb, SIGUSR1);
	d->usr1_w.data = d;
	ev_signal_start(loop, &d->usr1_w);
	ev_init(&d->extend_w, extend_cb);
	d->extend_w.data = d;
	wd = notify_watchdog_usec();
	if (wd > 0) {
		/* from the event loop itself: a hung loop stops the pings */
		ev_timer_init(&d->wd_w, watchdog_cb, 0., wd / 2e6);
		d->wd_w.data = d;
		ev_timer_start(loop, &d->wd_w);
		log_info("systemd watchdog every %llu ms", (unsigned long long)(wd / 2000));
	}
	signal(SIGPIPE, SIG_IGN);

	send_packet(d, WIRE_HEARTBEAT);
	log_info("Started broadcaster");
	log_info("Failover Manager has started");
	update_status(d);

	ev_run(loop, 0);

	rc = d->exit_code;
	d->stopped = 1;
	write_status(d);
	supervisor_close(&d->sup);
	cache_close(d->cache);
	control_close(&d->ctl);
	transport_close(&d->tr);
	log_info("stopped");
	config_free(d->cfg);
	free(d);
	return rc;
}
