/*
 * Building the broker's command line.
 *
 * The order is the seed's: java, JVM options, -javaagent and the AspectJ
 * configuration property, -D properties, -cp, main class, arguments.  Never
 * `java -jar`: it ignores -cp and the weaver then misses the classes.  Every
 * path in the result is absolute, so the line runs from any directory.
 */
#include "command.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "hash.h"
#include "props.h"
#include "winpath.h"

const char *const command_stripped_env[] = {
	"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", NULL,
};

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int ends_with_jar(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && strcasecmp(name + n - 4, ".jar") == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the jars under dir as paths relative to root ("a.jar",
 * "optional/b.jar"). */
static int list_jars(const char *root, const char *rel, int recursive, struct strlist *out)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int rc = 0;

	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char sub[4096], full[8192];

		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof(full), "%s/%s", root, sub);
		if (is_dir(full)) {
			if (recursive && list_jars(root, sub, recursive, out) != 0)
				rc = -1;
		} else if (ends_with_jar(e->d_name) && is_file(full)) {
			if (strlist_add(out, sub) != 0)
				rc = -1;
		}
	}
	closedir(d);
	return rc;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* The one aspectjweaver*.jar among the lib jars. */
static int find_agent(const char *lib, const struct strlist *jars, char **agent, char *err, size_t len)
{
	char found[2048] = "";
	size_t nfound = 0, off = 0;
	const char *first = NULL;

	for (size_t i = 0; i < jars->n; i++) {
		if (strncmp(base_name(jars->v[i]), "aspectjweaver", 13) != 0)
			continue;
		if (nfound++ == 0)
			first = jars->v[i];
		off += (size_t)snprintf(found + off, off < sizeof(found) ? sizeof(found) - off : 0, "%s%s/%s",
					off ? ", " : "", lib, jars->v[i]);
	}
	if (nfound == 0)
		return fail(err, len,
			    "broker.agent: the profiler is on but %s holds no aspectjweaver*.jar; put the AspectJ weaver "
			    "there, set broker.agent to its path, or set broker.profiler = no",
			    lib);
	if (nfound > 1)
		return fail(err, len,
			    "broker.agent: several AspectJ weavers in %s: %s; keep one, or name it with broker.agent",
			    lib, found);
	if (asprintf(agent, "%s/%s", lib, first) < 0)
		return fail(err, len, "out of memory");
	return 0;
}

static int add_glob(const char *pattern, struct strlist *cp, char *err, size_t len)
{
	glob_t g;
	int rc = glob(pattern, 0, NULL, &g);

	if (rc == GLOB_NOMATCH)
		return fail(err, len, "broker.classpath: '%s' matches nothing; fix the pattern or remove it", pattern);
	if (rc != 0)
		return fail(err, len, "broker.classpath: cannot expand '%s'", pattern);
	/* glob(3) sorts with strcoll; the launcher never sets a locale, so
	 * this is byte order like lib/ */
	for (size_t i = 0; i < g.gl_pathc; i++)
		strlist_add(cp, g.gl_pathv[i]);
	globfree(&g);
	return 0;
}

/* Java's own wildcard (a directory followed by slash-star) is handed to the JVM untouched. */
static int is_java_wildcard(const char *e)
{
	size_t n = strlen(e);
	return (n == 1 && e[0] == '*') || (n >= 2 && strcmp(e + n - 2, "/*") == 0 && strpbrk(e, "?[") == NULL &&
					   strchr(e, '*') == e + n - 1);
}

/* convert: the entries are converted for a Windows JVM afterwards, so the
 * launcher reads them as its own paths like a Unix JVM's. */
