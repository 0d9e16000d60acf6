/*
 * Unix paths as a native Windows program reads them, on the hosts where a
 * Unix-like launcher starts a Windows JVM: Cygwin, MSYS2/MinGW and WSL.
 * The launcher reads lib/ and the classpath through its own (Unix) view of
 * the file system; the JVM gets C:\... or \\server\share\... instead.
 *
 * Pure: the mount table comes in as text (the host's /proc/mounts, or the
 * output of Cygwin's `mount`), read by the caller.
 */
#ifndef FL_WINPATH_H
#define FL_WINPATH_H

#include <stddef.h>

enum winpath_style {
	WINPATH_NONE,   /* no conversion: paths go to the JVM as they are */
	WINPATH_AUTO,   /* decided by winpath_detect */
	WINPATH_CYGWIN, /* drives under /cygdrive/c unless the table says otherwise */
	WINPATH_MSYS2,  /* drives under /c */
	WINPATH_WSL,    /* drives under /mnt/c (wsl.conf [automount] root) */
};

struct winpath_mount {
	char *win;   /* "C:", "C:\cygwin64", "\\server\share": no trailing '\' */
	char *posix; /* "/cygdrive/c", "/", "/mnt/share": no trailing '/' but "/" */
};

struct winpath_table {
	enum winpath_style style;
	struct winpath_mount *m;
	size_t n;
	char *drive_prefix; /* "/cygdrive", "/mnt", "" (MSYS2's /c) */
};

/* "none", "auto", "cygwin", "msys2", "wsl"; -1 for anything else. */
int winpath_style_parse(const char *name);
const char *winpath_style_name(enum winpath_style s);

/* The style a mount table shows: WSL when a Windows drive is mounted through
 * drvfs (fs type drvfs, 9p with aname=drvfs, virtiofs), Cygwin when another
 * Windows path is mounted (MSYS2 reads its table the same way), fallback
 * when the table has no Windows mount at all. */
enum winpath_style winpath_detect(const char *text, enum winpath_style fallback);

/*
 * Parses a mount table: /proc/mounts lines ("C:/cygwin64 / ntfs binary 1 1",
 * "C:\134 /mnt/c 9p rw,...", "drvfs /mnt/c 9p ...;path=C:\;..."), `mount`
 * output ("C: on /cygdrive/c type ntfs (binary,...)") or fstab lines
 * ("none /mnt cygdrive binary 0 0").  Mounts of anything but a Windows path
 * are skipped.  style must be CYGWIN, MSYS2 or WSL.  wsl_distro (WSL only,
 * NULL or "" for none) names the distribution whose own files the JVM then
 * reads as \\wsl.localhost\<distro>\...  0, or -1 (out of memory).
 */
int winpath_table_parse(struct winpath_table *t, enum winpath_style style, const char *text,
			const char *wsl_distro);
void winpath_table_free(struct winpath_table *t);

/*
 * path as the Windows JVM reads it, malloc'd in *out: the longest mount
 * holding it, else the drive prefix (/cygdrive/c/x -> C:\x), else on
 * Cygwin and MSYS2 a //server/share path as \\server\share.  A path already
 * in Windows form (C:\x, C:/x, \\server\x) and a relative one are returned
 * as they are.  0; -1 with a message in err when no mount holds the path
 * (or out of memory).
 */
int winpath_convert(const struct winpath_table *t, const char *path, char **out, char *err, size_t errlen);

/* "C:...", "c:/..." or "\\...": a path a Windows program reads as is
 * (a "//server/share" path is Cygwin's Unix form of a share). */
int winpath_is_windows(const char *path);

#endif
