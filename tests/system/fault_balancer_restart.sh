#!/usr/bin/env bash
# Fault: the balancer is killed (kill -9), started again, stopped cleanly
# (SIGTERM, as systemctl stop/restart sends) and started again, with four
# `ringfan count` consumers attached to its queues all along (a live-paced
# endless replay: a live source). Each time the balancer goes, every
# consumer says the producer is gone and keeps waiting, never "the end";
# the files the balancer left do not keep the next one from starting, and
# it resumes the same queues (same generation, counters going on); every
# consumer says the producer is back and goes on by itself. In the end each
# consumer has received every packet any of the three balancers enqueued
# for its queue, without a drop.
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
said() { [ "$(grep -c "$2" "$TMP/count.$c.$1.1.err")" -ge "$3" ]; } # queue pattern times

# Every consumer says the producer is gone (the Nth time), is still running,
# and has read everything the balancer enqueued.
all_gone() { # times
	local q
	for ((q = 0; q < n; q++)); do
		wait_until 10 said $q "producer of queue $c@$q gone" "$1"
		alive "${cons[$q]}" || fail "the consumer of $c@$q exited when the balancer went"
		check_eq "$(qinfo "$c@$q" producer_pid)" 0 "producer of $c@$q while it is gone"
		check_eq "$(qinfo "$c@$q" finished)" 0 "queue $c@$q finished"
		wait_until 5 read_past $q "$(qinfo "$c@$q" enqueued)"
	done
	info "ok: every consumer said: $(grep gone "$TMP/count.$c.0.1.err" | tail -1)"
}

# The new balancer resumed every queue; every consumer said it is back (the Nth time) and reads.
all_back() { # times
	local q
	for ((q = 0; q < n; q++)); do
		check_eq "$(qinfo "$c@$q" generation)" "${gen[$q]}" "generation of $c@$q"
		wait_until 10 said $q "producer of queue $c@$q is back" "$1"
		wait_until 15 read_past $q $(($(qinfo "$c@$q" consumer_read) + 500))
		check_eq "$(qinfo "$c@$q" consumer_pid)" "${cons[$q]}" "the original consumer of $c@$q is attached"
	done
	info "ok: every consumer goes on with the resumed queues"
}

run_balancer "$TMP/bal1.err"
bal1=$bal
wait_until 10 queues_up $c $n
declare -A cons=() gen=()
for ((q = 0; q < n; q++)); do
	start_count $c $q 1
	cons[$q]=$CPID
	gen[$q]=$(qinfo "$c@$q" generation)
done
for ((q = 0; q < n; q++)); do wait_until 15 read_past $q 1000; done

kill -9 $bal1
wait $bal1 2>/dev/null || true
info "killed the balancer (pid $bal1)"
all_gone 1
[ -e "$RINGFAN_DIR/$c.lock" ] || fail "expected the dead balancer's lock file to remain"
info "stale files: $(ls "$RINGFAN_DIR" | tr '\n' ' ')"

run_balancer "$TMP/bal2.err"
bal2=$bal
wait_until 10 stat_is $c pid $bal2
alive $bal2 || fail "the new balancer did not start: $(cat "$TMP/bal2.err")"
grep -q "queue $c@0: resumed" "$TMP/bal2.err" || fail "no 'resumed' line: $(cat "$TMP/bal2.err")"
all_back 1

kill -TERM $bal2
wait_ok $bal2 "the second balancer (SIGTERM)"
check_eq "$(stat_of $c state)" stopped "the second balancer's final state"
check_invariant $c
all_gone 2

run_balancer "$TMP/bal3.err"
bal3=$bal
wait_until 10 stat_is $c pid $bal3
all_back 2
kill -TERM $bal3
wait_ok $bal3 "the third balancer (SIGTERM)"
all_gone 3

for ((q = 0; q < n; q++)); do
	kill -INT "${cons[$q]}"
	wait_ok "${cons[$q]}" "ringfan count on $c@$q"
	json_final "$TMP/count.$c.$q.1.json" || fail "no final report from the consumer of $c@$q"
	DELIVERED[$q]=$(json_last "$TMP/count.$c.$q.1.json" packets)
done
for ((q = 0; q < n; q++)); do
	check_eq "$(qinfo "$c@$q" producer_starts)" 3 "producers that served $c@$q"
	check_eq "$(($(qinfo "$c@$q" dropped_full) + $(qinfo "$c@$q" dropped_cursor)))" 0 "drops on $c@$q"
	check_eq "${DELIVERED[$q]}" "$(qinfo "$c@$q" enqueued)" "packets the one consumer of $c@$q received from three balancers"
	check_eq "$(json_last "$TMP/count.$c.$q.1.json" dropped)" 0 "drops the consumer of $c@$q reports"
done
check_eq "$(ls "$RINGFAN_DIR"/*.lock | wc -l)" 1 "lock files in $RINGFAN_DIR"
echo "PASS: consumers stayed through a kill -9 and a SIGTERM of their balancer, losing nothing"
