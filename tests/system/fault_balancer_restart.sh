#!/usr/bin/env bash
# Fault: the balancer is killed (kill -9) and started again. Four
# `ringfan count` consumers are attached to its queues (live-paced endless
# replay). After the kill every consumer says the producer is gone and
# waits; the files the dead balancer left (lock, queues, stats) do not keep
# a new balancer with the same cluster id from starting; every consumer
# re-attaches by itself (same process, no restart) and counts the new
# balancer's packets. A final SIGTERM finishes the queues: each consumer
# drains and ends, having received everything of both balancers that it was
# given, without a drop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault-helpers.bash"

c=74
n=4
"$RINGFAN" gen -o "$TMP/in.pcap" --flows 400 --packets 20000 --seed 74 -q || fail "ringfan gen failed"
run_balancer() { # log
	"$RINGFAN" balance -i "pcap:$TMP/in.pcap" --loop 0 --rate 4000 -c $c -n $n --ring-size 4M \
		2>"$1" &
	bal=$!
	bg_pid $bal
}
read_past() { local v; v=$(qinfo "$c@$1" consumer_read); [ -n "$v" ] && ((v >= $2)); }

run_balancer "$TMP/bal1.err"
bal1=$bal
wait_until 10 queues_up $c $n
gen1=$(qinfo "$c@0" generation)
declare -A cons=()
for ((q = 0; q < n; q++)); do
	start_count $c $q 1
	cons[$q]=$CPID
done
for ((q = 0; q < n; q++)); do wait_until 15 read_past $q 1000; done

kill -9 $bal1
wait $bal1 2>/dev/null || true
info "killed the balancer (pid $bal1)"
# Every consumer notices, says so, and keeps running.
for ((q = 0; q < n; q++)); do
	wait_until 10 grep -q "producer of queue $c@$q gone" "$TMP/count.$c.$q.1.err"
	alive "${cons[$q]}" || fail "the consumer of $c@$q exited when the balancer died"
done
info "ok: every consumer said: $(head -1 "$TMP/count.$c.0.1.err")"
# What the dead balancer left: its queues (all read) and its lock.
[ -e "$RINGFAN_DIR/$c.lock" ] || fail "expected the dead balancer's lock file to remain"
declare -A read1=()
for ((q = 0; q < n; q++)); do
	check_eq "$(qinfo "$c@$q" producer_pid)" 0 "producer of $c@$q after the kill"
	read1[$q]=$(qinfo "$c@$q" consumer_read)
	check_eq "${read1[$q]}" "$(qinfo "$c@$q" enqueued)" "$c@$q: the consumer read all the dead balancer had enqueued"
done
info "stale files: $(ls "$RINGFAN_DIR" | tr '\n' ' ')"

run_balancer "$TMP/bal2.err"
bal2=$bal
wait_until 10 stat_is $c pid $bal2
alive $bal2 || fail "the new balancer did not start: $(cat "$TMP/bal2.err")"
info "ok: a new balancer with cluster id $c started over the dead one's files (pid $bal2)"
gen2=$(qinfo "$c@0" generation)
[ "$gen2" != "$gen1" ] || fail "the queues kept generation $gen1"
for ((q = 0; q < n; q++)); do
	wait_until 15 read_past $q 1000
	check_eq "$(qinfo "$c@$q" consumer_pid)" "${cons[$q]}" "the original consumer of $c@$q is attached again"
	wait_until 5 grep -q "producer of queue $c@$q is back" "$TMP/count.$c.$q.1.err"
done
info "ok: every consumer re-attached by itself and receives again"

kill -TERM $bal2
wait_ok $bal2 "the new balancer (SIGTERM)"
for ((q = 0; q < n; q++)); do
	wait_ok "${cons[$q]}" "ringfan count on $c@$q"
	json_final "$TMP/count.$c.$q.1.json" || fail "no final report from the consumer of $c@$q"
	DELIVERED[$q]=$(json_last "$TMP/count.$c.$q.1.json" packets)
	EXPECTED[$q]=$((read1[$q] + $(stat_of $c queue.$q.enqueued)))
done
info "expected = read from the first balancer + enqueued by the second"
print_figures $c $n
check_eq "$(stat_of $c state)" stopped "the new balancer's final state"
check_invariant $c
for ((q = 0; q < n; q++)); do
	check_eq "$(stat_of $c queue.$q.dropped)" 0 "drops on $c@$q (second balancer)"
	check_eq "${DELIVERED[$q]}" "${EXPECTED[$q]}" "packets the one consumer of $c@$q received from both balancers"
	check_eq "$(json_last "$TMP/count.$c.$q.1.json" dropped)" 0 "drops the consumer of $c@$q reports"
done
check_eq "$(ls "$RINGFAN_DIR"/*.lock | wc -l)" 1 "lock files in $RINGFAN_DIR"
echo "PASS: consumers survived a balancer killed -9 and re-attached to its successor by themselves"
