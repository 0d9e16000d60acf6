/*
 * The etcd backend on the event loop: etcd_elect's requests carried to
 * etcd (etcd_client.h, bodies from etcd_codec.h), its replies and the
 * watch's lines read back into it, its ticks on a timer.
 *
 *   etcd_elect --ee_req--> etcd_backend --JSON/HTTP--> etcd
 *        ^                      |
 *        +--ee_reply, ee_event--+
 *
 * Whenever etcd_elect may have events for mastership, `changed` is called
 * (the daemon steps mastership, which takes them through cluster_ops);
 * after anything that may have queued requests (a step, a cluster_ops
 * call) the caller calls etcd_backend_pump.
 */
#ifndef FL_ETCD_BACKEND_H
#define FL_ETCD_BACKEND_H

#include <ev.h>

#include "cluster.h"
#include "etcd_client.h"
#include "etcd_elect.h"

struct etcd_backend_call;

struct etcd_backend {
	struct ev_loop *loop;
	struct etcd_client *client;
	struct etcd_elect el;
	ev_timer tick_w;
	struct etcd_call *watch;
	struct etcd_backend_call *calls; /* requests on their way */
	void (*changed)(void *ud);
	void *ud;
	char last_error[400];     /* the last failure etcd or the network gave */
	uint64_t last_ok_at;      /* when etcd last answered (a reply or a watch line) */
	/* for status and metrics: requests (and watches) sent, and those that
	 * failed (no reply, an error reply, a watch that ended or was canceled) */
	uint64_t requests_sent, requests_failed;
};

/* 0, or -1 (the client could not be made: why logged). */
int etcd_backend_init(struct etcd_backend *b, struct ev_loop *loop, const struct etcd_client_params *cp,
		      const struct ee_params *ep, void (*changed)(void *ud), void *ud);
/* Sends what etcd_elect queued and sets the timer to its next wish. */
void etcd_backend_pump(struct etcd_backend *b);
struct cluster etcd_backend_cluster(struct etcd_backend *b);
/* The endpoint in use, and this end's address on the last connection that
 * reached etcd ("" before any). */
const char *etcd_backend_endpoint(const struct etcd_backend *b);
const char *etcd_backend_local_ip(const struct etcd_backend *b);
/* Every call ended, nothing sent any more (the lease ends on its own). */
void etcd_backend_close(struct etcd_backend *b);

#endif
