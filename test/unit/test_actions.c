/* The daemon's actions (core/actions.c) against a fake broker supervisor.
 *
 * The real supervisor queues its reports; the daemon takes them after each
 * call into it and once per loop iteration (an ev_prepare watcher).  A
 * supervisor callback of its own (child exit, back-off timer) and another
 * watcher of the daemon can run in one loop iteration, before the prepare
 * watcher: these tests play such iterations and check the product's
 * promise, that a RESIGN never goes out while a broker process exists, and
 * that a broker given up on is not started again by a stale "wanted". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon_int.h"
#include "hook.h"
#include "clock.h"
#include "state.h"

/* ---- the fake supervisor: the real one's reports, no processes ---- */

static unsigned resign_sent_alive, resign_sent, starts;

static void fake_report(struct supervisor *s, enum sup_report_kind kind, const char *why)
{
	struct sup_report *r = &s->reports[(s->report_head + s->nreports++) % SUP_REPORTS_MAX];

	r->kind = kind;
	snprintf(r->why, sizeof(r->why), "%s", why != NULL ? why : "");
}

static int fake_alive(const struct supervisor *s)
{
	return s->state == SUP_STARTING || s->state == SUP_SERVING || s->state == SUP_STOPPING;
}

/* set_state() of supervisor.c: the same reports in the same order */
static void fake_set_state(struct supervisor *s, enum sup_state st)
{
	int was = fake_alive(s);

	if (s->state == st)
		return;
	s->state = st;
	if (!was && fake_alive(s))
		fake_report(s, SUP_REPORT_UP, NULL);
	else if (was && !fake_alive(s))
		fake_report(s, SUP_REPORT_DOWN, NULL);
	if (st == SUP_SERVING)
		fake_report(s, SUP_REPORT_READY, NULL);
	fake_report(s, SUP_REPORT_CHANGED, NULL);
}

static void fake_reconcile(struct supervisor *s)
{
	if (s->state == SUP_IDLE && s->want) {
		starts++;
		s->pid = 4242;
		fake_set_state(s, SUP_SERVING);
	} else if ((s->state == SUP_STARTING || s->state == SUP_SERVING) && !s->want) {
		fake_set_state(s, SUP_STOPPING);
	} else if (s->state == SUP_BACKOFF && !s->want) {
		fake_set_state(s, SUP_IDLE);
	}
}

void supervisor_want(struct supervisor *s, int up, uint64_t term)
{
	if (up && !s->want)
		s->term = term;
	s->want = up;
	fake_reconcile(s);
}

int restarts_asked;

int supervisor_alive(const struct supervisor *s)
{
	return s->state == SUP_STARTING || s->state == SUP_SERVING || s->state == SUP_STOPPING;
}

void supervisor_restart(struct supervisor *s, uint64_t term)
{
	restarts_asked++;
	s->term = term;
	s->want = 1;
}

/* the health checks: none configured in these tests */
void health_start(struct health *h, uint64_t term) { (void)h, (void)term; }
void health_stop(struct health *h) { (void)h; }
/* the heartbeat backend only here: no etcd */
void daemon_etcd_after(struct daemon *d) { (void)d; }
void daemon_etcd_mirror(struct daemon *d) { (void)d; }
void daemon_etcd_persist(struct daemon *d) { (void)d; }
void daemon_etcd_persisted(struct daemon *d, int ok, int err) { (void)d, (void)ok, (void)err; }
uint64_t daemon_renew_interval(const struct daemon *d) { return (uint64_t)d->cfg->cluster_delay; }
int health_take_report(struct health *h, struct health_report *r) { (void)h, (void)r; return 0; }
int health_take_precheck(struct health *h, int *ok, char *why, size_t len) { (void)h, (void)ok, (void)why, (void)len; return 0; }

int supervisor_take_report(struct supervisor *s, struct sup_report *r)
{
	if (s->nreports == 0)
		return 0;
	*r = s->reports[s->report_head];
	s->report_head = (s->report_head + 1) % SUP_REPORTS_MAX;
	s->nreports--;
	return 1;
}

