/*
 * The heartbeat backend (cluster.h): the UDP protocol's election as a
 * source of mastership events.  Pure: the caller decodes and filters the
 * datagrams, calls in here, then sends what heartbeat_take_send() hands
 * out and feeds the events to mastership (node.h does the feeding).
 *
 * What it adds to the election: the translation of the election's results
 * into events, the packets to send (a switchover request twice, a
 * resignation three times across one heartbeat interval: datagrams get
 * lost), and the log notes of the election's own role changes.
 */
#ifndef FL_HEARTBEAT_H
#define FL_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "election.h"
#include "wire.h"

#define HB_SEND_MAX 32
#define HB_EVENT_MAX 16
#define HB_NOTE_MAX 8
#define HB_RESIGN_COPIES 3

/* What the caller logs: a role change of the election, or a new master. */
struct hb_note {
	enum { HB_NOTE_ROLE, HB_NOTE_MASTER, HB_NOTE_INFO, HB_NOTE_WARN, HB_NOTE_HEALED } kind;
	enum el_state from, to; /* HB_NOTE_ROLE */
	char text[240];         /* the reason, or the line */
};

struct heartbeat {
	struct election el;
	uint8_t send[HB_SEND_MAX];   /* packet types to send, in order */
	size_t nsend;
	struct ms_event ev[HB_EVENT_MAX];
	size_t ev_head, nev;
	struct hb_note notes[HB_NOTE_MAX];
	size_t nnotes;
	/* the resignation's copies still to send, and when the next is due */
	int resign_copies;
	uint64_t resign_next_at;
	/* set by any change of role or master: the status is written now */
	int changed;
	/* the election asked for its promises to be made durable (EL_PERSIST),
	 * and the write under way: since when, for which vote */
	int persist;
	int writing;
	uint64_t write_started, write_term;
};

/* What must be durable before a claim or vote goes out (election.h). */
struct hb_persist {
	uint64_t max_term, voted_term;
	char voted_for[WIRE_ID_MAX + 1];
};

void heartbeat_init(struct heartbeat *h, const struct el_params *p, uint64_t now);
void heartbeat_set_params(struct heartbeat *h, const struct el_params *p);
/* A decoded, authenticated, fresh packet of another node. */
void heartbeat_on_packet(struct heartbeat *h, const struct wire_msg *m, uint64_t now);
/* The tick timer, by election_next_due(). */
void heartbeat_tick(struct heartbeat *h, uint64_t now);
/*
 * Persistence of the election's promises (election.h, p.persist), one
 * write at a time, done by the caller off its loop (the loop never waits
 * for a disk): take what to write, write it atomically, and report.
 * While writes fail, or one takes longer than a delay, EL_HOLD_PERSIST
 * is set: no claim, no vote; a master keeps its role.  Cleared by the next
 * write that succeeds (a failed one is tried again every delay).
 */
/* A write is due and none is under way: 1 and what to write. */
int heartbeat_take_persist(struct heartbeat *h, struct hb_persist *out, uint64_t now);
/* The write taken last is done (ok) or failed. */
void heartbeat_written(struct heartbeat *h, int ok, uint64_t now);
/* A promoted master's term is to be kept (mastership's persist_term):
 * max_term holds it. */
void heartbeat_persist_term(struct heartbeat *h);
/* What was written is durable up to voted term `term`. */
void heartbeat_durable(struct heartbeat *h, uint64_t term, uint64_t now);
/* The heartbeat timer, every delay: a heartbeat goes out, unless a master
 * that sent none for too long steps down first (election_beat). */
void heartbeat_beat(struct heartbeat *h, uint64_t now);
/*
 * A slave answers the heartbeat of the master it follows with its own, at
 * once, instead of on a timer of its own: its heartbeats still go out about
 * every delay (the master's), and it wakes for the master's, not for both.
 * HB_ECHO_NOW: the caller sends our heartbeat (heartbeat_beat()) and moves
 * its heartbeat timer to heartbeat_echo_wait() from now, for when the
 * master's next one is lost.  Not within half a delay of our last (beat_at):
 * HB_ECHO_LATER, the timer moves to heartbeat_echo_wait() after our last,
 * so the master's next heartbeat comes first and is answered (the phases
 * lock within a few heartbeats).  Our heartbeats are never more than that
 * wait apart.  Not with retries 1 (HB_ECHO_NONE), whose timeout leaves no
 * room for the wait.
 */
enum { HB_ECHO_NONE, HB_ECHO_NOW, HB_ECHO_LATER };
int heartbeat_echo(const struct heartbeat *h, const struct wire_msg *m, uint64_t beat_at, uint64_t now);
/* A delay and a quarter, ms. */
static inline uint64_t heartbeat_echo_wait(const struct heartbeat *h)
{
	return h->el.p.delay_ms + h->el.p.delay_ms / 4;
}
/* A packet of this type went out at now.  As master, a heartbeat renews
 * the fence: an MS_IN_FENCE event with election_fence_deadline(). */
void heartbeat_sent(struct heartbeat *h, uint8_t type, uint64_t now);
/* Events queued for mastership (by heartbeat_sent, outside node_feed). */
int heartbeat_has_events(const struct heartbeat *h);
/* Sends a resignation copy when one is due. */
void heartbeat_wake(struct heartbeat *h, uint64_t now);
/* When heartbeat_wake() is next needed (0: not). */
uint64_t heartbeat_wake_at(const struct heartbeat *h);
/* The next packet type to send; 0 when none. */
uint8_t heartbeat_take_send(struct heartbeat *h);
/* The next note for the log; 0 when none. */
int heartbeat_take_note(struct heartbeat *h, struct hb_note *n);
/* Fills an outgoing packet: the election's fields and our flags. */
void heartbeat_fill(const struct heartbeat *h, uint8_t type, uint64_t now, struct wire_msg *m);

extern const struct cluster_ops heartbeat_ops;

static inline struct cluster heartbeat_cluster(struct heartbeat *h)
{
	return (struct cluster){.ops = &heartbeat_ops, .impl = h};
}

#endif
