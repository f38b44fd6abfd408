#!/usr/bin/env bash
# What balance does to a queue's packets when asked, checked against
# Wireshark's tools: slicing (--snaplen) against editcap -s; stripping
# (--strip vlan, mpls, tunnel) against tshark's dissection of the frames
# inside (broker_oracle.py stripped); de-duplication (--dedup) of a capture
# with a second SPAN port's copies (TTL one less, other MACs, 4 us later)
# and retransmissions (new IP ID) against the copies tshark's bytes show
# (broker_oracle.py copies): every copy goes, every retransmission stays.
# The hash follows the mode: each group splits alike, whatever it strips.
. "$(dirname "$0")/lib.sh"
need_pcaps
need_cmd tshark editcap mergecap capinfos awk
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")
ORACLE=(/usr/bin/python3 "$TOP/tests/system/broker_oracle.py")

stat_of() { awk -F': ' -v k="$2" '$1 == k { print $2 }' "$RINGFAN_DIR/$1.stats" 2>/dev/null; }
count() { "${CMP[@]}" count "$1"; }

# --- slicing: at most N bytes of each packet, its wire length kept ---
in=$PCAPS/smtp.pcap
"$RINGFAN" balance -i "pcap:$in" -c 40 -n 1,1 --snaplen B:96 -r "0:pcap:$TMP/whole.pcap" \
	-r "1:pcap:$TMP/sliced.pcap" 2>/dev/null || fail "balance --snaplen failed"
editcap -F pcap -s 96 "$in" "$TMP/want-sliced.pcap" || fail "editcap -s 96 failed"
"${CMP[@]}" same "$TMP/want-sliced.pcap" "$TMP/sliced.pcap" || fail "sliced queue differs from editcap -s 96"
"${CMP[@]}" same "$in" "$TMP/whole.pcap" || fail "the group without --snaplen lost bytes"
check_eq "$(stat_of 40 queue.1.bytes)" "$(tshark -r "$TMP/want-sliced.pcap" -T fields -e frame.cap_len 2>/dev/null |
	awk '{ s += $1 } END { print s }')" "bytes of the sliced queue"

# --- stripping, each kind and all at once ---
# The captures with the most encapsulations (VXLAN, Geneve, GTP-U, GRE, ERSPAN, MPLS, QinQ,
# PPPoE), an MPLS pseudowire's frame, GRE bridging with outer fragments (left whole), and
# what gen makes that they lack (CAPWAP, IP-in-IP, 6in4: tunnels of IP, left as they are).
"$RINGFAN" gen -o "$TMP/all.pcap" --all --flows 50 --packets 600 --seed 11 -q || fail "gen failed"
mergecap -a -F pcap -w "$TMP/strip-in.pcap" "$PCAPS/arkime_synthetic.pcap" \
	"$PCAPS/MplsPackets.pcap" "$PCAPS/erspan.pcap" "$TMP/all.pcap" || fail "mergecap failed"
in=$TMP/strip-in.pcap
n=$(count "$in")
# (MPLS alone: the unit tests; here with the others.)
"$RINGFAN" balance -i "pcap:$in" -c 41 -n 1,1,1 --strip A:vlan --strip B:tunnel \
	--strip C:vlan,mpls,tunnel -r "0:pcap:$TMP/vlan.pcap" -r "1:pcap:$TMP/tunnel.pcap" \
	-r "2:pcap:$TMP/all-kinds.pcap" 2>"$TMP/41.err" || fail "balance --strip failed: $(cat "$TMP/41.err")"
"${ORACLE[@]}" stripped "$in" "$TMP/vlan.pcap" vlan "$TMP/tunnel.pcap" tunnel \
	"$TMP/all-kinds.pcap" vlan,mpls,tunnel || fail "stripped frames differ from tshark's"
for k in vlan tunnel all-kinds; do
	check_eq "$(count "$TMP/$k.pcap")" "$n" "packets delivered by --strip $k"
done
# Each kind took bytes away.
whole=$(($(stat -c %s "$in") - 24 - 16 * n))
for q in 0 1 2; do
	b=$(stat_of 41 queue.$q.bytes)
	((b < whole)) || fail "queue $q delivered $b bytes of $whole: nothing stripped"
done
# The hash is the one of the packet as received: stripping groups split like a plain one.
"$RINGFAN" balance -i "pcap:$PCAPS/arkime_synthetic.pcap" -c 45 -n 3,3 -m inner-5tuple \
	--strip B:vlan,mpls,tunnel 2>/dev/null || fail "balance -n 3,3 --strip B failed"
for q in 0 1 2; do
	check_eq "$(stat_of 45 queue.$((q + 3)).enqueued)" "$(stat_of 45 queue.$q.enqueued)" \
		"queue $((q + 3)) (stripping) got as many packets as queue $q"
