# shellcheck shell=bash disable=SC2034
# Shared by scripts/test.sh and scripts/demo.sh (bash; sourced from the
# repository's root).

# What building and testing need, all from Debian 12.
BUILD_PACKAGES=(
	cmake make gcc clang libclang-rt-14-dev pkg-config
	libev-dev libinih-dev libsystemd-dev libsodium-dev libcmocka-dev
	libjson-c-dev libcurl4-openssl-dev libmicrohttpd-dev
)
RUNTIME_TEST_PACKAGES=(
	bats bats-support bats-assert bats-file
	openjdk-17-jdk-headless libaspectj-java activemq libactivemq-java libspymemcached-java
	iproute2 procps python3 shellcheck groff-base
	libmemcached-tools python3-pymemcache memcached nftables spin
	systemd-container python3-fusepy curl
	etcd-server etcd-client openssl
	prometheus haproxy
	debhelper dpkg-dev fakeroot lintian
)

# Packages whose postinst starts a daemon (invoke-rc.d / deb-systemd-invoke)
# and enables it at boot: prometheus listens on *:9090, haproxy runs its
# default configuration.  The labs run their own copies inside network
# namespaces, so install_missing keeps these from starting (see below).
DAEMON_PACKAGES=(prometheus haproxy memcached etcd-server)

# install_missing PACKAGE...: apt-get installs those not installed yet
# (one apt-get update first).  Needs root when something is missing.
install_missing() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "== installing: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages (${missing[*]}); run as root to install them" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# --no-install-recommends also keeps prometheus-node-exporter (another
	# listening daemon, *:9100) out.  A policy-rc.d that answers 101 tells
	# invoke-rc.d and deb-systemd-invoke not to start the packages'
	# services; Debian's container images ship one already, a plain host
	# does not, so one is put in place for this install only.
	local policy=/usr/sbin/policy-rc.d own_policy=0 rc=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# scripts/lib.sh install_missing: start no services\nexit 101\n' >"$policy" &&
			chmod 755 "$policy" && own_policy=1
	fi
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	[ $own_policy -eq 1 ] && rm -f "$policy"
	# On a systemd host the postinst has also enabled the units for the
	# next boot; the tests never want them, so disable those we installed.
	if [ -d /run/systemd/system ]; then
		local d units=()
		for d in "${DAEMON_PACKAGES[@]}"; do
			for p in "${missing[@]}"; do [ "$p" = "$d" ] && units+=("${d%-server}"); done
		done
		[ ${#units[@]} -eq 0 ] || systemctl disable --quiet "${units[@]}" 2>/dev/null || true
	fi
	return $rc
}
