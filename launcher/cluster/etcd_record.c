/*
 * The cache's fields of a node's record (etcd_record.h).
 */
#include "etcd_record.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

/* A unicast IPv4 address a peer can connect to, as text: not "any", not
 * broadcast, not multicast.  Loopback passes: launchers on one host (a
 * test, or etcd on 127.0.0.1) reach each other there. */
static int usable(const char *s, struct in_addr *a)
{
	uint32_t h;

	if (s == NULL || strlen(s) >= INET_ADDRSTRLEN || inet_pton(AF_INET, s, a) != 1)
		return 0;
	h = ntohl(a->s_addr);
	return h != INADDR_ANY && h != INADDR_BROADCAST && !IN_MULTICAST(h);
}

int etcd_record_cache_host(const char *listener, const char *etcd_local, char *out, size_t len)
{
	struct in_addr a;
	const char *pick = usable(listener, &a) ? listener : usable(etcd_local, &a) ? etcd_local : NULL;

	if (pick == NULL || len < INET_ADDRSTRLEN)
		return -1;
	inet_ntop(AF_INET, &a, out, (socklen_t)len);
	return 0;
}

void etcd_record_put_cache(json_object *info, const char *addr, uint16_t port)
{
	json_object_object_add(info, "cache_addr", json_object_new_string(addr));
	json_object_object_add(info, "cache_port", json_object_new_int(port));
}

int etcd_record_cache(const char *record, struct sockaddr_in *addr, uint16_t *port)
{
	json_object *o = record != NULL ? json_tokener_parse(record) : NULL, *info, *a, *p;
	int has_a, has_p, rc = -1;
	int64_t n;

	memset(addr, 0, sizeof(*addr));
	*port = 0;
	if (o == NULL || !json_object_is_type(o, json_type_object))
		goto out;
	if (!json_object_object_get_ex(o, "info", &info)) {
		rc = 0; /* a record with no fields of the caller's */
		goto out;
	}
	if (!json_object_is_type(info, json_type_object))
		goto out;
	has_a = json_object_object_get_ex(info, "cache_addr", &a);
	has_p = json_object_object_get_ex(info, "cache_port", &p);
	if (!has_a && !has_p) {
		rc = 0;
		goto out;
	}
	if (!has_a || !has_p || !json_object_is_type(a, json_type_string) || !json_object_is_type(p, json_type_int))
		goto out;
	n = json_object_get_int64(p);
	/* a NUL inside the string would hide what follows it */
	if ((size_t)json_object_get_string_len(a) != strlen(json_object_get_string(a)))
		goto out;
	if (n < 1 || n > 65535 || !usable(json_object_get_string(a), &addr->sin_addr))
		goto out;
	addr->sin_family = AF_INET;
	*port = (uint16_t)n;
	rc = 1;
out:
	if (rc != 1)
		memset(addr, 0, sizeof(*addr));
	json_object_put(o);
	return rc;
}
