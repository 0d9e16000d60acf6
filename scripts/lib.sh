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
	openjdk-17-jdk-headless libaspectj-java activemq libactivemq-java
	iproute2 procps python3 shellcheck groff-base
	libmemcached-tools python3-pymemcache memcached nftables spin
	systemd-container python3-fusepy curl
	etcd-server etcd-client openssl
)

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
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
