#!/bin/sh
# start-failover.sh: start failover-launcher where there is no systemd unit
# (Linux or Darwin without systemd) and on Windows-like hosts (WSL, Cygwin,
# MSYS2/MinGW).  POSIX sh: clean under `shellcheck -s sh`, runs under dash.
#
# It detects the platform (uname -s, and /proc/version for WSL), validates
# ADAPTRIS_HOME and JAVA_HOME with messages that say what to set, and execs
# the launcher with the configuration:
#
#   failover-launcher -c CONFIG [-o ...] [LAUNCHER-OPTIONS...]
#
# A native Windows JVM.  On Cygwin and MSYS2/MinGW the launcher is a
# Unix-like program and the JVM a native Windows one (on WSL too when
# JAVA_HOME holds bin/java.exe).  The launcher keeps its Unix paths (it reads
# lib/ under broker.home and execs broker.java) and is told to write the
# paths it puts on the JVM's command line (the -cp entries, -javaagent:, the
# bootstrap argument) as Windows paths: -o broker.classpath_separator=windows
# and -o broker.path_style=cygwin|msys2|wsl, converted through the host's
# mount table (/proc/mounts).  What this script owns for the JVM, ADAPTRIS_HOME
# and JAVA_HOME in its environment, it converts itself (cygpath -w, on WSL
# wslpath -w).  (The MSYS2 runtime rewrites some POSIX-looking arguments of
# native programs on its own, see MSYS2_ARG_CONV_EXCL; the launcher's are
# Windows paths already.)
#
# Exit status: 1 for a configuration or usage error found here (like the
# launcher's, restarting will not help); otherwise the launcher's own.

set -u

prog=start-failover.sh

usage() {
	cat <<'EOF'
Usage: start-failover.sh [-c CONFIG] [--dry-run] [-- LAUNCHER-OPTIONS...]
       start-failover.sh --help

Starts failover-launcher on a host without systemd (Linux, Darwin) or on a
Windows-like host (WSL, Cygwin, MSYS2/MinGW), after checking ADAPTRIS_HOME and
JAVA_HOME.  Where the JVM is a native Windows program (Cygwin, MSYS2/MinGW,
WSL with JAVA_HOME holding bin/java.exe), the JVM gets ADAPTRIS_HOME and
JAVA_HOME as Windows paths and the launcher is told to write the paths on
the JVM's command line as Windows paths (C:\...) and to join the classpath
with ';'.

Options:
  -c, --config FILE  the launcher's INI file (default:
                     $ADAPTRIS_HOME/config/failover-launcher.ini if it exists,
                     else /etc/failover-launcher/failover-launcher.ini)
  --dry-run          print the command it would run, as one shell-quoted line
                     (with the environment it sets), and exit 0
  -h, --help         print this help
  -- OPTIONS...      passed to failover-launcher as they are, for example
                     -- -n (check the configuration), -- --print-command, -- -v

Environment:
  ADAPTRIS_HOME      the Interlok install directory (holding lib/), checked
                     when set; unset for a broker whose home the
                     configuration gives (broker.home, as for ActiveMQ)
  JAVA_HOME          the JDK or JRE (holding bin/java, or bin/java.exe for a
                     Windows JVM); unset: java from PATH
  FAILOVER_LAUNCHER  the launcher binary (default: failover-launcher next to
                     this script, else from PATH)

Exit status: 1 configuration or usage error; otherwise the launcher's
(0 clean stop, 1 configuration error, 2 temporary failure).
EOF
}

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

usage_error() {
	printf '%s: %s\n' "$prog" "$*" >&2
	printf "Try '%s --help'.\n" "$prog" >&2
	exit 1
}

# quote ARG: ARG as one shell word (single-quoted unless it is plain).
quote() {
	case $1 in
	'')
		printf "''"
		;;
	*[!A-Za-z0-9_./:=@%+,-]*)
		q_rest=$1
		q_out=
		while :; do
			case $q_rest in
			*\'*)
				q_out=$q_out${q_rest%%\'*}"'\\''"
				q_rest=${q_rest#*\'}
				;;
			*)
				q_out=$q_out$q_rest
				break
				;;
			esac
		done
		printf "'%s'" "$q_out"
		;;
	*)
		printf '%s' "$1"
		;;
	esac
}

# need_converter: the path converter of this platform must be there.
need_converter() {
	command -v "$converter" >/dev/null 2>&1 ||
		die "$converter not found; it is needed on $platform to convert paths (install it, or run from a shell that has it)"
}

