/*
 * Mastership: whether this node runs its broker, decided in one place.
 *
 * Pure: no I/O, no clock reads, no logging.  Inputs are events (what the
 * cluster backend says about leadership, what the broker supervisor
 * reports, what operators and signals ask) with the monotonic time; the
 * output of each is an action set that the caller carries out: want the
 * broker up or down, tell the cluster to resign or to ask for a handover,
 * run a hook, persist a term, write the status, end the loop.  Nothing
 * here calls anything: the supervisor and the cluster never call back up.
 *
 *   FOLLOWING --leader is us--> MASTER --lost / outranked--> FOLLOWING
 *   MASTER --resign, switchover, handover asked, broker failed, unhealthy-->
 *       HANDING_OVER --broker down--> RESIGNING --copies sent--> FOLLOWING
 *
 * A failure of the master's broker (it keeps crashing, or its health
 * checks fail) gives the lead away only to someone: health.action =
 * restart first restarts the broker here, max_restarts times in a row;
 * and with no live follower that may lead (event.no_standby) the master
 * stays and restarts its broker, degraded, rather than resign to nobody,
 * unless it may not lead itself (its precheck fails): a broker on a node
 * that cannot serve is never started again.
 *   any --stop--> EXITING --broker down (and, as leader, resign sent)--> EXITED
 *
 * The broker runs in MASTER only: every other state wants it down, and a
 * resignation goes out only once the broker is down (never two brokers).
 */
#ifndef FL_MASTERSHIP_H
#define FL_MASTERSHIP_H

#include <stddef.h>
#include <stdint.h>

#define MS_ID_MAX 64
#define MS_REASON_MAX 200

enum ms_state {
	MS_FOLLOWING,    /* another node leads, or none: no broker here */
	MS_MASTER,       /* we lead: the broker is wanted */
	MS_HANDING_OVER, /* giving up the lead: the broker is stopped first */
	MS_RESIGNING,    /* the cluster was told; its copies are still going out */
	MS_EXITING,      /* stopping: the broker is stopped, then a leader resigns */
	MS_EXIT_RESIGNING, /* stopping: the resignation's copies are going out */
	MS_EXITED,       /* nothing left: the caller ends its loop */
	MS_STATE_COUNT,
};

/* Everything that can change mastership.  Some have no producer yet; each
 * is handled here already, so that a producer only has to emit it. */
enum ms_input {
	/* from the cluster backend (cluster.h) */
	MS_IN_LEADER,          /* node leads at term (node == self: we were elected) */
	MS_IN_NO_LEADER,       /* nobody leads; reason */
	MS_IN_LEADERSHIP_LOST, /* we led and do not any more; reason */
	MS_IN_FENCE,           /* we may lead until deadline (a lease renewed); 0: no deadline */
	MS_IN_PEERS_CHANGED,   /* membership changed: the status shows it, later */
	MS_IN_HANDOVER_ASKED,  /* a peer asks us, as leader, to hand over to target */
	MS_IN_RESIGN_SENT,     /* our resignation has gone out in full */
	/* as leader: another leader met us and stepped down (node; a split
	 * healed): the promote hook runs again, so that whatever the other's
	 * hook told in the split is put right */
	MS_IN_RIVAL_YIELDED,
	/* from the broker supervisor */
	MS_IN_BROKER_UP,       /* a broker process exists */
	MS_IN_BROKER_READY,    /* it serves */
	MS_IN_BROKER_DOWN,     /* no broker process any more */
	MS_IN_BROKER_FAILED,   /* it keeps failing: give the lead away; reason */
	/* from health checks */
	MS_IN_HEALTHY,
	MS_IN_HEALTH_FAILING,  /* failing, not yet past its threshold */
	MS_IN_UNHEALTHY,       /* past its threshold: give the lead away; reason */
	/* from the precheck: may this node lead at all */
	MS_IN_ELIGIBLE,
	MS_IN_INELIGIBLE,      /* reason */
	/* from operators */
	MS_IN_PAUSE,           /* maintenance: no claims, no handovers; a master keeps its broker */
	MS_IN_RESUME,
	MS_IN_STOP,            /* SIGTERM: stop the broker, resign, exit; twice: exit now */
	MS_IN_RESIGN,          /* give the lead to the best follower */
	MS_IN_SWITCHOVER,      /* hand the lead to target ("" = the best) */
	/* time passes (fence deadlines) */
	MS_IN_TIME,
	MS_INPUT_COUNT,
};

struct ms_event {
	enum ms_input type;
	char node[MS_ID_MAX + 1];   /* MS_IN_LEADER */
	char target[MS_ID_MAX + 1]; /* MS_IN_HANDOVER_ASKED, MS_IN_SWITCHOVER */
	uint64_t term;              /* MS_IN_LEADER */
	uint64_t deadline;          /* MS_IN_FENCE, monotonic ms */
	/* MS_IN_HEALTHY: passed checks in a row (HEALTH_STABLE_CHECKS or more:
	 * the broker has recovered, its restarts are forgotten) */
	unsigned count;
	/* set by node_feed for every event (the caller's value is ignored):
	 * 1 when the backend knows that no live follower may lead (none
	 * eligible, all held down); 0 when one may, or it cannot tell */
	int no_standby;
	char reason[MS_REASON_MAX];
};

