/*
 * What the node says about itself outside the control socket: the status
 * file in state_dir (key=value lines, for scripts and the role sampler)
 * and the one line systemd shows (StatusText, READY=1 once joined).
 */
#ifndef FL_STATUS_H
#define FL_STATUS_H

#include <stddef.h>

#include "report.h"

struct status_file {
	char path[4200];
	char last[1024];  /* what the file holds now */
	int ready_sent;   /* READY=1 went out */
};

/* One line for a person: systemd's StatusText and the log. */
void status_text(const struct report_view *v, char *buf, size_t len);
/* Rewrites the file when its content changed (a new file, renamed). */
void status_write(struct status_file *f, const struct report_view *v);
/* The file and systemd's view, after any change.  READY=1 goes out once
 * the node has joined and knows its role. */
void status_publish(struct status_file *f, const struct report_view *v);

#endif
