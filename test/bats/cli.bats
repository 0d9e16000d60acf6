#!/usr/bin/env bats
# Black-box tests of the launcher's command line: help, version, the -n
# check and --print-command against the fixture Interlok tree.

load helpers

setup() {
	unset ADAPTRIS_HOME
	TREE="$FIXTURES/interlok"
	INI="$TREE/fixture.ini"
	# a java that exists on every test machine, so preflight passes
	KEY="$BATS_TEST_TMPDIR/cluster.key"
	"$LAUNCHER" --new-key "$KEY" >/dev/null
	JAVA_STUB="$BATS_TEST_TMPDIR/java"
	printf '#!/bin/sh\necho stub java "$@"\n' >"$JAVA_STUB"
	chmod 755 "$JAVA_STUB"
}

@test "--help describes the options and the exit codes" {
	run "$LAUNCHER" --help
	assert_success
	assert_output --partial "Usage: failover-launcher"
	assert_output --partial "--print-command"
	assert_output --partial "-n, --check"
	assert_output --partial "Exit status: 0 clean stop, 1 configuration or usage error"
}

@test "--version prints the version" {
	run "$LAUNCHER" --version
	assert_success
	assert_output --regexp '^failover-launcher [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "an unknown option is a usage error (exit 1)" {
	run "$LAUNCHER" --bogus
	assert_failure 1
	assert_output --partial "failover-launcher --help"
}

@test "failoverctl --help and --version" {
	run "$FAILOVERCTL" --help
	assert_success
	assert_output --partial "Usage: failoverctl"
	run "$FAILOVERCTL" --version
	assert_success
	assert_output --regexp '^failoverctl [0-9]'
}

@test "-n on a good configuration prints every value with its source" {
	run "$LAUNCHER" -o cluster.key_file="$KEY" -n -c "$INI" -o broker.java="$JAVA_STUB" -o cluster.ttl=4
	assert_success
	assert_line --regexp "^group = 230\.0\.0\.2 +; $TREE/config/bootstrap\.properties:[0-9]+ \(failover\.multicast\.group\)$"
	assert_line --regexp "^delay = 2000 +; .*\(failover\.ping\.interval\.seconds\)$"
	assert_line --regexp "^retries = 5 +; .*\(failover\.instance\.timeout\.seconds=10\)$"
	assert_line --regexp "^port = 2710 +; default$"
	assert_line --regexp "^ttl = 4 +; command line$"
	assert_line --regexp "^name = fixture +; $INI:[0-9]+$"
	assert_line --regexp "^peer = 10\.9\.0\.2:4000 "
	assert_output --partial "; broker command"
}

@test "-n: command line beats INI beats bootstrap.properties beats defaults" {
	ini="$BATS_TEST_TMPDIR/p.ini"
	cat >"$ini" <<-EOF2
	[cluster]
	port = 4000
	[broker]
	home = $TREE
	bootstrap = config/bootstrap.properties
	java = $JAVA_STUB
	EOF2
	run "$LAUNCHER" -o cluster.key_file="$KEY" -n -c "$ini"
	assert_success
	assert_line --regexp "^port = 4000 +; $ini:2$"
	assert_line --regexp "^group = 230\.0\.0\.2 "
	run "$LAUNCHER" -o cluster.key_file="$KEY" -n -c "$ini" -o cluster.port=5000
	assert_success
	assert_line --regexp "^port = 5000 +; command line$"
}

bad() { # bad INI-TEXT: runs -n on it
	printf '%s\n' "$1" >"$BATS_TEST_TMPDIR/bad.ini"
	run "$LAUNCHER" -o cluster.key_file="$KEY" -n -c "$BATS_TEST_TMPDIR/bad.ini" -o broker.java="$JAVA_STUB" -o broker.home="$TREE"
}

