#!/usr/bin/env bash
# One version and one license everywhere. The version is meson's
# project(version:); ringfan --version, the shared library's file name, the
# uninstalled pkg-config file, debian/changelog (upstream part) and the top
# entry of CHANGELOG.md must say the same. LICENSE is the BSD-2-Clause text
# that every source file's SPDX header, meson's license and debian/copyright
# name. No build log is committed.
. "$(dirname "$0")/lib.sh"
need_cmd meson pkg-config git

version=$(meson introspect --projectinfo "$BUILD" | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "meson project version '$version' is not X.Y.Z"
info "project version $version"
check_eq "$("$RINGFAN" --version)" "ringfan $version" "ringfan --version"
[ -e "$BUILD/lib/libringfan.so.$version" ] || fail "no $BUILD/lib/libringfan.so.$version: $(ls "$BUILD"/lib/*.so*)"
check_eq "$(PKG_CONFIG_PATH=$BUILD/meson-uninstalled pkg-config --modversion libringfan)" "$version" \
	"pkg-config --modversion libringfan (uninstalled)"
deb=$(sed -n '1s/^ringfan (\([^)]*\)).*/\1/p' "$TOP/debian/changelog")
check_eq "${deb%%-*}" "$version" "debian/changelog version"
check_eq "$(sed -n 's/^## \([0-9][^ ]*\).*/\1/p' "$TOP/CHANGELOG.md" | head -1)" "$version" \
	"CHANGELOG.md top entry"

spdx=BSD-2-Clause
check_eq "$(sed -n "s/^\tlicense : '\(.*\)',\$/\1/p" "$TOP/meson.build")" "$spdx" "meson project license"
head -1 "$TOP/LICENSE" | grep -q '^BSD 2-Clause License$' || fail "LICENSE is not the BSD 2-Clause text"
grep -q 'Redistributions in binary form must reproduce' "$TOP/LICENSE" || fail "LICENSE text is incomplete"
grep -q "^License: $spdx\$" "$TOP/debian/copyright" || fail "debian/copyright does not name $spdx"
cd "$TOP" || fail "cannot enter $TOP"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || skip "not a git work tree"
bad=$(git ls-files '*.c' '*.h' | while read -r f; do
	head -3 "$f" | grep -q "SPDX-License-Identifier: $spdx" || echo "$f"
done)
[ -z "$bad" ] || fail "source files without an SPDX $spdx header: $bad"
info "ok: every .c and .h names $spdx"
check_eq "$(git ls-files '*.log' | tr '\n' ' ')" "" "committed log files"
