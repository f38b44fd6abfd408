#!/usr/bin/env bash
# Per-group and per-queue BPF filters (balance --filter), checked against
# tshark: a group gets exactly the packets tshark selects with the
# equivalent display filter, the others are counted as filtered (never as
# drops) and the invariant received = sum(enqueued + dropped + filtered +
# deduplicated) holds; per-queue filters in a fanout group; SIGHUP re-reads
# a config file's filters without touching queues or consumers, and keeps
# the running ones when the new one does not compile; errors at start.
. "$(dirname "$0")/lib.sh"
need_pcaps
need_cmd tshark awk
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")

stat_of() { awk -F': ' -v k="$2" '$1 == k { print $2 }' "$RINGFAN_DIR/$1.stats" 2>/dev/null; }
stat_gt() { local v; v=$(stat_of "$1" "$2"); [ -n "$v" ] && ((v > $3)); }
sum_of() { # cluster first last key...: the keys summed over queues first..last
	local c=$1 f=$2 l=$3 q k sum=0
	shift 3
	for ((q = f; q <= l; q++)); do
		for k; do sum=$((sum + $(stat_of "$c" "queue.$q.$k"))); done
	done
	echo "$sum"
}
# tshark's selection of IN with a display filter, as a pcap file.
selected() { tshark -r "$1" -Y "$2" -F pcap -w "$3" 2>/dev/null || fail "tshark -Y '$2' failed"; }

# --- a group filter, as a Suricata group would get it: the exact packets tshark selects ---
in=$PCAPS/arkime_synthetic.pcap
"$RINGFAN" balance -i "pcap:$in" -c 30 -n 2,1 -m 5tuple -f 'B:port 53 or port 80' \
	-r "0:pcap:$TMP/a0.pcap" -r "1:pcap:$TMP/a1.pcap" -r "2:pcap:$TMP/b.pcap" 2>"$TMP/b30.err" ||
	fail "balance with a group filter failed: $(cat "$TMP/b30.err")"
# BPF's "port" is the outer IP header's TCP/UDP port: not behind tags, labels, GRE or PPPoE,
# and not the ports an ICMP error quotes.
selected "$in" '(tcp.port#1 == 53 || tcp.port#1 == 80 || udp.port#1 == 53 || udp.port#1 == 80) &&
	!icmp && !icmpv6 && !vlan && !mpls && !gre && !pppoes' "$TMP/want-b.pcap"
"${CMP[@]}" same "$TMP/want-b.pcap" "$TMP/b.pcap" || fail "group B differs from tshark's selection"
"${CMP[@]}" split "$in" "$TMP/a0.pcap" "$TMP/a1.pcap" || fail "group A lost packets"
rx=$(stat_of 30 total.received)
want=$("${CMP[@]}" count "$TMP/want-b.pcap")
check_eq "$(stat_of 30 queue.2.filtered)" $((rx - want)) "group B: filtered = received - selected"
check_eq "$(stat_of 30 group.1.filtered)" $((rx - want)) "group B's sum of filtered"
check_eq "$(stat_of 30 total.dropped)" 0 "drops (filtered packets are none)"
for g in 0 1; do
	f=$(stat_of 30 "group.$g.first_queue")
	l=$((f + $(stat_of 30 "group.$g.queues") - 1))
	check_eq "$(sum_of 30 "$f" "$l" enqueued dropped filtered deduplicated)" "$rx" \
		"group $g: received = sum(enqueued + dropped + filtered + deduplicated)"
done
grep -q -- "--filter B:port 53 or port 80: queues 2-2" "$TMP/b30.err" || fail "the start does not say which queues filter"

# --- per-queue filters in a fanout group: each queue its own share, one without ---
in=$PCAPS/test.pcap
"$RINGFAN" balance -i "pcap:$in" -c 31 -n 3 -m fanout -f '0:tcp' -f '1:udp or icmp' \
	-r "0:pcap:$TMP/q0.pcap" -r "1:pcap:$TMP/q1.pcap" -r "2:pcap:$TMP/q2.pcap" 2>/dev/null ||
	fail "balance with queue filters failed"
# test.pcap's MPLS frames carry IP that BPF's "tcp" and "icmp" do not look into.
selected "$in" 'tcp && !icmp && !mpls' "$TMP/want0.pcap"
selected "$in" '(udp || icmp) && !mpls' "$TMP/want1.pcap"
"${CMP[@]}" same "$TMP/want0.pcap" "$TMP/q0.pcap" || fail "queue 0 (tcp) differs from tshark's"
"${CMP[@]}" same "$TMP/want1.pcap" "$TMP/q1.pcap" || fail "queue 1 (udp or icmp) differs from tshark's"
"${CMP[@]}" same "$in" "$TMP/q2.pcap" || fail "queue 2 (no filter) lost packets"
rx=$(stat_of 31 total.received)
for q in 0 1 2; do
	check_eq "$(sum_of 31 $q $q enqueued dropped filtered deduplicated)" "$rx" \
		"fanout queue $q: received = enqueued + dropped + filtered + deduplicated"
