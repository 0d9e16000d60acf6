/*
 * Membership and master election: pure decision logic.  No sockets, no
 * clock, no logging: the caller passes the monotonic time in milliseconds
 * and the decoded packets, and acts on what comes back (packets to send now,
 * a changed role).  The election only says whether this node should be
 * master; the broker supervisor reconciles the broker with that.
 *
 * Invariants it keeps (see the README's Election section):
 *  - terms only grow, and every promotion takes a term above any seen;
 *  - of two masters that hear each other, the lower (term, rank) demotes;
 *  - a node listens one full timeout before it may claim, and after any
 *    stall of its own longer than the timeout;
 *  - a claim is announced and held for a claim window before promotion;
 *    slaves are skewed by rank so the best one claims first;
 *  - with expected_nodes set, a claim needs the votes of a majority (each
 *    node votes once per term, never while it follows a live master nor
 *    while it listens after a start), and a master that loses its majority
 *    for one timeout steps down; so does one that has not been heard
 *    first-hand by a majority (itself included) for timeout - 2 ticks, as
 *    its slaves report (its lease): before that majority may vote for
 *    another, so that a master cut off from it is gone before the other
 *    side elects one;
 *  - with p.persist, what a claim or a vote promises (voted_term and
 *    voted_for; the claim's term is our own vote) goes out only once the
 *    caller says it is durable (EL_PERSIST, election_durable()): a
 *    restarted node never votes twice in a term nor claims a term it
 *    claimed before, so no term has two masters.  Not durable within one
 *    delay: the claim is withdrawn and the vote is not sent.  A node whose
 *    state cannot be persisted (EL_HOLD_PERSIST, set by the caller)
 *    neither claims nor votes; a master keeps its role;
 *  - while a live peer speaks a newer protocol (wire.h) this node does not
 *    claim, vote for itself or ask for a handover: it leaves the decision
 *    to the newer node, which knows both protocols' rules.  It still hears
 *    such a peer, follows it as master and votes for its claims.
 */
#ifndef FL_ELECTION_H
#define FL_ELECTION_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define ELECTION_MAX_PEERS 256

enum el_state {
	EL_LISTENING = WIRE_ROLE_LISTENING, /* learning the cluster; may not claim */
	EL_SLAVE = WIRE_ROLE_SLAVE,         /* following a master, or waiting for a turn to claim */
	EL_CANDIDATE = WIRE_ROLE_CANDIDATE, /* claim announced, waiting out the claim window */
	EL_MASTER = WIRE_ROLE_MASTER,       /* the broker should run here */
};

/* What the caller must do after a call, a bit mask. */
enum el_action {
	EL_SEND_HEARTBEAT = 1 << 0, /* announce our state now, not at the next tick */
	EL_SEND_CLAIM = 1 << 1,
	EL_SEND_RESIGN = 1 << 2,    /* several copies: see election_resign() */
	EL_SEND_HANDOVER = 1 << 3,  /* ask the master to resign in our favour */
	EL_STATE_CHANGED = 1 << 4,  /* see e->reason */
	EL_PEERS_CHANGED = 1 << 5,  /* a peer joined or was lost */
	EL_MASTER_CHANGED = 1 << 6, /* the master we follow changed */
	EL_SEND_VOTE = 1 << 7,      /* for the claim of voted_for */
	EL_HANDOVER_REQUESTED = 1 << 8, /* a live slave asks for mastership:
					 * stop the broker, then election_resign(handover_target) */
	EL_HOLD_CHANGED = 1 << 9,   /* e->hold changed: e->hold_reason says why */
	EL_PERSIST = 1 << 10,       /* make max_term, voted_term and voted_for durable,
				     * then call election_durable(voted_term) */
	EL_RIVAL_YIELDED = 1 << 11, /* as master: another master met us and stepped
				     * down (a split healed): e->yielded_by, e->reason */
};

/* Reasons this node may neither claim nor vote (e->hold), whatever the
 * caller's noclaim says: each is set and cleared by the one who knows. */
