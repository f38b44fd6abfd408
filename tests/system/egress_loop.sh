#!/usr/bin/env bash
# An egress that would feed the balancer its own output is refused at
# start, naming both interfaces: -r Q:IFACE where IFACE is an interface
# source, or the veth peer of one (what it sends, the source receives: a
# packet storm). A veth whose peer lives in another network namespace
# cannot loop back, and is accepted even when that peer's ifindex there
# equals a source's ifindex here. Nothing of the cluster is left behind.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip

ns=$(mk_netns loop)
other=$(mk_netns loop2)
_netns+=("$ns" "$other") # mk_netns ran in a subshell: let cleanup know the namespaces
nsx() { ip netns exec "$ns" "$@"; }
ip -n "$ns" link add src0 type veth peer name src0p
ip -n "$ns" link add src1 type veth peer name src1p
# out0 goes to the other namespace with ifindex 77; tap0 here gets ifindex 77 too.
ip -n "$ns" link add out0 index 77 type veth peer name out0p
ip -n "$ns" link set out0 netns "$other"
ip -n "$ns" link add tap0 index 77 type veth peer name tap0p
check_eq "$(ip -n "$other" -o link show out0 | cut -d: -f1)" 77 "ifindex of out0 in the other namespace"
check_eq "$(nsx cat /sys/class/net/out0p/iflink)" 77 "iflink of out0p (its peer's ifindex, elsewhere)"
for i in src0 src0p src1 src1p tap0 tap0p out0p; do ip -n "$ns" link set "$i" up; done
ip -n "$other" link set out0 up

check_clean() {
	local left
	left=$(queue_dir_files)
	[ -z "$left" ] || fail "files left behind after a refused start: $left"
}
loop() { # pattern balance options...
	local pat=$1
	shift
	expect_fail 1 "$pat" timeout 10 ip netns exec "$ns" "$RINGFAN" balance -c 60 -n 2 "$@"
	check_clean
}
loop "egress of queue 0 to 'src0p' would loop: src0p is the peer of source 'src0'" \
	-i src0 -r 0:src0p
loop "egress of queue 1 to 'afpacket:src0' would loop: src0 is the peer of source 'src0p'" \
	-i afpacket:src0p -r 1:afpacket:src0
loop "egress of queue 0 to 'src1' would loop: 'src1' is source 'src1'" -i src0,src1 -r 0:src1
loop "egress of queue 1 to 'src1p' would loop: src1p is the peer of source 'src1'" \
	-i src0 -i src1 -r "0:pcap:$TMP/q0.pcap" -r 1:src1p
info "ok: egresses into a source or its veth peer are refused"

# The peer of out0p is out0 in the other namespace: no loop, although tap0 here is ifindex 77.
ip netns exec "$ns" "$RINGFAN" balance -i tap0 -c 61 -n 2 -r 1:out0p 2>"$TMP/bal.err" &
b=$!
bg_pid $b
queue_up() { [ -e "$RINGFAN_DIR/61@1.cons" ] && grep -q "state: running" "$RINGFAN_DIR/61.stats" 2>/dev/null; }
wait_until 10 queue_up
kill -TERM $b
wait $b || fail "balancer with an egress to a veth whose peer is elsewhere exited $?: $(cat "$TMP/bal.err")"
info "ok: an egress to a veth whose peer is in another namespace runs"
echo "PASS: egress loops are refused at start, other namespaces are not loops"
