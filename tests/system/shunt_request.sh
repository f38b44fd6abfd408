#!/usr/bin/env bash
# Shunting on request (rf_consumer_shunt, `ringfan count --shunt-after N`):
# a capture replayed at a live pace into two groups of one queue each, so
# that both queues get every flow. The consumer of group A's queue asks for
# each flow after 5 packets: the balancer honours every request (each names
# a flow of that queue), shunts most of A's packets (counted, never drops)
# and delivers at least the first 5 of every flow; group B's queue, which
# has the same flows, still gets every packet: a consumer's request never
# reaches another queue. A count on a file refuses the option.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fault-helpers.bash"

c=85
"$RINGFAN" gen -o "$TMP/in.pcap" --flows 100 --packets 16000 --seed 85 -q || fail "ringfan gen failed"
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c $c -n 1,1 -m 5tuple --flow-table 64k --rate 4000 \
	--ring-size 4M 2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
wait_until 10 queues_up $c 2
start_count $c 0 1 --shunt-after 5 -w "$TMP/a.pcap"
ca=$CPID
start_count $c 1 1 -w "$TMP/b.pcap"
cb=$CPID
wait_ok $bal "ringfan balance"
wait_ok $ca "ringfan count --shunt-after 5"
wait_ok $cb "ringfan count"

rx=$(stat_of $c total.received)
asked=$(stat_of $c queue.0.shunt_requests)
flows=$(stat_of $c group.0.flows_created)
shunted=$(stat_of $c queue.0.shunted)
info "group A: $flows flows, $asked shunt requests honoured, $shunted of $rx packets shunted"
check_eq "$(stat_of $c queue.0.shunt_refused)" 0 "requests refused (all name a flow of queue 0)"
((asked > 0 && asked <= flows)) || fail "$asked requests honoured for $flows flows"
check_eq "$(stat_of $c group.0.flows_shunted)" "$asked" "flows shunted on request"
((shunted * 2 > rx)) || fail "only $shunted of $rx packets shunted"
check_eq $(($(stat_of $c queue.0.enqueued) + shunted)) "$rx" "group A: received = enqueued + shunted"
check_eq "$(stat_of $c total.dropped)" 0 "drops"
check_eq "$(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py" count "$TMP/a.pcap")" \
	"$(stat_of $c queue.0.enqueued)" "packets the consumer of A wrote"
/usr/bin/python3 "$TOP/tests/system/pcap_compare.py" subseq "$TMP/in.pcap" "$TMP/a.pcap" ||
	fail "group A's packets are not a part of the capture, in order"
# every flow (as tshark sees it) kept at least its first 5 packets in A
/usr/bin/python3 - "$TMP/in.pcap" "$TMP/a.pcap" <<'EOF' || fail "a flow lost packets before its 5th"
import collections, subprocess, sys
def flows(path):
    out = subprocess.run(["tshark", "-r", path, "-n", "-T", "fields", "-E", "occurrence=f",
                          "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst",
                          "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "udp.srcport",
                          "-e", "udp.dstport"], capture_output=True, text=True, check=True).stdout
    n = collections.Counter()
    for line in out.splitlines():
        f = line.split("\t")
        a, b = f[0] or f[2], f[1] or f[3]
        n[tuple(sorted(((a, f[4] or f[6]), (b, f[5] or f[7]))))] += 1
    return n
full, got = flows(sys.argv[1]), flows(sys.argv[2])
bad = [k for k, v in full.items() if got[k] < min(5, v)]
print("# %d flows, each with at least min(5, its packets) in A" % len(full))
sys.exit(1 if bad else 0)
EOF
/usr/bin/python3 "$TOP/tests/system/pcap_compare.py" same "$TMP/in.pcap" "$TMP/b.pcap" ||
	fail "group B lost packets: a request of A's consumer reached it"
check_eq "$(stat_of $c queue.1.shunted)" 0 "group B: shunted"

expect_fail 2 "shunt-after asks a balancer through a queue" \
	"$RINGFAN" count -i "pcap:$TMP/in.pcap" --shunt-after 5
exit 0
