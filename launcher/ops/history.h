/*
 * Failover history: the last HISTORY_MAX role changes, handovers, health
 * transitions, fence actions and maintenance pauses of this node, each
 * with its wall time, term, node, kind and reason, newest last.  Answers "why did the broker
 * move at 3 am" after the logs have rotated, and after a restart: the
 * daemon keeps the entries in state_dir (histwriter.h) and loads them here.
 *
 * Pure: the ring, one entry's line in the file, its decoding and the two
 * outputs (failoverctl history, --json).  No I/O, no clock: the caller
 * gives the wall time.
 *
 * The file is one entry per line, appended:
 *
 *   h1 WALL_MS TERM KIND NODE REASON '\n'
 *
 * NODE and REASON escaped (history_escape): no blank in NODE, no newline
 * or control byte in either, so a reason cannot forge a line.  A line that
 * does not decode (torn by a crash, corrupted, a newer format) is skipped.
 */
#ifndef FL_HISTORY_H
#define FL_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HISTORY_MAX 200
#define HISTORY_NODE_MAX 64
/* longer reasons are cut: 200 entries stay well inside a control reply */
#define HISTORY_REASON_MAX 200
/* one encoded line at most: every byte of node and reason escaped (4x) */
#define HISTORY_LINE_MAX (64 + 4 * (HISTORY_NODE_MAX + HISTORY_REASON_MAX))

enum history_kind {
	HISTORY_ROLE,     /* this node's role changed (election, or etcd's leader key) */
	HISTORY_HANDOVER, /* the lead given away: resign, switchover, a failing broker */
	HISTORY_HEALTH,   /* the broker's health checks changed verdict */
	HISTORY_FENCE,    /* the fence stopped the broker, or the lead was forfeit */
	/* maintenance paused or resumed (pause.h); a release before it skips
	 * these lines (an unknown kind does not decode) */
	HISTORY_PAUSE,
	HISTORY_KIND_COUNT,
};

struct history_entry {
	uint64_t wall_ms;
	uint64_t term;
	enum history_kind kind;
	char node[HISTORY_NODE_MAX + 1];
	char reason[HISTORY_REASON_MAX + 1];
};

struct history {
	size_t cap;  /* 1..HISTORY_MAX */
	size_t head; /* the oldest entry */
	size_t n;
	struct history_entry e[HISTORY_MAX];
};

const char *history_kind_name(enum history_kind k);
/* An empty ring of cap entries (0 or above HISTORY_MAX: HISTORY_MAX). */
void history_init(struct history *h, size_t cap);
/* Adds one entry, dropping the oldest when full; node and reason are cut
 * to their maximum. */
void history_add(struct history *h, uint64_t wall_ms, uint64_t term, enum history_kind kind, const char *node,
		 const char *reason);
/* The i-th entry, 0 the oldest; NULL past the end. */
const struct history_entry *history_at(const struct history *h, size_t i);

/* Escapes s into out (at most len bytes with its NUL): backslash, and
 * with blanks set the blank, as \\ \n \r \t \s (blank) or \xHH for every
 * other byte below 0x20 and 0x7f.  The length written. */
size_t history_escape(const char *s, int blanks, char *out, size_t len);
/* One entry as its line, with the newline; the length (below
 * HISTORY_LINE_MAX). */
size_t history_encode(const struct history_entry *e, char *out, size_t len);
/* One line (its newline optional), strictly: 0, or -1 when it does not
 * decode (the entry is then undefined). */
int history_decode(const char *line, size_t len, struct history_entry *e);
/* The file's contents, into h (after what it has): every whole line that
 * decodes.  A last line without its newline is a torn append, skipped.
 * *lines: the lines the file has (for its rotation); the number skipped
 * is returned. */
size_t history_load(struct history *h, const char *data, size_t len, size_t *lines);

/* The ring as text, one entry a line, newest last; or as a JSON array.
 * MAX > 0: only the newest entries whose output fits in MAX bytes. */
int history_format(const struct history *h, int json, size_t max, struct buf *out);

#endif
