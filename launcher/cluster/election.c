/*
 * Election decisions.  Every entry point takes the monotonic time in ms,
 * first checks that this node did not itself stall, then decides, and
 * returns the actions for the caller as a bit mask.
 */
#include "election.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

const char *election_state_name(enum el_state s) { return wire_role_name((uint8_t)s); }

uint64_t election_tick_ms(const struct election *e) { return clamp(e->p.delay_ms / 10, 2, 50); }

/* a ranks before b: lower position, then the lower id. */
static int ranks_before(uint16_t pa, const char *ida, uint16_t pb, const char *idb)
{
	if (pa != pb)
		return pa < pb;
	return strcmp(ida, idb) < 0;
}

/* Of two masters or claims, a wins: higher term, then better rank. */
static int wins(uint64_t ta, uint16_t pa, const char *ida, uint64_t tb, uint16_t pb, const char *idb)
{
	if (ta != tb)
		return ta > tb;
	return ranks_before(pa, ida, pb, idb);
}

static void set_state(struct election *e, enum el_state s, unsigned *act, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_state(struct election *e, enum el_state s, unsigned *act, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	if (e->state == EL_MASTER && s != EL_MASTER)
		e->demotions++;
	if (s == EL_MASTER && e->state != EL_MASTER) {
		e->promotions++;
		e->yielded_until = 0; /* leading again: we yield to nobody */
	}
	if (s != EL_CANDIDATE)
		e->claim_unsent = e->claim_named = 0; /* a claim withdrawn before it went out stays unsent */
	e->state = s;
	*act |= EL_STATE_CHANGED;
}

static struct el_peer *find_peer(struct election *e, const char *id)
{
	for (size_t i = 0; i < e->npeers; i++)
		if (strcmp(e->peers[i].id, id) == 0)
			return &e->peers[i];
	return NULL;
}

const struct el_peer *election_peer(const struct election *e, const char *id)
{
	return find_peer((struct election *)e, id);
}

int election_peer_live(const struct election *e, const struct el_peer *p, uint64_t now)
{
	return p != NULL && now - p->last_seen < e->timeout;
}

size_t election_live(const struct election *e, uint64_t now)
{
	size_t n = 1; /* ourselves */

	for (size_t i = 0; i < e->npeers; i++)
		n += election_peer_live(e, &e->peers[i], now);
	return n;
}

size_t election_newer_live(const struct election *e, uint64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < e->npeers; i++)
		n += election_peer_live(e, &e->peers[i], now) && e->peers[i].version > WIRE_VERSION;
	return n;
}

/* Live peers of a newer protocol that may claim: while there is one, this
 * node neither claims nor promotes (a newer node may elect by rules this
 * one cannot read).  One that says it will not claim (held down, resigned,
 * stopping: a flag whose meaning every version keeps) does not hold the
 * others back, or a newer node whose broker cannot start would leave the
 * cluster without a master. */
static size_t newer_claimants(const struct election *e, uint64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < e->npeers; i++)
		n += election_peer_live(e, &e->peers[i], now) && e->peers[i].version > WIRE_VERSION &&
		     !(e->peers[i].flags & WIRE_F_NOCLAIM);
	return n;
}

int election_quorum(const struct election *e, uint64_t now)
{
	return e->p.expected_nodes == 0 || election_live(e, now) * 2 > e->p.expected_nodes;
}

void election_set_params(struct election *e, const struct el_params *p)
{
	char self[sizeof(e->p.self)];

	memcpy(self, e->p.self, sizeof(self));
	e->p = *p;
	memcpy(e->p.self, self, sizeof(self));
	e->timeout = (uint64_t)p->retries * p->delay_ms;
	e->claim_window = clamp(p->delay_ms / 2, 10, 500);
	e->skew_step = clamp(p->delay_ms / 2, 10, 500);
	/* the next tick was planned by the old timing: at once, and no
	 * lateness measured against that plan */
	e->recheck_at = 1;
	e->due_at = 0;
	e->tick_anchor = e->last_call; /* the tick's new length counts from here */
}

void election_init(struct election *e, const struct el_params *p, uint64_t now)
{
	memset(e, 0, sizeof(*e));
	e->p = *p;
	election_set_params(e, p);
	e->state = EL_LISTENING;
	/* what we promised before a restart: never a second vote in that
	 * term, never our claim of it again */
	e->max_term = p->initial_term > p->voted_term ? p->initial_term : p->voted_term;
	e->voted_term = e->durable_term = p->voted_term;
	snprintf(e->voted_for, sizeof(e->voted_for), "%s", p->voted_for);
	e->listen_until = now + e->timeout;
	e->last_call = e->last_tick = e->tick_anchor = now;
	snprintf(e->reason, sizeof(e->reason), "started; listening for %llu ms", (unsigned long long)e->timeout);
}

void election_set_hold(struct election *e, unsigned hold, int on)
{
	unsigned before = e->hold;

	if (on)
		e->hold |= hold;
	else
		e->hold &= ~hold;
	if (e->hold != before)
		e->recheck_at = 1; /* a claim may be made, or must be withdrawn: at once */
}

/*
 * Our cluster-wide settings against the master's (settings.c): a node
 * that times the master out sooner, counts another quorum or signs with a
 * key the others lack would claim by other rules than the rest.  It says
 * so and neither claims nor votes.  The last master's settings stay the
 * reference for three timeouts after it is lost, so the odd node does not
 * take over the moment the master dies; after that, with nobody elected,
 * any node may claim again.  Peers that send no digest (older releases)
 * are not compared.
 */
static void check_settings(struct election *e, uint64_t now, unsigned *act)
{
	const struct el_peer *m = NULL;
	char before[sizeof(e->settings_master)];
	int differ;

	memcpy(before, e->settings_master, sizeof(before));
	if (e->state == EL_MASTER) {
		e->master_settings = 0; /* we are the reference */
	} else if (e->master[0] != '\0' && strcmp(e->master, e->p.self) != 0 &&
		   (m = find_peer(e, e->master)) != NULL) {
		/* one that sends no digest (an older release) is no reference */
		e->master_settings = m->settings;
		snprintf(e->settings_master, sizeof(e->settings_master), "%s", m->id);
		e->settings_seen = now;
		e->settings_timeout = m->timeout;
	} else if (e->master[0] == '\0' && e->master_settings != 0 &&
		   now - e->settings_seen > 3 * (e->settings_timeout > e->timeout ? e->settings_timeout : e->timeout)) {
		/* three of the longer of the two timeouts: a master whose
		 * timeout is longer than ours keeps its broker (its fence)
		 * that much longer */
		e->master_settings = 0;
	}
	differ = e->master_settings != 0 && e->p.settings != 0 && e->master_settings != e->p.settings;
	/* unchanged, and against the same master */
	if (differ == ((e->hold & EL_HOLD_SETTINGS) != 0) && (!differ || strcmp(before, e->settings_master) == 0))
		return;
	election_set_hold(e, EL_HOLD_SETTINGS, differ);
	*act |= EL_HOLD_CHANGED;
	if (differ)
		snprintf(e->hold_reason, sizeof(e->hold_reason),
			 "our cluster settings differ from master %s's (ours: delay %u, retries %u, expected_nodes %u; "
			 "the protocol and key_id count too): not claiming or voting until they match",
			 e->settings_master, e->p.delay_ms, e->p.retries, e->p.expected_nodes);
	else
		snprintf(e->hold_reason, sizeof(e->hold_reason), "our cluster settings match the master's again");
}

