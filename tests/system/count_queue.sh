#!/usr/bin/env bash
# ringfan count on a queue fed from known captures by tests/tools/rf-feed:
# counts, bytes and the -w copy (data and timestamps) match the captures; a
# finished queue ends the count; -N leaves the rest for the next consumer; a
# busy queue is refused naming the holder; a producer that goes away is
# reported and waited for (or ends the count with --exit-on-detach).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/count-helpers.bash"
need_pcaps
need_cmd capinfos
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
RF_FEED=$BUILD/tests/tools/rf-feed
[ -x "$RF_FEED" ] || skip "needs $RF_FEED (tests/tools)"

feed() { # queue pcap [options]
	"$RF_FEED" -q "$1" "${@:3}" "$2" >"$TMP/feed-$1.log" 2>&1 || fail "rf-feed $*: $(cat "$TMP/feed-$1.log")"
}

# Finished queues: count drains them and exits 0 by itself.
q=0
for name in test.pcap smtp.pcap; do
	pcap=$PCAPS/$name
	feed "12@$q" "$pcap" --lossless
	timeout 20 "$RINGFAN" count -i "12@$q" --json -w "$TMP/out.pcap" >"$TMP/out.json" 2>"$TMP/out.err" ||
		fail "count on 12@$q exited $?: $(cat "$TMP/out.err")"
	json_check "$TMP/out.json"
	check_eq "$(json_last "$TMP/out.json" packets)" "$(pcap_packets "$pcap")" "$name via 12@$q: packets"
	check_eq "$(json_last "$TMP/out.json" bytes)" "$(pcap_bytes "$pcap")" "$name via 12@$q: bytes"
	check_eq "$(json_last "$TMP/out.json" dropped)" 0 "$name via 12@$q: dropped"
	check_eq "$(json_last "$TMP/out.json" filtered)" 0 "$name via 12@$q: filtered"
	pcap_records "$pcap" ts >"$TMP/want.txt"
	pcap_records "$TMP/out.pcap" ts >"$TMP/got.txt"
	cmp -s "$TMP/want.txt" "$TMP/got.txt" ||
		fail "$name: -w copy differs: $(diff "$TMP/want.txt" "$TMP/got.txt" | head -4 | cut -c1-100)"
	info "ok: $name: -w copy has the capture's packets and timestamps"
	q=$((q + 1))
done

# The text output, with the ringfan: prefix: a final pfcount block.
feed 12@5 "$PCAPS/test.pcap" --lossless
timeout 20 "$RINGFAN" count -i ringfan:12@5 -q >"$TMP/text.out" 2>&1 || fail "count ringfan:12@5: $(cat "$TMP/text.out")"
grep -q '^Absolute Stats: \[179 pkts rcvd\]\[0 pkts dropped\]$' "$TMP/text.out" || fail "text summary: $(cat "$TMP/text.out")"
grep -q '^Total Pkts=179/Dropped=0.0 %$' "$TMP/text.out" || fail "text summary: $(cat "$TMP/text.out")"
grep -q '^179 pkts - 69,000 bytes \[' "$TMP/text.out" || fail "thousands separators: $(cat "$TMP/text.out")"
info "ok: ringfan:12@5 text summary"

# -N takes exactly N; the next consumer resumes after them.
feed 12@6 "$PCAPS/test.pcap" --lossless
timeout 20 "$RINGFAN" count -i 12@6 -N 10 -q --json >"$TMP/n1.json" 2>&1 || fail "count -N 10"
timeout 20 "$RINGFAN" count -i 12@6 -q --json >"$TMP/n2.json" 2>&1 || fail "count after -N 10"
check_eq "$(json_last "$TMP/n1.json" packets)" 10 "-N 10 on a queue"
check_eq "$(json_last "$TMP/n2.json" packets)" 169 "the next consumer gets the rest"

# Busy: a second consumer is refused, naming the queue and the holder's pid.
"$RF_FEED" -q 12@7 --keep-open "$PCAPS/test.pcap" >"$TMP/feed7.log" 2>&1 &
feed_pid=$!
bg_pid "$feed_pid"
wait_until 10 grep -q "^enqueued=179" "$TMP/feed7.log"
"$RINGFAN" count -i 12@7 --json >"$TMP/busy.json" 2>"$TMP/busy.err" &
pid=$!
bg_pid "$pid"
wait_until 10 json_last_is "$TMP/busy.json" packets 179
expect_fail 1 "queue 12@7 is busy: process $pid is attached" "$RINGFAN" count -i 12@7

