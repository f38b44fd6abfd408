#!/usr/bin/env bash
# libringfan-pcap under a small libpcap program (tests/tools/pcap-probe,
# linked with libpcap only) making the calls Zeek (non-blocking, poll on
# pcap_get_selectable_fd, pcap_next_ex), Suricata (blocking, pcap_dispatch
# with a count and a read timeout) and tcpdump (pcap_loop) make: every way
# gets the queue's packets, in order, byte for byte; the end of a run is the
# end of a file; the fd is readable when packets wait and not when idle;
# filters are compiled against the queue's link type; pcap_breakloop()
# ends a wait; a producer gone and back is waited for, without loss;
# pcap_findalldevs() lists the queues; errors are clear. A handle of
# several queues (ringfan:C@Q,C@R) gets the union, each queue in its order,
# its fd readable when any has packets, its end when all ended.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pcap-helpers.bash"
need_pcaps
need_cmd tcpdump capinfos
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
RF_FEED=$BUILD/tests/tools/rf-feed
PROBE=$BUILD/tests/tools/pcap-probe
[ -x "$RF_FEED" ] && [ -x "$PROBE" ] || skip "needs tests/tools (rf-feed, pcap-probe)"
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")
probe() { timeout 20 env LD_PRELOAD="$PRELOAD" "$PROBE" "$@"; }
feed() { # queue pcap [options]
	"$RF_FEED" -q "$1" "${@:3}" "$2" >"$TMP/feed-$1.log" 2>&1 || fail "rf-feed $*: $(cat "$TMP/feed-$1.log")"
}
field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }

# A finished queue read each way: the whole capture, in order, then the end.
pcap=$PCAPS/smtp.pcap
n=$(capinfos -c -M "$pcap" | awk -F': *' '/^Number of packets/ {print $2}')
q=0
for mode in zeek suricata loop next; do
	feed "50@$q" "$pcap" --lossless
	# Suricata's loop has no end of its own: it stops after the count.
	stop=()
	[ "$mode" != suricata ] || stop=(-n "$n")
	out=$(probe "$mode" "ringfan:50@$q" "$TMP/$mode.pcap" "${stop[@]}") || fail "$mode: $out"
	"${CMP[@]}" same "$pcap" "$TMP/$mode.pcap" || fail "$mode: the packets differ from the capture"
	check_eq "$(field "$out" recv)/$(field "$out" drop)/$(field "$out" dlt)" "$n/0/EN10MB" \
		"$mode: pcap_stats received/dropped and pcap_datalink"
	q=$((q + 1))
done
# The end of a run: pcap_next_ex says -2 (PCAP_ERROR_BREAK), pcap_loop returns 0.
feed 50@8 "$pcap" --lossless
check_eq "$(field "$(probe next ringfan:50@8 "$TMP/n.pcap")" rc)" -2 "pcap_next_ex at the end of a run"
feed 50@9 "$pcap" --lossless
check_eq "$(field "$(probe loop ringfan:50@9 "$TMP/l.pcap")" rc)" 0 "pcap_loop at the end of a run"

# Nanosecond timestamps survive (the queue keeps them; a nano handle hands them).
feed 50@10 "$PCAPS/timestamp.pcap" --lossless
timeout 20 env LD_PRELOAD="$PRELOAD" "${FOREIGN[@]}" tcpdump -q --time-stamp-precision nano -i ringfan:50@10 \
	-w "$TMP/ts.pcap" 2>/dev/null || fail "tcpdump --time-stamp-precision nano"
"${CMP[@]}" same "$PCAPS/timestamp.pcap" "$TMP/ts.pcap" || fail "nanosecond timestamps differ"
info "ok: nanosecond timestamps"

# Zeek's way on a live queue (paced, not finished; Zeek's 1 ms packet
# buffer timeout): woken by the fd as packets come, nothing lost, and once everything is read the fd stays
# quiet (no busy loop).
pcap=$PCAPS/combined.pcap
n=$(capinfos -c -M "$pcap" | awk -F': *' '/^Number of packets/ {print $2}')
"$RF_FEED" -q 51@0 --rate 200 --burst 1 --keep-open "$pcap" >"$TMP/feed-live.log" 2>&1 &
bg_pid $!
# The queue may not be there yet: activation waits for it.
out=$(RINGFAN_PCAP_WAIT_MS=5000 probe zeek ringfan:51@0 "$TMP/live.pcap" -n "$n" -i 400) ||
	fail "zeek on a live queue: $out"
"${CMP[@]}" same "$pcap" "$TMP/live.pcap" || fail "zeek on a live queue: packets differ"
check_eq "$(field "$out" idle_readable)" 0 "selectable fd readable on an idle queue"
wakeups=$(field "$out" wakeups)
((wakeups > 5)) || fail "zeek on a live queue: only $wakeups wake-ups for $n paced packets"
info "ok: zeek on a live queue: $wakeups wake-ups, $(field "$out" empty_wakeups) without a packet"

