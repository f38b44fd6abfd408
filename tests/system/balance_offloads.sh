#!/usr/bin/env bash
# Receive offloads on a capture interface: with GRO on, the kernel merges
# packets into up to 64 KiB before a capture sees them. The balancer warns
# at start, naming the interface and the option, and leaves the interface
# alone; with --disable-offloads it turns GRO off and says so (ethtool is
# the oracle); with GRO off it says nothing. TSO (on by default on a veth)
# matters only when outgoing packets are captured (-X): then it is reported
# and turned off the same way.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd ip ethtool

ns=$(mk_netns gro)
_netns+=("$ns") # mk_netns ran in a subshell: let cleanup know the namespace
nsx() { ip netns exec "$ns" "$@"; }
ip -n "$ns" link add cap0 type veth peer name peer0
ip -n "$ns" link set cap0 up
ip -n "$ns" link set peer0 up
feature() { nsx ethtool -k cap0 | awk -F': ' -v f="$1" '$1 == f { print $2 }'; }
gro() { feature generic-receive-offload; }
nsx ethtool -K cap0 gro on || skip "cannot turn GRO on on a veth"
check_eq "$(gro)" on "GRO on cap0 before the start"

start() { # cluster options...: run a balancer on cap0 until it runs, then stop it
	local c=$1 b
	shift
	ip netns exec "$ns" "$RINGFAN" balance -i afpacket:cap0 -c "$c" -n 1 "$@" 2>"$TMP/bal.$c.err" &
	b=$!
	bg_pid $b
	wait_until 10 stat_is "$c" state running
	kill -TERM $b
	wait $b || fail "balancer exited $?: $(cat "$TMP/bal.$c.err")"
}

start 70
grep -q "warning: source afpacket:cap0: interface cap0 has GRO on.*--disable-offloads" "$TMP/bal.70.err" ||
	fail "no warning about GRO: $(cat "$TMP/bal.70.err")"
info "ok: $(grep -m1 "has GRO on" "$TMP/bal.70.err" | cut -c1-110)..."
check_eq "$(gro)" on "GRO on cap0 after a run without --disable-offloads"

start 71 --disable-offloads
grep -q "source afpacket:cap0: turned GRO off on interface cap0" "$TMP/bal.71.err" ||
	fail "--disable-offloads did not say it turned GRO off: $(cat "$TMP/bal.71.err")"
! grep -q "has GRO on" "$TMP/bal.71.err" || fail "--disable-offloads still warned"
check_eq "$(gro)" off "GRO on cap0 after --disable-offloads"

check_eq "$(feature tcp-segmentation-offload)" on "TSO on cap0"
start 72
! grep -q "warning" "$TMP/bal.72.err" || fail "warned although GRO is off: $(cat "$TMP/bal.72.err")"
info "ok: no warning when GRO is off (and TSO does not matter without -X)"

start 73 -X
grep -q "warning: source afpacket:cap0: interface cap0 has TSO on" "$TMP/bal.73.err" ||
	fail "no warning about TSO with -X: $(cat "$TMP/bal.73.err")"
check_eq "$(feature tcp-segmentation-offload)" on "TSO on cap0 after a run without --disable-offloads"
start 74 -X --disable-offloads
grep -q "source afpacket:cap0: turned TSO off on interface cap0" "$TMP/bal.74.err" ||
	fail "-X --disable-offloads did not say it turned TSO off: $(cat "$TMP/bal.74.err")"
check_eq "$(feature tcp-segmentation-offload)" off "TSO on cap0 after -X --disable-offloads"
echo "PASS: GRO on a capture interface is reported, and turned off when asked"
