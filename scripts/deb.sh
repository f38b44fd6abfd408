#!/usr/bin/env bash
# Build the Debian packages (ringfan, libringfan0, libringfan-dev) from
# debian/ with dpkg-buildpackage, check them with lintian (errors and
# warnings fail), and put the .deb files in OUTDIR (default build/deb).
# The build runs in a copy of the source tree (tracked and new files), so
# the work tree gets no debian/ build products. 'make deb' installs the
# build dependencies first (scripts/deps.sh deb). Takes about a minute.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$top/build/deb}")
work=$(mktemp -d /tmp/ringfan-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src" "$out"
git -C "$top" ls-files -z --cached --others --exclude-standard |
	(cd "$top" && xargs -0 cp --parents -t "$work/src")
cd "$work/src"
dpkg-checkbuilddeps || { echo "ringfan: run scripts/deps.sh deb first" >&2; exit 1; }
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)}
dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1 || {
	tail -40 "$work/build.log" >&2
	echo "ringfan: dpkg-buildpackage failed" >&2
	exit 1
}
changes=$(ls "$work"/*.changes)
rc=0
lintian --fail-on error,warning --info "$changes" >"$work/lintian.log" 2>&1 || rc=$?
# lintian says when it runs as root (the build itself needs no root): not a finding.
grep -v 'running with root privileges' "$work/lintian.log" || true
((rc == 0)) || { echo "ringfan: lintian found errors or warnings" >&2; exit 1; }
cp "$work"/*.deb "$changes" "$out/"
echo "ringfan: packages in $out:"
(cd "$out" && ls -1 ./*.deb)
