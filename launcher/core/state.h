/*
 * Files in the state directory: the node id (generated once, kept), the
 * highest term this node has seen (terms only grow, across restarts too),
 * and the status file that shows the node's role to scripts and tests.
 * Every write goes to a new file that is renamed over the old one.
 *
 * Formats, and how they may change (every release since the first reads
 * what later ones write, and the other way round):
 *  - node-id: the id and a newline.  term: the decimal term and a newline.
 *    boot: the last boot id this node used, decimal, and a newline.
 *    Single-value files carry no version, and their format is frozen:
 *    releases up to 64aed0b read the whole of node-id as the id (and would
 *    make up a new id if it held more), and the leading number of term.
 *    A new piece of state goes in a new file, never into these.
 *  - election: key=value lines (max_term, voted_term, voted_for), read
 *    as the status file is: keys looked up by name, unknown ones ignored,
 *    keys only added.  What a claim or vote promised (election.h): a node
 *    restarted never votes twice in a term nor claims one again.  Written
 *    with the term file (max_term there, for releases that know only it)
 *    off the event loop (statewriter.h), fsync'd file and directory.
 *  - status: key=value lines, one per key.  Readers look keys up by name
 *    and ignore those they do not know; keys are only ever added, and
 *    a key's meaning never changes.  protocol= is the cluster protocol
 *    version the node speaks (wire.h).
 *  - cache.db: carries its own format version (cache.h).
 */
#ifndef FL_STATE_H
#define FL_STATE_H

#include <stddef.h>
#include <stdint.h>

/* mkdir -p with mode 0750 for what is created. */
int state_mkdir(const char *dir);
/* The configured id, or the one kept in dir/node-id, or a new one kept
 * there.  0, or -1 with the reason in err. */
int state_node_id(const char *dir, const char *configured, char *out, size_t outlen, char *err, size_t errlen);
uint64_t state_read_term(const char *dir);
/* The election file: 0, or -1 when there is none (then all zero). */
int state_read_election(const char *dir, uint64_t *max_term, uint64_t *voted_term, char *voted_for, size_t len);
/* The election file then the term file (max_term), each durable
 * (file and directory fsync'd) before this returns 0; -1 with errno. */
int state_write_election(const char *dir, uint64_t max_term, uint64_t voted_term, const char *voted_for);
/* The last boot id kept (0: none), and a new one kept (fsync, rename). */
uint64_t state_read_boot(const char *dir);
int state_write_boot(const char *dir, uint64_t boot);
int state_write_term(const char *dir, uint64_t term);
/* Writes path atomically (path.tmp, fsync, rename). */
int state_write_file(const char *path, const char *text, size_t len, int sync);
/* The same through the temporary file tmp (on path's file system). */
int state_write_file_via(const char *path, const char *tmp, const char *text, size_t len, int sync);

#endif
