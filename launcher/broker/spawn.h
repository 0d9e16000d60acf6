/*
 * How this daemon forks: spawn() runs another program (the broker, hook
 * commands), spawn_fn() a function of this one (the cache's background
 * save, persist.c: a copy-on-write image of the store written to disk).
 * The one other fork is the fence (fence.c), which must outlive a dead
 * launcher long enough to stop its broker: no PDEATHSIG there.
 *
 * Every child gets PR_SET_PDEATHSIG (SIGKILL) so it cannot outlive a
 * killed launcher, an empty signal mask and default dispositions.  A
 * program also gets its own session and process group, the ordinary
 * priority, stdin from /dev/null (or a pipe: spawn_req.feed), stdout and stderr on pipes the caller
 * reads (or /dev/null), and no other descriptor.  An exec failure is
 * reported back, and the child exits 127 (not found) or 126 (not
 * executable), as a shell does.  Children are reaped by libev's child
 * watchers, never by a blocking wait.
 */
#ifndef FL_SPAWN_H
#define FL_SPAWN_H

#include <sys/types.h>

struct spawn_req {
	char *const *argv;
	char *const *envp;
	const char *cwd;     /* NULL: inherit */
	int capture;         /* 1: stdout/stderr on pipes; 0: /dev/null */
	int feed;            /* 1: stdin on a pipe the caller writes (spawn_res.in_fd) */
	/* NULL, or called in the parent after the fork while the child waits
	 * before exec: nonzero and the child exits without running anything
	 * (spawn fails with ECANCELED).  What the child must not run without
	 * (the fence's hold on it) is done here. */
	int (*gate)(void *ud, pid_t pid);
	void *gate_ud;
};

struct spawn_res {
	pid_t pid;
	int out_fd, err_fd;  /* read ends, non-blocking, close-on-exec; -1 if none */
	int in_fd;           /* spawn_req.feed: the write end, non-blocking, close-on-exec; else -1 */
	int exec_errno;      /* 0, or why exec failed (the child then exits 126/127) */
};

/* 0 when forked (even if exec then failed: see exec_errno), -1 when the
 * fork itself failed (errno set). */
int spawn(const struct spawn_req *req, struct spawn_res *res);

/* Forks a child that runs fn(arg) and exits with what it returns (keep it
 * below 126; 127: the parent died before the child started).  The pid, or
 * -1 when the fork failed (errno set).  The child has the parent's memory
 * image and only its standard descriptors (0-2): fn opens what it writes,
 * must only touch what it was given and call nothing that is not safe
 * after fork in this process. */
pid_t spawn_fn(int (*fn)(void *), void *arg);

#endif
