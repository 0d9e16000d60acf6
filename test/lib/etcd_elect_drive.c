/*
 * One node of the etcd backend against a real etcd, the daemon's way:
 * etcd_backend (etcd_elect, the client, the codec) feeding mastership
 * through node_feed, with a stand-in broker that is up the moment it is
 * wanted and down the moment it is not.  Prints what happens, one line
 * each, with monotonic milliseconds:
 *
 *   <ms> leader <node> term <T>     mastership's leader changed
 *   <ms> broker up term <T>         the broker is wanted (we lead)
 *   <ms> broker down                no longer wanted
 *   <ms> fence <deadline - now>     a renewed deadline while leading
 *   <ms> exit
 *
 * The broker is also stopped at the fence deadline if none came since
 * (the fence's job in the daemon).  SIGTERM: stop (resign, exit); SIGUSR1:
 * resign.  etcd_elect.bats runs a few of these in the lab.
 *
 *   etcd_elect_drive NODE POSITION TTL_S PREFIX ENDPOINT...
 */
#include <ev.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "etcd_backend.h"
#include "log.h"
#include "mastership.h"
#include "node.h"

static struct ev_loop *loop;
static struct etcd_backend eb;
static struct cluster cl;
static struct mastership ms;
static int broker;
static char last_leader[MS_ID_MAX + 1];
static uint64_t last_term, fence_at;
static ev_timer fence_w;

static uint64_t t0;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	printf("%" PRIu64 " ", clock_mono_ms() - t0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void step(const struct ms_event *ev);

/* The broker stand-in: up or down at once, reported back. */
static void carry_out(struct node_out *o)
{
	struct ms_event ev = {0};

	if (strcmp(ms.leader, last_leader) != 0 || ms.term != last_term) {
		snprintf(last_leader, sizeof(last_leader), "%s", ms.leader);
		last_term = ms.term;
		say("leader %s term %" PRIu64, ms.leader[0] ? ms.leader : "-", ms.term);
	}
	if (mastership_fence(&ms) != fence_at && o->want_broker) {
		fence_at = mastership_fence(&ms);
		if (fence_at != 0) {
			uint64_t now = clock_mono_ms();
			say("fence %" PRId64, (int64_t)(fence_at - now));
			ev_timer_stop(loop, &fence_w);
			ev_timer_set(&fence_w, fence_at > now ? (double)(fence_at - now) / 1000.0 : 0., 0.);
			ev_timer_start(loop, &fence_w);
		}
	}
	if (o->want_broker && !broker) {
		broker = 1;
		say("broker up term %" PRIu64, o->broker_term);
		ev.type = MS_IN_BROKER_UP;
		step(&ev);
		ev.type = MS_IN_BROKER_READY;
		step(&ev);
	} else if (!o->want_broker && broker) {
		broker = 0;
		ev_timer_stop(loop, &fence_w);
		fence_at = 0;
		say("broker down");
		ev.type = MS_IN_BROKER_DOWN;
		step(&ev);
	}
	if (o->exit) {
		say("exit");
		ev_break(loop, EVBREAK_ALL);
	}
}

static void step(const struct ms_event *ev)
{
	struct node_out o;

	node_out_clear(&o);
	node_feed(&ms, &cl, ev, clock_mono_ms(), &o);
	carry_out(&o);
	etcd_backend_pump(&eb);
}

static void changed(void *ud)
{
	(void)ud;
	step(NULL);
}

static void fence_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct ms_event ev = {.type = MS_IN_TIME};

	(void)l;
	(void)w;
	(void)revents;
	if (broker && clock_mono_ms() >= fence_at) {
		/* the fence: the broker is killed at its deadline */
		broker = 0;
		fence_at = 0;
		say("broker down (fence)");
		ev.type = MS_IN_BROKER_DOWN;
	}
	step(&ev);
}

static void sig_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	struct ms_event ev = {.type = w->signum == SIGTERM ? MS_IN_STOP : MS_IN_RESIGN};

	(void)l;
	(void)revents;
	step(&ev);
}

int main(int argc, char **argv)
{
	struct etcd_client_params cp = {.connect_timeout_ms = 500};
	struct ee_params ep;
	struct ms_params mp;
	ev_signal term_w, usr1_w;

	if (argc < 6 || (size_t)argc - 5 > ETCD_ENDPOINTS_MAX) {
		fprintf(stderr, "usage: etcd_elect_drive NODE POSITION TTL_S PREFIX ENDPOINT...\n");
		return 2;
	}
	log_init("etcd_elect_drive", LOG_LEVEL_INFO, LOG_JOURNAL_NO);
	t0 = clock_mono_ms();
	for (int i = 5; i < argc; i++)
		cp.endpoints[cp.nendpoints++] = argv[i];
	memset(&ep, 0, sizeof(ep));
	snprintf(ep.self, sizeof(ep.self), "%s", argv[1]);
	ep.position = (uint32_t)atoi(argv[2]);
	ep.ttl_s = (uint64_t)atoi(argv[3]);
	snprintf(ep.prefix, sizeof(ep.prefix), "%s", argv[4]);
	ep.margin_ms = 500;
	ep.request_ms = 1000;
	ep.rank_step_ms = 200;
	ep.settle_ms = 600;
	ep.initial_term = getenv("INITIAL_TERM") ? strtoull(getenv("INITIAL_TERM"), NULL, 10) : 0;
	memset(&mp, 0, sizeof(mp));
	snprintf(mp.self, sizeof(mp.self), "%s", argv[1]);
	mp.handover_holddown_ms = ep.ttl_s * 1000;
	mp.failed_holddown_ms = 10 * ep.ttl_s * 1000;
	mastership_init(&ms, &mp);
	loop = EV_DEFAULT;
	if (etcd_backend_init(&eb, loop, &cp, &ep, changed, NULL) != 0)
		return 2;
	cl = etcd_backend_cluster(&eb);
	etcd_elect_set_record(&eb.el, "{\"role\":\"starting\"}");
	ev_init(&fence_w, fence_cb);
	ev_signal_init(&term_w, sig_cb, SIGTERM);
	ev_signal_start(loop, &term_w);
	ev_signal_init(&usr1_w, sig_cb, SIGUSR1);
	ev_signal_start(loop, &usr1_w);
	say("started %s", argv[1]);
	step(NULL);
	ev_run(loop, 0);
	etcd_backend_close(&eb);
	return 0;
}
