#!/usr/bin/env bash
# Fault: a hostile consumer. While `ringfan balance` replays a capture at a
# live pace into 4 queues of 512 KiB (three read by `ringfan count`), the consumer of
# the fourth queue first writes through a packet's data pointer (it must
# die of SIGSEGV, in its own process only) and tries to make the data
# mapping writable (EACCES), then attaches again and writes random values
# into its writable consumer page, 1000 times a second, until the end. The
# balancer and the other queues must not notice: zero drops, every packet,
# the balancer ends normally; only the hostile queue may drop (counted as
# a nonsense cursor).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault-helpers.bash"

c=73
n=4
hostile=3
packets=40000
start_replay $c $n $packets 512K
start_counts $c $((n - 1))

# 1: write to packet data through the read-only mapping.
rc=0
"$QSTRESS" poke "$c@$hostile" write-data 2>"$TMP/poke.err" || rc=$?
grep -q 'writing to packet data' "$TMP/poke.err" || fail "the poke did not reach the write: $(cat "$TMP/poke.err")"
if grep -q 'AddressSanitizer: SEGV' "$TMP/poke.err"; then
	grep -q 'caused by a WRITE' "$TMP/poke.err" || fail "SEGV, but not on the write: $(cat "$TMP/poke.err")"
	info "ok: the consumer that wrote to packet data got SIGSEGV (reported by ASan, exit $rc)"
else
	check_eq "$rc" 139 "exit status of the consumer that wrote to packet data (128 + SIGSEGV)"
fi
wait_until 5 consumer_gone "$c@$hostile"
alive $bal || fail "the balancer died after a consumer faulted on packet data"

# 2: make the packet data writable.
"$QSTRESS" poke "$c@$hostile" mprotect >"$TMP/mprotect" 2>&1 || fail "mprotect poke: $(cat "$TMP/mprotect")"
check_eq "$(sed -n 's/^mprotect=//p' "$TMP/mprotect")" "Permission denied" "mprotect(PROT_WRITE) of packet data"
wait_until 5 consumer_gone "$c@$hostile"

# 3: garbage in the consumer page for the rest of the stream.
"$QSTRESS" hostile --seconds 60 --hz 1000 --seed 73 "$c@$hostile" "$RINGFAN_DIR/$c@$hostile.cons" \
	>"$TMP/hostile" 2>&1 &
hpid=$!
bg_pid $hpid
wait_lossy $bal $c
alive $hpid || fail "the scribbling consumer ended early: $(cat "$TMP/hostile")"
kill $hpid
wait $hpid 2>/dev/null || true

for ((q = 0; q < n - 1; q++)); do
	wait_ok "${cons[$q]}" "ringfan count on $c@$q"
	json_final "$TMP/count.$c.$q.1.json" || fail "no final report from the consumer of $c@$q"
	DELIVERED[$q]=$(json_last "$TMP/count.$c.$q.1.json" packets)
done
DELIVERED[$hostile]="(hostile)"
print_figures $c $n

check_eq "$(stat_of $c state)" finished "balancer state (it ran to the end)"
check_eq "$(stat_of $c total.received)" $packets "packets received from the capture"
check_invariant $c
for ((q = 0; q < n - 1; q++)); do
	check_eq "$(stat_of $c queue.$q.dropped)" 0 "drops on $c@$q"
	check_eq "$(stat_of $c queue.$q.enqueued)" "${EXPECTED[$q]}" "packets enqueued on $c@$q"
	check_eq "${DELIVERED[$q]}" "${EXPECTED[$q]}" "packets delivered from $c@$q"
	check_eq "$(json_last "$TMP/count.$c.$q.1.json" dropped)" 0 "drops the consumer of $c@$q reports"
done
# The hostile queue: every packet it was given is either enqueued or a counted drop.
check_eq "$(($(stat_of $c queue.$hostile.enqueued) + $(stat_of $c queue.$hostile.dropped)))" \
	"${EXPECTED[$hostile]}" "hostile queue $c@$hostile: enqueued + dropped"
# 512 KiB rings wrap a few times, so the balancer had to read the scribbled
# cursor to find space: it must have refused it (else the test proved nothing).
dc=$(stat_of $c queue.$hostile.dropped_cursor)
((dc > 0)) || fail "the hostile queue counted no nonsense-cursor drops: the scribbles were never seen"
info "ok: hostile queue $c@$hostile: dropped_cursor $dc, dropped_full $(stat_of $c queue.$hostile.dropped_full)"
echo "PASS: a consumer that faulted on packet data and scribbled on its page hurt nobody else"
