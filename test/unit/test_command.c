/* Unit tests of the broker command builder against test/fixtures/interlok
 * (empty placeholder jars) and temporary trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "command.h"
#include "config.h"
#include "testutil.h"

#define TREE FIXTURES "/interlok"

struct fx {
	char *dir;     /* temporary: INI files, a fake java */
	char *java;    /* an executable file standing in for java */
	struct config *c;
	struct command cmd;
	char err[2048];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->dir = tu_mkdtemp();
	f->java = tu_write(f->dir, "java", "#!/bin/sh\n");
	chmod(f->java, 0755);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	command_free(&f->cmd);
	config_free(f->c);
	tu_rmrf(f->dir);
	free(f->dir);
	free(f->java);
	free(f);
	return 0;
}

/* EXTRA sets KEY on a line of its own */
static int has_key(const char *extra, const char *key)
{
	size_t n = strlen(key);

	for (const char *l = extra; l != NULL && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, n) == 0 && (l[n] == ' ' || l[n] == '='))
			return 1;
	return 0;
}

/* Loads "[broker]\nhome = TREE\njava = fake\n" plus extra lines, then builds. */
static int build_env(struct fx *f, const char *extra, char *const *env)
{
	char ini[4096];
	char *p;
	size_t o;

	/* EXTRA's own home or java replaces the default (a scalar key is
	 * refused when given twice in one file) */
	o = (size_t)snprintf(ini, sizeof(ini), "[broker]\n");
	if (!has_key(extra, "home"))
		o += (size_t)snprintf(ini + o, sizeof(ini) - o, "home = %s\n", TREE);
	if (!has_key(extra, "java"))
		o += (size_t)snprintf(ini + o, sizeof(ini) - o, "java = %s\n", f->java);
	snprintf(ini + o, sizeof(ini) - o, "%s", extra);
	p = tu_write(f->dir, "c.ini", ini);
	config_free(f->c);
	f->c = config_new();
	if (config_load(f->c, p, NULL, env) != 0) {
		for (size_t i = 0; i < f->c->errors.n; i++)
			print_error("%s\n", f->c->errors.v[i]);
		fail_msg("configuration refused");
	}
	free(p);
	command_free(&f->cmd);
	return command_build(f->c, env, &f->cmd, f->err, sizeof(f->err));
}

static int build(struct fx *f, const char *extra)
{
	static char *env[] = {"PATH=/usr/bin:/bin", NULL};
	return build_env(f, extra, env);
}

static int index_of(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return (int)i;
	return -1;
}

static const char *after(const struct strlist *l, const char *s)
{
	int i = index_of(l, s);
	return i >= 0 && (size_t)i + 1 < l->n ? l->v[i + 1] : NULL;
}

static void interlok_order(void **state)
{
	struct fx *f = *state;
	const struct strlist *a;
	int agent, aop, mainc;

	assert_int_equal(build(f, "bootstrap = config/bootstrap.properties\njvm_option = -Xmx64m\n"
				  "property = p=1\n"), 0);
	a = &f->cmd.argv;
	assert_string_equal(a->v[0], f->java);
	assert_string_equal(a->v[1], "-Xmx64m");
	agent = index_of(a, "-javaagent:" TREE "/lib/aspectjweaver-1.9.5.jar");
	aop = index_of(a, "-Dorg.aspectj.weaver.loadtime.configuration=META-INF/profiler-aop.xml");
	mainc = index_of(a, "com.adaptris.core.management.SimpleBootstrap");
	assert_true(agent > 1 && aop == agent + 1 && mainc > aop);
	assert_true(index_of(a, "-Dp=1") > aop && index_of(a, "-Dp=1") < mainc);
	assert_int_equal(index_of(a, "-jar"), -1);
	assert_string_equal(a->v[mainc + 1], TREE "/config/bootstrap.properties");
	assert_int_equal((size_t)mainc + 2, a->n);
}

