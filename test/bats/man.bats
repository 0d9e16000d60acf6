#!/usr/bin/env bats
# The manual pages: they render without a warning, and they cover every INI
# key, every launcher option and every failoverctl command and option that
# the binaries themselves report.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	unset ADAPTRIS_HOME
	MAN="$REPO_ROOT/man"
	PAGES=("$MAN/failover-launcher.8" "$MAN/failoverctl.1" "$MAN/failover-launcher.ini.5")
}

need_groff() {
	command -v groff >/dev/null || skip "groff is missing (Debian package groff-base)"
}

# roff NAME...: the words as they are written in roff source ("-" as "\-").
roff() {
	printf '%s\n' "$*" | sed 's/-/\\-/g'
}

# section PAGE HEADING: the source lines of one .SH section.
section() {
	awk -v h=".SH $2" '$0 == h {on = 1; next} /^\.SH / {on = 0} on' "$1"
}

# subsection PAGE NAME: the source lines of the .SS "[NAME]" subsection.
subsection() {
	awk -v h=".SS \"[$2]\"" '$0 == h {on = 1; next} /^\.S[HS] / {on = 0} on' "$1"
}

# The launcher's effective configuration as "section key" lines.
ini_keys() {
	"$LAUNCHER" -n -c "$FIXTURES/interlok/fixture.ini" -o broker.java=/bin/true |
		awk '/^\[[a-z_]+\]$/ {s = substr($0, 2, length($0) - 2); next}
		     /^[a-z_]+ = / && s != "" {print s, $1}' | sort -u
}

@test "each page renders with groff -man -Tutf8 -ww and no warning" {
	need_groff
	for page in "${PAGES[@]}"; do
		[ -f "$page" ] || fail "$page is missing"
		run --separate-stderr groff -man -Tutf8 -ww -z "$page"
		[ "$status" -eq 0 ] || fail "groff failed on $page: $stderr"
		[ -z "$stderr" ] || fail "groff warns about $page: $stderr"
	done
}

