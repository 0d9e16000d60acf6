/*
 * The cache's fields of a node's record in etcd (P/nodes/ID, "info"): where
 * peers reach this node's replication port when cluster.backend = etcd and
 * no heartbeats carry it.  Pure: no I/O, no clock.
 *
 *   "info": {..., "cache_addr": "10.0.0.1", "cache_port": 2710}
 *
 * A node without a cache writes neither field.
 */
#ifndef FL_ETCD_RECORD_H
#define FL_ETCD_RECORD_H

#include <json-c/json.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* The address to advertise: the replication listener's (listener) when it
 * is a specific one, else etcd_local, this end of the connection to etcd
 * (the address on the network the nodes share).  0 with it in out; -1 when
 * neither is a usable IPv4 address (nothing to advertise yet). */
int etcd_record_cache_host(const char *listener, const char *etcd_local, char *out, size_t len);

/* Adds the two fields to info (a JSON object). */
void etcd_record_put_cache(json_object *info, const char *addr, uint16_t port);

/* A peer's cache from its record's text (etcd_elect's record, its fields in
 * "info"): 1 with the address in *addr (AF_INET, port 0) and the port in
 * *port; 0 when the record has no cache fields (a node without a cache);
 * -1 when they are unusable (not JSON, wrong types, a port out of range, an
 * address that is not a unicast IPv4 address). */
int etcd_record_cache(const char *record, struct sockaddr_in *addr, uint16_t *port);

#endif