/* The caller's noclaim, or a reason of our own: no claim, no promotion as
 * a named successor, no preemption. */
static int may_not_lead(const struct election *e)
{
	return e->noclaim || e->hold != 0;
}

static int master_alive(const struct election *e, uint64_t now)
{
	return e->master[0] != '\0' && strcmp(e->master, e->p.self) != 0 && now - e->master_seen < e->timeout;
}

/* We follow a master and heard it ourselves less than a timeout ago: the
 * only sighting a slave relays (see election_fill). */
static int heard_first_hand(const struct election *e, uint64_t now)
{
	return e->master[0] != '\0' && e->state != EL_MASTER && e->master_heard != 0 && now >= e->master_heard &&
	       now - e->master_heard < e->timeout;
}

static void lose_master(struct election *e, uint64_t lost_at, unsigned *act, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void lose_master(struct election *e, uint64_t lost_at, unsigned *act, const char *fmt, ...)
{
	va_list ap;

	if (e->master[0] != '\0') {
		*act |= EL_MASTER_CHANGED;
		va_start(ap, fmt);
		vsnprintf(e->master_reason, sizeof(e->master_reason), fmt, ap);
		va_end(ap);
	}
	e->master[0] = '\0';
	e->lost_at = lost_at;
	e->silent[0] = '\0';
}

/*
 * Time as the election sees it never goes back: a caller that read the
 * clock before work that fed us a later reading (a packet drained before
 * the heartbeat it timed) passes an older "now", and every "now - then"
 * here would wrap to an age of 584 million years.
 */
static uint64_t now_at_least_last(const struct election *e, uint64_t now)
{
	return now < e->last_call ? e->last_call : now;
}

/*
 * Our own stall (SIGSTOP, swap, a paused VM) longer than the timeout: the
 * cluster has moved on without us.  Step down before acting on anything we
 * believed, and listen again as a node that just started.
 *
 * The gap since the last call is at least as long as the stall, and
 * without one it is never over election_due_max() (at most half the timeout):
 * calls come at least that often (election_next_due(), and the
 * heartbeat timer every delay).  So every stall longer than the timeout
 * is caught; one a little shorter may count as one too (by up to the
 * time from the last call to the stall's start): stepping down then is
 * only early.
 *
 * A call later than the time we asked for (e->due_at) by more than two
 * ticks: the loop ran late, and what we read next waited in the socket
 * (see catching_up).  A caller that never asks: a gap of missed ticks.
 * A stall that ends before the time asked for is not seen here, but the
 * packets that waited through it are (election_on_packet, waited_ms).
 */
static void check_stall(struct election *e, uint64_t now, unsigned *act)
{
	uint64_t gap = now - e->last_call, slack = 2 * election_tick_ms(e);

	e->last_call = now;
	if (e->due_at != 0 ? now > e->due_at + slack : gap > slack)
		e->late_at = now;
	if (gap <= e->timeout || e->state == EL_LISTENING)
		return;
	set_state(e, EL_LISTENING, act, "stalled for %llu ms (timeout %llu ms): assuming we were replaced; rejoining",
		  (unsigned long long)gap, (unsigned long long)e->timeout);
	lose_master(e, now, act, "we stalled");
	e->vote_unsent = 0; /* a vote that waited a timeout is worth nothing */
	e->listen_until = now + e->timeout;
	e->pending_claim_until = 0;
}

uint64_t election_beat_limit(const struct election *e)
{
	return e->timeout - e->p.delay_ms / 2;
}

uint64_t election_fence_deadline(const struct election *e)
{
	return e->state == EL_MASTER ? e->last_beat + election_beat_limit(e) : 0;
}

/*
 * A master that has not sent a heartbeat for the limit (a pause shorter
 * than the timeout, counted from the last heartbeat, not from our last
 * call): the others may be timing us out now, counting from the last one
 * they heard.  Step down before sending anything as master, and listen as
 * a node that just started: whoever they elect is heard first.
 */
static void check_send_gap(struct election *e, uint64_t now, unsigned *act)
{
	uint64_t gap = now - e->last_beat;

	if (e->state != EL_MASTER || gap <= election_beat_limit(e))
		return;
	set_state(e, EL_LISTENING, act,
		  "no heartbeat sent for %llu ms (limit %llu ms): the others may have timed us out; stepping down",
		  (unsigned long long)gap, (unsigned long long)election_beat_limit(e));
	lose_master(e, now, act, "we did not send in time");
	e->listen_until = now + e->timeout;
	e->pending_claim_until = 0;
}

/* Our own checks, at every call. */
static void check_self(struct election *e, uint64_t now, unsigned *act)
{
	check_stall(e, now, act);
	check_send_gap(e, now, act);
}

/* A call at now changed a role, the master, a peer or a hold: what the
 * tick decides on, beyond the clock.  The tick is due then
 * (election_next_due): a claim it would make now, or a withdrawal, must
 * not wait for the next deadline. */
static unsigned note_changes(struct election *e, unsigned act, uint64_t at)
{
	if ((act & (EL_STATE_CHANGED | EL_MASTER_CHANGED | EL_PEERS_CHANGED | EL_HOLD_CHANGED)) &&
	    (e->recheck_at == 0 || at < e->recheck_at))
		e->recheck_at = at;
	return act;
}

unsigned election_beat(struct election *e, uint64_t now)
{
	unsigned act = EL_SEND_HEARTBEAT;

	now = now_at_least_last(e, now);
	check_self(e, now, &act);
	return note_changes(e, act, now);
}

void election_sent(struct election *e, uint8_t type, uint64_t now)
{
	now = now_at_least_last(e, now);
	if (e->state == EL_MASTER && type == WIRE_HEARTBEAT)
		e->last_beat = now;
}

static void follow(struct election *e, const struct wire_msg *m, uint64_t now, unsigned *act)
{
	/* a new master: our heartbeat tells it at once that we heard it
	 * (its lease, with a quorum) */
	if (strcmp(e->master, m->node) != 0)
		*act |= EL_MASTER_CHANGED | (e->p.expected_nodes ? EL_SEND_HEARTBEAT : 0);
	snprintf(e->master, sizeof(e->master), "%s", m->node);
	e->term = m->term;
	e->master_seen = now;
	e->master_heard = now;
	e->favored[0] = '\0';
	e->pending_claim_until = 0;
}

static void promote(struct election *e, uint64_t now, unsigned *act, const char *why)
{
	e->term = e->claim_term;
	if (e->term > e->max_term)
		e->max_term = e->term;
	snprintf(e->master, sizeof(e->master), "%s", e->p.self);
	e->became_master_at = now;
	for (size_t i = 0; i < e->npeers; i++)
		e->peers[i].acked = 0; /* only what they heard of this mastership */
	e->last_beat = now; /* nobody counts us as master before our first heartbeat */
	e->quorum_lost_since = 0;
	e->favored[0] = '\0';
	*act |= EL_SEND_HEARTBEAT | EL_MASTER_CHANGED;
	set_state(e, EL_MASTER, act, "%s; term %llu", why, (unsigned long long)e->term);
}

/* The resigning master named us, and the claim is ours to make at once. */
static int named_successor(const struct election *e, uint64_t now)
{
	return e->favored[0] != '\0' && now < e->favored_until && strcmp(e->favored, e->p.self) == 0;
}

/*
 * Our loop ran late a moment ago (a pause shorter than the timeout, a
 * busy host): the packets we read now may be old, and what came after
 * them is still in the socket.  A promotion without a claim window (a
 * resignation naming us, a majority's votes) would act on a cluster that
 * has moved on: another node may have claimed and won meanwhile (the
 * stress found a woken named successor promoting in the term another had
 * just won).  Until the claim window has passed, such a promotion goes
 * through a claim, whose window lets the rest be read.
 */
static int catching_up(const struct election *e, uint64_t now)
{
	return e->late_at != 0 && now - e->late_at < e->claim_window;
}

/* The live slave that ranks first, not counting those about to stop. */
static const struct el_peer *best_slave(const struct election *e, uint64_t now)
{
	const struct el_peer *best = NULL;

	for (size_t i = 0; i < e->npeers; i++) {
		const struct el_peer *p = &e->peers[i];
		if (!election_peer_live(e, p, now) || p->role != EL_SLAVE || (p->flags & WIRE_F_NOCLAIM))
			continue;
		if (best == NULL || ranks_before(p->position, p->id, best->position, best->id))
			best = p;
	}
	return best;
}

size_t election_standbys(const struct election *e, uint64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < e->npeers; i++) {
		const struct el_peer *p = &e->peers[i];
		if (election_peer_live(e, p, now) && p->role == EL_SLAVE && !(p->flags & WIRE_F_NOCLAIM))
			n++;
	}
	return n;
}

