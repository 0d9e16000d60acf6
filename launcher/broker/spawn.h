/*
 * The one way this daemon runs another program (the broker, hook commands).
 * Its only other child is the cache's background save (cache.c persist()):
 * a fork without exec that writes a copy-on-write image of the store and
 * exits, with a PR_SET_PDEATHSIG of its own.
 *
 * The child gets its own session and process group, PR_SET_PDEATHSIG
 * (SIGKILL) so it cannot outlive a killed launcher, an empty signal mask and
 * default dispositions, stdin from /dev/null, stdout and stderr on pipes the
 * caller reads (or /dev/null), and no other descriptor.  An exec failure is
 * reported back, and the child exits 127 (not found) or 126 (not
 * executable), as a shell does.  Children are reaped by libev's child
 * watchers; the one exception is a save child still running at shutdown,
 * which cache_close() kills and waits for, so that its own last save is the
 * one that stays.
 */
#ifndef FL_SPAWN_H
#define FL_SPAWN_H

#include <sys/types.h>

struct spawn_req {
	char *const *argv;
	char *const *envp;
	const char *cwd;     /* NULL: inherit */
	int capture;         /* 1: stdout/stderr on pipes; 0: /dev/null */
};

struct spawn_res {
	pid_t pid;
	int out_fd, err_fd;  /* read ends, non-blocking, close-on-exec; -1 if none */
	int exec_errno;      /* 0, or why exec failed (the child then exits 126/127) */
};

/* 0 when forked (even if exec then failed: see exec_errno), -1 when the
 * fork itself failed (errno set). */
int spawn(const struct spawn_req *req, struct spawn_res *res);

#endif
