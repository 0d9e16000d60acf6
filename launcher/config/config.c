/*
 * Configuration loading and validation, driven by config.def.
 *
 * inih is read through our own line reader (ini_parse_stream) for three
 * reasons: inih as built by Debian passes no line numbers to the handler, it
 * silently cuts lines longer than its buffer (200 bytes there) and parses
 * the rest of the line as a new one, and it joins indented lines onto the
 * previous key.  The reader counts lines, refuses long lines instead of
 * cutting them, and strips indentation so every line stands alone.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "command.h"
#include "props.h"
#include "wire.h"

const struct cfg_desc cfg_table[CFG_COUNT] = {
#define CFG(sec, key, type, def, min, max, unit, reload, help) \
	{ #sec, #key, CFG_T_##type, def, min, max, unit, CFG_RELOAD_##reload, help },
#include "config.def"
#undef CFG
};

static const size_t cfg_offset[CFG_COUNT] = {
#define CFG(sec, key, type, def, min, max, unit, reload, help) offsetof(struct config, sec##_##key),
#include "config.def"
#undef CFG
};

int strlist_add(struct strlist *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 2) * sizeof(*v));
	char *d;

	if (v == NULL)
		return -1;
	l->v = v;
	d = strdup(s);
	if (d == NULL)
		return -1;
	l->v[l->n++] = d;
	l->v[l->n] = NULL;
	return 0;
}

void strlist_clear(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int strlist_copy(struct strlist *to, const struct strlist *from)
{
	struct strlist copy = {0};

	for (size_t i = 0; i < from->n; i++)
		if (strlist_add(&copy, from->v[i]) != 0) {
			strlist_clear(&copy);
			return -1;
		}
	strlist_clear(to);
	*to = copy;
	return 0;
}

const char *env_lookup(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static void *field(struct config *c, int id) { return (char *)c + cfg_offset[id]; }
static const void *cfield(const struct config *c, int id) { return (const char *)c + cfg_offset[id]; }

static void errorf(struct config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errorf(struct config *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	strlist_add(&c->errors, buf);
}

int config_lookup(const char *section, const char *key)
{
	const char *dot;
	size_t slen;

	if (key == NULL) {
		dot = strchr(section, '.');
		if (dot == NULL)
			return -1;
		slen = (size_t)(dot - section);
		key = dot + 1;
	} else {
		slen = strlen(section);
	}
	for (int i = 0; i < CFG_COUNT; i++)
		if (strlen(cfg_table[i].section) == slen && strncmp(cfg_table[i].section, section, slen) == 0 &&
		    strcmp(cfg_table[i].key, key) == 0)
			return i;
	return -1;
}

static int section_known(const char *section)
{
	for (int i = 0; i < CFG_COUNT; i++)
		if (strcmp(cfg_table[i].section, section) == 0)
			return 1;
	return 0;
}

/* "a, b, c": the keys of one section, or the sections, for error messages. */
static void list_keys(const char *section, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < CFG_COUNT; i++) {
		const char *name;
		if (section != NULL && strcmp(cfg_table[i].section, section) != 0)
			continue;
		if (section == NULL) {
			if (i > 0 && strcmp(cfg_table[i - 1].section, cfg_table[i].section) == 0)
				continue;
			name = cfg_table[i].section;
		} else {
			name = cfg_table[i].key;
		}
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%s%s", off ? ", " : "", name);
		if (off >= len)
			break;
	}
}

static int parse_long(const char *s, int base, long *out)
{
	char *end;
	long v;

	if (*s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, base);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static int enum_ok(const char *choices, const char *s)
{
	size_t n = strlen(s);
	const char *p = choices;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && strncmp(p, s, n) == 0)
			return 1;
		p += len + (bar != NULL);
	}
	return 0;
}

static int parse_mcast(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	return IN_MULTICAST(ntohl(a.s_addr)) ? 0 : -1;
}

/* host:port with a non-empty host and a port in 1..65535. */
static int parse_hostport(const char *s, long min_port)
{
	const char *colon = strrchr(s, ':');
	long port;

	if (colon == NULL || colon == s)
		return -1;
	if (parse_long(colon + 1, 10, &port) != 0 || port < min_port || port > 65535)
		return -1;
	return 0;
}

/* A listener's host:port: a dotted IPv4 address, and a port of 1 to 5
 * digits only (strtol also takes "+80", " 80" and any number of leading
 * zeros; the value must fit whole where it is copied).  0 or -1. */