/* Our place among the live nodes that may claim (0 = first). */
static unsigned claim_rank(const struct election *e, uint64_t now)
{
	unsigned k = 0;

	for (size_t i = 0; i < e->npeers; i++) {
		const struct el_peer *p = &e->peers[i];
		/* listening peers count: nodes started together end listening together */
		if (!election_peer_live(e, p, now) || p->role == EL_MASTER || (p->flags & WIRE_F_NOCLAIM))
			continue;
		if (ranks_before(p->position, p->id, e->p.position, e->p.self))
			k++;
	}
	if (e->favored[0] != '\0' && now < e->favored_until) {
		if (strcmp(e->favored, e->p.self) == 0)
			return 0;
		if (election_peer_live(e, find_peer((struct election *)e, e->favored), now))
			k++;
	}
	return k;
}

/* Our vote plus those received form a majority (always true without quorum). */
static int votes_enough(const struct election *e)
{
	return e->p.expected_nodes == 0 || (e->nvotes + 1) * 2 > e->p.expected_nodes;
}

/* Send the claim and open the claim window. */
static void open_claim(struct election *e, uint64_t now, unsigned *act)
{
	e->claim_unsent = 0;
	e->claim_until = now + e->claim_window;
	e->claim_resend_at = now + e->claim_window / 3;
	e->claim_resends = 2;
	*act |= EL_SEND_CLAIM;
}

/* Our vote in voted_term must be durable before we send what promises it
 * (p.persist): ask the caller, and note since when we wait. */
static int must_persist(struct election *e, uint64_t now, unsigned *act)
{
	if (!e->p.persist || e->voted_term <= e->durable_term)
		return 0;
	e->persist_asked_at = now;
	*act |= EL_PERSIST;
	return 1;
}

/* A claim of a term above any seen, our own vote in it: announced and the
 * claim window opened once that vote is durable. */
static void start_claim(struct election *e, uint64_t now, unsigned *act)
{
	e->claim_named = 0;
	e->claim_term = e->max_term + 1;
	e->nvotes = 0;
	e->voted_term = e->claim_term; /* our own vote */
	snprintf(e->voted_for, sizeof(e->voted_for), "%s", e->p.self);
	e->vote_unsent = 0;           /* a vote for another waiting: superseded */
	if (must_persist(e, now, act)) {
		e->claim_unsent = 1;
		e->claim_until = e->claim_resend_at = 0;
		return;
	}
	open_claim(e, now, act);
}

static int named_may_promote(const struct election *e, const char *resigner, uint64_t now);

unsigned election_durable(struct election *e, uint64_t term, uint64_t now)
{
	unsigned act = 0;

	now = now_at_least_last(e, now);
	check_stall(e, now, &act);
	if (term > e->durable_term)
		e->durable_term = term;
	if (e->state == EL_CANDIDATE && e->claim_unsent && e->claim_term <= e->durable_term) {
		if (e->claim_named && e->max_term <= e->claim_term && named_may_promote(e, e->named_by, now)) {
			char why[WIRE_ID_MAX + 64];
			snprintf(why, sizeof(why), "master %s resigned in favour of us", e->named_by);
			e->claim_unsent = 0;
			promote(e, now, &act, why);
		} else {
			/* not named any more, or what changed meanwhile (a
			 * claimant heard, a term above ours): a claim, whose
			 * window decides as for any other */
			e->claim_named = 0;
			open_claim(e, now, &act);
		}
	}
	if (e->vote_unsent && e->voted_term <= e->durable_term) {
		e->vote_unsent = 0;
		act |= EL_SEND_VOTE;
	}
	return note_changes(e, act, now);
}

/* A claim or vote not durable within one delay is not sent: the write
 * is slow or hung, and a late claim or vote only confuses. */
static void persist_overdue(struct election *e, uint64_t now, unsigned *act)
{
	if (!(e->claim_unsent || e->vote_unsent) || now - e->persist_asked_at < e->p.delay_ms)
		return;
	e->vote_unsent = 0;
	if (e->claim_unsent) {
		e->pending_claim_until = now + e->p.delay_ms;
		set_state(e, EL_SLAVE, act, "claim of term %llu withdrawn: not persisted within %u ms",
			  (unsigned long long)e->claim_term, e->p.delay_ms);
	}
}

/*
 * A live peer whose last packet said it is master (the best of them, as
 * two masters would settle it).  We may follow another, or none: after a
 * partition heals, a slave follows the master of its old side (a higher
 * term) and ignores this one's heartbeats; when that master is lost, this
 * one is still alive, and a claim would make a second master beside it
 * (the stress found slaves claiming with such a master's heartbeat a few
 * ms old, and a paused one's within its fence deadline).
 */
static const struct el_peer *live_master_peer(const struct election *e, uint64_t now)
{
	const struct el_peer *best = NULL;

	for (size_t i = 0; i < e->npeers; i++) {
		const struct el_peer *p = &e->peers[i];
		if (!election_peer_live(e, p, now) || p->role != EL_MASTER)
			continue;
		if (best == NULL || wins(p->term, p->position, p->id, best->term, best->position, best->id))
			best = p;
	}
	return best;
}

/* No master followed, but a live one heard: follow it (heard first-hand,
 * when its last packet came). */
static void adopt_live_master(struct election *e, uint64_t now, unsigned *act)
{
	const struct el_peer *p = live_master_peer(e, now);

	if (p == NULL || master_alive(e, now))
		return;
	snprintf(e->master, sizeof(e->master), "%s", p->id);
	e->term = p->term;
	e->master_seen = e->master_heard = p->last_seen;
	e->pending_claim_until = 0;
	e->silent[0] = '\0';
	*act |= EL_MASTER_CHANGED;
}

