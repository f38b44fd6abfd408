#!/usr/bin/env bash
# Fault: the capture interface is deleted and created again during live
# capture (a new ifindex: the old socket can never see it again).
# `ringfan balance -i afpacket:frx0` in a network namespace, tcpreplay sends
# captures into the peer of a veth pair, `ringfan count` consumers read the
# queues. The veth pair is deleted, then created again with the same names:
# the balancer says the interface is gone and is back, the stats file shows
# source.0.state gone / running (and down / running when it is only set
# down), and the packets sent after it came back are captured and
# delivered; nothing else is lost.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd tcpreplay ip
. "$(dirname "$0")/fault-helpers.bash"

c=77
n=2
ns=$(mk_netns gone)
nsx() { ip netns exec "$ns" "$@"; }
# No IPv6: the kernel must add no packets of its own (router solicitations, MLD).
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
mk_veth() {
	ip -n "$ns" link add ftx0 type veth peer name frx0
	ip -n "$ns" link set ftx0 up
	ip -n "$ns" link set frx0 up
}
mk_veth
idx0=$(nsx cat /sys/class/net/frx0/ifindex)

part=1000
two_captures $part 50 771 $n
live_balancer "$ns" frx0 $c $n
logged() { grep -q "source afpacket:frx0: interface frx0 $1" "$TMP/bal.log"; }
replay() { nsx tcpreplay -q -i ftx0 --pps 5000 "$1" >"$TMP/replay.log" 2>&1 || fail "tcpreplay: $(cat "$TMP/replay.log")"; }

replay "$TMP/a.pcap"
wait_until 10 total_is $c $n $part
check_eq "$(stat_of $c source.0.state)" running "source state before the fault"

ip -n "$ns" link del ftx0 # deletes its peer frx0 too
wait_until 10 logged "is gone"
wait_until 5 stat_is $c source.0.state gone
info "ok: the balancer said: $(grep -m1 "frx0 is gone" "$TMP/bal.log")"
alive $bal || fail "the balancer exited when its interface was deleted: $(cat "$TMP/bal.err")"

mk_veth
idx1=$(nsx cat /sys/class/net/frx0/ifindex)
[ "$idx1" != "$idx0" ] || fail "the new frx0 has the old ifindex $idx0: nothing to test"
wait_until 10 logged "is back; capturing again"
wait_until 5 stat_is $c source.0.state running
info "ok: frx0 is back with ifindex $idx1 (was $idx0): $(grep -m1 "frx0 is back" "$TMP/bal.log")"
replay "$TMP/b.pcap"
wait_until 10 total_is $c $n $((2 * part))
info "ok: after the interface came back: $part more packets captured and delivered"

# Down and up (the same interface): the state says so, the capture goes on by itself.
ip -n "$ns" link set frx0 down
wait_until 10 stat_is $c source.0.state down
ip -n "$ns" link set frx0 up
wait_until 10 stat_is $c source.0.state running
logged "is down" || fail "no 'is down' line in the log"
logged "is up again" || fail "no 'is up again' line in the log"
alive $bal || fail "the balancer died: $(cat "$TMP/bal.err")"
for w in "is gone" "is back; capturing again" "is down" "is up again"; do
	check_eq "$(grep -c "interface frx0 $w" "$TMP/bal.log")" 1 "log lines 'frx0 $w'"
done

kill -TERM $bal
wait_ok $bal "ringfan balance (SIGTERM)"
for ((q = 0; q < n; q++)); do
	wait_ok "${cons[$q]}" "ringfan count on $c@$q"
	DELIVERED[$q]=$(json_last "$TMP/count.$c.$q.1.json" packets)
done
print_figures $c $n
check_eq "$(stat_of $c source.0.received)" $((2 * part)) "packets captured on afpacket:frx0"
check_eq "$(stat_of $c source.0.kernel_drops)" 0 "kernel drops"
check_invariant $c
for ((q = 0; q < n; q++)); do
	check_eq "$(stat_of $c queue.$q.dropped)" 0 "drops on $c@$q"
	check_eq "$(stat_of $c queue.$q.enqueued)" "${EXPECTED[$q]}" "packets enqueued on $c@$q"
	check_eq "${DELIVERED[$q]}" "${EXPECTED[$q]}" "packets delivered from $c@$q"
done
echo "PASS: capture resumed on the re-created interface; its state was reported"
