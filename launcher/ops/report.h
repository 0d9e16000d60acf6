/*
 * What the control socket and SIGUSR1 show: status, peers, the client URL
 * of the master, Prometheus metrics.  Formats a read-only view of the
 * daemon's state; no I/O.
 */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include <stdint.h>

#include "control.h"
#include "election.h"
#include "filter.h"
#include "health.h"
#include "history.h"
#include "mastership.h"
#include "pause.h"
#include "supervisor.h"

/* With cluster.backend = etcd: what an operator needs to know of etcd
 * (etcd_backend.h), in place of the heartbeat figures. */
struct report_etcd {
	const char *endpoint;              /* the one in use */
	const char *last_error;            /* "" while the last request succeeded */
	const char *cache_addr;            /* what our record advertises for the cache ("": none) */
	uint64_t requests_sent, requests_failed;
	uint64_t last_ok_at;               /* monotonic ms etcd last answered; 0: never */
	int64_t lease_ttl_s;               /* as granted; 0: no lease */
};

struct report_view {
	const char *node;
	const char *cluster_name;
	const char *broker_url;            /* the URL this node advertises, or "" */
	const struct election *el;
	const struct mastership *ms;
	const struct supervisor *sup;
	const struct health *health;       /* the broker's checks, the precheck */
	const struct filter *filter;       /* packets received and dropped */
	uint64_t now, started_at;          /* monotonic ms */
	int stopped;                       /* the loop has ended */
	const char *status_text;
	/* why the cluster's backend is out of reach (etcd silent past a
	 * lease), or NULL: what a listening node is waiting for */
	const char *backend_down;
	uint64_t sent, send_errors;
	double hb_jitter_last_ms, hb_jitter_max_ms;
	uint64_t hb_count;
	unsigned long long ctl_served, ctl_refused;
	int http_on;                       /* http.listen is set */
	unsigned long long http_served;    /* HTTP requests answered, any status */
	uint64_t cache_entries;
	uint64_t log_dropped_own, log_dropped_broker; /* output lines (log_dropped) */
	uint64_t log_queued;               /* output bytes waiting */
	/* another process uses our node id and we hold (EL_HOLD_DUPLICATE):
	 * its address, and when it was last heard (monotonic ms) */
	const char *conflict_with;
	uint64_t conflict_heard_at;
	int etcd_backend;                  /* cluster.backend = etcd: etcd says who leads */
	int heartbeats;                    /* the heartbeat socket runs: its packets' figures mean something */
	struct report_etcd etcd;
	const struct history *history;     /* the failover history, or NULL */
	/* etcd_failsafe: this master serves past its lease on its members'
	 * word (etcd does not answer) */
	int failsafe_active;
	/* maintenance mode: the record (NULL: none), whether this node only
	 * guesses it (its state file did not read), and the live peers that
	 * run a release without it */
	const struct pause_rec *pause;
	int pause_unknown;
	size_t pause_older;
	char pause_older_ids[160];
};

/* Paused (maintenance), as this node knows it. */
int report_paused(const struct report_view *v);

/* The node-id conflict in *v: 1 while this node holds for it. */
int report_conflict(const struct report_view *v);

/* SIGTERM was received: the node is on its way out. */
int report_stopping(const struct report_view *v);

void report_status(const struct report_view *v, int json, struct ctl_out *o);
void report_peers(const struct report_view *v, int json, struct ctl_out *o);
void report_metrics(const struct report_view *v, struct ctl_out *o);
/* The master's URL, or with uri "failover"/"masterslave" a client URI
 * listing every node's URL, the master first.  -1 with a reason when
 * there is no master or it advertises no URL. */
int report_locate(const struct report_view *v, const char *uri, struct ctl_out *o);

#endif
