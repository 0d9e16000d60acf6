/*
 * Hook commands on promotion and demotion: run through /bin/sh -c by
 * spawn(), never waited for by the event loop, told the event, role, term
 * and node in FAILOVER_* variables, killed (with their process group) when
 * they outlive the hook timeout.  Their output is logged line by line.
 */
#ifndef FL_HOOK_H
#define FL_HOOK_H

#include <ev.h>
#include <stdint.h>

struct hook_env {
	const char *event;   /* "promote" or "demote" */
	const char *role;
	const char *node;
	const char *master;
	uint64_t term;
};

/* Starts cmd; returns 0 when it was started. */
int hook_run(struct ev_loop *loop, const char *cmd, const struct hook_env *env, long timeout_ms);

#endif
