/* Saving and restoring the cache file (persist.c). */
#ifndef FL_PERSIST_H
#define FL_PERSIST_H

struct cache;

/* The save timer and child watcher, before anything marks the cache dirty. */
void persist_init(struct cache *k);
/* Reads STATE_DIR/cache.db into the store; a corrupted or newer file is
 * moved aside and the store starts empty. */
void persist_restore(struct cache *k);
/* The store changed: saved soon (a burst of writes costs one save). */
void persist_dirty(struct cache *k);
/* At close: the store saved now, whatever a save child was doing. */
void persist_close(struct cache *k);

#endif
