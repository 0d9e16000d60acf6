#!/usr/bin/env bash
# Builds the Debian package (debian/) from a copy of the source, so that
# nothing is written in the repository: the tracked files and the untracked
# ones .gitignore does not ignore go to OUT/work/failover-launcher, where
# dpkg-buildpackage runs (its ../ outputs land in OUT/work), and the .deb
# files are copied to OUT.  Installs what the build needs (as root; one
# apt-get update, only when something is missing).
#
# A second call into the same OUT reuses the copy and its build tree: only
# files whose content changed are copied again (the others keep their
# mtimes), and dpkg-buildpackage -nc then rebuilds nothing when no source
# changed, only the packaging (another --version costs seconds).
#
# DEB_BUILD_OPTIONS is honoured (nocheck: no unit tests, and the nocheck
# build profile, so cmocka is not needed either).
set -euo pipefail
# sort and comm below compare lists written by earlier runs: one collation
export LC_ALL=C
CALLER_DIR=$(pwd)
cd "$(dirname "$0")/.."
ROOT=$(pwd -P)

# shellcheck source=scripts/lib.sh
. scripts/lib.sh

usage() {
	cat <<EOF
usage: scripts/build-deb.sh [--out DIR] [--version DEBVERSION] [--lint]

  --out DIR             where the .deb files go, replacing those of an
                        earlier build (default: build-deb, under the
                        repository; the copy and the build tree are in
                        DIR/work)
  --version DEBVERSION  build this Debian version: a changelog entry is added
                        in the copy only (higher than debian/changelog's)
  --lint                run lintian on the .deb files; fail on any error or
                        warning
  -h, --help            this help

Environment: DEB_BUILD_OPTIONS (e.g. nocheck, parallel=N), DEB_BUILD_PROFILES.
The last lines of the output are the paths of the .deb files built.
EOF
}

OUT=$ROOT/build-deb
VERSION=
LINT=0
while [ $# -gt 0 ]; do
	case $1 in
	--out)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		OUT=$2
		shift 2
		;;
	--out=*) OUT=${1#--out=}; shift ;;
	--version)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		VERSION=$2
		shift 2
		;;
	--version=*) VERSION=${1#--version=}; shift ;;
	--lint) LINT=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*)
		echo "build-deb.sh: unknown argument '$1'" >&2
		usage >&2
		exit 2
		;;
	esac
done

