/*
 * The running daemon: the event loop that ties the transport, the election
 * and the broker supervisor together.
 */
#ifndef FL_DAEMON_H
#define FL_DAEMON_H

#include "config.h"

/* Runs until SIGTERM/SIGINT; returns the process exit code. */
int daemon_run(const struct config *c);

#endif
