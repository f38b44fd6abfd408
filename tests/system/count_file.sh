#!/usr/bin/env bash
# ringfan count -i pcap:FILE: a capture file counted as the balancer's -i
# names it, checked against tcpdump and capinfos reading the same file: the
# packets and bytes, the BPF filter (run here, like a queue's), -w and -v,
# -N, and the end of the count at the end of the file (status 0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/count-helpers.bash"
need_pcaps
need_cmd tcpdump capinfos
cap=$PCAPS/test.pcap
[ -f "$cap" ] || skip "$cap is absent"

json_final() { grep '"final":true' "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }

# Every packet, and the bytes on the wire.
n=$(pcap_packets "$cap")
bytes=$(capinfos -d -M "$cap" | awk -F': *' '/^Data size/ { print $2 + 0 }')
"$RINGFAN" count -i "pcap:$cap" -j -q >"$TMP/all.json" || fail "count -i pcap: failed"
check_eq "$(json_final "$TMP/all.json" packets)" "$n" "packets counted in the file"
check_eq "$(json_final "$TMP/all.json" bytes)" "$bytes" "bytes counted in the file"
check_eq "$(grep -c . "$TMP/all.json")" 1 "JSON objects with -q (only the final one)"

# The filter keeps what tcpdump's keeps; the rest is "filtered".
f='tcp port 80'
want=$(tcpdump -nr "$cap" "$f" 2>/dev/null | wc -l)
((want > 0 && want < n)) || fail "the filter '$f' should keep some packets of $cap, not $want"
"$RINGFAN" count -i "pcap:$cap" -f "$f" -q --json -w "$TMP/f.pcap" >"$TMP/f.json" ||
	fail "count -f failed"
check_eq "$(json_final "$TMP/f.json" packets)" "$want" "packets through '$f'"
check_eq "$(json_final "$TMP/f.json" filtered)" $((n - want)) "packets filtered out"
check_eq "$(tcpdump -nr "$TMP/f.pcap" 2>/dev/null | md5sum)" \
	"$(tcpdump -nr "$cap" "$f" 2>/dev/null | md5sum)" "-w file = tcpdump's filtered packets"

# -v: a line per packet; -N stops early.
check_eq "$("$RINGFAN" count -i "pcap:$cap" -v -N 25 | grep -cE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9} ')" \
	25 "-v lines with -N 25"

# The same file named without pcap: is no interface: the message says how to name it.
expect_fail 1 "no such interface '$cap' \(to read a capture file, write -i pcap:$cap\)" \
	"$RINGFAN" count -i "$cap"
expect_fail 1 "cannot read capture file '$TMP/none.pcap'" "$RINGFAN" count -i "pcap:$TMP/none.pcap"
