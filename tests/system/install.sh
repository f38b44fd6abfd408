#!/usr/bin/env bash
# `make install DESTDIR=...`, then the installed tree run as a live system
# would run it. In a private mount and network namespace, DESTDIR/usr/local
# is mounted on /usr/local; the installed sysusers.d entry creates its user
# (in an overlay of /etc) and the tmpfiles.d entry the queue
# directory (on a private /dev/shm). The unit passes `systemd-analyze verify`
# and `security`; the shipped example config, copied as is, is run by the
# unit's ExecStart line with only the unit's capabilities, on interfaces
# named as in the example: it captures, drops to its user, re-emits queue 4,
# and consumers attach: `ringfan count`, and examples/consumer.c built with
# pkg-config against the installed library and against the build tree.
if [ -z "${RF_INSTALL_NS:-}" ]; then
	((EUID == 0)) || { echo "SKIP: needs root"; exit 77; }
	unshare --mount --net --propagation private true 2>/dev/null ||
		{ echo "SKIP: cannot create mount and network namespaces"; exit 77; }
	RF_INSTALL_NS=1 exec unshare --mount --net --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
need_cmd make meson pkg-config cc setpriv tcpreplay tcpdump systemd-analyze systemd-sysusers \
	systemd-tmpfiles ldconfig