# a relative --out is the caller's, not the repository's
case $OUT in /*) ;; *) OUT=$CALLER_DIR/$OUT ;; esac
OUT=$(realpath -m "$OUT")
# an output directory inside the repository must be one git ignores, or the
# copy would take in its own earlier builds
case $OUT/ in
"$ROOT"/*)
	if ! git -C "$ROOT" check-ignore -q "$OUT/"; then
		echo "build-deb.sh: $OUT is inside the repository and not ignored by .gitignore" >&2
		exit 2
	fi
	;;
esac
WORK=$OUT/work
SRC=$WORK/failover-launcher
mkdir -p "$SRC"

# ---- DEB_BUILD_OPTIONS=nocheck implies the nocheck profile
NOCHECK=0
case " ${DEB_BUILD_OPTIONS:-} " in *" nocheck "*) NOCHECK=1 ;; esac
case " ${DEB_BUILD_PROFILES:-} " in *" nocheck "*) NOCHECK=1 ;; esac
if [ $NOCHECK -eq 1 ]; then
	case " ${DEB_BUILD_OPTIONS:-} " in *" nocheck "*) ;; *) DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} nocheck" ;; esac
	case " ${DEB_BUILD_PROFILES:-} " in *" nocheck "*) ;; *) DEB_BUILD_PROFILES="${DEB_BUILD_PROFILES:-} nocheck" ;; esac
	export DEB_BUILD_PROFILES="${DEB_BUILD_PROFILES# }"
fi
case " ${DEB_BUILD_OPTIONS:-} " in
*" parallel="*) ;;
*) DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-} parallel=$(nproc)" ;;
esac
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS# }"

# ---- what the build needs: the tools, and debian/control's Build-Depends
# (the first of alternatives; <!nocheck> ones unless nocheck), installed
# together so that apt-get update runs at most once
build_depends() {
	awk -v nocheck=$NOCHECK '
		/^Build-Depends:/ { on = 1; sub(/^Build-Depends:/, ""); }
		on && /^[^ \t]/ && !/^Build-Depends:/ && seen { on = 0 }
		on { seen = 1; deps = deps " " $0 }
		END {
			n = split(deps, d, ",")
			for (i = 1; i <= n; i++) {
				split(d[i], alt, "|")
				s = alt[1]
				if (nocheck && s ~ /<!nocheck>/) continue
				gsub(/\([^)]*\)|\[[^]]*\]|<[^>]*>|:any|:native/, "", s)
				gsub(/[ \t]/, "", s)
				if (s == "debhelper-compat") s = "debhelper"
				if (s != "") print s
			}
		}' "$ROOT/debian/control"
}
mapfile -t NEEDS < <(build_depends)
NEEDS+=(dpkg-dev debhelper fakeroot)
[ $LINT -eq 0 ] || NEEDS+=(lintian)
install_missing "${NEEDS[@]}"

# ---- the copy: a file is copied again when its size, mtime or mode differ
# from the copy's (cp keeps the mtime), so unchanged files keep theirs and
# make sees nothing to do
changed=0
LIST=$WORK/files.list
snapshot() { # snapshot DIR: "NAME<tab>size mtime mode type" of the listed files in DIR
	(cd "$1" && tr '\n' '\0' <"$LIST.new" | xargs -0 -r stat --printf '%n\t%s %.9Y %a %F\n' 2>/dev/null) || true
}
git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do
		# a deleted file not committed yet is not there
		if [ -f "$ROOT/$f" ] || [ -L "$ROOT/$f" ]; then printf '%s\n' "$f"; fi
	done | sort >"$LIST.new"
while IFS= read -r f; do
	[ "$f" = debian/changelog ] && continue # written below
	mkdir -p "$(dirname "$SRC/$f")"
	rm -f "$SRC/$f"
	cp -P --preserve=mode,timestamps "$ROOT/$f" "$SRC/$f"
	changed=1
done < <(awk -F '\t' 'FILENAME == ARGV[1] { c[$1] = $2; next } c[$1] != $2 { print $1 }' \
	<(snapshot "$SRC") <(snapshot "$ROOT"))
if [ -f "$LIST" ]; then
	# files gone from the repository since the last build
	while IFS= read -r f; do
		rm -f "$SRC/$f"
		changed=1
	done < <(comm -23 "$LIST" "$LIST.new")
fi
mv "$LIST.new" "$LIST"

# debian/changelog: the repository's, with an entry for --version on top
CL=$WORK/changelog.new
if [ -n "$VERSION" ]; then
	if ! dpkg --validate-version "$VERSION" 2>/dev/null || [[ $VERSION == *[[:space:]]* ]]; then
		echo "build-deb.sh: --version '$VERSION' is not a Debian version" >&2
		exit 2
	fi
	top=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
	if ! dpkg --compare-versions "$VERSION" gt "$top"; then
		echo "build-deb.sh: --version $VERSION is not higher than debian/changelog's $top" >&2
		exit 2
	fi
	{
		printf '%s (%s) unstable; urgency=medium\n\n' \
			"$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Source)" "$VERSION"
		printf '  * Local build of %s (scripts/build-deb.sh --version).\n\n' "$VERSION"
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Maintainer)" "$(date -R)"
		cat "$ROOT/debian/changelog"
	} >"$CL"
else
	cp "$ROOT/debian/changelog" "$CL"
fi
mv "$CL" "$SRC/debian/changelog"
VER=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)

# a source that changed since the last build: dh runs its build steps again
# (make rebuilds only what changed); otherwise its stamp skips them
if [ $changed -eq 1 ]; then
	rm -f "$SRC/debian/debhelper-build-stamp"
fi

# ---- build (binary only, unsigned; -nc keeps the build tree)
cd "$SRC"
# -nc keeps debian/files too: the packages of the build before (a dbgsym
# package not built this time) would be listed in this build's .changes
rm -f debian/files
dpkg-checkbuilddeps ${DEB_BUILD_PROFILES:+-P"${DEB_BUILD_PROFILES// /,}"}
echo "== dpkg-buildpackage $VER (DEB_BUILD_OPTIONS=\"$DEB_BUILD_OPTIONS\" DEB_BUILD_PROFILES=\"${DEB_BUILD_PROFILES:-}\")"
t0=$SECONDS
dpkg-buildpackage -b -us -uc -nc >"$WORK/build.log" 2>&1 || {
	tail -n 60 "$WORK/build.log"
	echo "build-deb.sh: dpkg-buildpackage failed; the whole log: $WORK/build.log" >&2
	exit 1
}
echo "== built in $((SECONDS - t0)) s (log: $WORK/build.log)"

ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
UPVER=${VER#*:}
DEBS=()
# only this build's packages in OUT: `apt install ./OUT/failover-launcher_*.deb`
# must not meet two versions of one package
rm -f "$OUT"/failover-launcher_*.deb "$OUT"/failover-launcher-dbgsym_*.deb
while IFS= read -r f; do
	case $f in *.deb) ;; *) continue ;; esac
	cp -p "$WORK/$f" "$OUT/"
	DEBS+=("$OUT/$f")
done < <(awk '/^Files:/ { on = 1; next } /^[^ ]/ { on = 0 } on { print $5 }' \
	"$WORK/failover-launcher_${UPVER}_${ARCH}.changes")
[ ${#DEBS[@]} -gt 0 ] || { echo "build-deb.sh: no .deb in the .changes" >&2; exit 1; }

if [ $LINT -eq 1 ]; then
	echo "== lintian"
	rc=0
	lintian --fail-on error,warning --display-info "${DEBS[@]}" || rc=$?
	if [ $rc -ne 0 ]; then
		echo "build-deb.sh: lintian found errors or warnings (exit status $rc)" >&2
		exit 1
	fi
	echo "== lintian: no errors, no warnings"
fi

printf '%s\n' "${DEBS[@]}"
