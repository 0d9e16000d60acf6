#!/usr/bin/env bats
# scripts/start-failover.sh (capability 8): platform detection, the checks of
# ADAPTRIS_HOME and JAVA_HOME, the path conversions for a native Windows JVM
# and the exact command it execs (--dry-run), every platform branch with
# stubbed uname/cygpath/wslpath/java on a PATH prefix; then real runs of the
# built launcher through the script under dash.  Always run with dash: the
# script is POSIX sh.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	SCRIPT="$REPO_ROOT/scripts/start-failover.sh"
	DASH="$(command -v dash)" || fail "dash not found (Debian: package dash)"
	unset ADAPTRIS_HOME JAVA_HOME FAILOVER_LAUNCHER WSLENV
	export FAILOVER_LAUNCHER="$LAUNCHER"
	INI="$FIXTURES/interlok/fixture.ini"
	TREE="$FIXTURES/interlok"

	STUBS="$BATS_TEST_TMPDIR/stubs"
	mkdir -p "$STUBS"
	PATH="$STUBS:$PATH"
	# every cygpath/wslpath call is logged here
	export CONVERTER_LOG="$BATS_TEST_TMPDIR/converter.log"
	# /proc/version of a plain Linux by default (the host may be a WSL)
	export FAILOVER_PROC_VERSION="$BATS_TEST_TMPDIR/proc_version"
	echo 'Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian 6.1.55-1' \
		>"$FAILOVER_PROC_VERSION"

	# an install (lib/ is all the script wants), a Unix JDK, a Windows JDK
	AH="$BATS_TEST_TMPDIR/adaptris"
	mkdir -p "$AH/lib"
	JH="$BATS_TEST_TMPDIR/jdk"
	WJ="$BATS_TEST_TMPDIR/winjdk"
	mkdir -p "$JH/bin" "$WJ/bin"
	printf '#!/bin/sh\necho stub java "$@"\n' >"$JH/bin/java"
	printf '#!/bin/sh\necho stub java.exe "$@"\n' >"$WJ/bin/java.exe"
	chmod 755 "$JH/bin/java" "$WJ/bin/java.exe"

	stub_uname Linux
}

# stub NAME BODY: an executable sh script NAME on the PATH prefix
stub() {
	printf '#!/bin/sh\n%s\n' "$2" >"$STUBS/$1"
	chmod 755 "$STUBS/$1"
}

# stub_uname KERNEL: `uname -s` prints KERNEL
stub_uname() {
	stub uname "[ \"\$1\" = -s ] && { echo '$1'; exit 0; }; echo 'uname stub: only -s' >&2; exit 2"
}

# cygpath: -w /x/y -> C:\cygwin64\x\y, -u the reverse (like a Cygwin root)
stub_cygpath() {
	stub cygpath 'printf "%s\n" "cygpath $*" >>"$CONVERTER_LOG"
case $1 in
-w) printf "%s\n" "$2" | sed "s|/|\\\\|g; s|^|C:\\\\cygwin64|" ;;
-u) printf "%s\n" "$2" | sed "s|^C:\\\\cygwin64||; s|\\\\|/|g" ;;
*) echo "cygpath stub: $1 not supported" >&2; exit 2 ;;
esac'
}

# wslpath: -w /x/y -> \\wsl.localhost\Debian\x\y, -u the reverse
stub_wslpath() {
	stub wslpath 'printf "%s\n" "wslpath $*" >>"$CONVERTER_LOG"
case $1 in
-w) printf "%s\n" "$2" | sed "s|/|\\\\|g; s|^|\\\\\\\\wsl.localhost\\\\Debian|" ;;
-u) printf "%s\n" "$2" | sed "s|^\\\\\\\\wsl.localhost\\\\Debian||; s|\\\\|/|g" ;;
*) echo "wslpath stub: $1 not supported" >&2; exit 2 ;;
esac'
}

# what the stubs make of a path (bash, for the expected lines)
cyg_w() { printf 'C:\\cygwin64%s' "${1//\//\\}"; }
wsl_w() { printf '\\\\wsl.localhost\\Debian%s' "${1//\//\\}"; }

