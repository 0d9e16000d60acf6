/* Unit tests of mastership_step(): the pure state machine that decides
 * whether this node runs its broker (mastership.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "mastership.h"

#define HANDOVER_HOLD 3000
#define FAILED_HOLD 60000

static void init(struct mastership *m)
{
	struct ms_params p;

	memset(&p, 0, sizeof(p));
	snprintf(p.self, sizeof(p.self), "n1");
	p.handover_holddown_ms = HANDOVER_HOLD;
	p.failed_holddown_ms = FAILED_HOLD;
	mastership_init(m, &p);
}

static struct ms_event event(enum ms_input type)
{
	struct ms_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	return ev;
}

static void step(struct mastership *m, enum ms_input type, uint64_t now, struct ms_actions *a)
{
	struct ms_event ev = event(type);

	mastership_step(m, &ev, now, a);
}

static void leader(struct mastership *m, const char *node, uint64_t term, uint64_t now, struct ms_actions *a)
{
	struct ms_event ev = event(MS_IN_LEADER);

	snprintf(ev.node, sizeof(ev.node), "%s", node);
	ev.term = term;
	mastership_step(m, &ev, now, a);
}

/* Elected at term 5, the broker up and serving. */
static void make_master(struct mastership *m, struct ms_actions *a)
{
	init(m);
	leader(m, "n1", 5, 100, a);
	assert_int_equal(m->state, MS_MASTER);
	assert_true(a->want_broker);
	assert_true(a->hook_promote);
	assert_int_equal(a->persist_term, 5);
	step(m, MS_IN_BROKER_UP, 110, a);
	step(m, MS_IN_BROKER_READY, 120, a);
	assert_true(m->broker_alive && m->broker_ready);
}

static void broker_wanted_in_master_only(void **state)
{
	struct mastership m;
	struct ms_actions a;

	(void)state;
	init(&m);
	step(&m, MS_IN_TIME, 10, &a);
	assert_false(a.want_broker);
	leader(&m, "n2", 3, 20, &a);
	assert_int_equal(m.state, MS_FOLLOWING);
	assert_false(a.want_broker);
	assert_int_equal(m.term, 3);
	leader(&m, "n1", 4, 30, &a);
	assert_int_equal(m.state, MS_MASTER);
	assert_true(a.want_broker);
	assert_int_equal(a.broker_term, 4);
	/* outranked: following again, the broker is not wanted */
	leader(&m, "n3", 6, 40, &a);
	assert_int_equal(m.state, MS_FOLLOWING);
	assert_false(a.want_broker);
	assert_true(a.hook_demote);
	step(&m, MS_IN_LEADERSHIP_LOST, 50, &a);
	assert_false(a.want_broker);
}

/* failoverctl resign as master: the broker stops first; the resignation
 * is commanded only once it is down. */
static void resign_waits_for_the_broker(void **state)
{
	struct mastership m;
	struct ms_actions a;

	(void)state;
	make_master(&m, &a);
	step(&m, MS_IN_RESIGN, 200, &a);
	assert_false(a.refused);
	assert_int_equal(m.state, MS_HANDING_OVER);
	assert_int_equal(a.ntransitions, 1);
	assert_false(a.transitions[0].forfeit); /* given, not forfeit */
	assert_false(a.want_broker);
	assert_int_equal(a.cluster, MS_CL_NONE);
	assert_false(a.claimable);
	/* reports that change nothing do not let the resignation out */
	step(&m, MS_IN_BROKER_UP, 210, &a);
	assert_int_equal(a.cluster, MS_CL_NONE);
	step(&m, MS_IN_TIME, 220, &a);
	assert_int_equal(a.cluster, MS_CL_NONE);
	step(&m, MS_IN_BROKER_DOWN, 300, &a);
	assert_int_equal(a.cluster, MS_CL_RESIGN);
	assert_string_equal(a.target, "");
	assert_int_equal(a.holddown_ms, HANDOVER_HOLD);
	assert_int_equal(m.state, MS_RESIGNING);
	step(&m, MS_IN_RESIGN_SENT, 330, &a);
	assert_int_equal(m.state, MS_FOLLOWING);
	assert_true(a.claimable);
	/* not master: refused */
	step(&m, MS_IN_RESIGN, 400, &a);
	assert_true(a.refused);
	assert_non_null(strstr(a.why, "not master"));
}

