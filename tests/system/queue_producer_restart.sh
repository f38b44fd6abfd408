#!/usr/bin/env bash
# Producer restart: kill -9 the producer mid-stream, start a new one; then
# stop that one cleanly (without finishing the stream) and start a third.
# The consumer, never restarted, reports each loss of the producer once
# (-EPIPE) and goes on with the new producer's records: three producer runs,
# each seen contiguously from its first record, the last two completely.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue-helpers.bash"

q=64@0
n=30000

"$QSTRESS" produce --records 0 --rate 50000 --min 60 --max 1500 "$q" >"$TMP/p1" &
p1=$!
bg_pid $p1
wait_until 10 queue_up "$q"
"$QSTRESS" consume --idle 20 --status "$TMP/c.st" "$q" >"$TMP/c" &
c=$!
bg_pid $c
past() { local v; v=$(st "$TMP/c.st" "$1"); [ -n "$v" ] && ((v >= $2)); }
wait_until 20 past received 20000

kill -9 $p1
wait $p1 2>/dev/null || true
wait_until 10 past epipe 1
info "ok: the consumer saw the killed producer go"

"$QSTRESS" produce --records $n --rate 50000 --min 60 --max 1500 --no-finish "$q" >"$TMP/p2" ||
	fail "second producer: $(cat "$TMP/p2")"
run2=$(kv "$TMP/p2" run)
caught_up() { [ "$(st "$TMP/c.st" run)" == "$1" ] && [ "$(st "$TMP/c.st" recv_last)" == $((n - 1)) ]; }
wait_until 10 caught_up "$run2"
wait_until 10 past epipe 2
info "ok: the consumer received the second producer's records and saw it stop"

"$QSTRESS" produce --records $n --rate 50000 --min 60 --max 1500 "$q" >"$TMP/p3" ||
	fail "third producer: $(cat "$TMP/p3")"
wait_exit $c consumer

check_eq "$(kv "$TMP/c" epipe)" 2 "producer losses reported"
check_eq "$(kv "$TMP/c" runs)" 3 "producer runs seen"
check_eq "$(kv "$TMP/c" eof)" 1 "end of stream"
check_eq "$(kv "$TMP/c" bad_sum)/$(kv "$TMP/c" bad_meta)" 0/0 "corrupt records"
check_eq "$(kv "$TMP/c" run0.first)/$(kv "$TMP/c" run0.gaps)/$(kv "$TMP/c" run0.backwards)" 0/0/0 \
	"killed producer's run: first/gaps/out of order"
for r in 1 2; do
	check_eq "$(kv "$TMP/c" run$r.first)/$(kv "$TMP/c" run$r.last)/$(kv "$TMP/c" run$r.count)/$(kv "$TMP/c" run$r.gaps)" \
		"0/$((n - 1))/$n/0" "run $r: first/last/count/gaps"
done
check_eq "$(kv "$TMP/c" stats.producer_restarts)" 2 "producer restarts counted by the library"
