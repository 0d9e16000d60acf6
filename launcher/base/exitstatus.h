/*
 * The text of a child's wait status, for log lines and the status report:
 * "exit status 3", "killed by signal 9 (Killed)", with ", core dumped"
 * when there is a core.  One wording for the broker and the hooks, which
 * tests and operators grep for.  Pure.
 */
#ifndef FL_EXITSTATUS_H
#define FL_EXITSTATUS_H

#include <stddef.h>

/* Writes the text for a waitpid() status into buf (always NUL-terminated). */
void exitstatus_describe(int status, char *buf, size_t len);

#endif
