/*
 * Broker supervision.  Mastership says whether the broker is wanted; the
 * supervisor reconciles the actual process with that: it starts the broker
 * (through spawn()), watches its readiness and output, restarts it with
 * back-off when it dies unexpectedly, gives up after too many crashes, and
 * stops it as an escalation (SIGTERM to its group, SIGKILL after
 * stop_timeout).
 */
#ifndef FL_SUPERVISOR_H
#define FL_SUPERVISOR_H

#include <ev.h>
#include <stdint.h>
#include <sys/types.h>

#include "command.h"
#include "linesplit.h"

enum sup_state {
	SUP_IDLE,     /* no broker process, none wanted (or given up) */
	SUP_STARTING, /* spawned, readiness not seen yet */
	SUP_SERVING,  /* ready: serving clients */
	SUP_STOPPING, /* SIGTERM sent to its group, SIGKILL armed */
	SUP_BACKOFF,  /* died unexpectedly; a restart is scheduled */
};

/* What the supervisor reports.  It never calls up: the caller takes the
 * reports (supervisor_take_report) after each call into the supervisor and
 * once per loop iteration, for what its own callbacks did. */
enum sup_report_kind {
	SUP_REPORT_CHANGED, /* state, pid or counters changed */
	SUP_REPORT_UP,      /* a broker process exists */
	SUP_REPORT_READY,   /* it serves */
	SUP_REPORT_DOWN,    /* no broker process any more */
	SUP_REPORT_FAILED,  /* too many failures: it is no longer wanted; why */
};

struct sup_report {
	enum sup_report_kind kind;
	char why[160];
};

#define SUP_REPORTS_MAX 64

/* The supervisor's settings.  The strings and the command's settings are
 * owned: supervisor_set_params takes them over, so nothing here points into
 * a configuration that a reload frees. */
struct sup_params {
	uint64_t stop_timeout_ms;    /* SIGTERM to the group, SIGKILL after this */
	uint64_t restart_min_ms;     /* first restart delay, doubling... */
	uint64_t restart_max_ms;     /* ...up to this */
	uint64_t restart_window_ms;  /* crashes counted within this */
	unsigned max_restarts;       /* more crashes than this in the window: give up */
	uint64_t ready_timeout_ms;   /* not ready by then: a failed start */
	char *ready_tcp;             /* host:port, or "" */
	char *ready_pattern;         /* text in an output line, or "" */
	char *cluster;               /* FAILOVER_CLUSTER */
	char *output;                /* "inherit", or a file the output is appended to (read at init only) */
	struct command_params cmd;   /* what the broker's command is built from at each start */
};

void sup_params_free(struct sup_params *p);

#define SUP_MAX_CRASHES 128

struct supervisor;

struct sup_stream {
	ev_io w;
	struct supervisor *owner;
	int fd;
	struct linesplit lines;
	int is_err;
	int warm;                 /* a warm standby's: logged as its, never a readiness line */
};

/*
 * broker.warm_standby: a JVM started with the broker's command but held
 * before the broker's main class (WarmStandby.java), its classes loaded,
 * touching no port and no file of the broker's.  start() makes it the
 * broker ("go TERM" on its stdin, once the fence holds it) instead of a
 * cold start; one is kept while the node is idle or serving (a spare for
 * a crashed broker), none while a broker starts or stops.
 */
struct sup_warm {
	pid_t pid;                /* 0: none */
	int pidfd, in_fd;         /* -1: none */
	char *dump;               /* the class list it writes, or NULL */
	uint64_t spawned_at;      /* monotonic ms */
	int killed;               /* we killed it (or its exec failed): never made the broker */
	int ready;                /* it said "failover-warm: ready" */
	uint64_t sig;             /* digest of its argv, environment and cwd (a reload keeps an equal one) */
	int noinit;               /* a static initializer failed: load only from now on */
	ev_child child_w;
	/* keep_warm again when it fires, and no standby while it runs; two
	 * uses: the spare's delay after a broker serves (SUP_SPARE_AFTER_MS,
	 * set_state: it replaces a retry pending), and the retry after a
	 * standby could not be started or exited by itself (restart_max; 0
	 * after a failed initializer).  A reload stops it. */
	ev_timer again_w;
	struct sup_stream out, err;
};

