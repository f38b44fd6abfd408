#!/usr/bin/env bash
# Splitting a capture into files: `ringfan balance -i pcap:IN -n 4 -m MODE
# -r 0:pcap:o0 ... -r 3:pcap:o3` exits 0 and the four files together hold
# exactly the input's packets (bytes, lengths, timestamps) with the input's
# link type (Ethernet, raw IP, Linux SLL, PPP), each file in the
# input's order (so every flow keeps its order); with fanout every file is
# the whole input. Every mode, several real captures (one of them the 28 MB
# ndpi-merged-ether.pcap) and a generated one with every feature.
source "$(dirname "$0")/lib.sh"
need_pcaps
need_cmd tshark
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")
"$RINGFAN" balance --help >/dev/null 2>&1 || skip "ringfan balance is not built"

cluster=100
# split IN MODE: run the balancer and check the four files.
split() {
	local in=$1 mode=$2 o=$TMP/out i check=split
	rm -f "$o".*.pcap
	"$RINGFAN" balance -i "pcap:$in" -c $cluster -n 4 -m "$mode" \
		-r "0:pcap:$o.0.pcap" -r "1:pcap:$o.1.pcap" \
		-r "2:pcap:$o.2.pcap" -r "3:pcap:$o.3.pcap" 2>"$TMP/err" ||
		fail "$(basename "$in") -m $mode: balance exited $? ($(cat "$TMP/err"))"
	[ "$mode" != fanout ] || check=fanout
	"${CMP[@]}" $check "$in" "$o".{0,1,2,3}.pcap >"$TMP/cmp" 2>&1 ||
		fail "$(basename "$in") -m $mode: $(cat "$TMP/cmp")"
	info "ok: $(basename "$in") -m $mode: $(cat "$TMP/cmp")"
	! grep -q "failed" "$TMP/err" || fail "$(basename "$in") -m $mode: $(cat "$TMP/err")"
	cluster=$((cluster + 1))
}

modes=(rr ip 5tuple inner-ip inner-5tuple vlan iface fanout)
captures=(combined.pcap erspan.pcap mixed-vlan-mpls.pcap gtp1_gn_normal_incl_fragmentation.pcap
	defrag-af-confusion-spray-h8.pcap vxlan.pcap pppoe-over-qinq.pcap timestamp.pcap
	four_ipv6_http_streams.pcap gtp-iphone.pcap mpls-traceroute.pcap) # raw IP, Linux SLL, PPP
for f in "${captures[@]}"; do
	for m in "${modes[@]}"; do
		split "$PCAPS/$f" "$m"
	done
done

# A file split needs no big queues: by default they are 1 MiB (the ring file
# is that plus its header page); --ring-size still wins.
ring_bytes() { stat -c %s "$RINGFAN_DIR/$1@0.ring"; }
check_eq "$(ring_bytes 100)" $((4096 + (1 << 20))) "queue size of a file split (default)"
"$RINGFAN" balance -i "pcap:$PCAPS/timestamp.pcap" -c 99 -n 2 --ring-size 2M \
	-r "0:pcap:$TMP/rs.0.pcap" -r "1:pcap:$TMP/rs.1.pcap" 2>"$TMP/err" ||
	fail "split with --ring-size 2M: $(cat "$TMP/err")"
check_eq "$(ring_bytes 99)" $((4096 + (2 << 20))) "queue size of a file split with --ring-size 2M"
# Replayed like live traffic (--loop), the queues keep the usual 16 MiB.
"$RINGFAN" balance -i "pcap:$PCAPS/timestamp.pcap" -c 98 -n 2 --loop 1 \
	-r "0:pcap:$TMP/rs.0.pcap" -r "1:pcap:$TMP/rs.1.pcap" 2>"$TMP/err" ||
	fail "replay with --loop 1: $(cat "$TMP/err")"
check_eq "$(ring_bytes 98)" $((4096 + (16 << 20))) "queue size of a live-like replay (default)"

# The large capture: two hashing modes and round robin.
for m in 5tuple inner-ip rr; do
	split "$PCAPS/ndpi-merged-ether.pcap" "$m"
done

# Generated traffic with every feature (tunnels, fragments, VLAN/MPLS, bad packets).
if "$RINGFAN" gen --help >/dev/null 2>&1; then
	"$RINGFAN" gen -o "$TMP/gen.pcap" --all --seed 7 || fail "ringfan gen --all failed"
	for m in "${modes[@]}"; do
		split "$TMP/gen.pcap" "$m"
	done
else
	info "ringfan gen is not built: generated traffic not checked"
fi
echo "PASS"