static void classpath_sorted_bytewise(void **state)
{
	struct fx *f = *state;
	assert_int_equal(build(f, ""), 0);
	/* config first; then byte order: 'Z' < 'a', '-' < '.' < '_' ; lib.txt is no jar;
	 * optional/ only when recursive */
	assert_string_equal(after(&f->cmd.argv, "-cp"),
			    TREE "/config:" TREE "/lib/Zeta.jar:" TREE "/lib/a-core.jar:" TREE
				 "/lib/aspectjweaver-1.9.5.jar:" TREE "/lib/b_util.jar:" TREE "/lib/interlok-core.jar:" TREE
				 "/lib/interlok.jar");
}

static void classpath_recursive_extra_and_windows_separator(void **state)
{
	struct fx *f = *state;
	char extra[1024];

	snprintf(extra, sizeof(extra),
		 "lib_recursive = yes\nclasspath = %s/lib/optional/*\nclasspath = %s/lib/[ab]*.jar\n"
		 "classpath_separator = windows\npath_style = none\n", TREE, TREE);
	assert_int_equal(build(f, extra), 0);
	assert_string_equal(after(&f->cmd.argv, "-cp"),
			    TREE "/config;" TREE "/lib/Zeta.jar;" TREE "/lib/a-core.jar;" TREE
				 "/lib/aspectjweaver-1.9.5.jar;" TREE "/lib/b_util.jar;" TREE "/lib/interlok-core.jar;" TREE
				 "/lib/interlok.jar;" TREE "/lib/optional/opt.jar;"
				 /* Java's own wildcard kept, a glob expanded in order */
				 TREE "/lib/optional/*;" TREE "/lib/a-core.jar;" TREE "/lib/aspectjweaver-1.9.5.jar;" TREE
				 "/lib/b_util.jar");
}

/* index of the argument starting with prefix, or -1 */
static int index_prefix(const struct strlist *l, const char *prefix)
{
	for (size_t i = 0; i < l->n; i++)
		if (strncmp(l->v[i], prefix, strlen(prefix)) == 0)
			return (int)i;
	return -1;
}

/* A native Windows JVM on Cygwin: every path on its command line through
 * the mount table, the java binary left for the launcher to exec. */
static void windows_jvm_paths_cygwin(void **state)
{
	struct fx *f = *state;
	char extra[2048], *mounts;
	const struct strlist *a;
	int mainc;

	mounts = tu_write(f->dir, "mounts",
			  "C:/cygwin64 / ntfs binary,auto 1 1\n"
			  "D:/fx " FIXTURES " ntfs binary 1 1\n"
			  "C: /cygdrive/c ntfs binary,posix=0,user,noumount,auto 1 1\n");
	snprintf(extra, sizeof(extra),
		 "bootstrap = config/bootstrap.properties\nclasspath_separator = windows\npath_style = cygwin\n"
		 "mount_table = %s\nclasspath = C:/extra/x.jar\nclasspath = %s/lib/a-core.jar\n"
		 "property = boot=%s/config/bootstrap.properties\nproperty = url=/api\n"
		 "jvm_option = -Dlog.dir=%s/lib\n",
		 mounts, TREE, TREE, TREE);
	assert_int_equal(build(f, extra), 0);
	a = &f->cmd.argv;
	assert_string_equal(a->v[0], f->java);
	assert_string_equal(a->v[1], "-Dlog.dir=D:\\fx\\interlok\\lib");
	assert_true(index_of(a, "-javaagent:D:\\fx\\interlok\\lib\\aspectjweaver-1.9.5.jar") > 0);
	assert_true(index_of(a, "-Dorg.aspectj.weaver.loadtime.configuration=META-INF/profiler-aop.xml") > 0);
	assert_true(index_of(a, "-Dboot=D:\\fx\\interlok\\config\\bootstrap.properties") > 0);
	assert_true(index_of(a, "-Durl=/api") > 0);
	assert_string_equal(after(a, "-cp"),
			    "D:\\fx\\interlok\\config;D:\\fx\\interlok\\lib\\Zeta.jar;D:\\fx\\interlok\\lib\\a-core.jar;"
			    "D:\\fx\\interlok\\lib\\aspectjweaver-1.9.5.jar;D:\\fx\\interlok\\lib\\b_util.jar;"
			    "D:\\fx\\interlok\\lib\\interlok-core.jar;D:\\fx\\interlok\\lib\\interlok.jar;"
			    /* a Windows entry is the JVM's own: as it is */
			    "C:/extra/x.jar;D:\\fx\\interlok\\lib\\a-core.jar");
	mainc = index_of(a, "com.adaptris.core.management.SimpleBootstrap");
	assert_string_equal(a->v[mainc + 1], "D:\\fx\\interlok\\config\\bootstrap.properties");
	/* the launcher's own view is unchanged */
	assert_string_equal(f->cmd.agent, TREE "/lib/aspectjweaver-1.9.5.jar");
	assert_string_equal(f->cmd.cwd, TREE);
	free(mounts);
}