static int build_classpath(const struct command_params *p, int convert, struct strlist *cp, struct strlist *jars,
			   char *err, size_t len)
{
	int native_paths = strcmp(p->classpath_separator, "unix") == 0 || convert;

	if (*p->config_dir != '\0') {
		if (!is_dir(p->config_dir))
			return fail(err, len,
				    "broker.config_dir: %s is not a directory; create it, or set config_dir = (empty) "
				    "for no configuration directory",
				    p->config_dir);
		strlist_add(cp, p->config_dir);
	}
	if (*p->lib_dir != '\0') {
		if (!is_dir(p->lib_dir))
			return fail(err, len, "broker.lib_dir: %s is missing; point lib_dir at the broker's jars",
				    p->lib_dir);
		if (list_jars(p->lib_dir, "", p->lib_recursive, jars) != 0)
			return fail(err, len, "broker.lib_dir: cannot read %s: %s", p->lib_dir,
				    strerror(errno));
		qsort(jars->v, jars->n, sizeof(char *), cmp_str);
		for (size_t i = 0; i < jars->n; i++) {
			char *jar;
			if (asprintf(&jar, "%s/%s", p->lib_dir, jars->v[i]) < 0)
				return fail(err, len, "out of memory");
			strlist_add(cp, jar);
			free(jar);
		}
	}
	for (size_t i = 0; i < p->classpath.n; i++) {
		const char *e = p->classpath.v[i];
		char abs[4096];
		/* already the JVM's own (C:\x, \\server\x): nothing to read */
		if (convert && winpath_is_windows(e)) {
			strlist_add(cp, e);
			continue;
		}
		/* like every other path: relative to broker.home */
		if (native_paths && e[0] != '/') {
			snprintf(abs, sizeof(abs), "%s/%s", p->home, e);
			e = abs;
		}
		if (is_java_wildcard(e)) {
			strlist_add(cp, e);
		} else if (strpbrk(e, "*?[") != NULL) {
			if (add_glob(e, cp, err, len) != 0)
				return -1;
		} else {
			if (native_paths && access(e, F_OK) != 0)
				return fail(err, len, "broker.classpath: %s does not exist; fix or remove the entry", e);
			strlist_add(cp, e);
		}
	}
	return 0;
}

static int factory_cb(void *ud, const char *key, const char *value, int line)
{
	(void)line;
	if (strcmp(key, "com.adaptris.profiler.plugin.factory") == 0 && *value != '\0')
		*(int *)ud = 1;
	return 0;
}

/* adp-profiler.properties must sit in a classpath directory and name the
 * profiler's plugin factory, or the weaver loads and nothing happens. */
static int check_profiler_props(const struct strlist *cp, char *err, size_t len)
{
	char dirs[2048] = "";
	size_t off = 0;

	for (size_t i = 0; i < cp->n; i++) {
		char path[4096];
		FILE *fp;
		char buf[65536];
		size_t n;
		int found = 0;

		if (!is_dir(cp->v[i]))
			continue;
		off += (size_t)snprintf(dirs + off, off < sizeof(dirs) ? sizeof(dirs) - off : 0, "%s%s",
					off ? ", " : "", cp->v[i]);
		snprintf(path, sizeof(path), "%s/adp-profiler.properties", cp->v[i]);
		fp = fopen(path, "r");
		if (fp == NULL)
			continue;
		n = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		props_parse(buf, n, factory_cb, &found);
		if (!found)
			return fail(err, len,
				    "%s lacks com.adaptris.profiler.plugin.factory=...; add "
				    "com.adaptris.profiler.plugin.factory=com.adaptris.failover.plugin."
				    "FailoverInterlokPluginFactory",
				    path);
		return 0;
	}
	return fail(err, len,
		    "the profiler is on but no classpath directory (%s) holds adp-profiler.properties; create it in "
		    "the config directory, or set broker.profiler = no",
		    *dirs ? dirs : "none");
}

