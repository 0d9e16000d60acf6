/*
 * The election's state written off the event loop (election.h, p.persist;
 * state.h, the election file).  One thread does the writes: the loop
 * hands it a record and goes on; the thread writes it (temporary file,
 * fsync, rename, directory fsync) and wakes the loop (ev_async), whose
 * callback reports to the heartbeat backend.  A state directory that
 * hangs (a stalled NFS server) stalls only this thread: the loop keeps
 * heartbeating, and the backend holds claims and votes meanwhile.
 */
#ifndef FL_STATEWRITER_H
#define FL_STATEWRITER_H

#include <ev.h>
#include <pthread.h>

#include "heartbeat.h"

struct state_writer;
/* A write ended: ok, or the errno of its failure. */
typedef void (*state_writer_done)(struct state_writer *w, int ok, int err, void *ud);

struct state_writer {
	struct ev_loop *loop;
	ev_async done_w;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char dir[4096];
	/* under mu: a record to write, the thread's state, its last result */
	struct hb_persist job;
	int have_job, busy, stop;
	int have_result, result_ok, result_err;
	state_writer_done done;
	void *ud;
};

/* The writer and its thread, or NULL with errno. */
struct state_writer *state_writer_open(struct ev_loop *loop, const char *dir, state_writer_done done, void *ud);
/* Hands over one record; the heartbeat backend posts one at a time. */
void state_writer_post(struct state_writer *w, const struct hb_persist *rec);
/* Ends the thread and frees w, unless the thread is stuck in a write:
 * then both are left to the process's exit (w may be NULL). */
void state_writer_close(struct state_writer *w);

#endif