/* auto: a WSL mount table (drvfs) decides the convention; the CDS archive
 * in state_dir is a path of the JVM too. */
static void windows_jvm_paths_wsl_auto_and_cds(void **state)
{
	struct fx *f = *state;
	char extra[2048], *mounts;
	int i;

	mounts = tu_write(f->dir, "mounts",
			  "/dev/sdc / ext4 rw,relatime 0 0\n"
			  "drvfs " FIXTURES " 9p rw,noatime,aname=drvfs;path=E:\\;symlinkroot=/mnt/,mmap 0 0\n");
	snprintf(extra, sizeof(extra),
		 "classpath_separator = windows\nmount_table = %s\nconfig_dir =\nprofiler = no\ncds = yes\n"
		 "[cluster]\nstate_dir = " FIXTURES "/interlok/lib\n",
		 mounts);
	assert_int_equal(build(f, extra), 0);
	assert_string_equal(after(&f->cmd.argv, "-cp"),
			    "E:\\interlok\\lib\\Zeta.jar;E:\\interlok\\lib\\a-core.jar;"
			    "E:\\interlok\\lib\\aspectjweaver-1.9.5.jar;E:\\interlok\\lib\\b_util.jar;"
			    "E:\\interlok\\lib\\interlok-core.jar;E:\\interlok\\lib\\interlok.jar");
	i = index_prefix(&f->cmd.argv, "-XX:ArchiveClassesAtExit=E:\\interlok\\lib\\broker-");
	assert_true(i > 0);
	/* the launcher checks and names the archive by its own path */
	assert_true(strncmp(f->cmd.cds_archive, TREE "/lib/broker-", strlen(TREE "/lib/broker-")) == 0);
	free(mounts);
}

static void windows_jvm_paths_errors(void **state)
{
	struct fx *f = *state;
	char extra[2048], *mounts;

	/* MSYS2 with no mount holding the tree */
	mounts = tu_write(f->dir, "mounts", "C: /c ntfs binary,noacl,posix=0,user,noumount,auto 1 1\n");
	snprintf(extra, sizeof(extra), "classpath_separator = windows\npath_style = msys2\nmount_table = %s\n",
		 mounts);
	assert_int_equal(build(f, extra), -1);
	assert_non_null(strstr(f->err, "broker.classpath: " TREE "/config has no Windows path for the JVM"));
	free(mounts);
	snprintf(extra, sizeof(extra), "classpath_separator = windows\nmount_table = %s/nomounts\n", f->dir);
	assert_int_equal(build(f, extra), -1);
	assert_non_null(strstr(f->err, "broker.mount_table: cannot read"));
	/* the unix separator never reads it */
	assert_int_equal(build(f, extra + strlen("classpath_separator = windows\n")), 0);
}

/* warm_standby: the helper jar ends every classpath (one CDS archive for
 * cold and warm JVMs); the standby's argv puts its marker, the list and the
 * helper class where the main class was; the list's name does not follow
 * the CDS option that flips after the first run. */
