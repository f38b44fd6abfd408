#!/usr/bin/env bash
# Failover (--failover): a capture replayed at a live pace into 4 queues,
# each read by `ringfan count`; its first half (flows A) and second half
# (flows B, all new) follow each other. The consumer of queue 3 is killed
# -9 during A and stays away past the failover time: queue 3 keeps its
# flows of A (at most what the hash gives it, from explain) and gets no
# packet of B (all of B is in the live queues, checked with tshark); B's flows go whole to the live queues (checked with tshark on what
# the consumers wrote); the live queues lose nothing. A consumer that comes
# back later gets queue 3's buffered packets, every one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault-helpers.bash"
need_cmd tshark mergecap

c=80
n=4
victim=3
half=12000 # 3 s at 4000 packets/s: the queue fails over long before B starts
"$RINGFAN" gen -o "$TMP/a.pcap" --flows 300 --packets $half --seed 80 -q || fail "ringfan gen failed"
"$RINGFAN" gen -o "$TMP/b.pcap" --flows 300 --packets $half --seed 81 -q || fail "ringfan gen failed"
# B after A (concatenated: the replay's pace is --rate's, whatever the timestamps)
mergecap -a -F pcap -w "$TMP/in.pcap" "$TMP/a.pcap" "$TMP/b.pcap" || fail "mergecap failed"
expect_queues "$TMP/a.pcap" $n
a_victim=${EXPECTED[$victim]}
((a_victim > 0)) || fail "no flow of A hashes to queue $victim"

"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c $c -n $n --rate 4000 --ring-size 4M \
	--failover 1 2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
wait_until 10 queues_up $c $n
for ((q = 0; q < n; q++)); do
	start_count $c $q 1 -w "$TMP/out.$q.pcap"
	cons[$q]=$CPID
done

read_past() { local v; v=$(qinfo "$c@$victim" consumer_read); [ -n "$v" ] && ((v >= $1)); }
wait_until 10 read_past 200
kill -9 "${cons[$victim]}"
wait "${cons[$victim]}" 2>/dev/null || true
wait_until 5 consumer_gone "$c@$victim"
committed=$(qinfo "$c@$victim" consumer_read)
wait_until 5 stat_is $c queue.$victim.failed_over 1
grep -q "queue $c@$victim: no consumer for 1 s: new flows go to the group's other queues" \
	"$TMP/bal.err" || fail "the balancer does not say queue $victim failed over"
received=$(stat_of $c total.received)
((received < half)) || fail "queue $victim failed over only after A ($received packets in): too slow a machine?"
info "queue $victim failed over after $received packets (A: $half)"

wait_ok $bal "ringfan balance"
for ((q = 0; q < n; q++)); do
	((q == victim)) && continue
	wait_ok "${cons[$q]}" "ringfan count on $c@$q"
done
/usr/bin/python3 "$TOP/tests/system/pcap_compare.py" covers "$TMP/b.pcap" "$TMP"/out.[0-2].pcap ||
	fail "packets of B (flows new after the failover) are missing from the live queues"
v=$(stat_of $c queue.$victim.enqueued)
# A's flows that started after the failover went to the live queues too
((0 < v && v <= a_victim)) || fail "queue $victim got $v packets, more than its flows of A ($a_victim)"
info "queue $victim: $v packets, of its flows of A ($a_victim by the hash; the rest started later)"
check_invariant $c
for ((q = 0; q < n; q++)); do
	check_eq "$(stat_of $c queue.$q.dropped)" 0 "drops on $c@$q"
done
/usr/bin/python3 "$TOP/tests/system/flow_split.py" ip "$TMP"/out.[0-2].pcap >"$TMP/split.txt" ||
	fail "a flow is split among the live queues: $(tail -1 "$TMP/split.txt")"
info "live queues: $(tail -1 "$TMP/split.txt")"
live=0
for ((q = 0; q < n; q++)); do
	((q == victim)) && continue
	got=$(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py" count "$TMP/out.$q.pcap")
	check_eq "$got" "$(stat_of $c queue.$q.enqueued)" "packets written by the consumer of $c@$q"
	live=$((live + got))
done
check_eq $((live + v)) $((2 * half)) "packets over all queues"

# the consumer comes back: every buffered packet of queue 3
start_count $c $victim 2
wait_ok "$CPID" "ringfan count on $c@$victim (restarted)"
again=$(json_last "$TMP/count.$c.$victim.2.json" packets)
check_eq $((committed + again)) "$v" "queue $victim: committed before the kill + read after"
exit 0
