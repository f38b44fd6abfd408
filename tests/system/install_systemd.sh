#!/usr/bin/env bash
# The installed unit under a real systemd. `make install DESTDIR=...`, then
# systemd-nspawn boots this machine's /usr as a container (volatile root,
# an overlay of /etc, its own network and /dev/shm) with DESTDIR/usr/local
# on /usr/local: at boot systemd-sysusers and systemd-tmpfiles apply the
# installed entries; `systemctl start ringfan@99` runs the shipped example
# config, copied as is, on interfaces named as in it, inside the unit's
# sandbox. The balancer drops to its user with only the unit's bounding
# set, sees a read-only system, captures, re-emits queue 4 and serves a
# consumer; `systemctl stop` stops it. Then an afxdp source with the shipped
# drop-in (the container gets CAP_BPF and the bpf system call, as a host's
# systemd has them). Skips where
# systemd-nspawn is missing or cannot boot a container.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd systemd-nspawn nsenter make meson tcpreplay tcpdump capsh

# The container's processes use the compiled-in queue directory.
unset RINGFAN_DIR
prefix=/usr/local
dest=$TMP/dest
machine=rft-$$
make -s -C "$TOP" install BUILD="$BUILD" DESTDIR="$dest" PREFIX=$prefix >"$TMP/install.log" 2>&1 ||
	fail "make install: $(tail -5 "$TMP/install.log")"
conf=$dest$prefix/etc/ringfan/cluster-99.conf
cp "$dest$prefix/share/doc/ringfan/examples/cluster.conf.example" "$conf"
cmp -s "$conf" "$TOP/dist/cluster.conf.example" || fail "the installed example differs from dist/"

# Boot to a target of basic services only (not this machine's own services).
mkdir -p "$TMP/etc/systemd/system"
cat >"$TMP/etc/systemd/system/rftest.target" <<'EOF'
[Unit]
Description=ringfan test: basic system only
Requires=basic.target
After=basic.target
EOF
systemd-nspawn --quiet --register=no --keep-unit --console=read-only --machine=$machine -D / \
	--capability=CAP_BPF --system-call-filter=bpf \
	--volatile=yes --private-network --overlay="/etc:$TMP/etc:/etc" \
	--bind-ro="$dest$prefix:$prefix" -b systemd.unit=rftest.target >"$TMP/boot.log" 2>&1 &
nspawn=$!
init=
container_cleanup() {
	# Killing the container's init ends every process inside it.
	[ -z "$init" ] || kill -9 "$init" 2>/dev/null || true
	kill "$nspawn" 2>/dev/null || true
	wait "$nspawn" 2>/dev/null || true
	rm -rf "/run/systemd/nspawn/propagate/$machine"
	cleanup
}
trap container_cleanup EXIT
# Its init (found, or nspawn gave up).
find_init() { init=$(pgrep -P $nspawn -x systemd) || ! kill -0 $nspawn 2>/dev/null; }
wait_until 20 find_init
[ -n "$init" ] || skip "systemd-nspawn cannot boot a container here: $(tail -3 "$TMP/boot.log")"
in_ct() { nsenter -t "$init" -a "$@"; }
booted() { in_ct systemctl is-system-running 2>/dev/null | grep -qE '^(running|degraded)$'; }
end=$((SECONDS + 30))
until booted; do
	((SECONDS < end)) || skip "the container did not boot in 30 s: $(tail -3 "$TMP/boot.log")"
	sleep 0.1
done
info "container $machine booted ($(in_ct systemctl is-system-running 2>/dev/null || true))"

# sysusers.d and tmpfiles.d as applied at boot.
in_ct getent passwd ringfan >/dev/null || fail "systemd-sysusers at boot created no user ringfan"
qdir=$(awk '$1 == "d" { print $2 }' "$dest$prefix/lib/tmpfiles.d/ringfan.conf")
check_eq "$(in_ct stat -c '%a %U:%G' "$qdir")" "755 root:root" "queue directory at boot"

