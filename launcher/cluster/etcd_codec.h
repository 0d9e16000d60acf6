/*
 * etcd's v3 JSON gateway: the request bodies we send and the replies we
 * read, as pure functions (no I/O, no clock), so unit tests and a fuzzer
 * drive them directly.  etcd_client.c carries them over HTTP.
 *
 * What the gateway does that a reader would not guess:
 * - keys and values are base64 in JSON; 64-bit numbers (revisions, lease
 *   IDs, TTLs) are JSON strings;
 * - fields at their default value are left out: no "kvs" for an empty
 *   range, no "succeeded" for a failed transaction, no "type" for a PUT
 *   event, no "ID" for lease 0;
 * - a stream (watch) is one JSON object per line, each {"result": ...} or
 *   {"error": ...};
 * - an error is {"error": text, "code": gRPC code, "message": text}.
 *
 * Every parser takes untrusted text: it checks each type and returns -1
 * with why for anything it does not expect.  Allocations belong to the
 * caller and are freed with the matching _free.
 */
#ifndef FL_ETCD_CODEC_H
#define FL_ETCD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define ETCD_ERR_MAX 200

/* gRPC status codes the backend acts on (etcd's errors carry them) */
enum etcd_code {
	ETCD_OK = 0,
	ETCD_CANCELLED = 1,
	ETCD_INVALID_ARGUMENT = 3,
	ETCD_DEADLINE = 4,
	ETCD_NOT_FOUND = 5,       /* "requested lease not found" */
	ETCD_PERMISSION_DENIED = 7,
	ETCD_OUT_OF_RANGE = 11,   /* a watch or range below the compacted revision */
	ETCD_UNAVAILABLE = 14,    /* no leader, member stopping */
	ETCD_UNAUTHENTICATED = 16 /* token missing, invalid or expired */
};

struct etcd_kv {
	char *key;             /* NUL-terminated (keys we read are text) */
	unsigned char *value;  /* NUL-terminated too, vlen bytes before it */
	size_t vlen;
	int64_t create_revision, mod_revision, version, lease;
};

/* What every reply has: the cluster's revision when it answered, or the
 * error it gave instead. */
struct etcd_reply {
	int64_t revision;
	int code;              /* ETCD_OK, or the error's gRPC code */
	char error[ETCD_ERR_MAX];
};

/* ---- requests: a malloc'd NUL-terminated JSON text, NULL on no memory */

/* POST /v3/lease/grant */
char *etcd_req_lease_grant(int64_t ttl_s);
/* POST /v3/lease/keepalive, /v3/lease/revoke, /v3/lease/timetolive */
char *etcd_req_lease(int64_t id);
/* POST /v3/kv/range: one key, or with prefix set every key under it */
char *etcd_req_range(const char *key, int prefix);
/* POST /v3/kv/put: value bound to lease (0: none) */
char *etcd_req_put(const char *key, const void *value, size_t vlen, int64_t lease);
/*
 * POST /v3/kv/txn: key created with value and lease only if it does not
 * exist (create_revision 0), and, when guard is not NULL, only while
 * guard's mod_revision is still guard_mod (0: guard absent); otherwise the
 * reply holds the key as it is (etcd_parse_txn).
 */
char *etcd_req_create(const char *key, const void *value, size_t vlen, int64_t lease, const char *guard,
		      int64_t guard_mod);
/* POST /v3/kv/txn: key deleted only while its create_revision is still
 * create_rev (ours: a successor's key is never deleted) */
char *etcd_req_delete_own(const char *key, int64_t create_rev);
/* The same, with puts made in the same transaction (a resignation: our
 * record and the successor's name change with the key's delete, so no
 * one sees the key gone before them) */
struct etcd_put {
	const char *key;
	const void *value;
	size_t vlen;
	int64_t lease;
};
char *etcd_req_delete_own_put(const char *key, int64_t create_rev, const struct etcd_put *puts, size_t nputs);
/* POST /v3/kv/txn: key set to value only while its mod_revision is still
 * mod_rev (0: only if absent); no lease */
char *etcd_req_swap(const char *key, const void *value, size_t vlen, int64_t mod_rev);
/* POST /v3/watch: key (or every key under it, prefix), from revision
 * start_rev (0: from now), with each event's previous value */
char *etcd_req_watch(const char *key, int prefix, int64_t start_rev);
/* POST /v3/auth/authenticate */
char *etcd_req_auth(const char *user, const char *password);

/* ---- replies: 0, or -1 with why in err (a malformed reply) */

/* Any reply: header and error.  A well-formed error reply returns 0 with
 * r->code set. */
int etcd_parse_reply(const char *body, size_t len, struct etcd_reply *r, char *err, size_t errlen);
/* /v3/lease/grant: the lease's ID and the TTL etcd granted */
int etcd_parse_lease_grant(const char *body, size_t len, struct etcd_reply *r, int64_t *id, int64_t *ttl,
			   char *err, size_t errlen);
/* /v3/lease/keepalive (one result): the TTL left, 0 when the lease is
 * gone (etcd answers an expired lease with TTL 0, not an error) */
int etcd_parse_keepalive(const char *body, size_t len, struct etcd_reply *r, int64_t *ttl, char *err,
			 size_t errlen);

struct etcd_kvs {
	struct etcd_kv *v;
	size_t n;
};
void etcd_kvs_free(struct etcd_kvs *kvs);

/* /v3/kv/range */
int etcd_parse_range(const char *body, size_t len, struct etcd_reply *r, struct etcd_kvs *kvs, char *err,
		     size_t errlen);
/* /v3/kv/txn: succeeded, and what the failure branch read (kvs of its
 * range; empty on success or when the key is absent) */
int etcd_parse_txn(const char *body, size_t len, struct etcd_reply *r, int *succeeded, struct etcd_kvs *kvs,
		   char *err, size_t errlen);

enum etcd_event_type { ETCD_EV_PUT = 0, ETCD_EV_DELETE = 1 };

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;      /* a DELETE's kv has the key and mod_revision only */
	struct etcd_kv prev;    /* key NULL when etcd sent no prev_kv */
};

/* One line of the watch stream. */
struct etcd_watch_msg {
	struct etcd_reply r;
	int64_t watch_id;
	int created, canceled;
	int64_t compact_revision; /* canceled: history below it is gone */
	char cancel_reason[ETCD_ERR_MAX];
	struct etcd_event *ev;
	size_t nev;
};
int etcd_parse_watch(const char *line, size_t len, struct etcd_watch_msg *w, char *err, size_t errlen);
void etcd_watch_msg_free(struct etcd_watch_msg *w);

/* /v3/auth/authenticate: the token, for the Authorization header */
int etcd_parse_auth(const char *body, size_t len, struct etcd_reply *r, char *token, size_t tokenlen,
		    char *err, size_t errlen);

#endif