prefix=/usr/local
dest=$TMP/dest
version=$(meson introspect --projectinfo "$BUILD" | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')
[ -n "$version" ] || fail "no project version from meson introspect"

# --- make install into a DESTDIR ---
make -s -C "$TOP" install BUILD="$BUILD" DESTDIR="$dest" PREFIX=$prefix >"$TMP/install.log" 2>&1 ||
	fail "make install: $(tail -5 "$TMP/install.log")"
grep -q 'Skipping custom install script because DESTDIR is set' "$TMP/install.log" ||
	fail "the post-install script ran for a DESTDIR install"
libdir=
for d in "$dest$prefix"/lib/*/pkgconfig "$dest$prefix"/lib/pkgconfig; do
	[ -e "$d/libringfan.pc" ] && libdir=${d#"$dest$prefix"/} && libdir=${libdir%/pkgconfig} && break
done
[ -n "$libdir" ] || fail "libringfan.pc is not installed under $prefix/lib"
for f in bin/ringfan include/ringfan/ringfan.h "$libdir/libringfan.so.0" \
	"$libdir/libringfan.so" "$libdir/pkgconfig/libringfan.pc" lib/systemd/system/ringfan@.service \
	lib/sysusers.d/ringfan.conf lib/tmpfiles.d/ringfan.conf \
	share/doc/ringfan/examples/cluster.conf.example share/doc/ringfan/examples/afxdp.conf \
	share/man/man1/ringfan.1 share/man/man1/ringfan-balance.1 share/man/man3/libringfan.3; do
	[ -e "$dest$prefix/$f" ] || fail "not installed: $prefix/$f"
done
[ -d "$dest$prefix/etc/ringfan" ] || fail "not installed: $prefix/etc/ringfan/"
info "ok: installed into $dest$prefix"

# --- the installed tree in place, as on a live system ---
mount --bind "$dest$prefix" $prefix || fail "cannot mount the installed tree on $prefix"
check_eq "$($prefix/bin/ringfan --version)" "ringfan $version" "installed ringfan --version"
unit=$prefix/lib/systemd/system/ringfan@.service
# The user and the linker cache go to an overlay of /etc, not the machine's.
overlay_dir /etc
systemd-sysusers $prefix/lib/sysusers.d/ringfan.conf || fail "systemd-sysusers rejected the sysusers.d entry"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm || fail "cannot mount a private /dev/shm"
systemd-tmpfiles --create $prefix/lib/tmpfiles.d/ringfan.conf ||
	fail "systemd-tmpfiles rejected the tmpfiles.d entry"
qdir=$(awk '$1 == "d" { print $2 }' $prefix/lib/tmpfiles.d/ringfan.conf)
check_eq "$(stat -c '%a %U:%G' "$qdir")" "755 root:root" "queue directory $qdir from tmpfiles.d"
# Everything below uses the compiled-in default: this private /dev/shm's.
unset RINGFAN_DIR
# The libraries' cache, as ldconfig after an install writes it.
ldconfig || fail "cannot refresh the linker cache"

# --- the unit ---
man=no
command -v man >/dev/null && man=yes
systemd-analyze verify --man=$man "$unit:ringfan@99.service" >"$TMP/verify.log" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$TMP/verify.log")"
info "ok: systemd-analyze verify --man=$man"
# Exposure 3.5 or less (it was 9.7 before the sandbox): a looser unit fails.
systemd-analyze security --offline=true --threshold=35 "$unit:ringfan@99.service" \
	>"$TMP/security.log" 2>&1 || fail "systemd-analyze security: $(tail -3 "$TMP/security.log")"
info "ok: $(grep -o 'Overall exposure level.*' "$TMP/security.log")"
unit_key() { sed -n "s/^$1=//p" "$unit" | tail -1; }
exec_start=$(unit_key ExecStart)
exec_start=${exec_start//%i/99}
config=$(awk '{ print $NF }' <<<"$exec_start")
check_eq "$exec_start" "$prefix/bin/ringfan balance $prefix/etc/ringfan/cluster-99.conf" "ExecStart"
[ -z "$(unit_key User)" ] || fail "the unit sets User=; this test runs it as root"
caps=$(unit_key CapabilityBoundingSet)
[ -n "$caps" ] || fail "the unit keeps every capability (no CapabilityBoundingSet=)"
[ -z "$(unit_key AmbientCapabilities)" ] || fail "AmbientCapabilities= is meaningless for a root service"
setpriv_caps() { # "CAP_A CAP_B" -> "-all,+a,+b"
	local c out=-all
	for c in $1; do
		c=${c#CAP_}
		out+=",+${c,,}"
	done
	echo "$out"
}
# Run the unit's ExecStart line with the unit's bounding set, umask and no
# new privileges (the rest of the sandbox needs systemd as PID 1).
umask_unit=$(unit_key UMask)
as_unit() { # bounding set, then the command; run it in a subshell (&, $(...))
	local bset=$1
	shift
	umask "${umask_unit:-0022}"
	exec setpriv --bounding-set "$bset" --inh-caps -all --no-new-privs "$@"
}

# --- the example, as shipped, on interfaces named as in it ---
cp $prefix/share/doc/ringfan/examples/cluster.conf.example "$config"
cmp -s "$config" "$TOP/dist/cluster.conf.example" || fail "the installed example differs from dist/"
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link set lo up
for link in eth1:wire1 eth2:wire2 veth-ids:ids; do
	ip link add "${link%:*}" type veth peer name "${link#*:}" || skip "cannot create veth pairs"
	ip link set "${link%:*}" up
	ip link set "${link#*:}" up
done

# Without a capability of the unit the balancer fails: the bounding set binds.
expect_fail 1 "needs CAP_NET_RAW" as_unit "$(setpriv_caps "${caps/CAP_NET_RAW/}")" $exec_start

tcpdump -i ids -n -w "$TMP/ids.pcap" 2>"$TMP/tcpdump.err" &
td=$!
bg_pid $td
wait_until 10 grep -q 'listening on' "$TMP/tcpdump.err"
as_unit "$(setpriv_caps "$caps")" $exec_start 2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
stat_of() { awk -F': ' -v k="$1" '$1 == k { print $2 }' "$qdir/99.stats" 2>/dev/null || true; }
stat_is() { [ "$(stat_of "$1")" == "$2" ]; }
user=$(awk '$1 == "user" { print $2 }' "$config")
uid_is() { [ "$(awk '$1 == "Uid:" { print $2 }' "/proc/$bal/status")" == "$1" ]; }
wait_until 10 stat_is state running
wait_until 5 uid_is "$(id -u "$user")"
check_eq "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$bal/status")" \
	"$(id -u "$user") $(id -u "$user") $(id -u "$user") $(id -u "$user")" "balancer uids after 'user $user'"
check_eq "$(awk '$1 == "CapEff:" { print $2 }' "/proc/$bal/status")" 0000000000000000 \
	"balancer capabilities after the drop"
group=$(awk '$1 == "group" { print $2 }' "$config")
for q in 0 1 2 3; do
	check_eq "$(stat -c '%U:%G %a' "$qdir/99@$q.ring")" "root:$group 640" "owner and mode of 99@$q"
done

# Consumers: a member of the queues' group, not otherwise privileged.
mkdir -p "$TMP/pub" && chmod 0711 "$TMP" && chmod 0755 "$TMP/pub"
as_member() { # run it with &: its pid is the command's
	exec setpriv --reuid=nobody --regid=nogroup --groups="$(getent group "$group" | cut -d: -f3)" "$@"
}
# examples/consumer.c against the installed library, found by pkg-config
# (with the library's sanitizers, if it has any).
cflags=
sanitize=$(build_sanitize)
[ "$sanitize" == none ] || cflags=-fsanitize=$sanitize
# shellcheck disable=SC2046
cc $cflags -o "$TMP/pub/consumer" "$TOP/examples/consumer.c" $(pkg-config --cflags --libs libringfan) ||
	fail "cannot build examples/consumer.c with pkg-config libringfan"
ldd "$TMP/pub/consumer" >"$TMP/ldd.out" || fail "ldd consumer failed"
grep -q "libringfan.so.0 => $prefix/$libdir/libringfan.so.0" "$TMP/ldd.out" ||
	fail "consumer does not load the installed library: $(cat "$TMP/ldd.out")"
# ... and against the build tree, as README says: built in meson devenv, run
# with LD_LIBRARY_PATH.
# shellcheck disable=SC2016
meson devenv -C "$BUILD" sh -c 'cc $3 -o "$0" "$1" $(pkg-config --cflags --libs libringfan) &&
	ldd "$0" | grep -q "libringfan.so.0 => $2/lib/libringfan.so.0"' \
	"$TMP/consumer-uninstalled" "$TOP/examples/consumer.c" "$(cd "$BUILD" && pwd -P)" "$cflags" ||
	fail "cannot build examples/consumer.c against the build tree with meson devenv"
as_member $prefix/bin/ringfan count -i 99@0 -q >"$TMP/count0.out" 2>"$TMP/count0.err" &
c0=$!
bg_pid $c0
as_member "$TMP/pub/consumer" -c 99@1 >"$TMP/cons1.out" 2>"$TMP/cons1.err" &
c1=$!
bg_pid $c1
LD_LIBRARY_PATH=$BUILD/lib "$TMP/consumer-uninstalled" -c 99@2 >"$TMP/cons2.out" 2>"$TMP/cons2.err" &
c2=$!
bg_pid $c2
attached() { [ "$(stat_of "queue.$1.consumer_pid")" -gt 0 ] 2>/dev/null; }
wait_until 10 attached 0
wait_until 10 attached 1
wait_until 10 attached 2
info "ok: consumers of 99@0, 99@1, 99@2 attached as nobody in group $group"

# Traffic into both sources (the wires to eth1 and eth2).
$prefix/bin/ringfan gen -o "$TMP/in.pcap" --flows 20 --packets 400 --seed 5 -q ||
	fail "ringfan gen failed"
for w in wire1 wire2; do
	tcpreplay -q -i $w "$TMP/in.pcap" >"$TMP/replay.log" 2>&1 ||
		fail "tcpreplay on $w failed: $(cat "$TMP/replay.log")"
done
n=800
wait_until 10 stat_is total.received $n
# Each consumer has read its queue (the stats file shows it within a second);
# SIGTERM ends it with its totals.
drained() { [ "$(stat_of "queue.$1.consumer_read")" == "$(stat_of "queue.$1.enqueued")" ]; }
for q in 0 1 2; do
	wait_until 10 drained $q
done
for c in $c0 $c1 $c2; do
	kill -TERM $c
	wait $c || fail "consumer $c exited $? on SIGTERM"
done
kill -TERM $bal
wait $bal || fail "balancer exited $? on SIGTERM: $(cat "$TMP/bal.err")"
check_eq "$(stat_of state)" stopped "state after SIGTERM"
sum=0
for q in 0 1 2 3; do
	sum=$((sum + $(stat_of "queue.$q.enqueued")))
done
check_eq "$sum" $n "packets enqueued for the Zeek group (queues 0-3)"
check_eq "$(stat_of queue.4.enqueued)" $n "packets enqueued for Suricata (queue 4)"
check_eq "$(grep -o 'packets=[0-9]*' "$TMP/cons1.out")" "packets=$(stat_of queue.1.enqueued)" \
	"installed-library consumer of 99@1"
check_eq "$(grep -o 'packets=[0-9]*' "$TMP/cons2.out")" "packets=$(stat_of queue.2.enqueued)" \
	"build-tree consumer of 99@2"
grep -qF "[$(stat_of queue.0.enqueued) pkts rcvd][0 pkts dropped]" "$TMP/count0.out" ||
	fail "ringfan count 99@0 did not count $(stat_of queue.0.enqueued): $(cat "$TMP/count0.out")"
info "ok: ringfan count 99@0: $(grep 'Absolute Stats' "$TMP/count0.out")"
kill -INT $td
wait $td || fail "tcpdump exited $?"
check_eq "$(tcpdump -r "$TMP/ids.pcap" 2>/dev/null | wc -l)" $n "packets re-emitted on veth-ids"
