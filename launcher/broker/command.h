/*
 * The broker's command: argv, environment and working directory built from
 * the configuration, replacing the hand-rolled wrapper scripts.  Reads
 * directories (lib/, the classpath) and checks files, nothing else: the
 * supervisor execs the result, `--print-command` prints it.
 */
#ifndef FL_COMMAND_H
#define FL_COMMAND_H

#include <stdint.h>
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
	/* broker.warm_standby: the class list a warm standby loads (written
	 * from a broker's own -XX:DumpLoadedClassList), whether it is there,
	 * and where the main class is in argv */
	char *warm_list;
	int warm_list_exists;
	size_t main_at;
};

/* Variables the launcher must not pass on: they belong to the launcher's
 * own relation with systemd. */
extern const char *const command_stripped_env[];
/* "NAME=value" is one of them. */
int command_env_stripped(const char *kv);

/* The settings the command is built from: the [broker] keys and the state
 * directory, copied out of a configuration so that the supervisor keeps
 * them across a reload that frees the configuration they came from. */
struct command_params {
	char *home, *java, *java_home, *config_dir, *lib_dir, *agent, *aop_config, *main_class, *working_dir;
	char *classpath_separator; /* "unix" or "windows" */
	char *path_style;          /* with "windows": auto|cygwin|msys2|wsl|none */
	char *mount_table;         /* "": /proc/mounts */
	char *state_dir;           /* where broker.cds keeps its archive */
	int java_home_from_env;    /* java_home came from $JAVA_HOME (for messages) */
	int lib_recursive, profiler, cds;
	int warm;                  /* broker.warm_standby: 0 no, 1 load, 2 init */
	char *warm_jar;            /* its helper (WarmStandby.java), on the classpath when warm */
	struct strlist classpath, jvm_option, property, argument, env;
};

/* A deep copy of c's broker settings.  0, or -1 when out of memory. */
int command_params_from_config(struct command_params *p, const struct config *c);
void command_params_free(struct command_params *p);

/* What a child is told in FAILOVER_* variables; a NULL field is left out.
 * The broker gets role, node, cluster, cache and term; a hook gets event,
 * role, node, master and term. */
struct command_failover {
	const char *event;   /* FAILOVER_EVENT: "promote" or "demote" (hooks) */
	const char *role;    /* FAILOVER_ROLE */
	const char *node;    /* FAILOVER_NODE: this node's id */
	const char *master;  /* FAILOVER_MASTER: the master's id, "" for none (hooks) */
	const char *cluster; /* FAILOVER_CLUSTER (the broker) */
	const char *cache;   /* FAILOVER_CACHE host:port and FAILOVER_CACHE_PORT
			      * (the broker; NULL or "": no cache) */
	uint64_t term;       /* FAILOVER_TERM, always: a fencing token */
	const char *broker_url;    /* FAILOVER_BROKER_URL (health checks; NULL: none) */
	uint64_t check_timeout_ms; /* FAILOVER_CHECK_TIMEOUT_MS (health checks; 0: none) */
};
/* Appends the variables to env, after removing any of theirs already in it
 * (inherited or configured).  0, or -1 when out of memory. */
int command_failover_env(struct strlist *env, const struct command_failover *f);
/* The environment of a command run beside the broker (a hook, a health
 * check, the probe, the precheck): base (the launcher's) without its
 * relation to systemd, then f's variables.  0, or -1 when out of memory. */
int command_child_env(struct strlist *env, char *const *base, const struct command_failover *f);
/* "NAME=value" is one of the variables command_failover_env sets. */
int command_failover_var(const char *kv);

/* Builds the command and runs the preflight checks.  0, or -1 with a
 * message in err saying what to fix. */
int command_build_params(const struct command_params *p, char *const *env, struct command *cmd, char *err,
			 size_t errlen);
/* The same, straight from a configuration. */
int command_build(const struct config *c, char *const *env, struct command *cmd, char *err, size_t errlen);
void command_free(struct command *cmd);

/* The main class of the warm standby's JVM (launcher/broker/WarmStandby.java). */
#define COMMAND_WARM_CLASS "failover.launcher.WarmStandby"

/*
 * The argv of a JVM of broker.warm_standby's, from cmd (built with warm
 * set): with dump, -XX:DumpLoadedClassList=dump after the java binary (the
 * JVM writes there each class it loads: the next list); with standby, the
 * marker -Dfailover.warm=standby, -Dfailover.warm.init=true|false and the
 * list (when there is one) before COMMAND_WARM_CLASS, which then comes
 * where the main class was, the main class and its arguments after it, and
 * no -XX:ArchiveClassesAtExit (the JVM would write it at any exit: a
 * standby's classes are not the broker's).  Without standby: a broker
 * started cold.  0, or -1 when out of memory.
 */
int command_warm_argv(const struct command *cmd, const char *dump, int standby, int init, struct strlist *argv);

/* One argument quoted for a POSIX shell; malloc'd. */
char *command_quote(const char *arg);

/* The command as one line a shell can run as is (configured environment
 * first, then the argv). */
void command_print_line(const struct command *cmd, FILE *out);
/* One argument per line, unquoted. */
void command_print_lines(const struct command *cmd, FILE *out);

#endif
