/*
 * Control commands (see dispatch.h).
 */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void dispatch_metrics(const struct report_view *v, const struct cache *cache, struct ctl_out *out)
{
	report_metrics(v, out);
	cache_metrics(cache, out);
}

int dispatch_history(const struct report_view *v, int json, struct ctl_out *out)
{
	static const struct history empty; /* no history kept: none to show */
	struct buf b = {0};

	/* the newest entries that fit in a reply, whatever the reasons hold */
	if (history_format(v->history != NULL ? v->history : &empty, json, CONTROL_REPLY_MAX / 2, &b) != 0) {
		buf_free(&b);
		ctl_printf(out, "out of memory");
		return -1;
	}
	if (b.len > b.off)
		ctl_printf(out, "%.*s", (int)(b.len - b.off), (const char *)b.p + b.off);
	buf_free(&b);
	return 0;
}

enum dispatch_result dispatch_control(const struct report_view *v, const struct cache *cache,
				      const struct ctl_request *req, struct ctl_out *out, struct ms_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	switch (req->cmd) {
	case CTL_PING:
		ctl_printf(out, "pong\n");
		return DISPATCH_DONE;
	case CTL_STATUS:
		report_status(v, req->json, out);
		return DISPATCH_DONE;
	case CTL_PEERS:
		report_peers(v, req->json, out);
		return DISPATCH_DONE;
	case CTL_METRICS:
		dispatch_metrics(v, cache, out);
		return DISPATCH_DONE;
	case CTL_HISTORY:
		return dispatch_history(v, req->json, out) == 0 ? DISPATCH_DONE : DISPATCH_ERROR;
	case CTL_LOCATE:
		return report_locate(v, req->arg, out) == 0 ? DISPATCH_DONE : DISPATCH_ERROR;
	case CTL_PAUSE:
	case CTL_RESUME:
		return DISPATCH_PAUSE;
	case CTL_RESIGN:
		ev->type = MS_IN_RESIGN;
		return DISPATCH_REQUEST;
	case CTL_SWITCHOVER:
		ev->type = MS_IN_SWITCHOVER;
		if (req->arg != NULL)
			snprintf(ev->target, sizeof(ev->target), "%s", req->arg);
		return DISPATCH_REQUEST;
	case CTL_CACHE:
		if (strcmp(req->arg, "address") == 0 && req->argc == 1) {
			ctl_printf(out, "%s\n", cache_address(cache));
			return DISPATCH_DONE;
		}
		if (strcmp(req->arg, "list") == 0 && req->argc == 1) {
			cache_list(cache, out);
			return DISPATCH_DONE;
		}
		ctl_printf(out, "cache takes address or list here (failoverctl speaks the memcached protocol for "
				"get, put and del)");
		return DISPATCH_ERROR;
	}
	ctl_printf(out, "unhandled command");
	return DISPATCH_ERROR;
}

int dispatch_answer(const struct report_view *v, const struct ctl_request *req, const struct node_out *res,
		    const char *from, struct ctl_out *out)
{
	const struct election *e = v->el;

	if (req->cmd == CTL_RESIGN) {
		if (res->refused) {
			if (e->state == EL_MASTER)
				ctl_printf(out, "%s", res->why);
			else
				ctl_printf(out, "this node is %s, not master", election_state_name(e->state));
			return -1;
		}
		log_info("resign requested on the control socket");
		ctl_printf(out, "resigning: stopping the broker, then handing over\n");
		return 0;
	}
	if (res->refused) {
		if (res->refused_by_cluster)
			ctl_printf(out, "switchover refused: %s", res->why);
		else
			ctl_printf(out, "%s", res->why);
		return -1;
	}
	log_info("switchover to %s requested on the control socket", e->handover_target);
	ctl_printf(out, "switchover: %s hands over to %s\n", from, e->handover_target);
	return 0;
}

void dispatch_dump(const struct report_view *v)
{
	struct ctl_out o = {0};
	char *line, *save = NULL;

	report_status(v, 0, &o);
	report_metrics(v, &o);
	log_info("SIGUSR1: state follows");
	for (line = o.p ? strtok_r(o.p, "\n", &save) : NULL; line != NULL; line = strtok_r(NULL, "\n", &save))
		if (line[0] != '#')
			log_info("state: %s", line);
	free(o.p);
}
