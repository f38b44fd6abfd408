#!/usr/bin/env bash
# Staged distribution over the kernel's VXLAN: three network namespaces as
# hosts, an aggregator and two sensors on an underlay of veth links, one
# VXLAN tunnel per sensor. The aggregator splits a paced replay over the
# tunnels (-r 0:vx1 -r 1:vx2); each sensor captures its underlay, keeps the
# VXLAN packets (--filter), takes the mirrored frame out (--strip tunnel)
# and splits again over two workers (ringfan count -w) with another hash
# seed. Checked:
#  - the MTU rules at start: an interface MTU below 1500 and a path too small
#    for full-size frames are named, with what to set;
#  - the 28 MB capture and gen --all arrive complete and byte-identical on
#    the workers, and each flow (tshark's conversations) on exactly one
#    worker of one host, spread over both workers of each host;
#  - one sensor's balancer killed (-9) and restarted mid-run: its workers
#    lose exactly one stretch of what was sent to it (while nobody
#    captured), the other sensor nothing, and the workers keep running.
# The sensors capture the underlay rather than their VXLAN interface: Linux
# drops received frames with a zero or multicast source MAC (the 28 MB
# capture has 1,731 of them) without counting them.
source "$(dirname "$0")/lib.sh"
need_root
need_pcaps
need_cmd ip tshark mergecap
CHECK=(/usr/bin/python3 "$TOP/tests/system/hosts_check.py")
IN=$PCAPS/ndpi-merged-ether.pcap
[ -f "$IN" ] || skip "$IN is absent"

stat_of() { awk -F': ' -v k="$2" '$1 == k { print $2 }' "$RINGFAN_DIR/$1.stats" 2>/dev/null; }
stat_is() { [ "$(stat_of "$1" "$2")" == "$3" ]; }
stat_gt() { local v; v=$(stat_of "$1" "$2"); [ -n "$v" ] && ((v > $3)); }
sum_queues() { # cluster key: the key summed over the cluster's queues
	local q s=0
	for ((q = 0; q < $(stat_of "$1" queues); q++)); do s=$((s + $(stat_of "$1" "queue.$q.$2"))); done
	echo "$s"
}

agg=$(mk_netns agg)
sensor=("" "$(mk_netns s1)" "$(mk_netns s2)")
ip netns exec "$agg" ip link add rft-vx type vxlan id 1 dstport 4789 2>/dev/null ||
	skip "no VXLAN in this kernel"
ip -n "$agg" link del rft-vx
for ns in "$agg" "${sensor[1]}" "${sensor[2]}"; do
	# Nothing of the hosts' own but ARP on the links.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
# underlay MTU, tunnel MTU, for sensor i: 10.91.i.1 (aggregator, u$i) <-> 10.91.i.2 (sensor, u0)
links() { # underlay-mtu vxlan-mtu
	local i s
	for i in 1 2; do
		s=${sensor[$i]}
		ip -n "$agg" link del "u$i" 2>/dev/null || true
		ip -n "$agg" link add "u$i" type veth peer name u0 netns "$s"
		ip -n "$agg" link set "u$i" mtu "$1"
		ip -n "$s" link set u0 mtu "$1"
		ip -n "$agg" addr add "10.91.$i.1/24" dev "u$i"
		ip -n "$s" addr add "10.91.$i.2/24" dev u0
		ip -n "$agg" link set "u$i" up
		ip -n "$s" link set u0 up
		ip -n "$agg" link add "vx$i" type vxlan id "10$i" local "10.91.$i.1" remote "10.91.$i.2" \
			dstport 4789 dev "u$i"
		# The sensor's end only takes the tunnel's packets in (no ICMP port unreachable back).
		ip -n "$s" link add vx0 type vxlan id "10$i" local "10.91.$i.2" remote "10.91.$i.1" \
			dstport 4789 dev u0 nolearning
		ip -n "$agg" link set "vx$i" mtu "$2"
		ip -n "$agg" link set "vx$i" up
		ip -n "$s" link set vx0 up
	done
}
in_agg() { ip netns exec "$agg" "$@"; }

# --- MTU rules: said at start ---
links 1500 1450
rc=0
in_agg "$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" -c 9 -n 2 -r 0:vx1 -r 1:vx2 2>"$TMP/mtu1.err" || rc=$?
check_eq "$rc" 1 "exit status of a replay whose full-size frames do not fit the tunnel"
grep -q "egress of queue 0 to 'vx1': MTU 1450: frames longer than 1464 bytes (1468 with a VLAN tag) are not sent and are counted as failed; a 1500-byte network's frames need 'ip link set vx1 mtu 1500' and a path MTU of 1550" \
	"$TMP/mtu1.err" || fail "no word of the small tunnel MTU: $(cat "$TMP/mtu1.err")"