# The interfaces of the example, in the container's network namespace.
in_ct sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
for link in eth1:wire1 eth2:wire2 veth-ids:ids; do
	in_ct ip link add "${link%:*}" type veth peer name "${link#*:}" || skip "cannot create veth pairs"
	in_ct ip link set "${link%:*}" up
	in_ct ip link set "${link#*:}" up
done

journal() { in_ct journalctl -u ringfan@99 --no-pager -q -n 20 2>&1 || true; }
in_ct systemctl start ringfan@99 || fail "systemctl start ringfan@99: $(journal)"
stat_of() { in_ct awk -F': ' -v k="$1" '$1 == k { print $2 }' "$qdir/99.stats" 2>/dev/null || true; }
stat_is() { [ "$(stat_of "$1")" == "$2" ]; }
wait_until 10 stat_is state running
pid=$(in_ct systemctl show -P MainPID ringfan@99)
status() { in_ct awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
user=$(awk '$1 == "user" { print $2 }' "$conf")
uid=$(in_ct id -u "$user")
dropped() { [ "$(status Uid)" == "$uid" ]; }
wait_until 5 dropped
info "ok: ringfan@99 runs as $user (uid $uid)"
check_eq "$(status CapEff)" 0000000000000000 "effective capabilities after the drop"
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$dest$prefix/lib/systemd/system/ringfan@.service" |
	tr 'A-Z ' 'a-z\n' | sort | paste -sd,)
check_eq "$(capsh --decode="$(status CapBnd)" | cut -d= -f2 | tr , '\n' | sort | paste -sd,)" \
	"$unit_caps" "bounding set of the running service"
check_eq "$(status NoNewPrivs)" 1 "no new privileges"
check_eq "$(status Seccomp)" 2 "system call filter"
# The service's view of the file system: read-only but for /dev (the queues).
in_ct nsenter -t "$pid" -m touch /etc/ringfan-test 2>/dev/null && fail "the service may write /etc"
in_ct nsenter -t "$pid" -m touch "$qdir/ringfan-test" || fail "the service may not write $qdir"
in_ct rm -f "$qdir/ringfan-test"
info "ok: /etc read-only and $qdir writable in the service's namespace"

# A consumer in the queues' group; tcpdump on the egress's peer.
group=$(awk '$1 == "group" { print $2 }' "$conf")
gid=$(in_ct getent group "$group" | cut -d: -f3)
in_ct setpriv --reuid=nobody --regid=nogroup --groups="$gid" $prefix/bin/ringfan count -i 99@0 -q \
	>"$TMP/count0.out" 2>"$TMP/count0.err" &
c0=$!
attached() { [ "$(stat_of queue.0.consumer_pid)" -gt 0 ] 2>/dev/null; }
wait_until 10 attached
in_ct tcpdump -i ids -n -w /tmp/ids.pcap 2>"$TMP/tcpdump.err" &
wait_until 10 grep -q 'listening on' "$TMP/tcpdump.err"
"$dest$prefix/bin/ringfan" gen -o "$TMP/in.pcap" --flows 20 --packets 400 --seed 5 -q ||
	fail "ringfan gen failed"
for w in wire1 wire2; do
	nsenter -t "$init" -n tcpreplay -q -i $w "$TMP/in.pcap" >"$TMP/replay.log" 2>&1 ||
		fail "tcpreplay on $w failed: $(cat "$TMP/replay.log")"
done
n=800
wait_until 10 stat_is total.received $n
drained() { [ "$(stat_of queue.0.consumer_read)" == "$(stat_of queue.0.enqueued)" ]; }
wait_until 10 drained
in_ct pkill -TERM -f "ringfan count -i 99@0"
wait $c0 || fail "ringfan count 99@0 exited $? on SIGTERM"
in_ct systemctl stop ringfan@99 || fail "systemctl stop ringfan@99: $(journal)"
check_eq "$(stat_of state)" stopped "state after systemctl stop"
grep -qF "[$(stat_of queue.0.enqueued) pkts rcvd][0 pkts dropped]" "$TMP/count0.out" ||
	fail "ringfan count 99@0 did not count $(stat_of queue.0.enqueued): $(cat "$TMP/count0.out")"
