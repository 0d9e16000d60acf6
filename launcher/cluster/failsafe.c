/*
 * etcd's failsafe mode: direct hearing between nodes (failsafe.h).
 */
#include "failsafe.h"

#include <string.h>

#include "bytes.h"

static void copy_id(char *dst, const char *src)
{
	size_t n = strnlen(src, WIRE_ID_MAX);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

void failsafe_init(struct failsafe *f, const char *self, uint64_t window_ms)
{
	memset(f, 0, sizeof(*f));
	copy_id(f->self, self);
	f->window_ms = window_ms;
}

void failsafe_set_window(struct failsafe *f, uint64_t window_ms)
{
	f->window_ms = window_ms;
}

static struct fs_peer *peer(struct failsafe *f, const char *id)
{
	struct fs_peer *p, *oldest = NULL;

	for (size_t i = 0; i < f->npeers; i++)
		if (strcmp(f->peers[i].id, id) == 0)
			return &f->peers[i];
	if (f->npeers < FS_PEERS) {
		p = &f->peers[f->npeers++];
	} else {
		/* full: the one heard longest ago makes room (a member of the
		 * list it was then gives no time: the safe side) */
		for (size_t i = 0; i < f->npeers; i++)
			if (oldest == NULL || f->peers[i].heard < oldest->heard)
				oldest = &f->peers[i];
		p = oldest;
	}
	memset(p, 0, sizeof(*p));
	copy_id(p->id, id);
	return p;
}

void failsafe_on_packet(struct failsafe *f, const struct wire_msg *m, uint64_t now)
{
	struct fs_peer *p;

	if (m->type != WIRE_HEARTBEAT || strcmp(m->node, f->self) == 0)
		return;
	p = peer(f, m->node);
	p->heard = now;
	/* the hold it keeps: its own lease's TTL (a beacon without it gives
	 * no word at all) */
	p->window = m->payload != NULL && m->payload_len >= WIRE_HB_TIMEOUT + 4 ?
			    bytes_get32(m->payload + WIRE_HB_TIMEOUT) : 0;
	if (m->role == WIRE_ROLE_MASTER) {
		copy_id(f->master, m->node);
		f->master_heard = now;
		f->master_term = m->term;
		/* its send time, echoed in our beacons */
		f->master_stamp = m->payload != NULL && m->payload_len >= WIRE_HB_STAMP + 8 ?
					  bytes_get64(m->payload + WIRE_HB_STAMP) : 0;
	} else if (strcmp(f->master, m->node) == 0) {
		/* the master we heard says it leads no more (it resigned, or
		 * it restarted): nothing of it holds us back */
		f->master[0] = '\0';
		f->master_heard = 0;
		f->master_stamp = 0;
	}
	/* it heard our beacon sent at `echo` (our clock): its hold runs from
	 * its receipt, which is later.  Counted from our own send time, a
	 * beacon delayed on the way or queued in a socket while either loop
	 * stalled gives no more time than it should (master_age would) */
	if (f->leading && m->role != WIRE_ROLE_MASTER && strcmp(m->target, f->self) == 0 && m->payload != NULL &&
	    m->payload_len >= WIRE_HB_ECHO + 8) {
		uint64_t t = bytes_get64(m->payload + WIRE_HB_ECHO);
		if (t != 0 && t <= now && t >= f->led_since && t > p->acked)
			p->acked = t;
	}
}

void failsafe_set_leading(struct failsafe *f, int leading, uint64_t now)
{
	if (leading && !f->leading) {
		f->led_since = now;
		for (size_t i = 0; i < f->npeers; i++)
			f->peers[i].acked = 0;
	}
	f->leading = leading;
}

uint64_t failsafe_hold_until(const struct failsafe *f)
{
	if (f->master[0] == '\0' || f->master_heard == 0)
		return 0;
	return f->master_heard + f->window_ms;
}

static const struct fs_peer *find(const struct failsafe *f, const char *id)
{
	for (size_t i = 0; i < f->npeers; i++)
		if (strcmp(f->peers[i].id, id) == 0)
			return &f->peers[i];
	return NULL;
}

/* The earliest end of a member's hold (its hearing of us plus the shorter
 * of our window and its own), and whose; 0 when one never heard us. */
static uint64_t earliest(const struct failsafe *f, const char *const *members, size_t n, const char **who)
{
	uint64_t least = UINT64_MAX;
	size_t others = 0;

	*who = "";
	if (!f->leading)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct fs_peer *p;
		uint64_t w, end;
		if (strcmp(members[i], f->self) == 0)
			continue;
		others++;
		p = find(f, members[i]);
		if (p == NULL || p->acked == 0 || p->window == 0) {
			*who = members[i];
			return 0;
		}
		w = p->window < f->window_ms ? p->window : f->window_ms;
		end = p->acked + w;
		if (end < least) {
			least = end;
			*who = members[i];
		}
	}
	return others == 0 ? 0 : least;
}

uint64_t failsafe_deadline(const struct failsafe *f, const char *const *members, size_t n, uint64_t margin_ms)
{
	const char *who;
	uint64_t end = earliest(f, members, n, &who);

	if (end == 0)
		return 0;
	return end > margin_ms + 1 ? end - margin_ms : 0;
}

const char *failsafe_weakest(const struct failsafe *f, const char *const *members, size_t n)
{
	const char *who;

	earliest(f, members, n, &who);
	return who;
}

void failsafe_payload(const struct failsafe *f, uint64_t now, uint8_t *payload)
{
	int hears = !f->leading && f->master[0] != '\0' && now >= f->master_heard && now - f->master_heard < f->window_ms;

	bytes_put32(payload + WIRE_HB_TIMEOUT, (uint32_t)f->window_ms);
	bytes_put64(payload + WIRE_HB_STAMP, now);
	bytes_put64(payload + WIRE_HB_ECHO, hears ? f->master_stamp : 0);
}

void failsafe_fill(const struct failsafe *f, uint64_t term, uint64_t now, struct wire_msg *m)
{
	m->version = WIRE_VERSION;
	m->type = WIRE_HEARTBEAT;
	copy_id(m->node, f->self);
	m->term = term;
	m->role = f->leading ? WIRE_ROLE_MASTER : WIRE_ROLE_SLAVE;
	m->target[0] = '\0';
	m->master_age = WIRE_AGE_NONE;
	if (!f->leading && f->master[0] != '\0' && now >= f->master_heard && now - f->master_heard < f->window_ms) {
		copy_id(m->target, f->master);
		m->master_age = (uint32_t)(now - f->master_heard);
	}
}