wsl_kernel() {
	echo 'Linux version 5.15.133.1-microsoft-standard-WSL2 (root@1c602f52c2e4) (gcc (GCC) 11.2.0) #1 SMP' \
		>"$FAILOVER_PROC_VERSION"
}

# assert_stderr_has TEXT / refute_stderr_has TEXT (run --separate-stderr)
assert_stderr_has() {
	[[ $stderr == *"$1"* ]] || fail "stderr lacks: $1"$'\n'"stderr: $stderr"
}
refute_stderr_has() {
	[[ $stderr != *"$1"* ]] || fail "stderr has: $1"$'\n'"stderr: $stderr"
}

# assert_converted LINE...: the converter calls, exactly
assert_converted() {
	local expected=""
	[ $# -gt 0 ] && expected="$(printf '%s\n' "$@")"
	assert_equal "$(cat "$CONVERTER_LOG" 2>/dev/null)" "$expected"
}

# --- the platform branches, by --dry-run ---------------------------------------

@test "Linux: detected, nothing converted, the launcher with -c only" {
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_stderr_has "start-failover.sh: platform: Linux (uname -s: Linux)"
	refute_stderr_has "Windows"
	assert_output "ADAPTRIS_HOME=$AH JAVA_HOME=$JH $LAUNCHER -c $INI"
	assert_converted
}

@test "Linux: JAVA_HOME unset takes java from PATH; launcher options follow --" {
	stub java 'echo stub java'
	run --separate-stderr env ADAPTRIS_HOME="$AH" "$DASH" "$SCRIPT" --dry-run -c "$INI" -- -n -v -o cluster.ttl=4
	assert_success
	assert_output "ADAPTRIS_HOME=$AH $LAUNCHER -c $INI -n -v -o cluster.ttl=4"
}

@test "WSL with a Linux JVM: detected from /proc/version, treated like Linux" {
	wsl_kernel
	stub_wslpath
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_stderr_has "start-failover.sh: platform: WSL (uname -s: Linux)"
	refute_stderr_has "Windows"
	assert_output "ADAPTRIS_HOME=$AH JAVA_HOME=$JH $LAUNCHER -c $INI"
	assert_converted
}

@test "WSL with a Windows JVM (bin/java.exe): wslpath -w, WSLENV, ';' separator" {
	wsl_kernel
	stub_wslpath
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$WJ" WSLENV=USERPROFILE/p \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run -- -v
	assert_success
	assert_stderr_has "start-failover.sh: platform: WSL (uname -s: Linux)"
	assert_stderr_has "native Windows JVM $WJ/bin/java.exe: Windows paths from wslpath"
	assert_output "ADAPTRIS_HOME='$(wsl_w "$AH")' JAVA_HOME='$(wsl_w "$WJ")' WSLENV=USERPROFILE/p:ADAPTRIS_HOME:JAVA_HOME $LAUNCHER -c $INI -o broker.home=$AH -o broker.java=$WJ/bin/java.exe -o broker.classpath_separator=windows -o broker.path_style=wsl -o broker.java_home=$WJ -v"
	assert_converted "wslpath -w $AH" "wslpath -w $WJ"
}

@test "Cygwin: cygpath -w for the JVM, Unix paths for the launcher, ';' separator" {
	stub_uname CYGWIN_NT-10.0-19045
	stub_cygpath
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$WJ" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_stderr_has "start-failover.sh: platform: Cygwin (uname -s: CYGWIN_NT-10.0-19045)"
	assert_stderr_has "native Windows JVM $WJ/bin/java.exe: Windows paths from cygpath"
	assert_output "ADAPTRIS_HOME='$(cyg_w "$AH")' JAVA_HOME='$(cyg_w "$WJ")' $LAUNCHER -c $INI -o broker.home=$AH -o broker.java=$WJ/bin/java.exe -o broker.classpath_separator=windows -o broker.path_style=cygwin -o broker.java_home=$WJ"
	assert_converted "cygpath -w $AH" "cygpath -w $WJ"
}

@test "Cygwin: ADAPTRIS_HOME and JAVA_HOME given as Windows paths are read through cygpath -u" {
	stub_uname CYGWIN_NT-10.0-19045
	stub_cygpath
	run --separate-stderr env ADAPTRIS_HOME="$(cyg_w "$AH")" JAVA_HOME="$(cyg_w "$WJ")" \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_output "ADAPTRIS_HOME='$(cyg_w "$AH")' JAVA_HOME='$(cyg_w "$WJ")' $LAUNCHER -c $INI -o broker.home=$AH -o broker.java=$WJ/bin/java.exe -o broker.classpath_separator=windows -o broker.path_style=cygwin -o broker.java_home=$WJ"
	assert_converted "cygpath -u $(cyg_w "$AH")" "cygpath -u $(cyg_w "$WJ")" "cygpath -w $AH" "cygpath -w $WJ"
}

@test "MSYS2: detected from MSYS_NT, a Windows JVM from JAVA_HOME" {
	stub_uname MSYS_NT-10.0-19045
	stub_cygpath
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$WJ" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_stderr_has "start-failover.sh: platform: MSYS2 (uname -s: MSYS_NT-10.0-19045)"
	assert_output "ADAPTRIS_HOME='$(cyg_w "$AH")' JAVA_HOME='$(cyg_w "$WJ")' $LAUNCHER -c $INI -o broker.home=$AH -o broker.java=$WJ/bin/java.exe -o broker.classpath_separator=windows -o broker.path_style=msys2 -o broker.java_home=$WJ"
	assert_converted "cygpath -w $AH" "cygpath -w $WJ"
}

@test "MinGW: detected from MINGW64_NT; JAVA_HOME unset takes java from PATH, still a Windows JVM" {
	stub_uname MINGW64_NT-10.0-19045
	stub_cygpath
	stub java 'echo stub java'
	run --separate-stderr env ADAPTRIS_HOME="$AH" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_stderr_has "start-failover.sh: platform: MinGW (uname -s: MINGW64_NT-10.0-19045)"
	assert_stderr_has "native Windows JVM $STUBS/java: Windows paths from cygpath"
	assert_output "ADAPTRIS_HOME='$(cyg_w "$AH")' $LAUNCHER -c $INI -o broker.home=$AH -o broker.java=$STUBS/java -o broker.classpath_separator=windows -o broker.path_style=msys2"
	assert_converted "cygpath -w $AH"
}

@test "Darwin: detected, nothing converted" {
	stub_uname Darwin
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_stderr_has "start-failover.sh: platform: Darwin (uname -s: Darwin)"
	refute_stderr_has "Windows"
	assert_output "ADAPTRIS_HOME=$AH JAVA_HOME=$JH $LAUNCHER -c $INI"
	assert_converted
}

@test "an unknown kernel is named and treated as Unix-like" {
	stub_uname FreeBSD
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_stderr_has "platform: FreeBSD (not Linux, WSL, Cygwin, MSYS2, MinGW or Darwin; treated as Unix-like)"
	assert_output "ADAPTRIS_HOME=$AH JAVA_HOME=$JH $LAUNCHER -c $INI"
}

@test "Cygwin without cygpath: exit 1 saying it is needed" {
	stub_uname CYGWIN_NT-10.0-19045
	command -v cygpath >/dev/null && skip "this host has a real cygpath"
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$WJ" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "cygpath not found; it is needed on Cygwin to convert paths"
}

# --- configuration, launcher, quoting ---------------------------------------

@test "relative ADAPTRIS_HOME and JAVA_HOME are made absolute" {
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr env ADAPTRIS_HOME=adaptris JAVA_HOME=jdk "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_output "ADAPTRIS_HOME=$PWD/adaptris JAVA_HOME=$PWD/jdk $LAUNCHER -c $INI"
}

@test "the configuration defaults to \$ADAPTRIS_HOME/config/failover-launcher.ini" {
	mkdir -p "$AH/config"
	: >"$AH/config/failover-launcher.ini"
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" "$DASH" "$SCRIPT" --dry-run
	assert_success
	assert_output "ADAPTRIS_HOME=$AH JAVA_HOME=$JH $LAUNCHER -c $AH/config/failover-launcher.ini"
}

@test "else to /etc/failover-launcher/failover-launcher.ini; missing: exit 1 naming both" {
	[ -e /etc/failover-launcher/failover-launcher.ini ] && skip "this host has /etc/failover-launcher/failover-launcher.ini"
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" "$DASH" "$SCRIPT" --dry-run
	assert_failure 1
	assert_stderr_has "configuration /etc/failover-launcher/failover-launcher.ini not found; give it with -c FILE, or create $AH/config/failover-launcher.ini or /etc/failover-launcher/failover-launcher.ini"
	assert_output ""
}

@test "the launcher: next to the script, else PATH; FAILOVER_LAUNCHER must be executable" {
	unset FAILOVER_LAUNCHER
	# a copy of the script with a launcher beside it
	mkdir -p "$BATS_TEST_TMPDIR/sbin"
	cp "$SCRIPT" "$BATS_TEST_TMPDIR/sbin/"
	stub failover-launcher 'exit 0'
	mv "$STUBS/failover-launcher" "$BATS_TEST_TMPDIR/sbin/"
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" \
		"$DASH" "$BATS_TEST_TMPDIR/sbin/start-failover.sh" -c "$INI" --dry-run
	assert_success
	assert_output "ADAPTRIS_HOME=$AH JAVA_HOME=$JH $BATS_TEST_TMPDIR/sbin/failover-launcher -c $INI"

	command -v failover-launcher >/dev/null && skip "this host has a failover-launcher in PATH"
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" PATH="$BUILD_DIR:$PATH" \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_output "ADAPTRIS_HOME=$AH JAVA_HOME=$JH $BUILD_DIR/failover-launcher -c $INI"

	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "failover-launcher not found next to $SCRIPT or in PATH; set FAILOVER_LAUNCHER to its path"

	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" FAILOVER_LAUNCHER="$INI" \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "FAILOVER_LAUNCHER=$INI is not an executable file; set FAILOVER_LAUNCHER to the failover-launcher binary"
}

@test "--dry-run prints one line a shell runs as is (quotes, spaces, backslashes)" {
	stub_uname CYGWIN_NT-10.0-19045
	stub_cygpath
	# a launcher that prints its environment and argv, one item a line
	stub fake-launcher 'printf "ADAPTRIS_HOME=%s\n" "$ADAPTRIS_HOME"; printf "JAVA_HOME=%s\n" "$JAVA_HOME"
for a in "$@"; do printf "[%s]\n" "$a"; done'
	local odd="broker.property=greeting=it's a \"test\" \\ \$HOME"
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$WJ" FAILOVER_LAUNCHER="$STUBS/fake-launcher" \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run -- -o "$odd" ''
	assert_success
	assert_equal "${#lines[@]}" 1
	run "$DASH" -c "$output"
	assert_success
	assert_output "ADAPTRIS_HOME=$(cyg_w "$AH")
JAVA_HOME=$(cyg_w "$WJ")
[-c]
[$INI]
[-o]
[broker.home=$AH]
[-o]
[broker.java=$WJ/bin/java.exe]
[-o]
[broker.classpath_separator=windows]
[-o]
[broker.path_style=cygwin]
[-o]
[broker.java_home=$WJ]
[-o]
[$odd]
[]"
}

# --- validation errors -------------------------------------------------------

@test "ADAPTRIS_HOME unset (ActiveMQ: the configuration gives the home): not needed, not passed on" {
	run --separate-stderr env JAVA_HOME="$JH" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_stderr_has "start-failover.sh: platform: Linux"
	assert_output "JAVA_HOME=$JH $LAUNCHER -c $INI"
	# nor JAVA_HOME: the launcher alone
	run --separate-stderr env "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_success
	assert_output "$LAUNCHER -c $INI"
	# a missing configuration names only what exists to create
	[ -e /etc/failover-launcher/failover-launcher.ini ] && return 0
	run --separate-stderr env JAVA_HOME="$JH" "$DASH" "$SCRIPT" --dry-run
	assert_failure 1
	assert_stderr_has "configuration /etc/failover-launcher/failover-launcher.ini not found; give it with -c FILE, or create /etc/failover-launcher/failover-launcher.ini (or set ADAPTRIS_HOME for an Interlok install's config/failover-launcher.ini)"
}

@test "ADAPTRIS_HOME not a directory (missing, or a file): exit 1" {
	run --separate-stderr env ADAPTRIS_HOME="$BATS_TEST_TMPDIR/nowhere" JAVA_HOME="$JH" \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "start-failover.sh: ADAPTRIS_HOME=$BATS_TEST_TMPDIR/nowhere is not a directory; set ADAPTRIS_HOME to the Interlok install directory (the one holding lib/), or unset it for a broker whose home the configuration gives"
	run --separate-stderr env ADAPTRIS_HOME="$INI" JAVA_HOME="$JH" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "ADAPTRIS_HOME=$INI is not a directory; set ADAPTRIS_HOME"
}

@test "ADAPTRIS_HOME without lib/: exit 1" {
	mkdir "$BATS_TEST_TMPDIR/empty"
	run --separate-stderr env ADAPTRIS_HOME="$BATS_TEST_TMPDIR/empty" JAVA_HOME="$JH" \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "start-failover.sh: ADAPTRIS_HOME=$BATS_TEST_TMPDIR/empty has no lib/ directory; set ADAPTRIS_HOME to the Interlok install directory (the one holding lib/), or unset it for a broker whose home the configuration gives"
}

@test "JAVA_HOME without an executable bin/java: exit 1, says what to set (Linux, WSL, Cygwin)" {
	mkdir -p "$BATS_TEST_TMPDIR/nojava/bin"
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$BATS_TEST_TMPDIR/nojava" \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "start-failover.sh: JAVA_HOME=$BATS_TEST_TMPDIR/nojava has no executable bin/java; set JAVA_HOME to a JDK or JRE directory (the one holding bin/java), or unset JAVA_HOME to use java from PATH"

	# not executable is no better; and a Windows JDK is no JVM for Linux
	printf 'not a program\n' >"$BATS_TEST_TMPDIR/nojava/bin/java"
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$BATS_TEST_TMPDIR/nojava" \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "JAVA_HOME=$BATS_TEST_TMPDIR/nojava has no executable bin/java;"
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$WJ" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "JAVA_HOME=$WJ has no executable bin/java;"

	wsl_kernel
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$BATS_TEST_TMPDIR/nojava" \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "JAVA_HOME=$BATS_TEST_TMPDIR/nojava has no executable bin/java or bin/java.exe; set JAVA_HOME to a JDK or JRE directory (the one holding bin/java, or bin/java.exe for a Windows JVM), or unset JAVA_HOME to use java from PATH"

	stub_uname CYGWIN_NT-10.0-19045
	stub_cygpath
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$BATS_TEST_TMPDIR/nojava" \
		"$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "JAVA_HOME=$BATS_TEST_TMPDIR/nojava has no executable bin/java.exe or bin/java; set JAVA_HOME to a JDK or JRE directory (the one holding bin\\java.exe), or unset JAVA_HOME to use java from PATH"
}

@test "JAVA_HOME unset and no java in PATH: exit 1, says what to set" {
	# a PATH with the stubs and grep only
	local bin="$BATS_TEST_TMPDIR/bin"
	mkdir -p "$bin"
	ln -s "$(command -v grep)" "$bin/grep"
	run --separate-stderr env ADAPTRIS_HOME="$AH" PATH="$STUBS:$bin" "$DASH" "$SCRIPT" -c "$INI" --dry-run
	assert_failure 1
	assert_stderr_has "start-failover.sh: platform: Linux"
	assert_stderr_has "start-failover.sh: JAVA_HOME is not set and java is not in PATH; set JAVA_HOME to a JDK or JRE directory (the one holding bin/java), or add its bin directory to PATH"
}

@test "usage errors exit 1 and point at --help" {
	run --separate-stderr "$DASH" "$SCRIPT" --bogus
	assert_failure 1
	assert_stderr_has "start-failover.sh: unknown argument '--bogus' (options for failover-launcher go after --)"
	assert_stderr_has "Try 'start-failover.sh --help'."
	run --separate-stderr "$DASH" "$SCRIPT" -c
	assert_failure 1
	assert_stderr_has "start-failover.sh: -c needs a FILE"
}

@test "--help describes the usage, the environment and the exit status" {
	run --separate-stderr "$DASH" "$SCRIPT" --help
	assert_success
	assert_line --index 0 "Usage: start-failover.sh [-c CONFIG] [--dry-run] [-- LAUNCHER-OPTIONS...]"
	assert_output --partial '$ADAPTRIS_HOME/config/failover-launcher.ini'
	assert_output --partial "/etc/failover-launcher/failover-launcher.ini"
	assert_output --partial "--dry-run"
	assert_output --partial "FAILOVER_LAUNCHER"
	assert_output --partial "JAVA_HOME "
	assert_output --partial "Exit status: 1 configuration or usage error"
	assert_equal "$stderr" ""
}

@test "shellcheck -s sh: no findings" {
	command -v shellcheck >/dev/null || skip "shellcheck not installed (Debian: package shellcheck)"
	run shellcheck -s sh "$SCRIPT"
	assert_success
	assert_output ""
}

@test "dash -n parses it" {
	run "$DASH" -n "$SCRIPT"
	assert_success
	assert_output ""
}

# --- real runs of the launcher through the script ---------------------------

# the host's own uname from here on (the real runs are on Linux)
real_uname() {
	rm -f "$STUBS/uname"
	[ "$(uname -s)" = Linux ] || skip "not a Linux host"
}

@test "exec: the launcher replaces the script (same pid)" {
	stub fake-launcher 'echo "launcher pid $$"'
	run --separate-stderr env ADAPTRIS_HOME="$AH" JAVA_HOME="$JH" FAILOVER_LAUNCHER="$STUBS/fake-launcher" \
		"$DASH" -c 'echo "launcher pid $$"; exec "$0" "$@"' "$DASH" "$SCRIPT" -c "$INI"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[1]}" "${lines[0]}"
}

