/*
 * A simulated cluster that runs the daemon's own decision code: per node a
 * cluster backend (the heartbeat protocol, or a fake lease), mastership,
 * and node_feed() joining them, called the way the daemon calls them; only
 * the I/O is simulated (a bus, socket buffers, a fake broker, timers).
 *
 * Time is in whole milliseconds.  Each simulated millisecond is one event
 * loop iteration per running node, in libev's order after the poll:
 *  1. overdue timers, the one that expired latest first (libev feeds the
 *     expired timers after the polled I/O, and invokes pending watchers
 *     last in, first out); a repeating timer fires once however late.
 *     Each timer callback first reads everything waiting in the socket
 *     (the daemon's drain(): after a late wake-up no timer acts on what
 *     it would have learnt from a packet that already arrived);
 *  2. the socket: up to 64 packets of its receive buffer (the daemon's
 *     batch), each fed and carried out as it is read;
 *  3. the broker's reports left, then the tick's timer set to the time
 *     the election asks for (election_next_due()), as the daemon's prepare
 *     watcher does before the loop sleeps (sim_packet, sim_event and
 *     sim_tick do it too), on the grid of the former fixed tick.
 * A write of the election's state ends in step 1 (ST_DISK, D in the trace).
 * Every callback first feeds the broker's reports not yet taken, then its
 * own event (the daemon's daemon_feed).
 * After every callback the node carries out node_out as the daemon does:
 * send what the backend queued, set the broker's wanted state, feed the
 * broker's immediate reports back until quiet, re-arm the resign and the
 * mastership timers.
 *
 * The fence kills a broker whose deadline passed (SIGKILL: at once), also
 * while only the launcher is frozen; the launcher reads that DOWN when it
 * runs again.
 *
 * A packet sent at t arrives at t + 1 in the receive buffer of every node
 * that hears the sender; a frozen node (SIGSTOP) keeps receiving, bounded
 * like a real receive buffer, and reads it when thawed, each packet with
 * the time it waited there (wire_msg.waited_ms, the daemon's receive
 * timestamp: the replay filter judges it at its arrival).
 */
#ifndef FL_TEST_SIM_H
#define FL_TEST_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "heartbeat.h"
#include "mastership.h"
#include "node.h"
#include "replay.h"
#include "wire.h"

#define SIM_N 5
#define SIM_BUS 4096
#define SIM_RCVBUF 256 /* datagrams: about a default rmem of small packets */
#define SIM_BATCH 64   /* the daemon's read batch */
#define SIM_TRACE 128
#define SIM_LATE 2048  /* deliveries held back by jitter */
#define SIM_WALL_EPOCH 1700000000000ull /* the wall clock at s->now = 0 (ms) */

/* ---- the fake broker ----
 * Wanted up: a process exists at once (UP), it serves start_ms later
 * (READY).  Wanted down: the process is gone stop_ms later (DOWN).
 * fb_fail() makes it report FAILED (its supervisor gave up on it). */
struct fake_broker {
	uint64_t start_ms, stop_ms;
	int wanted;
	int alive;          /* the process exists */
	int ready;
	uint64_t ready_at;  /* when it will serve (0: not starting) */
	uint64_t down_at;   /* stopping: when the process is gone (0: not stopping) */
	int failing;
	enum ms_input rep[8]; /* reports the launcher has not read yet */
	size_t nrep;
	unsigned starts, stops;
};

void fb_want(struct fake_broker *b, int want, uint64_t now);
/* The next report due by now; 0 when none. */
int fb_take(struct fake_broker *b, uint64_t now, struct ms_event *ev);
void fb_fail(struct fake_broker *b);

/* ---- the fake lease backend (cluster.h) ----
 * One shared key {holder, term, expiry}, as in a coordination service.  A
 * node takes the key when it is free or expired (term + 1), renews it
 * every renew period, and says: LEADER, FENCE (expiry minus a margin),
 * LEADERSHIP_LOST.  Resigning deletes the key, optionally naming the node
 * that may take it next. */
struct lease_key {
	char holder[MS_ID_MAX + 1]; /* "" free */
	uint64_t term, expiry;
	char next[MS_ID_MAX + 1];   /* named by a resignation: only it may take the key */
	uint64_t next_until;
};

struct lease_world {
	struct lease_key key;
	uint64_t ttl_ms, renew_ms, margin_ms;
	int n;
	char member[SIM_N][MS_ID_MAX + 1];
	int member_claimable[SIM_N];
	/* a follower's switchover request, read by the holder */
	char ask[MS_ID_MAX + 1];
	int asked;
	uint64_t max_term; /* the highest term the key ever had */
};

struct lease {
	struct lease_world *w;
	int idx;
	int reachable;             /* can talk to the key (set by the simulator) */
	int claimable;
	int leading;
	uint64_t term, expiry;     /* of our key while leading */
	char leader[MS_ID_MAX + 1];/* as last told to mastership */
	uint64_t holddown_until;
	struct ms_event ev[16];
	size_t head, nev;
};

