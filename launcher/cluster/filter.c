/*
 * The packet filter (see filter.h).
 */
#include "filter.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

const char *const filter_drop_names[DROP_COUNT] = {
	"ok", "short", "magic", "version", "type", "length", "field", "foreign-cluster", "duplicate-node-id",
	"unauthenticated", "bad-tag", "replay", "other-boot",
};

static enum filter_verdict drop(struct filter *f, enum drop_reason r, const struct sockaddr_in *from)
{
	char addr[32];

	f->dropped[r]++;
	if (log_get_level() >= LOG_LEVEL_DEBUG) {
		inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
		log_debug("dropped a packet from %s: %s", addr, filter_drop_names[r]);
	}
	return FILTER_DROP;
}

/* Replay protection (replay.h), with what it finds worth a line: why the
 * packet is dropped, or DROP_DECODE_BASE ("ok") when it is not. */
static enum drop_reason fresh(struct filter *f, const struct election *el, const struct wire_msg *m, uint64_t now)
{
	int below;
	enum replay_verdict v = replay_check(&f->seen, m->node, m->boot, m->seq, now, el->timeout, &below);

	if (v == REPLAY_RESTART)
		log_info("node %s restarted: hearing its new run", m->node);
	if (below)
		log_warn("node %s restarted with a boot id below its previous run's (its clock was stepped back?, or "
			 "another launcher with its id stopped): heard again",
			 m->node);
	if (v == REPLAY_TWO_BOOTS) {
		f->two_boots++;
		if (f->two_boots_warned_at == 0 || now - f->two_boots_warned_at > 10000) {
			f->two_boots_warned_at = now;
			log_err("two launchers send as node %s (a second live boot; %llu such packets so far): the one "
				"heard first is followed; give every node its own cluster.node",
				m->node, (unsigned long long)f->two_boots);
		}
	}
	if (replay_accepted(v))
		return DROP_DECODE_BASE;
	return v == REPLAY_OLD ? DROP_REPLAY : DROP_OTHER_BOOT;
}

/*
 * A peer that speaks a newer protocol is heard, not dropped: dropping it
 * would make us deaf to it, and a deaf node claims against a live master.
 * It is counted, and logged once when it starts (or stops) speaking it;
 * the election does not claim while such a peer is live (election.h).
 */
static void note_version(struct filter *f, const struct election *el, const struct wire_msg *m)
{
	const struct el_peer *p = election_peer(el, m->node);
	uint8_t before = p != NULL ? p->version : WIRE_VERSION;

	if (m->version > WIRE_VERSION) {
		f->newer_received++;
		if (!wire_type_known(m->type)) {
			f->newer_unknown_type++;
			log_debug("%s sent a packet of type %u, new in protocol %u: only its sender's state is used",
				  m->node, m->type, m->version);
		}
	}
	/* once per peer, on a change; a new peer the full table cannot take is
	 * not followed, and would be logged at every packet */
	if ((p == NULL && el->npeers >= ELECTION_MAX_PEERS) || m->version == before ||
	    (m->version <= WIRE_VERSION && before <= WIRE_VERSION))
		return;
	if (m->version > WIRE_VERSION)
		log_warn("%s speaks protocol version %u, newer than ours (%d): following it, not claiming while it is "
			 "live; upgrade this node",
			 m->node, m->version, WIRE_VERSION);
	else
		log_info("%s speaks protocol version %u again", m->node, m->version);
	f->changed = 1;
}

enum filter_verdict filter_packet(struct filter *f, const uint8_t *buf, size_t n, const struct sockaddr_in *from,
				  const struct election *el, uint64_t now, struct wire_msg *m)
{
	enum wire_error err;
	enum drop_reason why;

	f->received++;
	err = wire_decode(buf, n, m);
	if (err != WIRE_OK)
		return drop(f, (enum drop_reason)err, from);
	if (m->cluster != f->cluster)
		return drop(f, DROP_FOREIGN, from);
	/* nothing unauthenticated or replayed changes any state */
	if (f->keys != NULL) {
		int v = auth_verify(f->keys, buf, n);
		if (v != 0)
			return drop(f, v == -1 ? DROP_UNAUTHENTICATED : DROP_BAD_TAG, from);
	}
	if (m->boot == f->boot && strcmp(m->node, f->node) == 0)
		return FILTER_OWN;
	/* our id from another boot, even one below ours: another process
	 * (its clock may lag ours by more than our runs), not taken for our
	 * own past replayed, which would hide a live duplicate from us.  The
	 * cost: someone who recorded our earlier run's packets can make a
	 * starting node exit (replay.h: the newer goes) */
	if ((why = fresh(f, el, m, now)) != DROP_DECODE_BASE)
		return drop(f, why, from);
	if (strcmp(m->node, f->node) == 0) {
		drop(f, DROP_DUPLICATE_ID, from);
		return FILTER_DUPLICATE;
	}
	log_debug("received %s from %s role %s term %llu", wire_type_name(m->type), m->node, wire_role_name(m->role),
		  (unsigned long long)m->term);
	note_version(f, el, m);
	return FILTER_ACCEPT;
}
