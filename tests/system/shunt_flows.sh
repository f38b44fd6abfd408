#!/usr/bin/env bash
# Shunting with the flow table (--shunt-packets, --shunt-bytes): on a real
# capture of 500 TCP connections, the queues together hold exactly the first
# N packets of every TCP stream as tshark numbers them (both directions one
# flow), none after; shunted packets are counted, never as drops, and
# received = enqueued + dropped + shunted; a group without shunting still
# gets everything; the flow table's counters; cut-offs per protocol (TCP,
# UDP, other) on a generated capture; errors at start.
. "$(dirname "$0")/lib.sh"
need_pcaps
need_cmd tshark tcpdump awk
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")

stat_of() { awk -F': ' -v k="$2" '$1 == k { print $2 }' "$RINGFAN_DIR/$1.stats" 2>/dev/null; }
# first_of IN N OUT: tshark's first N packets of every TCP stream of IN, as a pcap file.
first_of() {
	local frames
	frames=$(tshark -r "$1" -T fields -e frame.number -e tcp.stream 2>/dev/null |
		awk -v n="$2" '$2 != "" && seen[$2]++ < n { printf "%s%s", sep, $1; sep = "," }')
	[ -n "$frames" ] || fail "tshark found no TCP stream in $1"
	tshark -r "$1" -Y "frame.number in {$frames}" -F pcap -w "$3" 2>/dev/null ||
		fail "tshark could not select the first $2 packets of each stream"
}

# --- a flow's first 10 packets, none after; group B (no shunting) gets everything ---
in=$PCAPS/echo-connections.pcap
[ -f "$in" ] || skip "$in is absent"
cat >"$TMP/c.conf" <<EOF
interface pcap:$in
cluster 40
queues 4,1
hash-mode 5tuple
shunt-packets A:10
EOF
"$RINGFAN" balance "$TMP/c.conf" -r "0:pcap:$TMP/q0.pcap" -r "1:pcap:$TMP/q1.pcap" \
	-r "2:pcap:$TMP/q2.pcap" -r "3:pcap:$TMP/q3.pcap" -r "4:pcap:$TMP/b.pcap" 2>"$TMP/b40.err" ||
	fail "balance --shunt-packets failed: $(cat "$TMP/b40.err")"
first_of "$in" 10 "$TMP/want.pcap"
"${CMP[@]}" split "$TMP/want.pcap" "$TMP"/q[0-3].pcap ||
	fail "group A does not hold exactly the first 10 packets of every TCP stream"
"${CMP[@]}" same "$in" "$TMP/b.pcap" || fail "group B (no shunting) lost packets"
streams=$(tshark -r "$in" -T fields -e tcp.stream 2>/dev/null | sort -un | wc -l)
info "$streams TCP streams: $("${CMP[@]}" count "$TMP/want.pcap") of $(stat_of 40 total.received) packets delivered to group A"
rx=$(stat_of 40 group.0.received)
check_eq "$(stat_of 40 group.0.enqueued)" "$("${CMP[@]}" count "$TMP/want.pcap")" "group A enqueued"
check_eq $(($(stat_of 40 group.0.enqueued) + $(stat_of 40 group.0.dropped) + $(stat_of 40 group.0.shunted))) \
	"$rx" "group A: received = enqueued + dropped + shunted"
check_eq "$(stat_of 40 total.dropped)" 0 "drops (shunted packets are none)"
check_eq "$(stat_of 40 group.1.shunted)" 0 "group B shunts nothing"
check_eq "$(stat_of 40 group.0.flows_created)" "$streams" "flows created (one per TCP stream)"
check_eq "$(stat_of 40 group.0.flows_shunted)" "$streams" "flows that reached the cut-off"
check_eq "$(stat_of 40 group.0.flow_fallback)" 0 "packets placed by the hash"
check_eq "$(stat_of 40 group.1.flow_table)" "$(stat_of 40 group.0.flow_table)" "each group its table"
grep -q -- "--shunt-packets A:10: queues 0-3" "$TMP/b40.err" || fail "the start does not say which group shunts"
"$RINGFAN" stats -c 40 --json >"$TMP/s.json" || fail "stats --json failed"
/usr/bin/python3 - "$TMP/s.json" <<'EOF' || fail "stats --json lacks the flow table's counters"
import json, sys
s = json.load(open(sys.argv[1]))
g = s["groups"][0]
assert g["flows"]["created"] > 0 and g["shunted"] > 0, g
assert s["totals"]["shunted"] == g["shunted"], s["totals"]
assert sum(q["shunted"] for q in s["queues"]) == g["shunted"]
EOF

