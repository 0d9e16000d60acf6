/*
 * The cache file, STATE_DIR/cache.db (its format: cache.h): restored at
 * open, saved by a forked child (spawn_fn) soon after a change and reaped
 * by the loop's child watcher, saved once more by the parent at close.
 */
#include "persist.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "bytes.h"
#include "cache_int.h"
#include "clock.h"
#include "file.h"
#include "hash.h"
#include "log.h"
#include "spawn.h"
#include "state.h"

static void encode_cb(void *ud, const struct store_entry *e)
{
	struct buf *b = ud;
	store_encode_entry(e, &b->p, &b->len, &b->cap);
}

/* Encodes the store and writes the file through tmp (NULL: path.tmp); 0,
 * or an errno. */
static int save_file(struct cache *k, const char *tmp)
{
	struct buf body = {0};
	uint8_t head[16];
	struct buf all = {0};
	int rc = 0;

	store_each(&k->st, encode_cb, &body);
	memcpy(head, "FLCACHE1", 8);
	bytes_put_be(head + 8, hash_fnv1a(HASH_FNV1A_INIT, body.p, body.len), 8);
	if (buf_add(&all, head, 16) != 0 || (body.len && buf_add(&all, body.p, body.len) != 0) ||
	    (tmp != NULL ? state_write_file_via(k->path, tmp, (const char *)all.p, all.len, 1)
			 : state_write_file(k->path, (const char *)all.p, all.len, 1)) != 0)
		rc = errno ? errno : EIO;
	buf_free(&body);
	buf_free(&all);
	return rc;
}

static void saved(struct cache *k, int err)
{
	uint64_t now = clock_mono_ms();

	if (err != 0) {
		k->persist_errors++;
		if (k->persist_err_at == 0 || now - k->persist_err_at > 10000) {
			k->persist_err_at = now;
			log_err("cannot save the cache to %s: %s; serving from memory, retrying", k->path, strerror(err));
		}
		k->dirty = 1;
		ev_timer_set(&k->persist_w, 1.0, 0.); /* try again in a second */
		ev_timer_start(k->loop, &k->persist_w);
		return;
	}
	if (k->persist_err_at != 0)
		log_info("the cache is saved to %s again", k->path);
	k->persist_err_at = 0;
	k->persists++;
	if (k->dirty) {
		/* changed while saving: again, no sooner than the save took x 4, so
		 * saving a large store never takes most of the time */
		uint64_t took = now - k->save_started;
		ev_timer_set(&k->persist_w, took * 4 > 50 ? took * 4 / 1000.0 : 0.05, 0.);
		ev_timer_start(k->loop, &k->persist_w);
	}
}

static void save_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct cache *k = w->data;
	int st = w->rstatus;

	(void)revents;
	ev_child_stop(loop, w);
	k->save_pid = 0;
	saved(k, WIFEXITED(st) ? WEXITSTATUS(st) : EINTR);
}

static int save_child(void *arg)
{
	return save_file(arg, NULL);
}

/*
 * Saving a large store (encode, write, fsync) would hold the event loop,
 * and with it the heartbeats, for as long as it takes.  A forked child
 * saves a copy-on-write image of the store instead; the loop goes on.
 */
static void persist(struct cache *k)
{
	pid_t pid;

	if (k->save_pid != 0)
		return; /* when it ends, saved() sees dirty set and saves again */
	k->dirty = 0;
	k->save_started = clock_mono_ms();
	pid = spawn_fn(save_child, k);
	if (pid < 0) {
		saved(k, save_file(k, NULL)); /* no fork: save in place */
		return;
	}
	k->save_pid = pid;
	ev_child_set(&k->save_w, pid, 0);
	ev_child_start(k->loop, &k->save_w);
}

static void persist_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	persist(w->data);
}

void persist_dirty(struct cache *k)
{
	k->dirty = 1;
	if (!ev_is_active(&k->persist_w)) {
		/* a burst of writes costs one fsync */
		ev_timer_set(&k->persist_w, 0.05, 0.);
		ev_timer_start(k->loop, &k->persist_w);
	}
}

void persist_restore(struct cache *k)
{
	char *raw = NULL;
	uint8_t *data;
	size_t len = 0, applied = 0;
	const char *why = NULL;

	if (file_read_all(k->path, &raw, &len) != 0) {
		if (errno != ENOENT)
			log_err("cannot read the cache file %s: %s; starting empty, peers will fill it", k->path,
				strerror(errno));
		return;
	}
	data = (uint8_t *)raw;
	if (len >= 16 && memcmp(data, "FLCACHE", 7) == 0 && data[7] > '1' && data[7] <= '9') {
		/* a newer release's format (a downgrade): keep it aside untouched */
		char newer[4300];
		snprintf(newer, sizeof(newer), "%s.newer", k->path);
		rename(k->path, newer);
		log_warn("the cache file %s has format %c, newer than ours (1): kept as %s; starting empty, peers will "
			 "fill it", k->path, data[7], newer);
		free(data);
		return;
	}
	if (len < 16 || memcmp(data, "FLCACHE1", 8) != 0)
		why = "not a cache file";
	else if (bytes_get_be(data + 8, 8) != hash_fnv1a(HASH_FNV1A_INIT, data + 16, len - 16))
		why = "checksum mismatch";
	else if (store_decode_entries(&k->st, data + 16, len - 16, &applied, clock_wall_ms()) != 0)
		why = "malformed entry";
	if (why != NULL) {
		char bad[4300];
		snprintf(bad, sizeof(bad), "%s.corrupt", k->path);
		rename(k->path, bad);
		log_err("the cache file %s is corrupted (%s): kept as %s; starting empty, peers will fill it", k->path,
			why, bad);
		store_free(&k->st);
		struct store_limits lim = k->st.lim;
		store_init(&k->st, &lim);
	} else {
		log_info("cache restored from %s: %zu entries", k->path, k->st.live);
	}
	free(data);
}


void persist_init(struct cache *k)
{
	ev_init(&k->persist_w, persist_cb);
	k->persist_w.data = k;
	ev_init(&k->save_w, save_child_cb);
	k->save_w.data = k;
}

/*
 * The last word is ours: a save in flight may predate writes, so the
 * parent saves once more, here.  At close the event loop has ended, so the
 * killed child is reaped here: it is gone (and its rename, if it was
 * already in it, done) before ours, which could otherwise be replaced by
 * the child's older file.  What it still had under way in cache.db.tmp
 * cannot mix into our save, which goes through a file of its own.
 */
void persist_close(struct cache *k)
{
	int killed = 0;

	if (k->save_pid != 0) {
		kill(k->save_pid, SIGKILL);
		ev_child_stop(k->loop, &k->save_w);
		while (waitpid(k->save_pid, NULL, 0) < 0 && errno == EINTR)
			;
		k->save_pid = 0;
		k->dirty = 1;
		killed = 1;
	}
	if (k->dirty) {
		char tmp[4300];
		snprintf(tmp, sizeof(tmp), "%s.closing.tmp", k->path);
		saved(k, save_file(k, tmp));
	}
	if (killed) {
		char tmp[4300];
		snprintf(tmp, sizeof(tmp), "%s.tmp", k->path);
		unlink(tmp); /* the killed child's, if it got that far */
	}
	ev_timer_stop(k->loop, &k->persist_w);
}
