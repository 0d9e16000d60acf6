/*
 * The fence's decisions (see fence_plan.h).
 */
#include "fence_plan.h"

uint64_t fence_term_at(uint64_t deadline, uint64_t renewed_at, uint64_t stop_timeout_ms, uint64_t margin_ms)
{
	uint64_t at;

	if (deadline == 0 || deadline <= stop_timeout_ms)
		return 0;
	at = deadline - stop_timeout_ms;
	return at >= renewed_at + margin_ms ? at : 0;
}

enum fence_act fence_next(uint64_t kill_at, uint64_t term_at, int term_sent, uint64_t now, uint64_t *wake_at)
{
	*wake_at = 0;
	if (kill_at == 0)
		return FENCE_WAIT;
	if (now >= kill_at)
		return FENCE_KILL;
	if (term_at != 0 && !term_sent && term_at < kill_at) {
		if (now >= term_at)
			return FENCE_TERM;
		*wake_at = term_at;
		return FENCE_WAIT;
	}
	*wake_at = kill_at;
	return FENCE_WAIT;
}

uint64_t fence_hold(uint64_t held, uint64_t published)
{
	return published != 0 ? published : held;
}

uint64_t fence_pack(uint64_t kill_at, uint64_t term_at)
{
	uint64_t lead = 0, mask = ((uint64_t)1 << FENCE_AT_BITS) - 1;

	if (kill_at > mask)
		kill_at = mask; /* after 34 years of uptime: never reached */
	if (term_at != 0 && term_at < kill_at && kill_at - term_at < ((uint64_t)1 << (64 - FENCE_AT_BITS)))
		lead = kill_at - term_at;
	return kill_at | lead << FENCE_AT_BITS;
}

void fence_unpack(uint64_t w, uint64_t *kill_at, uint64_t *term_at)
{
	uint64_t lead = w >> FENCE_AT_BITS;

	*kill_at = w & (((uint64_t)1 << FENCE_AT_BITS) - 1);
	*term_at = lead != 0 && *kill_at > lead ? *kill_at - lead : 0;
}

int fence_may_announce(uint64_t kill_at, uint64_t now)
{
	return kill_at != 0 && now < kill_at;
}
