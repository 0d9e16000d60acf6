/*
 * The fence's decisions, pure: when to stop a broker whose launcher no
 * longer renews its deadline.  fence.c runs them in a process of its own;
 * the launcher computes the SIGTERM point when it publishes a deadline.
 *
 * The deadline is the instant after which another node may promote (the
 * cluster backend's: for the heartbeat election the last heartbeat sent
 * as master plus election_beat_limit()).  The broker must be gone by then.
 * A SIGTERM lets it stop cleanly, but it needs broker.stop_timeout for
 * that: the SIGTERM goes out at deadline - stop_timeout, and only when
 * that point lies at least a margin (one renewal interval) after the
 * renewal, or every ordinary pause between two renewals would stop the
 * broker.  Otherwise the fence sends SIGKILL at the deadline itself.
 */
#ifndef FL_FENCE_PLAN_H
#define FL_FENCE_PLAN_H

#include <stdint.h>

/* The SIGTERM point for a deadline renewed at renewed_at, or 0: SIGKILL
 * at the deadline only.  deadline 0 (no lease) gives 0. */
uint64_t fence_term_at(uint64_t deadline, uint64_t renewed_at, uint64_t stop_timeout_ms, uint64_t margin_ms);

enum fence_act {
	FENCE_WAIT, /* nothing yet: look again at *wake_at (0: only when told) */
	FENCE_TERM, /* SIGTERM to the broker's group now (then wait for the deadline) */
	FENCE_KILL, /* SIGKILL to the broker's group now */
};

/* What to do for a broker held under kill_at (0: none) and term_at (0:
 * none), at now; term_sent: the SIGTERM went out already. */
enum fence_act fence_next(uint64_t kill_at, uint64_t term_at, int term_sent, uint64_t now, uint64_t *wake_at);

/* The deadline the fence holds a broker to, given what the launcher
 * published now (0: it does not lead).  A deadline, once published for a
 * broker, stays until a later one replaces it: a launcher that stopped
 * leading while its broker still stops, and then froze, must not leave
 * that broker running past its last lease.  held: the fence's current
 * one for this broker (0 for a broker just handed over). */
uint64_t fence_hold(uint64_t held, uint64_t published);

/* The launcher is dead (its socket read EOF) and no broker of it lives:
 * may the fence send its death notice now (fence.h)?  Only while the
 * deadline it last published (0: it did not lead) has not passed: until
 * then no other node can have timed the master out, so its resignation
 * means what a live master's would. */
int fence_may_announce(uint64_t kill_at, uint64_t now);

/* The deadline and the SIGTERM point in one 64-bit word, so that one
 * atomic store publishes both and a launcher frozen between two stores
 * cannot leave a torn pair: the deadline in the low 40 bits (monotonic
 * ms: 34 years of uptime), how long before it the SIGTERM goes out in the
 * high 24 (4.6 hours; broker.stop_timeout is at most one).  A SIGTERM
 * point that does not fit is dropped: SIGKILL at the deadline. */
#define FENCE_AT_BITS 40
uint64_t fence_pack(uint64_t kill_at, uint64_t term_at);
void fence_unpack(uint64_t w, uint64_t *kill_at, uint64_t *term_at);

#endif
