/*
 * The running daemon: the event loop that ties the transport, the election
 * and the broker supervisor together.
 */
#ifndef FL_DAEMON_H
#define FL_DAEMON_H

#include "config.h"

/* Runs until SIGTERM/SIGINT; returns the process exit code.  Takes c;
 * SIGHUP reloads from ini and overrides. */
int daemon_run(struct config *c, const char *ini, const struct strlist *overrides);

#endif
