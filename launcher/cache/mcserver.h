/* The memcached text protocol server (mcserver.c): its connections. */
#ifndef FL_MCSERVER_H
#define FL_MCSERVER_H

#include <ev.h>
#include <stddef.h>

#include "buf.h"

struct cache;
struct pending;

struct mcconn {
	struct cache *k;
	struct mcconn *next;
	int fd;
	ev_io rw, ww;
	struct buf in, out;
	size_t skip;
	int closing;
	int stalled_out;         /* requests (read or in the socket) wait behind a backlog of replies */
	struct pending *wait;
};


/* Queues a reply to c. */
void mc_reply(struct mcconn *c, const char *text, size_t n);
/* Handles the requests c has buffered, up to one that waits; sends; closes
 * c (frees it) when it is done. */
void mc_process(struct mcconn *c);
void mc_close(struct mcconn *c);
/* The memcached listener's watcher (data: the cache). */
void mc_accept_cb(struct ev_loop *loop, ev_io *w, int revents);
/* Every connection closed. */
void mcserver_close(struct cache *k);

#endif
