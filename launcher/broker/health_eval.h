/*
 * The broker's health from its check results: keepalived's fall and rise.
 * Pure: results in (with the monotonic time), a state out.
 *
 *   unknown --pass--> healthy --fail--> failing (1..fall-1 in a row)
 *   failing --pass--> healthy;  failing --fall-th fail in a row--> unhealthy
 *   unhealthy --rise passes in a row--> healthy
 *
 * With fall = 1 a failure makes the broker unhealthy at once.  A new broker
 * (a start, a restart) begins unknown again (health_eval_reset).
 */
#ifndef FL_HEALTH_EVAL_H
#define FL_HEALTH_EVAL_H

#include <stdint.h>

#define HEALTH_REASON_MAX 160
/* Passes in a row after which a broker counts as recovered (reported once
 * more: mastership forgets its health restarts, MS_HEALTH_STABLE_CHECKS) */
#define HEALTH_STABLE_PASSES 10

enum health_state {
	HEALTH_UNKNOWN, /* no check done since the broker became ready */
	HEALTH_OK,
	HEALTH_FAILING, /* failed fails of fall checks in a row */
	HEALTH_BAD,     /* past fall: unhealthy until rise passes in a row */
};

struct health_eval {
	unsigned fall, rise;
	enum health_state state;
	unsigned fails;      /* failed checks in a row */
	unsigned passes;     /* passed checks in a row */
	char reason[HEALTH_REASON_MAX]; /* of the last failure */
	uint64_t last_at;    /* when the last result came (0: none) */
	uint64_t changed_at; /* when the state last changed */
	uint64_t checks, failures; /* since start */
};

void health_eval_init(struct health_eval *h, unsigned fall, unsigned rise);
/* New thresholds (a reload); the counts stand. */
void health_eval_set(struct health_eval *h, unsigned fall, unsigned rise);
/* A new broker: unknown, nothing in a row. */
void health_eval_reset(struct health_eval *h, uint64_t now);
/* One check's result (reason: why it failed).  1 when the state changed. */
int health_eval_result(struct health_eval *h, int ok, const char *reason, uint64_t now);
const char *health_state_name(enum health_state s);
/* "healthy", "failing 2 of 3 (reason)", "unhealthy (reason)", "unknown". */
void health_eval_describe(const struct health_eval *h, char *out, unsigned len);

#endif
