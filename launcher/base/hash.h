/*
 * FNV-1a, 64 bits: the one non-cryptographic hash of the launcher.  It
 * names the cluster in packets (wire.c), spreads and digests the cache's
 * entries (store.c), checks the cache file (persist.c) and names the
 * class-data archive (command.c).  Several of these travel between nodes
 * or are kept on disk, so the function never changes.  Pure.
 */
#ifndef FL_HASH_H
#define FL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The offset basis: where every hash starts. */
#define HASH_FNV1A_INIT 0xcbf29ce484222325ull

/* Continues hash h over n bytes at p (start with HASH_FNV1A_INIT). */
uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n);
/* The same over a NUL-terminated string, without its NUL. */
uint64_t hash_fnv1a_str(uint64_t h, const char *s);

#endif
