/*
 * Packets out and in (see link.h).
 */
#include "link.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"

uint64_t link_send(struct link *l, const struct heartbeat *hb, uint8_t type, const struct link_extra *x)
{
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	heartbeat_fill(hb, type, clock_mono_ms(), &m);
	if (hb->el.state == EL_MASTER && x->serving)
		m.flags |= WIRE_F_SERVING;
	return link_send_msg(l, &m, x);
}

size_t link_build(struct link *l, struct wire_msg *mp, const struct link_extra *x, uint8_t *buf, size_t len)
{
	struct wire_msg m = *mp;
	size_t n;

	m.cluster = l->filter.cluster;
	m.boot = l->boot;
	m.seq = ++l->seq;
	m.flags |= x->flags;
	snprintf(m.url, sizeof(m.url), "%s", x->url);
	if (m.type == WIRE_HEARTBEAT && x->payload != NULL) {
		m.payload = x->payload;
		m.payload_len = x->payload_len;
		m.cache_digest = x->cache_digest;
	}
	n = wire_encode(&m, buf, len);
	if (n == 0) {
		log_err("cannot encode a %s packet", wire_type_name(m.type));
		return 0;
	}
	if (l->keys != NULL)
		auth_sign(l->keys, buf, n);
	mp->seq = m.seq;
	return n;
}

uint64_t link_send_msg(struct link *l, struct wire_msg *mp, const struct link_extra *x)
{
	uint8_t buf[WIRE_MAX_LEN];
	uint8_t type = mp->type;
	uint64_t now = clock_mono_ms();
	size_t n = link_build(l, mp, x, buf, sizeof(buf));

	if (n == 0)
		return 0;
	if (transport_send(&l->tr, buf, n) != 0) {
		l->send_errors++;
		/* every few seconds at most: a dead link must not flood the log */
		if (l->send_errors == 1 || l->send_errors % 100 == 0)
			log_warn("sending a %s failed (%llu failures so far): %s", wire_type_name(type),
				 (unsigned long long)l->send_errors, strerror(errno));
		return 0;
	}
	l->sent++;
	log_debug("sent %s term %llu seq %llu", wire_type_name(type), (unsigned long long)mp->term,
		  (unsigned long long)mp->seq);
	return now;
}

int link_recv(struct link *l, const struct election *el, struct wire_msg *m, struct sockaddr_in *from, int *max)
{
	uint8_t buf[WIRE_MAX_LEN + 64];

	while (*max > 0) {
		uint32_t waited;
		ssize_t n = transport_recv(&l->tr, buf, sizeof(buf), from, &waited);
		uint64_t now = clock_mono_ms();

		--*max;
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				l->drained_at = now;
			return 0;
		}
		/* none waited longer than since the socket was last found
		 * empty: a step of the wall clock (the kernel's receive time
		 * is the wall clock's) cannot make a datagram look older */
		if (l->drained_at != 0 && waited > now - l->drained_at)
			waited = (uint32_t)(now - l->drained_at);
		if (waited > now)
			waited = (uint32_t)now;
		/* the replay filter's "silent for a timeout" by when each
		 * arrived: packets read after a stall are no news of a boot's
		 * being live at the time they are read */
		enum filter_verdict v = filter_packet(&l->filter, buf, (size_t)n, from, el, now - waited, m);
		m->waited_ms = waited;
		if (v == FILTER_ACCEPT)
			return LINK_PACKET;
		if (v == FILTER_DUPLICATE)
			return LINK_DUPLICATE;
	}
	return 0;
}