static void maybe_claim(struct election *e, uint64_t now, unsigned *act)
{
	unsigned k;
	uint64_t from = e->lost_at;

	if (may_not_lead(e) || now < e->holddown_until || now < e->pending_claim_until || !election_quorum(e, now))
		return;
	/* a full timeout of listening after a start or a stall, also when a
	 * master was heard earlier (see on_resign) */
	if (now < e->listen_until)
		return;
	if (live_master_peer(e, now) != NULL)
		return; /* never a claim beside a live master (adopt_live_master) */
	/* a newer node may elect by rules we do not know (a new message, a
	 * longer claim window, a vote we cannot read): a claim of ours could
	 * overlap its master's.  It claims; we follow it (see election.h) */
	if (newer_claimants(e, now) > 0)
		return;
	/* the rank skew also counts from the end of a wait for another claim:
	 * two nodes that waited for the same one (or failed together to get a
	 * majority) must not claim the same term at the same moment again */
	if (e->pending_claim_until > from)
		from = e->pending_claim_until;
	k = claim_rank(e, now);
	if (now < from + k * e->skew_step)
		return;
	start_claim(e, now, act);
	set_state(e, EL_CANDIDATE, act, "no master; claiming term %llu (rank %u among live slaves)",
		  (unsigned long long)e->claim_term, k);
}

/* A live peer, other than the one named, that claims or is master. */
static const struct el_peer *contender(const struct election *e, const char *except, uint64_t now)
{
	for (size_t i = 0; i < e->npeers; i++) {
		const struct el_peer *p = &e->peers[i];
		if (election_peer_live(e, p, now) && strcmp(p->id, except) != 0 &&
		    (p->role == EL_CANDIDATE || p->role == EL_MASTER))
			return p;
	}
	return NULL;
}

/* We may promote at once on the resignation of resigner, which named us
 * (on_resign; again when our term is durable, election_durable). */
static int named_may_promote(const struct election *e, const char *resigner, uint64_t now)
{
	return !may_not_lead(e) && now >= e->holddown_until && election_quorum(e, now) &&
	       newer_claimants(e, now) == 0 && named_successor(e, now) && e->p.expected_nodes == 0 &&
	       contender(e, resigner, now) == NULL && !catching_up(e, now) && now >= e->listen_until;
}

static void expire_peers(struct election *e, uint64_t now, unsigned *act)
{
	size_t i = 0;

	while (i < e->npeers) {
		if (!election_peer_live(e, &e->peers[i], now)) {
			e->peers[i] = e->peers[--e->npeers];
			*act |= EL_PEERS_CHANGED;
		} else {
			i++;
		}
	}
}

/*
 * With a quorum, the master's lease: a slave votes for another only once
 * it has not heard us for a timeout, and tells us in each heartbeat when
 * it last heard us first-hand (master_age).  While we and the slaves that
 * heard us less than timeout - 2 ticks ago are a majority, no other
 * majority can form.  Past that we step down, two ticks ahead of the
 * earliest vote against us (packet transit, our tick).  Its broker is
 * stopped then, not waited for: fencing a broker slower to stop is the
 * fence deadline's work.  The first delay
 * of a mastership is granted: its voters only start following it then,
 * and could not elect another before pending_claim_until (a claim window
 * and a delay after they voted).
 */
static int lease_lost(const struct election *e, uint64_t now)
{
	size_t n = 1;
	uint64_t lease = e->timeout - 2 * election_tick_ms(e);

	if (e->p.expected_nodes == 0 || now - e->became_master_at < e->p.delay_ms)
		return 0;
	for (size_t i = 0; i < e->npeers; i++)
		n += e->peers[i].acked != 0 && now - e->peers[i].acked < lease;
	return n * 2 <= e->p.expected_nodes;
}

unsigned election_tick(struct election *e, uint64_t now)
{
	unsigned act = 0;

	now = now_at_least_last(e, now);
	check_self(e, now, &act);
	e->last_tick = now;
	e->recheck_at = 0;
	expire_peers(e, now, &act);
	persist_overdue(e, now, &act);
	switch (e->state) {
	case EL_LISTENING:
		if (now < e->listen_until)
			break;
		if (master_alive(e, now)) {
			set_state(e, EL_SLAVE, &act, "listened %llu ms; master is %s (term %llu)",
				  (unsigned long long)e->timeout, e->master, (unsigned long long)e->term);
			break;
		}
		lose_master(e, now, &act, "none heard");
		set_state(e, EL_SLAVE, &act, "listened %llu ms; no master heard", (unsigned long long)e->timeout);
		/* fall through: we may be the one to claim */
		/* FALLTHROUGH */
	case EL_SLAVE:
		if (e->master[0] != '\0' && !master_alive(e, now)) {
			char id[sizeof(e->master)];
			uint64_t seen = e->master_seen;
			memcpy(id, e->master, sizeof(id));
			lose_master(e, e->master_seen + e->timeout, &act, "master %s lost: nothing heard for %llu ms",
				    e->master, (unsigned long long)(now - e->master_seen));
			memcpy(e->silent, id, sizeof(id));
			e->silent_seen = seen;
		}
		adopt_live_master(e, now, &act);
		if (master_alive(e, now)) {
			const struct el_peer *m = find_peer(e, e->master);
			if (e->p.preempt && !may_not_lead(e) && m != NULL && ranks_before(e->p.position, e->p.self, m->position, m->id) &&
			    now >= e->holddown_until && now - e->handover_sent_at >= e->p.delay_ms &&
			    newer_claimants(e, now) == 0) {
				snprintf(e->handover_target, sizeof(e->handover_target), "%s", e->p.self);
				e->handover_sent_at = now;
				act |= EL_SEND_HANDOVER;
			}
			break;
		}
		maybe_claim(e, now, &act);
		break;
	case EL_CANDIDATE:
		if (!election_quorum(e, now)) {
			set_state(e, EL_SLAVE, &act, "quorum lost while claiming: see %zu of %u nodes",
				  election_live(e, now), e->p.expected_nodes);
		} else if (newer_claimants(e, now) > 0) {
			set_state(e, EL_SLAVE, &act, "a live peer speaks a newer protocol: claim withdrawn");
		} else if (may_not_lead(e)) {
			set_state(e, EL_SLAVE, &act, "claim withdrawn: this node may not lead now");
		} else if (e->claim_unsent) {
			/* waiting for election_durable(); persist_overdue() bounds it */
		} else if (now >= e->claim_until && !votes_enough(e)) {
			/* a minority cannot collect a majority: try again later */
			e->pending_claim_until = now + e->p.delay_ms;
			set_state(e, EL_SLAVE, &act, "claim of term %llu got %zu of the %u votes needed",
				  (unsigned long long)e->claim_term, e->nvotes + 1, e->p.expected_nodes / 2 + 1);
		} else if (now >= e->claim_until && e->max_term > e->claim_term) {
			/* a higher term was heard meanwhile: a promotion must carry a
			 * term above any seen, so claim again above it */
			unsigned long long old = e->claim_term;
			start_claim(e, now, &act);
			snprintf(e->reason, sizeof(e->reason), "term %llu heard while claiming %llu; claiming term %llu",
				 (unsigned long long)e->max_term, old, (unsigned long long)e->claim_term);
		} else if (now >= e->claim_until) {
			promote(e, now, &act, "no better claim and no live master within the claim window");
		} else if (e->claim_resend_at != 0 && now >= e->claim_resend_at) {
			/* three copies across the window against packet loss: each is
			 * answered by the master and by slaves that hear it */
			e->claim_resend_at = --e->claim_resends > 0 ? now + e->claim_window / 3 : 0;
			act |= EL_SEND_CLAIM;
		}
		break;
	case EL_MASTER:
		if (lease_lost(e, now)) {
			lose_master(e, now, &act, "lease lost");
			set_state(e, EL_SLAVE, &act,
				  "not heard by a majority for %llu ms: stepping down before it may elect another",
				  (unsigned long long)(e->timeout - e->p.delay_ms));
			break;
		}
		if (election_quorum(e, now)) {
			e->quorum_lost_since = 0;
		} else if (e->quorum_lost_since == 0) {
			e->quorum_lost_since = now;
		} else if (now - e->quorum_lost_since >= e->timeout) {
			lose_master(e, now, &act, "lost quorum");
			set_state(e, EL_SLAVE, &act, "lost quorum: see %zu of %u nodes for %llu ms", election_live(e, now),
				  e->p.expected_nodes, (unsigned long long)(now - e->quorum_lost_since));
		}
		break;
	}
	check_settings(e, now, &act);
	/* what changed here may let the next tick act (a master that lost
	 * its lease may claim: its rank skew counts from now): one tick on,
	 * as a fixed tick would */
	return note_changes(e, act, now + 1); /* the grid's next time (election_next_due) */
}

