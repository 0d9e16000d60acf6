#!/usr/bin/env bats
# Capability 1 against a real JVM: what `failover-launcher --print-command`
# prints really loads the AspectJ profiler agent (-javaagent, Debian's
# libaspectj-java weaver) and the AOP configuration
# (-Dorg.aspectj.weaver.loadtime.configuration=META-INF/profiler-aop.xml) in a
# forked JVM.  The broker is a stand-in for Interlok's SimpleBootstrap whose
# boot(..) is advised by an annotation-style aspect that prints
#   PROFILER-ASPECT: woven before boot
# The tree is built by test/java/build-interlok-tree.sh.  No launcher daemon
# is started and no cluster traffic is sent: only --print-command is used.

bats_require_minimum_version 1.5.0

load helpers

WEAVER_JAR=/usr/share/java/aspectjweaver.jar
MAIN_CLASS=com.adaptris.core.management.SimpleBootstrap
AOP_PROPERTY=-Dorg.aspectj.weaver.loadtime.configuration=META-INF/profiler-aop.xml
MARKER='PROFILER-ASPECT: woven before boot'

setup_file() {
  # bats 1.8 (Debian 12) cannot skip from setup_file: leave the reason for
  # setup() to skip every test with.
  local tool
  export JVM_AGENT_SKIP=
  for tool in java javac jar; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      JVM_AGENT_SKIP="'$tool' not found: install a JDK (Debian: openjdk-17-jdk-headless) to run the real-JVM agent tests"
      return 0
    fi
  done
  if [ ! -r "$WEAVER_JAR" ]; then
    JVM_AGENT_SKIP="$WEAVER_JAR not found: install Debian's libaspectj-java to run the real-JVM agent tests"
    return 0
  fi
  "$REPO_ROOT/test/java/build-interlok-tree.sh" "$BATS_FILE_TMPDIR/interlok" ||
    return 1
  TREE="$(cd "$BATS_FILE_TMPDIR/interlok" && pwd -P)"
  export TREE
}

setup() {
  if [ -n "${JVM_AGENT_SKIP:-}" ]; then
    skip "$JVM_AGENT_SKIP"
  fi
  # Not needed (the tree's INI sets broker.home), but keep the caller's
  # environment from steering the launcher.
  unset ADAPTRIS_HOME
}

# print_command [LAUNCHER ARGS...]: the launcher's --print-command line for
# the tree's INI, in $cmd; its words (as a shell would split them) in $argv.
print_command() {
  run --separate-stderr "$LAUNCHER" --print-command -c "$TREE/launcher.ini" "$@"
  if [ "$status" -ne 0 ]; then
    echo "failover-launcher --print-command failed ($status): $output $stderr" >&2
    return 1
  fi
  if [ "${#lines[@]}" -ne 1 ]; then
    echo "expected one line from --print-command, got ${#lines[@]}:" >&2
    printf '%s\n' "$output" >&2
    return 1
  fi
  cmd="$output"
  # the line starts in the broker's working directory: "cd DIR && java ..."
  [[ $cmd == "cd "*" && "* ]] || { echo "no cd to the working directory: $cmd" >&2; return 1; }
  argv=()
  eval "argv=(${cmd#* && })"
}

# index_of WORD: index in argv of the first word equal to WORD (glob
# pattern), in $idx; fails if there is none.
index_of() {
  local i
  for i in "${!argv[@]}"; do
    # shellcheck disable=SC2053  # $1 is a pattern on purpose
    if [[ ${argv[$i]} == $1 ]]; then
      idx=$i
      return 0
    fi
  done
  echo "no word matching '$1' in: $cmd" >&2
  return 1
}

# line_number TEXT: number of the first line of $output equal to TEXT, in $ln.
line_number() {
  local i
  for i in "${!lines[@]}"; do
    if [ "${lines[$i]}" = "$1" ]; then
      ln=$i
      return 0
    fi
  done
  echo "no line '$1' in output:" >&2
  printf '%s\n' "$output" >&2
  return 1
}

# assert_woven: $output is the stand-in's run with the aspect woven in.
assert_woven() {
  assert_line "SimpleBootstrap started with $TREE/config/bootstrap.properties"
  assert_line 'SimpleBootstrap marker hello'
  assert_line 'SimpleBootstrap profiler factory com.adaptris.failover.plugin.FailoverInterlokPluginFactory'
  assert_line "$MARKER"
  assert_line "SimpleBootstrap booting $TREE/config/bootstrap.properties"
  assert_line 'SimpleBootstrap exiting'
  refute_output --partial 'Exception'
  # The advice runs before boot(..), not somewhere else.
  local marker_at booting_at
  line_number "$MARKER"
  marker_at=$ln
  line_number "SimpleBootstrap booting $TREE/config/bootstrap.properties"
  booting_at=$ln
  [ "$marker_at" -lt "$booting_at" ]
}

# assert_not_woven: $output is the stand-in's run without the aspect.
assert_not_woven() {
  assert_line "SimpleBootstrap booting $TREE/config/bootstrap.properties"
  assert_line 'SimpleBootstrap exiting'
  refute_output --partial 'PROFILER-ASPECT'
  refute_output --partial 'Exception'
}