/* A handover asked by a peer: the same, naming the peer. */
static void handover_asked_names_the_target(void **state)
{
	struct mastership m;
	struct ms_actions a;
	struct ms_event ev = event(MS_IN_HANDOVER_ASKED);

	(void)state;
	make_master(&m, &a);
	snprintf(ev.target, sizeof(ev.target), "n3");
	mastership_step(&m, &ev, 200, &a);
	assert_int_equal(m.state, MS_HANDING_OVER);
	assert_int_equal(a.cluster, MS_CL_NONE);
	step(&m, MS_IN_BROKER_DOWN, 300, &a);
	assert_int_equal(a.cluster, MS_CL_RESIGN);
	assert_string_equal(a.target, "n3");
}

/* SIGTERM as master: exiting, the resignation after the broker is down
 * (held down for good), the exit after the resignation went out. */
static void stop_as_master(void **state)
{
	struct mastership m;
	struct ms_actions a;

	(void)state;
	make_master(&m, &a);
	step(&m, MS_IN_STOP, 200, &a);
	assert_int_equal(m.state, MS_EXITING);
	assert_false(a.want_broker);
	assert_int_equal(a.cluster, MS_CL_NONE);
	assert_false(a.exit);
	assert_false(a.claimable);
	step(&m, MS_IN_BROKER_DOWN, 300, &a);
	assert_int_equal(m.state, MS_EXIT_RESIGNING);
	assert_int_equal(a.cluster, MS_CL_RESIGN);
	assert_true(a.holddown_ms >= UINT64_MAX / 4);
	assert_false(a.exit);
	step(&m, MS_IN_RESIGN_SENT, 330, &a);
	assert_int_equal(m.state, MS_EXITED);
	assert_true(a.exit);
}

/* SIGTERM as follower with no broker: out at once, nothing to resign. */
static void stop_as_follower(void **state)
{
	struct mastership m;
	struct ms_actions a;

	(void)state;
	init(&m);
	leader(&m, "n2", 3, 20, &a);
	step(&m, MS_IN_STOP, 30, &a);
	assert_int_equal(m.state, MS_EXITED);
	assert_true(a.exit);
	assert_int_equal(a.cluster, MS_CL_NONE);
}

static void stop_twice_exits(void **state)
{
	struct mastership m;
	struct ms_actions a;

	(void)state;
	make_master(&m, &a);
	step(&m, MS_IN_STOP, 200, &a);
	assert_false(a.exit);
	step(&m, MS_IN_STOP, 210, &a);
	assert_int_equal(m.state, MS_EXITED);
	assert_true(a.exit);
	assert_int_equal(a.cluster, MS_CL_NONE);
	assert_false(a.want_broker);
}

static void switchover_refused_while_leaving(void **state)
{
	struct mastership m;
	struct ms_actions a;
	struct ms_event ev = event(MS_IN_SWITCHOVER);

	(void)state;
	snprintf(ev.target, sizeof(ev.target), "n2");
	make_master(&m, &a);
	mastership_step(&m, &ev, 150, &a);
	assert_false(a.refused);
	assert_int_equal(a.cluster, MS_CL_HANDOVER);
	assert_string_equal(a.target, "n2");
	assert_int_equal(m.state, MS_MASTER); /* the backend answers with HANDOVER_ASKED */
	step(&m, MS_IN_RESIGN, 200, &a);
	assert_int_equal(m.state, MS_HANDING_OVER);
	mastership_step(&m, &ev, 210, &a);
	assert_true(a.refused);
	assert_int_equal(a.cluster, MS_CL_NONE);
	step(&m, MS_IN_STOP, 220, &a);
	assert_int_equal(m.state, MS_EXITING);
	mastership_step(&m, &ev, 230, &a);
	assert_true(a.refused);
	assert_int_equal(a.cluster, MS_CL_NONE);
}

/* health.action = restart: the broker restarts here max_restarts times in
 * a row, then the node resigns; recovered for good (MS_HEALTH_STABLE_CHECKS
 * passes), the count starts again. */
