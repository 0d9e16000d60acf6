/*
 * The fence: a process of its own that stops the broker when the launcher
 * does not renew its lease in time.
 *
 * The election stops a master that has not sent a heartbeat for too long,
 * and mastership hands over at the fence deadline, but both run on the
 * launcher's event loop: a launcher frozen by SIGSTOP (of its pid or of
 * its whole process group) or stuck in a kernel call (a hung mount under
 * state_dir) cannot stop its broker, and the others promote after the
 * failure timeout.  The fence can: forked at start, in a session of its
 * own (a SIGSTOP of the launcher's group does not reach it), it reads the
 * deadline from a page shared with the launcher and holds each broker the
 * launcher starts by a pidfd (no pid reuse).  When the deadline passes
 * unrenewed while that broker lives, it stops the broker's process group:
 * SIGKILL at the deadline, or SIGTERM first when the deadline leaves
 * broker.stop_timeout for it (fence_plan.h).
 *
 * The fence touches no file, logs nothing and calls nothing that blocks
 * but poll: what it did is left in the shared page, and the launcher logs
 * it.  When the launcher is gone (its socket reads EOF) the fence still
 * stops a broker it holds at the deadline, then exits; with no broker it
 * exits at once.  Out of its reach: a pause of the whole machine (a VM
 * paused, suspended or live-migrated freezes the fence too) and a freeze
 * of the service's whole cgroup.
 */
#ifndef FL_FENCE_H
#define FL_FENCE_H

#include <ev.h>
#include <stdint.h>
#include <sys/types.h>

struct fence_page;
struct sockaddr_in;

/* A death notice is one datagram of at most this many bytes, sent to at
 * most FENCE_DESTS_MAX addresses. */
#define FENCE_NOTICE_MAX 1472
#define FENCE_DESTS_MAX 64
/* Copies of the notice, and the pause before each after the first (ms):
 * datagrams get lost. */
#define FENCE_NOTICE_COPIES 3

/* What the fence did last, for the launcher's log. */
struct fence_fired {
	int sig;             /* SIGTERM or SIGKILL */
	pid_t pid;           /* the broker */
	uint64_t unrenewed_ms; /* since the launcher last renewed the deadline */
	uint64_t late_ms;    /* after the deadline (SIGKILL) or the SIGTERM point */
	unsigned count;      /* signals sent since the last look (a SIGTERM, then a SIGKILL: 2) */
};

struct fence {
	struct ev_loop *loop;
	struct fence_page *page; /* MAP_SHARED, created before the fork */
	int sock;                /* the launcher's end of the socketpair, or -1 */
	pid_t pid;               /* the fence process, or 0 */
	ev_child child_w;
	uint64_t kill_at;        /* as last published */
	uint64_t fired_seen;
	int broker_fd;           /* the broker's pidfd as last handed over (ours: a copy went out), or -1 */
	pid_t broker_pid;
	unsigned restarts;
	int route_fd;            /* the cluster socket handed over (ours), or -1 */
	int notice_armed;        /* a notice is published */
	int releasing;           /* told to exit (fence_release): not restarted */
};

/* Maps the page and forks the fence.  0, or -1 with why in err. */
int fence_open(struct fence *f, struct ev_loop *loop, char *err, size_t len);
/*
 * Only a node that may run a broker needs the fence: a standby lets it go
 * (fence_release: it exits, once it holds no broker) and forks it again
 * when it leads or starts a broker (fence_ensure, before any hand-over:
 * waits for a fence still exiting, at most a moment).  The page stays.
 */
void fence_release(struct fence *f);
int fence_ensure(struct fence *f, char *err, size_t len);
/* The deadline (monotonic ms; 0: not leading) and the SIGTERM point
 * (fence_term_at; 0: none), renewed at renewed_at.  Two atomic stores
 * under a sequence count: cheap enough for every heartbeat. */
void fence_publish(struct fence *f, uint64_t kill_at, uint64_t term_at, uint64_t renewed_at);
/* A new broker: its pidfd (duplicated to the fence over the socket; the
 * caller keeps its own) and its pid (its process group). */
int fence_hand(struct fence *f, int pidfd, pid_t pid);
/* The broker of the last hand-over is gone (reaped). */
void fence_broker_gone(struct fence *f);
/* The cluster socket the death notice goes out on (a copy goes to the
 * fence; the caller keeps its own), and where to: n addresses. */
int fence_route(struct fence *f, int fd, const struct sockaddr_in *dests, size_t n);
/* Publishes the death notice (len bytes; NULL or 0: withdrawn). */
void fence_notice(struct fence *f, const void *buf, size_t len);
/* 1 and *out when the fence stopped a broker since the last call. */
int fence_take_fired(struct fence *f, struct fence_fired *out);
/* The fence is told the launcher is gone (EOF): it exits once it holds no
 * live broker.  The death notice is withdrawn first: this is a graceful
 * stop. */
void fence_close(struct fence *f);
/* After fence_close at exit, with no broker held: waits up to ms for the
 * fence to exit, so that no process of the service outlives the launcher
 * (systemd would SIGKILL it).  0 when it is gone. */
int fence_wait_gone(struct fence *f, unsigned ms);

#endif