# The producer dies: reported, waited for; a new producer's packets are counted.
kill -9 "$feed_pid"
wait "$feed_pid" 2>/dev/null || true
wait_until 10 grep -q "producer of queue 12@7 gone; waiting for it to come back" "$TMP/busy.err"
kill -0 "$pid" || fail "count exited when the producer went away"
# The consumer does not run while the new producer comes, publishes, finishes
# and goes (as on a loaded machine): what it left is read all the same.
kill -STOP "$pid"
feed 12@7 "$PCAPS/smtp.pcap" --lossless
kill -CONT "$pid"
rc=0
timeout 20 tail --pid="$pid" -f /dev/null || rc=$?
[ "$rc" == 0 ] || fail "count did not end after the new producer finished the queue"
wait "$pid" || fail "count exited $? after a finished queue"
check_eq "$(json_last "$TMP/busy.json" packets)" $((179 + 125)) "packets over two producers"
grep -q "producer of queue 12@7 is back" "$TMP/busy.err" || fail "no 'back' message: $(cat "$TMP/busy.err")"
json_check "$TMP/busy.json"

# --exit-on-detach: the producer's death ends the count, status 0, with a summary.
"$RF_FEED" -q 12@8 --keep-open "$PCAPS/test.pcap" >"$TMP/feed8.log" 2>&1 &
feed_pid=$!
bg_pid "$feed_pid"
wait_until 10 grep -q "^enqueued=179" "$TMP/feed8.log"
"$RINGFAN" count -i 12@8 --exit-on-detach --json >"$TMP/det.json" 2>"$TMP/det.err" &
pid=$!
bg_pid "$pid"
wait_until 10 json_last_is "$TMP/det.json" packets 179
kill -9 "$feed_pid"
wait "$feed_pid" 2>/dev/null || true
rc=0
wait "$pid" || rc=$?
check_eq "$rc" 0 "--exit-on-detach exit status"
grep -q "producer of queue 12@8 gone" "$TMP/det.err" || fail "detach message: $(cat "$TMP/det.err")"
json_check "$TMP/det.json"

# SIGTERM: final summary, status 0.
"$RF_FEED" -q 12@9 --keep-open "$PCAPS/test.pcap" >"$TMP/feed9.log" 2>&1 &
bg_pid "$!"
wait_until 10 grep -q "^enqueued=179" "$TMP/feed9.log"
"$RINGFAN" count -i 12@9 --json >"$TMP/term.json" 2>&1 &
pid=$!
bg_pid "$pid"
wait_until 10 json_last_is "$TMP/term.json" packets 179
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
check_eq "$rc" 0 "exit status after SIGTERM"
json_check "$TMP/term.json"
check_eq "$(json_last "$TMP/term.json" packets)" 179 "final packets after SIGTERM"

# A user who may not read the queue gets a permission error, status 1.
need_cmd setpriv
feed 12@10 "$PCAPS/test.pcap" --lossless
chmod 0755 "$TMP" "$RINGFAN_DIR"
expect_fail 1 "cannot open queue 12@10: permission denied \(the balancer's --group/--file-mode" \
	setpriv --reuid=65534 --regid=65534 --clear-groups "$RINGFAN" count -i 12@10

# Drops on the queue (a 64 KiB ring fed without waiting) are count's dropped.
"$RF_FEED" -q 12@11 --ring-size 64k "$PCAPS/test.pcap" >"$TMP/feed11.log" 2>&1 || fail "rf-feed 12@11"
enq=$(sed -n 's/^enqueued=//p' "$TMP/feed11.log")
full=$(sed -n 's/^dropped_full=//p' "$TMP/feed11.log")
((full > 0)) || fail "a 64 KiB queue took test.pcap without a drop"
timeout 20 "$RINGFAN" count -i 12@11 -q --json >"$TMP/qdrop.json" 2>&1 || fail "count 12@11"
check_eq "$(json_last "$TMP/qdrop.json" packets)" "$enq" "packets of a queue that dropped"
check_eq "$(json_last "$TMP/qdrop.json" dropped)" "$full" "dropped of a queue that dropped"

# -w - writes the capture to standard output (statistics go to standard error).
feed 12@12 "$PCAPS/smtp.pcap" --lossless
timeout 20 "$RINGFAN" count -i 12@12 -q -w - 2>"$TMP/wdash.err" >"$TMP/wdash.pcap" || fail "count -w -"
check_eq "$(pcap_packets "$TMP/wdash.pcap")" 125 "packets written by -w -"
grep -q "^Absolute Stats: \[125 pkts rcvd\]" "$TMP/wdash.err" || fail "-w -: summary on stderr: $(cat "$TMP/wdash.err")"

# --duration ends the count on a queue that stays open.
"$RF_FEED" -q 12@13 --keep-open "$PCAPS/smtp.pcap" >"$TMP/feed13.log" 2>&1 &
bg_pid "$!"
wait_until 10 grep -q "^enqueued=125" "$TMP/feed13.log"
start=$SECONDS
timeout 20 "$RINGFAN" count -i 12@13 --duration 1.2 -q --json >"$TMP/dur.json" 2>&1 || fail "count --duration"
((SECONDS - start <= 5)) || fail "--duration 1.2 took $((SECONDS - start))s"
check_eq "$(json_last "$TMP/dur.json" packets)" 125 "packets with --duration"
