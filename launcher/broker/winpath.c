/*
 * Unix paths to Windows paths from a mount table.
 *
 * The three hosts keep their mounts in the same kind of table, each line a
 * Windows source and a Unix mount point:
 *   Cygwin /proc/mounts  C:/cygwin64/bin /usr/bin ntfs binary,auto 1 1
 *                        C: /cygdrive/c ntfs binary,posix=0,user,noumount,auto 1 1
 *   Cygwin `mount`       C:/cygwin/lib on /usr/lib type ntfs (binary)
 *   MSYS2 /proc/mounts   C:/msys64 / ntfs binary,noacl,auto 1 1
 *   WSL /proc/mounts     C:\134 /mnt/c 9p rw,noatime,...,aname=drvfs;path=C:\;...
 *                        drvfs /mnt/c 9p rw,...,aname=drvfs;path=C:\;symlinkroot=/mnt/,...
 *   WSL `mount`          C: on /mnt/c type 9p (rw,...,aname=drvfs;path=C:;...)
 * A path converts through the longest mount point holding it; drives that
 * are not listed are found under the drive prefix (Cygwin's cygdrive
 * prefix, WSL's automount root), taken from the table when it shows one.
 */
#include "winpath.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const style_names[] = {
	[WINPATH_NONE] = "none", [WINPATH_AUTO] = "auto", [WINPATH_CYGWIN] = "cygwin",
	[WINPATH_MSYS2] = "msys2", [WINPATH_WSL] = "wsl",
};

