/*
 * What every node of a cluster must agree on, and what the timing settings
 * leave a master on a noisy host.  Pure.
 */
#ifndef FL_CLUSTER_SETTINGS_H
#define FL_CLUSTER_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* The digest of the cluster-wide settings heartbeats carry (wire.h):
 * delay, retries, expected_nodes, the protocol version, the signing key. */
uint64_t settings_cluster_digest(const struct config *c);
/* How late a master's heartbeat may go out before it steps down (ms):
 * election_beat_limit() minus one interval. */
uint64_t settings_master_margin_ms(const struct config *c);
/* 1 with why filled when timers late by noise_us (measured) come within a
 * quarter of that margin: a healthy master would step down. */
int settings_noise_check(const struct config *c, uint64_t noise_us, char *why, size_t len);

#endif
