/*
 * Local writes: applied here, sent to every connected peer; in sync mode
 * the memcached reply waits for the live peers' acknowledgements.
 */
#include "writes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bytes.h"
#include "cache_int.h"
#include "clock.h"
#include "frame.h"
#include "log.h"
#include "mcserver.h"
#include "mesh.h"
#include "persist.h"

static void pending_free(struct pending *pd)
{
	struct pending **pp;

	ev_timer_stop(pd->k->loop, &pd->t);
	for (pp = &pd->k->pend; *pp; pp = &(*pp)->next)
		if (*pp == pd) {
			*pp = pd->next;
			break;
		}
	free(pd);
}

static void pending_done(struct pending *pd, const char *failure)
{
	struct mcconn *c = pd->conn;

	if (c != NULL) {
		c->wait = NULL;
		if (!pd->noreply) {
			if (failure)
				mc_reply(c, failure, strlen(failure));
			else
				mc_reply(c, pd->reply, strlen(pd->reply));
		}
	}
	pending_free(pd);
	if (c != NULL)
		mc_process(c);
}

static void pending_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct pending *pd = w->data;
	char msg[1024];
	size_t off;

	(void)loop;
	(void)revents;
	pd->k->unacked++;
	off = (size_t)snprintf(msg, sizeof(msg), "SERVER_ERROR stored here but not acknowledged by");
	for (int i = 0; i < pd->nwait && off < sizeof(msg) - 40; i++)
		off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s", i ? "," : " ", pd->wait[i]);
	snprintf(msg + off, sizeof(msg) - off, " within %llu ms\r\n", (unsigned long long)pd->k->sync_timeout);
	log_warn("cache: %.*s", (int)strcspn(msg, "\r"), msg);
	pending_done(pd, msg);
}

/* A local write: applied here, sent to every connected peer; in sync mode
 * the reply waits for every live peer's acknowledgement. */
const char *writes_local(struct cache *k, struct mcconn *c, const char *key, const uint8_t *data, uint32_t len,
			       uint32_t flags, uint64_t expires, int tombstone, const char *ok, int noreply)
{
	uint64_t now = clock_mono_ms();
	struct store_version v = store_next_version(&k->st, k->term, k->node, clock_wall_ms());
	enum store_result r = store_apply(&k->st, key, data, len, flags, expires, &v, tombstone, clock_wall_ms());
	struct store_entry tmp;
	struct buf frame = {0};
	struct pending *pd = NULL;
	uint8_t id[8];

	if (r == STORE_TOO_LARGE)
		return "SERVER_ERROR object too large for cache\r\n";
	if (r == STORE_FULL) {
		/* full, not out of memory: the operator's limit, named */
		snprintf(k->full_reply, sizeof(k->full_reply),
			 "SERVER_ERROR cache full: %zu entries, the limit cache.max_entries\r\n", k->st.lim.max_entries);
		return k->full_reply;
	}
	if (r == STORE_NOMEM)
		return "SERVER_ERROR out of memory\r\n";
	persist_dirty(k);
	k->next_id++;
	/* request id 0: nobody waits, the peer need not acknowledge */
	bytes_put_be(id, k->sync && c != NULL ? k->next_id : 0, 8);
	/* what was stored, as the peers will apply it */
	memset(&tmp, 0, sizeof(tmp));
	tmp.key = (char *)key;
	tmp.value = (uint8_t *)data;
	tmp.len = tombstone ? 0 : len;
	tmp.flags = flags;
	tmp.expires = tombstone ? 0 : expires;
	tmp.v = v;
	tmp.tombstone = tombstone;
	if (store_encode_entry(&tmp, &frame.p, &frame.len, &frame.cap) != 0)
		return "SERVER_ERROR out of memory\r\n";
	if (k->sync && c != NULL) {
		pd = calloc(1, sizeof(*pd));
		if (pd == NULL) {
			buf_free(&frame);
			return "SERVER_ERROR out of memory\r\n";
		}
	}
	for (struct rpeer *p = k->peers; p; p = p->next) {
		if (!mesh_live(k, p, now))
			continue;
		if (p->ready) {
			mesh_send(p, FRAME_WRITE, id, 8, frame.p, frame.len);
			k->repl_sent++;
		}
		if (pd != NULL && pd->nwait < 64)
			snprintf(pd->wait[pd->nwait++], sizeof(pd->wait[0]), "%s", p->node);
	}
	buf_free(&frame);
	if (pd == NULL || pd->nwait == 0) {
		free(pd);
		return ok;
	}
	pd->k = k;
	pd->id = k->next_id;
	pd->conn = c;
	pd->noreply = noreply;
	snprintf(pd->reply, sizeof(pd->reply), "%s", ok);
	ev_timer_init(&pd->t, pending_timeout_cb, k->sync_timeout / 1000.0, 0.);
	pd->t.data = pd;
	ev_timer_start(k->loop, &pd->t);
	pd->next = k->pend;
	k->pend = pd;
	c->wait = pd;
	return NULL; /* the reply comes later */
}


void writes_ack(struct cache *k, const char *node, uint64_t id, int status)
{
	for (struct pending *pd = k->pend; pd; pd = pd->next) {
		if (pd->id != id)
			continue;
		for (int i = 0; i < pd->nwait; i++)
			if (strcmp(pd->wait[i], node) == 0 && status == 0) {
				memmove(pd->wait[i], pd->wait[i + 1], (size_t)(pd->nwait - i - 1) * sizeof(pd->wait[0]));
				pd->nwait--;
				k->acks++;
				break;
			}
		if (pd->nwait == 0)
			pending_done(pd, NULL);
		return;
	}
}


void writes_close(struct cache *k)
{
	while (k->pend)
		pending_free(k->pend);
}
