/*
 * Cluster transport: one non-blocking UDP socket, either joined to the
 * multicast group on a chosen interface, or sending to a static list of
 * unicast peers (networks without multicast).  Thin I/O, no decisions.
 */
#ifndef FL_TRANSPORT_H
#define FL_TRANSPORT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

#define TRANSPORT_MAX_PEERS CONFIG_MAX_PEERS

/* The transport's settings, by value; all of them need a restart. */
struct transport_params {
	uint16_t port;
	unsigned char ttl, loopback;
	char group[16];             /* dotted IPv4 multicast group */
	char interface[64];         /* name or address, or "" */
	size_t npeers;              /* 0: multicast */
	char peers[TRANSPORT_MAX_PEERS][256]; /* host:port */
};

struct transport {
	int fd;
	int multicast;
	struct sockaddr_in group;
	struct sockaddr_in peers[TRANSPORT_MAX_PEERS];
	size_t npeers;
	char ifname[64];        /* the interface used for multicast, or "" */
};

/* Opens and binds; 0, or -1 with the reason in err. */
int transport_open(struct transport *t, const struct transport_params *p, char *err, size_t len);

/* For failover-launcher -n, what transport_open does first: a peer's
 * host:port resolved (0, or -1), an interface found by name or address. */
int transport_resolve_peer(const char *hostport, struct sockaddr_in *out);
int transport_check_interface(const char *spec);
/* Has the kernel drop, before they wake us, the datagrams that carry this
 * boot id and node id (ours: the group's loopback copy of what we send, or
 * a peer list that names this host), as the filter's FILTER_OWN would.
 * Anything shorter than a packet, or of another boot or node, still
 * arrives.  0, or -1 (errno): the packets then arrive and the filter drops
 * them, as before. */
int transport_drop_own(struct transport *t, uint64_t boot, const char *node);
/* Sends to the group, or to every peer.  Returns the number of
 * destinations that failed (0 on full success). */
int transport_send(struct transport *t, const void *buf, size_t len);
/* One datagram, or -1 (errno EAGAIN when there is none); waited_ms: how
 * long it was in the socket (the kernel's receive time; 0: not known). */
ssize_t transport_recv(struct transport *t, void *buf, size_t len, struct sockaddr_in *from, uint32_t *waited_ms);
void transport_close(struct transport *t);

#endif
