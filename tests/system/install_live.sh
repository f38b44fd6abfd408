#!/usr/bin/env bash
# `make install` to the live system (no DESTDIR) does what a package's
# postinst does: creates the user of the sysusers.d entry and the queue
# directory of the tmpfiles.d entry, and refreshes the linker cache so that
# a program linked with -lringfan runs. The "live system" is this machine
# seen through a private mount namespace: /usr/local and /etc are overlays
# whose writes land in the test's directory, /dev/shm a private tmpfs.
if [ -z "${RF_INSTALL_NS:-}" ]; then
	((EUID == 0)) || { echo "SKIP: needs root"; exit 77; }
	unshare --mount --propagation private true 2>/dev/null ||
		{ echo "SKIP: cannot create mount namespaces"; exit 77; }
	RF_INSTALL_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
need_cmd make meson pkg-config cc systemd-sysusers systemd-tmpfiles ldconfig

prefix=/usr/local
overlay_dir $prefix
overlay_dir /etc
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail "cannot mount a private /dev/shm"
! getent passwd ringfan >/dev/null || skip "user ringfan exists already on this machine"

make -s -C "$TOP" install BUILD="$BUILD" PREFIX=$prefix >"$TMP/install.log" 2>&1 ||
	fail "make install: $(tail -5 "$TMP/install.log")"
grep -q 'Running custom install script' "$TMP/install.log" || fail "the post-install script did not run"

getent passwd ringfan >/dev/null || fail "make install created no user ringfan"
check_eq "$(getent passwd ringfan | cut -d: -f6,7)" "/:/usr/sbin/nologin" "home and shell of ringfan"
check_eq "$(stat -c '%a %U:%G' /dev/shm/ringfan)" "755 root:root" "queue directory after make install"
ldconfig -p >"$TMP/ldconfig.out"
grep -q "libringfan.so.0 .*=> $prefix/" "$TMP/ldconfig.out" ||
	fail "the linker cache does not know libringfan.so.0"
[ -x $prefix/bin/ringfan ] || fail "no $prefix/bin/ringfan"

# A consumer linked with -lringfan runs without LD_LIBRARY_PATH.
cflags=
sanitize=$(build_sanitize)
[ "$sanitize" == none ] || cflags=-fsanitize=$sanitize
# shellcheck disable=SC2046
cc $cflags -o "$TMP/consumer" "$TOP/examples/consumer.c" $(pkg-config --cflags --libs libringfan) ||
	fail "cannot build examples/consumer.c with pkg-config libringfan"
expect_fail 1 "cannot open queue 5@0: No such file or directory" env -u LD_LIBRARY_PATH "$TMP/consumer" 5@0
# `ringfan run` finds the installed interposer in its private directory.
lib=$($prefix/bin/ringfan run --print-library) || fail "ringfan run --print-library failed"
[[ "$lib" == "$prefix/lib/"*"/ringfan/libringfan-pcap.so" ]] && [ -f "$lib" ] ||
	fail "ringfan run names '$lib', not the installed interposer"
info "ok: ringfan run preloads $lib"