static void warm_standby_command(void **state)
{
	struct fx *f = *state;
	char extra[2048], *jar, *list, *cp;
	struct strlist w;
	int m;
	size_t n;

	jar = tu_write(f->dir, "failover-warm.jar", "PK");
	snprintf(extra, sizeof(extra),
		 "profiler = no\nconfig_dir =\nwarm_standby = init\nwarm_jar = %s\nargument = a1\n[cluster]\nstate_dir = %s\n", jar,
		 f->dir);
	assert_int_equal(build(f, extra), 0);
	cp = (char *)after(&f->cmd.argv, "-cp");
	assert_non_null(cp);
	n = strlen(cp);
	assert_true(n > strlen(jar) && strcmp(cp + n - strlen(jar), jar) == 0 && cp[n - strlen(jar) - 1] == ':');
	assert_non_null(f->cmd.warm_list);
	assert_true(strncmp(f->cmd.warm_list, f->dir, strlen(f->dir)) == 0);
	assert_int_equal(f->cmd.warm_list_exists, 0);
	m = index_of(&f->cmd.argv, "com.adaptris.core.management.SimpleBootstrap");
	assert_int_equal((int)f->cmd.main_at, m);
	/* a cold broker that writes the list: only the dump option added */
	assert_int_equal(command_warm_argv(&f->cmd, "/d/list.tmp1", 0, 0, &w), 0);
	assert_int_equal(w.n, f->cmd.argv.n + 1);
	assert_string_equal(w.v[1], "-XX:DumpLoadedClassList=/d/list.tmp1");
	assert_int_equal(index_of(&w, "-Dfailover.warm=standby"), -1);
	assert_string_equal(w.v[m + 1], "com.adaptris.core.management.SimpleBootstrap");
	strlist_clear(&w);
	/* the standby, with a list there now (written by a broker that served) */
	list = tu_write(f->dir, strrchr(f->cmd.warm_list, '/') + 1, "java/lang/Object id: 0\n");
	assert_int_equal(build(f, extra), 0);
	assert_string_equal(f->cmd.warm_list, list);
	assert_int_equal(f->cmd.warm_list_exists, 1);
	assert_int_equal(command_warm_argv(&f->cmd, NULL, 1, 1, &w), 0);
	assert_int_equal(w.n, f->cmd.argv.n + 4);
	assert_string_equal(w.v[m], "-Dfailover.warm=standby");
	assert_string_equal(w.v[m + 1], "-Dfailover.warm.init=true");
	assert_true(strncmp(w.v[m + 2], "-Dfailover.warm.classes=", 24) == 0);
	assert_string_equal(w.v[m + 2] + 24, list);
	assert_string_equal(w.v[m + 3], COMMAND_WARM_CLASS);
	assert_string_equal(w.v[m + 4], "com.adaptris.core.management.SimpleBootstrap");
	assert_string_equal(w.v[m + 5], "a1");
	assert_null(w.v[w.n]);
	strlist_clear(&w);
	/* load only */
	assert_int_equal(command_warm_argv(&f->cmd, NULL, 1, 0, &w), 0);
	assert_string_equal(w.v[m + 1], "-Dfailover.warm.init=false");
	strlist_clear(&w);
	/* the same list with the CDS archive on, before and after it exists */
	snprintf(extra, sizeof(extra),
		 "profiler = no\nconfig_dir =\nwarm_standby = init\nwarm_jar = %s\nargument = a1\ncds = yes\n[cluster]\nstate_dir = %s\n", jar,
		 f->dir);
	assert_int_equal(build(f, extra), 0);
	assert_string_equal(f->cmd.warm_list, list);
	/* a standby never writes the archive: it is not the broker */
	assert_true(index_prefix(&f->cmd.argv, "-XX:ArchiveClassesAtExit=") > 0);
	assert_int_equal(command_warm_argv(&f->cmd, NULL, 1, 1, &w), 0);
	assert_int_equal(index_prefix(&w, "-XX:ArchiveClassesAtExit="), -1);
	strlist_clear(&w);
	assert_int_equal(command_warm_argv(&f->cmd, NULL, 0, 0, &w), 0);
	assert_true(index_prefix(&w, "-XX:ArchiveClassesAtExit=") > 0);
	strlist_clear(&w);
	free(tu_write(f->dir, strrchr(f->cmd.cds_archive, '/') + 1, "jsa"));
	assert_int_equal(build(f, extra), 0);
	assert_int_equal(f->cmd.cds_exists, 1);
	assert_string_equal(f->cmd.warm_list, list);
	/* refused: no jar, a Windows JVM */
	snprintf(extra, sizeof(extra), "profiler = no\nwarm_standby = load\nwarm_jar = %s/none.jar\n", f->dir);
	assert_int_equal(build(f, extra), -1);
	assert_non_null(strstr(f->err, "broker.warm_jar: "));
	assert_non_null(strstr(f->err, "none.jar does not exist"));
	snprintf(extra, sizeof(extra),
		 "profiler = no\nwarm_standby = load\nwarm_jar = %s\nclasspath_separator = windows\npath_style = none\n",
		 jar);
	assert_int_equal(build(f, extra), -1);
	assert_non_null(strstr(f->err, "broker.warm_standby: not with classpath_separator = windows"));
	/* what a standby would open beside the broker: refused */
	snprintf(extra, sizeof(extra),
		 "profiler = no\nwarm_standby = load\nwarm_jar = %s\njvm_option = -agentlib:jdwp=transport=dt_socket,server=y\n",
		 jar);
	assert_int_equal(build(f, extra), -1);
	assert_non_null(strstr(f->err, "broker.jvm_option -agentlib:jdwp=transport=dt_socket,server=y would be opened by the standby"));
	snprintf(extra, sizeof(extra),
		 "profiler = no\nwarm_standby = load\nwarm_jar = %s\nproperty = com.sun.management.jmxremote.port=9999\n", jar);
	assert_int_equal(build(f, extra), -1);
	assert_non_null(strstr(f->err, "broker.property com.sun.management.jmxremote.port=9999 would be opened"));
	snprintf(extra, sizeof(extra), "profiler = no\nwarm_standby = load\nwarm_jar = %s\njvm_option = -Xlog:gc:file=/x\n",
		 jar);
	assert_int_equal(build(f, extra), -1);
	/* the same without the standby */
	assert_int_equal(build(f, "profiler = no\njvm_option = -Xlog:gc:file=/x\n"), 0);
	/* off: nothing of it */
	assert_int_equal(build(f, "profiler = no\n"), 0);
	assert_null(f->cmd.warm_list);
	assert_int_equal(index_of(&f->cmd.argv, jar), -1);
	free(list);
	free(jar);
}