static void health_restarts_then_resigns(void **state)
{
	struct mastership m;
	struct ms_actions a;
	struct ms_event ev = event(MS_IN_UNHEALTHY);

	(void)state;
	make_master(&m, &a);
	m.p.health_action = MS_HEALTH_RESTART;
	m.p.max_restarts = 2;
	snprintf(ev.reason, sizeof(ev.reason), "probe: no answer");
	for (unsigned i = 1; i <= 2; i++) {
		mastership_step(&m, &ev, 200 + i, &a);
		assert_true(a.restart_broker);
		assert_true(a.want_broker);
		assert_int_equal(m.state, MS_MASTER);
		assert_int_equal(m.health_restarts, i);
		assert_non_null(strstr(m.reason, "restarting the broker"));
		/* the restarted broker passes a few checks: not yet recovered */
		ev.type = MS_IN_HEALTHY;
		ev.count = MS_HEALTH_STABLE_CHECKS - 1;
		mastership_step(&m, &ev, 300 + i, &a);
		assert_int_equal(m.health_restarts, i);
		ev.type = MS_IN_UNHEALTHY;
	}
	mastership_step(&m, &ev, 400, &a);
	assert_false(a.restart_broker);
	assert_int_equal(m.state, MS_HANDING_OVER);
	assert_non_null(strstr(m.reason, "unhealthy after 2 restarts in a row"));

	/* recovered for good between two failures: the count starts again */
	make_master(&m, &a);
	m.p.max_restarts = 1;
	ev.type = MS_IN_UNHEALTHY;
	mastership_step(&m, &ev, 200, &a);
	assert_true(a.restart_broker);
	ev.type = MS_IN_HEALTHY;
	ev.count = MS_HEALTH_STABLE_CHECKS;
	mastership_step(&m, &ev, 300, &a);
	assert_int_equal(m.health_restarts, 0);
	ev.type = MS_IN_UNHEALTHY;
	mastership_step(&m, &ev, 400, &a);
	assert_true(a.restart_broker);
	assert_int_equal(m.state, MS_MASTER);

	/* action = resign: no restart */
	make_master(&m, &a);
	m.p.health_action = MS_HEALTH_RESIGN;
	m.p.max_restarts = 3;
	mastership_step(&m, &ev, 200, &a);
	assert_false(a.restart_broker);
	assert_int_equal(m.state, MS_HANDING_OVER);
}

/* Nobody could take over: the master restarts its broker here and says it
 * is degraded; a standby that appears takes over from a sick broker; an
 * ineligible master (its precheck fails) resigns to nobody rather than
 * start a broker that cannot serve. */
