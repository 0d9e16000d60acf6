/*
 * Health checks of the master's broker, and the precheck that says
 * whether this node may lead.  I/O on the event loop; the decisions are
 * health_eval's (fall and rise) and mastership's (what a failure does).
 *
 * A check runs every configured level at once and passes when all pass:
 *  - tcp: host:port accepts a connection (non-blocking connect);
 *  - command: a shell command (spawn(), its own process group) exits 0;
 *  - probe: a long-lived helper started with the checks answers
 *    "check N" on its stdin with "ok N [detail]" or "fail N why" on its
 *    stdout (a deep probe: a message through the broker).  Its stderr is
 *    logged.  A helper that does not answer in time is killed (its group)
 *    and a new one started; one that exits is started again.
 * A check not done within timeout fails and what it ran is killed.
 * Checks run while the broker serves (health_start after its readiness,
 * health_stop when it stops), one at a time: the next starts interval ms
 * after the last ended.  Nothing here blocks the loop.
 *
 * The precheck is a shell command run every precheck_interval ms whatever
 * the role; exit 0: this node may lead.  Its first result comes before the
 * node may claim (the caller treats "not known yet" as not eligible).
 *
 * Commands and the helper get FAILOVER_NODE, _CLUSTER, _TERM, _ROLE,
 * _BROKER_URL and _CHECK_TIMEOUT_MS (command.h), and the launcher's
 * environment without its relation to systemd.
 */
#ifndef FL_HEALTH_H
#define FL_HEALTH_H

#include <ev.h>
#include <stdint.h>
#include <sys/types.h>

#include "health_eval.h"
#include "linesplit.h"

/* The first probe helper for a broker, until it answered once, is given
 * this long from its start before its silence fails a check: a JVM
 * starting on a busy host must not make a healthy broker unhealthy (and
 * its replacement the next one, and so on).  One started after another
 * was killed for not answering has no such grace.  A helper answers "fail"
 * itself where it can. */
#define HEALTH_PROBE_START_MS 10000

struct health_params {
	char *tcp, *command, *probe; /* owned; "" for none */
	char *precheck;              /* owned; "" for none */
	char *cluster, *url;         /* owned: FAILOVER_CLUSTER, FAILOVER_BROKER_URL */
	uint64_t interval_ms, timeout_ms, precheck_interval_ms;
	unsigned fall, rise;
};

void health_params_free(struct health_params *p);

/* What changed, for mastership (HEALTH_* of health_eval.h). */
struct health_report {
	enum health_state state;
	unsigned passes;            /* in a row */
	char reason[HEALTH_REASON_MAX];
};

#define HEALTH_REPORTS_MAX 16

/* One command run with a time limit: a check's command, the precheck. */
struct health_cmd {
	struct ev_loop *loop;
	pid_t pid;                   /* 0: none running (reaped) */
	int done;                    /* its result is in (exit, or the time ran out) */
	int ok;
	char why[HEALTH_REASON_MAX];
	char last[120];              /* the last line it printed */
	ev_child child_w;
	ev_io io_w[2];
	int fd[2];
	struct linesplit lines[2];
	void (*on_done)(void *ud);
	void *ud;
	const char *what;            /* "command", "precheck" */
};

struct health {
	struct ev_loop *loop;
	struct health_params p;
	struct health_eval ev;
	char node[65];
	uint64_t term;
	int active;                  /* the broker serves: checks run */
	ev_timer next_w, timeout_w;
	/* the check in flight */
	int busy;
	unsigned waiting;            /* HEALTH_L_* bits not answered yet */
	int failed;
	int no_result;               /* a level had nothing to say (a probe helper still starting) */
	char why[HEALTH_REASON_MAX];
	uint64_t started_at, seq;
	int tcp_fd;
	ev_io tcp_w;
	struct health_cmd cmd;
	/* the probe helper */
	pid_t probe_pid;             /* 0: none (reaped) */
	int probe_killed;            /* we killed it (not answering, stopped): not its own exit */
	uint64_t probe_started_at;   /* monotonic ms */
	int probe_answered;          /* it answered a check since it started */
	int probe_grace;             /* the first helper for this broker (or a new command): it may be slow to start */
	int probe_in, probe_out, probe_err;
	ev_child probe_cw;
	ev_io probe_ow, probe_ew;
	struct linesplit probe_lines, probe_elines;
	/* reports not yet taken, oldest first */
	struct health_report reports[HEALTH_REPORTS_MAX];
	unsigned report_head, nreports;
	/* figures */
	uint64_t last_ms;            /* the last check's duration */
	uint64_t probe_us;           /* the probe's last round trip (its rtt_us=, else the answer's time) */
	uint64_t probe_starts;
	uint64_t level_fail[3];      /* failed checks per level: tcp, command, probe */
	/* the precheck */
	struct health_cmd pre;
	ev_timer pre_w;
	int pre_known, pre_ok, pre_changed;
	char pre_why[HEALTH_REASON_MAX];
	uint64_t pre_runs, pre_failures;
};

/* Takes over p's strings (*p is left empty). */
void health_init(struct health *h, struct ev_loop *loop, struct health_params *p, const char *node);
/* New settings (a reload), taken over: the next check uses them; a
 * changed probe command restarts the helper. */
void health_set_params(struct health *h, struct health_params *p);
/* Anything to check at all. */
int health_configured(const struct health *h);
/* The broker serves (under term): checks start, the first after interval. */
void health_start(struct health *h, uint64_t term);
/* The broker stops or is gone: no more checks, the check in flight and the
 * helper killed, the state back to unknown (no report). */
void health_stop(struct health *h);
/* The oldest report not yet taken: 1, or 0 when there is none. */
int health_take_report(struct health *h, struct health_report *r);
/* The precheck's result changed since the last call: 1 with ok and why. */
int health_take_precheck(struct health *h, int *ok, char *why, size_t len);
/* For status: "healthy", "failing 1 of 3 (why)", ... or "off". */
void health_describe(const struct health *h, char *out, size_t len);
void health_close(struct health *h);

#endif