static int resolve_java(const struct command_params *p, char *const *env, char **java, char *err, size_t len)
{
	const char *how;

	if (*p->java != '\0' && strchr(p->java, '/') != NULL) {
		*java = strdup(p->java);
		how = "broker.java";
	} else if (*p->java == '\0' && *p->java_home != '\0') {
		if (asprintf(java, "%s/bin/java", p->java_home) < 0)
			*java = NULL;
		how = p->java_home_from_env ? "JAVA_HOME" : "broker.java_home";
	} else {
		const char *name = *p->java ? p->java : "java";
		const char *path = env_lookup(env, "PATH");
		char *copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin"), *save = NULL;

		*java = NULL;
		how = "PATH";
		for (char *d = strtok_r(copy, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
			char cand[4096];
			snprintf(cand, sizeof(cand), "%s/%s", d, name);
			if (is_file(cand) && access(cand, X_OK) == 0 && d[0] == '/') {
				*java = strdup(cand);
				break;
			}
		}
		free(copy);
		if (*java == NULL)
			return fail(err, len,
				    "java not found: no '%s' in PATH; set JAVA_HOME, broker.java_home or broker.java", name);
	}
	if (*java == NULL)
		return fail(err, len, "out of memory");
	if (!is_file(*java))
		return fail(err, len, "java not found: %s (from %s) does not exist; set JAVA_HOME or broker.java", *java,
			    how);
	if (access(*java, X_OK) != 0)
		return fail(err, len, "java not executable: %s (from %s); fix its permissions or set broker.java", *java,
			    how);
	return 0;
}

int command_env_stripped(const char *kv)
{
	for (const char *const *s = command_stripped_env; *s; s++) {
		size_t n = strlen(*s);
		if (strncmp(kv, *s, n) == 0 && kv[n] == '=')
			return 1;
	}
	return 0;
}

static int add_var(struct strlist *env, const char *name, const char *value)
{
	char *kv;
	int rc;

	if (value == NULL)
		return 0;
	if (asprintf(&kv, "FAILOVER_%s=%s", name, value) < 0)
		return -1;
	rc = strlist_add(env, kv);
	free(kv);
	return rc;
}

/* The variables command_failover_env owns, without the FAILOVER_ prefix. */
static const char *const failover_vars[] = {"EVENT", "ROLE", "NODE", "MASTER", "TERM", "CLUSTER", "CACHE", "BROKER_URL", "CHECK_TIMEOUT_MS",
					     "CACHE_PORT", NULL};

int command_failover_var(const char *kv)
{
	if (strncmp(kv, "FAILOVER_", 9) != 0)
		return 0;
	for (const char *const *v = failover_vars; *v; v++) {
		size_t n = strlen(*v);
		if (strncmp(kv + 9, *v, n) == 0 && kv[9 + n] == '=')
			return 1;
	}
	return 0;
}

int command_failover_env(struct strlist *env, const struct command_failover *f)
{
	char term[24], timeout[24];
	const char *cache = f->cache != NULL && *f->cache != '\0' ? f->cache : NULL;
	const char *colon = cache != NULL ? strrchr(cache, ':') : NULL;
	size_t kept = 0;

	/* a value inherited from the launcher's own environment (a launcher
	 * started from a hook, a test harness) must not reach the child beside
	 * ours: the first one found would win, and FAILOVER_TERM is a fencing
	 * token */
	for (size_t i = 0; i < env->n; i++) {
		if (command_failover_var(env->v[i]))
			free(env->v[i]);
		else
			env->v[kept++] = env->v[i];
	}
	env->n = kept;
	if (env->v != NULL)
		env->v[kept] = NULL;
	snprintf(term, sizeof(term), "%llu", (unsigned long long)f->term);
	snprintf(timeout, sizeof(timeout), "%llu", (unsigned long long)f->check_timeout_ms);
	if (add_var(env, "EVENT", f->event) != 0 || add_var(env, "ROLE", f->role) != 0 ||
	    add_var(env, "NODE", f->node) != 0 || add_var(env, "MASTER", f->master) != 0 ||
	    add_var(env, "TERM", term) != 0 || add_var(env, "CLUSTER", f->cluster) != 0 ||
	    add_var(env, "CACHE", cache) != 0 || add_var(env, "CACHE_PORT", colon ? colon + 1 : NULL) != 0 ||
	    add_var(env, "BROKER_URL", f->broker_url) != 0 ||
	    add_var(env, "CHECK_TIMEOUT_MS", f->check_timeout_ms != 0 ? timeout : NULL) != 0)
		return -1;
	return 0;
}

int command_child_env(struct strlist *env, char *const *base, const struct command_failover *f)
{
	for (char *const *v = base; v != NULL && *v != NULL; v++)
		if (!command_env_stripped(*v) && strlist_add(env, *v) != 0)
			return -1;
	return command_failover_env(env, f);
}

static int build_env(const struct command_params *p, char *const *env, struct command *cmd)
{
	for (char *const *e = env; e != NULL && *e != NULL; e++) {
		int keep = !command_env_stripped(*e);
		/* a configured variable replaces the inherited one */
		for (size_t i = 0; keep && i < p->env.n; i++) {
			size_t n = (size_t)(strchr(p->env.v[i], '=') - p->env.v[i]);
			if (strncmp(*e, p->env.v[i], n + 1) == 0)
				keep = 0;
		}
		if (keep && strlist_add(&cmd->envp, *e) != 0)
			return -1;
	}
	for (size_t i = 0; i < p->env.n; i++)
		if (strlist_add(&cmd->envp, p->env.v[i]) != 0 || strlist_add(&cmd->setenv, p->env.v[i]) != 0)
			return -1;
	return 0;
}

static char *join(const struct strlist *l, const char *sep)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < l->n; i++)
		len += strlen(l->v[i]) + strlen(sep);
	s = p = malloc(len);
	if (s == NULL)
		return NULL;
	*s = '\0';
	for (size_t i = 0; i < l->n; i++)
		p += sprintf(p, "%s%s", i ? sep : "", l->v[i]);
	return s;
}

