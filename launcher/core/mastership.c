/*
 * Mastership: one state machine, pure (see mastership.h).
 */
#include "mastership.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* "never" as a holddown: a stopping node does not come back */
#define HOLD_FOREVER (UINT64_MAX / 4)

static const char *const state_names[MS_STATE_COUNT] = {
	"following", "master", "handing-over", "resigning", "exiting", "exit-resigning", "exited",
};

static const char *const input_names[MS_INPUT_COUNT] = {
	"leader", "no-leader", "leadership-lost", "fence", "peers-changed", "handover-asked", "resign-sent",
	"rival-yielded",
	"broker-up", "broker-ready", "broker-down", "broker-failed", "healthy", "health-failing", "unhealthy",
	"eligible", "ineligible", "pause", "resume", "stop", "resign", "switchover", "time",
};

const char *mastership_state_name(enum ms_state s)
{
	return (unsigned)s < MS_STATE_COUNT ? state_names[s] : "?";
}

const char *mastership_input_name(enum ms_input in)
{
	return (unsigned)in < MS_INPUT_COUNT ? input_names[in] : "?";
}

void mastership_init(struct mastership *m, const struct ms_params *p)
{
	memset(m, 0, sizeof(*m));
	m->p = *p;
	m->state = MS_FOLLOWING;
	snprintf(m->reason, sizeof(m->reason), "started");
}

void mastership_set_params(struct mastership *m, const struct ms_params *p)
{
	char self[sizeof(m->p.self)];

	memcpy(self, m->p.self, sizeof(self)); /* the node id needs a restart */
	m->p = *p;
	memcpy(m->p.self, self, sizeof(self));
}

int mastership_wants_broker(const struct mastership *m)
{
	return m->state == MS_MASTER;
}

uint64_t mastership_wake_at(const struct mastership *m)
{
	return m->state == MS_MASTER ? m->fence_until : 0;
}

uint64_t mastership_fence(const struct mastership *m)
{
	return m->leading ? m->fence_until : 0;
}

int mastership_leaving(const struct mastership *m)
{
	return m->state == MS_HANDING_OVER || m->state == MS_EXITING || m->state == MS_EXIT_RESIGNING ||
	       m->state == MS_EXITED;
}

int mastership_exiting(const struct mastership *m)
{
	return m->state == MS_EXITING || m->state == MS_EXIT_RESIGNING || m->state == MS_EXITED;
}

