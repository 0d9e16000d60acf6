/*
 * The etcd backend's decisions: who leads, from a leader key in etcd.
 *
 * Pure like election.c: no I/O, no clock, no JSON.  It asks for requests
 * (struct ee_req, carried to etcd by the caller through etcd_client.c and
 * etcd_codec.c) and is told their replies and the watch's events; it says
 * what it learns as mastership events through cluster_ops (cluster.h).
 * The simulator answers its requests with a fake etcd, so the daemon's own
 * decisions are what the tests run.
 *
 * The keys, under the cluster's prefix P:
 *   P/leader       who leads: {"node","base"}, bound to the leader's lease;
 *                  created only if absent (a transaction); its term is
 *                  base + create_revision, unique and increasing
 *   P/term_base    the base every new leader key uses: raised (never
 *                  lowered, a compare-and-swap) by a node whose own term,
 *                  kept from the heartbeat backend or an older etcd, is
 *                  higher, so terms never go back when a cluster moves to
 *                  a fresh etcd
 *   P/nodes/ID     each node's record, bound to its own lease (ee_record)
 *   P/next         a resignation's successor: only it campaigns while the
 *                  key lives (it has a lease of the holddown)
 *   P/ask          a follower's switchover request to the leader
 *   P/pause        maintenance mode: the pause record's text (pause.h), no
 *                  lease; written by a compare-and-swap on the mod_revision
 *                  the writer last saw (no update is lost), read at start
 *                  and watched like every key; the daemon merges it
 *   P/failsafe     failsafe mode: {"leader","members":[ids]}, no lease, the
 *                  nodes the leader keeps hearing directly; a node not in
 *                  it does not campaign (it may be cut off from a master
 *                  that serves on because all members hear it)
 *
 * Leading: the leader keeps its lease alive every ttl/3; its fence deadline
 * is the send time of the last keep-alive that etcd answered, plus the
 * granted TTL, minus the margin: it stops its broker before its key can
 * expire.  A keep-alive that finds the lease gone, or a watch event that
 * shows the key deleted or replaced, ends the lead at once.
 * Following: a slave watches P; when the key goes, the live records that
 * may lead campaign in rank order (position, node id), each one step
 * later than the one before it.
 */
#ifndef FL_ETCD_ELECT_H
#define FL_ETCD_ELECT_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "mastership.h"

#define EE_KEY_MAX 320
#define EE_VALUE_MAX 1024
#define EE_NODES_MAX 32
#define EE_REQ_QUEUE 16
#define EE_EVENTS 64

struct ee_params {
	char self[MS_ID_MAX + 1];
	char prefix[EE_KEY_MAX - 80]; /* "/failover-launcher/<cluster>", no trailing slash */
	uint32_t position;
	uint64_t ttl_s;         /* asked for; etcd may grant another (ee_granted) */
	uint64_t margin_ms;     /* the fence deadline is this much before the lease's end */
	uint64_t request_ms;    /* a request without an answer by then has failed */
	uint64_t rank_step_ms;  /* between one campaigner and the next in rank */
	uint64_t settle_ms;     /* no campaign this long after the first read (peers started
				 * together put their records first: the rank holds from the start) */
	uint64_t initial_term;  /* the highest term this node knows (its state file) */
	int failsafe;           /* cluster.etcd_failsafe: P/failsafe kept, the direct hearing
				 * (failsafe.h) may carry a lead past its lease */
	/* this node's record, JSON text (the caller's: role, broker URL, cache
	 * port, health, eligibility, protocol version) */
};

enum ee_req_type {
	EE_GRANT,      /* lease grant: ttl */
	EE_KEEPALIVE,  /* lease: lease */
	EE_REVOKE,     /* lease: lease */
	EE_READ,       /* range of every key under the prefix */
	EE_WATCH,      /* a watch of the prefix from revision rev (a stream) */
	EE_CANCEL_WATCH,
	EE_CREATE,     /* txn: key absent (and guard's mod_revision guard_mod) -> put value, lease */
	EE_PUT,        /* key = value, lease (0: none) */
	EE_SWAP,       /* txn: key's mod_revision is mod -> put value (no lease) */
	EE_DELETE_OWN, /* txn: key's create_revision is rev -> delete */
};