enum el_hold {
	EL_HOLD_DUPLICATE = 1 << 0, /* another process uses our node id */
	EL_HOLD_SETTINGS = 1 << 1,  /* our cluster-wide settings differ from the master's */
	EL_HOLD_PERSIST = 1 << 2,   /* what a claim or vote promises cannot be persisted */
};

struct el_params {
	char self[WIRE_ID_MAX + 1];
	uint16_t position;
	uint32_t delay_ms;
	uint32_t retries;
	int preempt;
	unsigned expected_nodes; /* 0: no quorum */
	uint64_t initial_term;   /* the highest term this node saw before (persisted) */
	/* the last vote made durable before (persisted): never another in that term */
	uint64_t voted_term;
	char voted_for[WIRE_ID_MAX + 1];
	int persist;             /* claims and votes wait for election_durable() */
	uint64_t settings;       /* digest of the cluster-wide settings (settings.c); 0: none */
};

struct el_peer {
	char id[WIRE_ID_MAX + 1];
	uint64_t boot;
	uint64_t last_seen;
	uint64_t first_seen;
	uint8_t role;
	uint64_t term;
	uint16_t position;
	uint8_t flags;
	char url[WIRE_URL_MAX + 1];
	char leader[WIRE_ID_MAX + 1];
	uint8_t version;         /* of its last packet (wire.h) */
	uint64_t acked;          /* as our slave, it said it heard us first-hand then */
	uint64_t settings;       /* its settings digest (wire.h, heartbeat payload); 0: not sent */
	uint64_t timeout;        /* its failure timeout, ms (heartbeat payload); 0: not sent */
	int yielded;             /* its last heartbeat had WIRE_F_YIELDED (other packets never do) */
	int hb_heard;            /* a heartbeat of it was heard (the fields below mean something) */
	uint16_t hb_payload_len; /* its last heartbeat's payload length: what its release sends (wire.h) */
};

