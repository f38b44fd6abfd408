#!/usr/bin/env bash
# Unmodified libpcap programs from Debian read queues as devices
# ringfan:C@Q through libringfan-pcap (ringfan run), while the balancer
# replays the 28 MB capture: tcpdump -w and tshark -w get their queue's
# packets byte for byte and in order (equal to the file split of the same
# run: a second group of the same size egresses to files), tcpdump with a
# filter equals tcpdump -r with it on the split file, ndpiReader sees every
# packet of its queue, and tcpdump's pcap_stats figures
# equal `ringfan stats`. pmacctd (which reopens its device when a capture
# ends) counts a live queue's flows, packets and bytes as tshark does, and
# argus records the flows argus -r records. tcpdump on two queues merged
# (ringfan:C@Q,C@R) gets the union of their split files, each in its order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pcap-helpers.bash"
need_pcaps
need_cmd tcpdump tshark capinfos ndpiReader
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
BIG=$PCAPS/ndpi-merged-ether.pcap
[ -r "$BIG" ] || skip "needs $BIG"
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")
RUN=("${RF_RUN[@]}" --wait=20 --)

# Queues 0-1 (group A), 4-5 (group C) and 6-7 (group D) are read by the
# programs; queues 2-3 (group B, same size and mode, so the same split) are
# written to files.
per_queue=$("$RINGFAN" explain -m 5tuple -n 2 "$BIG" 2>&1 >/dev/null | sed -n 's/^# per queue: //p')
n1=$(sed -n 's/.*1=\([0-9]*\).*/\1/p' <<<"$per_queue")
[ -n "$n1" ] || fail "ringfan explain gave no per-queue counts"
"$RINGFAN" balance -i "pcap:$BIG" -c 60 -n 2,2,2,2 -m 5tuple \
	-r "2:pcap:$TMP/ref0.pcap" -r "3:pcap:$TMP/ref1.pcap" 2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
t0=$SECONDS
"${RUN[@]}" tcpdump -i ringfan:60@0 -w "$TMP/t0.pcap" 2>"$TMP/t0.err" &
t0pid=$!
"${RUN[@]}" tshark -i ringfan:60@1 -c "$n1" -F pcap -w "$TMP/s1.pcap" >"$TMP/s1.out" 2>&1 &
s1pid=$!
"${RUN[@]}" tcpdump -i ringfan:60@4 -w "$TMP/f4.pcap" 'tcp port 80' 2>"$TMP/f4.err" &
f4pid=$!
"${RUN[@]}" ndpiReader -i ringfan:60@5 >"$TMP/nd5.out" 2>&1 &
nd5pid=$!
"${RUN[@]}" tcpdump -i ringfan:60@6,60@7 -w "$TMP/m67.pcap" 2>"$TMP/m67.err" &
m67pid=$!
bg_pid $t0pid && bg_pid $s1pid && bg_pid $f4pid && bg_pid $nd5pid && bg_pid $m67pid
wait $bal || fail "balance failed: $(cat "$TMP/bal.err")"
wait $t0pid || fail "tcpdump -i ringfan:60@0 failed: $(cat "$TMP/t0.err")"
wait $f4pid || fail "tcpdump with a filter failed: $(cat "$TMP/f4.err")"
wait $nd5pid || fail "ndpiReader failed: $(tail -5 "$TMP/nd5.out")"
wait $m67pid || fail "tcpdump -i ringfan:60@6,60@7 failed: $(cat "$TMP/m67.err")"
timeout 60 tail --pid=$s1pid -f /dev/null || fail "tshark did not end: $(tail -5 "$TMP/s1.out")"
info "balancer and programs done in $((SECONDS - t0)) s"

