#!/usr/bin/env bash
# examples/consumer (linked against the shared libringfan) fed by rf-feed:
# per-packet lines match tshark's reading of the capture; the counts match
# through a ring smaller than the capture (lossless backpressure); a finished
# queue ends it; missing, busy and unreadable queues are clear errors.
. "$(dirname "$0")/lib.sh"
need_pcaps
need_cmd tshark capinfos
FEED=$BUILD/tests/tools/rf-feed
CONSUMER=$BUILD/examples/consumer
[ -x "$FEED" ] || skip "needs $FEED"
[ -x "$CONSUMER" ] || skip "needs $CONSUMER"

pcap=$PCAPS/test.pcap
npkts=$(capinfos -M -c -T "$pcap" | awk -F'\t' 'NR == 2 { print $2 }')
nbytes=$(tshark -r "$pcap" -T fields -e frame.cap_len | awk '{ s += $1 } END { print s }')

# The example is linked against the shared library, not the archive.
libs=$(ldd "$CONSUMER")
grep -q 'libringfan\.so\.0 =>' <<<"$libs" || fail "consumer does not use libringfan.so.0: $libs"

# Per-packet lines: timestamp, wire and captured length, in capture order.
"$FEED" -q 21@0 --lossless "$pcap" >"$TMP/feed0.out" || fail "rf-feed 21@0"
check_eq "$(sed -n 's/^enqueued=//p' "$TMP/feed0.out")" "$npkts" "rf-feed enqueued"
timeout 20 "$CONSUMER" 21@0 >"$TMP/lines.out" || fail "consumer 21@0 exited $?"
grep ' len=' "$TMP/lines.out" | awk '{ split($2, l, "="); split($3, c, "="); print $1, l[2], c[2] }' >"$TMP/got.txt"
tshark -r "$pcap" -T fields -e frame.time_epoch -e frame.len -e frame.cap_len |
	tr '\t' ' ' >"$TMP/want.txt"
cmp -s "$TMP/got.txt" "$TMP/want.txt" || fail "packet lines differ: $(diff "$TMP/got.txt" "$TMP/want.txt" | head -4)"
info "ok: $npkts packet lines match tshark"
check_eq "$(tail -1 "$TMP/lines.out")" "packets=$npkts bytes=$nbytes dropped=0 corrupt=0" "summary"

# Lossless through a 16 KiB ring: the feeder waits for the consumer.
"$FEED" -q 21@1 --ring-size 16k --lossless "$pcap" >"$TMP/feed1.out" 2>&1 &
feed_pid=$!
bg_pid "$feed_pid"
wait_until 10 test -s "$RINGFAN_DIR/21@1.ring"
timeout 20 "$CONSUMER" -c 21@1 >"$TMP/count.out" || fail "consumer -c 21@1 exited $?"
wait "$feed_pid" || fail "rf-feed 21@1 exited $?"
check_eq "$(cat "$TMP/count.out")" "packets=$npkts bytes=$nbytes dropped=0 corrupt=0" "counts through a small ring"
check_eq "$(sed -n 's/^dropped=//p' "$TMP/feed1.out")" 0 "rf-feed drops with --lossless"

# Errors: missing, busy, not readable.
expect_fail 1 "cannot open queue 21@9: No such file or directory" "$CONSUMER" 21@9
expect_fail 2 "usage" "$CONSUMER" 21@x 21@y
expect_fail 1 "cannot open queue 21@x: Invalid argument" "$CONSUMER" 21@x
"$FEED" -q 21@2 --keep-open "$pcap" >/dev/null &
bg_pid $!
wait_until 10 test -s "$RINGFAN_DIR/21@2.ring"
"$CONSUMER" -c 21@2 >/dev/null &
cons_pid=$!
bg_pid "$cons_pid"
attached() { "$BUILD/tests/tools/qstress" query 21@2 | grep -q '^consumer_pid=[1-9]'; }
if [ -x "$BUILD/tests/tools/qstress" ]; then wait_until 10 attached; else sleep 0.5; fi
expect_fail 1 "cannot open queue 21@2: Device or resource busy" "$CONSUMER" 21@2
kill "$cons_pid"
wait "$cons_pid" || fail "consumer did not exit cleanly on SIGTERM"
if ((EUID == 0)) && command -v setpriv >/dev/null; then
	# Copies, with the library, that nobody can run wherever the build tree is.
	pub=$(pub_copy "$CONSUMER" "$BUILD/lib/libringfan.so.0")
	chmod 755 "$TMP"
	expect_fail 1 "cannot open queue 21@2: Permission denied" env LD_LIBRARY_PATH="$TMP/pub" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$pub" 21@2
fi
