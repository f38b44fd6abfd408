#!/usr/bin/env bash
# Failover (--failover): a capture replayed at a live pace into 4 queues,
# each read by `ringfan count`; its first half (flows A) and second half
# (flows B, all new) follow each other. The consumer of queue 3 is killed
# -9 during A and stays away past the failover time: queue 3 keeps its
# flows of A (at most what the hash gives it, from explain) and gets no
# packet of B (all of B is in the live queues, checked with tshark); B's
# flows go whole to the live queues (checked with tshark on what the
# consumers wrote); the live queues lose nothing. A consumer that comes back
# later gets queue 3's buffered packets, every one. A second run, with
# --failover-move and a consumer back during the run, is described below.
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
info "ok: failover without --failover-move"

# --failover-move, a consumer gone and one hung, both back during the run.
# Three captures follow each other: A, then B and C (new flows), into rings
# of 128 KiB, flows placed by the weights 1,4,1,1 (queue 1 gets the most:
# it fills soon once its consumer stops). During A, queue 3's consumer is
# killed and queue 1's stopped (SIGSTOP): queue 3 fails over as gone, queue
# 1 once its ring stayed full for the failover time (failed_over 2, "full"
# in the log). Their flows move to the other queues (counted), none split
# between queues 0 and 2, none of those back on queue 3 after it returns
# (each flow's packets there all come before its first on queue 0 or 2). A
# new consumer on queue 3 is started once it failed over; queue 1's is
# continued (SIGCONT) once B's flows have started, none of which reached
# it. Both are seen back before C and get new flows again: every packet of
# C's flows that the placement gives them (explain).
c=81
hung=1
cp=$TMP/move
mkdir -p "$cp"
"$RINGFAN" gen -o "$cp/a.pcap" --flows 300 --packets 12000 --seed 82 -q || fail "ringfan gen failed"
"$RINGFAN" gen -o "$cp/b.pcap" --flows 300 --packets 12000 --seed 83 -q || fail "ringfan gen failed"
"$RINGFAN" gen -o "$cp/c.pcap" --flows 200 --packets 4000 --seed 84 -q || fail "ringfan gen failed"
mergecap -a -F pcap -w "$cp/in.pcap" "$cp/a.pcap" "$cp/b.pcap" "$cp/c.pcap" || fail "mergecap failed"
place=(--placement weighted --weights 1,4,1,1)
# placed_on CAPTURE Q: packets of CAPTURE that queue Q gets, by explain
placed_on() {
	"$RINGFAN" explain -n $n "${place[@]}" --json "$1" 2>/dev/null | { grep -c "\"queue\":$2," || true; }
}
a_victim=$(placed_on "$cp/a.pcap" $victim)
c_victim=$(placed_on "$cp/c.pcap" $victim)
c_hung=$(placed_on "$cp/c.pcap" $hung)
((c_victim > 0 && c_hung > 0)) || fail "no flow of C placed on queue $victim or $hung"

"$RINGFAN" balance -i "pcap:$cp/in.pcap" -c $c -n $n --rate 4000 --ring-size 128K \
	"${place[@]}" --failover 1 --failover-move 2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
wait_until 10 queues_up $c $n
for ((q = 0; q < n; q++)); do
	"$RINGFAN" count -i "$c@$q" -w "$cp/out.$q.pcap" -q 2>"$cp/count.$q.err" &
	cons[$q]=$!
	bg_pid $!
done
wait_until 10 read_past 200
kill -STOP "${cons[$hung]}"
kill -9 "${cons[$victim]}"
wait "${cons[$victim]}" 2>/dev/null || true
wait_until 5 consumer_gone "$c@$victim"
committed=$(qinfo "$c@$victim" consumer_read)
# Both fail over: the packets received then, from the same snapshot of the counters.
snap() {
	awk -F': ' -v a="queue.$hung.failed_over" -v b="queue.$victim.failed_over" \
		'$1 == "total.received" { r = $2 } $1 == a { x = $2 } $1 == b { y = $2 }
		END { print r + 0, x + 0, y + 0 }' "$RINGFAN_DIR/$c.stats" 2>/dev/null
}
down_at= gone_at=
both_down() {
	local rx f1 f3
	read -r rx f1 f3 < <(snap)
	[ -n "$gone_at" ] || { ((f3 == 1)) && gone_at=$rx; }
	[ -n "$down_at" ] || { ((f1 == 2)) && down_at=$rx; }
	[ -n "$gone_at" ] && [ -n "$down_at" ]
}
wait_until 8 both_down
grep -q "queue $c@$victim: no consumer for 1 s: new flows go to the group's other queues, and so do its flows" \
	"$TMP/bal.err" || fail "the balancer does not say queue $victim's flows move"
"$RINGFAN" count -i "$c@$victim" -w "$cp/back.pcap" -q 2>"$cp/back.err" &
back=$!
bg_pid $back
((down_at < 12000)) || fail "queue $hung failed over only after A ($down_at packets in): too slow a machine?"
grep -q "queue $c@$hung: full, its consumer reading nothing, for 1 s: new flows go to" \
	"$TMP/bal.err" || fail "the balancer does not say queue $hung is full"
wait_until 5 stat_is $c queue.$victim.failed_over 0
grep -q "queue $c@$victim: a consumer is back: it gets new flows again" "$TMP/bal.err" ||
	fail "the balancer does not say queue $victim's consumer is back"