/* child_cb: the broker we stopped is gone */
static void fake_child_stopped(struct supervisor *s)
{
	s->pid = 0;
	fake_set_state(s, SUP_IDLE);
	fake_reconcile(s);
}

/* child_cb: an unexpected death, restart later */
static void fake_child_crashed(struct supervisor *s)
{
	s->pid = 0;
	fake_set_state(s, SUP_BACKOFF);
}

/* child_cb: one death too many, given up */
static void fake_child_gave_up(struct supervisor *s)
{
	s->pid = 0;
	s->want = 0;
	fake_set_state(s, SUP_IDLE);
	fake_report(s, SUP_REPORT_FAILED, "broker failed 4 times within 60000 ms");
}

/* backoff_cb */
static void fake_backoff_fired(struct supervisor *s)
{
	fake_set_state(s, SUP_IDLE);
	fake_reconcile(s);
}

/* ---- the rest of the daemon, stubbed ---- */

uint64_t link_send(struct link *l, const struct heartbeat *hb, uint8_t type, const struct link_extra *x)
{
	const struct supervisor *s = (const struct supervisor *)((const char *)l - offsetof(struct daemon, link) +
								  offsetof(struct daemon, sup));
	(void)hb;
	(void)x;
	if (type == WIRE_RESIGN) {
		resign_sent++;
		if (fake_alive(s))
			resign_sent_alive++;
	}
	return clock_mono_ms();
}

/* the death notice as the daemon built and published it last */
static struct wire_msg notice_built;
static size_t notice_len;
static unsigned notices_built;

size_t link_build(struct link *l, struct wire_msg *m, const struct link_extra *x, uint8_t *buf, size_t len)
{
	(void)l, (void)x, (void)buf;
	notice_built = *m;
	notices_built++;
	return len > 200 ? 200 : len;
}

void fence_notice(struct fence *f, const void *buf, size_t len)
{
	f->notice_armed = buf != NULL && len > 0;
	notice_len = f->notice_armed ? len : 0;
}

int fence_ensure(struct fence *f, char *err, size_t len)
{
	(void)err, (void)len;
	f->pid = 1;
	f->releasing = 0;
	return 0;
}

void fence_release(struct fence *f)
{
	if (f->broker_fd < 0 && !f->notice_armed)
		f->releasing = 1;
}

void fence_publish(struct fence *f, uint64_t kill_at, uint64_t term_at, uint64_t renewed_at)
{
	(void)f, (void)kill_at, (void)term_at, (void)renewed_at;
}

int fence_hand(struct fence *f, int pidfd, pid_t pid)
{
	(void)f, (void)pidfd, (void)pid;
	return 0;
}

void fence_broker_gone(struct fence *f)
{
	(void)f;
}

int fence_take_fired(struct fence *f, struct fence_fired *out)
{
	(void)f, (void)out;
	return 0;
}

int hook_run(struct ev_loop *loop, const char *cmd, const struct hook_env *env, long timeout_ms)
{
	(void)loop, (void)cmd, (void)env, (void)timeout_ms;
	return 0;
}

void history_log_add(struct history_log *l, uint64_t term, enum history_kind kind, const char *node,
		     const char *fmt, ...)
{
	(void)l, (void)term, (void)kind, (void)node, (void)fmt;
}

void state_writer_post(struct state_writer *w, const struct hb_persist *rec)
{
	(void)w, (void)rec;
}

void status_publish(struct status_file *f, const struct report_view *v)
{
	(void)f, (void)v;
}

void status_text(const struct report_view *v, char *buf, size_t len)
{
	(void)v;
	snprintf(buf, len, "test");
}

void cache_set_term(struct cache *c, uint64_t term) { (void)c, (void)term; }
uint16_t cache_repl_port(const struct cache *c) { (void)c; return 0; }
uint64_t cache_digest(const struct cache *c) { (void)c; return 0; }
uint64_t cache_entries(const struct cache *c) { (void)c; return 0; }
const char *etcd_backend_endpoint(const struct etcd_backend *b) { (void)b; return ""; }

/* ---- the daemon under test ---- */

static void nop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;
}