static void set_state(struct mastership *m, enum ms_state to, struct ms_actions *out, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_state(struct mastership *m, enum ms_state to, struct ms_actions *out, const char *fmt, ...)
{
	va_list ap;
	struct ms_transition *t;

	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
	va_end(ap);
	if (to == MS_MASTER && m->state != MS_MASTER) {
		m->promotions++;
		out->hook_promote = 1;
		out->persist_term = m->term;
	}
	if (out->ntransitions < sizeof(out->transitions) / sizeof(out->transitions[0])) {
		t = &out->transitions[out->ntransitions++];
		t->from = m->state;
		t->to = to;
		t->forfeit = 0;
		memcpy(t->reason, m->reason, sizeof(t->reason));
	}
	m->state = to;
	out->status = MS_STATUS_NOW;
}

/* We no longer lead, by our resignation or by the cluster's word. */
static void lead_lost(struct mastership *m, struct ms_actions *out, const char *why)
{
	if (!m->leading)
		return;
	m->leading = 0;
	m->demotions++;
	out->hook_demote = 1;
	snprintf(out->demote_reason, sizeof(out->demote_reason), "%s", why);
}

static void refuse(struct ms_actions *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct ms_actions *out, const char *fmt, ...)
{
	va_list ap;

	out->refused = 1;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

static void later(struct ms_actions *out)
{
	if (out->status == MS_STATUS_KEEP)
		out->status = MS_STATUS_LATER;
}

/* The broker is down (or never ran): the resignation goes out now. */
static void resign_now(struct mastership *m, struct ms_actions *out)
{
	out->cluster = MS_CL_RESIGN;
	memcpy(out->target, m->resign_target, sizeof(out->target));
	out->holddown_ms = m->resign_holddown_ms;
	m->resign_due = 0;
	{
		char why[MS_REASON_MAX];
		snprintf(why, sizeof(why), "resigning%s%s", m->resign_target[0] ? " in favour of " : "", m->resign_target);
		lead_lost(m, out, why);
	}
	if (m->state == MS_EXITING)
		set_state(m, MS_EXIT_RESIGNING, out, "broker down: resigning%s%s before exiting",
			  m->resign_target[0] ? " in favour of " : "", m->resign_target);
	else
		set_state(m, MS_RESIGNING, out, "broker down: resigning%s%s", m->resign_target[0] ? " in favour of " : "",
			  m->resign_target);
}

/* Give the lead away: stop the broker, then resign (resign_now). */
static void hand_over(struct mastership *m, const char *target, uint64_t holddown, struct ms_actions *out,
		      const char *why)
{
	m->resign_due = 1;
	snprintf(m->resign_target, sizeof(m->resign_target), "%s", target != NULL ? target : "");
	m->resign_holddown_ms = holddown;
	set_state(m, MS_HANDING_OVER, out, "%s", why);
	if (!m->broker_alive)
		resign_now(m, out);
}

/* Stopped leading without resigning (outranked, lost, fenced). */
static void demote(struct mastership *m, struct ms_actions *out, const char *why)
{
	lead_lost(m, out, why);
	if (m->state == MS_MASTER)
		set_state(m, MS_FOLLOWING, out, "%s", why);
}

static void on_leader(struct mastership *m, const struct ms_event *ev, struct ms_actions *out)
{
	int self = strcmp(ev->node, m->p.self) == 0;

	snprintf(m->leader, sizeof(m->leader), "%s", ev->node);
	if (!self) {
		m->term = ev->term;
		m->fence_until = 0;
		demote(m, out, ev->reason[0] ? ev->reason : "another node leads");
		out->status = MS_STATUS_NOW;
		return;
	}
	if (m->state == MS_MASTER && ev->term != m->term)
		out->persist_term = ev->term;
	m->term = ev->term;
	m->leading = 1;
	switch (m->state) {
	case MS_FOLLOWING:
	case MS_RESIGNING: /* led again before the copies were out: they stop */
		m->fence_until = 0;
		m->health_restarts = 0;
		m->degraded = 0;
		m->health = MS_HEALTH_UNKNOWN;
		set_state(m, MS_MASTER, out, "%s", ev->reason[0] ? ev->reason : "elected");
		break;
	default:
		/* leaving: the broker stays down, the resignation still goes out */
		out->status = MS_STATUS_NOW;
		break;
	}
}

static void on_lost(struct mastership *m, const struct ms_event *ev, struct ms_actions *out)
{
	if (strcmp(m->leader, m->p.self) == 0 || ev->type == MS_IN_NO_LEADER)
		m->leader[0] = '\0';
	m->fence_until = 0;
	demote(m, out, ev->reason[0] ? ev->reason : "lead lost");
	out->status = MS_STATUS_NOW;
}

static void on_broker_down(struct mastership *m, struct ms_actions *out)
{
	m->broker_alive = 0;
	m->broker_ready = 0;
	if (m->state == MS_MASTER && m->ineligible && !m->paused) {
		/* a node that may not lead (its precheck fails) does not start
		 * its broker again after a crash: the lead goes elsewhere */
		char why[MS_REASON_MAX];
		snprintf(why, sizeof(why), "resigning mastership: the broker went down on a node that may not lead (%.100s)",
			 m->ineligible_reason);
		hand_over(m, "", m->p.failed_holddown_ms, out, why);
		return;
	}
	if (m->state == MS_HANDING_OVER)
		resign_now(m, out);
	else if (m->state == MS_EXITING) {
		if (m->resign_due)
			resign_now(m, out);
		else {
			set_state(m, MS_EXITED, out, "broker down");
			out->exit = 1;
		}
	}
}

/* A failure of the broker or of its health: the lead goes elsewhere, if
 * anyone can take it. */
static void on_failure(struct mastership *m, const struct ms_event *ev, struct ms_actions *out, const char *what)
{
	char why[MS_REASON_MAX];

	if (m->state != MS_MASTER)
		return;
	if (m->paused) {
		snprintf(m->reason, sizeof(m->reason), "%s%.150s (paused: staying master)", what, ev->reason);
		out->status = MS_STATUS_NOW;
		return;
	}
	if (ev->no_standby && !m->ineligible) {
		/* resigning would leave the cluster with no broker at all */
		m->degraded = 1;
		m->degraded_by_health = ev->type == MS_IN_UNHEALTHY || ev->type == MS_IN_PEERS_CHANGED;
		snprintf(m->degraded_reason, sizeof(m->degraded_reason),
			 "degraded: no eligible healthy standby; restarting the broker here (%s%.100s)", what, ev->reason);
		snprintf(m->reason, sizeof(m->reason), "%s", m->degraded_reason);
		out->restart_broker = 1;
		out->status = MS_STATUS_NOW;
		return;
	}
	m->degraded = 0;
	snprintf(why, sizeof(why), "resigning mastership: %s%.120s; staying slave for %llu ms", what, ev->reason,
		 (unsigned long long)m->p.failed_holddown_ms);
	hand_over(m, "", m->p.failed_holddown_ms, out, why);
}

static void on_unhealthy(struct mastership *m, const struct ms_event *ev, struct ms_actions *out)
{
	m->health = MS_HEALTH_BAD;
	snprintf(m->health_reason, sizeof(m->health_reason), "%s", ev->reason);
	if (m->state != MS_MASTER)
		return;
	if (m->ineligible) {
		/* no broker started again on a node that may not lead */
		on_failure(m, ev, out, "health check failed: ");
		return;
	}
	if (m->p.health_action == MS_HEALTH_RESTART && m->health_restarts < m->p.max_restarts && !m->paused) {
		m->health_restarts++;
		snprintf(m->reason, sizeof(m->reason), "health check failed: %.120s; restarting the broker (%u of %u)",
			 ev->reason, m->health_restarts, m->p.max_restarts);
		out->restart_broker = 1;
		out->status = MS_STATUS_NOW;
		return;
	}
	if (m->p.health_action == MS_HEALTH_RESTART && !m->paused) {
		char what[MS_REASON_MAX];
		snprintf(what, sizeof(what), "unhealthy after %u restart%s in a row: ", m->health_restarts,
			 m->health_restarts == 1 ? "" : "s");
		on_failure(m, ev, out, what);
		return;
	}
	on_failure(m, ev, out, "health check failed: ");
}

static void on_healthy(struct mastership *m, const struct ms_event *ev, struct ms_actions *out)
{
	m->health = MS_HEALTH_OK;
	m->health_reason[0] = '\0';
	if (ev->count >= MS_HEALTH_STABLE_CHECKS)
		m->health_restarts = 0;
	if (m->degraded) {
		m->degraded = 0;
		m->degraded_reason[0] = '\0';
		out->status = MS_STATUS_NOW;
	}
	later(out);
}

/* The end of maintenance: the master stays, and what the pause held back
 * is done now, as the normal path would have done it (no failover for its
 * own sake).  A broker that went down is wanted again (the supervisor
 * starts it), unless this node may not lead: then the lead goes; a broker
 * found unhealthy while paused gets the health policy now. */
static void on_resume(struct mastership *m, const struct ms_event *ev, struct ms_actions *out)
{
	m->paused = 0;
	out->status = MS_STATUS_NOW;
	if (m->state != MS_MASTER)
		return;
	if (m->ineligible && !m->broker_alive) {
		char why[MS_REASON_MAX];
		snprintf(why, sizeof(why), "resigning mastership at resume: the broker went down on a node that may not "
			 "lead (%.100s)", m->ineligible_reason);
		hand_over(m, "", m->p.failed_holddown_ms, out, why);
		return;
	}
	if (m->health == MS_HEALTH_BAD && m->broker_alive) {
		struct ms_event why = *ev;
		snprintf(why.reason, sizeof(why.reason), "%s", m->health_reason);
		on_unhealthy(m, &why, out);
	}
}

static void on_stop(struct mastership *m, struct ms_actions *out)
{
	switch (m->state) {
	case MS_EXITING:
	case MS_EXIT_RESIGNING:
	case MS_EXITED:
		set_state(m, MS_EXITED, out, "stop again while stopping: exiting now");
		out->exit = 1;
		return;
	case MS_MASTER:
		m->resign_due = 1;
		m->resign_target[0] = '\0';
		m->resign_holddown_ms = HOLD_FOREVER;
		set_state(m, MS_EXITING, out, "stopping: the broker first, then resigning");
		break;
	case MS_HANDING_OVER: /* the handover's successor and holddown stand */
		set_state(m, MS_EXITING, out, "stopping: the broker first, then resigning%s%s",
			  m->resign_target[0] ? " in favour of " : "", m->resign_target);
		break;
	case MS_RESIGNING:
		set_state(m, MS_EXIT_RESIGNING, out, "stopping once the resignation is out");
		return;
	case MS_FOLLOWING:
		m->resign_due = 0;
		set_state(m, MS_EXITING, out, "stopping");
		break;
	case MS_STATE_COUNT:
		return;
	}
	if (!m->broker_alive)
		on_broker_down(m, out);
}

static void on_resign_request(struct mastership *m, struct ms_actions *out)
{
	if (m->state != MS_MASTER) {
		refuse(out, "this node is %s, not master", mastership_state_name(m->state));
		return;
	}
	/* maintenance: nobody could take the lead (every node is paused) */
	if (m->paused) {
		refuse(out, "paused: this master does not resign (failoverctl resume first)");
		return;
	}
	hand_over(m, "", m->p.handover_holddown_ms, out, "resign requested: stopping the broker, then handing over");
}

static void on_switchover(struct mastership *m, const struct ms_event *ev, struct ms_actions *out)
{
	if (mastership_leaving(m)) {
		refuse(out, "a handover is already under way");
		return;
	}
	/* the backend would come back with MS_IN_HANDOVER_ASKED, refused
	 * there as an event, where the caller's request sees nothing */
	if (m->paused) {
		refuse(out, "paused: no switchover during maintenance (failoverctl resume first)");
		return;
	}
	out->cluster = MS_CL_HANDOVER;
	memcpy(out->target, ev->target, sizeof(out->target));
}

static void on_handover_asked(struct mastership *m, const struct ms_event *ev, struct ms_actions *out)
{
	char why[MS_REASON_MAX];

	if (m->state != MS_MASTER)
		return;
	snprintf(why, sizeof(why), "handing over to %s: stopping the broker first", ev->target);
	hand_over(m, ev->target, m->p.handover_holddown_ms, out, why);
}

static int claimable(const struct mastership *m)
{
	return !m->paused && !m->ineligible && (m->state == MS_FOLLOWING || m->state == MS_MASTER ||
						m->state == MS_RESIGNING);
}

void mastership_step(struct mastership *m, const struct ms_event *ev, uint64_t now, struct ms_actions *out)
{
	memset(out, 0, sizeof(*out));
	switch (ev->type) {
	case MS_IN_LEADER:
		on_leader(m, ev, out);
		break;
	case MS_IN_NO_LEADER:
	case MS_IN_LEADERSHIP_LOST:
		on_lost(m, ev, out);
		break;
	case MS_IN_FENCE:
		/* also while leading in a handover or an exit: the broker still
		 * stops, and the fence (mastership_fence) holds it to this */
		if (m->state == MS_MASTER || m->leading)
			m->fence_until = ev->deadline;
		break;
	case MS_IN_PEERS_CHANGED:
		/* degraded, a standby appears: it takes over from a sick broker */
		if (m->degraded && m->health == MS_HEALTH_BAD && !ev->no_standby) {
			struct ms_event why = *ev;
			snprintf(why.reason, sizeof(why.reason), "%s", m->health_reason);
			on_failure(m, &why, out, "health check failed: ");
		}
		later(out);
		break;
	case MS_IN_HANDOVER_ASKED:
		if (m->paused && m->state == MS_MASTER) {
			refuse(out, "paused: a handover to %s is not made", ev->target);
			break;
		}
		on_handover_asked(m, ev, out);
		break;
	case MS_IN_RESIGN_SENT:
		if (m->state == MS_RESIGNING)
			set_state(m, MS_FOLLOWING, out, "resignation sent");
		else if (m->state == MS_EXIT_RESIGNING) {
			set_state(m, MS_EXITED, out, "resignation sent");
			out->exit = 1;
		}
		break;
	case MS_IN_RIVAL_YIELDED:
		/* only a master that keeps the lead: one handing over is on its
		 * way out, and its successor's promotion tells the world */
		if (m->state == MS_MASTER) {
			out->hook_promote = 1;
			out->status = MS_STATUS_NOW;
		}
		break;
	case MS_IN_BROKER_UP:
		m->broker_alive = 1;
		break;
	case MS_IN_BROKER_READY:
		m->broker_alive = 1;
		m->broker_ready = 1;
		/* degraded by a broker that kept failing: serving again ends it
		 * (a sick one's ends with its health) */
		if (m->degraded && !m->degraded_by_health) {
			m->degraded = 0;
			m->degraded_reason[0] = '\0';
			out->status = MS_STATUS_NOW;
		}
		break;
	case MS_IN_BROKER_DOWN:
		on_broker_down(m, out);
		break;
	case MS_IN_BROKER_FAILED:
		on_failure(m, ev, out, "");
		break;
	case MS_IN_HEALTHY:
		on_healthy(m, ev, out);
		break;
	case MS_IN_HEALTH_FAILING:
		m->health = MS_HEALTH_FAILING;
		snprintf(m->health_reason, sizeof(m->health_reason), "%s", ev->reason);
		later(out);
		break;
	case MS_IN_UNHEALTHY:
		on_unhealthy(m, ev, out);
		break;
	case MS_IN_ELIGIBLE:
	case MS_IN_INELIGIBLE:
		m->ineligible = ev->type == MS_IN_INELIGIBLE;
		snprintf(m->ineligible_reason, sizeof(m->ineligible_reason), "%s", m->ineligible ? ev->reason : "");
		out->status = MS_STATUS_NOW;
		break;
	case MS_IN_PAUSE:
		m->paused = 1;
		out->status = MS_STATUS_NOW;
		break;
	case MS_IN_RESUME:
		on_resume(m, ev, out);
		break;
	case MS_IN_STOP:
		on_stop(m, out);
		break;
	case MS_IN_RESIGN:
		on_resign_request(m, out);
		break;
	case MS_IN_SWITCHOVER:
		on_switchover(m, ev, out);
		break;
	case MS_IN_TIME:
	case MS_INPUT_COUNT:
		break;
	}
	/* a lease not renewed in time: the broker stops before anyone else
	 * may take the lead.  The backend did not say we lost the lead (it
	 * may renew again yet): it is told to give it up, once the broker is
	 * down, or it would hold the lead with no broker behind it */
	if (m->state == MS_MASTER && m->fence_until != 0 && now >= m->fence_until) {
		size_t at = out->ntransitions;

		m->fence_until = 0;
		/* the lead is forfeit at the deadline, whatever the backend holds */
		lead_lost(m, out, "lead not renewed by its deadline");
		hand_over(m, "", 0, out, "lead not renewed by its deadline: stopping the broker, then giving the lead up");
		if (at < out->ntransitions)
			out->transitions[at].forfeit = 1;
	}
	out->want_broker = mastership_wants_broker(m);
	out->broker_term = m->term;
	out->claimable = claimable(m);
	out->wake_at = mastership_wake_at(m);
}
