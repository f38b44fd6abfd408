#!/usr/bin/env bash
# Crash and resume: kill -9 a consumer mid-stream, start a new one within the
# ring's buffer window. The new consumer must start exactly at the committed
# cursor (just after the last record its predecessor released), receive every
# record from there on (zero loss), and the only duplicates are the tail the
# dead consumer had received but not released, delivered again contiguously.
# The other queue of the same producer must not see a single drop.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue-helpers.bash"

records=${QSTRESS_RECORDS:-400000}
victim=63@0
other=63@1

"$QSTRESS" produce --records "$records" --rate 40000 --min 60 --max 1500 --ring-size $((64 << 20)) \
	"$victim" "$other" >"$TMP/prod" &
prod=$!
bg_pid $prod
wait_until 10 queue_up "$victim"
wait_until 10 queue_up "$other"

"$QSTRESS" consume --idle 20 "$other" >"$TMP/other" &
other_pid=$!
bg_pid $other_pid

# The victim holds back a tail: it releases after every 4th receive of up to 16.
"$QSTRESS" consume --idle 20 --batch 16 --release-every 4 --status "$TMP/a.st" "$victim" >/dev/null &
a=$!
bg_pid $a
a_past() { local n; n=$(st "$TMP/a.st" received); [ -n "$n" ] && ((n > $1)); }
wait_until 20 a_past 100000
kill -9 $a
wait $a 2>/dev/null || true
recv_last=$(st "$TMP/a.st" recv_last)
released=$(st "$TMP/a.st" released)
pending=$(st "$TMP/a.st" pending)
info "killed the consumer: last received $recv_last, released up to $released (release of $pending in progress)"
((recv_last > released)) || info "(no unreleased tail this time)"

wait_until 5 consumer_gone "$victim"
"$QSTRESS" consume --idle 20 --status "$TMP/b.st" "$victim" >"$TMP/b" || fail "second consumer: $(tr '\n' ' ' <"$TMP/b")"
first=$(kv "$TMP/b" run0.first)
# The committed cursor is the last completed release, or the one in progress at the kill.
[ "$((first - 1))" == "$released" ] || [ "$((first - 1))" == "$pending" ] ||
	fail "second consumer started at $first; the committed cursor was after $released (or $pending)"
info "ok: resumed at $first, right after the committed cursor"
((first <= recv_last + 1)) || fail "lost records $((recv_last + 1))..$((first - 1))"
check_eq "$(kv "$TMP/b" run0.gaps)" 0 "gaps after the restart"
check_eq "$(kv "$TMP/b" run0.last)" $((records - 1)) "last record"
check_eq "$(kv "$TMP/b" received)" $((records - first)) "records received after the restart"
check_eq "$(kv "$TMP/b" bad_sum)/$(kv "$TMP/b" bad_meta)/$(kv "$TMP/b" run0.backwards)" 0/0/0 \
	"corrupt/bad metadata/out of order"
check_eq "$(kv "$TMP/b" eof)" 1 "end of stream"
info "ok: re-delivered the unreleased tail $first..$recv_last ($((recv_last - first + 1)) records) once, contiguously"

wait_exit $prod producer
wait_exit $other_pid "consumer of $other"
check_eq "$(kv "$TMP/other" received)/$(kv "$TMP/other" run0.gaps)" "$records/0" "$other: received/gaps"
check_eq "$(kv "$TMP/prod" q0.dropped_full)/$(kv "$TMP/prod" q1.dropped_full)" 0/0 "dropped_full on $victim/$other"
check_eq "$(kv "$TMP/prod" q0.dropped_cursor)/$(kv "$TMP/prod" q1.dropped_cursor)" 0/0 \
	"dropped_cursor on $victim/$other"
