/*
 * The control socket's commands, answered.  What only reads (status, peers,
 * metrics, locate, cache) is answered here from a view of the daemon.  What
 * asks for a decision (resign, switchover) comes back to the caller as a
 * mastership event; the caller feeds it (node.h), carries out the result
 * and lets dispatch_answer() word the reply.  Nothing here decides.
 */
#ifndef FL_DISPATCH_H
#define FL_DISPATCH_H

#include "cache.h"
#include "control.h"
#include "ctlproto.h"
#include "node.h"
#include "report.h"

enum dispatch_result {
	DISPATCH_ERROR = -1,  /* answered: refused */
	DISPATCH_DONE = 0,    /* answered */
	DISPATCH_REQUEST = 1, /* *ev is for mastership; then dispatch_answer() */
	DISPATCH_PAUSE = 2,   /* pause or resume: the caller changes the cluster's record and answers */
};

enum dispatch_result dispatch_control(const struct report_view *v, const struct cache *cache,
				      const struct ctl_request *req, struct ctl_out *out, struct ms_event *ev);
/* The reply to a request, from what it came to; from is the node that was
 * master when it was asked.  0, or -1 when it was refused. */
int dispatch_answer(const struct report_view *v, const struct ctl_request *req, const struct node_out *res,
		    const char *from, struct ctl_out *out);
/* The metrics, for the control socket and the HTTP endpoint alike. */
void dispatch_metrics(const struct report_view *v, const struct cache *cache, struct ctl_out *out);

/* failoverctl history [--json] and GET /history: -1 (with the reason in
 * OUT) when memory runs out */
int dispatch_history(const struct report_view *v, int json, struct ctl_out *out);
/* SIGUSR1: the status and metrics, one log line each. */
void dispatch_dump(const struct report_view *v);

#endif