@test "each page is man(7), not mdoc, and names itself in .TH" {
	local name sect
	for page in "${PAGES[@]}"; do
		name=$(basename "$page")
		sect=${name##*.}
		name=${name%.*}
		grep -q "^\.TH $(echo "$name" | tr a-z A-Z) $sect " "$page" || fail "$page: no .TH ${name^^} $sect"
		! grep -qE '^\.(Dd|Dt|Os|Nm|Sh) ' "$page" || fail "$page uses mdoc macros"
		grep -q '^\.SH NAME$' "$page" || fail "$page: no NAME section"
	done
}

@test "failover-launcher.ini.5 documents every INI key of failover-launcher -n, in its section" {
	local keys missing="" section key
	keys=$(ini_keys)
	[ "$(echo "$keys" | wc -l)" -gt 40 ] || fail "too few keys parsed from -n: $keys"
	while read -r section key; do
		subsection "$MAN/failover-launcher.ini.5" "$section" |
			grep -qF "\\fB$(roff "$key")\\fR = " || missing="$missing $section.$key"
	done <<<"$keys"
	[ -z "$missing" ] || fail "keys missing from failover-launcher.ini.5:$missing"
}

@test "failover-launcher.ini.5 documents no key the launcher does not have" {
	local keys extra="" section tag key
	keys=$(ini_keys)
	for section in $(echo "$keys" | awk '{print $1}' | sort -u); do
		while read -r tag; do
			key=$(echo "$tag" | sed 's/^\\fB\(.*\)\\fR = .*/\1/; s/\\-/-/g')
			echo "$keys" | grep -qx "$section $key" || extra="$extra $section.$key"
		done < <(subsection "$MAN/failover-launcher.ini.5" "$section" | grep '^\\fB[a-z_]*\\fR = ')
	done
	[ -z "$extra" ] || fail "keys in failover-launcher.ini.5 that -n does not show:$extra"
	# and no section the launcher does not have
	for section in $(grep -o '^\.SS "\[[a-z_]*\]"' "$MAN/failover-launcher.ini.5" | tr -d '.SS"[]'); do
		echo "$keys" | grep -q "^$section " || fail "[$section] is documented but unknown to -n"
	done
}

@test "failover-launcher.8 documents every option of --help under OPTIONS" {
	local opts missing="" o
	opts=$("$LAUNCHER" --help | grep -E '^ +-' | grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' | tr -d ' ,' | sort -u)
	echo "$opts" | grep -qx -- '--print-command' || fail "no --print-command in --help: $opts"
	echo "$opts" | grep -qx -- '--check' || fail "no --check in --help: $opts"
	echo "$opts" | grep -qx -- '--set' || fail "no --set in --help: $opts"
	for o in $opts; do
		section "$MAN/failover-launcher.8" OPTIONS | grep -qF -- "$(roff "$o")" || missing="$missing $o"
	done
	[ -z "$missing" ] || fail "options missing from failover-launcher.8:$missing"
}

@test "failover-launcher.8 has the sections the daemon needs, and the default INI path" {
	local s ini
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS SIGNALS "EXIT STATUS" ENVIRONMENT FILES "LOG MESSAGES" NOTES \
		"SEE ALSO"; do
		grep -qx "\.SH $s" "$MAN/failover-launcher.8" || fail "failover-launcher.8 has no $s section"
	done
	ini=$("$LAUNCHER" --help | grep -oE '/[^ )]*\.ini')
	[ -n "$ini" ] || fail "no default INI path in --help"
	grep -qF "$(roff "$ini")" "$MAN/failover-launcher.8" || fail "$ini is not in failover-launcher.8"
	grep -qF "$(roff "$ini")" "$MAN/failover-launcher.ini.5" || fail "$ini is not in failover-launcher.ini.5"
	for s in SIGTERM SIGINT SIGHUP SIGUSR1 ADAPTRIS_HOME JAVA_HOME NOTIFY_SOCKET WATCHDOG_USEC JOURNAL_STREAM \
		FAILOVER_TERM FAILOVER_NODE FAILOVER_ROLE FAILOVER_CLUSTER FAILOVER_EVENT FAILOVER_MASTER \
		"Creating listener..." "Creating broadcaster..." "Started listener" "Started broadcaster" \
		"Failover Manager has started" "Promoted to Master node" "Failover Manager has been promoted" \
		"Demoted from master"; do
		grep -qF -- "$s" "$MAN/failover-launcher.8" || fail "failover-launcher.8 does not mention $s"
	done
}

@test "failoverctl.1 documents every command and option of failoverctl --help" {
	local cmds opts missing="" c o
	# "  status [--json]", "  cache get KEY": the command and its subcommand words
	cmds=$("$FAILOVERCTL" --help | awk '/^Commands:/ {on = 1; next} /^[^ ]/ {on = 0}
		on && /^  [a-z]/ {sub(/^  /, ""); sub(/  .*/, ""); n = split($0, f, " "); w = f[1]
		                  for (i = 2; i <= n && f[i] ~ /^[a-z]+$/; i++) w = w " " f[i]; print w}')
	echo "$cmds" | grep -qx status || fail "no status command parsed from --help: $cmds"
	while read -r c; do
		section "$MAN/failoverctl.1" COMMANDS | grep -qE "^(\\.B |\\\\fB)$c(\\\\fR|\$| )" ||
			missing="$missing '$c'"
	done <<<"$cmds"
	opts=$("$FAILOVERCTL" --help | awk '/^Options:/ {on = 1; next} /^[^ ]/ {on = 0} on' |
		grep -E '^ +-' | grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' | tr -d ' ,' | sort -u)
	for o in $opts; do
		section "$MAN/failoverctl.1" OPTIONS | grep -qF -- "$(roff "$o")" || missing="$missing $o"
	done
	[ -z "$missing" ] || fail "missing from failoverctl.1:$missing"
	for c in "EXIT STATUS" EXAMPLES; do
		grep -qx "\.SH $c" "$MAN/failoverctl.1" || fail "failoverctl.1 has no $c section"
	done
}

@test "failover-launcher.ini.5 is what man/tools/gen5.py makes of launcher/config/config.def" {
	run python3 "$REPO_ROOT/man/tools/gen5.py" "$REPO_ROOT"
	assert_success
	[ "$output" = "$(cat "$REPO_ROOT/man/failover-launcher.ini.5")" ] || fail "regenerate: python3 man/tools/gen5.py > man/failover-launcher.ini.5"
}

@test "the README's reload table is what man/tools/reload_table.py makes of launcher/config/config.def" {
	run python3 "$REPO_ROOT/man/tools/reload_table.py" "$REPO_ROOT"
	assert_success
	[ "${#lines[@]}" -eq 9 ] || fail "expected a header, a rule and seven sections: $output"
	# every line of the table, in order, as one block
	python3 - "$REPO_ROOT/README.md" "$output" <<'PY' || fail "README's reload table differs: python3 man/tools/reload_table.py"
import sys
readme, table = open(sys.argv[1]).read(), sys.argv[2]
sys.exit(0 if table + "\n" in readme else 1)
PY
}
