/* Unit tests of the Unix-to-Windows path conversion, per convention, from
 * mount tables in the formats the hosts print (Cygwin and MSYS2 /proc/mounts
 * and `mount`, WSL 1 and 2 /proc/mounts and `mount`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "winpath.h"

/* path converted through a table parsed from text in style */
static char *conv(enum winpath_style style, const char *text, const char *distro, const char *path)
{
	struct winpath_table t;
	char err[512], *out = NULL;

	assert_int_equal(winpath_table_parse(&t, style, text, distro), 0);
	if (winpath_convert(&t, path, &out, err, sizeof(err)) != 0) {
		out = NULL;
		print_message("%s\n", err);
	}
	winpath_table_free(&t);
	return out;
}

#define ASSERT_CONV(style, text, distro, path, want)                                                                   \
	do {                                                                                                           \
		char *got_ = conv(style, text, distro, path);                                                          \
		assert_non_null(got_);                                                                                 \
		assert_string_equal(got_, want);                                                                       \
		free(got_);                                                                                            \
	} while (0)

/* err of a failed conversion */
static void conv_fails(enum winpath_style style, const char *text, const char *path, const char *want_err)
{
	struct winpath_table t;
	char err[512] = "", *out = (char *)1;

	assert_int_equal(winpath_table_parse(&t, style, text, NULL), 0);
	assert_int_equal(winpath_convert(&t, path, &out, err, sizeof(err)), -1);
	assert_null(out);
	if (strstr(err, want_err) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want_err);
	winpath_table_free(&t);
}

/* Cygwin's /proc/mounts: the root, the bin and lib mounts, the drives under
 * the default cygdrive prefix. */
static const char cygwin_proc_mounts[] = "C:/cygwin64/bin /usr/bin ntfs binary,auto 1 1\n"
					 "C:/cygwin64/lib /usr/lib ntfs binary,auto 1 1\n"
					 "C:/cygwin64 / ntfs binary,auto 1 1\n"
					 "C: /cygdrive/c ntfs binary,posix=0,user,noumount,auto 1 1\n"
					 "D: /cygdrive/d fat32 binary,posix=0,user,noumount,auto 1 1\n";

static void cygwin_default_cygdrive(void **state)
{
	(void)state;
	ASSERT_CONV(WINPATH_CYGWIN, cygwin_proc_mounts, NULL, "/cygdrive/c/Program Files/Interlok/lib/a.jar",
		    "C:\\Program Files\\Interlok\\lib\\a.jar");
	ASSERT_CONV(WINPATH_CYGWIN, cygwin_proc_mounts, NULL, "/cygdrive/d", "D:\\");
	/* a drive the table does not list: the prefix still finds it */
	ASSERT_CONV(WINPATH_CYGWIN, cygwin_proc_mounts, NULL, "/cygdrive/e/x", "E:\\x");
	/* under the root, and the longest mount wins */
	ASSERT_CONV(WINPATH_CYGWIN, cygwin_proc_mounts, NULL, "/opt/adaptris/lib/b.jar",
		    "C:\\cygwin64\\opt\\adaptris\\lib\\b.jar");
	ASSERT_CONV(WINPATH_CYGWIN, cygwin_proc_mounts, NULL, "/usr/lib/x.jar", "C:\\cygwin64\\lib\\x.jar");
	/* /usr/library is not under /usr/lib */
	ASSERT_CONV(WINPATH_CYGWIN, cygwin_proc_mounts, NULL, "/usr/library", "C:\\cygwin64\\usr\\library");
	/* no table at all: the defaults */
	ASSERT_CONV(WINPATH_CYGWIN, "", NULL, "/cygdrive/c/x/y", "C:\\x\\y");
	/* relative and Windows-form paths are left alone */
	ASSERT_CONV(WINPATH_CYGWIN, cygwin_proc_mounts, NULL, "config", "config");
	ASSERT_CONV(WINPATH_CYGWIN, cygwin_proc_mounts, NULL, "C:/x", "C:/x");
}

/* `mount` output of a Cygwin with the cygdrive prefix changed to /mnt, as
 * in Cygwin's user guide, and a drive letter written in lower case. */
static void cygwin_custom_prefix(void **state)
{
	static const char mount_out[] = "C:/cygwin/bin on /usr/bin type ntfs (binary)\n"
					"C:/cygwin/lib on /usr/lib type ntfs (binary)\n"
					"C:/cygwin on / type ntfs (binary)\n"
					"C: on /mnt/c type ntfs (binary,user,noumount)\n"
					"d: on /mnt/d type fat (binary,user,noumount)\n";
	static const char fstab[] = "# /etc/fstab\nnone /win cygdrive binary,posix=0,user 0 0\n";

	(void)state;
	ASSERT_CONV(WINPATH_CYGWIN, mount_out, NULL, "/mnt/d/data/x.jar", "D:\\data\\x.jar");
	ASSERT_CONV(WINPATH_CYGWIN, mount_out, NULL, "/mnt/f/x", "F:\\x");
	/* /cygdrive is an ordinary directory under the root then */
	ASSERT_CONV(WINPATH_CYGWIN, mount_out, NULL, "/cygdrive/c/x", "C:\\cygwin\\cygdrive\\c\\x");
	/* the prefix of an fstab (or `mount -m`) line */
	ASSERT_CONV(WINPATH_CYGWIN, fstab, NULL, "/win/c/x", "C:\\x");
	/* a source path with a space, escaped as in /proc/mounts */
	ASSERT_CONV(WINPATH_CYGWIN, "C:/Program\\040Files/Cyg / ntfs binary 1 1\n", NULL, "/etc/x",
		    "C:\\Program Files\\Cyg\\etc\\x");
}

