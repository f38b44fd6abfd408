#!/usr/bin/env bash
# AF_XDP source: live capture through a veth pair with two receive queues
# (`afxdp:rx0` captures both) in native XDP mode. tcpreplay sends a
# generated capture with every encapsulation ringfan gen makes (VLAN and
# QinQ tags, MPLS, PPPoE, GRE/VXLAN/Geneve/GTP-U tunnels, fragments in and
# out of order, truncated and malformed frames) plus, when the real
# captures are there, tagged and fragmented ones, at a gentle pace into the
# peer. Three `ringfan count -w` consumers write their queues to pcap files:
# every packet arrives exactly once, byte-identical (VLAN tags included:
# XDP sees them in the frame), in the queue `ringfan explain` gives it
# (-m 5tuple: flows whole, fragments with their datagram), and the counters
# add up. The program is attached while the balancer runs and gone after
# its stop.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd tcpreplay tshark capinfos mergecap ip

c=41
n=3
ns=$(mk_netns xdp)
_netns+=("$ns")
nsx() { ip netns exec "$ns" "$@"; }
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
# Two queues each way: the peer's transmit queue (picked by flow hash) is rx0's receive queue.
ip -n "$ns" link add tx0 numtxqueues 2 numrxqueues 2 type veth peer name rx0 \
	numtxqueues 2 numrxqueues 2
# Frames up to 3,000 bytes (the real captures' largest); native XDP on veth allows ~3.5 KiB.
ip -n "$ns" link set tx0 mtu 3000 up
ip -n "$ns" link set rx0 mtu 3000 up

"$RINGFAN" gen -q -o "$TMP/gen.pcap" --all --flows 60 --packets 1500 --seed 41 ||
	fail "ringfan gen failed"
inputs=("$TMP/gen.pcap")
for f in icmp_dot1q.pcap dot1ad.pcap frag-eth-vlan-ipv6-tcp.pcap; do
	[ -f "$PCAPS/$f" ] && inputs+=("$PCAPS/$f")
done
info "inputs: ${inputs[*]##*/}"
# One capture of all inputs, one after the other: what the balancer should see, for explain.
mergecap -F pcap -a -w "$TMP/in.pcap" "${inputs[@]}" || fail "mergecap failed"
total=$(capinfos -c -M "$TMP/in.pcap" | awk '/^Number of packets/ { print $NF }')

ip netns exec "$ns" "$RINGFAN" balance -i afxdp:rx0 -c $c -n $n -m 5tuple --disable-offloads \
	--xdp-mode native 2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
wait_until 10 stat_is $c state running
grep -q "source afxdp:rx0: AF_XDP on queues 0-1, native XDP" "$TMP/bal.err" ||
	fail "no set-up line for both queues in native mode: $(cat "$TMP/bal.err")"
info "ok: $(grep -m1 'AF_XDP on' "$TMP/bal.err")"
ip -n "$ns" link show rx0 | grep -q "prog/xdp .*name xsk_def_prog" ||
	fail "no XDP program on rx0 while the balancer runs: $(ip -n "$ns" link show rx0)"

for ((q = 0; q < n; q++)); do
	"$RINGFAN" count -i "$c@$q" -q -w "$TMP/q$q.pcap" --exit-on-detach >/dev/null 2>&1 &
	bg_pid $!
	cnt[q]=$!
done
nsx tcpreplay -q -i tx0 --pps 3000 "$TMP/in.pcap" >"$TMP/replay.log" 2>&1 ||
	fail "tcpreplay: $(cat "$TMP/replay.log")"
wait_until 10 stat_is $c total.received "$total"
kill -TERM $bal
wait $bal || fail "balancer exited $? ($(cat "$TMP/bal.err"))"
for ((q = 0; q < n; q++)); do wait "${cnt[q]}" || fail "count on $c@$q failed"; done
ip -n "$ns" link show rx0 | grep -q "prog/xdp" &&
	fail "an XDP program is left on rx0 after the stop: $(ip -n "$ns" link show rx0)"
info "ok: no XDP program on rx0 after the stop"

check_eq "$(stat_of $c source.0.received)" "$total" "packets captured on afxdp:rx0"
check_eq "$(stat_of $c source.0.kernel_drops)" 0 "kernel drops at a gentle rate"
check_eq "$(stat_of $c total.dropped)" 0 "queue drops"
check_eq "$(stat_of $c group.0.received)" "$total" "group received"

# Per queue: the frames (MD5 of their bytes) that explain puts there, and those that came out.
"$RINGFAN" explain -m 5tuple -n $n --json "$TMP/in.pcap" 2>/dev/null |
	grep -o '"frame":[0-9]*,"queue":[0-9]*' | tr -c '0-9\n' ' ' | awk '{ print $1, $2 }' \
	>"$TMP/explain.txt"
tshark -o frame.generate_md5_hash:TRUE -r "$TMP/in.pcap" -T fields -e frame.number \
	-e frame.md5_hash 2>/dev/null >"$TMP/in.md5"
for ((q = 0; q < n; q++)); do
	awk -v q=$q 'NR == FNR { if ($2 == q) want[$1] = 1; next } ($1 in want) { print $2 }' \
		"$TMP/explain.txt" "$TMP/in.md5" | sort >"$TMP/want.$q"
	tshark -o frame.generate_md5_hash:TRUE -r "$TMP/q$q.pcap" -T fields -e frame.md5_hash \
		2>/dev/null | sort >"$TMP/got.$q"
	cmp -s "$TMP/want.$q" "$TMP/got.$q" ||
		fail "queue $q: not the frames explain gives it: $(diff "$TMP/want.$q" "$TMP/got.$q" | head -5)"
	info "ok: queue $q: $(wc -l <"$TMP/got.$q") frames, byte-identical, each where explain puts it"
done
want_vlan=$(tshark -r "$TMP/in.pcap" -Y vlan 2>/dev/null | wc -l)
got_vlan=0
for ((q = 0; q < n; q++)); do
	got_vlan=$((got_vlan + $(tshark -r "$TMP/q$q.pcap" -Y vlan 2>/dev/null | wc -l)))
done
((want_vlan > 0)) || fail "no VLAN-tagged frames in the input: nothing tested"
check_eq "$got_vlan" "$want_vlan" "VLAN-tagged frames delivered with their tags"
echo "PASS: AF_XDP capture on 2 queues: $total packets, byte-identical, flows whole"