ip -n "$agg" link set u1 mtu 9000
ip -n "$agg" link set vx1 mtu 1500
ip -n "$agg" link set u1 mtu 1500
in_agg "$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" -c 9 -n 2 -r 0:vx1 -r 1:vx2 2>"$TMP/mtu2.err" || true
grep -q "egress of queue 0 to 'vx1': the path is too small: VXLAN to 10.91.1.2 adds 50 bytes, so frames of up to 1514 bytes (MTU 1500) need a path MTU of 1550, and the route to 10.91.1.2 via u1 has 1500.* raise the path's MTU to 1550 .*, or lower vx1's MTU to 1450" \
	"$TMP/mtu2.err" || fail "no word of the path too small: $(cat "$TMP/mtu2.err")"
info "ok: tunnel and path MTUs too small for full-size frames are named at start"

# Jumbo links: the 28 MB capture has frames of up to 37,506 bytes.
ip -n "$agg" link del vx1
ip -n "$agg" link del vx2
for i in 1 2; do ip -n "${sensor[$i]}" link del vx0; done
links 65000 64000
grep -q "path MTU 65000: frames of up to 64014 bytes fit" \
	<(in_agg "$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" -c 9 -n 2 -r 0:vx1 -r 1:vx2 2>&1) ||
	fail "no word of a path that fits"

# sensor_start I CLUSTER: the sensor's balancer, splitting what comes through the tunnel.
declare -A bal=()
sensor_start() {
	ip netns exec "${sensor[$1]}" "$RINGFAN" balance -i afpacket:u0 -c "$2" -n 2 -m inner-5tuple \
		--hash-seed 7 -f 'udp dst port 4789' --strip tunnel 2>>"$TMP/sensor$2.err" &
	bal[$2]=$!
	bg_pid "${bal[$2]}"
	wait_until 10 stat_is "$2" pid "${bal[$2]}"
	wait_until 10 stat_is "$2" state running
}
# workers CLUSTER PREFIX: a worker per queue, writing PREFIX.Q.pcap
declare -A worker=()
workers() {
	local q
	for q in 0 1; do
		"$RINGFAN" count -i "$1@$q" -q -w "$TMP/$2.$q.pcap" >"$TMP/$2.$q.out" 2>&1 &
		worker[$1.$q]=$!
		bg_pid $!
	done
	wait_until 10 stat_is "$1" queue.1.consumer_pid "${worker[$1.1]}"
	wait_until 10 stat_is "$1" queue.0.consumer_pid "${worker[$1.0]}"
}
# All sent to cluster C (N packets) is in its queues and read by its workers.
all_in() { [ "$(sum_queues "$1" enqueued)" == "$2" ] && [ "$(sum_queues "$1" consumer_read)" == "$2" ]; }
stop_workers() { # cluster
	kill -INT "${worker[$1.0]}" "${worker[$1.1]}"
	wait "${worker[$1.0]}" || fail "worker of $1@0 exited $?"
	wait "${worker[$1.1]}" || fail "worker of $1@1 exited $?"
}
# replay CLUSTER FILE RATE: the aggregator sends a capture over the tunnels. The frames no
# tunnel interface sends (cut short inside their IP header) fail at the egress, counted.
replay() {
	local n rc=0
	n=$("${CHECK[@]}" unsendable "$2")
	in_agg "$RINGFAN" balance -i "pcap:$2" -c "$1" -n 2 -m inner-5tuple -r 0:vx1 -r 1:vx2 \
		--rate "$3" 2>"$TMP/agg$1.err" || rc=$?
	grep -q "egress failed $n, " "$TMP/agg$1.err" || ((n == 0 && rc == 0)) ||
		fail "aggregator: $(cat "$TMP/agg$1.err")"
	info "ok: $(basename "$2"): $n frames the tunnels do not take, counted as failed"
}
sent_to() { stat_of "$1" "queue.$2.egress_sent"; } # cluster queue

