/*
 * The daemon's state, shared by daemon.c (watchers, callbacks, carrying
 * out decisions) and setup.c (opening everything at start).
 */
#ifndef FL_DAEMON_INT_H
#define FL_DAEMON_INT_H

#include <ev.h>

#include "auth.h"
#include "cache.h"
#include "config.h"
#include "control.h"
#include "fence.h"
#include "health.h"
#include "histwriter.h"
#include "heartbeat.h"
#include "http.h"
#include "etcd_backend.h"
#include "failsafe.h"
#include "link.h"
#include "mastership.h"
#include "pause.h"
#include "node.h"
#include "reload.h"
#include "replay.h"
#include "report.h"
#include "status.h"
#include "statewriter.h"
#include "supervisor.h"

/* Another process with our node id (conflict.c). */
struct conflict {
	struct replay_dup dup;      /* held: EL_HOLD_DUPLICATE set, we are the older */
	char addr[16];              /* its address */
	uint64_t packets;           /* its packets heard, ever */
};

/* failing <-> healthy history entries kept per HIST_FLAPS_WINDOW_MS */
#define HIST_FLAPS_MAX 6
#define HIST_FLAPS_WINDOW_MS (10 * 60 * 1000)

struct daemon {
	struct ev_loop *loop;
	struct config *cfg;         /* owned; replaced by a reload */
	const char *ini;            /* for reloads */
	const struct strlist *overrides;
	struct heartbeat hb;        /* the cluster backend: the election (with etcd: a mirror for reports) */
	struct cluster cl;
	struct etcd_backend *etcd;  /* cluster.backend = etcd (etcd_node.c); NULL: heartbeats */
	int failsafe;               /* with etcd: cluster.etcd_failsafe, beacons on the cluster socket */
	struct failsafe fs;         /* what those beacons say (failsafe.h) */
	int fs_was_active;          /* a failsafe lead, as last logged */
	int fs_hold_logged;         /* a campaign held for a master heard, logged */
	char fs_weakest[WIRE_ID_MAX + 1]; /* the member whose word ran out first */
	int etcd_silent;            /* with etcd: no answer for a lease; hb.el.reason says since when and why */
	int etcd_writing;           /* with etcd: a write of the term file is under way */
	uint64_t etcd_written;      /* the term last asked to be kept */
	char etcd_cache_addr[64];   /* with etcd: "IP:port" of our cache our record gives ("": none yet) */
	int etcd_cache_warned;      /* with etcd: said once that there is no address to give */
	struct mastership ms;
	struct link link;           /* its packets: socket, filter, signing */
	struct supervisor sup;
	struct health health;       /* the broker's checks while it serves; the precheck */
	struct fence fence;         /* stops the broker when the loop cannot (fence.h) */
	uint64_t fence_at;          /* the fence's deadline as last published */
	struct cache *cache;
	struct auth_keys keys;
	int auth;                   /* cluster.auth = hmac */
	char node[WIRE_ID_MAX + 1];
	uint64_t boot, seq;
	struct status_file status;
	struct control ctl;
	struct http http;           /* [http] listen: off when http.mhd is NULL */
	ev_io rx_w;
	ev_io log_w[2];             /* stdout, stderr writable: log.c's queue */
	ev_timer hb_w, tick_w, wake_w, status_w, wd_w, extend_w;
	uint64_t tick_at;           /* when tick_w fires, as last armed (arm_tick) */
	ev_timer statedir_w; /* state_dir removed while running: made again */
	ev_prepare reports_w;
	ev_signal term_w, int_w, hup_w, usr1_w;
	uint64_t started_at, last_hb_at, hb_count;
	uint64_t hb_due_at;     /* when the heartbeat timer is due next (its lateness) */
	int hb_echoed;          /* echo() answered the master or moved the timer (daemon.c) */
	double hb_jitter_last, hb_jitter_max;
	uint64_t noise_warned_at; /* the heartbeat timer ran late enough to warn (daemon.c) */
	int stopped;                /* the loop has ended */
	/* the election's promises, written off the loop (statewriter.h); and
	 * whether the log last said that they cannot be kept (EL_HOLD_PERSIST) */
	struct state_writer *writer;
	int persist_held;
	char persist_error[128];
	struct conflict conflict;
	/* the failover history (histwriter.h; NULL: its thread did not
	 * start), and the health verdict it last recorded */
	struct history_log *history;
	int hist_health;
	/* failing <-> healthy entries recorded lately (monotonic ms, a ring),
	 * and those left out since: a flapping check must not push the
	 * failovers out of the history */
	uint64_t hist_flaps[HIST_FLAPS_MAX];
	unsigned hist_flaps_next, hist_flaps_skipped;
	int exit_code;              /* daemon_run's, when not 0 */
	/* maintenance mode (pausenode.c): the cluster's record as this node
	 * knows it; unknown: the state file did not read (paused until the
	 * cluster or an operator says); acted: what mastership and the
	 * supervisor were last told */
	struct pause_rec pause;
	int pause_unknown, pause_acted;
};

