/* The replication mesh (mesh.c): the peers and their connections. */
#ifndef FL_MESH_H
#define FL_MESH_H

#include <ev.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "buf.h"
#include "handshake.h"
#include "wire.h"

struct cache;

struct rpeer {
	struct cache *k;
	struct rpeer *next;
	char node[WIRE_ID_MAX + 1];      /* "": an inbound connection not yet authenticated */
	struct sockaddr_in addr;         /* from heartbeats */
	struct sockaddr_in from;         /* an inbound connection's source */
	uint16_t port;
	uint64_t last_seen;              /* monotonic ms, from heartbeats */
	uint64_t digest, our_digest;     /* at the last heartbeat */
	int strikes;                     /* quiet heartbeats in a row with another digest */
	uint64_t last_sync;
	int fd;
	int connecting;
	int ready;                       /* the peer's AUTH verified: trusted */
	uint64_t opened;                 /* monotonic ms: the authentication deadline runs from here */
	struct hs hs;
	uint64_t retry_at;
	ev_io rw, ww;
	struct buf in, out;
};


/* Queues a frame of type (payload a then b) to p and sends what it can. */
void mesh_send(struct rpeer *p, uint8_t type, const void *a, size_t alen, const void *b, size_t blen);
/* p is a named peer heard from within the peer timeout. */
int mesh_live(const struct cache *k, const struct rpeer *p, uint64_t now);
/* The replication listener's watcher (data: the cache). */
void mesh_accept_cb(struct ev_loop *loop, ev_io *w, int revents);
/* Lost peers dropped, connections not authenticated in time closed,
 * missing connections made (at most every MESH_RETRY_MS). */
void mesh_tick(struct cache *k, uint64_t now);
/* When mesh_tick() has something to do (monotonic ms; 0: nothing), given
 * when it last ran. */
uint64_t mesh_next_due(const struct cache *k, uint64_t last_tick);
#define MESH_RETRY_MS 500
/* Every peer closed and freed. */
void mesh_close(struct cache *k);

#endif