@test "-n: unknown section, unknown key, bad number, out of range, bad address exit 1 with FILE:LINE: key" {
	bad $'[clusterr]\nname = x'
	assert_failure 1
	assert_output --partial "bad.ini:1: [clusterr]: unknown section; allowed sections: cluster, broker, health, cache, control, http, log"
	bad $'[cluster]\nprot = 1'
	assert_failure 1
	assert_output --partial "bad.ini:2: cluster.prot: unknown key; keys of [cluster]:"
	bad $'[cluster]\nretries = five'
	assert_failure 1
	assert_output --partial "bad.ini:2: cluster.retries: 'five' is not a number; allowed 2..100"
	bad $'[cluster]\n\nttl = 300'
	assert_failure 1
	assert_output --partial "bad.ini:3: cluster.ttl: 300 is out of range; allowed 0..255"
	bad $'[cluster]\ngroup = 192.168.1.1'
	assert_failure 1
	assert_output --partial "bad.ini:2: cluster.group: '192.168.1.1' is not an IPv4 multicast address"
}

@test "-n: missing required value and unreadable file exit 1" {
	bad $'[broker]\nmain_class ='
	assert_failure 1
	assert_output --partial "bad.ini:2: broker.main_class: missing required value"
	run "$LAUNCHER" -o cluster.key_file="$KEY" -n -c "$BATS_TEST_TMPDIR/none.ini"
	assert_failure 1
	assert_output --partial "none.ini:0: cannot read the configuration: No such file or directory"
}

@test "-n: a line longer than the INI parser accepts is refused, never cut" {
	long=$(printf 'x%.0s' $(seq 1 230))
	bad "[broker]
jvm_option = -Dlong=$long"
	assert_failure 1
	assert_output --regexp "bad\.ini:2: line is [0-9]+ bytes, longer than the 198 the INI parser accepts"
	refute_output --partial "unknown key"
}

@test "-n: the broker preflight runs too (java missing)" {
	run "$LAUNCHER" -o cluster.key_file="$KEY" -n -c "$INI" -o broker.java=/nonexistent/java
	assert_failure 1
	assert_output --partial "java not found: /nonexistent/java (from broker.java) does not exist"
}

@test "--print-command prints one shell line: classpath in order, agent before the main class" {
	run "$LAUNCHER" --print-command -c "$INI" -o broker.java="$JAVA_STUB"
	assert_success
	assert_equal "${#lines[@]}" 1
	cp="$TREE/config:$TREE/lib/Zeta.jar:$TREE/lib/a-core.jar:$TREE/lib/aspectjweaver-1.9.5.jar:$TREE/lib/b_util.jar:$TREE/lib/interlok-core.jar:$TREE/lib/interlok.jar"
	assert_output "cd $TREE && $JAVA_STUB -Xmx64m -XX:+UseSerialGC -javaagent:$TREE/lib/aspectjweaver-1.9.5.jar -Dorg.aspectj.weaver.loadtime.configuration=META-INF/profiler-aop.xml -Dstandin.marker=fixture '-Dfixture.greeting=hello world' -cp $cp com.adaptris.core.management.SimpleBootstrap $TREE/config/bootstrap.properties"
	# a shell runs it as is, arguments intact
	run sh -c "$output"
	assert_success
	assert_output --partial "stub java -Xmx64m"
	assert_output --partial " -Dfixture.greeting=hello world -cp "
}

