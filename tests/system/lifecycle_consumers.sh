#!/usr/bin/env bash
# What a consumer can rely on through the life cycle:
#  - the queue tells its link type: `count` filters, prints and writes the
#    packets of a raw-IP source as raw IP (not as Ethernet);
#  - `count -w` hands a burst to its file before it commits the cursor:
#    killed -9 and restarted under a paced replay, the two files together
#    hold every packet of the queue, and the first one ends on a whole record;
#  - the library example neither ends nor loses anything when its balancer
#    (a live-like replay) is stopped and started again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/count-helpers.bash"
need_pcaps
need_cmd capinfos tcpdump tshark
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")

# ---- the link type travels with the queue ----
raw=$PCAPS/four_ipv6_http_streams.pcap
"$RINGFAN" balance -i "pcap:$raw" -c 40 -n 1 2>/dev/null || fail "replay of a raw-IP capture"
check_eq "$(qinfo 40@0 linktype)" 12 "link type of the queue (DLT_RAW)"
"$RINGFAN" count -i 40@0 -v -q --stop-at-end -w "$TMP/raw.pcap" >"$TMP/raw.lines" 2>/dev/null ||
	fail "count -v -w on a raw-IP queue"
"${CMP[@]}" same "$raw" "$TMP/raw.pcap" || fail "count -w wrote the raw-IP queue wrongly"
grep -q "^[0-9:.]* ipv6>tcp \\[2001:" "$TMP/raw.lines" || fail "count -v did not decode IPv6: $(head -2 "$TMP/raw.lines")"
! grep -q "non_ip" "$TMP/raw.lines" || fail "count -v took raw IP for Ethernet: $(head -2 "$TMP/raw.lines")"
"$RINGFAN" balance -i "pcap:$raw" -c 40 -n 1 2>/dev/null || fail "second replay of a raw-IP capture"
"$RINGFAN" count -i 40@0 -f "src port 80" -q --json >"$TMP/raw.json" 2>/dev/null || fail "count -f"
check_eq "$(json_last "$TMP/raw.json" packets)" "$(pcap_filter_count "$raw" "src port 80")" \
	"packets passing 'src port 80' (tcpdump -r on the capture)"
info "ok: filter, packet lines and file of a raw-IP queue are raw IP"

# ---- count -w killed -9: nothing committed is lost ----
"$RINGFAN" gen -o "$TMP/in.pcap" --flows 200 --packets 6000 --seed 40 -q || fail "gen"
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 41 -n 1 --rate 3000 2>"$TMP/bal41.err" &
bal=$!
bg_pid $bal
"$RINGFAN" count -i 41@0 --wait=10 -q -w "$TMP/k1.pcap" >/dev/null 2>&1 &
k1=$!
bg_pid $k1
read_past() { local v; v=$(qinfo 41@0 consumer_read); [ -n "$v" ] && ((v >= $1)); }
wait_until 15 read_past 2000
kill -9 $k1
wait $k1 2>/dev/null || true
committed=$(qinfo 41@0 consumer_read)
"$RINGFAN" count -i 41@0 -q -w "$TMP/k2.pcap" >/dev/null 2>&1 &
k2=$!
bg_pid $k2
wait $bal || fail "the paced replay exited $?"
wait $k2 || fail "the restarted count exited $?"
info "the first count had committed $committed packets when it was killed"
"${CMP[@]}" count "$TMP/k1.pcap" >/dev/null || fail "the killed count's file is cut mid-record"
(($("${CMP[@]}" count "$TMP/k1.pcap") >= committed)) ||
	fail "the killed count's file holds fewer packets ($("${CMP[@]}" count "$TMP/k1.pcap")) than it committed ($committed)"
"${CMP[@]}" covers "$TMP/in.pcap" "$TMP/k1.pcap" "$TMP/k2.pcap" || fail "packets lost across the kill"
info "ok: the two files of a count killed -9 and restarted hold every packet"

# ---- the example consumer through a stop and a start of its balancer ----
CONSUMER=$BUILD/examples/consumer
[ -x "$CONSUMER" ] || skip "examples/consumer is not built"
run_live() { "$RINGFAN" balance -i "pcap:$TMP/in.pcap" --loop 0 --rate 2000 -c 42 -n 1 2>>"$TMP/bal42.err" & bal=$!; bg_pid $bal; }
run_live
"$CONSUMER" -c -w 42@0 >"$TMP/ex.out" 2>"$TMP/ex.err" &
ex=$!
bg_pid $ex
ex_read() { local v; v=$(qinfo 42@0 consumer_read); [ -n "$v" ] && ((v >= $1)); }
wait_until 10 ex_read 500
kill -TERM $bal
wait $bal || fail "balancer exited $? on SIGTERM"
wait_until 5 grep -q "producer of queue 42@0 gone" "$TMP/ex.err"
sleep 0.3
alive $ex || fail "the example consumer ended when its balancer stopped: $(cat "$TMP/ex.err")"
before=$(qinfo 42@0 consumer_read)
run_live
wait_until 10 ex_read $((before + 500))
kill -TERM $bal
wait $bal || fail "second balancer exited $?"
wait_until 5 ex_read "$(qinfo 42@0 enqueued)"
kill -INT $ex
wait $ex || fail "the example consumer exited $?"
check_eq "$(sed -n 's/^packets=\([0-9]*\).*/\1/p' "$TMP/ex.out")" "$(qinfo 42@0 enqueued)" \
	"packets the example received from two balancers"
echo "PASS"