struct election {
	struct el_params p;
	uint64_t timeout;        /* retries x delay, ms */
	uint64_t claim_window;   /* ms */
	uint64_t skew_step;      /* ms per rank */
	enum el_state state;
	uint64_t term;           /* our term as master, or the term of the master we follow */
	uint64_t max_term;       /* highest term seen anywhere */
	char master[WIRE_ID_MAX + 1]; /* master we follow (or self); "" if none */
	uint64_t master_seen;    /* when the master was last heard, by us or a slave */
	uint64_t master_heard;   /* when we last heard it ourselves: the only age we relay */
	uint64_t lost_at;        /* when the master was found gone; claims are skewed from here */
	/* the master we stopped hearing (timeout only) and when it was last
	 * seen: only a newer sighting by a slave brings it back */
	char silent[WIRE_ID_MAX + 1];
	uint64_t silent_seen;
	uint64_t listen_until;
	uint64_t claim_term;
	uint64_t claim_until;
	uint64_t claim_resend_at;
	unsigned claim_resends;  /* copies of the claim still to send */
	uint64_t pending_claim_until; /* someone else claims: hold back until then */
	/* quorum mode: a claim needs votes from a majority; one vote per term */
	uint64_t voted_term;
	char voted_for[WIRE_ID_MAX + 1];
	size_t nvotes;
	char voters[ELECTION_MAX_PEERS][WIRE_ID_MAX + 1];
	/* p.persist: voted_term as last made durable, and the claim or vote
	 * that waits for it since persist_asked_at */
	uint64_t durable_term;
	uint64_t persist_asked_at;
	int claim_unsent;        /* CANDIDATE: the claim is not out yet */
	/* CANDIDATE, claim_unsent: a named successor's term waits to be
	 * durable; then it promotes at once if still named (named_by: the
	 * master that resigned), or claims as any other */
	int claim_named;
	char named_by[WIRE_ID_MAX + 1];
	int vote_unsent;
	char favored[WIRE_ID_MAX + 1]; /* the node a resigning master named */
	uint64_t favored_until;
	uint64_t holddown_until; /* no claims before this (after resigning) */
	int noclaim;             /* the caller forbids claims: no claim, no promotion
				  * as a named successor, no preemption (WIRE_F_NOCLAIM) */
	unsigned hold;           /* enum el_hold bits: no claim and no vote while any is set */
	char hold_reason[240];   /* the last change of hold, for the log and the status */
	/* the settings of the master we follow, or followed last (kept for
	 * three timeouts without a master): ours must match them to claim */
	uint64_t master_settings;
	char settings_master[WIRE_ID_MAX + 1];
	uint64_t settings_seen;
	uint64_t settings_timeout; /* that master's failure timeout (0: not sent) */
	uint64_t quorum_lost_since;
	uint64_t last_call;      /* to detect our own stalls */
	uint64_t late_at;        /* the last call found late, or packet found stale (0: none) */
	uint64_t last_tick;      /* the last election_tick() */
	/* the tick's grid: election_next_due() gives anchor + k ticks, the
	 * times a fixed tick of election_tick_ms() from the start would
	 * have, so that a decision comes when it did with a fixed tick */
	uint64_t tick_anchor;
	/* when the caller was last told to call election_tick() next
	 * (election_next_due(); 0: never): a call later than that by more
	 * than two ticks finds the loop late */
	uint64_t due_at;
	/* a call or a setting changed what election_tick() decides on (a
	 * role, a master, a peer's flags, a hold): it is due then (at once,
	 * or one tick after a tick that changed it; 0: not) */
	uint64_t recheck_at;
	uint64_t handover_sent_at;
	uint64_t became_master_at;
	/* outranked by another master (a split healed): our heartbeats say so
	 * (WIRE_F_YIELDED) until then, so that the winner learns it even when
	 * it never heard us as master */
	uint64_t yielded_until;
	/* as master: the last master that stepped down for us, and when that
	 * re-ran on_promote (0: never; once per failure timeout at most) */
	char yielded_by[WIRE_ID_MAX + 1];
	uint64_t rival_yielded_at;
	uint64_t last_beat;      /* as master: when our last heartbeat went out */
	char handover_target[WIRE_ID_MAX + 1];
	/* Why the state last changed (set_state(), logged by the caller on
	 * EL_STATE_CHANGED); also rewritten without a change of state by a
	 * renewed claim above a newer term and by election_request_handover(),
	 * which says there why it refused or whom it asked. */
	char reason[160];
	char master_reason[160]; /* why we stopped following a master */
	size_t npeers;
	struct el_peer peers[ELECTION_MAX_PEERS];
	/* counters */
	uint64_t promotions, demotions;
};

void election_init(struct election *e, const struct el_params *p, uint64_t now);
/* New timing, position, preemption or quorum settings (a reload); the node
 * id and the term are kept. */
void election_set_params(struct election *e, const struct el_params *p);

/* Sets (on) or clears one enum el_hold reason.  A candidate withdraws its
 * claim at its next tick; a master keeps its role. */
void election_set_hold(struct election *e, unsigned hold, int on);

/* What EL_PERSIST asked for is durable up to voted term `term` (the
 * caller persisted max_term, voted_term and voted_for as they were when it
 * started writing): the claim or vote waiting for it goes out. */
unsigned election_durable(struct election *e, uint64_t term, uint64_t now);
/*
 * A master stops being one when it has not sent a heartbeat for longer
 * than election_beat_limit(): the others time it out from the last
 * heartbeat they received, at most one timeout after it went out.  The
 * limit leaves half an interval for delivery and for the claim window's
 * start; a master whose heartbeats go out on time never reaches it (the
 * minimum of retries is 2: the limit is then 1.5 intervals).  The fence
 * deadline (mastership's, for the broker's fence) is the same instant.
 */
uint64_t election_beat_limit(const struct election *e);
/* The heartbeat timer: our own checks first (a stall, a master's send
 * gap), then EL_SEND_HEARTBEAT. */