# Suricata's way on the live queue, all read: each call returns 0 after its
# read timeout; pcap_breakloop() from a signal handler ends a pcap_loop wait.
out=$(probe suricata ringfan:51@0 "$TMP/s.pcap" -n 1 -t 50 -b 400 -c 64) || true
t0=$(date +%s%N)
out=$(probe loop ringfan:51@0 "$TMP/b.pcap" -b 300) || fail "loop with breakloop: $out"
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "$(field "$out" rc)" -2 "pcap_loop ended by pcap_breakloop()"
((ms < 2000)) || fail "pcap_breakloop took ${ms} ms to end the loop"

# The balancer goes away and comes back: the program waits (an end is only
# the end of a run), then reads on without loss; with RINGFAN_PCAP_VERBOSE
# it says so.
"$RF_FEED" -q 56@0 --keep-open "$PCAPS/smtp.pcap" >"$TMP/feed56.log" 2>&1 &
feeder=$!
bg_pid $feeder
wait_until 10 grep -q '^enqueued=' "$TMP/feed56.log"
RINGFAN_PCAP_VERBOSE=1 LD_PRELOAD=$PRELOAD "$PROBE" loop ringfan:56@0 "$TMP/gone.pcap" \
	>"$TMP/gone.out" 2>"$TMP/gone.err" &
reader=$!
bg_pid $reader
kill -9 $feeder
wait_until 10 grep -q "ringfan: queue 56@0: producer gone; waiting for it to come back" "$TMP/gone.err"
alive $reader || fail "the reader ended when the producer went away: $(cat "$TMP/gone.err")"
feed 56@0 "$PCAPS/smtp.pcap" --lossless # resumes the queue, then ends the run
timeout 20 tail --pid=$reader -f /dev/null || fail "the reader did not end after the producer finished the run"
wait $reader || fail "the reader failed after the producer came back: $(cat "$TMP/gone.err")"
grep -q "ringfan: queue 56@0: producer is back" "$TMP/gone.err" || fail "no 'back': $(cat "$TMP/gone.err")"
grep -q "ringfan: queue 56@0: end of the run" "$TMP/gone.err" || fail "no 'end': $(cat "$TMP/gone.err")"
check_eq "$(field "$(cat "$TMP/gone.out")" packets)" 250 "packets read across the producer's restart"
if command -v mergecap >/dev/null; then
	mergecap -a -F pcap -w "$TMP/twice.pcap" "$PCAPS/smtp.pcap" "$PCAPS/smtp.pcap"
	"${CMP[@]}" same "$TMP/twice.pcap" "$TMP/gone.pcap" || fail "packets across the restart differ"
fi

# Several queues in one handle, Zeek's way (poll on the fd): finished runs,
# then live paced ones; the union, each queue in its order; the end once
# both ended; pcap_stats summed.
feed 50@20 "$PCAPS/smtp.pcap" --lossless
feed 50@21 "$PCAPS/arkime_synthetic.pcap" --lossless
both=$(($(capinfos -c -M "$PCAPS/smtp.pcap" "$PCAPS/arkime_synthetic.pcap" |
	awk -F': *' '/^Number of packets/ { n += $2 } END { print n }')))
out=$(probe zeek ringfan:50@20,50@21 "$TMP/merged.pcap") || fail "zeek on two queues: $out"
"${CMP[@]}" split "$TMP/merged.pcap" "$PCAPS/smtp.pcap" "$PCAPS/arkime_synthetic.pcap" ||
	fail "zeek on two queues: not the union of both, each in its order"
check_eq "$(field "$out" rc)/$(field "$out" recv)/$(field "$out" drop)" "-2/$both/0" \
	"two queues: the end once both ended, pcap_stats summed"
for q in 0 1; do
	"$RF_FEED" -q 57@$q --rate 200 --burst 1 --keep-open "$PCAPS/smtp.pcap" >"$TMP/feed57-$q.log" 2>&1 &
	bg_pid $!
done
out=$(RINGFAN_PCAP_WAIT_MS=5000 probe zeek ringfan:57@0,ringfan:57@1 "$TMP/live2.pcap" -n 250) ||
	fail "zeek on two live queues: $out"
"${CMP[@]}" split "$TMP/live2.pcap" "$PCAPS/smtp.pcap" "$PCAPS/smtp.pcap" ||
	fail "zeek on two live queues: not both queues' packets"
info "ok: two queues in one handle: $(field "$out" wakeups) wake-ups for 250 paced packets"

# Filters: compiled for the queue's link type, run in user space, equal to
# tcpdump -r on the capture; raw IP queues too.
feed 52@0 "$PCAPS/arkime_synthetic.pcap" --lossless
probe loop ringfan:52@0 "$TMP/f.pcap" -f 'tcp port 80' >/dev/null || fail "filtered loop"
tcpdump -r "$PCAPS/arkime_synthetic.pcap" -w "$TMP/want.pcap" 'tcp port 80' 2>/dev/null
"${CMP[@]}" same "$TMP/want.pcap" "$TMP/f.pcap" || fail "filter 'tcp port 80' differs from tcpdump -r"
"$RINGFAN" balance -i "pcap:$PCAPS/four_ipv6_http_streams.pcap" -c 55 -n 1 2>/dev/null ||
	fail "balance of a raw IP capture"