/* Passed checks in a row after which a restarted broker counts as
 * recovered: its consecutive health restarts start again from 0. */
#define MS_HEALTH_STABLE_CHECKS 10

enum ms_health_action {
	MS_HEALTH_RESTART, /* unhealthy: restart the broker here, max_restarts times in a row, then resign */
	MS_HEALTH_RESIGN,  /* unhealthy: resign */
};

/* Commands to the cluster backend (cluster.h), carried out by the caller. */
enum ms_cluster_cmd {
	MS_CL_NONE,
	MS_CL_RESIGN,   /* step down naming target ("" = the best), no claim for holddown_ms */
	MS_CL_HANDOVER, /* ask for a handover to target (as follower: ask the leader) */
};

enum ms_status { MS_STATUS_KEEP, MS_STATUS_LATER, MS_STATUS_NOW };

struct ms_transition {
	enum ms_state from, to;
	char reason[MS_REASON_MAX];
	int forfeit; /* the lead given up at its fence deadline, not by choice */
};

struct ms_actions {
	/* always set: the broker's wanted state, and the term it runs under */
	int want_broker;
	uint64_t broker_term;
	/* always set: may the cluster make this node leader (claim, vote for
	 * itself, be named successor) */
	int claimable;
	enum ms_cluster_cmd cluster;
	char target[MS_ID_MAX + 1];
	uint64_t holddown_ms;
	/* the lead taken (MASTER entered) or given up: the hooks run, and the
	 * log says "Promoted to Master node" / "Demoted from master: why".  The
	 * lead is given up when the cluster is told (a resignation goes out
	 * only after the broker is down) or when the cluster says it is lost */
	int hook_promote, hook_demote;
	char demote_reason[MS_REASON_MAX];
	uint64_t persist_term;      /* 0: nothing to keep */
	enum ms_status status;
	int exit;                   /* end the loop */
	/* stop the broker and start it again on this node (a health restart,
	 * or no standby can take over: degraded) */
	int restart_broker;
	/* for a request (resign, switchover): -1 refused, with why */
	int refused;
	char why[MS_REASON_MAX];
	/* the state changes, in order, for the caller's log */
	size_t ntransitions;
	struct ms_transition transitions[4];
	/* call again with MS_IN_TIME by then (0: no need) */
	uint64_t wake_at;
};

struct ms_params {
	char self[MS_ID_MAX + 1];
	uint64_t handover_holddown_ms; /* after a resign or switchover: the failure timeout */
	uint64_t failed_holddown_ms;   /* after a broker or health failure: broker.holddown */
	enum ms_health_action health_action;
	unsigned max_restarts;         /* health restarts in a row before resigning */
};

struct mastership {
	struct ms_params p;
	enum ms_state state;
	char reason[MS_REASON_MAX];   /* why the state last changed */
	char leader[MS_ID_MAX + 1];   /* who leads, as the cluster last said ("" none) */
	uint64_t term;                /* the term we lead at, or the leader's */
	int leading;                  /* the cluster has us as leader (until we resign or it says otherwise) */
	uint64_t fence_until;         /* we may lead until then (0: no lease) */
	int broker_alive, broker_ready;
	int paused, ineligible;
	enum { MS_HEALTH_UNKNOWN, MS_HEALTH_OK, MS_HEALTH_FAILING, MS_HEALTH_BAD } health;
	char health_reason[MS_REASON_MAX];
	char ineligible_reason[MS_REASON_MAX];
	unsigned health_restarts;     /* broker restarts for health in a row (this mastership) */
	/* serving with no standby to take over: restarting here instead of
	 * resigning to nobody; why */
	int degraded;
	int degraded_by_health;       /* its broker is unhealthy (else: it kept failing) */
	char degraded_reason[MS_REASON_MAX];
	/* the resignation in progress (HANDING_OVER, EXITING as leader) */
	int resign_due;
	char resign_target[MS_ID_MAX + 1];
	uint64_t resign_holddown_ms;
	uint64_t promotions, demotions;
};

void mastership_init(struct mastership *m, const struct ms_params *p);
/* New holddowns (a reload); the state is kept. */
void mastership_set_params(struct mastership *m, const struct ms_params *p);
/* One event at time now; *out is filled (cleared first). */
void mastership_step(struct mastership *m, const struct ms_event *ev, uint64_t now, struct ms_actions *out);

/* The broker is wanted: MASTER only. */
int mastership_wants_broker(const struct mastership *m);
/* The deadline the broker is fenced to (fence.h): the backend's last
 * (MS_IN_FENCE) while the cluster has us as leader, also while the broker
 * stops in a handover or at exit; 0 when we do not lead. */
uint64_t mastership_fence(const struct mastership *m);
/* When MS_IN_TIME is next needed (a fence deadline; 0: never). */
uint64_t mastership_wake_at(const struct mastership *m);
/* A resignation or an exit is under way: peers must not name us. */
int mastership_leaving(const struct mastership *m);
/* A stop was asked for (SIGTERM): the node is on its way out. */
int mastership_exiting(const struct mastership *m);
const char *mastership_state_name(enum ms_state s);
const char *mastership_input_name(enum ms_input in);

#endif