@test "real run on Linux under dash: -- -n prints the launcher's effective configuration" {
	real_uname
	run --separate-stderr env ADAPTRIS_HOME="$TREE" JAVA_HOME="$JH" "$DASH" "$SCRIPT" -c "$INI" -- -n -o cluster.auth=none
	assert_success
	assert_stderr_has "start-failover.sh: platform: Linux (uname -s: Linux)"
	assert_line --regexp '^name = fixture +; '
	# the launcher took both from the environment the script exported
	assert_line --regexp "^home = $TREE +; environment ADAPTRIS_HOME$"
	assert_line --regexp "^java_home = $JH +; environment JAVA_HOME$"
}

@test "real run on Linux under dash: -- --print-command, and the launcher's exit status" {
	real_uname
	run --separate-stderr env ADAPTRIS_HOME="$TREE" JAVA_HOME="$JH" \
		"$DASH" "$SCRIPT" -c "$INI" -- --print-command
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_output --partial "$JH/bin/java -Xmx64m -XX:+UseSerialGC -javaagent:$TREE/lib/aspectjweaver-1.9.5.jar "
	assert_output --partial " -cp $TREE/config:$TREE/lib/Zeta.jar:"
	assert_output --partial " com.adaptris.core.management.SimpleBootstrap $TREE/config/bootstrap.properties"

	run --separate-stderr env ADAPTRIS_HOME="$TREE" JAVA_HOME="$JH" "$DASH" "$SCRIPT" -c "$INI" -- --bogus
	assert_failure 1
	assert_stderr_has "failover-launcher --help"
}