int winpath_style_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(style_names) / sizeof(style_names[0]); i++)
		if (strcmp(name, style_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *winpath_style_name(enum winpath_style s)
{
	return (size_t)s < sizeof(style_names) / sizeof(style_names[0]) ? style_names[s] : "?";
}

int winpath_is_windows(const char *p)
{
	return (isalpha((unsigned char)p[0]) && p[1] == ':' && (p[2] == '\0' || p[2] == '\\' || p[2] == '/')) ||
	       (p[0] == '\\' && p[1] == '\\');
}

/* Cygwin's form of a share: //server/share... */
static int is_unix_unc(const char *p)
{
	return p[0] == '/' && p[1] == '/' && p[2] != '/' && p[2] != '\0';
}

/* The kernel's (and Cygwin's) escapes in a mount table field: \040 for a
 * space, \134 for a backslash. */
static void unescape(char *s)
{
	char *w = s;

	for (const char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

struct mline {
	char *src, *dir, *type, *opts; /* into the line's copy */
};

static char *next_word(char **p)
{
	char *s = *p, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return NULL;
	e = s + strcspn(s, " \t");
	if (*e != '\0')
		*e++ = '\0';
	*p = e;
	return s;
}

/* Splits one line (modified in place); 0, or -1 for a line that is no mount. */
static int split_line(char *l, struct mline *m)
{
	char *on, *ty;

	l[strcspn(l, "\r")] = '\0';
	while (*l == ' ' || *l == '\t')
		l++;
	if (*l == '\0' || *l == '#')
		return -1;
	on = strstr(l, " on ");
	ty = on != NULL ? strstr(on + 4, " type ") : NULL;
	if (ty != NULL) {
		/* `mount` output: the source may hold spaces, the options are
		 * in parentheses */
		char *rest = ty + 6, *close;
		*on = '\0';
		*ty = '\0';
		m->src = l;
		m->dir = on + 4;
		m->type = next_word(&rest);
		if (m->type == NULL)
			return -1;
		while (*rest == ' ')
			rest++;
		if (*rest == '(')
			rest++;
		close = strrchr(rest, ')');
		if (close != NULL)
			*close = '\0';
		m->opts = rest;
	} else {
		char *rest = l;
		m->src = next_word(&rest);
		m->dir = next_word(&rest);
		m->type = next_word(&rest);
		if (m->src == NULL || m->dir == NULL || m->type == NULL)
			return -1;
		/* the rest: WSL leaves spaces of a drvfs path= unescaped in
		 * the options, so they run to the end of the line */
		while (*rest == ' ' || *rest == '\t')
			rest++;
		m->opts = rest;
	}
	unescape(m->src);
	unescape(m->dir);
	return 0;
}

/* Windows path in canonical form: backslashes, drive letter upper case,
 * no trailing backslash ("C:" for a drive's root). */
static void canon_win(char *w)
{
	size_t n;

	for (char *c = w; *c; c++)
		if (*c == '/')
			*c = '\\';
	if (isalpha((unsigned char)w[0]) && w[1] == ':')
		w[0] = (char)toupper((unsigned char)w[0]);
	n = strlen(w);
	while (n > 2 && w[n - 1] == '\\')
		w[--n] = '\0';
	if (n == 3 && w[1] == ':' && w[2] == '\\')
		w[2] = '\0';
}

/* The Windows source of a mount line, malloc'd and canonical; NULL when the
 * line mounts something else (ext4, proc, a bind mount). */
static char *win_source(const struct mline *m)
{
	char *w = NULL;

	if (winpath_is_windows(m->src) || is_unix_unc(m->src)) {
		w = strdup(m->src);
	} else {
		/* WSL: "drvfs /mnt/c 9p ...;path=C:\;...": path= among the options */
		for (const char *o = m->opts; (o = strstr(o, "path=")) != NULL; o += 5) {
			if (o != m->opts && o[-1] != ',' && o[-1] != ';')
				continue;
			o += 5;
			w = strndup(o, strcspn(o, ";,"));
			if (w != NULL && !winpath_is_windows(w)) {
				free(w);
				w = NULL;
			}
			break;
		}
	}
	if (w != NULL)
		canon_win(w);
	return w;
}

static int is_drvfs(const struct mline *m)
{
	return strcmp(m->type, "drvfs") == 0 || strcmp(m->type, "virtiofs") == 0 ||
	       strstr(m->opts, "aname=drvfs") != NULL;
}

enum winpath_style winpath_detect(const char *text, enum winpath_style fallback)
{
	enum winpath_style found = fallback;
	int any = 0;

	for (const char *l = text; l != NULL && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *copy = strndup(l, strcspn(l, "\n")), *w;
		struct mline m;

		if (copy == NULL)
			break;
		if (split_line(copy, &m) == 0 && (w = win_source(&m)) != NULL) {
			free(w);
			if (is_drvfs(&m)) {
				free(copy);
				return WINPATH_WSL;
			}
			any = 1;
		}
		free(copy);
	}
	if (any)
		found = WINPATH_CYGWIN;
	return found;
}

static char *canon_posix(const char *d)
{
	size_t n = strlen(d);

	while (n > 1 && d[n - 1] == '/')
		n--;
	return strndup(d, n);
}

static int add_mount(struct winpath_table *t, char *win, char *posix)
{
	struct winpath_mount *v;

	if (win == NULL || posix == NULL)
		goto oom;
	v = realloc(t->m, (t->n + 1) * sizeof(*v));
	if (v == NULL)
		goto oom;
	t->m = v;
	t->m[t->n].win = win;
	t->m[t->n].posix = posix;
	t->n++;
	return 0;
oom:
	free(win);
	free(posix);
	return -1;
}

/* A drive's own mount ("C:" on /cygdrive/c) tells the drive prefix. */
static int drive_prefix_of(const struct winpath_mount *mt, char **prefix)
{
	size_t n = strlen(mt->posix);

	if (strlen(mt->win) != 2 || n < 2 || mt->posix[n - 2] != '/' ||
	    tolower((unsigned char)mt->posix[n - 1]) != tolower((unsigned char)mt->win[0]))
		return 0;
	*prefix = strndup(mt->posix, n - 2);
	return 1;
}

int winpath_table_parse(struct winpath_table *t, enum winpath_style style, const char *text,
			const char *wsl_distro)
{
	char *cygdrive = NULL;
	int has_root = 0;

	memset(t, 0, sizeof(*t));
	t->style = style;
	for (const char *l = text; l != NULL && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *copy = strndup(l, strcspn(l, "\n")), *w;
		struct mline m;

		if (copy == NULL)
			goto oom;
		if (split_line(copy, &m) != 0) {
			free(copy);
			continue;
		}
		if (strcmp(m.type, "cygdrive") == 0 && cygdrive == NULL) {
			/* fstab and `mount -m`: "none /mnt cygdrive binary 0 0" */
			cygdrive = canon_posix(strcmp(m.dir, "/") == 0 ? "" : m.dir);
			if (cygdrive == NULL) {
				free(copy);
				goto oom;
			}
		} else if (m.dir[0] == '/' && (w = win_source(&m)) != NULL) {
			has_root |= strcmp(m.dir, "/") == 0;
			if (add_mount(t, w, canon_posix(m.dir)) != 0) {
				free(copy);
				goto oom;
			}
		}
		free(copy);
	}
	if (cygdrive != NULL) {
		t->drive_prefix = cygdrive;
		cygdrive = NULL;
	}
	for (size_t i = 0; t->drive_prefix == NULL && i < t->n; i++)
		if (drive_prefix_of(&t->m[i], &t->drive_prefix) && t->drive_prefix == NULL)
			goto oom;
	if (t->drive_prefix == NULL)
		t->drive_prefix = strdup(style == WINPATH_CYGWIN ? "/cygdrive" : style == WINPATH_WSL ? "/mnt" : "");
	if (t->drive_prefix == NULL)
		goto oom;
	if (style == WINPATH_WSL && !has_root && wsl_distro != NULL && *wsl_distro != '\0') {
		char *root;
		/* the distribution's own files, through Windows' network view */
		if (asprintf(&root, "\\\\wsl.localhost\\%s", wsl_distro) < 0 || add_mount(t, root, strdup("/")) != 0)
			goto oom;
	}
	return 0;
oom:
	free(cygdrive);
	winpath_table_free(t);
	return -1;
}

void winpath_table_free(struct winpath_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->m[i].win);
		free(t->m[i].posix);
	}
	free(t->m);
	free(t->drive_prefix);
	memset(t, 0, sizeof(*t));
}

/* win, then rest ("" or "/x/y") with backslashes; a bare drive gets its root. */
static int compose(const char *win, const char *rest, char **out)
{
	char *s;

	if (asprintf(&s, "%s%s", win, *rest == '\0' && strlen(win) == 2 && win[1] == ':' ? "\\" : rest) < 0)
		return -1;
	for (char *c = s + strlen(win); *c; c++)
		if (*c == '/')
			*c = '\\';
	*out = s;
	return 0;
}

int winpath_convert(const struct winpath_table *t, const char *path, char **out, char *err, size_t errlen)
{
	const struct winpath_mount *best = NULL;
	size_t best_len = 0, dl = strlen(t->drive_prefix);
	const char *rest = NULL;

	*out = NULL;
	if (path[0] != '/') {
		*out = strdup(path);
		goto done;
	}
	if (t->style != WINPATH_WSL && is_unix_unc(path)) {
		if (compose("\\", path + 1, out) != 0)
			goto oom;
		goto done;
	}
	for (size_t i = 0; i < t->n; i++) {
		const char *p = t->m[i].posix;
		size_t n = strlen(p);
		/* "/" holds everything but loses to any longer match */
		if (strcmp(p, "/") == 0) {
			if (best == NULL) {
				best = &t->m[i];
				best_len = 1;
				rest = path;
			}
		} else if (strncmp(path, p, n) == 0 && (path[n] == '/' || path[n] == '\0') && n > best_len) {
			best = &t->m[i];
			best_len = n;
			rest = path + n;
		}
	}
	if (strncmp(path, t->drive_prefix, dl) == 0 && path[dl] == '/' && isalpha((unsigned char)path[dl + 1]) &&
	    (path[dl + 2] == '/' || path[dl + 2] == '\0') && dl + 2 > best_len) {
		char drive[3] = {(char)toupper((unsigned char)path[dl + 1]), ':', '\0'};
		if (compose(drive, path + dl + 2, out) != 0)
			goto oom;
		goto done;
	}
	if (best == NULL) {
		snprintf(err, errlen,
			 "%s has no Windows path for the JVM: no mount of the %s mount table holds it and it is not "
			 "under the drive prefix %s/<drive>; move it to a Windows drive, or check broker.path_style and "
			 "broker.mount_table",
			 path, winpath_style_name(t->style), t->drive_prefix);
		return -1;
	}
	if (compose(best->win, rest, out) != 0)
		goto oom;
done:
	if (*out == NULL)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}