# --- the 28 MB capture, then gen --all: complete, byte-identical, each flow on one worker ---
"$RINGFAN" gen -o "$TMP/all.pcap" --all --flows 500 --packets 20000 --seed 21 -q || fail "gen failed"
sensor_start 1 11
sensor_start 2 12
workers 11 w1
workers 12 w2
t0=$SECONDS
replay 20 "$IN" 100000
replay 21 "$TMP/all.pcap" 100000
info "the two replays took $((SECONDS - t0))s"
to1=$(($(sent_to 20 0) + $(sent_to 21 0)))
to2=$(($(sent_to 20 1) + $(sent_to 21 1)))
wait_until 20 all_in 11 "$to1"
wait_until 20 all_in 12 "$to2"
stop_workers 11
stop_workers 12
check_eq "$(stat_of 11 total.dropped) $(stat_of 12 total.dropped)" "0 0" "sensors' drops"
check_eq "$(stat_of 11 source.0.kernel_drops) $(stat_of 12 source.0.kernel_drops)" "0 0" \
	"sensors' kernel drops"
mergecap -a -F pcap -w "$TMP/sent.pcap" "$IN" "$TMP/all.pcap" || fail "mergecap failed"
"${CHECK[@]}" complete "$TMP/sent.pcap" "$TMP"/w1.{0,1}.pcap "$TMP"/w2.{0,1}.pcap ||
	fail "the workers did not get what was sent"
"${CHECK[@]}" flows "$TMP"/w1.{0,1}.pcap "$TMP"/w2.{0,1}.pcap || fail "a flow is split"
# The second stage spreads: every worker has a good share of its host's.
for c in 11 12; do
	n=$(sum_queues $c enqueued)
	for q in 0 1; do
		e=$(stat_of $c queue.$q.enqueued)
		((e * 4 > n)) || fail "worker $c@$q got $e of its host's $n packets"
	done
done
info "ok: sensors 11 and 12 split $to1 and $to2 frames over their workers"
kill -TERM "${bal[11]}" "${bal[12]}"
wait "${bal[11]}" "${bal[12]}" || fail "a sensor's balancer exited $?"

# --- one sensor's balancer killed and restarted mid-run ---
"$RINGFAN" gen -o "$TMP/kill.pcap" --all --frag 0 --flows 200 --packets 16000 --seed 22 -q ||
	fail "gen failed"
# What the aggregator sends to each sensor, in order (as explain says; no fragments to hold).
"$RINGFAN" explain -m inner-5tuple -n 2 --json "$TMP/kill.pcap" 2>/dev/null |
	grep -o '"frame":[0-9]*,"queue":[0-9]' | tr -c '0-9\n' ' ' >"$TMP/queues.txt"
awk '$2 == 0 && $1 > 0 { print $1 }' "$TMP/queues.txt" >"$TMP/to1.txt"
awk '$2 == 1 && $1 > 0 { print $1 }' "$TMP/queues.txt" >"$TMP/to2.txt"
sensor_start 1 31
sensor_start 2 32
workers 31 v1
workers 32 v2
replay 30 "$TMP/kill.pcap" 20000 >"$TMP/agg30.out" &
agg_pid=$!
bg_pid "$agg_pid"
# Asked of the queue itself: the stats file is a second behind.
q_gt() { local v; v=$(qinfo "$1" enqueued); [ -n "$v" ] && ((v > $2)); }
wait_until 20 q_gt 31@0 600
kill -9 "${bal[31]}"
wait "${bal[31]}" 2>/dev/null || true
sensor_start 1 31
grep -q "queue 31@0: resumed" "$TMP/sensor31.err" || fail "the restarted sensor did not resume its queues"
wait "$agg_pid" || fail "aggregator: $(cat "$TMP/agg30.out")"
wait_until 20 all_in 32 "$(sent_to 30 1)"
# Sensor 31 gets no more than what came after its restart: wait until its workers read it
# (its counters count since the restart; the backlog is the queue's own).
settled() {
	local n
	n=$(stat_of 31 source.0.received)
	sleep 0.3
	[ "$n" == "$(stat_of 31 source.0.received)" ] && [ "$(sum_queues 31 backlog_packets)" == 0 ]
}
wait_until 20 settled
for w in 31.0 31.1 32.0 32.1; do alive "${worker[$w]}" || fail "worker $w did not survive"; done
stop_workers 31
stop_workers 32
grep -q "producer of queue 31@0 is back" "$TMP/v1.0.out" ||
	fail "worker of 31@0 did not see its producer come back: $(cat "$TMP/v1.0.out")"
"${CHECK[@]}" restart "$TMP/kill.pcap" "$TMP/to1.txt" "$TMP/to2.txt" "$TMP"/v1.{0,1}.pcap \
	"$TMP"/v2.{0,1}.pcap >"$TMP/restart.txt" || fail "after the restart: $(cat "$TMP/restart.txt")"
while read -r line; do info "$line"; done <"$TMP/restart.txt"
echo "PASS"
