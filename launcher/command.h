/*
 * The broker's command: argv, environment and working directory built from
 * the configuration, replacing the hand-rolled wrapper scripts.  Reads
 * directories (lib/, the classpath) and checks files, nothing else: the
 * supervisor execs the result, `--print-command` prints it.
 */
#ifndef FL_COMMAND_H
#define FL_COMMAND_H

#include <stdio.h>

#include "config.h"

struct command {
	struct strlist argv;
	struct strlist envp;    /* the whole environment of the broker */
	struct strlist setenv;  /* the configured NAME=VALUE among envp */
	char *cwd;
	char *java;             /* absolute path of the JVM */
	char *agent;            /* the -javaagent jar, or NULL */
	char *cds_archive;      /* broker.cds: the archive path, or NULL */
	int cds_exists;         /* 1: used; 0: written when the JVM exits */
};

/* Variables the launcher must not pass on: they belong to the launcher's
 * own relation with systemd. */
extern const char *const command_stripped_env[];
/* "NAME=value" is one of them. */
int command_env_stripped(const char *kv);

/* Builds the command and runs the preflight checks.  0, or -1 with a
 * message in err saying what to fix. */
int command_build(const struct config *c, char *const *env, struct command *cmd, char *err, size_t errlen);
void command_free(struct command *cmd);

/* One argument quoted for a POSIX shell; malloc'd. */
char *command_quote(const char *arg);

/* The command as one line a shell can run as is (configured environment
 * first, then the argv). */
void command_print_line(const struct command *cmd, FILE *out);
/* One argument per line, unquoted. */
void command_print_lines(const struct command *cmd, FILE *out);

#endif
