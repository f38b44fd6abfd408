#!/usr/bin/env bash
# Fault: the capture interface goes down and comes back during live capture.
# `ringfan balance -i afpacket:frx0` in a network namespace, tcpreplay sends a
# capture into the peer of a veth pair, 4 `ringfan count` consumers read the
# queues. Mid-capture the interface is set down, then up again: the
# balancer says so (naming the source), keeps running, and the packets sent
# after the interface came back are captured and delivered; the counters
# stay consistent and nothing is dropped at a gentle rate.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd tcpreplay ip
. "$(dirname "$0")/fault-helpers.bash"

c=76
n=4
ns=$(mk_netns ingress)
nsx() { ip netns exec "$ns" "$@"; }
# No IPv6: the kernel must add no packets of its own (router solicitations, MLD).
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add ftx0 type veth peer name frx0
ip -n "$ns" link set ftx0 up
ip -n "$ns" link set frx0 up

part=3000
two_captures $part 100 761 $n
live_balancer "$ns" frx0 $c $n

replay() { nsx tcpreplay -q -i ftx0 --pps 2000 "$1" >"$TMP/replay.log" 2>&1 || fail "tcpreplay: $(cat "$TMP/replay.log")"; }
replay "$TMP/a.pcap"
wait_until 10 total_is $c $n $part
info "ok: before the fault: $part packets captured and delivered"

ip -n "$ns" link set frx0 down
wait_until 10 grep -qi "afpacket:frx0.*down" "$TMP/bal.log"
info "ok: the balancer said: $(grep -i "afpacket:frx0.*down" "$TMP/bal.log" | head -1)"
# Sent while the interface is down: lost on the wire, never seen.
nsx tcpreplay -q -i ftx0 --pps 2000 -L 200 "$TMP/b.pcap" >/dev/null 2>&1 || true
sleep 1
alive $bal || fail "the balancer exited when its interface went down: $(cat "$TMP/bal.err")"
ip -n "$ns" link set frx0 up
ip -n "$ns" link set ftx0 up
sleep 0.5
replay "$TMP/b.pcap"
wait_until 10 total_is $c $n $((2 * part))
info "ok: after the interface came back: $part more packets captured and delivered"
alive $bal || fail "the balancer died: $(cat "$TMP/bal.err")"
logs=$(grep -ci "afpacket:frx0.*down" "$TMP/bal.log" || true)
info "interface-down messages in the log: $logs"
((logs <= 5)) || fail "the balancer logged the down interface $logs times"

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
sum=0
for ((q = 0; q < n; q++)); do
	check_eq "$(stat_of $c queue.$q.dropped)" 0 "drops on $c@$q"
	check_eq "$(stat_of $c queue.$q.enqueued)" "${EXPECTED[$q]}" "packets enqueued on $c@$q"
	check_eq "${DELIVERED[$q]}" "${EXPECTED[$q]}" "packets delivered from $c@$q"
	sum=$((sum + DELIVERED[$q]))
done
check_eq $sum $((2 * part)) "packets delivered over all queues"
echo "PASS: capture resumed after the interface went down and up; nothing else was lost"