static void classpath_errors(void **state)
{
	struct fx *f = *state;
	assert_int_equal(build(f, "classpath = /nonexistent/*.jar\n"), -1);
	assert_non_null(strstr(f->err, "'/nonexistent/*.jar' matches nothing"));
	assert_int_equal(build(f, "classpath = /nonexistent/x.jar\n"), -1);
	assert_non_null(strstr(f->err, "/nonexistent/x.jar does not exist"));
	assert_int_equal(build(f, "lib_dir = nolib\n"), -1);
	assert_non_null(strstr(f->err, "broker.lib_dir: " TREE "/nolib is missing"));
	assert_int_equal(build(f, "config_dir = noconfig\n"), -1);
	assert_non_null(strstr(f->err, "broker.config_dir: " TREE "/noconfig is not a directory"));
}

/* A tree with lib/ holding the given jars and config/ the given profiler file. */
static char *tree(struct fx *f, const char *jars[], const char *profiler_props)
{
	char *root, *p;

	if (asprintf(&root, "%s/tree", f->dir) < 0)
		return NULL;
	mkdir(root, 0755);
	if (asprintf(&p, "%s/lib", root) >= 0) {
		mkdir(p, 0755);
		for (int i = 0; jars[i]; i++)
			free(tu_write(p, jars[i], ""));
		free(p);
	}
	if (asprintf(&p, "%s/config", root) >= 0) {
		mkdir(p, 0755);
		if (profiler_props)
			free(tu_write(p, "adp-profiler.properties", profiler_props));
		free(p);
	}
	return root;
}