static int win_path(const struct winpath_table *t, const char *what, const char *path, char **out, char *err,
		    size_t len);

/*
 * Class-data sharing: a dynamic archive of the broker's classes, written by
 * the JVM when it exits (-XX:ArchiveClassesAtExit) and mapped at the next
 * start (-XX:SharedArchiveFile).  Its name carries a digest of the java
 * binary, the JVM options and the classpath, so a change of any of them
 * makes a new archive instead of feeding the JVM a stale one.  The JVM
 * refuses an archive with a non-empty directory on the classpath.
 */
/* FNV-1a over a word and a separator, so "ab","c" and "a","bc" differ. */
static uint64_t fnv_word(uint64_t h, const char *w)
{
	static const uint8_t sep = 0xff;

	return hash_fnv1a(hash_fnv1a_str(h, w), &sep, 1);
}

static int cds(const struct command_params *p, const struct winpath_table *win, struct command *cmd,
	       const struct strlist *cp, char *err, size_t len)
{
	uint64_t h = HASH_FNV1A_INIT;
	struct stat st;

	for (size_t i = 0; i < cp->n; i++) {
		DIR *d;
		struct dirent *e;
		int empty = 1;
		if (!is_dir(cp->v[i]))
			continue;
		d = opendir(cp->v[i]);
		while (d && (e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				empty = 0;
		if (d)
			closedir(d);
		if (!empty)
			return fail(err, len,
				    "broker.cds: the JVM refuses a class-data archive with a non-empty directory (%s) on "
				    "the classpath; move its files into a jar, or set broker.cds = no",
				    cp->v[i]);
	}
	for (size_t i = 0; i < cmd->argv.n; i++) /* java and the JVM options so far */
		h = fnv_word(h, cmd->argv.v[i]);
	for (size_t i = 0; i < cp->n; i++)
		h = fnv_word(h, cp->v[i]);
	if (asprintf(&cmd->cds_archive, "%s/broker-%016llx.jsa", p->state_dir, (unsigned long long)h) < 0)
		return fail(err, len, "out of memory");
	cmd->cds_exists = stat(cmd->cds_archive, &st) == 0 && st.st_size > 0;
	{
		char *opt, *w = NULL;
		int rc;
		if (win != NULL && win_path(win, "broker.cds", cmd->cds_archive, &w, err, len) != 0)
			return -1;
		rc = asprintf(&opt, "-XX:%s=%s", cmd->cds_exists ? "SharedArchiveFile" : "ArchiveClassesAtExit",
			      w != NULL ? w : cmd->cds_archive);
		free(w);
		if (rc < 0)
			return fail(err, len, "out of memory");
		strlist_add(&cmd->argv, opt);
		free(opt);
	}
	return 0;
}

/*
 * The warm standby (broker.warm_standby): its helper jar joins the end of
 * the classpath of every JVM the broker runs in, cold or warm, so that one
 * class-data archive serves both.  Its class list is named, like the
 * archive, by a digest (warm_list).
 *
 * JVM options and properties that open a port or a file of their own at
 * JVM start are refused: a standby would open them too, beside the
 * broker's (the same port taken, the same log file written by two JVMs).
 */
static const char *const warm_refused[] = {
	"-agentlib:jdwp", "-Xrunjdwp", "-Xloggc:", "-XX:StartFlightRecording",
	"com.sun.management.jmxremote.port=", "com.sun.management.jmxremote.rmi.port=",
};

/* o: a JVM option, or a property NAME=VALUE */
static const char *warm_opens(const char *o)
{
	const char *prop = strncmp(o, "-D", 2) == 0 ? o + 2 : o;

	for (size_t i = 0; i < sizeof(warm_refused) / sizeof(warm_refused[0]); i++)
		if (strncmp(o, warm_refused[i], strlen(warm_refused[i])) == 0 ||
		    strncmp(prop, warm_refused[i], strlen(warm_refused[i])) == 0)
			return warm_refused[i];
	/* unified logging to a file */
	if (strncmp(o, "-Xlog", 5) == 0 && strstr(o, "file=") != NULL)
		return "-Xlog:...:file=";
	return NULL;
}

static int warm_check(const struct command_params *p, struct strlist *cp, char *err, size_t len)
{
	const struct {
		const char *key;
		const struct strlist *l;
	} opts[] = {{"jvm_option", &p->jvm_option}, {"property", &p->property}};

	for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++)
		for (size_t i = 0; i < opts[k].l->n; i++)
			if (warm_opens(opts[k].l->v[i]) != NULL)
				return fail(err, len,
					    "broker.warm_standby: broker.%s %s would be opened by the standby "
					    "JVM too (a port or a file beside the broker's); remove it, or set "
					    "broker.warm_standby = no",
					    opts[k].key, opts[k].l->v[i]);
	if (strcmp(p->classpath_separator, "unix") != 0)
		return fail(err, len, "broker.warm_standby: not with classpath_separator = windows (a native Windows JVM); "
				      "set broker.warm_standby = no");
	if (p->warm_jar == NULL || !is_file(p->warm_jar))
		return fail(err, len,
			    "broker.warm_jar: %s does not exist (it is built where a JDK is there: Debian's "
			    "openjdk-17-jdk-headless); fix the path or set broker.warm_standby = no",
			    p->warm_jar != NULL ? p->warm_jar : "");
	return strlist_add(cp, p->warm_jar) != 0 ? fail(err, len, "out of memory") : 0;
}

static int is_cds_option(const char *a)
{
	return strncmp(a, "-XX:SharedArchiveFile=", 22) == 0 || strncmp(a, "-XX:ArchiveClassesAtExit=", 25) == 0;
}

/* over the whole command (what an initializer may read: properties, main
 * class, arguments), but the CDS option that flips after the first run */
static int warm_list(const struct command_params *p, struct command *cmd, char *err, size_t len)
{
	uint64_t h = HASH_FNV1A_INIT;
	struct stat st;

	for (size_t i = 0; i < cmd->argv.n; i++)
		if (!is_cds_option(cmd->argv.v[i]))
			h = fnv_word(h, cmd->argv.v[i]);
	if (asprintf(&cmd->warm_list, "%s/broker-%016llx.classes", p->state_dir, (unsigned long long)h) < 0)
		return fail(err, len, "out of memory");
	cmd->warm_list_exists = stat(cmd->warm_list, &st) == 0 && st.st_size > 0;
	return 0;
}

int command_warm_argv(const struct command *cmd, const char *dump, int standby, int init, struct strlist *argv)
{
	char *s = NULL;
	int bad = 0;

	memset(argv, 0, sizeof(*argv));
	for (size_t i = 0; i < cmd->argv.n && !bad; i++) {
		if (i == 1 && dump != NULL) {
			bad |= asprintf(&s, "-XX:DumpLoadedClassList=%s", dump) < 0 || strlist_add(argv, s) != 0;
			free(s);
			s = NULL;
		}
		if (i == cmd->main_at && standby) {
			bad |= strlist_add(argv, "-Dfailover.warm=standby") != 0;
			bad |= strlist_add(argv, init ? "-Dfailover.warm.init=true" : "-Dfailover.warm.init=false") != 0;
			if (cmd->warm_list != NULL && cmd->warm_list_exists) {
				bad |= asprintf(&s, "-Dfailover.warm.classes=%s", cmd->warm_list) < 0 ||
				       strlist_add(argv, s) != 0;
				free(s);
				s = NULL;
			}
			bad |= strlist_add(argv, COMMAND_WARM_CLASS) != 0;
		}
		/* a standby that exits without having been the broker would
		 * write the broker's archive from its own classes */
		if (standby && strncmp(cmd->argv.v[i], "-XX:ArchiveClassesAtExit=", 25) == 0)
			continue;
		bad |= strlist_add(argv, cmd->argv.v[i]) != 0;
	}
	if (bad || argv->v == NULL) {
		strlist_clear(argv);
		return -1;
	}
	return 0;
}

/*
 * A native Windows JVM (classpath_separator = windows) on Cygwin, MSYS2 or
 * WSL: the launcher reads and checks its Unix paths, the JVM gets each path
 * on its command line converted through the host's mount table.  The java
 * binary and the working directory stay Unix paths: the launcher uses them.
 */
#if defined(__MSYS__)
#define HOST_PATH_STYLE WINPATH_MSYS2
#elif defined(__CYGWIN__)
#define HOST_PATH_STYLE WINPATH_CYGWIN
#else
/* a Linux launcher with a Windows JVM is on WSL */
#define HOST_PATH_STYLE WINPATH_WSL
#endif

static int load_winpaths(const struct command_params *p, char *const *env, struct winpath_table *t, char *err,
			 size_t len)
{
	const char *file = *p->mount_table != '\0' ? p->mount_table : "/proc/mounts";
	int style = winpath_style_parse(p->path_style);
	char *text = NULL;
	size_t n;
	int rc;

	if (file_read_all(file, &text, &n) != 0) {
		/* no /proc/mounts: the convention's defaults alone */
		if (*p->mount_table != '\0' || errno != ENOENT)
			return fail(err, len,
				    "broker.mount_table: cannot read %s: %s; point mount_table at the host's mount table "
				    "(the output of `mount` will do)",
				    file, strerror(errno));
		text = NULL;
	}
	if (style == WINPATH_AUTO)
		style = winpath_detect(text != NULL ? text : "", HOST_PATH_STYLE);
	rc = winpath_table_parse(t, (enum winpath_style)style, text != NULL ? text : "",
				 env_lookup(env, "WSL_DISTRO_NAME"));
	free(text);
	return rc != 0 ? fail(err, len, "out of memory") : 0;
}

/* what's path in the JVM's form into *out (malloc'd). */
static int win_path(const struct winpath_table *t, const char *what, const char *path, char **out, char *err,
		    size_t len)
{
	char why[1024];

	if (winpath_convert(t, path, out, why, sizeof(why)) != 0)
		return fail(err, len, "%s: %s", what, why);
	return 0;
}

/* An argument or a property's value the JVM opens: an absolute path that
 * exists (a URL path or a name that only looks like a path stays as is). */
static int names_file(const char *v)
{
	return v[0] == '/' && access(v, F_OK) == 0;
}

/* "-DNAME=VALUE" (prefix "-D") or "NAME=VALUE" (prefix "") with a VALUE
 * naming a file: the value converted.  *out malloc'd. */
static int win_property(const struct winpath_table *t, const char *what, const char *prefix, const char *kv,
			char **out, char *err, size_t len)
{
	const char *eq = strchr(kv, '=');
	char *v;
	int rc;

	if (t == NULL || eq == NULL || !names_file(eq + 1)) {
		if (asprintf(out, "%s%s", prefix, kv) < 0)
			return fail(err, len, "out of memory");
		return 0;
	}
	if (win_path(t, what, eq + 1, &v, err, len) != 0)
		return -1;
	rc = asprintf(out, "%s%.*s=%s", prefix, (int)(eq - kv), kv, v);
	free(v);
	return rc < 0 ? fail(err, len, "out of memory") : 0;
}

int command_build_params(const struct command_params *p, char *const *env, struct command *cmd, char *err,
			 size_t errlen)
{
	struct strlist cp = {0}, jars = {0}, wcp = {0};
	struct winpath_table wt = {0};
	const struct winpath_table *win = NULL; /* converting for a Windows JVM */
	const struct strlist *jvm_cp = &cp;
	char *s = NULL, *w = NULL;
	int rc = -1;

	memset(cmd, 0, sizeof(*cmd));
	for (size_t i = 0; i < p->jvm_option.n; i++)
		if (strcmp(p->jvm_option.v[i], "-jar") == 0) {
			fail(err, errlen,
			     "broker.jvm_option: -jar is not supported: java ignores -cp with it and the weaver misses "
			     "classes; give broker.main_class instead");
			goto out;
		}
	if (strcmp(p->classpath_separator, "windows") == 0 && strcmp(p->path_style, "none") != 0) {
		if (load_winpaths(p, env, &wt, err, errlen) != 0)
			goto out;
		win = &wt;
	}
	if (resolve_java(p, env, &cmd->java, err, errlen) != 0)
		goto out;
	if (build_classpath(p, win != NULL, &cp, &jars, err, errlen) != 0)
		goto out;
	if (p->warm && warm_check(p, &cp, err, errlen) != 0)
		goto out;
	if (p->profiler) {
		if (*p->agent != '\0') {
			if (!is_file(p->agent)) {
				fail(err, errlen, "broker.agent: %s does not exist; install the AspectJ weaver or fix the path",
				     p->agent);
				goto out;
			}
			cmd->agent = strdup(p->agent);
		} else if (find_agent(p->lib_dir, &jars, &cmd->agent, err, errlen) != 0) {
			goto out;
		}
		if (check_profiler_props(&cp, err, errlen) != 0)
			goto out;
	}
	if (win != NULL) {
		for (size_t i = 0; i < cp.n; i++) {
			if (win_path(win, "broker.classpath", cp.v[i], &w, err, errlen) != 0)
				goto out;
			if (strlist_add(&wcp, w) != 0)
				goto oom;
			free(w);
			w = NULL;
		}
		jvm_cp = &wcp;
	}

	strlist_add(&cmd->argv, cmd->java);
	for (size_t i = 0; i < p->jvm_option.n; i++) {
		const char *o = p->jvm_option.v[i];
		/* -Dname=/a/file among the options too */
		if (strncmp(o, "-D", 2) == 0) {
			if (win_property(win, "broker.jvm_option", "-D", o + 2, &s, err, errlen) != 0)
				goto out;
			strlist_add(&cmd->argv, s);
			free(s);
		} else {
			strlist_add(&cmd->argv, o);
		}
	}
	if (p->cds && cds(p, win, cmd, &cp, err, errlen) != 0)
		goto out;
	if (cmd->agent != NULL) {
		if (win != NULL && win_path(win, "broker.agent", cmd->agent, &w, err, errlen) != 0)
			goto out;
		if (asprintf(&s, "-javaagent:%s", w != NULL ? w : cmd->agent) < 0)
			goto oom;
		strlist_add(&cmd->argv, s);
		free(s);
		free(w);
		w = NULL;
		/* a resource name as a rule; an absolute path is a file */
		if (win != NULL && p->aop_config[0] == '/' &&
		    win_path(win, "broker.aop_config", p->aop_config, &w, err, errlen) != 0)
			goto out;
		if (asprintf(&s, "-Dorg.aspectj.weaver.loadtime.configuration=%s", w != NULL ? w : p->aop_config) < 0)
			goto oom;
		strlist_add(&cmd->argv, s);
		free(s);
		free(w);
		w = NULL;
	}
	for (size_t i = 0; i < p->property.n; i++) {
		if (win_property(win, "broker.property", "-D", p->property.v[i], &s, err, errlen) != 0)
			goto out;
		strlist_add(&cmd->argv, s);
		free(s);
	}
	if (cp.n > 0) {
		s = join(jvm_cp, strcmp(p->classpath_separator, "windows") == 0 ? ";" : ":");
		if (s == NULL)
			goto oom;
		strlist_add(&cmd->argv, "-cp");
		strlist_add(&cmd->argv, s);
		free(s);
	}
	s = NULL;
	cmd->main_at = cmd->argv.n;
	strlist_add(&cmd->argv, p->main_class);
	for (size_t i = 0; i < p->argument.n; i++) {
		const char *a = p->argument.v[i];
		/* the bootstrap properties, by default */
		if (win != NULL && names_file(a)) {
			if (win_path(win, "broker.argument", a, &w, err, errlen) != 0)
				goto out;
			strlist_add(&cmd->argv, w);
			free(w);
			w = NULL;
		} else {
			strlist_add(&cmd->argv, a);
		}
	}
	if (p->warm && warm_list(p, cmd, err, errlen) != 0)
		goto out;
	if (build_env(p, env, cmd) != 0)
		goto oom;
	cmd->cwd = strdup(p->working_dir);
	if (cmd->cwd == NULL || cmd->argv.v == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	fail(err, errlen, "out of memory");
out:
	free(w);
	strlist_clear(&cp);
	strlist_clear(&wcp);
	strlist_clear(&jars);
	winpath_table_free(&wt);
	if (rc != 0)
		command_free(cmd);
	return rc;
}

void command_free(struct command *cmd)
{
	strlist_clear(&cmd->argv);
	strlist_clear(&cmd->envp);
	strlist_clear(&cmd->setenv);
	free(cmd->cwd);
	free(cmd->java);
	free(cmd->agent);
	free(cmd->cds_archive);
	free(cmd->warm_list);
	memset(cmd, 0, sizeof(*cmd));
}

char *command_quote(const char *arg)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-";
	size_t n = 3;
	char *q, *p;

	if (*arg != '\0' && strspn(arg, safe) == strlen(arg))
		return strdup(arg);
	for (const char *a = arg; *a; a++)
		n += *a == '\'' ? 4 : 1;
	q = p = malloc(n);
	if (q == NULL)
		return NULL;
	*p++ = '\'';
	for (const char *a = arg; *a; a++) {
		if (*a == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *a;
		}
	}
	*p++ = '\'';
	*p = '\0';
	return q;
}

static void print_quoted(FILE *out, const char *s, const char *sep)
{
	char *q = command_quote(s);

	fprintf(out, "%s%s", sep, q ? q : "''");
	free(q);
}

void command_print_line(const struct command *cmd, FILE *out)
{
	const char *sep = "";

	/* the broker starts in its working directory: a line a shell runs as
	 * is starts there too */
	if (cmd->cwd != NULL && *cmd->cwd != '\0') {
		print_quoted(out, "cd", "");
		print_quoted(out, cmd->cwd, " ");
		fputs(" &&", out);
		sep = " ";
	}
	for (size_t i = 0; i < cmd->setenv.n; i++) {
		const char *eq = strchr(cmd->setenv.v[i], '=');
		fprintf(out, "%s%.*s=", sep, (int)(eq - cmd->setenv.v[i]), cmd->setenv.v[i]);
		print_quoted(out, eq + 1, "");
		sep = " ";
	}
	for (size_t i = 0; i < cmd->argv.n; i++) {
		print_quoted(out, cmd->argv.v[i], sep);
		sep = " ";
	}
	fputc('\n', out);
}

void command_print_lines(const struct command *cmd, FILE *out)
{
	for (size_t i = 0; i < cmd->argv.n; i++)
		fprintf(out, "%s\n", cmd->argv.v[i]);
}

static int copy_str(char **to, const char *from)
{
	*to = strdup(from != NULL ? from : "");
	return *to == NULL ? -1 : 0;
}

int command_params_from_config(struct command_params *p, const struct config *c)
{
	memset(p, 0, sizeof(*p));
	p->java_home_from_env = c->origin[CFG_broker_java_home].level == CFG_FROM_ENV;
	p->lib_recursive = c->broker_lib_recursive;
	p->profiler = c->broker_profiler;
	p->cds = c->broker_cds;
	p->warm = strcmp(c->broker_warm_standby, "init") == 0 ? 2 : strcmp(c->broker_warm_standby, "load") == 0;
	if (copy_str(&p->home, c->broker_home) != 0 || copy_str(&p->java, c->broker_java) != 0 ||
	    copy_str(&p->java_home, c->broker_java_home) != 0 || copy_str(&p->config_dir, c->broker_config_dir) != 0 ||
	    copy_str(&p->lib_dir, c->broker_lib_dir) != 0 || copy_str(&p->agent, c->broker_agent) != 0 ||
	    copy_str(&p->aop_config, c->broker_aop_config) != 0 || copy_str(&p->main_class, c->broker_main_class) != 0 ||
	    copy_str(&p->working_dir, c->broker_working_dir) != 0 ||
	    copy_str(&p->classpath_separator, c->broker_classpath_separator) != 0 ||
	    copy_str(&p->path_style, c->broker_path_style) != 0 || copy_str(&p->mount_table, c->broker_mount_table) != 0 ||
	    copy_str(&p->state_dir, c->cluster_state_dir) != 0 || copy_str(&p->warm_jar, c->broker_warm_jar) != 0 ||
	    strlist_copy(&p->classpath, &c->broker_classpath) != 0 ||
	    strlist_copy(&p->jvm_option, &c->broker_jvm_option) != 0 ||
	    strlist_copy(&p->property, &c->broker_property) != 0 ||
	    strlist_copy(&p->argument, &c->broker_argument) != 0 || strlist_copy(&p->env, &c->broker_env) != 0) {
		command_params_free(p);
		return -1;
	}
	return 0;
}

void command_params_free(struct command_params *p)
{
	char **strs[] = {&p->home,	 &p->java,	 &p->java_home,	 &p->config_dir,	  &p->lib_dir,	&p->agent,
			 &p->aop_config, &p->main_class, &p->working_dir, &p->classpath_separator, &p->state_dir,
			 &p->path_style, &p->mount_table, &p->warm_jar};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
	strlist_clear(&p->classpath);
	strlist_clear(&p->jvm_option);
	strlist_clear(&p->property);
	strlist_clear(&p->argument);
	strlist_clear(&p->env);
}

int command_build(const struct config *c, char *const *env, struct command *cmd, char *err, size_t errlen)
{
	struct command_params p;
	int rc;

	memset(cmd, 0, sizeof(*cmd));
	if (command_params_from_config(&p, c) != 0) {
		fail(err, errlen, "out of memory");
		return -1;
	}
	rc = command_build_params(&p, env, cmd, err, errlen);
	command_params_free(&p);
	return rc;
}