/* MSYS2: drives at /c, the root the installation. */
static void msys2(void **state)
{
	static const char proc_mounts[] = "C:/msys64 / ntfs binary,noacl,auto 1 1\n"
					  "C:/msys64/usr/bin /bin ntfs binary,noacl,auto 1 1\n"
					  "C: /c ntfs binary,noacl,posix=0,user,noumount,auto 1 1\n"
					  "D: /d ntfs binary,noacl,posix=0,user,noumount,auto 1 1\n";

	(void)state;
	ASSERT_CONV(WINPATH_MSYS2, proc_mounts, NULL, "/c/Users/me/interlok/lib/a.jar",
		    "C:\\Users\\me\\interlok\\lib\\a.jar");
	ASSERT_CONV(WINPATH_MSYS2, proc_mounts, NULL, "/d", "D:\\");
	ASSERT_CONV(WINPATH_MSYS2, proc_mounts, NULL, "/home/me/x", "C:\\msys64\\home\\me\\x");
	ASSERT_CONV(WINPATH_MSYS2, proc_mounts, NULL, "/bin/java", "C:\\msys64\\usr\\bin\\java");
	/* defaults: /e is a drive, /etc is not */
	ASSERT_CONV(WINPATH_MSYS2, "", NULL, "/e/x", "E:\\x");
	conv_fails(WINPATH_MSYS2, "", "/etc/x", "/etc/x has no Windows path");
}

/* WSL: /mnt/c, in the formats of WSL 1 and the two of WSL 2. */
static void wsl(void **state)
{
	static const char wsl1[] = "rootfs / lxfs rw,noatime 0 0\n"
				   "C:\\134 /mnt/c drvfs rw,noatime,uid=1000,gid=1000 0 0\n";
	static const char wsl2[] =
		"/dev/sdc / ext4 rw,relatime,discard,errors=remount-ro,data=ordered 0 0\n"
		"none /mnt/wsl tmpfs rw,relatime 0 0\n"
		"drivers /usr/lib/wsl/drivers 9p ro,nosuid,nodev,noatime,dirsync,aname=drivers;fmask=222;dmask=222,"
		"mmap,access=client,msize=65536,trans=fd,rfd=7,wfd=7 0 0\n"
		"C:\\134 /mnt/c 9p rw,noatime,dirsync,aname=drvfs;path=C:\\;uid=1000;gid=1000;symlinkroot=/mnt/,mmap,"
		"access=client,msize=262144,trans=virtio 0 0\n";
	static const char wsl2_new[] =
		"drvfs /mnt/c 9p rw,noatime,dirsync,aname=drvfs;path=C:\\;uid=1000;gid=1000;symlinkroot=/mnt/,mmap,"
		"access=client,msize=262144,trans=virtio 0 0\n"
		/* spaces in path= are left unescaped by the kernel */
		"drvfs /Docker/host 9p rw,dirsync,noatime,aname=drvfs;path=C:\\Program Files\\Docker\\Docker\\resources;"
		"symlinkroot=/mnt/,mmap,access=client,msize=262144,trans=virtio 0 0\n";
	static const char wsl2_mount[] = "C: on /mnt/c type 9p (rw,relatime,dirsync,aname=drvfs;path=C:;"
					 "symlinkroot=/,mmap,access=client,msize=65536,trans=fd,rfd=3,wfd=3)\n";

	(void)state;
	ASSERT_CONV(WINPATH_WSL, wsl1, NULL, "/mnt/c/interlok/lib/a.jar", "C:\\interlok\\lib\\a.jar");
	ASSERT_CONV(WINPATH_WSL, wsl2, NULL, "/mnt/c/interlok/lib/a.jar", "C:\\interlok\\lib\\a.jar");
	ASSERT_CONV(WINPATH_WSL, wsl2_new, NULL, "/mnt/c", "C:\\");
	ASSERT_CONV(WINPATH_WSL, wsl2_new, NULL, "/Docker/host/x.jar",
		    "C:\\Program Files\\Docker\\Docker\\resources\\x.jar");
	ASSERT_CONV(WINPATH_WSL, wsl2_mount, NULL, "/mnt/c/x", "C:\\x");
	/* a drive not mounted yet: the automount root */
	ASSERT_CONV(WINPATH_WSL, wsl2, NULL, "/mnt/d/x", "D:\\x");
	/* the distribution's own files, through \\wsl.localhost */
	ASSERT_CONV(WINPATH_WSL, wsl2, "Debian", "/opt/adaptris/lib/a.jar",
		    "\\\\wsl.localhost\\Debian\\opt\\adaptris\\lib\\a.jar");
	conv_fails(WINPATH_WSL, wsl2, "/opt/adaptris/lib/a.jar", "/opt/adaptris/lib/a.jar has no Windows path");
	/* //x is an ordinary path on Linux */
	conv_fails(WINPATH_WSL, wsl2, "//server/share/x", "//server/share/x has no Windows path");
}