# mounts LINE...: a mount table of a Windows-like host in $MOUNTS
mounts() {
	MOUNTS="$BATS_TEST_TMPDIR/mounts"
	printf '%s\n' "$@" >"$MOUNTS"
}

# the Windows form of the fixture tree under a root, as the JVM gets it
win_tree() { printf '%s%s' "$1" "${TREE//\//\\}"; }

@test "real run, Cygwin branch: the JVM's paths through the mount table, C:\\ like cygpath -w" {
	stub_uname CYGWIN_NT-10.0-19045
	stub_cygpath
	# Cygwin's /proc/mounts for a root at C:\cygwin64 (what the cygpath stub assumes)
	mounts 'C:/cygwin64/bin /usr/bin ntfs binary,auto 1 1' 'C:/cygwin64/lib /usr/lib ntfs binary,auto 1 1' \
		'C:/cygwin64 / ntfs binary,auto 1 1' 'C: /cygdrive/c ntfs binary,posix=0,user,noumount,auto 1 1'
	run --separate-stderr env ADAPTRIS_HOME="$TREE" JAVA_HOME="$WJ" \
		"$DASH" "$SCRIPT" -c "$INI" -- -o "broker.mount_table=$MOUNTS" --print-command=lines
	assert_success
	assert_stderr_has "launcher path style cygwin"
	local w
	w=$(win_tree 'C:\cygwin64')
	# java stays the launcher's to exec; everything the JVM opens is Windows
	assert_line --index 0 "$WJ/bin/java.exe"
	assert_line "-javaagent:$w\\lib\\aspectjweaver-1.9.5.jar"
	assert_line "-cp"
	assert_line "$w\\config;$w\\lib\\Zeta.jar;$w\\lib\\a-core.jar;$w\\lib\\aspectjweaver-1.9.5.jar;$w\\lib\\b_util.jar;$w\\lib\\interlok-core.jar;$w\\lib\\interlok.jar"
	assert_line "$w\\config\\bootstrap.properties"
	# the same form the script gave ADAPTRIS_HOME
	assert_equal "$w" "$(cyg_w "$TREE")"
	refute_output --partial "$TREE/"

	# -n checks the JVM's command with the same conversion
	run --separate-stderr env ADAPTRIS_HOME="$TREE" JAVA_HOME="$WJ" "$DASH" "$SCRIPT" -c "$INI" -- -n \
		-o cluster.auth=none -o "broker.mount_table=$MOUNTS"
	assert_success
	assert_output --partial "-javaagent:$w\\lib\\aspectjweaver-1.9.5.jar"
	assert_line --regexp "^home = $TREE +; command line$"
	assert_line --regexp "^java = $WJ/bin/java\.exe +; command line$"
	assert_line --regexp "^java_home = $WJ +; command line$"
	assert_line --regexp "^classpath_separator = windows +; command line$"
	assert_line --regexp "^path_style = cygwin +; command line$"
}