# --- by bytes, on the 28 MB capture: the counters add up; the figures ---
big=$PCAPS/ndpi-merged-ether.pcap
if [ -f "$big" ]; then
	"$RINGFAN" balance -i "pcap:$big" -c 41 -n 4 -m 5tuple --shunt-bytes 4k 2>/dev/null ||
		fail "balance --shunt-bytes failed"
	rx=$(stat_of 41 total.received)
	check_eq $(($(stat_of 41 total.enqueued) + $(stat_of 41 total.dropped) + $(stat_of 41 total.shunted))) \
		"$rx" "received = enqueued + dropped + shunted"
	((0 < $(stat_of 41 total.shunted) && $(stat_of 41 total.shunted) < rx)) ||
		fail "--shunt-bytes 4k shunted $(stat_of 41 total.shunted) of $rx packets"
	info "--shunt-bytes 4k: enqueued $(stat_of 41 total.enqueued) of $rx packets, $(stat_of 41 group.0.flows_shunted) of $(stat_of 41 group.0.flows_created) flows shunted"
fi

# --- per protocol: TCP flows cut after 10 packets, UDP after 3, the rest whole ---
# A generated capture of TCP, UDP and ICMP flows; the packets the queues hold
# together are, by tshark's streams, each TCP stream's first 10, each UDP
# stream's first 3 and every other packet.
"$RINGFAN" gen -o "$TMP/p.pcap" --flows 60 --packets 3000 --seed 17 -q || fail "ringfan gen failed"
"$RINGFAN" balance -i "pcap:$TMP/p.pcap" -c 43 -n 4 -m 5tuple --shunt-packets tcp=10,udp=3 \
	-r "0:pcap:$TMP/p0.pcap" -r "1:pcap:$TMP/p1.pcap" -r "2:pcap:$TMP/p2.pcap" \
	-r "3:pcap:$TMP/p3.pcap" 2>"$TMP/b43.err" ||
	fail "balance --shunt-packets tcp=10,udp=3 failed: $(cat "$TMP/b43.err")"
grep -q -- "--shunt-packets tcp=10,udp=3: queues 0-3" "$TMP/b43.err" ||
	fail "the start does not give the per-protocol cut-offs: $(cat "$TMP/b43.err")"
tshark -r "$TMP/p.pcap" -T fields -e frame.time_epoch -e tcp.stream -e udp.stream 2>/dev/null |
	awk -F'\t' '{ us = substr($1, 1, index($1, ".") + 6) } # as tcpdump -tt prints it
		$2 != "" { if (t[$2]++ < 10) print us; next }
		$3 != "" { if (u[$3]++ < 3) print us; next }
		{ print us; o++ }
		END { if (length(t) < 10 || length(u) < 3 || o < 10) exit 1 }' | sort >"$TMP/want.t" ||
	fail "the capture lacks TCP, UDP or other flows"
for q in 0 1 2 3; do
	tcpdump -tt -nr "$TMP/p$q.pcap" 2>/dev/null | awk '{ print $1 }'
done | sort >"$TMP/got.t"
[ -s "$TMP/want.t" ] && cmp -s "$TMP/want.t" "$TMP/got.t" ||
	fail "the queues do not hold each TCP stream's first 10 packets, each UDP stream's first 3 and the rest: $(diff "$TMP/want.t" "$TMP/got.t" | head -5)"
check_eq "$(stat_of 43 total.enqueued)" "$(wc -l <"$TMP/want.t")" "enqueued with tcp=10,udp=3"
check_eq $(($(stat_of 43 total.enqueued) + $(stat_of 43 total.shunted))) 3000 "enqueued + shunted"
info "tcp=10,udp=3: $(wc -l <"$TMP/want.t") of 3000 packets delivered"
# explain decides alike: its packets not shunted are the queues'
"$RINGFAN" explain -m 5tuple -n 4 --shunt-packets tcp=10,udp=3 "$TMP/p.pcap" 2>/dev/null |
	{ grep -vc ' why=shunted$' || true; } >"$TMP/kept"
check_eq "$(cat "$TMP/kept")" "$(wc -l <"$TMP/want.t")" "packets explain does not shunt"

# --- errors at start: named, usage exit code ---
expect_usage() { # message-part args...
	local want=$1 rc=0
	shift
	"$RINGFAN" balance -i "pcap:$in" -c 42 "$@" 2>"$TMP/e.err" >/dev/null || rc=$?
	((rc == 2)) || fail "balance $* exited $rc, not 2"
	grep -q -- "$want" "$TMP/e.err" || fail "balance $*: no '$want' in: $(cat "$TMP/e.err")"
}
expect_usage "scope is a group letter" -n 4 --shunt-packets 0-1:10
expect_usage "give --flow-table a size" -n 4 --shunt-packets 10 --flow-table off
expect_usage "need a hashing mode" -n 4 -m rr --shunt-packets 10
expect_usage "bad --shunt-bytes" -n 4 --shunt-bytes 10x
expect_usage "bad --shunt-packets 'tcp=10,icmp=1' (.*per protocol: tcp=N,udp=N,other=N)" \
	-n 4 --shunt-packets tcp=10,icmp=1
expect_usage "bad --shunt-packets 'tcp=1,tcp=2'" -n 4 --shunt-packets tcp=1,tcp=2
expect_usage "bad --flow-table" -n 4 --flow-table lots
exit 0
