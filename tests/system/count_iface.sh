#!/usr/bin/env bash
# ringfan count on an interface: a veth pair between two namespaces, tcpreplay
# sends known captures into one end, count runs on the other. Counts, bytes
# and the -w copy (including re-inserted VLAN tags) must match the captures.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/count-helpers.bash"
need_root
need_pcaps
need_cmd tcpreplay capinfos tcpdump
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
mk_veth_pair

# Replay capture $1 while one count (extra options "${@:2}") runs on veth-rx;
# leaves the count's JSON output in $TMP/out.json and its copy in $TMP/out.pcap.
replay_and_count() {
	local pcap=$1 pid want
	shift
	want=$(pcap_packets "$pcap")
	ip netns exec "$NS_RX" "$RINGFAN" count -i veth-rx --json -w "$TMP/out.pcap" "$@" \
		>"$TMP/out.json" 2>"$TMP/out.err" &
	pid=$!
	bg_pid "$pid"
	wait_until 10 bound_at_least "$NS_RX" veth-rx 1
	ip netns exec "$NS_TX" tcpreplay -q -i veth-tx --pps 4000 "$pcap" >"$TMP/replay.log" 2>&1 ||
		fail "tcpreplay: $(cat "$TMP/replay.log")"
	wait_until 10 json_last_is "$TMP/out.json" packets "$want"
	stop_count "$pid"
	json_check "$TMP/out.json"
}

for name in test.pcap smtp.pcap; do
	pcap=$PCAPS/$name
	replay_and_count "$pcap"
	check_eq "$(json_last "$TMP/out.json" packets)" "$(pcap_packets "$pcap")" "$name: packets counted"
	check_eq "$(json_last "$TMP/out.json" bytes)" "$(pcap_bytes "$pcap")" "$name: bytes counted"
	check_eq "$(json_last "$TMP/out.json" dropped)" 0 "$name: dropped"
	# Same frames, same order (timestamps are the replay's, not the capture's).
	pcap_records "$pcap" >"$TMP/want.txt"
	pcap_records "$TMP/out.pcap" >"$TMP/got.txt"
	cmp -s "$TMP/want.txt" "$TMP/got.txt" || fail "$name: -w copy differs from the capture"
	info "ok: $name: -w copy has the capture's frames"
done

# VLAN: the kernel strips the outer tag; count must put it back (single and QinQ).
pcap=$PCAPS/vlan-collisions.pcap
replay_and_count "$pcap"
pcap_records "$pcap" >"$TMP/want.txt"
pcap_records "$TMP/out.pcap" >"$TMP/got.txt"
cmp -s "$TMP/want.txt" "$TMP/got.txt" || fail "vlan-collisions: tagged frames differ: $(diff "$TMP/want.txt" "$TMP/got.txt" | head -4 | cut -c1-120)"
info "ok: vlan-collisions: 802.1Q and QinQ frames are copied with their tags"

# -N stops by itself after that many packets, -q prints only the final summary.
ip netns exec "$NS_RX" "$RINGFAN" count -i veth-rx -N 10 -q >"$TMP/n.txt" 2>&1 &
pid=$!
bg_pid "$pid"
wait_until 10 bound_at_least "$NS_RX" veth-rx 1
ip netns exec "$NS_TX" tcpreplay -q -i veth-tx --pps 4000 "$PCAPS/test.pcap" >/dev/null 2>&1
rc=0
wait "$pid" || rc=$?
check_eq "$rc" 0 "-N 10 exit status"
check_eq "$(grep -c '^Absolute Stats' "$TMP/n.txt")" 1 "-q: one summary block"
grep -q '^Absolute Stats: \[10 pkts rcvd\]\[0 pkts dropped\]$' "$TMP/n.txt" || fail "-N 10 summary: $(cat "$TMP/n.txt")"
grep -q '^10 pkts - [0-9,]* bytes \[[0-9,.]* pkt/sec - [0-9,.]* Mbit/sec\]$' "$TMP/n.txt" || fail "summary format: $(cat "$TMP/n.txt")"
info "ok: -N 10 -q"

