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

/* With cluster.backend = etcd (etcd_node.c): the password file private
 * and not empty, the TLS files readable; 0, or -1 with why.  -n and the
 * start check the same. */
int daemon_etcd_check_files(const struct config *c, char *err, size_t len);

#endif
