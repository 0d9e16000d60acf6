#!/usr/bin/env bats
# The HTTP endpoint with the real things, Debian's packages, run from the
# examples in conf/: Prometheus scrapes the three nodes of a lab every
# second and its query API follows a kill -9 of the master; HAProxy with
# `option httpchk GET /primary` in front of three ActiveMQ nodes keeps a JMS
# producer and consumer on one failover:(tcp://HAPROXY:PORT) address through
# a kill -9 of the master, no acknowledged message lost.
#
# Prometheus and HAProxy run in the lab's switch namespace and listen on its
# address only (10.N.0.254, amq_client_net); their pids go to the lab's pid
# list, so lab_teardown stops them with the launchers.

load helpers
load ../lib/lab
load ../lib/amq

HTTP_PORT=8008
PROM_PORT=9090

# Real components run in one pass of the suite: the ASan one, where the
# launcher's C code is checked as well (as real_brokers.bats).
asan_pass() { [[ "$BUILD_DIR" == *asan* ]]; }

setup_file() {
	export CLIENTS="$BATS_FILE_TMPDIR/clients"
	if asan_pass && command -v haproxy >/dev/null && [ -d /usr/share/activemq/lib ] && command -v javac >/dev/null; then
		"$REPO_ROOT/test/java/activemq-client/build.sh" "$CLIENTS" >/dev/null
	fi
}

setup() {
	asan_pass || skip "Prometheus and HAProxy labs run in the ASan pass only"
	LAB_DELAY=250
	LAB_RETRIES=4
	lab_setup 3
	amq_client_net
	SW_ADDR="10.$LAB_NET.0.254"
}

teardown() {
	# a sanitizer's report in a launcher's log fails the test that saw it
	local bad
	bad=$(grep -l 'AddressSanitizer\|runtime error:' "$LAB_DIR"/n*/log 2>/dev/null) || true
	lab_teardown
	[ -z "$bad" ] || fail "sanitizer report in $bad"
}

# http_ini I: node I serves HTTP on its lab address (after its configuration)
http_ini() {
	printf '\n[http]\nlisten = %s:%s\n' "$(lab_addr "$1")" "$HTTP_PORT" >>"$LAB_DIR/n$1/launcher.ini"
}

# sub_addresses FILE: conf/FILE with the example's addresses (192.0.2.N, the
# documentation network) turned into the lab's: nodes 1..3 and the switch
sub_addresses() {
	sed -e "s/192\.0\.2\.\([123]\):/10.$LAB_NET.0.\1:/" -e "s/192\.0\.2\.10:/$SW_ADDR:/" "$REPO_ROOT/conf/$1"
}

# sw_run LOG COMMAND...: runs COMMAND in the switch namespace, in the
# background, registered in the lab's pid list
sw_run() {
	local log=$1
	shift
	ip netns exec "$LAB-sw" "$@" >"$log" 2>&1 3>&- </dev/null &
	echo $! >>"$LAB_DIR/pids"
}

# prom EXPR: Prometheus's answer to an instant query, one "INSTANCE VALUE"
# line per series, sorted
prom() {
	ip netns exec "$LAB-sw" curl -s --max-time 3 -G --data-urlencode "query=$1" \
		"http://$SW_ADDR:$PROM_PORT/api/v1/query" >"$LAB_DIR/prom.json" || return 1
	python3 -I -S - "$LAB_DIR/prom.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "success", r
for s in sorted(r["data"]["result"], key=lambda s: s["metric"].get("instance", "")):
    print(s["metric"].get("instance", "-"), s["value"][1])
PY
}

# prom_first SELECTOR VALUE: the epoch ms of the first sample of SELECTOR
# over the last minute that equals VALUE (Prometheus's own scrape time)
prom_first() {
	ip netns exec "$LAB-sw" curl -s --max-time 3 -G --data-urlencode "query=$1[1m]" \
		"http://$SW_ADDR:$PROM_PORT/api/v1/query" >"$LAB_DIR/prom.json" || return 1
	python3 -I -S - "$LAB_DIR/prom.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for s in r["data"]["result"]:
    for t, v in s["values"]:
        if v == sys.argv[2]:
            print(round(t * 1000))
            sys.exit(0)
sys.exit(1)
PY
}

# prom_is EXPR WANT: the query's lines are WANT (newline-separated)
prom_is() { [ "$(prom "$1" 2>/dev/null)" = "$2" ]; }

target() { echo "$(lab_addr "$1"):$HTTP_PORT"; }

# sw_listens_on_lab_only: every socket listening in the switch namespace
# (Prometheus's, HAProxy's) is on the switch's lab address
sw_listens_on_lab_only() {
	local addr n=0
	for addr in $(ip netns exec "$LAB-sw" ss -Hltun | awk '{print $5}'); do
		[ "${addr%:*}" = "$SW_ADDR" ] || fail "something listens on $addr in the switch namespace"
		n=$((n + 1))
	done
	[ $n -gt 0 ] || fail "nothing listens in the switch namespace"
}