# tcpdump and tshark: byte for byte, in order.
"${CMP[@]}" same "$TMP/ref0.pcap" "$TMP/t0.pcap" || fail "tcpdump's copy of queue 0 differs"
"${CMP[@]}" same "$TMP/ref1.pcap" "$TMP/s1.pcap" || fail "tshark's copy of queue 1 differs"
# Two queues merged: their union, each queue's packets in its order.
"${CMP[@]}" split "$TMP/m67.pcap" "$TMP/ref0.pcap" "$TMP/ref1.pcap" ||
	fail "tcpdump on ringfan:60@6,60@7 is not the union of queues 6 and 7 in their order"
# The filter, run in user space, equals tcpdump -r with it on the split file.
tcpdump -r "$TMP/ref0.pcap" -w "$TMP/want4.pcap" 'tcp port 80' 2>/dev/null
"${CMP[@]}" same "$TMP/want4.pcap" "$TMP/f4.pcap" || fail "tcpdump 'tcp port 80' differs from tcpdump -r"

# tcpdump's pcap_stats (received by filter, dropped by kernel) = ringfan stats.
"$RINGFAN" stats -c 60 --json >"$TMP/stats.json" || fail "ringfan stats -c 60"
qstat() { /usr/bin/python3 -c 'import json,sys; q=[q for q in json.load(open(sys.argv[1]))["queues"] if q["queue"]==int(sys.argv[2])][0]; print(q[sys.argv[3]])' "$TMP/stats.json" "$1" "$2"; }
recv=$(sed -n 's/^\([0-9]*\) packets received by filter$/\1/p' "$TMP/t0.err")
drop=$(sed -n 's/^\([0-9]*\) packets dropped by kernel$/\1/p' "$TMP/t0.err")
check_eq "$recv/$drop" "$(qstat 0 enqueued)/$(qstat 0 dropped)" \
	"tcpdump's received/dropped = ringfan stats' enqueued/dropped of queue 0"
check_eq "$(qstat 4 enqueued)" "$(qstat 0 enqueued)" "queue 4 got what queue 0 got"

# ndpiReader: every packet of the queue. (Its protocol table is not compared
# with a run on the file: on a device it captures 1536 bytes a packet and
# ages flows by the wall clock, on a file by the capture's clock.)
got=$(sed -n 's/.* of \([0-9]*\) packets total$/\1/p' "$TMP/nd5.out")
check_eq "$got" "$n1" "ndpiReader's packets on queue 5 (= queue 1)"
grep -q '^Detected protocols:' "$TMP/nd5.out" || fail "ndpiReader printed no protocol table"