@test "real run, Cygwin branch: a drive mounted on a directory of its own (\`mount\` output)" {
	stub_uname CYGWIN_NT-10.0-19045
	stub_cygpath
	# the tree's top directory is drive D:, as Cygwin's `mount` prints it
	local top=${TREE#/}
	top=/${top%%/*}
	mounts 'C:/cygwin64 on / type ntfs (binary,auto)' "D: on $top type ntfs (binary,user)"
	run --separate-stderr env ADAPTRIS_HOME="$TREE" JAVA_HOME="$WJ" \
		"$DASH" "$SCRIPT" -c "$INI" -- -o "broker.mount_table=$MOUNTS" --print-command=lines
	assert_success
	local rest=${TREE#"$top"}
	local w="D:${rest//\//\\}"
	assert_line "-javaagent:$w\\lib\\aspectjweaver-1.9.5.jar"
	assert_line "$w\\config\\bootstrap.properties"
}

@test "real run, MSYS2 branch: C:\\msys64 root, /c drives" {
	stub_uname MSYS_NT-10.0-19045
	stub_cygpath
	mounts 'C:/msys64 / ntfs binary,noacl,auto 1 1' 'C:/msys64/usr/bin /bin ntfs binary,noacl,auto 1 1' \
		'C: /c ntfs binary,noacl,posix=0,user,noumount,auto 1 1'
	run --separate-stderr env ADAPTRIS_HOME="$TREE" JAVA_HOME="$WJ" \
		"$DASH" "$SCRIPT" -c "$INI" -- -o "broker.mount_table=$MOUNTS" --print-command=lines
	assert_success
	assert_stderr_has "launcher path style msys2"
	local w
	w=$(win_tree 'C:\msys64')
	assert_line --index 0 "$WJ/bin/java.exe"
	assert_line "-javaagent:$w\\lib\\aspectjweaver-1.9.5.jar"
	assert_line "$w\\config;$w\\lib\\Zeta.jar;$w\\lib\\a-core.jar;$w\\lib\\aspectjweaver-1.9.5.jar;$w\\lib\\b_util.jar;$w\\lib\\interlok-core.jar;$w\\lib\\interlok.jar"
	assert_line "$w\\config\\bootstrap.properties"
}

@test "real run, WSL branch with a Windows JVM: drvfs mounts give C:\\, the distribution's own files \\\\wsl.localhost" {
	wsl_kernel
	stub_wslpath
	# the fixtures on a drvfs mount of C:\fx (WSL 2's /proc/mounts)
	local fx=${TREE%/*}
	mounts '/dev/sdc / ext4 rw,relatime,discard,errors=remount-ro,data=ordered 0 0' \
		'C:\134 /mnt/c 9p rw,noatime,dirsync,aname=drvfs;path=C:\;uid=1000;gid=1000;symlinkroot=/mnt/,mmap,access=client,msize=262144,trans=virtio 0 0' \
		"drvfs $fx 9p rw,noatime,dirsync,aname=drvfs;path=C:\\fx;symlinkroot=/mnt/,mmap,access=client,msize=262144,trans=virtio 0 0"
	run --separate-stderr env ADAPTRIS_HOME="$TREE" JAVA_HOME="$WJ" WSL_DISTRO_NAME=Debian \
		"$DASH" "$SCRIPT" -c "$INI" -- -o "broker.mount_table=$MOUNTS" --print-command=lines
	assert_success
	assert_stderr_has "launcher path style wsl"
	local w='C:\fx\interlok'
	assert_line --index 0 "$WJ/bin/java.exe"
	assert_line "-javaagent:$w\\lib\\aspectjweaver-1.9.5.jar"
	assert_line "$w\\config;$w\\lib\\Zeta.jar;$w\\lib\\a-core.jar;$w\\lib\\aspectjweaver-1.9.5.jar;$w\\lib\\b_util.jar;$w\\lib\\interlok-core.jar;$w\\lib\\interlok.jar"
	assert_line "$w\\config\\bootstrap.properties"

	# not on a Windows drive: through \\wsl.localhost, like wslpath -w
	mounts '/dev/sdc / ext4 rw,relatime 0 0' \
		'C:\134 /mnt/c 9p rw,noatime,dirsync,aname=drvfs;path=C:\;symlinkroot=/mnt/,mmap 0 0'
	run --separate-stderr env ADAPTRIS_HOME="$TREE" JAVA_HOME="$WJ" WSL_DISTRO_NAME=Debian \
		"$DASH" "$SCRIPT" -c "$INI" -- -o "broker.mount_table=$MOUNTS" --print-command=lines
	assert_success
	w=$(wsl_w "$TREE")
	assert_line "-javaagent:$w\\lib\\aspectjweaver-1.9.5.jar"
	assert_line "$w\\config\\bootstrap.properties"

	# and without the distribution's name: an error that names the path
	run --separate-stderr env -u WSL_DISTRO_NAME ADAPTRIS_HOME="$TREE" JAVA_HOME="$WJ" \
		"$DASH" "$SCRIPT" -c "$INI" -- -o "broker.mount_table=$MOUNTS" --print-command=lines
	assert_failure 1
	assert_stderr_has "$TREE/config has no Windows path for the JVM"
}
