#!/usr/bin/env bash
# Fault: a consumer hangs. Its `ringfan count` is stopped (SIGSTOP) for
# several seconds while the balancer replays a capture at a live pace into
# 4 small queues, so the hung queue overflows; then SIGCONT. Only the hung
# queue drops, and counts it (the consumer reports the same drops); the
# other queues lose nothing; the hung consumer recovers and receives packets
# the balancer enqueued after it came back; every enqueued packet is delivered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault-helpers.bash"

c=72
n=4
victim=2
packets=45000
# 256 KiB rings hold a couple of seconds of a queue's ~1000 packets/s.
start_replay $c $n $packets 256K
start_counts $c $n

read_past() { local v; v=$(qinfo "$c@$victim" consumer_read); [ -n "$v" ] && ((v >= $1)); }
wait_until 15 read_past 1000
kill -STOP "${cons[$victim]}"
info "stopped the consumer of $c@$victim"
dropping() { local v; v=$(qinfo "$c@$victim" dropped_full); [ -n "$v" ] && ((v > 0)); }
wait_until 10 dropping
sleep 3
alive $bal || fail "the balancer ended while the consumer was stopped (raise the capture's length)"
enq_at_cont=$(qinfo "$c@$victim" enqueued)
drops_at_cont=$(qinfo "$c@$victim" dropped_full)
kill -CONT "${cons[$victim]}"
info "resumed the consumer of $c@$victim: enqueued $enq_at_cont, dropped $drops_at_cont so far"
# It recovers: it reads past what was enqueued when it came back, while the balancer still runs.
wait_until 10 read_past $((enq_at_cont + 500))
alive $bal || fail "the balancer ended before the hung consumer could show it recovered"
info "ok: the consumer of $c@$victim receives again (read past $((enq_at_cont + 500)))"

wait_lossy $bal $c
for ((q = 0; q < n; q++)); do
	wait_ok "${cons[$q]}" "ringfan count on $c@$q"
	f=$TMP/count.$c.$q.1.json
	json_final "$f" || fail "no final report from the consumer of $c@$q"
	DELIVERED[$q]=$(json_last "$f" packets)
done
print_figures $c $n

check_eq "$(stat_of $c state)" finished "balancer state"
check_eq "$(stat_of $c total.received)" $packets "packets received from the capture"
check_invariant $c
for ((q = 0; q < n; q++)); do
	check_eq "${DELIVERED[$q]}" "$(stat_of $c queue.$q.enqueued)" "every packet enqueued on $c@$q delivered"
	if ((q == victim)); then
		continue
	fi
	check_eq "$(stat_of $c queue.$q.dropped)" 0 "drops on $c@$q"
	check_eq "${DELIVERED[$q]}" "${EXPECTED[$q]}" "packets delivered from $c@$q"
done
drops=$(stat_of $c queue.$victim.dropped)
((drops >= drops_at_cont && drops > 0)) || fail "the hung queue counted $drops drops"
check_eq "$(stat_of $c queue.$victim.dropped_full)" "$drops" "the hung queue's drops are all 'full'"
check_eq "$((${DELIVERED[$victim]} + drops))" "${EXPECTED[$victim]}" "delivered + dropped on the hung queue"
check_eq "$(json_last "$TMP/count.$c.$victim.1.json" dropped)" "$drops" "drops the hung consumer reports"
echo "PASS: a hung consumer made only its own queue drop ($drops, counted) and recovered"
