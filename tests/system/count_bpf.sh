#!/usr/bin/env bash
# ringfan count -f: the same BPF filters on an interface (in the kernel, VLAN
# tags the kernel strips handled) and on a queue (in user space) must accept
# exactly the packets tcpdump -r accepts in the same capture.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/count-helpers.bash"
need_root
need_pcaps
need_cmd tcpreplay capinfos tcpdump
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
RF_FEED=$BUILD/tests/tools/rf-feed

filters=('tcp' 'udp port 53' 'vlan' 'icmp' 'host 172.16.11.12' 'host 192.150.187.43' 'vlan and tcp port 80' 'not arp')
captures=(test.pcap vlan-collisions.pcap mixed-vlan-mpls.pcap)

# Interface: one count per filter, all on veth-rx at once, plus an
# unfiltered one that says when the whole capture has gone through.
mk_veth_pair
for name in "${captures[@]}"; do
	pcap=$PCAPS/$name
	total=$(pcap_packets "$pcap")
	pids=()
	for i in "${!filters[@]}"; do
		ip netns exec "$NS_RX" "$RINGFAN" count -i veth-rx -q --json -f "${filters[$i]}" \
			>"$TMP/if-$i.json" 2>"$TMP/if-$i.err" &
		pids+=($!)
		bg_pid "$!"
	done
	ip netns exec "$NS_RX" "$RINGFAN" count -i veth-rx --json >"$TMP/if-all.json" 2>&1 &
	all=$!
	bg_pid "$all"
	wait_until 10 bound_at_least "$NS_RX" veth-rx $((${#filters[@]} + 1))
	ip netns exec "$NS_TX" tcpreplay -q -i veth-tx --pps 5000 "$pcap" >/dev/null 2>&1 ||
		fail "tcpreplay $name"
	wait_until 10 json_last_is "$TMP/if-all.json" packets "$total"
	sleep 0.2 # the filtered rings retire their last block within 10 ms
	for i in "${!filters[@]}"; do
		stop_count "${pids[$i]}"
		json_check "$TMP/if-$i.json"
		check_eq "$(json_last "$TMP/if-$i.json" packets)" \
			"$(pcap_filter_count "$pcap" "${filters[$i]}")" "interface $name -f '${filters[$i]}'"
	done
	stop_count "$all"
done

# Queue: fed losslessly and finished, so count drains it and exits by itself.
[ -x "$RF_FEED" ] || skip "needs $RF_FEED (tests/tools)"
q=0
for name in "${captures[@]}"; do
	pcap=$PCAPS/$name
	total=$(pcap_packets "$pcap")
	for f in "${filters[@]}"; do
		q=$((q + 1))
		"$RF_FEED" -q "11@$q" --lossless "$pcap" >"$TMP/feed.log" 2>&1 || fail "rf-feed: $(cat "$TMP/feed.log")"
		timeout 20 "$RINGFAN" count -i "11@$q" -q --json -f "$f" >"$TMP/q.json" 2>"$TMP/q.err" ||
			fail "count on 11@$q exited $?: $(cat "$TMP/q.err")"
		json_check "$TMP/q.json"
		want=$(pcap_filter_count "$pcap" "$f")
		check_eq "$(json_last "$TMP/q.json" packets)" "$want" "queue $name -f '$f'"
		check_eq "$(json_last "$TMP/q.json" filtered)" $((total - want)) "queue $name -f '$f': filtered"
	done
done
