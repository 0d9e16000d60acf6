/*
 * Maintenance mode in the daemon (pause.h holds the record and its rules).
 *
 * The record this node knows is kept in state_dir/pause, written (atomic,
 * fsync'd) before a change is acted on, and read at start: a node
 * restarted during maintenance comes up paused.  With the heartbeat
 * backend every heartbeat carries it and every accepted heartbeat's is
 * merged; with etcd, etcd's key is the record (etcd_node.c).  The write
 * is made on the event loop, not by the election's writer thread: a pause
 * changes a few times a maintenance, and it must be on disk before it is
 * acted on.  A state directory that hangs would stall the loop for that
 * write (the fence then stops a master's broker, as for any stall).
 *
 * Paused, this node tells mastership (MS_IN_PAUSE: no claim, no handover,
 * no resign, a master keeps its lead whatever its broker does) and the
 * supervisor (supervisor_hold: a broker that exits stays down).  The fence
 * and the lease are not told: a master that cannot renew its deadline
 * still has its broker stopped (fencing wins).
 *
 * A state file that does not read (corrupt, cut) leaves this node paused
 * with no version of its own ("unknown"): it does not know whether the
 * cluster is in maintenance, and the safe guess is the one that starts
 * and stops nothing.  Any record a peer or etcd gives (version 1 or more)
 * or an operator's pause or resume ends it; a version-0 record it sends
 * meanwhile loses to every other, so the guess never spreads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon_int.h"
#include "file.h"
#include "log.h"
#include "state.h"

int daemon_paused(const struct daemon *d)
{
	return d->pause.paused || d->pause_unknown;
}

static void pause_path(const struct daemon *d, char *path, size_t len)
{
	snprintf(path, len, "%s/pause", d->cfg->cluster_state_dir);
}

/* Mastership and the supervisor told what the record now says. */
static void apply(struct daemon *d)
{
	int on = daemon_paused(d);
	struct ms_event ev = {.type = on ? MS_IN_PAUSE : MS_IN_RESUME};

	if (on == d->pause_acted)
		return;
	d->pause_acted = on;
	/* a broker that exits from here on stays down */
	if (on) {
		supervisor_hold(&d->sup, 1);
		daemon_step(d, &ev);
		return;
	}
	/* mastership first: at resume it may give the lead away rather than
	 * start a broker held down (a node that may not lead); then the
	 * supervisor starts one still wanted */
	daemon_step(d, &ev);
	supervisor_hold(&d->sup, 0);
	daemon_take_pending(d);
}

/* A new record: kept, logged, put in the history, then acted on. */
static void changed(struct daemon *d, const char *how)
{
	char path[4200], text[PAUSE_TEXT_MAX + 1];
	size_t n = pause_format(&d->pause, text, sizeof(text) - 1);

	text[n++] = '\n';
	pause_path(d, path, sizeof(path));
	if (state_write_file(path, text, n, 1) != 0)
		log_err("maintenance: cannot keep the pause record in %s: %s (acting on it anyway; a restart would "
			"learn it from the cluster)", path, strerror(errno));
	if (d->pause.paused)
		log_warn("maintenance: paused by %s (version %llu, %s): no node promotes, demotes or restarts a broker "
			 "until resume; the fence still acts", d->pause.by, (unsigned long long)d->pause.version, how);
	else
		log_info("maintenance: resumed by %s (version %llu, %s)", d->pause.by,
			 (unsigned long long)d->pause.version, how);
	history_log_add(d->history, d->hb.el.term, HISTORY_PAUSE, d->node, "%s by %s (version %llu, %s)",
			d->pause.paused ? "paused" : "resumed", d->pause.by, (unsigned long long)d->pause.version, how);
	apply(d);
	daemon_publish(d);
}

void daemon_pause_start(struct daemon *d)
{
	char path[4200], *text = NULL;
	size_t len = 0;

	memset(&d->pause, 0, sizeof(d->pause));
	d->pause_unknown = 0;
	d->pause_acted = 0;
	pause_path(d, path, sizeof(path));
	if (file_read_all(path, &text, &len) != 0) {
		if (errno != ENOENT) {
			log_err("maintenance: cannot read %s: %s; staying paused until the cluster or an operator "
				"says otherwise", path, strerror(errno));
			d->pause_unknown = 1;
		}
	} else if (pause_parse(text, len, &d->pause) != 0) {
		log_err("maintenance: %s does not hold a valid pause record; staying paused until the cluster or an "
			"operator says otherwise (failoverctl resume)", path);
		d->pause_unknown = 1;
	}
	free(text);
	if (d->pause.paused)
		log_warn("maintenance: paused by %s (version %llu, kept in %s): this node starts paused", d->pause.by,
			 (unsigned long long)d->pause.version, path);
	apply(d);
}

void daemon_pause_heard(struct daemon *d, const struct pause_rec *r, const char *from)
{
	char how[80];

	snprintf(how, sizeof(how), "heard from %s", from);
	if (d->pause_unknown && r->version >= 1 && pause_valid(r)) {
		/* the cluster's word ends our guess, whatever it says */
		d->pause = *r;
		d->pause_unknown = 0;
		changed(d, how);
		return;
	}
	if (pause_merge(&d->pause, r))
		changed(d, how);
}

void daemon_pause_packet(struct daemon *d, const struct wire_msg *m)
{
	struct pause_rec r;

	if (m->type != WIRE_HEARTBEAT || pause_decode(m->payload, m->payload_len, &r) != PAUSE_DEC_OK)
		return;
	daemon_pause_heard(d, &r, m->node);
}

int daemon_pause_request(struct daemon *d, int paused, struct ctl_out *out)
{
	struct pause_rec r;
	char older[200];
	size_t n;

	if (paused && d->pause.paused && !d->pause_unknown) {
		ctl_printf(out, "already paused by %s (version %llu)\n", d->pause.by, (unsigned long long)d->pause.version);
		return 0;
	}
	if (!paused && !daemon_paused(d)) {
		ctl_printf(out, "not paused (version %llu)\n", (unsigned long long)d->pause.version);
		return 0;
	}
	/* a release without maintenance mode would still claim and fail over */
	n = d->etcd != NULL ? etcd_elect_pause_unaware(&d->etcd->el, older, sizeof(older))
			    : pause_unaware_peers(&d->hb.el, clock_mono_ms(), older, sizeof(older));
	if (paused && n > 0) {
		ctl_printf(out, "pause refused: %zu live peer%s run%s a release without maintenance mode and would still "
				"fail over: %s; upgrade %s first", n, n == 1 ? "" : "s", n == 1 ? "s" : "", older,
			   n == 1 ? "it" : "them");
		return -1;
	}
	if (pause_next(&d->pause, paused, d->node, &r) != 0) {
		ctl_printf(out, "the pause record's version is at its maximum (%llu): nothing can follow it",
			   (unsigned long long)d->pause.version);
		return -1;
	}
	if (d->etcd != NULL)
		return daemon_etcd_pause(d, &r, out);
	d->pause = r;
	d->pause_unknown = 0;
	changed(d, "asked here");
	daemon_send(d, WIRE_HEARTBEAT); /* the others hear it now, not at the next beat */
	if (paused)
		ctl_printf(out, "paused (version %llu): no node promotes, demotes or restarts a broker until resume; the "
				"fence still acts\n", (unsigned long long)r.version);
	else
		ctl_printf(out, "resumed (version %llu)\n", (unsigned long long)r.version);
	return 0;
}