# unix_path PATH: PATH as the launcher (a Unix-like program) can open it; a
# Windows-style path (C:\x, C:/x, \\server\x) is converted on Windows-like
# hosts.  Relative paths become absolute (the launcher would resolve them
# against the INI file's directory, not against ours).
unix_path() {
	u_path=$1
	if [ -n "$converter" ]; then
		case $u_path in
		[A-Za-z]:* | \\\\*)
			need_converter
			u_path=$("$converter" -u "$u_path") || die "$converter -u '$1' failed"
			;;
		esac
	fi
	case $u_path in
	/*) ;;
	*) u_path=$PWD/$u_path ;;
	esac
	printf '%s\n' "$u_path"
}

# windows_path PATH: PATH as a native Windows program reads it.
windows_path() {
	need_converter
	"$converter" -w "$1" || die "$converter -w '$1' failed"
}

# --- command line ---------------------------------------------------------

config=
dry_run=no
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	-c | --config)
		if [ $# -lt 2 ] || [ -z "$2" ]; then
			usage_error "$1 needs a FILE"
		fi
		config=$2
		shift 2
		;;
	--config=*)
		config=${1#--config=}
		[ -n "$config" ] || usage_error "--config needs a FILE"
		shift
		;;
	--dry-run)
		dry_run=yes
		shift
		;;
	--)
		shift
		break
		;;
	*)
		usage_error "unknown argument '$1' (options for failover-launcher go after --)"
		;;
	esac
done
# "$@" now holds the LAUNCHER-OPTIONS.

# --- platform -------------------------------------------------------------

kernel=$(uname -s 2>/dev/null) || kernel=
converter=
# path_style: the launcher's broker.path_style for a native Windows JVM
path_style=
case $kernel in
Linux)
	# WSL 1 says "Microsoft", WSL 2 "microsoft" in /proc/version.
	# FAILOVER_PROC_VERSION stands in for /proc/version in the tests.
	if grep -qi microsoft "${FAILOVER_PROC_VERSION:-/proc/version}" 2>/dev/null; then
		platform=WSL
		converter=wslpath
		path_style=wsl
	else
		platform=Linux
	fi
	;;
CYGWIN*)
	platform=Cygwin
	converter=cygpath
	path_style=cygwin
	;;
MSYS*)
	platform=MSYS2
	converter=cygpath
	path_style=msys2
	;;
MINGW*)
	platform=MinGW
	converter=cygpath
	path_style=msys2
	;;
Darwin)
	platform=Darwin
	;;
*)
	platform=${kernel:-unknown}
	;;
esac
case $platform in
Linux | WSL | Cygwin | MSYS2 | MinGW | Darwin)
	printf '%s: platform: %s (uname -s: %s)\n' "$prog" "$platform" "$kernel" >&2
	;;
*)
	printf '%s: platform: %s (not Linux, WSL, Cygwin, MSYS2, MinGW or Darwin; treated as Unix-like)\n' \
		"$prog" "$platform" >&2
	;;
esac

# --- ADAPTRIS_HOME ----------------------------------------------------------

# Interlok's install exports it; another broker (ActiveMQ) has its home in
# the configuration (broker.home) and needs none.  Given, it is checked.
home_hint="set ADAPTRIS_HOME to the Interlok install directory (the one holding lib/), or unset it for a broker whose home the configuration gives"
home=
if [ -n "${ADAPTRIS_HOME:-}" ]; then
	home=$(unix_path "$ADAPTRIS_HOME") || exit 1
	[ -d "$home" ] || die "ADAPTRIS_HOME=$ADAPTRIS_HOME is not a directory; $home_hint"
	[ -d "$home/lib" ] || die "ADAPTRIS_HOME=$ADAPTRIS_HOME has no lib/ directory; $home_hint"
fi

# --- JAVA_HOME / java -------------------------------------------------------

# jvm: unix (a JVM of this platform) or windows (a native Windows JVM).
java_home=
jvm=unix
case $platform in
Cygwin | MSYS2 | MinGW)
	# there is no Cygwin or MSYS2 JVM: java is a native Windows program
	jvm=windows
	if [ -n "${JAVA_HOME:-}" ]; then
		java_home=$(unix_path "$JAVA_HOME") || exit 1
		if [ -f "$java_home/bin/java.exe" ] && [ -x "$java_home/bin/java.exe" ]; then
			java=$java_home/bin/java.exe
		elif [ -f "$java_home/bin/java" ] && [ -x "$java_home/bin/java" ]; then
			java=$java_home/bin/java
		else
			die "JAVA_HOME=$JAVA_HOME has no executable bin/java.exe or bin/java; set JAVA_HOME to a JDK or JRE directory (the one holding bin\\java.exe), or unset JAVA_HOME to use java from PATH"
		fi
	else
		java=$(command -v java || command -v java.exe) ||
			die "JAVA_HOME is not set and java is not in PATH; set JAVA_HOME to a JDK or JRE directory (the one holding bin\\java.exe), or add its bin directory to PATH"
	fi
	;;
*)
	if [ -n "${JAVA_HOME:-}" ]; then
		java_home=$(unix_path "$JAVA_HOME") || exit 1
		if [ -f "$java_home/bin/java" ] && [ -x "$java_home/bin/java" ]; then
			java=$java_home/bin/java
		elif [ "$platform" = WSL ] && [ -f "$java_home/bin/java.exe" ] && [ -x "$java_home/bin/java.exe" ]; then
			# a Windows JDK (/mnt/c/...): WSL runs it through interop
			java=$java_home/bin/java.exe
			jvm=windows
		elif [ "$platform" = WSL ]; then
			die "JAVA_HOME=$JAVA_HOME has no executable bin/java or bin/java.exe; set JAVA_HOME to a JDK or JRE directory (the one holding bin/java, or bin/java.exe for a Windows JVM), or unset JAVA_HOME to use java from PATH"
		else
			die "JAVA_HOME=$JAVA_HOME has no executable bin/java; set JAVA_HOME to a JDK or JRE directory (the one holding bin/java), or unset JAVA_HOME to use java from PATH"
		fi
	else
		java=$(command -v java) ||
			die "JAVA_HOME is not set and java is not in PATH; set JAVA_HOME to a JDK or JRE directory (the one holding bin/java), or add its bin directory to PATH"
	fi
	;;
esac

# --- configuration and launcher ---------------------------------------------

if [ -z "$config" ]; then
	if [ -n "$home" ] && [ -f "$home/config/failover-launcher.ini" ]; then
		config=$home/config/failover-launcher.ini
	else
		config=/etc/failover-launcher/failover-launcher.ini
	fi
fi
if [ ! -f "$config" ]; then
	if [ -n "$home" ]; then
		die "configuration $config not found; give it with -c FILE, or create $home/config/failover-launcher.ini or /etc/failover-launcher/failover-launcher.ini"
	fi
	die "configuration $config not found; give it with -c FILE, or create /etc/failover-launcher/failover-launcher.ini (or set ADAPTRIS_HOME for an Interlok install's config/failover-launcher.ini)"
fi

if [ -n "${FAILOVER_LAUNCHER:-}" ]; then
	launcher=$FAILOVER_LAUNCHER
	if [ ! -f "$launcher" ] || [ ! -x "$launcher" ]; then
		die "FAILOVER_LAUNCHER=$launcher is not an executable file; set FAILOVER_LAUNCHER to the failover-launcher binary"
	fi
else
	case $0 in
	*/*) here=${0%/*} ;;
	*) here=. ;;
	esac
	# (Cygwin and MSYS2 find failover-launcher.exe under this name too)
	if [ -f "$here/failover-launcher" ] && [ -x "$here/failover-launcher" ]; then
		launcher=$here/failover-launcher
	else
		launcher=$(command -v failover-launcher) ||
			die "failover-launcher not found next to $0 or in PATH; set FAILOVER_LAUNCHER to its path"
	fi
fi

# --- the command ------------------------------------------------------------

# The launcher and everything it starts see ADAPTRIS_HOME and JAVA_HOME as
# checked above (absolute; Unix paths, or Windows paths for a Windows JVM).
env_names=
if [ -n "$home" ]; then
	env_names="ADAPTRIS_HOME"
	ADAPTRIS_HOME=$home
fi
if [ -n "$java_home" ]; then
	env_names="${env_names:+$env_names }JAVA_HOME"
	JAVA_HOME=$java_home
fi

if [ "$jvm" = windows ]; then
	printf '%s: native Windows JVM %s: Windows paths from %s, launcher path style %s, classpath separator ;\n' \
		"$prog" "$java" "$converter" "$path_style" >&2
	# The launcher gets the Unix paths on its command line: it reads lib/
	# under broker.home itself and execs broker.java, so both stay Unix
	# paths; the paths it builds for the JVM it converts itself, by
	# path_style through the host's mount table.  -o beats the INI file, so
	# the checked install wins.  broker.java_home is given too, so that `-n`
	# does not show the Windows JAVA_HOME of the environment (only
	# broker.java is used).
	if [ -n "$java_home" ]; then
		set -- -o "broker.java_home=$java_home" "$@"
	fi
	set -- -o "broker.java=$java" -o broker.classpath_separator=windows -o "broker.path_style=$path_style" "$@"
	if [ -n "$home" ]; then
		set -- -o "broker.home=$home" "$@"
	fi
	# The JVM inherits the environment: there it gets Windows paths.
	wslenv=
	if [ -n "$home" ]; then
		ADAPTRIS_HOME=$(windows_path "$home") || exit 1
		wslenv=ADAPTRIS_HOME
	fi
	if [ -n "$java_home" ]; then
		JAVA_HOME=$(windows_path "$java_home") || exit 1
		wslenv=${wslenv:+$wslenv:}JAVA_HOME
	fi
	if [ "$platform" = WSL ] && [ -n "$wslenv" ]; then
		# WSL hands a Windows program only the variables named in WSLENV
		WSLENV=${WSLENV:+$WSLENV:}$wslenv
		env_names="${env_names:+$env_names }WSLENV"
	fi
fi
set -- "$launcher" -c "$config" "$@"

if [ "$dry_run" = yes ]; then
	line=
	for name in $env_names; do
		eval "value=\$$name"
		# shellcheck disable=SC2154 # value is set by the eval above
		line="$line$name=$(quote "$value") "
	done
	for arg in "$@"; do
		line="$line$(quote "$arg") "
	done
	printf '%s\n' "${line% }"
	exit 0
fi

for name in $env_names; do
	export "${name?}"
done
exec "$@"