static void degraded_without_standby(void **state)
{
	static const enum ms_input failures[] = {MS_IN_BROKER_FAILED, MS_IN_UNHEALTHY};
	struct mastership m;
	struct ms_actions a;
	struct ms_event ev;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		make_master(&m, &a);
		m.p.health_action = MS_HEALTH_RESIGN;
		ev = event(failures[i]);
		ev.no_standby = 1;
		snprintf(ev.reason, sizeof(ev.reason), "sick");
		mastership_step(&m, &ev, 200, &a);
		assert_int_equal(m.state, MS_MASTER);
		assert_true(a.restart_broker);
		assert_true(a.want_broker);
		assert_true(m.degraded);
		assert_non_null(strstr(m.degraded_reason, "degraded: no eligible healthy standby"));
		assert_int_equal(a.status, MS_STATUS_NOW);
		if (failures[i] == MS_IN_UNHEALTHY) {
			/* still none: nothing */
			ev = event(MS_IN_PEERS_CHANGED);
			ev.no_standby = 1;
			mastership_step(&m, &ev, 300, &a);
			assert_int_equal(m.state, MS_MASTER);
			/* one appears while the broker is sick: it takes over */
			ev.no_standby = 0;
			mastership_step(&m, &ev, 400, &a);
			assert_int_equal(m.state, MS_HANDING_OVER);
		} else {
			/* healthy again: no longer degraded */
			ev = event(MS_IN_HEALTHY);
			mastership_step(&m, &ev, 300, &a);
			assert_false(m.degraded);
		}
	}
	/* the master may not lead itself: no broker started again */
	make_master(&m, &a);
	ev = event(MS_IN_INELIGIBLE);
	snprintf(ev.reason, sizeof(ev.reason), "store missing");
	mastership_step(&m, &ev, 150, &a);
	assert_int_equal(m.state, MS_MASTER); /* a serving master keeps its role */
	assert_false(a.claimable);
	ev = event(MS_IN_BROKER_FAILED);
	ev.no_standby = 1;
	mastership_step(&m, &ev, 200, &a);
	assert_false(a.restart_broker);
	assert_int_equal(m.state, MS_HANDING_OVER);

	/* ineligible, unhealthy with action = restart: no restart either */
	make_master(&m, &a);
	m.p.health_action = MS_HEALTH_RESTART;
	m.p.max_restarts = 3;
	ev = event(MS_IN_INELIGIBLE);
	mastership_step(&m, &ev, 150, &a);
	ev = event(MS_IN_UNHEALTHY);
	mastership_step(&m, &ev, 200, &a);
	assert_false(a.restart_broker);
	assert_int_equal(m.state, MS_HANDING_OVER);

	/* ineligible, its broker crashes (the supervisor would restart it):
	 * the lead goes at once */
	make_master(&m, &a);
	ev = event(MS_IN_INELIGIBLE);
	snprintf(ev.reason, sizeof(ev.reason), "store missing");
	mastership_step(&m, &ev, 150, &a);
	step(&m, MS_IN_BROKER_DOWN, 200, &a);
	assert_false(a.want_broker);
	assert_int_equal(a.cluster, MS_CL_RESIGN);
	assert_int_equal(m.state, MS_RESIGNING);

	/* degraded by a broker that kept failing: serving again ends it */
	make_master(&m, &a);
	ev = event(MS_IN_BROKER_FAILED);
	ev.no_standby = 1;
	mastership_step(&m, &ev, 200, &a);
	assert_true(m.degraded);
	step(&m, MS_IN_BROKER_DOWN, 210, &a);
	step(&m, MS_IN_BROKER_UP, 220, &a);
	assert_true(m.degraded);
	step(&m, MS_IN_BROKER_READY, 230, &a);
	assert_false(m.degraded);
	assert_int_equal(a.status, MS_STATUS_NOW);
	/* degraded by a sick one: serving is not enough, passing checks is */
	ev = event(MS_IN_UNHEALTHY);
	ev.no_standby = 1;
	m.p.health_action = MS_HEALTH_RESIGN;
	mastership_step(&m, &ev, 300, &a);
	assert_true(m.degraded);
	step(&m, MS_IN_BROKER_READY, 310, &a);
	assert_true(m.degraded);
	/* the handover when a standby appears says why */
	snprintf(m.health_reason, sizeof(m.health_reason), "probe: no answer");
	ev = event(MS_IN_PEERS_CHANGED);
	mastership_step(&m, &ev, 320, &a);
	assert_int_equal(m.state, MS_HANDING_OVER);
	assert_non_null(strstr(m.reason, "health check failed: probe: no answer"));
}

/* A failing broker or health hands the lead over, held down for the
 * broker's holddown; paused, the master keeps its broker. */
static void failure_hands_over_unless_paused(void **state)
{
	static const enum ms_input failures[] = {MS_IN_BROKER_FAILED, MS_IN_UNHEALTHY};
	struct mastership m;
	struct ms_actions a;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		make_master(&m, &a);
		step(&m, failures[i], 200, &a);
		assert_int_equal(m.state, MS_HANDING_OVER);
		assert_false(a.want_broker);
		assert_int_equal(a.cluster, MS_CL_NONE);
		step(&m, MS_IN_BROKER_DOWN, 300, &a);
		assert_int_equal(a.cluster, MS_CL_RESIGN);
		assert_int_equal(a.holddown_ms, FAILED_HOLD);

		make_master(&m, &a);
		step(&m, MS_IN_PAUSE, 150, &a);
		assert_false(a.claimable);
		step(&m, failures[i], 200, &a);
		assert_int_equal(m.state, MS_MASTER);
		assert_true(a.want_broker);
		assert_int_equal(a.cluster, MS_CL_NONE);
		assert_non_null(strstr(m.reason, "paused"));
		/* a failure while following changes nothing */
		leader(&m, "n2", 9, 250, &a);
		step(&m, failures[i], 260, &a);
		assert_int_equal(m.state, MS_FOLLOWING);
		assert_int_equal(a.cluster, MS_CL_NONE);
	}
}

