#!/usr/bin/env bash
# Egress to pcap files and FIFOs (-r Q:pcap:PATH): what a queue receives
# comes out byte for byte, with its captured and wire lengths and its
# timestamp to the nanosecond; a FIFO reader sees the packets while the
# balancer is still running.
source "$(dirname "$0")/lib.sh"
need_pcaps
need_cmd tcpdump tshark
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")
"$RINGFAN" balance --help >/dev/null 2>&1 || skip "ringfan balance is not built"


# One queue, egress to a file: the file equals the input.
cluster=20
for f in combined.pcap smtp.pcap timestamp.pcap ipv6-gtp6.pcap arkime_synthetic.pcap \
	ndpi-merged-ether.pcap; do
	out=$TMP/${f%.pcap}.out.pcap
	"$RINGFAN" balance -i "pcap:$PCAPS/$f" -c $cluster -n 1 -r "0:pcap:$out" 2>"$TMP/err" ||
		fail "balance into pcap:$out failed: $(cat "$TMP/err")"
	"${CMP[@]}" same "$PCAPS/$f" "$out" || fail "$f: egress output differs from the input"
	! grep -q "failed" "$TMP/err" || fail "$f: $(cat "$TMP/err")"
	# tshark agrees: nanosecond timestamps, Ethernet, every length (small files: it is slow).
	if [ "$(stat -c %s "$out")" -lt 1000000 ]; then
		tshark -n -r "$PCAPS/$f" -T fields -e frame.time_epoch -e frame.len \
			-e frame.cap_len -e eth.type >"$TMP/want.txt" 2>/dev/null
		tshark -n -r "$out" -T fields -e frame.time_epoch -e frame.len \
			-e frame.cap_len -e eth.type >"$TMP/got.txt" 2>/dev/null
		cmp -s "$TMP/want.txt" "$TMP/got.txt" || fail "$f: tshark sees other times or lengths"
	fi
	rm -f "$out"
	cluster=$((cluster + 1))
done
info "ok: pcap egress reproduces every capture"

# Several queues of one balancer, each to its own file, with the same
# packets (fanout): every file is complete.
"$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" -c 30 -n 3 -m fanout \
	-r "0:pcap:$TMP/f0.pcap" -r "1:pcap:$TMP/f1.pcap" -r "2:pcap:$TMP/f2.pcap" ||
	fail "fanout balance failed"
"${CMP[@]}" fanout "$PCAPS/smtp.pcap" "$TMP/f0.pcap" "$TMP/f1.pcap" "$TMP/f2.pcap" ||
	fail "fanout outputs differ from the input"

# A FIFO: tcpdump reads it live. The replay is paced so that it lasts a
# second or two; the copy must grow while the balancer still runs.
mkfifo "$TMP/fifo"
tcpdump -n -r "$TMP/fifo" -U -w "$TMP/fifo-copy.pcap" 2>"$TMP/tcpdump.err" &
tpid=$!
bg_pid $tpid
"$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" -c 31 -n 1 --rate 80 -r "0:pcap:$TMP/fifo" \
	2>"$TMP/bal.err" &
bpid=$!
bg_pid $bpid
grown() { [ "$(stat -c %s "$TMP/fifo-copy.pcap" 2>/dev/null || echo 0)" -gt 200 ]; }
wait_until 10 grown
kill -0 $bpid 2>/dev/null || fail "the balancer ended before the FIFO reader saw anything"
info "ok: the FIFO reader sees packets while the balancer runs"
wait $bpid || fail "balance into a FIFO failed: $(cat "$TMP/bal.err")"
wait $tpid || fail "tcpdump -r FIFO failed: $(cat "$TMP/tcpdump.err")"
"${CMP[@]}" same "$PCAPS/smtp.pcap" "$TMP/fifo-copy.pcap" || fail "FIFO copy differs from the input"

# The reader attaches only after the balancer started: the packets wait.
rm -f "$TMP/fifo-copy.pcap"
"$RINGFAN" balance -i "pcap:$PCAPS/combined.pcap" -c 32 -n 1 -r "0:pcap:$TMP/fifo" \
	2>"$TMP/bal.err" &
bpid=$!
bg_pid $bpid
sleep 0.5
tcpdump -n -r "$TMP/fifo" -w "$TMP/fifo-copy.pcap" 2>"$TMP/tcpdump.err" ||
	fail "late tcpdump -r FIFO failed: $(cat "$TMP/tcpdump.err")"
wait $bpid || fail "balance into a late FIFO failed: $(cat "$TMP/bal.err")"
"${CMP[@]}" same "$PCAPS/combined.pcap" "$TMP/fifo-copy.pcap" || fail "late FIFO copy differs"

# Start-up errors name the target.
expect_fail 1 "cannot start egress of queue 0 to 'pcap:$TMP/no/such/dir/x.pcap'.*No such file" \
	"$RINGFAN" balance -i "pcap:$PCAPS/combined.pcap" -c 33 -n 1 \
	-r "0:pcap:$TMP/no/such/dir/x.pcap"
echo "PASS"