struct ee_req {
	enum ee_req_type type;
	unsigned id;            /* matches the reply (ee_reply) */
	char key[EE_KEY_MAX];
	char value[EE_VALUE_MAX];
	char guard[EE_KEY_MAX]; /* EE_CREATE: "" none */
	int64_t guard_mod, mod, rev, lease;
	int64_t ttl;
	/* EE_DELETE_OWN: puts in the same transaction (a resignation's) */
	struct {
		char key[EE_KEY_MAX];
		char value[EE_VALUE_MAX];
		int64_t lease;
	} put[2];
	size_t nputs;
};

struct ee_kv {
	char key[EE_KEY_MAX];
	char value[EE_VALUE_MAX];
	int64_t create_rev, mod_rev, lease;
};

/* A reply, as the caller read it (etcd_codec.h). */
struct ee_reply {
	unsigned id;
	int ok;                 /* 0: no answer, or etcd refused (why) */
	char why[400];
	int64_t revision;       /* the header's */
	int64_t lease, ttl;     /* EE_GRANT: the lease and its granted TTL; EE_KEEPALIVE: TTL left (0: gone) */
	int succeeded;          /* a transaction's */
	struct ee_kv *kvs;      /* EE_READ: every key; a failed transaction: the key as it is */
	size_t nkvs;
};

struct ee_event {
	int deleted;
	struct ee_kv kv;        /* a delete: key and mod_rev only */
};

enum ee_state {
	EE_STARTING,   /* a lease and a first read of the keys */
	EE_FOLLOWING,  /* watching; another node leads, or none yet */
	EE_CAMPAIGNING,/* our create is on its way */
	EE_LEADING,    /* our key, our lease */
	EE_RESIGNING,  /* deleting our key */
};

struct ee_node {
	char id[MS_ID_MAX + 1];
	uint32_t position;
	int may_lead;          /* eligible, healthy, not held down (its record says) */
	int failsafe;          /* it runs in failsafe mode (its record says) */
	int pausable;          /* it obeys P/pause (its record says; older releases do not) */
	int64_t mod_rev;
	char record[EE_VALUE_MAX];
};

struct etcd_elect {
	struct ee_params p;
	enum ee_state state;
	char reason[MS_REASON_MAX];
	/* our lease */
	int64_t lease, granted_ttl_s;
	uint64_t lease_ok_sent;  /* send time of the last keep-alive etcd answered */
	int64_t lease_ok_ttl_s;  /* the TTL that answer promised (at most the granted one) */
	uint64_t keepalive_due;
	unsigned keepalive_id;   /* the keep-alive on its way (0: none) */
	uint64_t keepalive_sent;
	/* the cluster as last read or watched */
	int64_t revision;        /* of the last reply or event */
	int watching;
	int watch_suspect;       /* a request failed: the watch is renewed after the next answer */
	char leader[MS_ID_MAX + 1];
	int64_t leader_create_rev, leader_base;
	int64_t leader_rev;      /* the revision the leader key is known at: older news is stale */
	uint64_t term;           /* base + create_revision of the leader key */
	int64_t base, base_mod;  /* P/term_base: value and mod_revision (0: absent) */
	uint64_t max_term;
	char next[MS_ID_MAX + 1];/* P/next: the named successor ("" none) */
	char handover_target[MS_ID_MAX + 1]; /* the last switchover's resolved target */
	struct ee_node nodes[EE_NODES_MAX];
	size_t nnodes;
	char record[EE_VALUE_MAX];
	int record_dirty;
	/* campaigning */
	int claimable;
	uint64_t holddown_until;
	uint64_t campaign_at;    /* when our rank lets us try (0: not scheduled) */
	int rank_due;            /* rank again at the next tick */
	int renew_to_campaign;   /* a campaign waits for a renewed lease */
	uint64_t settle_until;   /* after the first read: peers started with us put their records */
	int held_published;      /* our record says we may not lead for a holddown */
	int64_t campaign_base;   /* the base our create carries */
	uint64_t retry_at;       /* a failed grant or read is asked again then */
	/* resigning: the delete of our key, and P/next while it is ours */
	unsigned resign_id;
	int64_t own_rev;         /* create_revision of our leader key while etcd may hold it */
	int64_t resigned_rev;    /* our key we gave up: deleted until etcd shows it gone */
	uint64_t resign_retry_at;
	unsigned next_delete_id; /* our delete of P/next on its way */
	int next_mine;
	uint64_t next_until;
	int64_t next_create_rev;
	/* requests on their way */
	struct ee_req q[EE_REQ_QUEUE];
	size_t qhead, qn;
	unsigned next_id;
	unsigned pending[EE_REQ_QUEUE];
	enum ee_req_type pending_type[EE_REQ_QUEUE];
	uint64_t pending_sent[EE_REQ_QUEUE];
	size_t npending;
	/* failsafe mode (failsafe.h): P/failsafe as etcd shows it, our put of
	 * it, what the direct hearing gives (etcd_elect_failsafe) */
	int fs_present;
	char fs_leader[MS_ID_MAX + 1];
	char fs_members[EE_NODES_MAX][MS_ID_MAX + 1];
	size_t fs_nmembers;
	unsigned fs_put_id;
	uint64_t fs_put_retry_at;
	/* the members of our last put of it: in etcd maybe before the watch
	 * shows them */
	char fs_wrote[EE_NODES_MAX][MS_ID_MAX + 1];
	size_t fs_nwrote;
	uint64_t fs_hold_until;  /* no campaign before (a master heard first-hand) */
	uint64_t fs_deadline;    /* the members' hearing lets us serve until (0: it does not) */
	uint64_t fs_fence_sent;  /* the fence deadline last told to mastership */
	int fs_active;           /* leading past our lease on the members' word */
	int fs_rejoin;           /* etcd is back: our key is taken again, the broker kept */
	/* P/pause as etcd shows it (its text, "" when absent), its
	 * mod_revision, news not yet taken (etcd_elect_take_pause); our write
	 * of it on its way (its id) and how the last one ended */
	char pause[EE_VALUE_MAX];
	int64_t pause_mod;
	int pause_news;
	unsigned pause_put_id;
	int pause_put_result;    /* 1 written, -1 refused (another write came first) or no answer; 0 none */
	char pause_put_why[200];
	/* events for mastership */
	struct ms_event ev[EE_EVENTS];
	size_t evhead, nev;
};

