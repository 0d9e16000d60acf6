/*
 * The heartbeat backend: the election's results as mastership events.
 */
#include "heartbeat.h"

#include <stdio.h>
#include <string.h>

/* An event field from the election's: both live in *h, which snprintf's
 * overlap check cannot tell apart */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;

	memmove(dst, src, n);
	dst[n] = '\0';
}

static void queue_send(struct heartbeat *h, uint8_t type)
{
	if (h->nsend < HB_SEND_MAX)
		h->send[h->nsend++] = type;
}

static struct ms_event *queue_event(struct heartbeat *h, enum ms_input type)
{
	struct ms_event *ev;

	if (h->nev == HB_EVENT_MAX)
		return NULL; /* cannot happen: one call queues a handful, and node.h drains after each */
	ev = &h->ev[(h->ev_head + h->nev++) % HB_EVENT_MAX];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	return ev;
}

static struct hb_note *note(struct heartbeat *h, int kind)
{
	struct hb_note *n;

	if (h->nnotes == HB_NOTE_MAX)
		return NULL;
	n = &h->notes[h->nnotes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	return n;
}

/* What an election call asked for, as sends, events and notes.  old and
 * old_master are the election's state and master before the call. */
static void translate(struct heartbeat *h, unsigned a, enum el_state old, const char *old_master)
{
	struct election *e = &h->el;
	struct ms_event *ev;
	struct hb_note *n;

	if ((a & EL_MASTER_CHANGED) && strcmp(old_master, e->master) != 0 && e->state != EL_MASTER) {
		if ((n = note(h, HB_NOTE_MASTER)) != NULL) {
			if (e->master[0])
				snprintf(n->text, sizeof(n->text), "master is %s (term %llu)", e->master,
					 (unsigned long long)e->term);
			else
				snprintf(n->text, sizeof(n->text), "no master: %s", e->master_reason);
		}
		h->changed = 1;
	}
	if ((a & EL_STATE_CHANGED) && old != e->state) {
		if ((n = note(h, HB_NOTE_ROLE)) != NULL) {
			n->from = old;
			n->to = e->state;
			snprintf(n->text, sizeof(n->text), "%s", e->reason);
		}
		h->changed = 1;
		if (e->state == EL_MASTER) {
			h->resign_copies = 0; /* leading again: no more resignations */
			h->resign_next_at = 0;
			if ((ev = queue_event(h, MS_IN_LEADER)) != NULL) {
				copy_str(ev->node, sizeof(ev->node), e->p.self);
				ev->term = e->term;
				copy_str(ev->reason, sizeof(ev->reason), e->reason);
			}
			/* the broker starts with its fence already set */
			if ((ev = queue_event(h, MS_IN_FENCE)) != NULL)
				ev->deadline = election_fence_deadline(e);
		} else if (old == EL_MASTER) {
			if ((ev = queue_event(h, MS_IN_LEADERSHIP_LOST)) != NULL)
				copy_str(ev->reason, sizeof(ev->reason), e->reason);
		}
	}
	if ((a & EL_MASTER_CHANGED) && e->state != EL_MASTER) {
		if (e->master[0] && (ev = queue_event(h, MS_IN_LEADER)) != NULL) {
			copy_str(ev->node, sizeof(ev->node), e->master);
			ev->term = e->term;
			snprintf(ev->reason, sizeof(ev->reason), "master %s (term %llu)", e->master, (unsigned long long)e->term);
		} else if (!e->master[0] && (ev = queue_event(h, MS_IN_NO_LEADER)) != NULL) {
			copy_str(ev->reason, sizeof(ev->reason), e->master_reason);
		}
		h->changed = 1;
	}
	if (a & EL_SEND_CLAIM)
		queue_send(h, WIRE_CLAIM);
	if (a & EL_SEND_HEARTBEAT)
		queue_send(h, WIRE_HEARTBEAT);
	if (a & EL_SEND_VOTE)
		queue_send(h, WIRE_VOTE);
	if (a & EL_SEND_RESIGN)
		queue_send(h, WIRE_RESIGN); /* the first copy: hb_resign() paces the others */
	if (a & EL_SEND_HANDOVER) {
		if ((n = note(h, HB_NOTE_INFO)) != NULL)
			snprintf(n->text, sizeof(n->text), "asking master %s to hand over to %s", e->master,
				 e->handover_target);
		/* two copies: a lost request would only be retried by a person */
		queue_send(h, WIRE_HANDOVER);
		queue_send(h, WIRE_HANDOVER);
	}
	if (a & EL_HANDOVER_REQUESTED) {
		if ((ev = queue_event(h, MS_IN_HANDOVER_ASKED)) != NULL)
			copy_str(ev->target, sizeof(ev->target), e->handover_target);
	}
	if (a & EL_PEERS_CHANGED)
		queue_event(h, MS_IN_PEERS_CHANGED);
	if ((a & EL_RIVAL_YIELDED) && e->state == EL_MASTER) {
		if ((n = note(h, HB_NOTE_HEALED)) != NULL)
			snprintf(n->text, sizeof(n->text), "%s", e->reason);
		if ((ev = queue_event(h, MS_IN_RIVAL_YIELDED)) != NULL) {
			copy_str(ev->node, sizeof(ev->node), e->yielded_by);
			ev->term = e->term;
			copy_str(ev->reason, sizeof(ev->reason), e->reason);
		}
	}
	if (a & EL_PERSIST)
		h->persist = 1;
	if (a & EL_HOLD_CHANGED) {
		if ((n = note(h, HB_NOTE_WARN)) != NULL)
			snprintf(n->text, sizeof(n->text), "%s", e->hold_reason);
		h->changed = 1;
	}
}

#define CALL(h, call)                                                                                               \
	do {                                                                                                        \
		enum el_state old_ = (h)->el.state;                                                                 \
		char om_[WIRE_ID_MAX + 1];                                                                          \
		unsigned a_;                                                                                        \
		memcpy(om_, (h)->el.master, sizeof(om_));                                                           \
		a_ = (call);                                                                                        \
		translate((h), a_, old_, om_);                                                                      \
	} while (0)

void heartbeat_init(struct heartbeat *h, const struct el_params *p, uint64_t now)
{
	memset(h, 0, sizeof(*h));
	election_init(&h->el, p, now);
}

void heartbeat_set_params(struct heartbeat *h, const struct el_params *p)
{
	election_set_params(&h->el, p);
}

void heartbeat_on_packet(struct heartbeat *h, const struct wire_msg *m, uint64_t now)
{
	CALL(h, election_on_packet(&h->el, m, now));
}

void heartbeat_tick(struct heartbeat *h, uint64_t now)
{
	CALL(h, election_tick(&h->el, now));
}

void heartbeat_durable(struct heartbeat *h, uint64_t term, uint64_t now)
{
	CALL(h, election_durable(&h->el, term, now));
}

/* One write at a time: a request while one is under way waits for it,
 * and then writes the state as it is by then. */
int heartbeat_take_persist(struct heartbeat *h, struct hb_persist *out, uint64_t now)
{
	if (!h->persist || h->writing)
		return 0;
	h->persist = 0;
	h->writing = 1;
	h->write_started = now;
	out->max_term = h->el.max_term;
	out->voted_term = h->el.voted_term;
	memcpy(out->voted_for, h->el.voted_for, sizeof(out->voted_for));
	h->write_term = out->voted_term;
	return 1;
}

/* EL_HOLD_PERSIST on or off, with the reason the status shows (the
 * daemon logs the error itself) */
static void persist_hold(struct heartbeat *h, int on, const char *why)
{
	if (((h->el.hold & EL_HOLD_PERSIST) != 0) == on)
		return;
	election_set_hold(&h->el, EL_HOLD_PERSIST, on);
	snprintf(h->el.hold_reason, sizeof(h->el.hold_reason), "%s", why);
	h->changed = 1;
}

void heartbeat_written(struct heartbeat *h, int ok, uint64_t now)
{
	h->writing = 0;
	persist_hold(h, !ok, ok ? "the election state is persisted again"
			       : "the election state cannot be persisted in state_dir (a write failed)");
	if (ok)
		heartbeat_durable(h, h->write_term, now);
}

void heartbeat_persist_term(struct heartbeat *h)
{
	h->persist = 1;
}

void heartbeat_beat(struct heartbeat *h, uint64_t now)
{
	/* a write that takes longer than a delay (a hung NFS mount, a
	 * stalled disk): the claims and votes it was for are withdrawn
	 * (election.h), and no more are made until a write succeeds */
	if (h->writing && now - h->write_started >= h->el.p.delay_ms)
		persist_hold(h, 1, "the election state cannot be persisted in state_dir (a write takes over a delay)");
	/* a failed write is tried again each delay */
	if ((h->el.hold & EL_HOLD_PERSIST) && !h->writing)
		h->persist = 1;
	CALL(h, election_beat(&h->el, now));
}

int heartbeat_echo(const struct heartbeat *h, const struct wire_msg *m, uint64_t beat_at, uint64_t now)
{
	const struct election *e = &h->el;

	if (m->type != WIRE_HEARTBEAT || m->role != WIRE_ROLE_MASTER || e->state != EL_SLAVE || e->p.retries < 2 ||
	    strcmp(e->master, m->node) != 0)
		return HB_ECHO_NONE;
	return now - beat_at >= e->p.delay_ms / 2 ? HB_ECHO_NOW : HB_ECHO_LATER;
}

void heartbeat_sent(struct heartbeat *h, uint8_t type, uint64_t now)
{
	struct ms_event *ev;

	election_sent(&h->el, type, now);
	if (h->el.state == EL_MASTER && type == WIRE_HEARTBEAT && (ev = queue_event(h, MS_IN_FENCE)) != NULL)
		ev->deadline = election_fence_deadline(&h->el);
}

int heartbeat_has_events(const struct heartbeat *h)
{
	return h->nev > 0;
}

void heartbeat_wake(struct heartbeat *h, uint64_t now)
{
	if (h->resign_copies == 0 || now < h->resign_next_at)
		return;
	queue_send(h, WIRE_RESIGN);
	if (--h->resign_copies > 0) {
		h->resign_next_at = now + h->el.p.delay_ms / 3;
		return;
	}
	h->resign_next_at = 0;
	queue_event(h, MS_IN_RESIGN_SENT);
}

uint64_t heartbeat_wake_at(const struct heartbeat *h)
{
	return h->resign_copies > 0 ? h->resign_next_at : 0;
}

uint8_t heartbeat_take_send(struct heartbeat *h)
{
	uint8_t t;

	if (h->nsend == 0)
		return 0;
	t = h->send[0];
	memmove(h->send, h->send + 1, --h->nsend);
	return t;
}

int heartbeat_take_note(struct heartbeat *h, struct hb_note *n)
{
	if (h->nnotes == 0)
		return 0;
	*n = h->notes[0];
	memmove(h->notes, h->notes + 1, --h->nnotes * sizeof(h->notes[0]));
	return 1;
}

void heartbeat_fill(const struct heartbeat *h, uint8_t type, uint64_t now, struct wire_msg *m)
{
	election_fill(&h->el, type, now, m);
	if (election_quorum(&h->el, now))
		m->flags |= WIRE_F_QUORUM;
}

/* ---- the cluster interface ---- */

static void hb_resign(void *impl, const char *target, uint64_t holddown_ms, uint64_t now)
{
	struct heartbeat *h = impl;
	size_t sent = h->nsend;

	CALL(h, election_resign(&h->el, target, holddown_ms, now));
	/* translate() queued the first copy: the others follow across one
	 * heartbeat interval */
	for (size_t i = sent; i < h->nsend; i++)
		if (h->send[i] == WIRE_RESIGN) {
			h->resign_copies = HB_RESIGN_COPIES - 1;
			h->resign_next_at = now + h->el.p.delay_ms / 3;
			return;
		}
	/* not master: nothing to send */
	queue_event(h, MS_IN_RESIGN_SENT);
}

static int hb_handover(void *impl, const char *target, uint64_t now, char *why, size_t len)
{
	struct heartbeat *h = impl;
	unsigned a;
	enum el_state old = h->el.state;
	char om[WIRE_ID_MAX + 1];

	memcpy(om, h->el.master, sizeof(om));
	a = election_request_handover(&h->el, target, now);
	if ((a & (EL_SEND_HANDOVER | EL_HANDOVER_REQUESTED)) == 0) {
		snprintf(why, len, "%s", h->el.reason);
		translate(h, a, old, om);
		return -1;
	}
	translate(h, a, old, om);
	return 0;
}

static void hb_set_claimable(void *impl, int yes)
{
	struct heartbeat *h = impl;

	if (h->el.noclaim != !yes)
		h->el.recheck_at = 1; /* a claim may be made, or must be withdrawn: at once */
	h->el.noclaim = !yes;
}

static int hb_standbys(void *impl, uint64_t now)
{
	struct heartbeat *h = impl;

	return (int)election_standbys(&h->el, now);
}

static int hb_next_event(void *impl, struct ms_event *ev)
{
	struct heartbeat *h = impl;

	if (h->nev == 0)
		return 0;
	*ev = h->ev[h->ev_head];
	h->ev_head = (h->ev_head + 1) % HB_EVENT_MAX;
	h->nev--;
	return 1;
}

const struct cluster_ops heartbeat_ops = {
	.name = "heartbeat",
	.resign = hb_resign,
	.handover = hb_handover,
	.set_claimable = hb_set_claimable,
	.standbys = hb_standbys,
	.next_event = hb_next_event,
};