static int listen_host_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	char host[INET_ADDRSTRLEN];
	struct in_addr a;
	size_t digits;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	digits = strspn(colon + 1, "0123456789");
	if (digits == 0 || digits > 5 || colon[1 + digits] != '\0')
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	return inet_pton(AF_INET, host, &a) == 1 ? 0 : -1;
}

/* Checks one value; 0 when allowed, else -1 and the reason in why. */
static int check_value(int id, const char *v, char *why, size_t len, long *num)
{
	const struct cfg_desc *d = &cfg_table[id];
	long n;
	int b;

	switch (d->type) {
	case CFG_T_STR:
		if (d->min > 0 && *v == '\0') {
			snprintf(why, len, "missing required value; give a %s", d->help);
			return -1;
		}
		/* heartbeats and etcd records carry the URL whole, or peers'
		 * locate would give a cut one */
		if (id == CFG_broker_url && strlen(v) > WIRE_URL_MAX) {
			snprintf(why, len, "%zu bytes, longer than the %d a heartbeat carries", strlen(v), WIRE_URL_MAX);
			return -1;
		}
		return 0;
	case CFG_T_PATH:
	case CFG_T_LIST:
		return 0;
	case CFG_T_INT: {
		int octal = strcmp(d->unit, "octal") == 0;
		char allowed[96];

		if (octal)
			snprintf(allowed, sizeof(allowed), "0%lo..0%lo (octal)", d->min, d->max);
		else
			snprintf(allowed, sizeof(allowed), "%ld..%ld%s%s", d->min, d->max, *d->unit ? " " : "", d->unit);
		if (parse_long(v, octal ? 8 : 10, &n) != 0) {
			snprintf(why, len, "'%s' is not a number; allowed %s", v, allowed);
			return -1;
		}
		if (n < d->min || n > d->max) {
			snprintf(why, len, "%s is out of range; allowed %s", v, allowed);
			return -1;
		}
	}
		*num = n;
		return 0;
	case CFG_T_BOOL:
		b = parse_bool(v);
		if (b < 0) {
			snprintf(why, len, "'%s' is not a boolean; allowed yes/no, true/false, on/off, 1/0", v);
			return -1;
		}
		*num = b;
		return 0;
	case CFG_T_ENUM:
		if (!enum_ok(d->unit, v)) {
			snprintf(why, len, "'%s' is not allowed; allowed %s", v, d->unit);
			return -1;
		}
		return 0;
	case CFG_T_MCAST:
		if (parse_mcast(v) != 0) {
			snprintf(why, len, "'%s' is not an IPv4 multicast address; allowed 224.0.0.0..239.255.255.255", v);
			return -1;
		}
		return 0;
	case CFG_T_HOSTPORT:
		if (*v == '\0' && d->min == 0)
			return 0; /* optional, unset */
		/* a listener may take any free port; a peer or probe needs one */
		if (parse_hostport(v, id == CFG_cache_listen ? 0 : 1) != 0) {
			snprintf(why, len, "'%s' is not host:port; allowed a host and a port %d..65535", v,
				 id == CFG_cache_listen ? 0 : 1);
			return -1;
		}
		/* a listener binds: its host must be an address of this host,
		 * given as a dotted IPv4 address (no name lookup at start) */
		if ((id == CFG_http_listen || id == CFG_cache_listen) && listen_host_ok(v) != 0) {
			snprintf(why, len,
				 "'%s': the host must be a dotted IPv4 address (0.0.0.0: every address), the port digits",
				 v);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* Stores a checked value, replacing or appending. */
static int store(struct config *c, int id, const char *v, long num, int append)
{
	void *f = field(c, id);

	switch (cfg_table[id].type) {
	case CFG_T_INT:
		*(long *)f = num;
		return 0;
	case CFG_T_BOOL:
		*(int *)f = (int)num;
		return 0;
	case CFG_T_LIST:
		if (!append)
			strlist_clear(f);
		if (*v == '\0')
			return 0; /* "key =" empties the list */
		return strlist_add(f, v);
	default: {
		char *d = strdup(v);
		if (d == NULL)
			return -1;
		free(*(char **)f);
		*(char **)f = d;
		return 0;
	}
	}
}

/* "f.ini:14" then "f.ini:15" becomes "f.ini:14,15": a list's lines. */
static void append_where(struct cfg_origin *o, const char *where)
{
	const char *colon = strrchr(where, ':');
	size_t plen, len = strlen(o->where);

	if (colon == NULL)
		return;
	plen = (size_t)(colon - where) + 1;
	if (strncmp(o->where, where, plen) != 0 || strchr(where + plen, ' ') != NULL)
		return;
	/* same line again (one property split into several values) */
	if (len >= strlen(where + plen) && strcmp(o->where + len - strlen(where + plen), where + plen) == 0)
		return;
	snprintf(o->where + len, sizeof(o->where) - len, ",%s", where + plen);
}

int config_set(struct config *c, int id, const char *value, enum cfg_level level, const char *where)
{
	struct cfg_origin *o = &c->origin[id];
	const struct cfg_desc *d = &cfg_table[id];
	char why[512];
	long num = 0;
	int append;

	if (level < o->level)
		return 0;
	if (check_value(id, value, why, sizeof(why), &num) != 0) {
		errorf(c, "%s: %s.%s: %s", where, d->section, d->key, why);
		return -1;
	}
	append = d->type == CFG_T_LIST && level == o->level && level != CFG_FROM_DEFAULT;
	if (store(c, id, value, num, append) != 0) {
		errorf(c, "%s: %s.%s: out of memory", where, d->section, d->key);
		return -1;
	}
	o->level = level;
	if (!append)
		snprintf(o->where, sizeof(o->where), "%s", where);
	else
		append_where(o, where);
	return 0;
}

struct config *config_new(void)
{
	struct config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	for (int i = 0; i < CFG_COUNT; i++) {
		if (config_set(c, i, cfg_table[i].def, CFG_FROM_DEFAULT, "default") != 0) {
			config_free(c);
			return NULL;
		}
	}
	return c;
}

void config_free(struct config *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < CFG_COUNT; i++) {
		void *f = field(c, i);
		switch (cfg_table[i].type) {
		case CFG_T_INT:
		case CFG_T_BOOL:
			break;
		case CFG_T_LIST:
			strlist_clear(f);
			break;
		default:
			free(*(char **)f);
		}
	}
	strlist_clear(&c->errors);
	free(c->ini_path);
	free(c);
}

/* ---- INI ---- */

struct ini_ctx {
	struct config *c;
	FILE *fp;
	const char *path;
	int line;
	char *buf;
	size_t cap;
	int set_at[CFG_COUNT]; /* the line that set a key in this file (0: none) */
	int nul_line;          /* the line being read held a NUL byte */
};

/*
 * fgets-style reader for inih.  Hands over one whole line at a time; a line
 * that does not fit inih's buffer is reported and replaced by an empty line
 * so that no part of it is ever used.
 */
static char *line_reader(char *str, int num, void *stream)
{
	struct ini_ctx *x = stream;
	ssize_t n = getline(&x->buf, &x->cap, x->fp);
	char *s;
	size_t len;

	if (n < 0)
		return NULL;
	x->line++;
	s = x->buf;
	len = (size_t)n;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	/* a NUL would end the value where it stands ("bad\0 1" read as
	 * "bad"): the line is refused whole */
	if (memchr(s, '\0', len) != NULL) {
		errorf(x->c, "%s:%d: line contains a NUL byte; the file is not a text configuration", x->path,
		       x->line);
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	/* inih needs room for the line, its newline and the terminator. */
	if (len + 2 > (size_t)num) {
		errorf(x->c,
		       "%s:%d: line is %zu bytes, longer than the %d the INI parser accepts; split a long value "
		       "into repeated keys (jvm_option, classpath, property, argument, env)",
		       x->path, x->line, len, num - 2);
		str[0] = '\0';
		return str;
	}
	while (*s == ' ' || *s == '\t')
		s++, len--;
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (end != NULL) {
			char name[128];
			snprintf(name, sizeof(name), "%.*s", (int)(end - s - 1), s + 1);
			if (!section_known(name)) {
				char all[256];
				list_keys(NULL, all, sizeof(all));
				errorf(x->c, "%s:%d: [%s]: unknown section; allowed sections: %s", x->path, x->line,
				       name, all);
			}
		}
	}
	memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static int key_handler(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	char where[PATH_MAX + 32];
	int id;

	if (*section == '\0') {
		char all[256];
		list_keys(NULL, all, sizeof(all));
		errorf(x->c, "%s:%d: %s: key outside any section; put it under one of [%s]", x->path, x->line, name,
		       all);
		return 1;
	}
	if (!section_known(section))
		return 1; /* reported once, at the section header */
	snprintf(where, sizeof(where), "%s:%d", x->path, x->line);
	id = config_lookup(section, name);
	if (id < 0) {
		char keys[1024];
		list_keys(section, keys, sizeof(keys));
		errorf(x->c, "%s: %s.%s: unknown key; keys of [%s]: %s", where, section, name, section, keys);
		return 1;
	}
	/* one value per key in one file: a second one silently winning is the
	 * surprise (a list key takes each value in turn) */
	if (cfg_table[id].type != CFG_T_LIST && x->set_at[id] != 0) {
		errorf(x->c, "%s: %s.%s: given twice in this file (first at line %d); a key takes one value", where,
		       section, name, x->set_at[id]);
		return 1;
	}
	x->set_at[id] = x->line;
	config_set(x->c, id, value, CFG_FROM_INI, where);
	return 1;
}

static int load_ini(struct config *c, const char *path)
{
	struct ini_ctx x = {.c = c, .path = path};
	size_t before = c->errors.n;
	int rc;

	x.fp = fopen(path, "r");
	if (x.fp == NULL) {
		errorf(c, "%s:0: cannot read the configuration: %s", path, strerror(errno));
		return -1;
	}
	/* a directory opens, then reads as an empty file: every default */
	struct stat st;
	if (fstat(fileno(x.fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(x.fp);
		errorf(c, "%s:0: cannot read the configuration: it is a directory (give the INI file in it)", path);
		return -1;
	}
	rc = ini_parse_stream(line_reader, &x, key_handler, &x);
	fclose(x.fp);
	free(x.buf);
	if (rc > 0 && c->errors.n == before)
		errorf(c, "%s:%d: syntax error; allowed: [section], key = value, or a comment starting with ; or #",
		       path, rc);
	else if (rc > 0) {
		/* inih reports its first error line; say so unless it is one of ours */
		int ours = 0;
		char tag[64];
		snprintf(tag, sizeof(tag), ":%d:", rc);
		for (size_t i = before; i < c->errors.n; i++)
			if (strstr(c->errors.v[i], tag) != NULL)
				ours = 1;
		if (!ours)
			errorf(c, "%s:%d: syntax error; allowed: [section], key = value, or a comment starting with ; "
				  "or #", path, rc);
	} else if (rc < 0) {
		errorf(c, "%s:0: cannot parse: out of memory", path);
	}
	return c->errors.n == before ? 0 : -1;
}

/* ---- bootstrap.properties ---- */

struct boot_ctx {
	struct config *c;
	const char *path;
	/* lines where an alias set each key, to report conflicts */
	int line_of[CFG_COUNT];
	const char *key_of[CFG_COUNT];
};

struct boot_key {
	const char *name;
	int id;
	long scale; /* multiply the number by this; 0 = take text as is */
};

static int boot_cb(void *ud, const char *key, const char *value, int line)
{
	static const struct boot_key keys[] = {
		{"failover.group", CFG_cluster_group, 0},
		{"failover.multicast.group", CFG_cluster_group, 0},
		{"failover.port", CFG_cluster_port, 0},
		{"failover.multicast.port", CFG_cluster_port, 0},
		{"failover.delay", CFG_cluster_delay, 0},
		{"failover.ping.interval.seconds", CFG_cluster_delay, 1000},
		{"failover.retries", CFG_cluster_retries, 0},
		{"failover.secondary.position", CFG_cluster_position, 0},
		{"failover.slave.position", CFG_cluster_position, 0},
		{"failover.tcp.peers", CFG_cluster_peer, 0},
	};
	struct boot_ctx *b = ud;
	struct config *c = b->c;
	char where[PATH_MAX + 96], text[64];
	const struct boot_key *k = NULL;

	if (strcmp(key, "failover.instance.timeout.seconds") == 0) {
		long s;
		if (parse_long(value, 10, &s) != 0 || s < 1 || s > 3600) {
			errorf(c, "%s:%d: failover.instance.timeout.seconds: '%s' is not allowed; allowed 1..3600 s",
			       b->path, line, value);
			return 0;
		}
		c->bootstrap_timeout_s = s;
		snprintf(c->bootstrap_timeout_where, sizeof(c->bootstrap_timeout_where),
			 "%s:%d (failover.instance.timeout.seconds=%ld)", b->path, line, s);
		return 0;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, key) == 0)
			k = &keys[i];
	if (k == NULL)
		return 0; /* the broker's own keys */
	snprintf(where, sizeof(where), "%s:%d (%s)", b->path, line, key);
	if (k->scale != 0) {
		long v;
		if (parse_long(value, 10, &v) != 0 || v < 0 || v > LONG_MAX / k->scale) {
			errorf(c, "%s:%d: %s: '%s' is not a number of seconds", b->path, line, key, value);
			return 0;
		}
		snprintf(text, sizeof(text), "%ld", v * k->scale);
		value = text;
	}
	if (k->id == CFG_cluster_peer) {
		/* host:port;host:port */
		char *copy = strdup(value), *save = NULL;
		if (copy == NULL)
			return -1;
		for (char *p = strtok_r(copy, ";, ", &save); p != NULL; p = strtok_r(NULL, ";, ", &save))
			config_set(c, k->id, p, CFG_FROM_BOOTSTRAP, where);
		free(copy);
		return 0;
	}
	if (b->key_of[k->id] != NULL && c->origin[k->id].level == CFG_FROM_BOOTSTRAP) {
		/* two names for one setting, e.g. failover.group and failover.multicast.group */
		char prev[64];
		snprintf(prev, sizeof(prev), "%s", b->key_of[k->id]);
		if (strcmp(prev, key) != 0) {
			const struct cfg_desc *d = &cfg_table[k->id];
			char cur[64];
			if (d->type == CFG_T_INT)
				snprintf(cur, sizeof(cur), "%ld", *(long *)field(c, k->id));
			else
				snprintf(cur, sizeof(cur), "%s", *(char **)field(c, k->id));
			if (strcmp(cur, value) != 0) {
				errorf(c, "%s:%d: %s: '%s' conflicts with %s at line %d; give one of them", b->path,
				       line, key, value, prev, b->line_of[k->id]);
				return 0;
			}
		}
	}
	b->key_of[k->id] = k->name;
	b->line_of[k->id] = line;
	config_set(c, k->id, value, CFG_FROM_BOOTSTRAP, where);
	return 0;
}

static int load_bootstrap(struct config *c, const char *path)
{
	struct boot_ctx b = {.c = c, .path = path};
	size_t before = c->errors.n;
	char *buf = NULL;
	size_t len = 0;

	if (file_read_all(path, &buf, &len) != 0) {
		errorf(c, "%s: broker.bootstrap: cannot read %s: %s", c->origin[CFG_broker_bootstrap].where, path,
		       strerror(errno));
		return -1;
	}
	if (props_parse(buf, len, boot_cb, &b) != 0)
		errorf(c, "%s:0: cannot parse: out of memory", path);
	free(buf);
	return c->errors.n == before ? 0 : -1;
}

/* ---- derived values and cross checks ---- */

static char *dirname_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

static char *absolute(const char *path)
{
	char cwd[PATH_MAX];
	char *r;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(path);
	if (asprintf(&r, "%s/%s", cwd, path) < 0)
		return NULL;
	return r;
}

/* Makes a relative path absolute against base, keeping the origin. */
static void resolve_path(struct config *c, int id, const char *base)
{
	char **f = field(c, id);
	char *r;

	if (*f == NULL || **f == '\0' || (*f)[0] == '/')
		return;
	if (asprintf(&r, "%s/%s", base, *f) < 0)
		return;
	free(*f);
	*f = r;
}

static void finalize(struct config *c, char *const *envp)
{
	const char *e;
	char *inidir = c->ini_path ? dirname_of(c->ini_path) : absolute(".");
	char where[PATH_MAX + 64];

	if (c->origin[CFG_broker_home].level == CFG_FROM_DEFAULT) {
		e = env_lookup(envp, "ADAPTRIS_HOME");
		if (e != NULL && *e != '\0') {
			config_set(c, CFG_broker_home, e, CFG_FROM_ENV, "environment ADAPTRIS_HOME");
		} else if (inidir != NULL) {
			snprintf(where, sizeof(where), "default (directory of %s)",
				 c->ini_path ? c->ini_path : "the working directory");
			config_set(c, CFG_broker_home, inidir, CFG_FROM_DEFAULT, where);
		}
	}
	if (inidir != NULL)
		resolve_path(c, CFG_broker_home, inidir);
	if (c->origin[CFG_broker_java_home].level == CFG_FROM_DEFAULT) {
		e = env_lookup(envp, "JAVA_HOME");
		if (e != NULL && *e != '\0')
			config_set(c, CFG_broker_java_home, e, CFG_FROM_ENV, "environment JAVA_HOME");
	}
	for (int i = 0; i < CFG_COUNT; i++) {
		/* a bare "java" is looked up in PATH, not under home */
		if (i == CFG_broker_java && strchr(c->broker_java, '/') == NULL)
			continue;
		if (cfg_table[i].type != CFG_T_PATH || i == CFG_broker_home)
			continue;
		/* the broker's files are the install's; the launcher's own (its
		 * state, keys, socket) are the configuration's, as home is */
		if (strcmp(cfg_table[i].section, "broker") == 0)
			resolve_path(c, i, c->broker_home);
		else if (inidir != NULL)
			resolve_path(c, i, inidir);
	}
	if (c->origin[CFG_broker_working_dir].level == CFG_FROM_DEFAULT)
		config_set(c, CFG_broker_working_dir, c->broker_home, CFG_FROM_DEFAULT, "default (broker.home)");
	free(inidir);
}

static void derive(struct config *c)
{
	/* an explicit retries (failover.retries, INI, command line) wins */
	if (c->bootstrap_timeout_s > 0 && c->origin[CFG_cluster_retries].level < CFG_FROM_BOOTSTRAP) {
		/* interlok-failover counts a timeout, we count missed heartbeats */
		long ms = c->bootstrap_timeout_s * 1000;
		long r = (ms + c->cluster_delay - 1) / c->cluster_delay;
		char text[32];
		snprintf(text, sizeof(text), "%ld", r);
		config_set(c, CFG_cluster_retries, text, CFG_FROM_BOOTSTRAP, c->bootstrap_timeout_where);
	}
	if (c->broker_argument.n == 0 && c->origin[CFG_broker_argument].level == CFG_FROM_DEFAULT &&
	    *c->broker_bootstrap != '\0')
		config_set(c, CFG_broker_argument, c->broker_bootstrap, CFG_FROM_DEFAULT, "default (broker.bootstrap)");
}

static void check_pairs(struct config *c, int id, const char *what)
{
	const struct strlist *l = field(c, id);

	for (size_t i = 0; i < l->n; i++) {
		const char *eq = strchr(l->v[i], '=');
		if (eq == NULL || eq == l->v[i])
			errorf(c, "%s: %s.%s: '%s' is not NAME=VALUE; allowed %s", c->origin[id].where,
			       cfg_table[id].section, cfg_table[id].key, l->v[i], what);
	}
}

/* The etcd backend's keys: endpoints it can use, TLS files in pairs, and a
 * lease that leaves the fence its room. */
static void check_etcd(struct config *c)
{
	const char *where = c->origin[CFG_cluster_etcd_endpoint].where;
	uint64_t ttl_ms = (uint64_t)c->cluster_lease_ttl * 1000, margin = etcd_margin_ms((int)c->cluster_lease_ttl);

	if (c->cluster_etcd_endpoint.n == 0)
		errorf(c, "%s: cluster.backend = etcd needs at least one cluster.etcd_endpoint (http://host:2379)",
		       c->origin[CFG_cluster_backend].where);
	if (c->cluster_etcd_endpoint.n > CONFIG_MAX_ETCD_ENDPOINTS)
		errorf(c, "%s: cluster.etcd_endpoint: %zu endpoints; allowed at most %d", where,
		       c->cluster_etcd_endpoint.n, CONFIG_MAX_ETCD_ENDPOINTS);
	for (size_t i = 0; i < c->cluster_etcd_endpoint.n; i++) {
		const char *e = c->cluster_etcd_endpoint.v[i];
		const char *rest = strncmp(e, "http://", 7) == 0 ? e + 7 : strncmp(e, "https://", 8) == 0 ? e + 8 : NULL;
		if (rest == NULL || *rest == '\0' || strchr(rest, '/') != NULL || strchr(rest, '@') != NULL ||
		    strlen(e) > 200)
			errorf(c, "%s: cluster.etcd_endpoint: '%.200s' is not http://host:port or https://host:port "
				  "(no path, no user in it)", where, e);
	}
	if (c->cluster_expected_nodes != 0)
		errorf(c, "%s: cluster.expected_nodes: no meaning with backend = etcd (etcd's own majority decides); "
			  "remove it", c->origin[CFG_cluster_expected_nodes].where);
	if ((*c->cluster_etcd_cert != '\0') != (*c->cluster_etcd_key != '\0'))
		errorf(c, "%s: cluster.etcd_cert and cluster.etcd_key go together", c->origin[CFG_cluster_etcd_cert].where);
	if ((*c->cluster_etcd_user != '\0') != (*c->cluster_etcd_password_file != '\0'))
		errorf(c, "%s: cluster.etcd_user and cluster.etcd_password_file go together",
		       c->origin[CFG_cluster_etcd_user].where);
	if (c->cluster_etcd_prefix[0] != '/' || strlen(c->cluster_etcd_prefix) + strlen(c->cluster_name) > 200 ||
	    c->cluster_etcd_prefix[strlen(c->cluster_etcd_prefix) - 1] == '/')
		errorf(c, "%s: cluster.etcd_prefix: '%.200s' must start with '/', not end with one, and stay under 200 "
			  "bytes with the cluster name", c->origin[CFG_cluster_etcd_prefix].where, c->cluster_etcd_prefix);
	/* a master that cannot renew stops its broker (SIGTERM, SIGKILL after
	 * stop_timeout) before its lease can end */
	if (ttl_ms <= margin + (uint64_t)c->broker_stop_timeout) {
		int least = 2;
		while (least < 300 && (uint64_t)least * 1000 <= etcd_margin_ms(least) + (uint64_t)c->broker_stop_timeout)
			least++;
		errorf(c, "%s: cluster.lease_ttl: %ld s leaves no room for the fence: a master that cannot renew its "
			  "lease must stop its broker (broker.stop_timeout %ld ms) %llu ms before the lease ends; set "
			  "lease_ttl to %d s or more, or lower stop_timeout",
		       c->origin[CFG_cluster_lease_ttl].where, c->cluster_lease_ttl, c->broker_stop_timeout,
		       (unsigned long long)margin, least);
	}
	/* the direct hearing is the heartbeat socket's: signed, or anyone on
	 * the network could keep a cut-off master serving beside a new one */
	if (c->cluster_etcd_failsafe && strcmp(c->cluster_auth, "none") == 0)
		errorf(c, "%s: cluster.etcd_failsafe needs cluster.auth = hmac: a forged packet could keep a master "
			  "that etcd no longer hears serving beside another", c->origin[CFG_cluster_etcd_failsafe].where);
	if (c->cluster_etcd_failsafe && (uint64_t)c->cluster_delay * 3 > ttl_ms)
		errorf(c, "%s: cluster.delay: %ld ms; with cluster.etcd_failsafe the nodes must hear each other "
			  "several times per lease (lease_ttl %ld s): set delay to %llu ms or less",
		       c->origin[CFG_cluster_delay].where, c->cluster_delay, c->cluster_lease_ttl,
		       (unsigned long long)(ttl_ms / 3));
}

static void cross_check(struct config *c)
{
	check_pairs(c, CFG_broker_property, "a system property name, '=', its value");
	check_pairs(c, CFG_broker_env, "an environment variable name, '=', its value");
	for (size_t i = 0; i < c->broker_env.n; i++) {
		const char *v = c->broker_env.v[i];
		size_t n = strcspn(v, "=");
		if (n > 0 && v[n] == '=' &&
		    (strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != n ||
		     (v[0] >= '0' && v[0] <= '9')))
			errorf(c, "%s: broker.env: '%.*s' is not a variable name; allowed letters, digits and _, "
				  "not starting with a digit", c->origin[CFG_broker_env].where, (int)n, v);
		else if (command_failover_var(v))
			errorf(c, "%s: broker.env: %.*s is set by the launcher (the term is a fencing token); remove it",
			       c->origin[CFG_broker_env].where, (int)n, v);
	}
	if (*c->cluster_node != '\0' && !wire_valid_id(c->cluster_node))
		errorf(c, "%s: cluster.node: '%s' is not a node id; allowed 1..32 of A-Z a-z 0-9 . _ : -",
		       c->origin[CFG_cluster_node].where, c->cluster_node);
	if (c->cluster_expected_nodes == 1)
		errorf(c, "%s: cluster.expected_nodes: 1 is not a cluster; allowed 0 (no quorum) or 2..255",
		       c->origin[CFG_cluster_expected_nodes].where);
	/* the check connects from the event loop: no name lookup there */
	if (*c->health_tcp != '\0') {
		char host[256];
		const char *colon = strrchr(c->health_tcp, ':');
		struct in_addr a4;
		struct in6_addr a6;
		snprintf(host, sizeof(host), "%.*s", colon ? (int)(colon - c->health_tcp) : 0, c->health_tcp);
		if (inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1)
			errorf(c, "%s: health.tcp: '%s' is not an IP address and port; give the broker's address as "
				  "numbers (e.g. 127.0.0.1:61616)", c->origin[CFG_health_tcp].where, c->health_tcp);
	}
	if (strcmp(c->cluster_backend, "etcd") == 0)
		check_etcd(c);
	/* a peer past the limit would never hear from this node */
	if (c->cluster_peer.n > CONFIG_MAX_PEERS)
		errorf(c, "%s: cluster.peer: %zu peers; allowed at most %d", c->origin[CFG_cluster_peer].where,
		       c->cluster_peer.n, CONFIG_MAX_PEERS);
}

int config_load(struct config *c, const char *ini_path, const struct strlist *overrides, char *const *envp)
{
	size_t before = c->errors.n;

	if (ini_path != NULL) {
		c->ini_path = absolute(ini_path);
		load_ini(c, c->ini_path ? c->ini_path : ini_path);
	}
	for (size_t i = 0; overrides != NULL && i < overrides->n; i++) {
		const char *o = overrides->v[i], *eq = strchr(o, '=');
		char name[128];
		int id;

		if (eq == NULL || (size_t)(eq - o) >= sizeof(name)) {
			errorf(c, "command line: -o %s: expected section.key=value", o);
			continue;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - o), o);
		id = config_lookup(name, NULL);
		if (id < 0) {
			errorf(c, "command line: %s: unknown key; see failover-launcher -n for every key", name);
			continue;
		}
		config_set(c, id, eq + 1, CFG_FROM_CMDLINE, "command line");
	}
	finalize(c, envp);
	if (*c->broker_bootstrap != '\0')
		load_bootstrap(c, c->broker_bootstrap);
	derive(c);
	cross_check(c);
	return c->errors.n == before ? 0 : -1;
}

int config_copy_key(struct config *dst, const struct config *src, int id)
{
	const void *from = cfield(src, id);
	void *to = field(dst, id);

	switch (cfg_table[id].type) {
	case CFG_T_INT:
		*(long *)to = *(const long *)from;
		break;
	case CFG_T_BOOL:
		*(int *)to = *(const int *)from;
		break;
	case CFG_T_LIST:
		if (strlist_copy(to, from) != 0)
			return -1;
		break;
	default: {
		char *d = strdup(*(char *const *)from);
		if (d == NULL)
			return -1;
		free(*(char **)to);
		*(char **)to = d;
	}
	}
	dst->origin[id] = src->origin[id];
	return 0;
}

int config_key_equal(const struct config *a, const struct config *b, int id)
{
	const void *fa = cfield(a, id), *fb = cfield(b, id);

	switch (cfg_table[id].type) {
	case CFG_T_INT:
		return *(const long *)fa == *(const long *)fb;
	case CFG_T_BOOL:
		return *(const int *)fa == *(const int *)fb;
	case CFG_T_LIST: {
		const struct strlist *la = fa, *lb = fb;
		if (la->n != lb->n)
			return 0;
		for (size_t i = 0; i < la->n; i++)
			if (strcmp(la->v[i], lb->v[i]) != 0)
				return 0;
		return 1;
	}
	default:
		return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
	}
}

/* ---- dump ---- */

static void dump_value(FILE *out, const char *key, const char *value, const char *where)
{
	char line[PATH_MAX + 128];
	int n = snprintf(line, sizeof(line), "%s = %s", key, value);

	fprintf(out, "%s%*s ; %s\n", line, n < 40 ? 40 - n : 0, "", where);
}

/* The origin of a list's K-th of N values: "FILE:L1,L2,..." gives each
 * value its own line when there is one line per value (a line split into
 * several values keeps the whole list). */
static const char *list_where(const char *where, size_t n, size_t k, char *out, size_t len)
{
	const char *colon = strrchr(where, ':'), *p;
	size_t lines = 1;

	if (colon == NULL || n < 2)
		return where;
	for (p = colon + 1; *p; p++) {
		if (*p == ',')
			lines++;
		else if (*p < '0' || *p > '9')
			return where;
	}
	if (lines != n)
		return where;
	p = colon + 1;
	for (size_t i = 0; i < k; i++)
		p = strchr(p, ',') + 1;
	snprintf(out, len, "%.*s%.*s", (int)(colon - where + 1), where, (int)strcspn(p, ","), p);
	return out;
}

void config_dump(const struct config *c, FILE *out)
{
	const char *section = "";

	for (int i = 0; i < CFG_COUNT; i++) {
		const struct cfg_desc *d = &cfg_table[i];
		const void *f = cfield(c, i);
		const char *where = c->origin[i].where;
		char num[64];

		if (strcmp(section, d->section) != 0) {
			fprintf(out, "%s[%s]\n", i ? "\n" : "", d->section);
			section = d->section;
		}
		switch (d->type) {
		case CFG_T_INT:
			if (strcmp(d->unit, "octal") == 0)
				snprintf(num, sizeof(num), "0%lo", *(const long *)f);
			else
				snprintf(num, sizeof(num), "%ld", *(const long *)f);
			dump_value(out, d->key, num, where);
			break;
		case CFG_T_BOOL:
			dump_value(out, d->key, *(const int *)f ? "yes" : "no", where);
			break;
		case CFG_T_LIST: {
			const struct strlist *l = f;
			if (l->n == 0)
				dump_value(out, d->key, "", where);
			for (size_t k = 0; k < l->n; k++) {
				char one[sizeof(c->origin[0].where)];

				dump_value(out, d->key, l->v[k], list_where(where, l->n, k, one, sizeof(one)));
			}
			break;
		}
		default:
			dump_value(out, d->key, *(char *const *)f, where);
		}
	}
}