@test "Prometheus scrapes the three nodes every second: up, one master; after kill -9 of the master the new one" {
	local i m2 t_kill old new seen down up
	command -v prometheus >/dev/null || skip "prometheus is not installed (scripts/test.sh installs it)"
	for i in 1 2 3; do
		LAB_BROKER_INI=("url = tcp://$(lab_addr "$i"):61616")
		lab_ini "$i"
		http_ini "$i"
	done
	LAB_BROKER_INI=()
	# conf/prometheus.yml and its rules, scraping and evaluating every second
	mkdir -p "$LAB_DIR/prom/data"
	sub_addresses prometheus.yml | sed -e 's/^\(  [a-z_]*_interval:\) .*/\1 1s/' \
		-e 's/^\(  scrape_timeout:\) .*/\1 900ms/' >"$LAB_DIR/prom/prometheus.yml"
	cp "$REPO_ROOT/conf/failover-alerts.yml" "$LAB_DIR/prom/"
	grep -q "^  scrape_interval: 1s" "$LAB_DIR/prom/prometheus.yml"
	grep -q "$(target 3)" "$LAB_DIR/prom/prometheus.yml"
	start_three --heard --broker
	sw_run "$LAB_DIR/prom/log" prometheus --config.file="$LAB_DIR/prom/prometheus.yml" \
		--storage.tsdb.path="$LAB_DIR/prom/data" --web.listen-address="$SW_ADDR:$PROM_PORT"
	# every target up, the master the lab knows, and the rules loaded
	wait_until 30 prom_is up "$(for i in 1 2 3; do echo "$(target "$i") 1"; done)" ||
		{ prom up; tail -n 20 "$LAB_DIR/prom/log"; false; }
	sw_listens_on_lab_only
	wait_until 10 prom_is 'failover_role{role="master"} == 1' "$(target "$m") 1" ||
		{ prom 'failover_role{role="master"}'; false; }
	[ "$(prom 'sum(failover_role{role="master"})')" = "- 1" ]
	[ "$(prom 'count(failover_role{role="slave"} == 1)')" = "- 2" ]
	ip netns exec "$LAB-sw" curl -s --max-time 3 "http://$SW_ADDR:$PROM_PORT/api/v1/rules" |
		python3 -I -S -c 'import json,sys; g = json.load(sys.stdin)["data"]["groups"]; r = [x for y in g for x in y["rules"]]; assert len(r) == int(sys.argv[1]) and all(x["health"] == "ok" for x in r), r' \
			"$(grep -c '^ *- alert: ' "$REPO_ROOT/conf/failover-alerts.yml")"
	# every family the master prints (cache and http on) is in README's list
	for f in $(lab_ctl "$m" metrics | sed -n 's/^# TYPE \(failover_[a-z_]*\) .*/\1/p'); do
		grep -qE "\`$f(\`|\{)" "$REPO_ROOT/README.md" || fail "README.md does not name the metric $f"
	done
	# kill -9 of the master's launcher (its broker dies with it): Prometheus
	# shows the old target down and another node as master
	lab_groups "$(echo 1 2 3 | tr -d "$m")"
	t_kill=$(lab_ms)
	kill -9 "$(lab_pid "$m")"
	m2=$(lab_wait_one_master "$(echo 1 2 3 | tr -d "$m")" 20)
	old=$(target "$m")
	new=$(target "$m2")
	wait_until 20 prom_is "up{instance=\"$old\"}" "$old 0" || { prom up; false; }
	wait_until 20 prom_is 'failover_role{role="master"} == 1' "$new 1" ||
		{ prom 'failover_role{role="master"}'; false; }
	seen=$(($(lab_ms) - t_kill))
	# when Prometheus scraped them: the old target's first failure, the
	# new master's first master sample
	down=$(prom_first "up{instance=\"$old\"}" 0)
	up=$(prom_first "failover_role{role=\"master\",instance=\"$new\"}" 1)
	echo "# Prometheus (1 s scrapes): n$m killed; its target down in the data after $((down - t_kill)) ms, n$m2 master after $((up - t_kill)) ms; the test's polling saw both after $seen ms" >&3
	# the rules see it too: the dead node's alert is pending (for: 30s)
	wait_until 10 prom_is "ALERTS{alertname=\"FailoverNodeDown\",alertstate=\"pending\"}" "$old 1"
	lab_sampler_check
}

# sent_at_least N: the producer has recorded N messages sent
sent_at_least() { [ "$(wc -l <"$LAB_DIR/sent")" -ge "$1" ]; }