info "ok: ringfan count 99@0: $(grep 'Absolute Stats' "$TMP/count0.out")"
check_eq "$(stat_of queue.4.enqueued)" $n "packets enqueued for queue 4"
in_ct pkill -INT -x tcpdump
wait_until 10 grep -q 'packets captured' "$TMP/tcpdump.err"
check_eq "$(in_ct tcpdump -r /tmp/ids.pcap 2>/dev/null | wc -l)" $n "packets re-emitted on veth-ids"

# An afxdp source under the unit: refused without the shipped drop-in
# (examples/afxdp.conf); with it, it captures; killed, it leaves no XDP
# program on the interface, and systemd's restart captures again.
# 2 MiB of frame memory: the container's systemd may not lock more (its own
# RLIMIT_MEMLOCK; a host's PID 1 raises it to the unit's LimitMEMLOCK=infinity).
printf 'interface afxdp:eth1\ndisable-offloads\ncapture-ring-size 2M\ncluster 98\nqueues 1\nuser ringfan\n' \
	>"$dest$prefix/etc/ringfan/cluster-98.conf"
journal98() { in_ct journalctl -u ringfan@98 --no-pager -q -n 20 2>&1 || true; }
stat98() { in_ct awk -F': ' -v k="$1" '$1 == k { print $2 }' "$qdir/98.stats" 2>/dev/null || true; }
stat98_is() { [ "$(stat98 "$1")" == "$2" ]; }
xdp_on_eth1() { in_ct ip link show eth1 | grep -q 'prog/xdp'; }
# Without the drop-in, the unit's sandbox refuses the BPF system call.
in_ct systemctl start ringfan@98
refused() { journal98 | grep -q "cannot capture on interface 'eth1' with afxdp:eth1: permission denied"; }
wait_until 10 refused
in_ct systemctl stop ringfan@98
info "ok: without the drop-in: $(journal98 | grep -m1 -o 'cannot capture.*')"
in_ct mkdir -p /etc/systemd/system/ringfan@98.service.d
in_ct cp $prefix/share/doc/ringfan/examples/afxdp.conf /etc/systemd/system/ringfan@98.service.d/
in_ct systemctl daemon-reload
in_ct systemctl start ringfan@98 || fail "systemctl start ringfan@98: $(journal98)"
wait_until 10 stat98_is state running
xdp_on_eth1 || fail "no XDP program on eth1: $(journal98)"
nsenter -t "$init" -n tcpreplay -q -i wire1 "$TMP/in.pcap" >"$TMP/replay.log" 2>&1 ||
	fail "tcpreplay on wire1 failed: $(cat "$TMP/replay.log")"
wait_until 10 stat98_is total.received 400
info "ok: ringfan@98 captured 400 packets with afxdp:eth1 under the unit's sandbox"
pid98=$(in_ct systemctl show -P MainPID ringfan@98)
in_ct systemctl kill -s KILL ringfan@98
# RestartSec=2: the program is gone before systemd starts the next balancer.
gone98() { ! xdp_on_eth1 && ! in_ct kill -0 "$pid98" 2>/dev/null; }
wait_until 2 gone98
info "ok: killed, ringfan@98 left no XDP program on eth1"
restarted() { [ "$(in_ct systemctl show -P MainPID ringfan@98)" -gt 0 ] && stat98_is state running && xdp_on_eth1; }
wait_until 10 restarted
in_ct systemctl stop ringfan@98 || fail "systemctl stop ringfan@98: $(journal98)"
xdp_on_eth1 && fail "an XDP program is left on eth1 after systemctl stop"
info "ok: restarted by systemd, it captured again; stopped, it left nothing"