/*
 * The longest wait between two ticks: a delay, at most half the timeout
 * and 1 s, less three ticks.  A stall long enough for another node to
 * take over from a resignation that waited through it (its rank's wait
 * and its claim window: a delay, at most 1 s, after the resignation) then
 * always spans a tick that was due, and the call after it is late by more
 * than the two ticks check_stall() allows: we promote through a claim
 * (catching_up).  The packets' own age (waited_ms) does not show a stall
 * of the whole machine, whose packets are stamped when it runs again.
 */
uint64_t election_due_max(const struct election *e)
{
	uint64_t t = election_tick_ms(e), m = e->p.delay_ms;

	if (m > e->timeout / 2)
		m = e->timeout / 2;
	if (m > 1000)
		m = 1000;
	return m > 4 * t ? m - 3 * t : t;
}

uint64_t election_on_grid(const struct election *e, uint64_t t)
{
	uint64_t k = election_tick_ms(e);

	return t <= e->tick_anchor ? t : e->tick_anchor + (t - e->tick_anchor + k - 1) / k * k;
}

/* t, when the last tick came before it, and it comes before *at */
static void due(const struct election *e, uint64_t *at, uint64_t t)
{
	if (t > e->last_tick && t < *at)
		*at = t;
}

/*
 * Every time election_tick() and what it calls compare with the clock.
 * Times at or before the last tick were seen by it; a call since that set
 * a time at or before now also changed a role, master or peer (recheck).
 * Times whose comparison does not matter in the present state may count
 * all the same: a tick that finds nothing to do costs little.
 */
uint64_t election_next_due(struct election *e, uint64_t now)
{
	/* the longest wait counts from the last call of any kind (a packet,
	 * a heartbeat, a tick): a stall begins after it, and the first call
	 * after the stall is late against the time asked for, whoever makes
	 * it.  So a tick comes only when nothing else called for that long.
	 * A master needs none between its heartbeats: its own stall shows at
	 * each of them (check_send_gap), and lateness only holds back a
	 * promotion (catching_up), which a master does not make; its calls
	 * (the heartbeat timer, every delay) come at least every half timeout
	 * for check_stall() when retries >= 2, and the bound keeps that true */
	uint64_t wait = election_due_max(e), from, at;

	if (e->state == EL_MASTER && e->timeout / 2 > wait)
		wait = e->timeout / 2;
	at = e->last_call + wait;

	now = now_at_least_last(e, now);
	/* a change: from now on (asked now, not late); one the tick that ran
	 * at this time did not see, at the grid's next time, as a fixed tick
	 * would */
	if (e->recheck_at != 0) {
		uint64_t r = e->recheck_at > now ? e->recheck_at : now;
		if (r <= e->last_tick)
			r = e->last_tick + 1;
		if (r < at)
			at = r;
	}
	/* expire_peers(), and with the peers the quorum, newer claimants,
	 * the live master peer and the claim rank */
	for (size_t i = 0; i < e->npeers; i++)
		due(e, &at, e->peers[i].last_seen + e->timeout);
	/* check_send_gap() */
	if (e->state == EL_MASTER)
		due(e, &at, e->last_beat + election_beat_limit(e) + 1);
	/* persist_overdue() */
	if (e->claim_unsent || e->vote_unsent)
		due(e, &at, e->persist_asked_at + e->p.delay_ms);
	/* check_settings(): the last master's settings stop counting */
	if (e->master[0] == '\0' && e->master_settings != 0)
		due(e, &at,
		    e->settings_seen + 3 * (e->settings_timeout > e->timeout ? e->settings_timeout : e->timeout) + 1);
	/* claim_rank(), named_successor() */
	if (e->favored[0] != '\0')
		due(e, &at, e->favored_until);
	switch (e->state) {
	case EL_LISTENING:
	case EL_SLAVE:
		due(e, &at, e->listen_until);
		/* master_alive() */
		if (e->master[0] != '\0' && strcmp(e->master, e->p.self) != 0)
			due(e, &at, e->master_seen + e->timeout);
		/* preemption, maybe_claim() */
		due(e, &at, e->holddown_until);
		if (e->p.preempt)
			due(e, &at, e->handover_sent_at + e->p.delay_ms);
		due(e, &at, e->pending_claim_until);
		from = e->pending_claim_until > e->lost_at ? e->pending_claim_until : e->lost_at;
		due(e, &at, from + claim_rank(e, now) * e->skew_step);
		break;
	case EL_CANDIDATE:
		due(e, &at, e->claim_until);
		if (e->claim_resend_at != 0)
			due(e, &at, e->claim_resend_at);
		break;
	case EL_MASTER:
		/* lease_lost(): its start, and each slave's word running out */
		if (e->p.expected_nodes != 0) {
			uint64_t lease = e->timeout - 2 * election_tick_ms(e);
			due(e, &at, e->became_master_at + e->p.delay_ms);
			for (size_t i = 0; i < e->npeers; i++)
				if (e->peers[i].acked != 0)
					due(e, &at, e->peers[i].acked + lease);
		}
		if (e->quorum_lost_since != 0)
			due(e, &at, e->quorum_lost_since + e->timeout);
		break;
	}
	/* on the fixed tick's grid: a time between two of its ticks was
	 * acted on at the next one */
	at = election_on_grid(e, at);
	e->due_at = at;
	return at;
}