done
expect_fail 1 "--strip takes Ethernet frames apart; the sources' link type is LINUX_SLL" \
	"$RINGFAN" balance -i "pcap:$PCAPS/gtp-iphone.pcap" -c 46 -n 1 --strip tunnel

# --- de-duplication: a second SPAN port's copies go, retransmissions stay ---
# 250,000 packets/s: a copy comes 4 us after its packet.
"$RINGFAN" gen -o "$TMP/dup.pcap" --flows 40 --packets 1500 --seed 5 --rate 250000 --vlan 20 \
	--vxlan 15 --ipv6 30 --span-copies 20 --retransmits 10 2>"$TMP/gen.err" || fail "gen failed"
span=$(grep -o 'span_copies=[0-9]*' "$TMP/gen.err" | cut -d= -f2)
rtx=$(grep -o 'retransmits=[0-9]*' "$TMP/gen.err" | cut -d= -f2)
((span > 200 && rtx > 30)) || fail "gen made $span copies and $rtx retransmissions"
"$RINGFAN" balance -i "pcap:$TMP/dup.pcap" -c 47 -n 2,1,1 -m 5tuple --dedup A:10 --dedup B:3 \
	-r "0:pcap:$TMP/d0.pcap" -r "1:pcap:$TMP/d1.pcap" -r "2:pcap:$TMP/d2.pcap" \
	-r "3:pcap:$TMP/d3.pcap" 2>/dev/null || fail "balance --dedup failed"
"${ORACLE[@]}" copies "$TMP/dup.pcap" 10 "$TMP/want-dedup.pcap" >"$TMP/copies.txt" 2>"$TMP/oracle.err" ||
	fail "oracle failed: $(cat "$TMP/oracle.err")"
info "tshark: $(cat "$TMP/oracle.err")"
copies=$(wc -l <"$TMP/copies.txt")
check_eq "$(($(stat_of 47 queue.0.deduplicated) + $(stat_of 47 queue.1.deduplicated)))" "$copies" \
	"group A (10 us): de-duplicated = copies within 10 us"
# The copies tshark shows include every copy of the second port and no retransmission.
# (gen sends each right after its packet; a copy of a packet that is itself a copy of an
# earlier one, identical IPv6 segments, may fall out of that one's window: not counted.)
# Second-port copies come from 02:00:aa:00:00:01; tshark finds retransmissions itself.
tshark -r "$TMP/dup.pcap" -Y 'eth.src == 02:00:aa:00:00:01' -T fields -e frame.number 2>/dev/null |
	sort >"$TMP/span.txt"
tshark -r "$TMP/dup.pcap" -Y 'tcp.analysis.retransmission && ip && eth.src != 02:00:aa:00:00:01' \
	-T fields -e frame.number 2>/dev/null | sort >"$TMP/rtx.txt"
sort "$TMP/copies.txt" >"$TMP/copies.sorted"
check_eq "$(wc -l <"$TMP/span.txt") $(wc -l <"$TMP/rtx.txt")" "$span $rtx" "copies and retransmissions tshark sees"
missed=0
for f in $(comm -23 "$TMP/span.txt" "$TMP/copies.sorted"); do
	grep -qx "$((f - 1))" "$TMP/copies.sorted" || missed=$((missed + 1))
done
check_eq "$missed" 0 "second-port copies of first copies kept"
check_eq "$(comm -12 "$TMP/rtx.txt" "$TMP/copies.sorted" | wc -l)" 0 "retransmissions taken for copies"
# Group A delivered exactly the capture without them, in order.
"${CMP[@]}" split "$TMP/want-dedup.pcap" "$TMP/d0.pcap" "$TMP/d1.pcap" ||
	fail "group A differs from the capture without its copies"
# A window shorter than the copies' 4 us keeps them all; no --dedup, nothing is compared.
check_eq "$(stat_of 47 queue.2.deduplicated)" 0 "group B (3 us): de-duplicated"
"${CMP[@]}" same "$TMP/dup.pcap" "$TMP/d2.pcap" || fail "group B lost packets"
"${CMP[@]}" same "$TMP/dup.pcap" "$TMP/d3.pcap" || fail "group C lost packets"
rx=$(stat_of 47 total.received)
check_eq "$(stat_of 47 group.0.enqueued) $(stat_of 47 group.0.dropped) $(stat_of 47 group.0.deduplicated)" \
	"$((rx - copies)) 0 $copies" "group A: enqueued, dropped, de-duplicated"
check_eq "$(stat_of 47 dedup_evicted)" 0 "first copies forgotten early"
expect_fail 2 "bad --dedup '2000000' \(a window in microseconds, 1 to 1000000, or 0 for off\)" \
	"$RINGFAN" balance -i "pcap:$TMP/dup.pcap" -c 48 -n 1 --dedup 2000000
echo "PASS"