/* A lease not renewed by its deadline demotes, at the first step at or
 * after it; wake_at asks for that step. */
static void fence_deadline_demotes(void **state)
{
	struct mastership m;
	struct ms_actions a;
	struct ms_event ev = event(MS_IN_FENCE);

	(void)state;
	make_master(&m, &a);
	assert_int_equal(a.wake_at, 0);
	ev.deadline = 5000;
	mastership_step(&m, &ev, 1000, &a);
	assert_int_equal(a.wake_at, 5000);
	assert_int_equal(mastership_wake_at(&m), 5000);
	step(&m, MS_IN_TIME, 4999, &a);
	assert_int_equal(m.state, MS_MASTER);
	assert_true(a.want_broker);
	step(&m, MS_IN_TIME, 5000, &a);
	assert_int_equal(m.state, MS_HANDING_OVER);
	assert_false(a.want_broker);
	assert_true(a.hook_demote);
	assert_int_equal(a.cluster, MS_CL_NONE); /* the broker first */
	assert_int_equal(a.wake_at, 0);
	assert_non_null(strstr(m.reason, "not renewed"));
	/* the transition says it was forfeit (the history files it as the fence's) */
	assert_int_equal(a.ntransitions, 1);
	assert_int_equal(a.transitions[0].to, MS_HANDING_OVER);
	assert_true(a.transitions[0].forfeit);
	/* then the backend, which may still hold the lead, gives it up */
	step(&m, MS_IN_BROKER_DOWN, 5100, &a);
	assert_int_equal(a.cluster, MS_CL_RESIGN);
	assert_int_equal(a.holddown_ms, 0);
	step(&m, MS_IN_RESIGN_SENT, 5100, &a);
	assert_int_equal(m.state, MS_FOLLOWING);
	/* a renewal while following is ignored; a fence already past demotes
	 * in the step that brings it (no broker: the lead goes at once) */
	mastership_step(&m, &ev, 6000, &a);
	assert_int_equal(m.fence_until, 0);
	leader(&m, "n1", 6, 7000, &a);
	assert_int_equal(m.state, MS_MASTER);
	ev.deadline = 6999;
	mastership_step(&m, &ev, 7000, &a);
	assert_int_equal(m.state, MS_RESIGNING);
	assert_int_equal(a.cluster, MS_CL_RESIGN);
	assert_false(a.want_broker);
}

static void ineligible_or_paused_not_claimable(void **state)
{
	struct mastership m;
	struct ms_actions a;

	(void)state;
	init(&m);
	step(&m, MS_IN_TIME, 10, &a);
	assert_true(a.claimable);
	step(&m, MS_IN_INELIGIBLE, 20, &a);
	assert_false(a.claimable);
	step(&m, MS_IN_PAUSE, 30, &a);
	assert_false(a.claimable);
	step(&m, MS_IN_ELIGIBLE, 40, &a);
	assert_false(a.claimable);
	step(&m, MS_IN_RESUME, 50, &a);
	assert_true(a.claimable);
	/* a master keeps claiming (renewing) unless paused */
	make_master(&m, &a);
	assert_true(a.claimable);
	step(&m, MS_IN_PAUSE, 200, &a);
	assert_false(a.claimable);
	assert_true(a.want_broker);
	/* paused, a handover asked by a peer is refused */
	{
		struct ms_event ev = event(MS_IN_HANDOVER_ASKED);
		snprintf(ev.target, sizeof(ev.target), "n2");
		mastership_step(&m, &ev, 210, &a);
		assert_true(a.refused);
		assert_int_equal(m.state, MS_MASTER);
	}
}

/* Paused, a master makes no handover: a switchover asked of it is refused
 * up front, not accepted and then dropped when the backend asks back. */
static void switchover_refused_while_paused_master(void **state)
{
	struct mastership m;
	struct ms_actions a;
	struct ms_event ev = event(MS_IN_SWITCHOVER);

	(void)state;
	make_master(&m, &a);
	step(&m, MS_IN_PAUSE, 150, &a);
	mastership_step(&m, &ev, 160, &a);
	assert_true(a.refused);
	assert_non_null(strstr(a.why, "paused"));
	assert_int_equal(a.cluster, MS_CL_NONE);
	assert_int_equal(m.state, MS_MASTER);
	step(&m, MS_IN_RESUME, 170, &a);
	mastership_step(&m, &ev, 180, &a);
	assert_false(a.refused);
	assert_int_equal(a.cluster, MS_CL_HANDOVER);
}

