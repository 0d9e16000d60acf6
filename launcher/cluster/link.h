/*
 * The heartbeat protocol's own I/O: a packet filled, encoded, signed and
 * sent; datagrams received and passed through the filter.  The socket
 * itself is transport.c; what is dropped, and why, is filter.c.
 */
#ifndef FL_LINK_H
#define FL_LINK_H

#include <netinet/in.h>
#include <stdint.h>

#include "auth.h"
#include "filter.h"
#include "heartbeat.h"
#include "transport.h"

struct link {
	struct transport tr;
	struct filter filter;
	const struct auth_keys *keys; /* NULL: not signed */
	uint64_t boot, seq;
	uint64_t sent, send_errors;
	uint64_t drained_at;    /* when the socket was last found empty (0: never) */
};

/* What the packet says beside the election's fields. */
struct link_extra {
	const char *url;        /* the broker URL we advertise, or "" */
	int serving;            /* our broker is ready */
	uint8_t flags;          /* more WIRE_F_* bits: WIRE_F_INELIGIBLE, WIRE_F_UNHEALTHY */
	/* heartbeats only: the cache's payload (its replication port) and the
	 * digest of what it holds */
	const uint8_t *payload;
	size_t payload_len;
	uint64_t cache_digest;
};

uint64_t link_send(struct link *l, const struct heartbeat *hb, uint8_t type, const struct link_extra *x);
/* A packet whose election fields the caller filled (etcd's failsafe
 * beacons): the rest as link_send does. */
uint64_t link_send_msg(struct link *l, struct wire_msg *m, const struct link_extra *x);
/* The packet link_send_msg would send, encoded and signed into buf (its
 * sequence number taken: m->seq says which), not sent.  Its length, or 0. */
size_t link_build(struct link *l, struct wire_msg *m, const struct link_extra *x, uint8_t *buf, size_t len);
enum { LINK_PACKET = 1, LINK_DUPLICATE = 2 };
/* The next accepted packet of another node (LINK_PACKET), or of another
 * process with our node id (LINK_DUPLICATE: see filter.h), or 0 when the socket has
 * none left; at most max datagrams are read (a flood must not starve the
 * timers).  m->waited_ms: how long it waited in the socket; the filter
 * judges it at the time it arrived. */
int link_recv(struct link *l, const struct election *el, struct wire_msg *m, struct sockaddr_in *from, int *max);

#endif
