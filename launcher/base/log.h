/*
 * Logging: one line per event to stderr, with journald priority prefixes
 * ("<3>") when stderr is the journal, else with a wall-clock timestamp.
 * Callers log at the failure site and return 0/-1.
 */
#ifndef FL_LOG_H
#define FL_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERROR = 3, LOG_LEVEL_WARNING = 4, LOG_LEVEL_INFO = 6, LOG_LEVEL_DEBUG = 7 };
enum log_journal { LOG_JOURNAL_AUTO, LOG_JOURNAL_YES, LOG_JOURNAL_NO };

void log_init(const char *ident, enum log_level level, enum log_journal journal);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warning", "info", "debug"; -1 if unknown. */
int log_level_parse(const char *s);
/* True when JOURNAL_STREAM names the device and inode of fd 2. */
int log_stderr_is_journal(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* A line of the broker's output, "broker[pid]: text", to stdout or stderr:
 * dropped (counted, and told of now and then) when the reader is too slow,
 * while the launcher's own lines wait. */
void log_broker_line(int is_err, long pid, const char *text, size_t len);

/*
 * Non-blocking output for the event loop.  log_async_start: from now on this
 * process queues what it cannot write at once (children still write as
 * before), and calls fn(ud, which, fd, 1) to have log_async_writable(which)
 * called when fd is writable, fn(ud, which, fd, 0) when that is no longer
 * needed; which: 0 stdout, 1 stderr.  log_async_stop writes what is queued
 * for at most timeout_ms and goes back to blocking writes.
 */
typedef void log_want_fn(void *ud, int which, int fd, int on);
void log_async_start(log_want_fn *fn, void *ud);
void log_async_writable(int which);
void log_async_stop(unsigned timeout_ms);
/* Lines dropped since the start: the launcher's own, the broker's. */
void log_dropped(uint64_t *own, uint64_t *broker);
/* Bytes waiting for stdout and stderr. */
size_t log_queued(void);

#define log_err(...)   log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
