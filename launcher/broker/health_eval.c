#include "health_eval.h"

#include <stdio.h>
#include <string.h>

const char *health_state_name(enum health_state s)
{
	static const char *const names[] = {"unknown", "healthy", "failing", "unhealthy"};
	return s <= HEALTH_BAD ? names[s] : "?";
}

void health_eval_set(struct health_eval *h, unsigned fall, unsigned rise)
{
	h->fall = fall > 0 ? fall : 1;
	h->rise = rise > 0 ? rise : 1;
}

void health_eval_init(struct health_eval *h, unsigned fall, unsigned rise)
{
	memset(h, 0, sizeof(*h));
	health_eval_set(h, fall, rise);
}

void health_eval_reset(struct health_eval *h, uint64_t now)
{
	if (h->state != HEALTH_UNKNOWN)
		h->changed_at = now;
	h->state = HEALTH_UNKNOWN;
	h->fails = h->passes = 0;
	h->reason[0] = '\0';
}

static int set(struct health_eval *h, enum health_state s, uint64_t now)
{
	if (h->state == s)
		return 0;
	h->state = s;
	h->changed_at = now;
	return 1;
}

int health_eval_result(struct health_eval *h, int ok, const char *reason, uint64_t now)
{
	h->checks++;
	h->last_at = now;
	if (ok) {
		h->fails = 0;
		h->passes++;
		/* an unhealthy broker must prove itself rise times; a failing
		 * one was never declared unhealthy: one pass is enough */
		if (h->state == HEALTH_BAD && h->passes < h->rise)
			return 0;
		return set(h, HEALTH_OK, now);
	}
	h->failures++;
	h->passes = 0;
	h->fails++;
	snprintf(h->reason, sizeof(h->reason), "%s", reason != NULL && *reason ? reason : "check failed");
	if (h->state == HEALTH_BAD)
		return 0;
	if (h->fails >= h->fall)
		return set(h, HEALTH_BAD, now);
	/* failing again after another failure: no change of state, but the
	 * count changed; the caller shows it */
	return set(h, HEALTH_FAILING, now);
}

void health_eval_describe(const struct health_eval *h, char *out, unsigned len)
{
	switch (h->state) {
	case HEALTH_UNKNOWN:
		snprintf(out, len, "unknown");
		break;
	case HEALTH_OK:
		snprintf(out, len, "healthy");
		break;
	case HEALTH_FAILING:
		snprintf(out, len, "failing %u of %u (%s)", h->fails, h->fall, h->reason);
		break;
	case HEALTH_BAD:
		if (h->passes > 0)
			snprintf(out, len, "unhealthy, %u of %u passed (%s)", h->passes, h->rise, h->reason);
		else
			snprintf(out, len, "unhealthy (%s)", h->reason);
		break;
	}
}