/* Paused (maintenance): a resign asked of the master is refused (every
 * other node is paused too: nobody would take the lead), a slave asks for
 * no switchover, and a master whose broker went down stays master; at
 * resume it wants its broker again, with no handover. */
static void resign_refused_while_paused(void **state)
{
	struct mastership m;
	struct ms_actions a;
	struct ms_event ev = event(MS_IN_SWITCHOVER);

	(void)state;
	make_master(&m, &a);
	step(&m, MS_IN_PAUSE, 150, &a);
	step(&m, MS_IN_RESIGN, 160, &a);
	assert_true(a.refused);
	assert_non_null(strstr(a.why, "paused"));
	assert_int_equal(a.cluster, MS_CL_NONE);
	assert_int_equal(m.state, MS_MASTER);
	step(&m, MS_IN_BROKER_DOWN, 170, &a);
	assert_int_equal(m.state, MS_MASTER);
	assert_int_equal(a.cluster, MS_CL_NONE);
	step(&m, MS_IN_RESUME, 180, &a);
	assert_int_equal(m.state, MS_MASTER);
	assert_true(a.want_broker);
	assert_true(a.claimable);
	assert_int_equal(a.cluster, MS_CL_NONE);
	step(&m, MS_IN_RESIGN, 190, &a);
	assert_false(a.refused);
	/* a paused slave: no switchover asked of the master either */
	init(&m);
	step(&m, MS_IN_PAUSE, 200, &a);
	mastership_step(&m, &ev, 210, &a);
	assert_true(a.refused);
	assert_int_equal(a.cluster, MS_CL_NONE);
}

/* At resume, what the pause held back is done: a master whose broker went
 * down on a node that may not lead hands over (its broker is not started
 * again), and one whose broker turned unhealthy gets the health policy. */
static void resume_does_what_the_pause_held_back(void **state)
{
	struct mastership m;
	struct ms_actions a;
	struct ms_event ev = event(MS_IN_INELIGIBLE);

	(void)state;
	make_master(&m, &a);
	step(&m, MS_IN_PAUSE, 150, &a);
	snprintf(ev.reason, sizeof(ev.reason), "precheck failed");
	mastership_step(&m, &ev, 160, &a);
	step(&m, MS_IN_BROKER_DOWN, 170, &a);
	assert_int_equal(m.state, MS_MASTER); /* paused: it stays */
	step(&m, MS_IN_RESUME, 180, &a);
	assert_false(a.want_broker);
	assert_int_equal(a.cluster, MS_CL_RESIGN);
	assert_true(a.ntransitions >= 1);
	assert_non_null(strstr(a.transitions[0].reason, "at resume"));
	/* unhealthy while paused: restarted at resume (health.action = restart) */
	make_master(&m, &a);
	m.p.health_action = MS_HEALTH_RESTART;
	m.p.max_restarts = 2;
	step(&m, MS_IN_PAUSE, 150, &a);
	ev = event(MS_IN_UNHEALTHY);
	snprintf(ev.reason, sizeof(ev.reason), "probe failed");
	mastership_step(&m, &ev, 160, &a);
	assert_false(a.restart_broker);
	assert_int_equal(m.state, MS_MASTER);
	step(&m, MS_IN_RESUME, 170, &a);
	assert_int_equal(m.state, MS_MASTER);
	assert_true(a.restart_broker);
	assert_int_equal(m.health_restarts, 1);
	/* health.action = resign: it hands over at resume */
	make_master(&m, &a);
	m.p.health_action = MS_HEALTH_RESIGN;
	step(&m, MS_IN_PAUSE, 150, &a);
	mastership_step(&m, &ev, 160, &a);
	assert_int_equal(m.state, MS_MASTER);
	step(&m, MS_IN_RESUME, 170, &a);
	assert_int_equal(m.state, MS_HANDING_OVER);
	assert_false(a.want_broker);
	/* healthy at resume: nothing but the status */
	make_master(&m, &a);
	step(&m, MS_IN_PAUSE, 150, &a);
	step(&m, MS_IN_RESUME, 160, &a);
	assert_int_equal(m.state, MS_MASTER);
	assert_false(a.restart_broker);
	assert_int_equal(a.cluster, MS_CL_NONE);
	assert_true(a.want_broker);
}