# pmacctd takes the end of a capture for its interface going away, so it
# reads a live queue (kept open) of generated flows, stopped once it has
# read everything; its flow table (appended each second) equals the flows
# tshark finds in the capture.
if command -v pmacctd >/dev/null; then
	"$RINGFAN" gen -o "$TMP/flows.pcap" --flows 50 --packets 3000 -q
	all=3000
	"$BUILD/tests/tools/rf-feed" -q 61@0 --keep-open "$TMP/flows.pcap" >"$TMP/feed.log" 2>&1 &
	bg_pid $!
	printf '%s\n' "daemonize: false" "pcap_interface: ringfan:61@0" \
		"aggregate: src_host, dst_host, src_port, dst_port, proto" "plugins: print" \
		"print_output_file: $TMP/pm.csv" "print_output: csv" "print_refresh_time: 1" \
		"print_output_file_append: true" >"$TMP/pm.conf"
	"${RUN[@]}" pmacctd -f "$TMP/pm.conf" >"$TMP/pm.out" 2>&1 &
	pm=$!
	bg_pid $pm
	read_all() { [ "$(qinfo 61@0 consumer_pid)" == "$pm" ] && [ "$(qinfo 61@0 backlog_packets)" == 0 ]; }
	wait_until 20 read_all
	# Its core hands packets to its plugin once a second, and not at exit:
	# nothing outside shows when, so give it that second.
	sleep 1.5
	kill -INT $pm
	wait $pm || true
	# Its print plugin (a process of its own) writes its table as it exits.
	printed() { [ "$(awk -F, '$1 != "SRC_IP" { n += $6 } END { print n + 0 }' "$TMP/pm.csv" 2>/dev/null)" == $all ]; }
	wait_until 10 printed
	grep -q "received_packets=$all dropped_packets=0" "$TMP/pm.out" ||
		fail "pmacctd's pcap_stats: $(grep received_packets "$TMP/pm.out")"
	awk -F, '$1 != "SRC_IP" { k = $1 "," $2 "," $3 "," $4 "," $5; n[k] += $6; b[k] += $7 }
		END { for (k in n) print k "," n[k] "," b[k] }' "$TMP/pm.csv" | sort >"$TMP/got.txt"
	tshark -r "$TMP/flows.pcap" -T fields -E separator=, -e ip.src -e ip.dst -e tcp.srcport \
		-e udp.srcport -e tcp.dstport -e udp.dstport -e ip.proto -e ip.len 2>/dev/null |
		awk -F, '{ p = $7 == 6 ? "tcp" : $7 == 17 ? "udp" : $7 == 1 ? "icmp" : $7
			k = $1 "," $2 "," ($3 $4 == "" ? 0 : $3 $4) "," ($5 $6 == "" ? 0 : $5 $6) "," p
			n[k]++; b[k] += $8 } END { for (k in n) print k "," n[k] "," b[k] }' |
		sort >"$TMP/want.txt"
	diff "$TMP/want.txt" "$TMP/got.txt" >"$TMP/pm.diff" ||
		fail "pmacctd on the queue counts other flows than tshark: $(head -5 "$TMP/pm.diff")"
	info "ok: pmacctd: $(wc -l <"$TMP/want.txt") flows, packets and bytes as tshark finds them"
fi

# argus takes a device for live: it keeps flows whose packets are about as
# old as the wall clock (as on an interface). So it reads a live queue of
# generated flows with their timestamps moved to just now; its flows
# (merged by racluster) equal those of argus -r on the same file.
if command -v argus >/dev/null && command -v racluster >/dev/null && command -v editcap >/dev/null; then
	"$RINGFAN" gen -o "$TMP/g.pcap" --flows 40 --packets 2000 --rate 2000 -q
	last=$(capinfos -e -S -M "$TMP/g.pcap" | awk -F': *' '/^Last packet/ { print int($2) }')
	editcap -t $(($(date +%s) - last - 1)) "$TMP/g.pcap" "$TMP/now.pcap"
	"$BUILD/tests/tools/rf-feed" -q 62@0 --keep-open "$TMP/now.pcap" >"$TMP/feed62.log" 2>&1 &
	bg_pid $!
	"${RUN[@]}" argus -i ringfan:62@0 -w "$TMP/q.argus" >"$TMP/argus.out" 2>&1 &
	ar=$!
	bg_pid $ar
	argus_read_all() { [ "$(qinfo 62@0 consumer_pid)" == "$ar" ] && [ "$(qinfo 62@0 backlog_packets)" == 0 ]; }
	wait_until 20 argus_read_all
	kill -INT $ar
	wait $ar || true
	argus -r "$TMP/now.pcap" -w "$TMP/f.argus" || fail "argus -r"
	flows() { racluster -r "$1" -n -m proto saddr sport daddr dport \
		-s proto saddr sport daddr dport pkts bytes 2>/dev/null | grep -v ' man ' | sort; }
	flows "$TMP/f.argus" >"$TMP/want.txt"
	flows "$TMP/q.argus" >"$TMP/got.txt"
	(($(wc -l <"$TMP/want.txt") > 30)) || fail "argus -r found only $(wc -l <"$TMP/want.txt") flows"
	diff "$TMP/want.txt" "$TMP/got.txt" >"$TMP/ar.diff" ||
		fail "argus on the queue records other flows than argus -r: $(head -5 "$TMP/ar.diff")"
	info "ok: argus: $(($(wc -l <"$TMP/want.txt") - 1)) flows as argus -r finds them"
fi
echo "PASS"
