/*
 * The failover history (history.h) kept in state_dir/history, written off
 * the event loop like the election's state (statewriter.h): the loop adds
 * an entry to its ring and hands the line to a thread, which appends it.
 * A state directory that hangs stalls only that thread; a write that fails
 * is logged (once, and once more when writes work again), never fatal, and
 * the next entry rewrites the whole file from the ring.
 *
 * The file stays bounded: past 2 x HISTORY_MAX lines the thread rewrites it
 * (temporary file, fsync, rename) with the ring's last HISTORY_MAX; so does
 * a backlog of a ring's worth of lines that a stuck thread has not taken.
 * It is read once, at start, before the loop runs (as the node id is).
 */
#ifndef FL_HISTWRITER_H
#define FL_HISTWRITER_H

#include <ev.h>
#include <pthread.h>

#include "buf.h"
#include "history.h"

struct history_log {
	struct ev_loop *loop;
	ev_async done_w;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char path[4096];
	/* the loop's: the entries, the lines the file has once the queued
	 * writes are done, a failed write to make good by a rewrite, whether
	 * the log says that writes fail */
	struct history ring;
	size_t file_lines;
	int need_rewrite, failing;
	/* under mu: the bytes to write (appended, or the whole file), the
	 * thread's state, its last result */
	struct buf pend;
	size_t pend_lines;
	int pend_rewrite, have_job, busy, stop;
	int have_result, result_err;
};

/* Reads dir/history into the ring (a missing file is an empty history;
 * lines that do not decode are skipped and logged) and starts the thread;
 * NULL with errno when the thread cannot start. */
struct history_log *history_log_open(struct ev_loop *loop, const char *dir);
/* A new entry at the wall time of now, from the loop. */
void history_log_add(struct history_log *l, uint64_t term, enum history_kind kind, const char *node,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Ends the thread (a write under way is left to the process's exit). */
void history_log_close(struct history_log *l);

#endif