out=$(probe next ringfan:55@0 "$TMP/raw.pcap" -f 'ip6 and tcp src port 80') || fail "raw IP: $out"
tcpdump -r "$PCAPS/four_ipv6_http_streams.pcap" -w "$TMP/want.pcap" 'ip6 and tcp src port 80' 2>/dev/null
"${CMP[@]}" same "$TMP/want.pcap" "$TMP/raw.pcap" || fail "raw IP filter differs from tcpdump -r"
check_eq "$(field "$out" dlt)" RAW "pcap_datalink of a raw IP queue"

# Devices: the queues are listed; the default queue first.
LD_PRELOAD=$PRELOAD "$PROBE" list >"$TMP/list.txt" || fail "pcap_findalldevs failed"
grep -q "^ringfan:55@0	ringfan queue 55@0 (RAW, run finished)" "$TMP/list.txt" ||
	fail "pcap_findalldevs does not list ringfan:55@0: $(grep ringfan "$TMP/list.txt")"
first=$(RINGFAN_PCAP_QUEUE=52@0 LD_PRELOAD=$PRELOAD "$PROBE" list | head -1 | cut -f1)
check_eq "$first" ringfan:52@0 "the default queue comes first"
check_eq "$("${RF_RUN[@]}" -i 51@0 -- "$PROBE" list | head -1 | cut -f1)" ringfan:51@0 \
	"ringfan run -i sets the default device"
check_eq "$("${RF_RUN[@]}" -i 50@20,ringfan:50@21 -- "$PROBE" list | head -1)" \
	"ringfan:50@20,50@21	ringfan queues 50@20,50@21, merged" "ringfan run -i with two queues"

# Errors: the device, what is wrong, what to do.
expect_fail 1 "ringfan:53@0: no such queue in $RINGFAN_DIR \(is a balancer running with -c 53\?\)" \
	env LD_PRELOAD="$PRELOAD" "$PROBE" next ringfan:53@0 "$TMP/x.pcap"
expect_fail 1 "ringfan:abc: not a queue name: use ringfan:CLUSTER@QUEUE" \
	env LD_PRELOAD="$PRELOAD" "$PROBE" next ringfan:abc "$TMP/x.pcap"
expect_fail 1 "ringfan:51@0,51@0: queue 51@0 is named twice" \
	env LD_PRELOAD="$PRELOAD" "$PROBE" next ringfan:51@0,51@0 "$TMP/x.pcap"
expect_fail 1 "ringfan:52@0,55@0: queue 55@0 carries RAW packets, queue 52@0 EN10MB: a handle merges queues of one link type" \
	env LD_PRELOAD="$PRELOAD" "$PROBE" next ringfan:52@0,55@0 "$TMP/x.pcap"
LD_PRELOAD=$PRELOAD "$PROBE" loop ringfan:51@0 "$TMP/hold.pcap" >/dev/null 2>&1 &
holder=$!
bg_pid $holder
holding() { [ "$(qinfo 51@0 consumer_pid)" == "$holder" ]; }
wait_until 10 holding
expect_fail 1 "ringfan:51@0: busy: process $holder is attached to the queue" \
	env LD_PRELOAD="$PRELOAD" "$PROBE" next ringfan:51@0 "$TMP/x.pcap"
expect_fail 1 "no queue 54@0 \(is the balancer running\? --wait waits for it\)" \
	"$RINGFAN" run -i 54@0 -- true
expect_fail 127 "cannot run 'no-such-program-here'" "$RINGFAN" run -- no-such-program-here
expect_fail 2 "missing '-- PROGRAM'" "$RINGFAN" run -i 51@0
expect_fail 2 "bad queue '51@0,51@x' for -i" "$RINGFAN" run -i 51@0,51@x -- true
expect_fail 1 "no queue 54@1 " "$RINGFAN" run -i 51@0,54@1 -- true

# A ringfan program away from the build tree looks where meson installs the
# library, and says where it looked when it is not there.
cp "$RINGFAN" "$TMP/ringfan-elsewhere"
if where=$("$TMP/ringfan-elsewhere" run --print-library 2>&1); then
	[[ $where != "$BUILD"* && $where == */libringfan-pcap.so ]] || fail "installed library: $where"
else
	grep -q "cannot find libringfan-pcap.so (looked next to this program in pcap/ and in /" <<<"$where" ||
		fail "no library: $where"
fi
info "ok: away from the build tree: $where"

# Everything else is the real libpcap's: reading a file under the interposer.
"${RF_RUN[@]}" -- tcpdump -r "$PCAPS/smtp.pcap" -w "$TMP/offline.pcap" 2>/dev/null ||
	fail "tcpdump -r under ringfan run"
"${CMP[@]}" same "$PCAPS/smtp.pcap" "$TMP/offline.pcap" || fail "tcpdump -r under the interposer"
echo "PASS"
