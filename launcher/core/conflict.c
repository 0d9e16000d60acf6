/*
 * Another launcher with our node id (see daemon_int.h): the newer of the
 * two goes, the older neither claims nor votes while the other is heard.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "daemon_int.h"
#include "log.h"
#include "replay.h"

void daemon_duplicate(struct daemon *d, const struct wire_msg *m, const struct sockaddr_in *from)
{
	struct conflict *c = &d->conflict;
	uint64_t now = clock_mono_ms();
	char addr[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &from->sin_addr, addr, sizeof(addr));
	c->packets++;
	if (d->exit_code != 0)
		return;
	if (replay_dup_heard(&c->dup, d->hb.el.state == EL_LISTENING, d->boot, m->role, m->boot, now)) {
		log_err("node id %s is also used by the launcher at %s: give every node its own cluster.node; exiting",
			d->node, addr);
		d->exit_code = 1;
		snprintf(c->addr, sizeof(c->addr), "%s", addr);
		election_set_hold(&d->hb.el, EL_HOLD_DUPLICATE, 1);
		/* as SIGTERM: the broker, if any, stops first; a second stop
		 * event would mean "exit now" */
		if (!mastership_exiting(&d->ms))
			daemon_step(d, &(struct ms_event){.type = MS_IN_STOP});
		return;
	}
	if (!(d->hb.el.hold & EL_HOLD_DUPLICATE) || strcmp(c->addr, addr) != 0) {
		log_err("node id %s is also used by the launcher at %s (started later: it should exit): not claiming "
			"and not voting until it has been silent for %llu ms; give every node its own cluster.node",
			d->node, addr, (unsigned long long)d->hb.el.timeout);
		snprintf(d->hb.el.hold_reason, sizeof(d->hb.el.hold_reason),
			 "node id %s is also used by the launcher at %s", d->node, addr);
		d->hb.changed = 1;
	}
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	election_set_hold(&d->hb.el, EL_HOLD_DUPLICATE, 1);
	daemon_step(d, NULL);
}

void daemon_conflict_tick(struct daemon *d)
{
	struct conflict *c = &d->conflict;
	uint64_t now = clock_mono_ms();

	if (!replay_dup_tick(&c->dup, now, d->hb.el.timeout))
		return;
	log_info("no launcher with node id %s heard from %s for %llu ms: conflict over; claiming and voting again",
		 d->node, c->addr, (unsigned long long)(now - c->dup.heard_at));
	election_set_hold(&d->hb.el, EL_HOLD_DUPLICATE, 0);
	snprintf(d->hb.el.hold_reason, sizeof(d->hb.el.hold_reason),
		 "no launcher with our node id heard for %llu ms", (unsigned long long)(now - c->dup.heard_at));
	d->hb.changed = 1;
}