static void agent_none_one_several(void **state)
{
	struct fx *f = *state;
	const char *none[] = {"core.jar", NULL};
	const char *two[] = {"aspectjweaver-1.8.jar", "aspectjweaver-1.9.jar", "core.jar", NULL};
	char *root, extra[512];

	root = tree(f, none, "com.adaptris.profiler.plugin.factory=x.Y\n");
	snprintf(extra, sizeof(extra), "home = %s\n", root);
	assert_int_equal(build(f, extra), -1);
	assert_non_null(strstr(f->err, "holds no aspectjweaver*.jar"));
	assert_non_null(strstr(f->err, "broker.profiler = no"));
	/* without the profiler the same tree is fine, and no agent appears */
	snprintf(extra, sizeof(extra), "home = %s\nprofiler = no\n", root);
	assert_int_equal(build(f, extra), 0);
	for (size_t i = 0; i < f->cmd.argv.n; i++)
		assert_null(strstr(f->cmd.argv.v[i], "javaagent"));
	free(root);

	root = tree(f, two, "com.adaptris.profiler.plugin.factory=x.Y\n");
	snprintf(extra, sizeof(extra), "home = %s\n", root);
	assert_int_equal(build(f, extra), -1);
	assert_non_null(strstr(f->err, "several AspectJ weavers"));
	assert_non_null(strstr(f->err, "aspectjweaver-1.8.jar"));
	assert_non_null(strstr(f->err, "aspectjweaver-1.9.jar"));
	/* naming one settles it */
	snprintf(extra, sizeof(extra), "home = %s\nagent = lib/aspectjweaver-1.9.jar\n", root);
	assert_int_equal(build(f, extra), 0);
	snprintf(extra, sizeof(extra), "%s/lib/aspectjweaver-1.9.jar", root);
	assert_string_equal(f->cmd.agent, extra);
	free(root);
}

static void agent_configured_missing(void **state)
{
	struct fx *f = *state;
	assert_int_equal(build(f, "agent = /nonexistent/aspectjweaver.jar\n"), -1);
	assert_non_null(strstr(f->err, "broker.agent: /nonexistent/aspectjweaver.jar does not exist"));
}

static void profiler_properties(void **state)
{
	struct fx *f = *state;
	const char *one[] = {"aspectjweaver.jar", NULL};
	char *root, extra[512];

	root = tree(f, one, NULL);
	snprintf(extra, sizeof(extra), "home = %s\n", root);
	assert_int_equal(build(f, extra), -1);
	assert_non_null(strstr(f->err, "holds adp-profiler.properties"));
	free(root);
	root = tree(f, one, "# no factory here\nother=1\n");
	assert_int_equal(build(f, extra), -1);
	assert_non_null(strstr(f->err, "adp-profiler.properties lacks com.adaptris.profiler.plugin.factory="));
	free(root);
}

static void java_resolution(void **state)
{
	struct fx *f = *state;
	char *jdk, *bin, *env[3] = {NULL, "PATH=/nonexistent", NULL}, extra[512];

	assert_true(asprintf(&jdk, "%s/jdk", f->dir) > 0);
	assert_true(asprintf(&bin, "%s/bin", jdk) > 0);
	mkdir(jdk, 0755);
	mkdir(bin, 0755);
	free(tu_write(bin, "java", "#!/bin/sh\n"));
	assert_true(asprintf(&env[0], "JAVA_HOME=%s", jdk) > 0);
	/* JAVA_HOME from the environment, the file not executable */
	assert_int_equal(build_env(f, "java =\n", env), -1);
	assert_non_null(strstr(f->err, "java not executable"));
	assert_non_null(strstr(f->err, "from JAVA_HOME"));
	free(bin);
	assert_true(asprintf(&bin, "%s/bin/java", jdk) > 0);
	chmod(bin, 0755);
	assert_int_equal(build_env(f, "java =\n", env), 0);
	assert_string_equal(f->cmd.argv.v[0], bin);
	/* nothing anywhere */
	assert_int_equal(build_env(f, "java =\n", env + 1), -1);
	assert_non_null(strstr(f->err, "java not found: no 'java' in PATH"));
	/* a configured path that does not exist */
	snprintf(extra, sizeof(extra), "java = %s/nope/java\n", f->dir);
	assert_int_equal(build_env(f, extra, env + 1), -1);
	assert_non_null(strstr(f->err, "does not exist"));
	free(env[0]);
	free(bin);
	free(jdk);
}