@test "HAProxy with httpchk GET /primary: JMS clients on one HAProxy address lose no message through kill -9 of the master" {
	local i m m2 url count=300 t_kill prod_rc cons_rc line first id serving
	command -v haproxy >/dev/null || skip "haproxy is not installed (scripts/test.sh installs it)"
	[ -d /usr/share/activemq/lib ] || skip "Debian's activemq package is not installed (scripts/test.sh installs it)"
	[ -x "$CLIENTS/producer" ] || skip "the JMS clients were not built (javac missing?)"
	for i in 1 2 3; do
		amq_ini "$i"
		http_ini "$i"
	done
	# conf/haproxy.cfg: its frontend on the switch's address, the three
	# nodes' brokers behind it, checked on their [http] port
	sub_addresses haproxy.cfg >"$LAB_DIR/haproxy.cfg"
	grep -q "bind $SW_ADDR:$AMQ_PORT" "$LAB_DIR/haproxy.cfg"
	grep -q "server n3 $(lab_addr 3):$AMQ_PORT check" "$LAB_DIR/haproxy.cfg"
	grep -q "port $HTTP_PORT " "$LAB_DIR/haproxy.cfg"
	haproxy -c -q -f "$LAB_DIR/haproxy.cfg"
	sw_run "$LAB_DIR/haproxy.log" haproxy -db -f "$LAB_DIR/haproxy.cfg"
	lab_sampler_start 600
	for i in 1 2 3; do lab_start "$i"; done
	m=$(lab_wait_one_master "1 2 3" 20)
	amq_wait_serving "$m" 60
	sw_listens_on_lab_only
	# one address for the clients: HAProxy's
	url="failover:(tcp://$SW_ADDR:$AMQ_PORT)?maxReconnectDelay=200&initialReconnectDelay=50"
	amq_client "$CLIENTS" producer "$url" haproxy.q "$count" 20 120 >"$LAB_DIR/sent" 2>"$LAB_DIR/producer.err" &
	prod=$!
	echo "$prod" >>"$LAB_DIR/pids"
	wait_until 40 sent_at_least 100 || { cat "$LAB_DIR/producer.err" "$LAB_DIR/haproxy.log"; false; }
	lab_groups "$(echo 1 2 3 | tr -d "$m")"
	t_kill=$(lab_ms)
	kill -9 "$(lab_pid "$m")"
	m2=$(lab_wait_one_master "$(echo 1 2 3 | tr -d "$m")" 20)
	amq_wait_serving "$m2" 60
	serving=$(($(lab_ms) - t_kill))
	prod_rc=0
	wait "$prod" || prod_rc=$?
	[ "$prod_rc" -eq 0 ] || { cat "$LAB_DIR/producer.err" "$LAB_DIR/haproxy.log"; lab_logs 30; false; }
	[ "$(sort -un "$LAB_DIR/sent" | wc -l)" -eq "$count" ]
	# the producer's clock (epoch ms) at its first acknowledged send after
	# an interruption, the first such send after the kill
	line=$(awk -v t="$t_kill" '/first acknowledged after the interruption/ && $NF >= t {print; exit}' \
		"$LAB_DIR/producer.err")
	[ -n "$line" ] || { cat "$LAB_DIR/producer.err"; fail "the producer saw no interruption"; }
	first=${line##* at }
	id=$(sed -n 's/.*interruption: \([0-9]*\) at.*/\1/p' <<<"$line")
	echo "# HAProxy: n$m killed; the first acknowledged send through HAProxy (message $id) $((first - t_kill)) ms after the kill; n$m2's broker serving after $serving ms" >&3
	# every acknowledged message arrives, through the same address
	cons_rc=0
	amq_client "$CLIENTS" consumer "$url" haproxy.q "$count" 60 >"$LAB_DIR/received" 2>"$LAB_DIR/consumer.err" || cons_rc=$?
	tail -n 1 "$LAB_DIR/consumer.err" | sed 's/^/# /' >&3
	[ "$cons_rc" -eq 0 ] || { cat "$LAB_DIR/consumer.err"; false; }
	[ "$(sort -un "$LAB_DIR/received" | wc -l)" -eq "$count" ]
	[ "$(lab_field "$m2" broker)" = serving ]
	# HAProxy's own view (its warnings on stderr): only the master was ever
	# up, the old one (a health flap may take it down and up), then the new
	# one; the slaves' 503 kept them down
	[ "$(sed -n 's|.*Server brokers/\(n[0-9]\) is UP.*|\1|p' "$LAB_DIR/haproxy.log" | uniq | tr '\n' ' ')" = "n$m n$m2 " ] ||
		{ cat "$LAB_DIR/haproxy.log"; fail "HAProxy's servers went up in another order"; }
	grep -q "Server brokers/n$m is DOWN" "$LAB_DIR/haproxy.log"
	lab_sampler_check
}