# B's flows start in its first 1800 packets: counted live, in the queues
# (the stats file is written once a second)
queued() {
	local q
	for ((q = 0; q < n; q++)); do "$QSTRESS" query "$c@$q" 2>/dev/null || true; done |
		awk -F= '$1 == "enqueued" || $1 == "dropped_full" { t += $2 } END { print t + 0 }'
}
past() { cont_at=$(queued); ((cont_at >= $1)); }
wait_until 8 past 13800
kill -CONT "${cons[$hung]}"
wait_until 5 stat_is $c queue.$hung.failed_over 0
grep -q "queue $c@$hung: its consumer reads again: it gets new flows again" "$TMP/bal.err" ||
	fail "the balancer does not say queue $hung's consumer reads again"
received=$(stat_of $c total.received)
((received < 24000)) || fail "queue $hung was seen back only after B ($received packets in): too slow a machine?"
info "queue $hung down (full) after $down_at packets, continued after $cont_at, back after $received (C from 24000)"

wait_lossy $bal $c
for ((q = 0; q < n; q++)); do
	((q == victim)) || wait_ok "${cons[$q]}" "ringfan count on $c@$q"
done
wait_ok $back "ringfan count on $c@$victim (back)"
check_invariant $c
for q in 0 2; do
	check_eq "$(stat_of $c queue.$q.dropped)" 0 "drops on $c@$q"
done
drops=$(($(stat_of $c queue.$hung.dropped_full) + $(stat_of $c queue.$victim.dropped_full)))
(($(stat_of $c queue.$hung.dropped_full) > 0)) || fail "queue $hung never full"
v=$(stat_of $c queue.$victim.enqueued)
check_eq $((committed + $(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py" count "$cp/back.pcap"))) \
	"$v" "queue $victim: committed before the kill + read by the consumer back"
check_eq "$(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py" count "$cp/out.$hung.pcap")" \
	"$(stat_of $c queue.$hung.enqueued)" "packets of queue $hung's consumer (stopped, continued)"
common() { /usr/bin/python3 "$TOP/tests/system/pcap_compare.py" common "$@"; }
others=("$cp"/out.[0-2].pcap)
check_eq "$(common "$cp/c.pcap" "$cp/back.pcap")" "$c_victim" "packets of C on queue $victim (by the weights: explain)"
check_eq "$(common "$cp/c.pcap" "$cp/out.$hung.pcap")" "$c_hung" "packets of C on queue $hung (by the weights: explain)"
check_eq "$(common "$cp/c.pcap" "${others[@]}")" $((4000 - c_victim)) "packets of C on queues 0-2"
check_eq "$(common "$cp/b.pcap" "$cp/out.$hung.pcap")" 0 "packets of B (new flows while it was down) on queue $hung"
a_v=$((v - $(common "$cp/b.pcap" "$cp/back.pcap") - c_victim))
((0 < a_v && a_v < a_victim)) || fail "queue $victim got $a_v packets of A: its flows did not move ($a_victim by the weights)"
check_eq $(($(common "$cp/a.pcap" "${others[@]}") + a_v + drops)) 12000 "packets of A over all queues and drops"
moved=$(stat_of $c group.0.flows_moved)
((moved > 0)) || fail "no flow counted as moved"
# By each flow's IPv4 addresses (as -m ip keys it) and timestamps:
# no flow split between queues 0 and 2 (never down); a flow moved to one of
# them never back on queue 3 (a flow moved to queue 1 moves on when it
# fails over, possibly back to queue 3: each move is counted).
/usr/bin/python3 - "$cp/a.pcap" "$cp/back.pcap" "$cp/out.0.pcap" "$cp/out.2.pcap" <<'PY' ||
import struct, sys

def packets(path):
    """(seconds, nanoseconds, IPv4 source, destination) of the Ethernet/IPv4
    packets of a little-endian pcap file (the generator's and count's)"""
    buf, out, off = open(path, "rb").read(), [], 24
    mult = {0xA1B2C3D4: 1000, 0xA1B23C4D: 1}.get(struct.unpack_from("<I", buf)[0])
    if not mult:
        sys.exit(f"{path}: not a little-endian pcap file")
    while off + 16 <= len(buf):
        sec, frac, caplen, _ = struct.unpack_from("<IIII", buf, off)
        d = buf[off + 16 : off + 16 + caplen]
        off += 16 + caplen
        if len(d) >= 34 and d[12:14] == b"\x08\x00":
            out.append((sec, frac * mult, d[26:30], d[30:34]))
    return out

def key(src, dst):
    return tuple(sorted((src, dst)))

def flows(pkts, only):
    """first and last timestamp of each flow, of the packets in only"""
    out = {}
    for sec, frac, src, dst in pkts:
        if (sec, frac, src, dst) in only:
            k, t = key(src, dst), (sec, frac)
            lo, hi = out.get(k, (t, t))
            out[k] = (min(lo, t), max(hi, t))
    return out

a = set(packets(sys.argv[1]))
victim, others, where = flows(packets(sys.argv[2]), a), {}, {}
for path in sys.argv[3:]:
    pkts = packets(path)
    others.update(flows(pkts, a))
    for _, _, src, dst in pkts:
        if where.setdefault(key(src, dst), path) != path:
            sys.exit(f"flow {key(src, dst)} split between {where[key(src, dst)]} and {path}")
both = [k for k in victim if k in others]
back = [k for k in both if victim[k][1] > others[k][0]]
if back or not both:
    sys.exit(f"{len(back)} of the {len(both)} flows of A on queue 3 and queue 0 or 2 went back")
print(f"# {len(where)} flows on queues 0 and 2, none split; {len(both)} flows of A on queue 3 "
      "then on queue 0 or 2, none back")
PY
	fail "a flow split between queues 0 and 2, or a moved flow back on queue $victim"
info "ok: --failover-move: $moved flows moved, $a_v packets of A on queue $victim; back: $c_victim and $c_hung packets of C"
exit 0