extern const struct cluster_ops etcd_elect_ops;

void etcd_elect_init(struct etcd_elect *e, const struct ee_params *p, uint64_t now);
/* This node's record (JSON text): written now and after each change. */
void etcd_elect_set_record(struct etcd_elect *e, const char *json);
/* Time passes: keep-alives, campaigns, requests past their time. */
void etcd_elect_tick(struct etcd_elect *e, uint64_t now);
/* The next request to send (sent at now); 0 when none. */
int etcd_elect_take_request(struct etcd_elect *e, struct ee_req *r, uint64_t now);
/* A reply to request r->id. */
void etcd_elect_reply(struct etcd_elect *e, const struct ee_reply *r, uint64_t now);
/* Events of the watch, at revision rev; or the watch ended (ended: why). */
void etcd_elect_watch(struct etcd_elect *e, const struct ee_event *ev, size_t n, int64_t rev, uint64_t now);
void etcd_elect_watch_ended(struct etcd_elect *e, const char *why, uint64_t now);
/* Failsafe mode: no campaign before hold_until (0: none); as leader, the
 * direct hearing lets the lead last until deadline (0: it does not). */
void etcd_elect_failsafe(struct etcd_elect *e, uint64_t hold_until, uint64_t deadline, uint64_t now);
/* The members a failsafe lead must hear: P/failsafe as etcd shows it (we
 * wrote it), the list we last put there (etcd may hold it already), and
 * every node with a record (it may be listed in a put the watch has not
 * shown).  0 when we did not write the list shown, when a node's record
 * says it runs without failsafe mode, or when they are more than max. */
size_t etcd_elect_failsafe_members(const struct etcd_elect *e, const char **out, size_t max);
/* Maintenance mode: P/pause's text written if etcd still holds what we
 * last saw of it (a compare-and-swap); 0, or -1 when a write of it is on
 * its way already or the queue is full. */
int etcd_elect_put_pause(struct etcd_elect *e, const char *text);
/* Nodes with a record (self aside) that does not say it obeys P/pause:
 * how many, their ids comma-separated in list (cut to len). */
size_t etcd_elect_pause_unaware(const struct etcd_elect *e, char *list, size_t len);
/* P/pause's text as etcd last showed it, when new since the last call:
 * 1 (text filled), else 0. */
int etcd_elect_take_pause(struct etcd_elect *e, char *text, size_t len);
/* How our last write of P/pause ended, once: 1 written, -1 not (why
 * filled), 0 nothing new. */
int etcd_elect_take_pause_result(struct etcd_elect *e, char *why, size_t len);
/* When etcd_elect_tick wants to run next (monotonic ms). */
uint64_t etcd_elect_wake_at(const struct etcd_elect *e);

const char *etcd_elect_state_name(enum ee_state s);

#endif
