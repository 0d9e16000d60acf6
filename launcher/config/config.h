/*
 * The launcher's configuration: an INI file, the broker's
 * bootstrap.properties (failover.* keys) and command-line overrides, merged
 * with the precedence command line > INI > bootstrap.properties > defaults.
 * Every value remembers where it came from, for `failover-launcher -n`.
 *
 * The module reads files but never logs: errors are collected as
 * "FILE:LINE: section.key: what is wrong; what is allowed" lines.
 */
#ifndef FL_CONFIG_H
#define FL_CONFIG_H

#include <stdio.h>

/* The most unicast peers a node sends to (cluster.peer). */
#define CONFIG_MAX_PEERS 64
/* The most etcd endpoints (cluster.etcd_endpoint; etcd_client.h). */
#define CONFIG_MAX_ETCD_ENDPOINTS 8

/* How long before its etcd lease can end a master's broker must be gone
 * (the fence's deadline): a tenth of the TTL, at least 500 ms. */
static inline unsigned long long etcd_margin_ms(int ttl_s)
{
	unsigned long long t = (unsigned long long)ttl_s * 100;

	return t > 500 ? t : 500;
}

struct strlist {
	char **v;
	size_t n;
};

int strlist_add(struct strlist *l, const char *s);
void strlist_clear(struct strlist *l);
/* Replaces to with a copy of from; 0, or -1 (to unchanged) when out of memory. */
int strlist_copy(struct strlist *to, const struct strlist *from);

enum cfg_type { CFG_T_STR, CFG_T_PATH, CFG_T_INT, CFG_T_BOOL, CFG_T_ENUM, CFG_T_LIST, CFG_T_MCAST, CFG_T_HOSTPORT };

/* What a reload (SIGHUP) does with a changed value. */
enum cfg_reload {
	CFG_RELOAD_LIVE,    /* applied at once, or where it is next used */
	CFG_RELOAD_START,   /* applied to the broker from its next start */
	CFG_RELOAD_RESTART, /* kept as it runs; the new value needs a restart */
};

/* Where a value came from, lowest precedence first. */
enum cfg_level { CFG_FROM_DEFAULT, CFG_FROM_ENV, CFG_FROM_BOOTSTRAP, CFG_FROM_INI, CFG_FROM_CMDLINE };

#define CTYPE_STR char *
#define CTYPE_PATH char *
#define CTYPE_INT long
#define CTYPE_BOOL int
#define CTYPE_ENUM char *
#define CTYPE_LIST struct strlist
#define CTYPE_MCAST char *
#define CTYPE_HOSTPORT char *

enum cfg_id {
#define CFG(sec, key, type, def, min, max, unit, reload, help) CFG_##sec##_##key,
#include "config.def"
#undef CFG
	CFG_COUNT
};

struct cfg_origin {
	enum cfg_level level;
	char where[256];
};

struct config {
#define CFG(sec, key, type, def, min, max, unit, reload, help) CTYPE_##type sec##_##key;
#include "config.def"
#undef CFG
	struct cfg_origin origin[CFG_COUNT];
	char *ini_path;            /* absolute path of the INI file, or NULL */
	struct strlist errors;     /* what is wrong, one line each */
	/* failover.instance.timeout.seconds, turned into retries once the
	 * delay is known; 0 when absent */
	long bootstrap_timeout_s;
	char bootstrap_timeout_where[256];
};

struct cfg_desc {
	const char *section, *key;
	enum cfg_type type;
	const char *def;
	long min, max;
	const char *unit; /* unit, or the choices of an ENUM */
	enum cfg_reload reload;
	const char *help;
};

extern const struct cfg_desc cfg_table[CFG_COUNT];

/* A config holding the defaults. */
struct config *config_new(void);
void config_free(struct config *c);

/* Finds "section.key" (or section and key apart); -1 if unknown. */
int config_lookup(const char *section, const char *key);

/* Sets one value from text at a precedence level.  A LIST value given again
 * at the same level appends; a higher level replaces.  A lower level than the
 * current value's is ignored.  Returns 0, or -1 with an error recorded. */
int config_set(struct config *c, int id, const char *value, enum cfg_level level, const char *where);

/* The whole load: INI (may be NULL), then "section.key=value" overrides from
 * the command line, then bootstrap.properties, then derived values and cross
 * checks; envp supplies ADAPTRIS_HOME and JAVA_HOME.  0 when valid, -1 with
 * c->errors filled when not. */
int config_load(struct config *c, const char *ini_path, const struct strlist *overrides, char *const *envp);

/* Copies one key's value and origin from src (for a reload that keeps the
 * settings a running daemon cannot change).  0, or -1 when out of memory. */
int config_copy_key(struct config *dst, const struct config *src, int id);
/* Whether one key has the same value in both. */
int config_key_equal(const struct config *a, const struct config *b, int id);

/* Writes the effective configuration, each value with its origin. */
void config_dump(const struct config *c, FILE *out);

/* Looks NAME up in an environment array; NULL when absent. */
const char *env_lookup(char *const *envp, const char *name);

#endif