static void on_master_heard(struct election *e, const struct wire_msg *m, uint64_t now, unsigned *act)
{
	const struct el_peer *cur;

	switch (e->state) {
	case EL_MASTER:
		if (wins(m->term, m->position, m->node, e->term, e->p.position, e->p.self)) {
			set_state(e, EL_SLAVE, act, "master %s (term %llu, position %u) outranks us (term %llu): demoting",
				  m->node, (unsigned long long)m->term, m->position, (unsigned long long)e->term);
			e->yielded_until = now + e->timeout;
			follow(e, m, now, act);
		} else {
			*act |= EL_SEND_HEARTBEAT; /* make it hear us and step down */
		}
		break;
	case EL_CANDIDATE:
		set_state(e, EL_SLAVE, act, "master %s is alive (term %llu): claim withdrawn", m->node,
			  (unsigned long long)m->term);
		follow(e, m, now, act);
		break;
	case EL_LISTENING:
	case EL_SLAVE:
		cur = e->master[0] ? find_peer(e, e->master) : NULL;
		if (!master_alive(e, now) || strcmp(e->master, m->node) == 0 || cur == NULL ||
		    wins(m->term, m->position, m->node, e->term, cur->position, cur->id))
			follow(e, m, now, act);
		if (e->state == EL_LISTENING)
			set_state(e, EL_SLAVE, act, "joined: master is %s (term %llu)", e->master,
				  (unsigned long long)e->term);
		break;
	}
}

static void on_claim(struct election *e, const struct wire_msg *m, uint64_t now, unsigned *act)
{
	switch (e->state) {
	case EL_MASTER:
		*act |= EL_SEND_HEARTBEAT; /* we are alive: the claimant withdraws */
		break;
	case EL_CANDIDATE:
		if (wins(m->term, m->position, m->node, e->claim_term, e->p.position, e->p.self)) {
			set_state(e, EL_SLAVE, act, "%s claims term %llu with a better rank: claim withdrawn", m->node,
				  (unsigned long long)m->term);
			e->pending_claim_until = now + e->claim_window + e->p.delay_ms;
		} else if (!e->claim_unsent) {
			*act |= EL_SEND_CLAIM;
		}
		break;
	case EL_LISTENING:
	case EL_SLAVE:
		if (master_alive(e, now)) {
			/* no vote against a live master; tell the claimant when we
			 * last heard it ourselves (see revive) */
			if (e->state == EL_SLAVE && heard_first_hand(e, now))
				*act |= EL_SEND_HEARTBEAT;
			break;
		}
		e->pending_claim_until = now + e->claim_window + e->p.delay_ms;
		/* not while listening: a node that just started may not have
		 * heard the live master yet */
		if (e->p.expected_nodes && e->state == EL_SLAVE && m->term > e->voted_term && e->hold == 0) {
			e->voted_term = m->term;
			snprintf(e->voted_for, sizeof(e->voted_for), "%s", m->node);
			if (must_persist(e, now, act))
				e->vote_unsent = 1;
			else
				*act |= EL_SEND_VOTE;
		}
		break;
	}
}

static void on_vote(struct election *e, const struct wire_msg *m, uint64_t now, unsigned *act)
{
	if (e->state != EL_CANDIDATE || m->term != e->claim_term || strcmp(m->target, e->p.self) != 0)
		return;
	for (size_t i = 0; i < e->nvotes; i++)
		if (strcmp(e->voters[i], m->node) == 0)
			return;
	if (e->nvotes < ELECTION_MAX_PEERS)
		snprintf(e->voters[e->nvotes++], sizeof(e->voters[0]), "%s", m->node);
	/* a majority has voted for the named successor's term: nobody else can
	 * collect one for it, and there is nothing left to wait for */
	if (!may_not_lead(e) && named_successor(e, now) && !catching_up(e, now) && votes_enough(e) &&
	    election_quorum(e, now) &&
	    e->max_term <= e->claim_term && newer_claimants(e, now) == 0)
		promote(e, now, act, "named by the resigning master, and a majority voted");
}

static void on_resign(struct election *e, const struct wire_msg *m, uint64_t now, unsigned *act)
{
	if (e->state == EL_MASTER || strcmp(e->master, m->node) != 0)
		return; /* copies after the first, or an old master's */
	lose_master(e, now, act, "master %s resigned%s%s", m->node, m->target[0] ? " in favour of " : "", m->target);
	snprintf(e->favored, sizeof(e->favored), "%s", m->target);
	e->favored_until = now + e->timeout;
	e->pending_claim_until = 0;
	if (e->state != EL_SLAVE || may_not_lead(e) || now < e->holddown_until || !election_quorum(e, now) ||
	    newer_claimants(e, now) > 0)
		return;
	/* not within the first timeout after our start (or a stall): the
	 * others may still drop our packets as another boot of ours while our
	 * last run's is live (filter.c), and would not hear us promote (the
	 * stress found a node restarted 140 ms after a kill -9 promoting on a
	 * resignation, unheard by two of four, one of which then promoted) */
	if (named_may_promote(e, m->node, now)) {
		/* the master handed its mastership to us and stopped its broker
		 * first: no claim window (any other claimant hears us at once and
		 * withdraws, as it would from any master).  Not when another node
		 * is known to claim or to be master: one that missed the old
		 * master may have promoted already, and only the claim window
		 * lets us hear it (the election model found this) */
		char why[WIRE_ID_MAX + 64];
		snprintf(why, sizeof(why), "master %s resigned in favour of us", m->node);
		/* p.persist: the term made durable first, with our vote in it,
		 * as a claim's: a master whose term was never written would,
		 * once restarted, claim and promote in that term again (the
		 * stress found it, a disk failing, at 1 s heartbeats: seed 1410) */
		e->claim_term = e->max_term + 1;
		if (e->p.persist) {
			e->nvotes = 0;
			e->voted_term = e->claim_term;
			snprintf(e->voted_for, sizeof(e->voted_for), "%s", e->p.self);
			e->vote_unsent = 0;
			if (must_persist(e, now, act)) {
				e->claim_until = e->claim_resend_at = 0;
				snprintf(e->named_by, sizeof(e->named_by), "%s", m->node);
				set_state(e, EL_CANDIDATE, act, "%s; term %llu to be written first", why,
					  (unsigned long long)e->claim_term);
				e->claim_unsent = e->claim_named = 1;
				return;
			}
		}
		promote(e, now, act, why);
		return;
	}
	/* with a quorum the named successor still collects votes, and promotes
	 * on the majority; the others wait their turn */
	maybe_claim(e, now, act);
}

static void resign(struct election *e, const char *target, uint64_t holddown_ms, uint64_t now, unsigned *act)
{
	char t[WIRE_ID_MAX + 1];

	/* target may be e->handover_target itself; none given: the slave that
	 * ranks first takes over at once, with no claim window */
	if (target == NULL || *target == '\0') {
		const struct el_peer *b = best_slave(e, now);
		target = b != NULL ? b->id : "";
	}
	snprintf(t, sizeof(t), "%s", target);
	memcpy(e->handover_target, t, sizeof(t));
	e->holddown_until = now + holddown_ms;
	lose_master(e, now, act, "we resigned");
	set_state(e, EL_SLAVE, act, "resigning%s%s", e->handover_target[0] ? " in favour of " : "",
		  e->handover_target);
	*act |= EL_SEND_RESIGN;
}