extern const struct cluster_ops lease_ops;
void lease_init(struct lease *l, struct lease_world *w, int idx);
/* The renew timer: renew, or look at the key. */
void lease_tick(struct lease *l, uint64_t now);

/* ---- the simulator ---- */
/* ST_DISK is not a timer in the daemon: the writer thread's completion
 * (an ev_async); it reads no socket first */
enum sim_timer { ST_TICK, ST_BEAT, ST_RESIGN, ST_WAKE, ST_LEASE, ST_DISK, ST_COUNT };
enum sim_backend { SIM_HEARTBEAT, SIM_LEASE, SIM_ETCD /* sim_etcd.h */ };
struct sim;
struct sim_etcd;

/* A backend kept out of sim.c (SIM_ETCD: sim_etcd.c), so that the tests of
 * the others link without it */
struct sim_hooks {
	struct cluster (*cluster)(struct sim *s, int i);
	uint64_t (*holddown_ms)(const struct sim *s);
	void (*step)(struct sim *s);       /* each ms, before the nodes run */
	void (*tick)(struct sim *s, int i);/* the ST_LEASE timer */
	void (*carry)(struct sim *s, int i);/* after each callback's carry-out */
	int (*deliver)(struct sim *s, int i);/* one message due at node i: 1, else 0 */
	void (*check)(struct sim *s);      /* the invariants, each ms */
};

struct sim_node {
	int up;          /* the launcher runs */
	int frozen;      /* SIGSTOP: no callbacks; packets still queue */
	int linked;      /* link to the others (heartbeat) or to the key (lease) */
	int group;       /* nodes hear each other only within one group */
	int deaf_resign; /* every RESIGN copy to this node is lost */
	uint8_t version; /* protocol version in its packets (0: as filled) */
	struct heartbeat hb;
	struct lease ls;
	struct mastership ms;
	struct cluster c;     /* the checking wrapper around inner */
	struct cluster inner; /* the backend */
	uint64_t resigned_with_broker; /* resignations while the broker process lived */
	uint64_t resigns;
	uint64_t hooks_promote, hooks_demote; /* on_promote and on_demote runs */
	struct fake_broker b;
	uint64_t at[ST_COUNT];     /* timer expiry (0: stopped) */
	uint64_t repeat[ST_COUNT]; /* 0: one-shot */
	uint64_t started; /* when its launcher last started */
	uint8_t payload[WIRE_HB_PAYLOAD]; /* its heartbeats' payload (the settings digest) */
	struct wire_msg rcv[SIM_RCVBUF];
	uint64_t rcv_at[SIM_RCVBUF]; /* when each reached the buffer (the kernel's receive time) */
	size_t rhead, rn;
	uint64_t rcv_dropped, seq;
	uint64_t sent[WIRE_TYPE_MAX + 1]; /* packets sent, by type */
	uint64_t sent_at[WIRE_TYPE_MAX + 1]; /* when the last of each type went out */
	uint64_t beat_at; /* its last heartbeat call (by its timer, or an echo) */
	int echoed;       /* a packet read since its timer fired was answered, or moved it (echo) */
	/* callbacks of the last iteration, in order: T tick, B heartbeat,
	 * R resign copy, W mastership wake, L lease (etcd: its tick), D write done, P packet read,
	 * E etcd reply or watch event, K broker
	 * report; and whether the broker was wanted when each ran (1/0) */
	char trace[SIM_TRACE + 1];
	char trace_want[SIM_TRACE + 1];
	size_t ntrace;
	int exited;
	uint64_t max_term;    /* the highest mastership term seen here */
	/* the state directory: what the election's writes made durable,
	 * restored by sim_start (a restart); the write under way ends at
	 * at[ST_DISK] (disk_ms after it began), fails while disk_fail (full
	 * or read-only), does not end while disk_hung (a hung NFS mount) */
	struct hb_persist disk, writing;
	uint64_t disk_ms;
	int disk_fail, disk_hung;
	uint64_t disk_writes;
	/* when a packet sent as master by each node last reached this one's
	 * receive buffer (read or not): for invariants on who hears whom */
	uint64_t master_heard_at[SIM_N];
	/* when the last packet sent as master by each node that this one's
	 * filter dropped as another run of its id, while this one followed a
	 * second live process with that id (the documented limit of
	 * duplicate ids, README), had reached its buffer: that packet was
	 * not heard */
	uint64_t master_deaf_at[SIM_N];
	/* the boot ids of its last runs, newest last (a ring) */
	uint64_t boot_hist[64];
	unsigned nboot_hist;
	/* the filter's replay check (filter.c): per sender, the highest
	 * sequence number read; an older one (reordered by jitter) is dropped */
	uint64_t seq_seen[SIM_N];
	uint64_t reordered_dropped;
	/* starts of the launcher: a new start's sequence numbers are above the
	 * old ones' (in the daemon the boot id is, and the filter resets) */
	uint64_t boots;
	/* identity, with s->filter set (else every run of node i sends boot
	 * i + 1000 and nothing is filtered): the boot id of this run, from
	 * its wall clock (s->now + clock_offset) and the last one kept in its
	 * state directory (boot_kept; 0: lost), as the daemon makes it; the
	 * daemon's replay table and duplicate-id rule on the receive path */
	uint64_t boot, boot_kept;
	int64_t clock_offset;
	struct replay_table seen;
	struct replay_dup dup;
	uint64_t drop_old, drop_other, two_boots; /* the filter's drops */
	unsigned dup_exits;   /* runs that exited as the newer of two with one id */
	/* the fence process (launcher/broker/fence.c): the deadline the
	 * broker is held to, as the launcher last published it after a
	 * carry-out (kept while the broker lives, fence_hold), and the
	 * brokers it killed.  It is not frozen with the launcher; a whole
	 * node's freeze stops it too */
	uint64_t fence_at;
	unsigned fence_kills;
};

