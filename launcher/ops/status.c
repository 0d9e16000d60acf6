/*
 * The status file and systemd's status line (see status.h).
 */
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "state.h"
#include "wire.h"

void status_write(struct status_file *f, const struct report_view *v)
{
	char buf[1024];
	const struct election *e = v->el;
	const struct supervisor *s = v->sup;
	int n = snprintf(buf, sizeof(buf),
			 "node=%s\nrole=%s\nterm=%llu\nmaster=%s\npeers=%zu\nquorum=%s\npid=%ld\npromotions=%llu\n"
			 "demotions=%llu\nbroker=%s\nbroker_pid=%ld\nbroker_starts=%llu\nbroker_restarts=%llu\n"
			 "broker_last_exit=%s\nprotocol=%d\nnewer_peers=%zu\nconflict=%s\nhealth=%s\neligible=%s\n"
			 "degraded=%s\npaused=%s\npause_version=%llu\npause_by=%s\nwarm_pid=%ld\nwarm_starts=%llu\n",
			 v->node, v->stopped ? "stopped" : election_state_name(e->state),
			 (unsigned long long)(e->state == EL_MASTER || e->master[0] ? e->term : e->max_term), e->master,
			 election_live(e, v->now) - 1, election_quorum(e, v->now) ? "yes" : "no", (long)getpid(),
			 (unsigned long long)e->promotions, (unsigned long long)e->demotions,
			 supervisor_state_name(s->state), (long)s->pid, (unsigned long long)s->starts,
			 (unsigned long long)s->restarts, s->last_exit, WIRE_VERSION, election_newer_live(e, v->now),
			 report_conflict(v) ? "node-id" : "", health_state_name(v->health->ev.state),
			 v->ms->ineligible ? "no" : "yes", v->ms->degraded ? "yes" : "no", report_paused(v) ? "yes" : "no",
			 (unsigned long long)(v->pause != NULL ? v->pause->version : 0), v->pause != NULL ? v->pause->by : "",
			 (long)s->warm.pid, (unsigned long long)s->warm_starts);

	if (n < 0 || (size_t)n >= sizeof(buf) || strcmp(buf, f->last) == 0)
		return;
	if (state_write_file(f->path, buf, (size_t)n, 0) != 0) {
		log_warn("cannot write %s: %s", f->path, strerror(errno));
		f->last[0] = '\0';
		return;
	}
	memcpy(f->last, buf, (size_t)n + 1);
}

static void role_text(const struct report_view *v, char *buf, size_t len);

/* What the role says, then maintenance mode: systemd's STATUS and the
 * status line say "paused" on every node. */
void status_text(const struct report_view *v, char *buf, size_t len)
{
	size_t n;

	role_text(v, buf, len);
	if (!report_paused(v) || report_stopping(v))
		return;
	n = strlen(buf);
	if (v->pause_unknown)
		snprintf(buf + n, len - n, "; paused (the pause record did not read)");
	else
		snprintf(buf + n, len - n, "; paused by %s (version %llu)", v->pause->by,
			 (unsigned long long)v->pause->version);
}

static void role_text(const struct report_view *v, char *buf, size_t len)
{
	const struct election *e = v->el;
	const struct supervisor *s = v->sup;

	if (report_stopping(v)) {
		if (supervisor_alive(s))
			snprintf(buf, len, "stopping; broker pid %ld stopping", (long)s->pid);
		else
			snprintf(buf, len, "stopping");
		return;
	}
	switch (e->state) {
	case EL_LISTENING:
		if (v->backend_down != NULL)
			snprintf(buf, len, "listening; %s", v->backend_down);
		else
			snprintf(buf, len, "listening; joining cluster %s", v->cluster_name);
		return;
	case EL_CANDIDATE:
		snprintf(buf, len, "candidate; claiming term %llu", (unsigned long long)e->claim_term);
		return;
	case EL_SLAVE:
		if (e->master[0])
			snprintf(buf, len, "slave; master is %s (term %llu)%s%.80s", e->master, (unsigned long long)e->term,
				 v->ms->ineligible ? "; not eligible: " : "", v->ms->ineligible ? v->ms->ineligible_reason : "");
		else
			snprintf(buf, len, "slave; no master%s%.100s", v->ms->ineligible ? "; not eligible: " : "",
				 v->ms->ineligible ? v->ms->ineligible_reason : "");
		return;
	case EL_MASTER:
		break;
	}
	if (v->ms->state == MS_HANDING_OVER) {
		snprintf(buf, len, "master; handing over, broker pid %ld stopping", (long)s->pid);
		return;
	}
	switch (s->state) {
	case SUP_STARTING:
		snprintf(buf, len, "master; broker pid %ld starting", (long)s->pid);
		break;
	case SUP_SERVING: {
		char h[HEALTH_REASON_MAX + 64] = "";
		if (v->ms->degraded)
			snprintf(h, sizeof(h), "; %.150s", v->ms->degraded_reason);
		else if (v->health->ev.state == HEALTH_FAILING || v->health->ev.state == HEALTH_BAD)
			health_describe(v->health, h + 2, sizeof(h) - 2), h[0] = ';', h[1] = ' ';
		if (v->failsafe_active && h[0] == '\0')
			snprintf(h, sizeof(h), "; failsafe: etcd does not answer, every member hears us");
		snprintf(buf, len, "master; broker pid %ld serving%s", (long)s->pid, h);
		break;
	}
	case SUP_STOPPING:
		snprintf(buf, len, "master; broker pid %ld stopping", (long)s->pid);
		break;
	case SUP_BACKOFF:
		snprintf(buf, len, "master; broker restarting (%u/%u)", supervisor_recent_crashes(s, v->now),
			 s->p.max_restarts);
		break;
	case SUP_IDLE:
		if (s->held_down)
			snprintf(buf, len, "master; broker down: it exited (%.60s) and stays down until resume", s->last_exit);
		else
			snprintf(buf, len, "master; broker down");
		break;
	}
}

void status_publish(struct status_file *f, const struct report_view *v)
{
	char text[256];
	const struct election *e = v->el;

	status_write(f, v);
	status_text(v, text, sizeof(text));
	if (!f->ready_sent && e->state != EL_LISTENING && e->state != EL_CANDIDATE) {
		f->ready_sent = 1;
		notify_ready(text);
	} else {
		notify_status(text);
	}
}