@test "build-interlok-tree.sh laid out an Interlok-like tree" {
  assert_file_exists "$TREE/lib/interlok-core.jar"
  assert_file_exists "$TREE/lib/interlok-profiler.jar"
  assert_file_exists "$TREE/lib/aspectjweaver.jar"
  assert_file_exists "$TREE/config/bootstrap.properties"
  assert_file_exists "$TREE/config/adp-profiler.properties"
  assert_file_exists "$TREE/launcher.ini"
  # The AOP configuration is reachable only under the name the launcher passes.
  run jar --list --file "$TREE/lib/interlok-profiler.jar"
  assert_success
  assert_line 'META-INF/profiler-aop.xml'
  refute_line 'META-INF/aop.xml'
  run jar --list --file "$TREE/lib/interlok-core.jar"
  assert_success
  refute_line 'META-INF/aop.xml'
  refute_line 'META-INF/profiler-aop.xml'
}

@test "--print-command: java, -javaagent and the AOP configuration before the main class, no -jar" {
  local i agent_at aop_at cp_at main_at
  print_command

  # Absolute java binary first.
  [[ ${argv[0]} == /* ]]
  [ -x "${argv[0]}" ]
  [[ ${argv[0]} == */java ]]

  index_of "$MAIN_CLASS"
  main_at=$idx
  index_of '-javaagent:*'
  agent_at=$idx
  index_of "$AOP_PROPERTY"
  aop_at=$idx
  [ "$agent_at" -lt "$main_at" ]
  [ "$aop_at" -lt "$main_at" ]

  # The agent is the tree's weaver, by absolute path.
  assert_equal "${argv[$agent_at]}" "-javaagent:$TREE/lib/aspectjweaver.jar"

  # JVM option and system property from the INI, before the main class.
  index_of '-Xmx64m'
  [ "$idx" -lt "$main_at" ]
  index_of '-Dstandin.marker=hello'
  [ "$idx" -lt "$main_at" ]

  # Classpath: config dir first, then lib/*.jar in byte order (spymemcached.jar
  # only when libspymemcached-java is installed: build-interlok-tree.sh).
  index_of '-cp'
  cp_at=$idx
  [ "$cp_at" -lt "$main_at" ]
  local spy=""
  [ ! -f "$TREE/lib/spymemcached.jar" ] || spy=":$TREE/lib/spymemcached.jar"
  assert_equal "${argv[$((cp_at + 1))]}" \
    "$TREE/config:$TREE/lib/aspectjweaver.jar:$TREE/lib/interlok-core.jar:$TREE/lib/interlok-profiler.jar$spy"

  # Never java -jar (it ignores -cp and breaks the weaver).
  for i in "${!argv[@]}"; do
    [ "${argv[$i]}" != -jar ] || fail "'-jar' in the command: $cmd"
  done

  # The one argument defaults to the absolute bootstrap path.
  assert_equal "$((${#argv[@]} - 1))" "$((main_at + 1))"
  assert_equal "${argv[$((main_at + 1))]}" "$TREE/config/bootstrap.properties"
}

@test "the printed command run by sh loads the agent and weaves the profiler aspect" {
  print_command
  run sh -c "$cmd"
  assert_success
  assert_woven
}

@test "the printed command run by bash eval loads the agent and weaves the profiler aspect" {
  print_command
  run eval "$cmd"
  assert_success
  assert_woven
}

@test "-o broker.profiler=no: no agent, no AOP configuration, no woven marker" {
  print_command -o broker.profiler=no
  refute_output --partial '-javaagent'
  refute_output --partial 'org.aspectj.weaver.loadtime.configuration'
  refute_output --partial ' -jar '
  index_of "$MAIN_CLASS"
  run sh -c "$cmd"
  assert_success
  assert_not_woven
  # The same classpath as with the profiler: the aspect class is there, only
  # the agent is missing, so the marker in the other tests is the agent's doing.
  assert_line 'SimpleBootstrap profiler factory com.adaptris.failover.plugin.FailoverInterlokPluginFactory'
}

@test "profiler = no in the INI: no agent, no woven marker" {
  sed 's/^profiler = yes$/profiler = no/' "$TREE/launcher.ini" >"$BATS_TEST_TMPDIR/noprofiler.ini"
  run grep -c '^profiler = no$' "$BATS_TEST_TMPDIR/noprofiler.ini"
  assert_output 1
  run --separate-stderr "$LAUNCHER" --print-command -c "$BATS_TEST_TMPDIR/noprofiler.ini"
  assert_success
  refute_output --partial '-javaagent'
  refute_output --partial 'org.aspectj.weaver.loadtime.configuration'
  run sh -c "$output"
  assert_success
  assert_not_woven
}

@test "the agent without the AOP configuration property weaves nothing (no META-INF/aop.xml fallback)" {
  local -a without=()
  local word
  print_command
  index_of "$AOP_PROPERTY"
  for word in "${argv[@]}"; do
    [ "$word" = "$AOP_PROPERTY" ] || without+=("$word")
  done
  [ "${#without[@]}" -eq $((${#argv[@]} - 1)) ]
  run "${without[@]}"
  assert_success
  assert_not_woven
}
