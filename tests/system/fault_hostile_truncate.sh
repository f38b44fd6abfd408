#!/usr/bin/env bash
# Fault: a hostile consumer truncates its queue's consumer page file. The
# .cons file must be writable by whoever may consume the queue (a member of
# --group), so such a consumer can ftruncate() it under the balancer, which
# maps it. The balancer must survive (only that queue may suffer) and the
# other queues must get every packet: 4 queues on live-paced traffic, three
# read by `ringfan count`, the fourth's .cons file truncated to 0 bytes
# mid-stream.
. "$(dirname "$0")/lib.sh"
need_cmd truncate
. "$(dirname "$0")/fault-helpers.bash"

c=75
n=4
hostile=3
packets=20000
start_replay $c $n $packets 256K
start_counts $c $((n - 1))
wait_until 10 stat_ge $c total.received 2000
truncate -s 0 "$RINGFAN_DIR/$c@$hostile.cons"
info "truncated $RINGFAN_DIR/$c@$hostile.cons to 0 bytes"
# It runs to the end (the truncated queue's packets are its only losses).
wait_lossy $bal $c

for ((q = 0; q < n - 1; q++)); do
	wait_ok "${cons[$q]}" "ringfan count on $c@$q"
	DELIVERED[$q]=$(json_last "$TMP/count.$c.$q.1.json" packets)
done
DELIVERED[$hostile]="(hostile)"
print_figures $c $n
check_eq "$(stat_of $c total.received)" $packets "packets received from the capture"
check_invariant $c
for ((q = 0; q < n - 1; q++)); do
	check_eq "$(stat_of $c queue.$q.dropped)" 0 "drops on $c@$q"
	check_eq "${DELIVERED[$q]}" "${EXPECTED[$q]}" "packets delivered from $c@$q"
done
echo "PASS: a truncated consumer page hurt no one but its own queue"