struct supervisor {
	struct ev_loop *loop;
	/* gives each new broker to the fence before it may exec (pidfd, pid);
	 * nonzero: not held, and the broker is not run */
	int (*hold)(void *ud, int pidfd, pid_t pid);
	void *hold_ud;
	struct sup_params p;
	struct sup_report reports[SUP_REPORTS_MAX]; /* not yet taken, oldest first */
	unsigned report_head, nreports;
	char node[64];
	char cache_address[96];   /* host:port of the replicated cache, for the broker */
	int want;
	uint64_t term;
	enum sup_state state;
	pid_t pid;
	int pidfd;                /* the broker's pidfd (opened before it can be reaped), or -1 */
	int term_sent;            /* our SIGTERM went out: exit 143 is clean */
	int restart_pending;      /* stopping to start again (supervisor_restart) */
	/* maintenance (supervisor_hold): a broker that exits or fails to
	 * start is not started again; held_down: it did, and stays down */
	int maint_hold, held_down;
	uint64_t started_at;      /* monotonic ms */
	uint64_t stop_at;         /* our SIGTERM went out (monotonic ms) */
	int ready_failed;         /* killed by us: not ready within ready_timeout */
	uint64_t ready_at;
	uint64_t starts, restarts, crashes_total, clean_stops;
	uint64_t crash_at[SUP_MAX_CRASHES];
	unsigned ncrash;
	char last_exit[128];
	/* the readiness test of the running start: a reload changes p, not
	 * these (a start probes what it was started with) */
	char *run_ready_tcp, *run_ready_pattern; /* owned; NULL before a start */
	uint64_t run_ready_timeout_ms;
	ev_child child_w;
	ev_timer kill_w, backoff_w, ready_w, probe_w;
	ev_io connect_w;
	int probe_fd;
	struct sup_stream out, err;
	int outfile_fd;           /* broker_output file, or -1 */
	struct sup_warm warm;
	uint64_t warm_starts;     /* brokers started from a warm standby */
	uint64_t jvm_seq;         /* names the class lists being written */
	/* the running broker's class list being written and where it goes
	 * once that broker served (broker.warm_standby); NULL: none */
	char *run_dump, *run_list;
	int closing;              /* the launcher is stopping: no new standby */
};

/* Takes over p (its strings and command settings; *p is left empty). */
void supervisor_init(struct supervisor *s, struct ev_loop *loop, struct sup_params *p, const char *node);
/* New settings (a reload), taken over like supervisor_init's; a running
 * broker keeps its command until its next start, and p->output is ignored
 * (the output file stays the one opened at init). */
/* broker.ready_tcp's host looked up once, into a numeric address, by the
 * caller before the loop needs it (at start; at a reload, once): the probe
 * itself never looks a name up.  0, or -1 with the reason in err. */
int supervisor_resolve_ready(struct sup_params *p, char *err, size_t len);
void supervisor_set_params(struct supervisor *s, struct sup_params *p);
/* The broker is wanted (master) or not.  term goes into its environment. */
void supervisor_want(struct supervisor *s, int up, uint64_t term);
/* Stop the broker and start it again, wanted, under term (a health
 * restart, a degraded master's).  One given up on starts again after
 * restart_max ms with its crashes forgotten.  Call before supervisor_want
 * (which would start one given up on at once). */
void supervisor_restart(struct supervisor *s, uint64_t term);
/* Maintenance mode: while on, a broker that exits (or fails to start)
 * stays down, wanted or not: no back-off, no restart, no give-up report;
 * a restart scheduled is dropped.  Off: a broker wanted and held down
 * starts again, with a clean slate.  A broker running is left alone. */
void supervisor_hold(struct supervisor *s, int on);
/* The oldest report not yet taken: 1, or 0 when there is none. */
int supervisor_take_report(struct supervisor *s, struct sup_report *r);
/* A process exists (starting, serving or stopping). */
int supervisor_alive(const struct supervisor *s);
/* Crashes counted in the window at time now; for status. */
unsigned supervisor_recent_crashes(const struct supervisor *s, uint64_t now);
const char *supervisor_state_name(enum sup_state st);
void supervisor_close(struct supervisor *s);
/* The launcher is stopping: its warm standby goes, and none is started again. */
void supervisor_closing(struct supervisor *s);

#endif