/* reports_cb of daemon.c: the prepare watcher */
static void prepare(struct daemon *d)
{
	daemon_take_pending(d);
}

static struct daemon *master_with_broker(void)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct el_params p = {.position = 100, .delay_ms = 1000, .retries = 3};
	struct ms_params mp = {.handover_holddown_ms = 3000, .failed_holddown_ms = 60000};
	struct ms_event ev = {.type = MS_IN_LEADER, .term = 5};

	assert_non_null(d);
	resign_sent = resign_sent_alive = starts = 0;
	d->loop = ev_default_loop(0);
	d->cfg = config_new();
	assert_non_null(d->cfg);
	snprintf(d->node, sizeof(d->node), "n1");
	snprintf(p.self, sizeof(p.self), "n1");
	snprintf(mp.self, sizeof(mp.self), "n1");
	heartbeat_init(&d->hb, &p, clock_mono_ms());
	d->cl = heartbeat_cluster(&d->hb);
	mastership_init(&d->ms, &mp);
	ev_init(&d->wake_w, nop_cb);
	ev_init(&d->status_w, nop_cb);
	/* the election made us master (as election.c's promote() leaves it) */
	d->hb.el.state = EL_MASTER;
	d->hb.el.term = 5;
	d->hb.el.last_beat = clock_mono_ms();
	snprintf(d->hb.el.master, sizeof(d->hb.el.master), "n1");
	/* a live slave that may take over: a failure resigns (alone, the
	 * master would restart its broker, degraded: test_gave_up_no_standby) */
	d->hb.el.npeers = 1;
	snprintf(d->hb.el.peers[0].id, sizeof(d->hb.el.peers[0].id), "n2");
	d->hb.el.peers[0].role = EL_SLAVE;
	d->hb.el.peers[0].position = 101;
	d->hb.el.peers[0].last_seen = d->hb.el.peers[0].first_seen = clock_mono_ms();
	snprintf(ev.node, sizeof(ev.node), "n1");
	daemon_step(d, &ev);
	prepare(d);
	assert_int_equal(d->ms.state, MS_MASTER);
	assert_int_equal(d->sup.state, SUP_SERVING);
	assert_true(d->ms.broker_alive);
	assert_int_equal(starts, 1);
	return d;
}

static void done(struct daemon *d)
{
	ev_timer_stop(d->loop, &d->wake_w);
	ev_timer_stop(d->loop, &d->status_w);
	config_free(d->cfg);
	free(d);
}

/* hb_cb of daemon.c */
static void heartbeat_timer(struct daemon *d)
{
	heartbeat_beat(&d->hb, clock_mono_ms());
	daemon_step(d, NULL);
}

/* Reference: the reports taken before the next event, all is well. */
static void test_gave_up_alone(void **state)
{
	struct daemon *d = master_with_broker();

	(void)state;
	fake_child_gave_up(&d->sup);
	prepare(d);
	assert_int_equal(resign_sent_alive, 0);
	assert_int_equal(resign_sent, 1);
	assert_int_equal(starts, 1);
	assert_int_equal(d->ms.state, MS_RESIGNING);
	done(d);
}

/* No live slave may take over: the master stays, degraded, and its
 * broker starts again (after restart_max) instead of a resignation to
 * nobody. */
static void test_gave_up_no_standby(void **state)
{
	struct daemon *d = master_with_broker();

	(void)state;
	d->hb.el.peers[0].flags = WIRE_F_NOCLAIM | WIRE_F_INELIGIBLE; /* its precheck fails */
	restarts_asked = 0;
	fake_child_gave_up(&d->sup);
	prepare(d);
	assert_int_equal(resign_sent, 0);
	assert_int_equal(d->ms.state, MS_MASTER);
	assert_int_equal(restarts_asked, 1);
	assert_true(d->sup.want);
	assert_non_null(strstr(d->ms.reason, "degraded: no eligible healthy standby"));
	/* the fake supervisor started it at once: serving again, no longer
	 * degraded (it was a broker that kept failing, not a sick one) */
	assert_int_equal(starts, 2);
	assert_false(d->ms.degraded);
	done(d);
}

