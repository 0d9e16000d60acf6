#!/usr/bin/env bash
# build-interlok-tree.sh DEST
#
# Compiles the Interlok stand-in (test/java/interlok-standin) and lays out an
# Interlok-like install tree under DEST for the real-JVM tests:
#
#   DEST/lib/interlok-core.jar        com.adaptris.core.management.SimpleBootstrap
#   DEST/lib/interlok-profiler.jar    com.adaptris.profiler.MarkerAspect + META-INF/profiler-aop.xml
#   DEST/lib/aspectjweaver.jar        copy of Debian's weaver (libaspectj-java); it
#                                     contains the AspectJ runtime (org.aspectj.lang.*),
#                                     so no aspectjrt.jar is needed at run time
#   DEST/lib/spymemcached.jar         copy of Debian's Java memcached client
#                                     (libspymemcached-java), for StandinCache; without
#                                     it the tree is built without StandinCache
#   DEST/config/bootstrap.properties  Interlok keys + failover.group/port/delay/retries
#   DEST/config/adp-profiler.properties  the profiler plugin factory
#   DEST/launcher.ini                 a launcher INI for this tree (home = DEST)
#
# Needs javac and jar (JDK >= 11) and /usr/share/java/aspectjweaver.jar
# (override with ASPECTJ_WEAVER=...); /usr/share/java/spymemcached.jar is
# optional (SPYMEMCACHED=...).  Idempotent: running it again rewrites
# the same files.  Exits non-zero with a message on any failure.
set -euo pipefail

prog=build-interlok-tree.sh
die() { echo "$prog: error: $*" >&2; exit 1; }
trap 'die "command failed (line $LINENO): $BASH_COMMAND"' ERR

if [ $# -ne 1 ] || [ -z "$1" ]; then die "usage: $prog DEST"; fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
src="$here/interlok-standin"
[ -d "$src" ] || die "sources not found: $src"

WEAVER="${ASPECTJ_WEAVER:-/usr/share/java/aspectjweaver.jar}"
# Compile against the AspectJ runtime jar as the brief of the stand-in says;
# the weaver holds the same org.aspectj.lang classes, so fall back to it.
RT="${ASPECTJ_RT:-/usr/share/java/aspectjrt.jar}"

for tool in javac jar; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "'$tool' not found in PATH (install a JDK, e.g. Debian's openjdk-17-jdk-headless)"
done
[ -r "$WEAVER" ] || die "AspectJ weaver not found: $WEAVER (install Debian's libaspectj-java)"
[ -r "$RT" ] || RT="$WEAVER"
SPY="${SPYMEMCACHED:-/usr/share/java/spymemcached.jar}"
[ -r "$SPY" ] || SPY=

mkdir -p "$1" || die "cannot create $1"
DEST="$(cd "$1" && pwd -P)"

work="$(mktemp -d "${TMPDIR:-/tmp}/interlok-tree.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- compile -----------------------------------------------------------------
# StandinCache needs spymemcached; SimpleBootstrap reaches it by name only.
mapfile -t sources < <(cd "$src" && find . -name '*.java' |
  { if [ -n "$SPY" ]; then cat; else grep -v '/StandinCache\.java$'; fi; } | LC_ALL=C sort)
[ "${#sources[@]}" -gt 0 ] || die "no Java sources under $src"
mkdir -p "$work/classes"
(cd "$src" && javac --release 11 -encoding UTF-8 -nowarn -cp "$RT${SPY:+:$SPY}" \
  -d "$work/classes" "${sources[@]}") || die "javac failed"

# --- jars --------------------------------------------------------------------
# interlok-core.jar: the main class only.
jar --create --file "$work/interlok-core.jar" \
  -C "$work/classes" com/adaptris/core || die "jar interlok-core.jar failed"

# interlok-profiler.jar: the aspect and its LTW configuration, under the
# resource name the launcher passes (META-INF/profiler-aop.xml), never as
# META-INF/aop.xml (which the weaver would read by default).
mkdir -p "$work/profiler/META-INF"
cp "$src/META-INF/profiler-aop.xml" "$work/profiler/META-INF/profiler-aop.xml"
jar --create --file "$work/interlok-profiler.jar" \
  -C "$work/classes" com/adaptris/profiler \
  -C "$work/profiler" META-INF/profiler-aop.xml || die "jar interlok-profiler.jar failed"

for j in interlok-core interlok-profiler; do
  if jar --list --file "$work/$j.jar" | grep -qx 'META-INF/aop.xml'; then
    die "$j.jar must not contain META-INF/aop.xml"
  fi
done

# --- install tree ------------------------------------------------------------
mkdir -p "$DEST/lib" "$DEST/config"
install -m 0644 "$work/interlok-core.jar" "$DEST/lib/interlok-core.jar"
install -m 0644 "$work/interlok-profiler.jar" "$DEST/lib/interlok-profiler.jar"
# A real copy (not a symlink): an install tree carries its own weaver.
if ! cmp -s "$WEAVER" "$DEST/lib/aspectjweaver.jar"; then
  cp -L "$WEAVER" "$DEST/lib/aspectjweaver.jar.tmp"
  mv -f "$DEST/lib/aspectjweaver.jar.tmp" "$DEST/lib/aspectjweaver.jar"
fi
if [ -n "$SPY" ]; then
  if ! cmp -s "$SPY" "$DEST/lib/spymemcached.jar"; then
    cp -L "$SPY" "$DEST/lib/spymemcached.jar.tmp"
    mv -f "$DEST/lib/spymemcached.jar.tmp" "$DEST/lib/spymemcached.jar"
  fi
else
  rm -f "$DEST/lib/spymemcached.jar"
fi

cat > "$DEST/config/bootstrap.properties" <<'PROPS'
# Interlok bootstrap.properties (test stand-in, written by build-interlok-tree.sh)
adapterConfigUrl.0=file://localhost/./config/adapter.xml
managementComponents=jmx
jmxserviceurl=service:jmx:jmxmp://localhost:5555
log4j12Url=file://localhost/./config/log4j2.xml
preProcessors=
startAdapterQuietly=true
enableLocalJndiServer=false

# Profiler failover (read by the launcher)
failover.group=230.0.0.1
failover.port=2710
failover.delay=1000
failover.retries=5
PROPS

cat > "$DEST/config/adp-profiler.properties" <<'PROPS'
# Interlok profiler plugin: the failover plugin factory
com.adaptris.profiler.plugin.factory=com.adaptris.failover.plugin.FailoverInterlokPluginFactory
PROPS

cat > "$DEST/launcher.ini" <<INI
; Launcher INI for the Interlok stand-in tree (written by build-interlok-tree.sh)
[cluster]
name = interlok-standin
state_dir = $DEST/state

[broker]
home = $DEST
bootstrap = config/bootstrap.properties
config_dir = config
lib_dir = lib
profiler = yes
jvm_option = -Xmx64m
jvm_option = -XX:+UseSerialGC
jvm_option = -XX:TieredStopAtLevel=1
property = standin.marker=hello
main_class = com.adaptris.core.management.SimpleBootstrap
INI

# Debian's libinih (r55) cuts lines at 200 bytes: refuse to write one that long.
if awk 'length($0) >= 199 { bad = 1 } END { exit !bad }' "$DEST/launcher.ini"; then
  die "a line of $DEST/launcher.ini is too long for inih (DEST path too long?)"
fi

trap - ERR
echo "$prog: built $DEST"
