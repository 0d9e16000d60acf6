/* Local writes and the acknowledgements they wait for (writes.c). */
#ifndef FL_WRITES_H
#define FL_WRITES_H

#include <ev.h>
#include <stdint.h>

#include "wire.h"

struct cache;
struct mcconn;

/* A synchronous write waiting for its peers' acknowledgements. */
struct pending {
	struct pending *next;
	struct cache *k;
	uint64_t id;
	struct mcconn *conn;
	char reply[32];
	int noreply;
	int nwait;
	char wait[64][WIRE_ID_MAX + 1];
	ev_timer t;
};


/* Applies a local write and sends it to the peers; the reply for c, or
 * NULL when it comes later (sync mode: once every live peer acknowledged,
 * or the timeout named those that did not). */
const char *writes_local(struct cache *k, struct mcconn *c, const char *key, const uint8_t *data, uint32_t len,
			 uint32_t flags, uint64_t expires, int tombstone, const char *ok, int noreply);
/* Peer node acknowledged request id (status 0: stored or older). */
void writes_ack(struct cache *k, const char *node, uint64_t id, int status);
/* Every waiting write dropped, without a reply. */
void writes_close(struct cache *k);

#endif