/* Every state, with the broker alive or not, paused or not, ineligible or
 * not, times every input (and the leader being us or another): the
 * broker is wanted in MASTER only, a resignation is never commanded while
 * the broker is alive, the claimable flag follows the rules, and an
 * exited node stays exited. */
static void sweep_keeps_the_invariants(void **state)
{
	static const char *const nodes[] = {"n1", "n2"};
	unsigned cases = 0;

	(void)state;
	for (int st = 0; st < MS_STATE_COUNT; st++)
		for (int bits = 0; bits < 32; bits++)
			for (int in = 0; in < MS_INPUT_COUNT; in++)
				for (int who = 0; who < 2; who++) {
					struct mastership m;
					struct ms_actions a;
					struct ms_event ev = event((enum ms_input)in);
					enum ms_state from = (enum ms_state)st;

					if (who == 1 && in != MS_IN_LEADER && in != MS_IN_HANDOVER_ASKED &&
					    in != MS_IN_SWITCHOVER)
						continue;
					init(&m);
					m.state = from;
					m.term = 5;
					m.broker_alive = bits & 1;
					m.broker_ready = m.broker_alive && (bits & 2);
					m.paused = (bits >> 2) & 1;
					m.ineligible = (bits >> 3) & 1;
					m.fence_until = (bits & 16) ? 1000 : 0;
					snprintf(m.leader, sizeof(m.leader), "%s", from == MS_MASTER ? "n1" : "n2");
					/* what the states carry: a resignation is due while
					 * handing over, and while exiting as leader */
					m.resign_due = from == MS_HANDING_OVER || (from == MS_EXITING && (bits & 2));
					snprintf(ev.node, sizeof(ev.node), "%s", nodes[who]);
					snprintf(ev.target, sizeof(ev.target), "%s", nodes[1 - who]);
					ev.term = 6;
					ev.deadline = 900 + 200 * (unsigned)who;
					mastership_step(&m, &ev, 1000, &a);
					cases++;
					assert_int_equal(a.want_broker, m.state == MS_MASTER);
					assert_int_equal(a.want_broker, mastership_wants_broker(&m));
					if (a.cluster == MS_CL_RESIGN)
						assert_false(m.broker_alive);
					if (a.claimable)
						assert_true(!m.paused && !m.ineligible &&
							    (m.state == MS_FOLLOWING || m.state == MS_MASTER ||
							     m.state == MS_RESIGNING));
					if (from == MS_EXITED)
						assert_int_equal(m.state, MS_EXITED);
					if (m.state == MS_EXITED && from != MS_EXITED)
						assert_true(a.exit);
					/* only our own election makes us master */
					if (m.state == MS_MASTER && from != MS_MASTER)
						assert_true(in == MS_IN_LEADER && who == 0);
					/* a master past its fence is not one any more */
					if (m.state == MS_MASTER)
						assert_true(m.fence_until == 0 || m.fence_until > 1000);
					assert_true(a.ntransitions <= 4);
				}
	assert_true(cases > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(broker_wanted_in_master_only),
		cmocka_unit_test(resign_waits_for_the_broker),
		cmocka_unit_test(handover_asked_names_the_target),
		cmocka_unit_test(stop_as_master),
		cmocka_unit_test(stop_as_follower),
		cmocka_unit_test(stop_twice_exits),
		cmocka_unit_test(switchover_refused_while_leaving),
		cmocka_unit_test(switchover_refused_while_paused_master),
		cmocka_unit_test(resign_refused_while_paused),
		cmocka_unit_test(resume_does_what_the_pause_held_back),
		cmocka_unit_test(failure_hands_over_unless_paused),
		cmocka_unit_test(health_restarts_then_resigns),
		cmocka_unit_test(degraded_without_standby),
		cmocka_unit_test(fence_deadline_demotes),
		cmocka_unit_test(ineligible_or_paused_not_claimable),
		cmocka_unit_test(sweep_keeps_the_invariants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