@test "--print-command=lines prints one argument per line" {
	run "$LAUNCHER" --print-command=lines -c "$INI" -o broker.java="$JAVA_STUB"
	assert_success
	assert_line --index 0 "$JAVA_STUB"
	assert_line "-Dfixture.greeting=hello world"
	assert_line --index $(( ${#lines[@]} - 1 )) "$TREE/config/bootstrap.properties"
}

@test "--print-command refuses a profiler tree without adp-profiler.properties" {
	t="$BATS_TEST_TMPDIR/tree"
	mkdir -p "$t/lib" "$t/config"
	: >"$t/lib/aspectjweaver.jar"
	run "$LAUNCHER" --print-command -c "$INI" -o broker.home="$t" -o broker.bootstrap= -o broker.java="$JAVA_STUB"
	assert_failure 1
	assert_output --partial "holds adp-profiler.properties"
}

@test "conf/interlok.ini is valid against an Interlok tree and documents every key" {
	run "$LAUNCHER" -o cluster.key_file="$KEY" -n -c "$REPO_ROOT/conf/interlok.ini" -o broker.home="$TREE" -o broker.java="$JAVA_STUB"
	assert_success
	# every key the launcher knows appears (set or commented) in the example
	keys=$(echo "$output" | sed -n 's/^\([a-z_]*\) = .*/\1/p' | sort -u)
	[ -n "$keys" ]
	for k in $keys; do
		grep -qE "^;?$k =( |\$)" "$REPO_ROOT/conf/interlok.ini" || fail "conf/interlok.ini does not document '$k'"
	done
	# the install's own ADAPTRIS_HOME is the broker's home: the example
	# does not override it
	ADAPTRIS_HOME="$TREE" run "$LAUNCHER" -o cluster.key_file="$KEY" -n -c "$REPO_ROOT/conf/interlok.ini" \
		-o broker.java="$JAVA_STUB"
	assert_success
	assert_line "home = $TREE ; environment ADAPTRIS_HOME"
}

@test "conf/activemq.ini is valid for Debian's ActiveMQ and documents every key" {
	[ -d /usr/share/activemq/lib ] || skip "Debian's activemq package is not installed"
	run "$LAUNCHER" -o cluster.key_file="$KEY" -n -c "$REPO_ROOT/conf/activemq.ini" -o broker.java="$JAVA_STUB" \
		-o cluster.state_dir="$BATS_TEST_TMPDIR/state"
	assert_success
	assert_output --partial "org.apache.activemq.console.Main start 'xbean:file:/etc/failover-launcher/activemq/activemq.xml?validate=false'"
	assert_output --partial "/usr/share/activemq/lib/activemq-broker.jar:"
	keys=$(echo "$output" | sed -n 's/^\([a-z_]*\) = .*/\1/p' | sort -u)
	for k in $keys; do
		grep -qE "^;?$k =( |\$)" "$REPO_ROOT/conf/activemq.ini" || fail "conf/activemq.ini does not document '$k'"
	done
}

# The keys an example sets without a comment: a key line that follows a
# blank line or a section header (consecutive keys share the comment above
# them, as conf/activemq.ini's property lines do).
uncommented_keys() {
	awk '/^[a-z_]+ =/ { if (prev == "blank" || prev == "section") print FILENAME ":" FNR ": " $1 }
		/^[;#]/ { prev = "comment"; next }
		/^[[:space:]]*$/ { prev = "blank"; next }
		/^\[/ { prev = "section"; next }
		{ prev = "key" }' "$@"
}

@test "conf/etcd-pair.ini and conf/etcd-sites.ini pass -n for Debian's ActiveMQ and comment every key they set" {
	[ -d /usr/share/activemq/lib ] || skip "Debian's activemq package is not installed"
	local f d=$BATS_TEST_TMPDIR tls
	# the TLS and password files the examples name live on real nodes only:
	# -n reads them, so stand-ins here (the password file private, as -n demands)
	: >"$d/ca.pem"
	: >"$d/client.pem"
	: >"$d/client.key"
	printf 'secret\n' >"$d/etcd.password"
	chmod 600 "$d/client.key" "$d/etcd.password"
	for f in etcd-pair etcd-sites; do
		tls=()
		[ $f = etcd-pair ] || tls=(-o cluster.etcd_ca="$d/ca.pem" -o cluster.etcd_cert="$d/client.pem"
			-o cluster.etcd_key="$d/client.key" -o cluster.etcd_password_file="$d/etcd.password")
		run "$LAUNCHER" -o cluster.key_file="$KEY" -n -c "$REPO_ROOT/conf/$f.ini" -o broker.java="$JAVA_STUB" \
			-o cluster.state_dir="$d/state" "${tls[@]}"
		assert_success
		assert_line --regexp "^backend = etcd +; $REPO_ROOT/conf/$f.ini:[0-9]+$"
		assert_output --partial "org.apache.activemq.console.Main start"
		refute_output --partial secret
	done
	run uncommented_keys "$REPO_ROOT/conf/etcd-pair.ini" "$REPO_ROOT/conf/etcd-sites.ini"
	assert_output ""
	# and in the example the checks above were written for
	run uncommented_keys "$REPO_ROOT/conf/activemq.ini"
	assert_output ""
}

@test "-n: a key outside any section and an invalid node id are errors" {
	bad $'name = x\n[cluster]\nnode = has space'
	assert_failure 1
	assert_output --partial "bad.ini:1: name: key outside any section; put it under one of [cluster, broker, health, cache, control, http, log]"
	assert_output --partial "cluster.node: 'has space' is not a node id"
}

@test "-n with backend = etcd: the password file private and readable, the TLS files there, no password printed, no expected_nodes" {
	local pw="$BATS_TEST_TMPDIR/etcd.pw" ok=$'[cluster]\nbackend = etcd\netcd_endpoint = http://10.0.0.1:2379\nlease_ttl = 15'
	printf 'S3cretPw\n' >"$pw"
	chmod 600 "$pw"
	bad "$ok"$'\netcd_user = fl\netcd_password_file = '"$pw"
	assert_success
	refute_output --partial S3cretPw
	assert_output --partial "etcd_password_file = $pw"
	chmod 644 "$pw"
	bad "$ok"$'\netcd_user = fl\netcd_password_file = '"$pw"
	assert_failure 1
	assert_output --partial "cluster.etcd_password_file: refused: $pw is accessible to group or others (mode 0644)"
	refute_output --partial S3cretPw
	bad "$ok"$'\netcd_user = fl\netcd_password_file = '"$BATS_TEST_TMPDIR/none"
	assert_failure 1
	assert_output --partial "cluster.etcd_password_file: cannot read $BATS_TEST_TMPDIR/none"
	bad "$ok"$'\netcd_ca = '"$BATS_TEST_TMPDIR/ca.pem"
	assert_failure 1
	assert_output --partial "cluster.etcd_ca: cannot read $BATS_TEST_TMPDIR/ca.pem"
	bad "$ok"$'\nexpected_nodes = 3'
	assert_failure 1
	assert_output --partial "cluster.expected_nodes: no meaning with backend = etcd"
}

@test "conf/prometheus.yml, conf/failover-alerts.yml and conf/haproxy.cfg pass their tools' checks" {
	local t=0
	if command -v promtool >/dev/null; then
		t=1
		run promtool check rules "$REPO_ROOT/conf/failover-alerts.yml"
		assert_success
		# prometheus.yml loads the rules file next to it
		run promtool check config "$REPO_ROOT/conf/prometheus.yml"
		assert_success
		assert_output --partial "SUCCESS: 1 rule files found"
		# the rules fire (and stay quiet) as their comments say
		run promtool test rules "$REPO_ROOT/test/fixtures/prometheus/failover-alerts.test.yml"
		assert_success
	fi
	if command -v haproxy >/dev/null; then
		t=1
		run haproxy -c -f "$REPO_ROOT/conf/haproxy.cfg"
		assert_success
	fi
	[ $t = 1 ] || skip "neither promtool nor haproxy is installed (scripts/test.sh installs prometheus and haproxy)"
}

@test "README names every metric family of the sources; the alert rules use no other" {
	local name
	# every family the launcher can print (some only with etcd, cache or http)
	for name in $(grep -rhoE '"failover_[a-z_]+' "$REPO_ROOT/launcher" | tr -d '"' | sort -u); do
		grep -qE "\`$name(\`|\{)" "$REPO_ROOT/README.md" || fail "README.md does not name the metric $name"
	done
	# and no rule asks for a metric that does not exist
	for name in $(grep -oE '\bfailover_[a-z_]+' "$REPO_ROOT/conf/failover-alerts.yml" | sort -u); do
		grep -rqF "\"$name" "$REPO_ROOT/launcher" || fail "conf/failover-alerts.yml uses $name, which no source prints"
	done
}

@test "-n checks on this host what the start needs: interface, peers, readiness host, cache address; a cache on every address warned" {
	# in a network namespace of the test's own: a name lookup cannot leave it
	ns() { unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"; }
	base=(-o cluster.key_file="$KEY" -n -c "$INI" -o broker.java="$JAVA_STUB")
	run ns "$LAUNCHER" "${base[@]}" -o cluster.interface=nosuch0
	assert_failure 1
	assert_output --partial "cluster.interface: nosuch0: no such interface or address on this host"
	run ns "$LAUNCHER" "${base[@]}" -o cluster.interface=10.99.99.99
	assert_failure 1
	assert_output --partial "cluster.interface: 10.99.99.99: no such interface or address"
	run ns "$LAUNCHER" "${base[@]}" -o cluster.peer=nonsense.invalid:2710
	assert_failure 1
	assert_output --partial "cluster.peer: cannot resolve nonsense.invalid:2710"
	run ns "$LAUNCHER" "${base[@]}" -o broker.ready_tcp=nonsense.invalid:61616
	assert_failure 1
	assert_output --partial "broker.ready_tcp: cannot resolve the host of nonsense.invalid:61616"
	run ns "$LAUNCHER" "${base[@]}" -o cache.listen=localhost:11311
	assert_failure 1
	assert_output --partial "cache.listen: 'localhost:11311': the host must be a dotted IPv4 address"
	# what -n passes here starts here
	run ns "$LAUNCHER" "${base[@]}" -o cluster.interface=lo -o cluster.peer=127.0.0.1:2710 \
		-o broker.ready_tcp=localhost:61616 -o cache.listen=0.0.0.0:11311
	assert_success
	assert_output --partial "warning: cache.listen = 0.0.0.0:11311 answers on every address of this host; the memcached port has no authentication"
	# and what it refuses, the start refuses too (exit 2), naming the same key
	run ns "$LAUNCHER" -o cluster.key_file="$KEY" -c "$INI" -o broker.java="$JAVA_STUB" -o cluster.interface=nosuch0 \
		-o control.socket="$BATS_TEST_TMPDIR/ctl.sock" -o cluster.state_dir="$BATS_TEST_TMPDIR/state"
	assert_failure 2
	assert_output --partial "nosuch0"
}

# without "SONAME..." CMD...: CMD in mount and network namespaces of its
# own, in which each shared library SONAME is an empty file: as if its
# package were not installed, for CMD alone
without() {
	local so lib binds=()
	: >"$BATS_TEST_TMPDIR/empty.so"
	for so in $1; do
		lib=$(ldconfig -p | awk -v so="$so" '$1 == so {print $NF; exit}')
		[ -n "$lib" ] || fail "no $so on this host"
		binds+=("$lib")
	done
	shift
	# shellcheck disable=SC2016 # expanded by that sh
	unshare -m -n --propagation private sh -c '
		for lib in $1; do mount --bind "$0" "$lib" || exit 99; done
		ip link set lo up && shift && exec "$@"' "$BATS_TEST_TMPDIR/empty.so" "${binds[*]}" "$@"
}

@test "libcurl and libmicrohttpd missing: -n and the start refuse etcd and http.listen (exit 1) naming the library and its package" {
	base=(-o cluster.key_file="$KEY" -c "$INI" -o broker.java="$JAVA_STUB")
	run=(-o control.socket="$BATS_TEST_TMPDIR/ctl.sock" -o cluster.state_dir="$BATS_TEST_TMPDIR/state")
	http=(-o http.listen=127.0.0.1:9008)
	etcd=(-o cluster.backend=etcd -o cluster.etcd_endpoint=http://127.0.0.1:2379 -o cluster.lease_ttl=15)
	# neither is needed by a configuration without them
	run without "libcurl.so.4 libmicrohttpd.so.12" "$LAUNCHER" "${base[@]}" -n
	assert_success
	run without libmicrohttpd.so.12 "$LAUNCHER" "${base[@]}" "${http[@]}" -n
	assert_failure 1
	assert_output --regexp "http\.listen: cannot load libmicrohttpd\.so\.12 \(install the Debian package libmicrohttpd12\): [^ ]*libmicrohttpd\.so\.12: file too short"
	run without libmicrohttpd.so.12 "$LAUNCHER" "${base[@]}" "${http[@]}" "${run[@]}"
	assert_failure 1
	assert_output --regexp "http\.listen: cannot load libmicrohttpd\.so\.12 \(install the Debian package libmicrohttpd12\): [^ ]*libmicrohttpd\.so\.12: file too short"
	run without libcurl.so.4 "$LAUNCHER" "${base[@]}" "${etcd[@]}" -n
	assert_failure 1
	assert_output --regexp "cluster\.backend = etcd: cannot load libcurl\.so\.4 \(install the Debian package libcurl4\): [^ ]*libcurl\.so\.4: file too short"
	run without libcurl.so.4 "$LAUNCHER" "${base[@]}" "${etcd[@]}" "${run[@]}"
	assert_failure 1
	assert_output --regexp "cluster\.backend = etcd: cannot load libcurl\.so\.4 \(install the Debian package libcurl4\): [^ ]*libcurl\.so\.4: file too short"
	# with the libraries there, the same settings pass -n
	run "$LAUNCHER" "${base[@]}" "${http[@]}" "${etcd[@]}" -n
	assert_success
}

@test "cmake --install --prefix DIR writes only under DIR, with the default failover-launcher.ini, and keeps an edited one" {
	command -v cmake >/dev/null || skip "cmake is not installed"
	d="$BATS_TEST_TMPDIR/inst"
	run cmake --install "$BUILD_DIR" --prefix "$d"
	assert_success
	[ -f "$d/etc/failover-launcher/failover-launcher.ini" ]
	[ -f "$d/etc/failover-launcher/activemq.ini" ]
	# nothing outside the prefix (the examples went to the real /etc before)
	run grep -v "^$d/" "$BUILD_DIR/install_manifest.txt"
	assert_failure
	# the installed default passes -n once its broker exists
	run "$LAUNCHER" -n -c "$d/etc/failover-launcher/failover-launcher.ini" -o cluster.key_file="$KEY" \
		-o broker.home="$TREE" -o broker.java="$JAVA_STUB"
	assert_success
	# an operator's edits survive a second install
	echo "; mine" >>"$d/etc/failover-launcher/failover-launcher.ini"
	run cmake --install "$BUILD_DIR" --prefix "$d"
	assert_success
	assert_output --partial "Kept: $d/etc/failover-launcher/failover-launcher.ini"
	tail -n 1 "$d/etc/failover-launcher/failover-launcher.ini" | grep -qx "; mine"
}

@test "the demo's lab: a node with no status file yet is 'none', with nothing on stderr" {
	run --separate-stderr bash -c 'LAB_DIR=$1; . "$2/test/lib/lab.bash"; lab_role 1' sh "$BATS_TEST_TMPDIR/nolab" "$REPO_ROOT"
	assert_success
	assert_output none
	[ -z "$stderr" ] || fail "stderr: $stderr"
}

@test "the unit's ExecCondition: a configuration counts once it sets a key; comments, sections and the shipped file do not" {
	local cmd
	cmd=$(sed -n 's/^ExecCondition=//p' "$REPO_ROOT/unit-files/failover-launcher.service")
	[[ $cmd == "/bin/grep -Eq '"*"' /etc/failover-launcher/failover-launcher.ini" ]]
	local re=${cmd#/bin/grep -Eq \'}
	re=${re%%\' *}
	# the default file the package and cmake install: comments only
	run grep -Eq "$re" "$REPO_ROOT/conf/failover-launcher.ini"
	assert_failure
	printf '[cluster]\n; name = x\n# node = y\n   ;key_file = z\n\n[broker]\n' >"$BATS_TEST_TMPDIR/c.ini"
	run grep -Eq "$re" "$BATS_TEST_TMPDIR/c.ini"
	assert_failure
	local line
	for line in 'name = a' '  interface=eth0' 'home: /opt/x' $'\tdelay = 500'; do
		printf '[cluster]\n%s\n' "$line" >"$BATS_TEST_TMPDIR/c.ini"
		run grep -Eq "$re" "$BATS_TEST_TMPDIR/c.ini"
		assert_success
	done
	# and the examples an operator copies over it are configurations
	for line in activemq interlok etcd-pair etcd-sites; do
		grep -Eq "$re" "$REPO_ROOT/conf/$line.ini"
	done
}