unsigned election_beat(struct election *e, uint64_t now);
/* A packet of ours went out at now (call after the send succeeded). */
void election_sent(struct election *e, uint8_t type, uint64_t now);
/* As master: the last heartbeat sent + election_beat_limit(); else 0. */
uint64_t election_fence_deadline(const struct election *e);

/*
 * Call by election_next_due(), which the caller asks again after every
 * call into the election and every change of noclaim or hold (before its
 * loop sleeps), or at least every election_tick_ms() when it never asks.
 */
unsigned election_tick(struct election *e, uint64_t now);
/*
 * When election_tick() is next needed: the earliest time after the last
 * tick at which anything it decides on by the clock changes (a peer or the
 * master timed out, the listening, a claim window, a hold-down, a wait for
 * another's claim, the rank skew, a persist deadline, the master's lease,
 * quorum and send limit, the settings reference), at once (now) after a
 * call or setting changed a role, master, peer or hold (one tick after a
 * tick that changed one: the tick it acts on next), and never later
 * than election_due_max() after the last call of any kind (a master: the
 * longer of that and half the timeout; its heartbeats, every delay, are
 * its calls).  May be in the past: call
 * at once.  Kept in e->due_at: a call that comes later than it by more
 * than two ticks finds the loop late (a stall shorter than the timeout:
 * see catching_up in election.c).  Calling earlier is always allowed.
 */
uint64_t election_next_due(struct election *e, uint64_t now);
/* The longest wait between two ticks: one delay, at most half the
 * timeout and 1 s, less three ticks (a normal gap between calls never
 * looks like a stall; see election.c). */
uint64_t election_due_max(const struct election *e);
/* t, or the first time of the fixed tick's grid after it (tick_anchor +
 * k x election_tick_ms()): when a fixed tick would have seen it. */
uint64_t election_on_grid(const struct election *e, uint64_t t);
unsigned election_on_packet(struct election *e, const struct wire_msg *m, uint64_t now);

/* Step down: as master, stop being one and name target (or, when NULL/"",
 * the live slave that ranks first) as successor, which promotes when the
 * resign arrives, without a claim window (with a quorum: once a majority
 * voted).  Hold off claiming for holddown_ms.  Returns EL_SEND_RESIGN when
 * we were master. */
unsigned election_resign(struct election *e, const char *target, uint64_t holddown_ms, uint64_t now);

/* Ask the current master to hand over to target (switchover), or, as
 * master, hand over.  Refused (neither EL_SEND_HANDOVER nor
 * EL_HANDOVER_REQUESTED in the result) when there is no live master, no
 * live slave to name, or the target is already master or not a live slave:
 * e->reason says why. */
unsigned election_request_handover(struct election *e, const char *target, uint64_t now);

/* Fills the election part of an outgoing packet of the given type, to be
 * sent at time now. */
void election_fill(const struct election *e, uint8_t type, uint64_t now, struct wire_msg *m);

/*
 * As master: the resignation this node would send if it stopped now
 * (election_resign with no target: the slave that ranks first, or none),
 * for the fence to send on our behalf once this process is dead and its
 * broker gone (fence.h, "death notice").  0 and m untouched when we are
 * not master.
 */
int election_fill_notice(const struct election *e, uint64_t now, struct wire_msg *m);

const char *election_state_name(enum el_state s);
uint64_t election_tick_ms(const struct election *e);
/* A peer is live while its last packet is younger than the timeout
 * (p may be NULL: not live). */
int election_peer_live(const struct election *e, const struct el_peer *p, uint64_t now);
/* Live peers and whether we see a majority. */
size_t election_live(const struct election *e, uint64_t now);
int election_quorum(const struct election *e, uint64_t now);
/* Live slaves that may lead (not WIRE_F_NOCLAIM): whom a resignation
 * could name (best_slave's candidates). */
size_t election_standbys(const struct election *e, uint64_t now);
/* Live peers whose last packet had a protocol version above ours. */
size_t election_newer_live(const struct election *e, uint64_t now);
const struct el_peer *election_peer(const struct election *e, const char *id);

#endif