/* /etc/wsl.conf [automount] root = / : drives at /c; or root = /win/ */
static void wsl_custom_automount_root(void **state)
{
	static const char root_slash[] = "C: on /c type 9p (rw,relatime,dirsync,aname=drvfs;path=C:;symlinkroot=/,"
					 "mmap,access=client,msize=65536,trans=fd,rfd=3,wfd=3)\n";
	static const char root_win[] = "drvfs /win/c 9p rw,noatime,aname=drvfs;path=C:\\;symlinkroot=/win/,mmap 0 0\n";

	(void)state;
	ASSERT_CONV(WINPATH_WSL, root_slash, NULL, "/c/Users/x", "C:\\Users\\x");
	ASSERT_CONV(WINPATH_WSL, root_slash, NULL, "/d/data", "D:\\data");
	ASSERT_CONV(WINPATH_WSL, root_win, NULL, "/win/e/x", "E:\\x");
	conv_fails(WINPATH_WSL, root_win, "/mnt/c/x", "drive prefix /win/<drive>");
}

/* Shares: Cygwin reads //server/share itself and mounts them; WSL mounts
 * them with drvfs. */
static void unc_shares(void **state)
{
	static const char cyg[] = "C:/cygwin64 / ntfs binary,auto 1 1\n"
				  "//fileserver/interlok /srv/interlok smbfs binary 1 1\n";
	static const char wsl_share[] = "\\134\\134fileserver\\134interlok /mnt/share 9p rw,aname=drvfs;"
					"path=\\\\fileserver\\interlok;symlinkroot=/mnt/,mmap 0 0\n";

	(void)state;
	ASSERT_CONV(WINPATH_CYGWIN, cyg, NULL, "/srv/interlok/lib/a.jar", "\\\\fileserver\\interlok\\lib\\a.jar");
	ASSERT_CONV(WINPATH_CYGWIN, cyg, NULL, "//fileserver/other/x.jar", "\\\\fileserver\\other\\x.jar");
	ASSERT_CONV(WINPATH_MSYS2, "", NULL, "//srv/s", "\\\\srv\\s");
	ASSERT_CONV(WINPATH_WSL, wsl_share, NULL, "/mnt/share/lib/a.jar", "\\\\fileserver\\interlok\\lib\\a.jar");
}

static void detect_and_names(void **state)
{
	(void)state;
	assert_int_equal(winpath_detect(cygwin_proc_mounts, WINPATH_WSL), WINPATH_CYGWIN);
	assert_int_equal(winpath_detect("C:\\134 /mnt/c 9p rw,aname=drvfs;path=C:\\;x 0 0\n", WINPATH_CYGWIN),
			 WINPATH_WSL);
	assert_int_equal(winpath_detect("drvfs /mnt/c 9p rw,aname=drvfs;path=C:\\;x 0 0\n", WINPATH_CYGWIN),
			 WINPATH_WSL);
	/* a plain Linux table: the fallback */
	assert_int_equal(winpath_detect("/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n", WINPATH_MSYS2),
			 WINPATH_MSYS2);
	assert_int_equal(winpath_detect("", WINPATH_WSL), WINPATH_WSL);
	assert_int_equal(winpath_style_parse("msys2"), WINPATH_MSYS2);
	assert_int_equal(winpath_style_parse("none"), WINPATH_NONE);
	assert_int_equal(winpath_style_parse("windows"), -1);
	assert_string_equal(winpath_style_name(WINPATH_WSL), "wsl");
	assert_true(winpath_is_windows("c:\\x"));
	assert_true(winpath_is_windows("C:/x"));
	assert_true(winpath_is_windows("\\\\s\\x"));
	assert_false(winpath_is_windows("//s/x"));
	assert_false(winpath_is_windows("/c/x"));
	assert_false(winpath_is_windows("cfg:x"));
}

static void no_mapping_is_a_clear_error(void **state)
{
	(void)state;
	/* Cygwin with no root mount: nothing holds /opt */
	conv_fails(WINPATH_CYGWIN, "C: /cygdrive/c ntfs binary 1 1\n", "/opt/adaptris/lib/a.jar",
		   "/opt/adaptris/lib/a.jar has no Windows path for the JVM: no mount of the cygwin mount table holds "
		   "it and it is not under the drive prefix /cygdrive/<drive>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cygwin_default_cygdrive), cmocka_unit_test(cygwin_custom_prefix),
		cmocka_unit_test(msys2),		   cmocka_unit_test(wsl),
		cmocka_unit_test(wsl_custom_automount_root), cmocka_unit_test(unc_shares),
		cmocka_unit_test(detect_and_names),	   cmocka_unit_test(no_mapping_is_a_clear_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
