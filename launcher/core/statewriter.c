/*
 * The writer thread (see statewriter.h).  The mutex is never held across
 * I/O: the loop takes it only to hand over a record or take a result.
 */
#include "statewriter.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

static void *writer_main(void *arg)
{
	struct state_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct hb_persist rec;
		int ok, err;

		while (!w->have_job && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		rec = w->job;
		w->have_job = 0;
		w->busy = 1;
		pthread_mutex_unlock(&w->mu);
		ok = state_write_election(w->dir, rec.max_term, rec.voted_term, rec.voted_for) == 0;
		err = ok ? 0 : errno;
		pthread_mutex_lock(&w->mu);
		w->busy = 0;
		w->have_result = 1;
		w->result_ok = ok;
		w->result_err = err;
		if (w->stop)
			break; /* the loop has gone: nobody to tell */
		ev_async_send(w->loop, &w->done_w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void done_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct state_writer *w = a->data;
	int have, ok, err;

	pthread_mutex_lock(&w->mu);
	have = w->have_result;
	ok = w->result_ok;
	err = w->result_err;
	w->have_result = 0;
	pthread_mutex_unlock(&w->mu);
	if (have)
		w->done(w, ok, err, w->ud);
}

struct state_writer *state_writer_open(struct ev_loop *loop, const char *dir, state_writer_done done, void *ud)
{
	struct state_writer *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int rc;

	if (w == NULL)
		return NULL;
	w->loop = loop;
	w->done = done;
	w->ud = ud;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	ev_async_init(&w->done_w, done_cb);
	w->done_w.data = w;
	ev_async_start(loop, &w->done_w);
	/* signals go to the loop's thread (libev's signal watchers) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&w->th, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		ev_async_stop(loop, &w->done_w);
		free(w);
		errno = rc;
		return NULL;
	}
	return w;
}

void state_writer_post(struct state_writer *w, const struct hb_persist *rec)
{
	pthread_mutex_lock(&w->mu);
	w->job = *rec;
	w->have_job = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void state_writer_close(struct state_writer *w)
{
	int busy;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	busy = w->busy;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	ev_async_stop(w->loop, &w->done_w);
	if (busy) {
		/* stuck in the kernel, maybe: the exit ends it, and w must
		 * outlive it */
		pthread_detach(w->th);
		return;
	}
	pthread_join(w->th, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