/* Opens the state directory, the control socket, the cluster's parts, the
 * cache, the supervisor and the socket.  0, -1 (a failure: restarting may
 * help) or -2 (a configuration error). */
int daemon_setup(struct daemon *d, const struct config *c, control_handler handler);
/* daemon.c: what the HTTP endpoint's routes depend on, and their bodies */
void daemon_http_facts(void *ud, struct http_facts *f);
void daemon_http_body(void *ud, enum http_body b, struct ctl_out *o);

/* Applies a checked reload (reload_prepare) whole; takes its configuration. */
void daemon_reconfigure(struct daemon *d, struct reload *r);

/* actions.c: the view the reports and the status are made from (text:
 * the status line, or NULL) */
struct report_view daemon_view(struct daemon *d, char *text, size_t len);
/* The status file and systemd's line, now. */
void daemon_publish(struct daemon *d);
/* One packet of the heartbeat protocol. */
void daemon_send(struct daemon *d, uint8_t type);
void daemon_notice(struct daemon *d);
/* The supervisor's reports since the last look, fed into o: 1 when any. */
int daemon_take_reports(struct daemon *d, struct node_out *o);
/* The reports the supervisor's own callbacks left, carried out (once per
 * loop iteration, from the prepare watcher). */
void daemon_take_pending(struct daemon *d);
/* The writer's report on the last write (statewriter.h). */
void daemon_persisted(struct state_writer *w, int ok, int err, void *ud);
/* Carries out o, then whatever the supervisor reports back. */
void daemon_carry_out(struct daemon *d, struct node_out *o);
/* The supervisor's reports not yet taken, then ev (NULL: only what the
 * cluster backend queued), into o.  Every event goes in this way. */
void daemon_feed(struct daemon *d, const struct ms_event *ev, struct node_out *o);
/* One event (NULL: only what the cluster backend queued) and all that
 * follows from it. */
void daemon_step(struct daemon *d, const struct ms_event *ev);

/* conflict.c: a packet of another process with our node id (the filter's
 * FILTER_DUPLICATE), from `from`: the newer of the two (replay.h) exits
 * with status 1 naming the other's address; the older holds (no claim, no
 * vote: EL_HOLD_DUPLICATE) until daemon_conflict_tick, at every tick,
 * finds the other silent for one failure timeout. */
/* etcd_node.c: the etcd backend set up (0, -1, or -2: a configuration
 * error), its view mirrored and this node's record put after each step,
 * and closed. */
int daemon_etcd_setup(struct daemon *d, const struct config *c);
void daemon_etcd_after(struct daemon *d);
void daemon_etcd_mirror(struct daemon *d);
/* The highest term etcd showed, kept in state_dir (the heartbeat backend
 * and a fresh etcd go on from it); the writer's report on it. */
void daemon_etcd_persist(struct daemon *d);
void daemon_etcd_persisted(struct daemon *d, int ok, int err);
/* How often the fence's deadline is renewed at the longest (ms). */
uint64_t daemon_renew_interval(const struct daemon *d);
void daemon_etcd_close(struct daemon *d);
/* With etcd_failsafe: a beacon out (the heartbeat timer), one in (an
 * authenticated packet of another node). */
void daemon_failsafe_beat(struct daemon *d);
void daemon_failsafe_packet(struct daemon *d, const struct wire_msg *m);

/* pausenode.c: maintenance mode.  The record kept in state_dir read and
 * acted on (at start); paused (the record, or not knowing it); a record
 * heard (an accepted heartbeat, or etcd's key) merged; failoverctl pause
 * or resume (0, or -1 refused, the answer in out). */
void daemon_pause_start(struct daemon *d);
int daemon_paused(const struct daemon *d);
void daemon_pause_heard(struct daemon *d, const struct pause_rec *r, const char *from);
void daemon_pause_packet(struct daemon *d, const struct wire_msg *m);
int daemon_pause_request(struct daemon *d, int paused, struct ctl_out *out);
/* etcd_node.c: the new record written to etcd (compare-and-swap) */
int daemon_etcd_pause(struct daemon *d, const struct pause_rec *r, struct ctl_out *out);

void daemon_duplicate(struct daemon *d, const struct wire_msg *m, const struct sockaddr_in *from);
void daemon_conflict_tick(struct daemon *d);

#endif