static void env_stripped_and_added(void **state)
{
	struct fx *f = *state;
	char *env[] = {"PATH=/usr/bin", "NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=1", "WATCHDOG_PID=2", "LISTEN_FDS=1",
		       "LISTEN_PID=3", "LISTEN_FDNAMES=x", "KEEP=me", "OVER=old", NULL};
	assert_int_equal(build_env(f, "env = OVER=new\nenv = ADDED=a b\n", env), 0);
	assert_int_equal(index_of(&f->cmd.envp, "PATH=/usr/bin") >= 0, 1);
	assert_int_equal(index_of(&f->cmd.envp, "KEEP=me") >= 0, 1);
	assert_int_equal(index_of(&f->cmd.envp, "OVER=new") >= 0, 1);
	assert_int_equal(index_of(&f->cmd.envp, "OVER=old"), -1);
	assert_int_equal(index_of(&f->cmd.envp, "ADDED=a b") >= 0, 1);
	for (size_t i = 0; i < f->cmd.envp.n; i++)
		for (const char *const *s = command_stripped_env; *s; s++)
			assert_false(strncmp(f->cmd.envp.v[i], *s, strlen(*s)) == 0);
	assert_int_equal(f->cmd.envp.n, 4);
}

/* l holds exactly the strings of want (NULL-terminated), in any order. */
static void assert_exactly(const struct strlist *l, const char *const *want)
{
	size_t n = 0;

	for (; want[n] != NULL; n++)
		assert_true(index_of(l, want[n]) >= 0);
	assert_int_equal(l->n, n);
}

/* The broker's and a hook's FAILOVER_* variables: exactly the ones each
 * gets, nothing else. */
static void failover_env_broker_and_hook(void **state)
{
	struct strlist e = {0};
	struct command_failover broker = {.role = "master", .node = "n1", .cluster = "lab",
					  .cache = "127.0.0.1:11311", .term = 18446744073709551615ull};
	struct command_failover hook = {.event = "demote", .role = "slave", .node = "n2", .master = "", .term = 7};
	(void)state;
	assert_int_equal(command_failover_env(&e, &broker), 0);
	assert_exactly(&e, (const char *const[]){"FAILOVER_ROLE=master", "FAILOVER_NODE=n1", "FAILOVER_CLUSTER=lab",
						 "FAILOVER_CACHE=127.0.0.1:11311", "FAILOVER_CACHE_PORT=11311",
						 "FAILOVER_TERM=18446744073709551615", NULL});
	strlist_clear(&e);
	/* no cache: neither cache variable */
	broker.cache = "";
	assert_int_equal(command_failover_env(&e, &broker), 0);
	assert_exactly(&e, (const char *const[]){"FAILOVER_ROLE=master", "FAILOVER_NODE=n1", "FAILOVER_CLUSTER=lab",
						 "FAILOVER_TERM=18446744073709551615", NULL});
	strlist_clear(&e);
	/* a hook: event and master (even empty), no cluster or cache */
	assert_int_equal(command_failover_env(&e, &hook), 0);
	assert_exactly(&e, (const char *const[]){"FAILOVER_EVENT=demote", "FAILOVER_ROLE=slave", "FAILOVER_NODE=n2",
						 "FAILOVER_MASTER=", "FAILOVER_TERM=7", NULL});
	strlist_clear(&e);
}

/* A FAILOVER_TERM inherited from the launcher's environment would reach the
 * child beside ours, and the first one wins: ours replaces it.  Other
 * FAILOVER_ names are the user's and stay. */
static void failover_env_replaces_inherited(void **state)
{
	struct strlist e = {0};
	struct command_failover broker = {.role = "master", .node = "n1", .cluster = "lab", .term = 42};
	(void)state;
	strlist_add(&e, "PATH=/usr/bin");
	strlist_add(&e, "FAILOVER_TERM=1");
	strlist_add(&e, "FAILOVER_ROLE=slave");
	strlist_add(&e, "FAILOVER_CACHE=10.0.0.1:1");
	strlist_add(&e, "FAILOVER_MINE=kept");
	strlist_add(&e, "FAILOVER_TERMINAL=kept");
	assert_int_equal(command_failover_env(&e, &broker), 0);
	assert_exactly(&e, (const char *const[]){"PATH=/usr/bin", "FAILOVER_MINE=kept", "FAILOVER_TERMINAL=kept",
						 "FAILOVER_ROLE=master", "FAILOVER_NODE=n1", "FAILOVER_CLUSTER=lab",
						 "FAILOVER_TERM=42", NULL});
	assert_null(e.v[e.n]);
	strlist_clear(&e);
}

