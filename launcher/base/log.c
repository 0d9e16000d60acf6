/*
 * Logging to stderr.  Under systemd stderr is usually a journal stream: then
 * each line starts with "<N>" (sd-daemon(3) priority prefix) and carries no
 * timestamp, since journald adds its own.  Elsewhere a line carries local
 * wall-clock time with milliseconds and the level name.
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "linesplit.h"

static const char *log_ident = "failover-launcher";
static enum log_level log_level = LOG_LEVEL_INFO;
static int log_journal;

int log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident, enum log_level level, enum log_journal journal)
{
	if (ident != NULL)
		log_ident = ident;
	log_level = level;
	if (journal == LOG_JOURNAL_AUTO)
		log_journal = log_stderr_is_journal();
	else
		log_journal = journal == LOG_JOURNAL_YES;
}

void log_set_level(enum log_level level) { log_level = level; }
enum log_level log_get_level(void) { return log_level; }

int log_level_parse(const char *s)
{
	if (strcmp(s, "error") == 0)
		return LOG_LEVEL_ERROR;
	if (strcmp(s, "warning") == 0)
		return LOG_LEVEL_WARNING;
	if (strcmp(s, "info") == 0)
		return LOG_LEVEL_INFO;
	if (strcmp(s, "debug") == 0)
		return LOG_LEVEL_DEBUG;
	return -1;
}

static const char *level_name(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR: return "ERROR";
	case LOG_LEVEL_WARNING: return "WARNING";
	case LOG_LEVEL_INFO: return "INFO";
	case LOG_LEVEL_DEBUG: return "DEBUG";
	}
	return "?";
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char msg[LINESPLIT_MAX + 512]; /* a whole line of a hook's output, and its prefix */
	uint64_t ms;
	time_t sec;
	struct tm tm;
	char when[32];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One write per line so lines of concurrent writers never interleave. */
	if (log_journal) {
		fprintf(stderr, "<%d>%s\n", (int)level, msg);
	} else {
		ms = clock_wall_ms();
		sec = (time_t)(ms / 1000);
		localtime_r(&sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s.%03u %s[%ld] %s: %s\n", when, (unsigned)(ms % 1000),
			log_ident, (long)getpid(), level_name(level), msg);
	}
	fflush(stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