struct sim {
	int n;
	enum sim_backend backend;
	uint64_t now;
	struct sim_node nd[SIM_N];
	struct wire_msg q[SIM_BUS];
	int qfrom[SIM_BUS];
	size_t qn;
	unsigned loss_pct;        /* chance a delivery is lost */
	unsigned jitter_ms;       /* each delivery takes 1 + 0..jitter_ms ms (reorders) */
	struct sim_late {
		uint64_t due;
		int to, from;
		struct wire_msg m;
	} late[SIM_LATE];
	size_t nlate;
	uint64_t delivered, lost; /* deliveries to a node that hears, and those lost to loss_pct */
	int mute[SIM_N][SIM_N];   /* every packet from a to b is lost */
	uint64_t rng;
	/* a freeze stops the whole node, the broker's JVM too (a VM pause):
	 * a frozen broker serves nobody.  0: SIGSTOP of the launcher only */
	int freeze_whole_node;
	struct lease_world world;
	/* invariants: election masters (heartbeat) or mastership masters
	 * (lease) that hear each other; brokers alive (serving) at once;
	 * ms with the key held by one node and another's broker alive */
	uint64_t overlap_ms, longest_overlap;
	uint64_t broker_overlap_ms, longest_broker_overlap;
	uint64_t lease_violation_ms;
	/* etcd (sim_etcd.h): ms with a broker alive on a node that does not
	 * hold the leader key with a live lease */
	const struct sim_hooks *hooks;
	struct sim_etcd *etcd;
	uint64_t etcd_violation_ms;
	int terms_went_back;
	uint64_t terms_back_at;   /* the first time, and where */
	int terms_back_node;
	int filter;               /* per-run boot ids and the daemon's packet filter */
};

#define EL(s, i) ((s)->nd[i].hb.el)

struct el_params sim_params(int i, uint32_t delay, uint32_t retries);
/* Heartbeat clusters of n nodes; sim_init_quorum: expected_nodes = n. */
struct sim *sim_new(void);
void sim_init(struct sim *s, int n, uint32_t delay, uint32_t retries);
/* The same with per-run boot ids and the daemon's packet filter (filter: 1). */
void sim_init_filter(struct sim *s, int n, uint32_t delay, uint32_t retries, int filter);
/* Node j hears node i's current run (s->filter): it follows its boot, live. */
int sim_heard(const struct sim *s, int j, int i);
void sim_init_quorum(struct sim *s, int n, uint32_t delay, uint32_t retries);
/* (Re)starts node i's launcher with these election settings (p.self may
 * be another node's id: a copied configuration). */
void sim_start(struct sim *s, int i, struct el_params p);
/* A lease cluster of n nodes. */
void sim_init_lease(struct sim *s, int n, uint64_t ttl, uint64_t renew, uint64_t margin);
/* (Re)starts node i's launcher in a lease cluster. */
void sim_restart_lease(struct sim *s, int i);
/* A new launcher on node i for the backend already set up (its timers
 * cleared, its broker gone): for sim_etcd.c */
void sim_reset_node(struct sim *s, int i);
/* The node is gone (power off): launcher and broker. */
void sim_crash(struct sim *s, int i);
unsigned sim_rand(struct sim *s);
void sim_step(struct sim *s);
void sim_run(struct sim *s, uint64_t ms);
int sim_hears(const struct sim *s, int a, int b);
/* Election masters among running, unfrozen, linked nodes of one group. */
int sim_masters_in(const struct sim *s, int group);
int sim_count_masters(const struct sim *s);
/* Brokers alive and serving (a frozen one serves when only the launcher is frozen). */
int sim_live_brokers(const struct sim *s);
/* Runs until exactly one election master among running nodes. */
int sim_until_master(struct sim *s, uint64_t limit, uint64_t *took);
/* An operator's or signal's event at node i, as one callback; out gets its
 * node_out (may be NULL). */
void sim_event(struct sim *s, int i, enum ms_input type, const char *target, struct node_out *out);
/* A packet read by node i's socket callback at once (not via the bus). */
void sim_packet(struct sim *s, int i, const struct wire_msg *m);
/* Node i's tick timer fires at once. */
void sim_tick(struct sim *s, int i);

#endif