static void jar_refused(void **state)
{
	struct fx *f = *state;
	assert_int_equal(build(f, "jvm_option = -jar\n"), -1);
	assert_non_null(strstr(f->err, "-jar is not supported"));
}

static void quoting(void **state)
{
	char *q;
	(void)state;
#define Q(in, out) q = command_quote(in); assert_string_equal(q, out); free(q)
	Q("plain-arg_1.jar:/x", "plain-arg_1.jar:/x");
	Q("", "''");
	Q("hello world", "'hello world'");
	Q("it's", "'it'\\''s'");
	Q("$HOME", "'$HOME'");
	Q("a\"b", "'a\"b'");
	Q("*", "'*'");
#undef Q
}

static void print_line_runs_in_a_shell(void **state)
{
	struct fx *f = *state;
	char *out = NULL;
	size_t len = 0;
	FILE *mem;

	assert_int_equal(build(f, "profiler = no\nproperty = g=hello world\nproperty = q=it's\nenv = E=x y\n"), 0);
	mem = open_memstream(&out, &len);
	command_print_line(&f->cmd, mem);
	fclose(mem);
	assert_non_null(strstr(out, "E='x y' "));
	assert_non_null(strstr(out, " '-Dg=hello world' '-Dq=it'\\''s' "));
	assert_int_equal(out[len - 1], '\n');
	free(out);
}

/* A hook's, a check's, the probe's environment: the launcher's without
 * systemd's variables, an inherited FAILOVER_TERM replaced by ours, and
 * the health variables when set. */
static void child_env_for_hooks_and_checks(void **state)
{
	char *base[] = {"PATH=/bin", "NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=1", "FAILOVER_TERM=99", NULL};
	struct command_failover f = {.role = "master", .node = "n1", .term = 7, .broker_url = "tcp://a:1",
				     .check_timeout_ms = 1500};
	struct strlist e = {0};
	int path = 0;

	(void)state;
	assert_int_equal(command_child_env(&e, base, &f), 0);
	for (size_t i = 0; i < e.n; i++) {
		assert_null(strstr(e.v[i], "NOTIFY_SOCKET"));
		assert_null(strstr(e.v[i], "WATCHDOG_USEC"));
		assert_string_not_equal(e.v[i], "FAILOVER_TERM=99");
		path |= strcmp(e.v[i], "PATH=/bin") == 0;
	}
	assert_true(path);
	assert_null(e.v[e.n]);
	{
		int term = 0, url = 0, timeout = 0;
		for (size_t i = 0; i < e.n; i++) {
			term |= strcmp(e.v[i], "FAILOVER_TERM=7") == 0;
			url |= strcmp(e.v[i], "FAILOVER_BROKER_URL=tcp://a:1") == 0;
			timeout |= strcmp(e.v[i], "FAILOVER_CHECK_TIMEOUT_MS=1500") == 0;
		}
		assert_true(term && url && timeout);
	}
	strlist_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(interlok_order), T(classpath_sorted_bytewise), T(classpath_recursive_extra_and_windows_separator),
		T(classpath_errors), T(agent_none_one_several), T(agent_configured_missing), T(profiler_properties),
		T(java_resolution), T(env_stripped_and_added), T(failover_env_broker_and_hook),
		T(failover_env_replaces_inherited), T(jar_refused), T(quoting), T(print_line_runs_in_a_shell),
		T(child_env_for_hooks_and_checks), T(windows_jvm_paths_cygwin), T(windows_jvm_paths_wsl_auto_and_cds),
		T(windows_jvm_paths_errors), T(warm_standby_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
