#!/usr/bin/env bash
# The Debian packages (scripts/deb.sh: dpkg-buildpackage, lintian without
# errors or warnings), unpacked: the program runs and has the project's
# version, the unit runs the packaged binary on the packaged config path,
# the maintainer scripts create the user and the queue directory, and
# examples/consumer.c builds with pkg-config against libringfan-dev and
# loads libringfan0's library. It takes 45 to 95 s on a 2-core machine, too
# long for every test run: it runs when asked, RINGFAN_DEB_TEST=1 (e.g.
# RINGFAN_DEB_TEST=1 SYSTEM_TESTS=deb_package scripts/run-tests.sh), and
# only in the plain pass (the packages do not use the build under test).
. "$(dirname "$0")/lib.sh"
[ "${RINGFAN_DEB_TEST:-0}" == 1 ] ||
	skip "builds the Debian packages (about a minute): run with RINGFAN_DEB_TEST=1"
sanitize=$(build_sanitize)
[ "$sanitize" == none ] || skip "packages do not depend on the $sanitize build: run in the plain pass"
need_cmd dpkg-buildpackage dh lintian dpkg-deb pkg-config cc git systemd-sysusers

version=$(meson introspect --projectinfo "$BUILD" | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')
"$TOP/scripts/deb.sh" "$TMP/deb" >"$TMP/deb.log" 2>&1 || fail "scripts/deb.sh: $(tail -20 "$TMP/deb.log")"
info "built: $(cd "$TMP/deb" && echo ./*.deb)"
root=$TMP/root
for p in ringfan libringfan0 libringfan-dev; do
	deb=$TMP/deb/${p}_${version}_$(dpkg --print-architecture).deb
	[ -f "$deb" ] || fail "no package $deb (version $version)"
	dpkg-deb -x "$deb" "$root" || fail "cannot unpack $deb"
done

check_eq "$("$root/usr/bin/ringfan" --version)" "ringfan $version" "packaged ringfan --version"
unit=$root/lib/systemd/system/ringfan@.service
[ -f "$unit" ] || fail "no unit in the ringfan package"
check_eq "$(sed -n 's/^ExecStart=//p' "$unit")" "/usr/bin/ringfan balance /etc/ringfan/cluster-%i.conf" \
	"packaged unit's ExecStart"
check_eq "$(awk '$1 == "d" { print $2, $3, $4, $5 }' "$root/usr/lib/tmpfiles.d/ringfan.conf")" \
	"/dev/shm/ringfan 0755 root root" "packaged tmpfiles.d entry"
[ -f "$root/usr/share/doc/ringfan/examples/cluster.conf.example" ] || fail "no example config"
[ -f "$root/usr/share/man/man1/ringfan-balance.1.gz" ] || fail "no man page ringfan-balance(1)"
[ -f "$root/usr/share/man/man3/libringfan.3.gz" ] || fail "no man page libringfan(3)"

# The maintainer script creates the user (sysusers) and the queue directory (tmpfiles).
dpkg-deb -e "$TMP/deb/ringfan_${version}_$(dpkg --print-architecture).deb" "$TMP/ctl"
grep -q 'systemd-sysusers .*ringfan.conf' "$TMP/ctl/postinst" || fail "postinst creates no user"
grep -q 'systemd-tmpfiles .*--create ringfan.conf' "$TMP/ctl/postinst" ||
	fail "postinst creates no queue directory"
mkdir -p "$TMP/acct/etc"
cp /etc/passwd /etc/group /etc/shadow /etc/gshadow "$TMP/acct/etc/"
systemd-sysusers --root="$TMP/acct" "$root/usr/lib/sysusers.d/ringfan.conf" >/dev/null ||
	fail "systemd-sysusers rejects the packaged entry"
grep -q '^ringfan:' "$TMP/acct/etc/passwd" || fail "the packaged sysusers.d entry creates no user ringfan"

# libringfan-dev: pkg-config and the header, as after installing it.
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$root/usr/lib/$multiarch/pkgconfig
check_eq "$(pkg-config --modversion libringfan)" "$version" "libringfan.pc version"
# shellcheck disable=SC2046
cc -o "$TMP/consumer" "$TOP/examples/consumer.c" $(pkg-config --cflags --libs libringfan) ||
	fail "cannot build examples/consumer.c against libringfan-dev"
LD_LIBRARY_PATH=$root/usr/lib/$multiarch ldd "$TMP/consumer" >"$TMP/ldd.out"
grep -q "libringfan.so.0 => $root/" "$TMP/ldd.out" || fail "consumer does not load libringfan0's library"
expect_fail 1 "cannot open queue 5@0: No such file or directory" \
	env LD_LIBRARY_PATH="$root/usr/lib/$multiarch" "$TMP/consumer" 5@0