done
check_eq "$(stat_of 31 queue.2.filtered)" 0 "queue 2 filters nothing"

# --- SIGHUP: the config file's filters change while queues and consumers stay ---
cat >"$TMP/c.conf" <<EOF
interface pcap:$PCAPS/test.pcap
cluster 32
queues 1,1
hash-mode 5tuple
rate 5000
loop 0
egress 1:pcap:$TMP/hup.pcap
filter B:udp
log-file $TMP/hup.log
EOF
"$RINGFAN" balance "$TMP/c.conf" &
b=$!
bg_pid "$b"
wait_until 10 test -e "$RINGFAN_DIR/32.stats"
"$RINGFAN" count -i 32@0 -q --wait=5 >/dev/null 2>&1 &
consumer=$!
bg_pid "$consumer"
wait_until 10 stat_gt 32 queue.1.enqueued 20
wait_until 10 stat_gt 32 queue.0.consumer_pid 0
check_eq "$(stat_of 32 queue.0.consumer_pid)" "$consumer" "the consumer of queue 32@0"
gen0=$(stat_of 32 queue.0.generation)
gen1=$(stat_of 32 queue.1.generation)
sed -i 's/^filter B:udp$/filter B:tcp/' "$TMP/c.conf"
kill -HUP "$b"
wait_until 5 grep -q "SIGHUP: filters reloaded from '$TMP/c.conf'" "$TMP/hup.log"
grep -q "queue 32@1: filter 'tcp' (was 'udp')" "$TMP/hup.log" || fail "the reload does not say what changed: $(cat "$TMP/hup.log")"
n=$(stat_of 32 queue.1.enqueued)
wait_until 10 stat_gt 32 queue.1.enqueued $((n + 40))
# A filter that does not compile: the running one stays.
sed -i 's/^filter B:tcp$/filter B:port eighty/' "$TMP/c.conf"
kill -HUP "$b"
wait_until 5 grep -q "were not reloaded; the running ones stay" "$TMP/hup.log"
grep -q "bad --filter 'B:port eighty'" "$TMP/hup.log" || fail "the bad filter is not named: $(cat "$TMP/hup.log")"
n=$(stat_of 32 queue.1.enqueued)
wait_until 10 stat_gt 32 queue.1.enqueued $((n + 20))
alive "$consumer" || fail "the consumer of 32@0 is gone after the reloads"
check_eq "$(stat_of 32 queue.0.consumer_pid)" "$consumer" "consumer of 32@0 after the reloads"
check_eq "$(stat_of 32 queue.0.generation)" "$gen0" "generation of 32@0 after the reloads"
check_eq "$(stat_of 32 queue.1.generation)" "$gen1" "generation of 32@1 after the reloads"
kill -TERM "$b"
wait "$b" || fail "balancer exited $? on SIGTERM"
# What queue 1 delivered: UDP up to the reload, TCP after it, nothing else.
order=$(tshark -r "$TMP/hup.pcap" -T fields -e frame.protocols 2>/dev/null |
	awk '/^eth:ethertype:ipv?6?:udp/ { printf "U"; next } /^eth:ethertype:ipv?6?:tcp/ { printf "T"; next } { printf "X" }')
[[ "$order" =~ ^U{20,}T{60,}$ ]] || fail "queue 1 delivered, in order (U udp, T tcp, X other): $order"
info "ok: queue 32@1 delivered ${#order} packets: udp until the reload, then tcp"
check_eq "$(sum_of 32 1 1 enqueued dropped filtered deduplicated)" "$(stat_of 32 group.1.received)" \
	"after the reloads: received = enqueued + dropped + filtered + deduplicated"

# Started without a config file: a SIGHUP only reopens the log.
"$RINGFAN" balance -i "pcap:$PCAPS/test.pcap" -c 33 -n 1 --rate 1000 --loop 0 -f udp \
	-l "$TMP/33.log" &
b=$!
bg_pid "$b"
wait_until 10 test -e "$RINGFAN_DIR/33.stats"
kill -HUP "$b"
wait_until 5 grep -q "started without a config file: the filters stay" "$TMP/33.log"
kill -TERM "$b"
wait "$b" || fail "balancer 33 exited $?"

# --- errors at start ---
expect_fail 1 "bad --filter 'A:port eighty': .*" \
	"$RINGFAN" balance -i "pcap:$PCAPS/test.pcap" -c 34 -n 1 -f 'A:port eighty'
expect_fail 2 "there is no group C \(-n makes groups A to B\)" \
	"$RINGFAN" balance -i "pcap:$PCAPS/test.pcap" -c 34 -n 1,1 -f 'C:tcp'
expect_fail 2 "queue 2001 out of range .*needs 'host' in front" \
	"$RINGFAN" balance -i "pcap:$PCAPS/test.pcap" -c 34 -n 2 -f '2001:db8::1'
[ ! -e "$RINGFAN_DIR/34.stats" ] || fail "a refused start left a stats file"
echo "PASS"