static void on_handover(struct election *e, const struct wire_msg *m, uint64_t now, unsigned *act)
{
	const char *target = m->target[0] ? m->target : m->node;
	const struct el_peer *t = find_peer(e, target);

	if (e->state != EL_MASTER || strcmp(target, e->p.self) == 0)
		return;
	if (!election_peer_live(e, t, now) || t->role == EL_LISTENING)
		return;
	snprintf(e->handover_target, sizeof(e->handover_target), "%s", target);
	*act |= EL_HANDOVER_REQUESTED;
}

/*
 * We have no master, but a slave heard one, first-hand, less than a
 * timeout ago: it is alive, and only our link to it lost packets (or we
 * never heard it, as at start).  Under heavy loss this is what keeps a
 * timeout from turning into a false failover; slaves answer a claim with
 * their heartbeat (on_claim) so that a claimant hears it in time.
 * A master we know only by name cannot be followed, but is not claimed
 * against while the sighting lasts; one that told us after that sighting
 * that it is not master (it resigned, or stepped down) is not revived.
 */
static void revive(struct election *e, const struct wire_msg *m, uint64_t now, unsigned *act)
{
	const struct el_peer *p;
	uint64_t seen;

	if (e->master[0] != '\0' || (e->state != EL_SLAVE && e->state != EL_CANDIDATE) || m->target[0] == '\0' ||
	    strcmp(m->target, e->p.self) == 0)
		return;
	if (m->master_age == WIRE_AGE_NONE || m->master_age >= e->timeout || now < m->master_age)
		return;
	seen = now - m->master_age;
	p = find_peer(e, m->target);
	if (p != NULL && p->role != EL_MASTER && p->last_seen >= seen)
		return; /* it told us since that it is not master (resigned, stepped down) */
	if (strcmp(e->silent, m->target) == 0 && seen <= e->silent_seen)
		return; /* nothing newer than what we had */
	if (e->state == EL_CANDIDATE)
		set_state(e, EL_SLAVE, act, "%s heard master %s %u ms ago: claim withdrawn", m->node, m->target,
			  m->master_age);
	if (p == NULL) {
		if (e->pending_claim_until < seen + e->timeout)
			e->pending_claim_until = seen + e->timeout;
		return;
	}
	snprintf(e->master, sizeof(e->master), "%s", p->id);
	e->term = p->term;
	e->master_seen = seen;
	e->pending_claim_until = 0;
	e->silent[0] = '\0';
	*act |= EL_MASTER_CHANGED;
}

static unsigned on_packet(struct election *e, const struct wire_msg *m, uint64_t now)
{
	unsigned act = 0;
	struct el_peer *p;

	now = now_at_least_last(e, now);
	check_self(e, now, &act);
	/* it waited in our socket (a stall that ended before the tick was
	 * due, a busy loop): what follows it may still be there */
	if (m->waited_ms > 2 * election_tick_ms(e))
		e->late_at = now;
	if (strcmp(m->node, e->p.self) == 0)
		return act;
	p = find_peer(e, m->node);
	if (p == NULL) {
		if (e->npeers == ELECTION_MAX_PEERS)
			return act;
		p = &e->peers[e->npeers++];
		memset(p, 0, sizeof(*p));
		snprintf(p->id, sizeof(p->id), "%s", m->node);
		p->boot = m->boot;
		p->first_seen = now;
		act |= EL_PEERS_CHANGED;
	} else if (p->boot != m->boot) {
		/* it restarted: whatever it was, it is not our master any more */
		p->boot = m->boot;
		p->first_seen = now;
		if (strcmp(e->master, m->node) == 0 && e->state != EL_MASTER)
			lose_master(e, now, &act, "master %s restarted", m->node);
	}
	/* who may lead changed (a precheck, a holddown, a sick master, a
	 * restarted node that is a slave again): mastership looks again at
	 * whether anyone could take over */
	if (((p->flags ^ m->flags) & (WIRE_F_NOCLAIM | WIRE_F_INELIGIBLE | WIRE_F_UNHEALTHY)) || p->role != m->role)
		act |= EL_PEERS_CHANGED;
	/* a master that stepped down for us: the split it lived in has healed.
	 * Once per step-down (the flag's rising edge), whether or not we heard
	 * it as master first (it may have heard us first).  And at most once
	 * per failure timeout: a real loser raises the flag once and keeps it
	 * up that long, but a peer flipping it on every packet (forged,
	 * broken) would otherwise start a hook on every other one */
	if (m->type == WIRE_HEARTBEAT && e->state == EL_MASTER && (m->flags & WIRE_F_YIELDED) && !p->yielded &&
	    strcmp(m->target, e->p.self) == 0 &&
	    (e->rival_yielded_at == 0 || now >= e->rival_yielded_at + e->timeout)) {
		e->rival_yielded_at = now;
		snprintf(e->yielded_by, sizeof(e->yielded_by), "%s", m->node);
		snprintf(e->reason, sizeof(e->reason),
			 "split healed: master %s met us and stepped down; on_promote runs again so that others learn "
			 "that we are master (term %llu)", m->node, (unsigned long long)e->term);
		act |= EL_RIVAL_YIELDED;
	}
	if (m->type == WIRE_HEARTBEAT)
		p->yielded = (m->flags & WIRE_F_YIELDED) != 0;
	/* its rank, protocol or term: the rank skew, newer claimants, the
	 * live master (EL_PEERS_CHANGED covers its role and flags) */
	if (p->position != m->position || p->version != m->version || p->term != m->term)
		note_changes(e, EL_PEERS_CHANGED, now);
	p->last_seen = now;
	p->role = m->role;
	p->term = m->term;
	p->position = m->position;
	p->flags = m->flags;
	p->version = m->version;
	snprintf(p->url, sizeof(p->url), "%s", m->url);
	if (m->type == WIRE_HEARTBEAT)
		snprintf(p->leader, sizeof(p->leader), "%s", m->target);
	if (m->type == WIRE_HEARTBEAT) {
		p->settings = m->payload_len >= WIRE_HB_SETTINGS + 8 ? bytes_get64(m->payload + WIRE_HB_SETTINGS) : 0;
		p->timeout = m->payload_len >= WIRE_HB_TIMEOUT + 4 ? bytes_get32(m->payload + WIRE_HB_TIMEOUT) : 0;
		p->hb_heard = 1;
		p->hb_payload_len = m->payload_len;
	}
	if (m->term > e->max_term)
		e->max_term = m->term;

	/* our slave heard us first-hand master_age ago: our lease */
	if (m->type == WIRE_HEARTBEAT && e->state == EL_MASTER && m->role == WIRE_ROLE_SLAVE &&
	    strcmp(m->target, e->p.self) == 0 && m->master_age != WIRE_AGE_NONE && now >= m->master_age &&
	    now - m->master_age >= e->became_master_at && now - m->master_age > p->acked)
		p->acked = now - m->master_age;

	switch (m->type) {
	case WIRE_HEARTBEAT:
		/* a slave that heard our master more recently than we did: its
		 * word keeps the master alive here (under packet loss, one node
		 * missing retries heartbeats in a row is no failure) */
		if (m->role == WIRE_ROLE_SLAVE && e->master[0] && strcmp(m->target, e->master) == 0 &&
		    m->master_age != WIRE_AGE_NONE && m->master_age < e->timeout && now >= m->master_age &&
		    now - m->master_age > e->master_seen && e->state != EL_MASTER)
			e->master_seen = now - m->master_age;
		if (m->role == WIRE_ROLE_MASTER)
			on_master_heard(e, m, now, &act);
		else if (strcmp(e->master, m->node) == 0 && e->state != EL_MASTER) {
			/* our master says it is not master any more (its resign was lost) */
			lose_master(e, now, &act, "master %s is now %s", m->node, wire_role_name(m->role));
		} else if (m->role == WIRE_ROLE_SLAVE)
			revive(e, m, now, &act);
		break;
	case WIRE_CLAIM:
		on_claim(e, m, now, &act);
		break;
	case WIRE_RESIGN:
		on_resign(e, m, now, &act);
		break;
	case WIRE_HANDOVER:
		on_handover(e, m, now, &act);
		break;
	case WIRE_VOTE:
		on_vote(e, m, now, &act);
		break;
	}
	check_settings(e, now, &act);
	return act;
}