# -v: one line per packet with layers, addresses and ports.
ip netns exec "$NS_RX" "$RINGFAN" count -i veth-rx -v -N 5 -q >"$TMP/v.txt" 2>&1 &
pid=$!
bg_pid "$pid"
wait_until 10 bound_at_least "$NS_RX" veth-rx 1
ip netns exec "$NS_TX" tcpreplay -q -i veth-tx --pps 4000 "$PCAPS/test.pcap" >/dev/null 2>&1
wait "$pid"
grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9} eth>ipv4>tcp 172\.16\.11\.12:64565 > 74\.125\.19\.17:443 len 93$' "$TMP/v.txt" ||
	fail "-v line: $(cat "$TMP/v.txt")"
check_eq "$(grep -c ' eth>' "$TMP/v.txt")" 5 "-v lines for -N 5"

# A full ring: the kernel drops, and count reports it. count is stopped
# while a capture larger than its 16 KiB ring arrives; every packet sent
# is then either received or dropped.
pcap=$PCAPS/test.pcap
total=$(pcap_packets "$pcap")
ip netns exec "$NS_RX" "$RINGFAN" count -i veth-rx --capture-ring-size 16k -q --json >"$TMP/drop.json" 2>&1 &
pid=$!
bg_pid "$pid"
wait_until 10 bound_at_least "$NS_RX" veth-rx 1
kill -STOP "$pid"
ip netns exec "$NS_TX" tcpreplay -q -i veth-tx --pps 5000 "$pcap" >/dev/null 2>&1
kill -CONT "$pid"
sleep 0.3
stop_count "$pid"
got=$(json_last "$TMP/drop.json" packets)
dropped=$(json_last "$TMP/drop.json" dropped)
((dropped > 0)) || fail "a 16 KiB ring took $got packets without a drop"
check_eq $((got + dropped)) "$total" "received + dropped with a full ring ($got + $dropped)"

# An interface without a link header (tun): frames are raw IP; the filter is
# compiled for that, and -w writes a raw-IP capture.
[ -c /dev/net/tun ] || skip "needs /dev/net/tun"
pcap=$PCAPS/four_ipv6_http_streams.pcap
total=$(pcap_packets "$pcap")
ip -n "$NS_RX" tuntap add mode tun name tun-rx || skip "cannot create a tun device"
ip -n "$NS_RX" link set tun-rx up
ip netns exec "$NS_RX" "$RINGFAN" count -i tun-rx -q --json -f 'tcp port 80 and ip6 src net 2001:618:400::/48' \
	>"$TMP/tun-f.json" 2>&1 &
fpid=$!
bg_pid "$fpid"
ip netns exec "$NS_RX" "$RINGFAN" count -i tun-rx -q -N "$total" -w "$TMP/tun.pcap" >"$TMP/tun.out" 2>&1 &
pid=$!
bg_pid "$pid"
wait_until 10 bound_at_least "$NS_RX" tun-rx 2
ip netns exec "$NS_RX" bash -c "$(declare -f tun_feed); tun_feed tun-rx '$pcap'"
wait "$pid" || fail "count on tun-rx: $(cat "$TMP/tun.out")"
sleep 0.2 # the filtered ring retires its last block within 10 ms
stop_count "$fpid"
tcpdump -r "$TMP/tun.pcap" -c 1 2>&1 | grep -q "link-type RAW" || fail "tun capture is not raw IP"
pcap_records "$pcap" >"$TMP/want.txt"
pcap_records "$TMP/tun.pcap" >"$TMP/got.txt"
cmp -s "$TMP/want.txt" "$TMP/got.txt" || fail "tun: -w copy differs from the capture"
info "ok: tun: raw-IP -w copy has the capture's packets"
check_eq "$(json_last "$TMP/tun-f.json" packets)" \
	"$(pcap_filter_count "$pcap" 'tcp port 80 and ip6 src net 2001:618:400::/48')" "tun: raw-IP filter"
