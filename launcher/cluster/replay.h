/*
 * Replay protection and duplicate-id decisions: pure (no clock, no I/O, no
 * logging), so the simulator runs the daemon's own rules.
 *
 * Per sender id the table follows one boot: the highest sequence number
 * seen in it and when a packet of it was last accepted.  A packet is
 * accepted when it is of that boot with a higher sequence number, or of
 * any other boot once the one followed has been silent (no packet
 * accepted) for the failure timeout: a restart, whichever way its boot id
 * compares.  Boot ids come from the wall clock (kept monotonic per node
 * in its state directory, but a node may lose that directory while its
 * clock is behind), so "lower" cannot mean "replayed" for ever; and while
 * the boot followed is live nothing else is heard under its id, neither a
 * replayed packet nor a second process.
 *
 * Why not follow any higher boot at once (a restart heard without delay)?
 * Two processes with one id (a copied configuration) would then each be
 * followed in turn, or the later start alone: everyone else would drop the
 * first one (a master) as a replay and lose it as master while it runs
 * its broker.  Following the live boot keeps a running node heard while a
 * second process with its id starts, runs and stops; the cost is that a
 * node restarted within a timeout of its last packet is heard one timeout
 * after that packet (it listens that long itself before it may claim).
 *
 * What it costs: a recorded packet of an older boot replayed once its
 * sender has been silent for a timeout is heard (as a restart).
 *
 * A second boot whose sequence numbers go on rising while the first is
 * live is a second live process: TWO_BOOTS (dropped, for a counter and a
 * line in the log).
 */
#ifndef FL_REPLAY_H
#define FL_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define REPLAY_MAX 512

struct replay_entry {
	char node[WIRE_ID_MAX + 1];
	uint64_t boot, seq; /* the boot followed and its highest sequence number */
	uint64_t last;      /* when a packet of it was last accepted (ms) */
	/* another boot of this id: the one given up, or one heard while the
	 * one followed was live */
	uint64_t other_boot, other_seq;
	int back_noted;     /* a restart below the previous boot was reported */
};

struct replay_table {
	struct replay_entry e[REPLAY_MAX];
	size_t n;
};

enum replay_verdict {
	REPLAY_NEW,        /* accepted: a sender not in the table */
	REPLAY_FRESH,      /* accepted: the boot followed, a higher sequence number */
	REPLAY_RESTART,    /* accepted: a higher boot, the one followed silent for a timeout */
	REPLAY_RESTART_BELOW, /* accepted: a lower boot, the one followed silent for a
			       * timeout (its clock stepped back?) */
	REPLAY_OLD,        /* dropped: a sequence number seen, of the boot followed or of one given up */
	REPLAY_OTHER,      /* dropped: another boot while the one followed is live (a restart
			    * heard later, a second process, or a replay) */
	REPLAY_TWO_BOOTS,  /* dropped as OTHER, and a second live boot of this id */
};

static inline int replay_accepted(enum replay_verdict v) { return v <= REPLAY_RESTART_BELOW; }

/* The verdict on a packet of node, boot and seq received at now (ms, any
 * monotonic clock); timeout is the failure timeout.  Records what it
 * accepts.  The first REPLAY_RESTART_BELOW of a sender is flagged in
 * *first_below (may be NULL) so the caller reports it once. */
enum replay_verdict replay_check(struct replay_table *t, const char *node, uint64_t boot, uint64_t seq, uint64_t now,
				 uint64_t timeout, int *first_below);

/*
 * Two processes with one node id: which one is the newer, and goes.  Pure,
 * from what each packet carries, so both decide the same without a new
 * field: a process still listening after its start (WIRE_ROLE_LISTENING)
 * that hears one past listening came second, into a cluster where the
 * other already took part; otherwise (both listening, or both past it:
 * started together, or a partition healed) the higher boot id, which is
 * the later start on clocks that agree.  Each side decides again at every
 * packet, so a role that changed between two packets settles at the next.
 * 1: we (listening or not, boot ours) are the newer.
 */
int replay_we_are_newer(int we_listen, uint64_t our_boot, uint8_t their_role, uint64_t their_boot);

/* The older of two processes with one id holds (neither claims nor
 * votes, EL_HOLD_DUPLICATE) while it hears the other, and one failure
 * timeout after its last packet: the daemon's and the simulator's rule. */
struct replay_dup {
	int held;
	uint64_t heard_at; /* the other's last packet */
};

/* A packet of another process with our id (role and boot its): 1 when we
 * are the newer (exit), else 0 and *d holds from now on. */
int replay_dup_heard(struct replay_dup *d, int we_listen, uint64_t our_boot, uint8_t their_role, uint64_t their_boot,
		     uint64_t now);
/* At every tick: 1 when the hold ends now (the other silent for timeout). */
int replay_dup_tick(struct replay_dup *d, uint64_t now, uint64_t timeout);

/* The boot id of a new run: the wall clock's ms in the high 48 bits and 16
 * random bits, but above the last boot this node used (kept in its state
 * directory): monotonic per node whatever the clock does. */
uint64_t replay_next_boot(uint64_t wall_ms, uint16_t random, uint64_t last_boot);

#endif