unsigned election_on_packet(struct election *e, const struct wire_msg *m, uint64_t now)
{
	unsigned act = on_packet(e, m, now);

	return note_changes(e, act, e->last_call);
}

unsigned election_resign(struct election *e, const char *target, uint64_t holddown_ms, uint64_t now)
{
	unsigned act = 0;

	now = now_at_least_last(e, now);
	check_self(e, now, &act);
	if (e->state == EL_MASTER)
		resign(e, target, holddown_ms, now, &act);
	else if (e->state == EL_CANDIDATE)
		set_state(e, EL_SLAVE, &act, "claim withdrawn: resigning");
	if (e->state != EL_MASTER && holddown_ms)
		e->holddown_until = now + holddown_ms;
	return note_changes(e, act, now);
}

static unsigned request_handover(struct election *e, const char *target, uint64_t now)
{
	unsigned act = 0;
	const struct el_peer *t;

	now = now_at_least_last(e, now);
	check_self(e, now, &act);
	if (target == NULL || *target == '\0') {
		/* the next in order among the live slaves */
		const struct el_peer *best = best_slave(e, now);
		if (e->state != EL_MASTER && e->state == EL_SLAVE &&
		    (best == NULL || ranks_before(e->p.position, e->p.self, best->position, best->id)))
			target = e->p.self;
		else if (best != NULL)
			target = best->id;
		else {
			snprintf(e->reason, sizeof(e->reason), "no live slave to hand over to");
			return act;
		}
	}
	if (strcmp(target, e->p.self) == 0) {
		if (e->state == EL_MASTER) {
			snprintf(e->reason, sizeof(e->reason), "%s is already master", target);
			return act;
		}
		if (e->state != EL_SLAVE) {
			snprintf(e->reason, sizeof(e->reason), "this node is %s, not a slave", election_state_name(e->state));
			return act;
		}
		if (may_not_lead(e) || now < e->holddown_until) {
			snprintf(e->reason, sizeof(e->reason),
				 "this node may not lead now (stopping, paused, not eligible, in hold-down after "
				 "resigning, or its settings or node id in conflict)");
			return act;
		}
	} else {
		t = find_peer(e, target);
		if (!election_peer_live(e, t, now) || t->role != EL_SLAVE) {
			snprintf(e->reason, sizeof(e->reason), "%s is not a live slave", target);
			return act;
		}
		/* it would not take the mastership: the cluster would wait for
		 * nothing (a hold-down after resigning, a pause, not eligible) */
		if (t->flags & WIRE_F_NOCLAIM) {
			snprintf(e->reason, sizeof(e->reason),
				 "%s may not lead now (in hold-down after resigning, paused or not eligible)", target);
			return act;
		}
	}
	/* a target that would not promote beside a newer peer: the handover
	 * would leave no master until a newer node claims */
	if (newer_claimants(e, now) > 0 &&
	    (strcmp(target, e->p.self) == 0 || (t = find_peer(e, target)) == NULL || t->version <= WIRE_VERSION)) {
		snprintf(e->reason, sizeof(e->reason),
			 "%s speaks an older protocol than a live peer and would not promote; hand over to an upgraded "
			 "node", target);
		return act;
	}
	if (e->state == EL_MASTER) {
		snprintf(e->handover_target, sizeof(e->handover_target), "%s", target);
		return act | EL_HANDOVER_REQUESTED;
	}
	if (!master_alive(e, now)) {
		snprintf(e->reason, sizeof(e->reason), "no live master to hand over");
		return act;
	}
	snprintf(e->handover_target, sizeof(e->handover_target), "%s", target);
	snprintf(e->reason, sizeof(e->reason), "asked %s to hand over to %s", e->master, target);
	return act | EL_SEND_HANDOVER;
}

unsigned election_request_handover(struct election *e, const char *target, uint64_t now)
{
	unsigned act = request_handover(e, target, now);

	return note_changes(e, act, e->last_call);
}

void election_fill(const struct election *e, uint8_t type, uint64_t now, struct wire_msg *m)
{
	m->type = type;
	snprintf(m->node, sizeof(m->node), "%s", e->p.self);
	m->role = (uint8_t)e->state;
	m->position = e->p.position;
	switch (e->state) {
	case EL_MASTER: m->term = e->term; break;
	case EL_CANDIDATE: m->term = e->claim_term; break;
	default: m->term = e->max_term; break;
	}
	if (type == WIRE_RESIGN || type == WIRE_HANDOVER)
		snprintf(m->target, sizeof(m->target), "%s", e->handover_target);
	else if (type == WIRE_VOTE) {
		snprintf(m->target, sizeof(m->target), "%s", e->voted_for);
		m->term = e->voted_term;
	} else
		snprintf(m->target, sizeof(m->target), "%s", e->master);
	/* only what we heard ourselves, aged at sending time: relaying relayed
	 * ages would let two slaves keep a dead master alive between them */
	m->master_age = WIRE_AGE_NONE;
	if (type == WIRE_HEARTBEAT && heard_first_hand(e, now))
		m->master_age = (uint32_t)(now - e->master_heard);
	m->flags = may_not_lead(e) || e->holddown_until > e->last_call ? WIRE_F_NOCLAIM : 0;
	if (type == WIRE_HEARTBEAT && e->state != EL_MASTER && e->yielded_until > now && e->master[0])
		m->flags |= WIRE_F_YIELDED;
}

int election_fill_notice(const struct election *e, uint64_t now, struct wire_msg *m)
{
	const struct el_peer *b;

	if (e->state != EL_MASTER)
		return 0;
	now = now_at_least_last(e, now);
	b = best_slave(e, now);
	/* what resign() and election_fill() make of it: a slave of our term
	 * that will not claim, naming its successor */
	m->type = WIRE_RESIGN;
	snprintf(m->node, sizeof(m->node), "%s", e->p.self);
	m->role = EL_SLAVE;
	m->position = e->p.position;
	m->term = e->term > e->max_term ? e->term : e->max_term;
	snprintf(m->target, sizeof(m->target), "%s", b != NULL ? b->id : "");
	m->master_age = WIRE_AGE_NONE;
	m->flags = WIRE_F_NOCLAIM;
	return 1;
}