/* The supervisor gave up (child_cb) and, in the same loop iteration, the
 * heartbeat timer fires before the prepare watcher took the reports. */
static void test_gave_up_then_heartbeat_timer(void **state)
{
	struct daemon *d = master_with_broker();

	(void)state;
	fake_child_gave_up(&d->sup);
	heartbeat_timer(d);
	prepare(d);
	assert_int_equal(starts, 1);           /* given up: not started again */
	assert_int_equal(resign_sent_alive, 0); /* never a RESIGN next to a live broker */
	done(d);
}

/* The broker crashed and was restarted by the back-off timer; SIGTERM
 * arrives in the same loop iteration as the restart. */
static void test_restart_then_sigterm(void **state)
{
	struct daemon *d = master_with_broker();
	struct ms_event stop = {.type = MS_IN_STOP};

	(void)state;
	fake_child_crashed(&d->sup);
	prepare(d);
	assert_false(d->ms.broker_alive);
	fake_backoff_fired(&d->sup); /* a new broker process */
	daemon_step(d, &stop);
	prepare(d);
	assert_int_equal(resign_sent_alive, 0);
	/* and the launcher waits for that broker before it resigns */
	assert_int_equal(d->ms.state, MS_EXITING);
	fake_child_stopped(&d->sup);
	prepare(d);
	assert_int_equal(d->ms.state, MS_EXIT_RESIGNING);
	assert_int_equal(resign_sent, 1);
	assert_int_equal(resign_sent_alive, 0);
	done(d);
}

/* The death notice: while master, after every packet sent, the resignation
 * naming the slave that ranks first, as a live master would send it; gone
 * as soon as we are not master (here: SIGTERM, which resigns). */
static void test_death_notice(void **state)
{
	struct daemon *d = master_with_broker();
	struct ms_event stop = {.type = MS_IN_STOP};
	unsigned built;

	(void)state;
	notices_built = 0;
	heartbeat_timer(d);
	assert_true(notices_built >= 1);
	assert_true(d->fence.notice_armed);
	assert_int_equal(notice_len, 200);
	assert_int_equal(notice_built.type, WIRE_RESIGN);
	assert_string_equal(notice_built.node, "n1");
	assert_string_equal(notice_built.target, "n2");
	assert_int_equal(notice_built.term, 5);
	assert_int_equal(notice_built.role, EL_SLAVE);
	assert_true(notice_built.flags & WIRE_F_NOCLAIM);
	/* every beat again (a newer sequence number than the beat's) */
	built = notices_built;
	heartbeat_timer(d);
	assert_true(notices_built > built);
	/* the slave went quiet: the notice names nobody (the others claim) */
	d->hb.el.peers[0].flags = WIRE_F_NOCLAIM;
	heartbeat_timer(d);
	assert_string_equal(notice_built.target, "");
	assert_true(d->fence.notice_armed);
	/* a graceful stop: the broker stops, the launcher resigns itself */
	daemon_step(d, &stop);
	prepare(d);
	fake_child_stopped(&d->sup);
	prepare(d);
	assert_int_equal(resign_sent, 1);
	assert_int_not_equal(d->hb.el.state, EL_MASTER);
	assert_false(d->fence.notice_armed);
	assert_int_equal(notice_len, 0);
	done(d);
}

/* The same with a control "resign" in the iteration of the restart. */
static void test_restart_then_resign_request(void **state)
{
	struct daemon *d = master_with_broker();
	struct ms_event rq = {.type = MS_IN_RESIGN};

	(void)state;
	fake_child_crashed(&d->sup);
	prepare(d);
	fake_backoff_fired(&d->sup);
	daemon_step(d, &rq);
	prepare(d);
	assert_int_equal(resign_sent_alive, 0);
	done(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gave_up_alone),
		cmocka_unit_test(test_gave_up_then_heartbeat_timer),
		cmocka_unit_test(test_gave_up_no_standby),
		cmocka_unit_test(test_restart_then_sigterm),
		cmocka_unit_test(test_death_notice),
		cmocka_unit_test(test_restart_then_resign_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
