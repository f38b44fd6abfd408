#!/usr/bin/env bash
# kill -9 of a libpcap program reading a queue, restarted: it resumes where
# it was. One paced replay feeds three groups; each has one tcpdump -w,
# killed -9 at the same moment and started again half a second later:
#   queue 0, ringfan:80@0, tcpdump -U (packet-buffered): loses nothing;
#   queue 1, ringfan:80@1, tcpdump (stdio-buffered): loses at most what
#            tcpdump had in its own buffer;
#   queue 2, re-emitted on a veth, tcpdump -U on its peer: loses the gap;
#   queues 3-4 merged, ringfan:80@3,80@4, tcpdump -U: loses nothing (each
#            queue resumes where it was).
# The losses are measured against the capture (the union of each reader's
# two files) and printed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pcap-helpers.bash"
. "$(dirname "$0")/count-helpers.bash"
need_root
need_cmd tcpdump
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
mk_veth_pair

packets=30000
rate=15000 # 2 s of traffic
"$RINGFAN" gen -o "$TMP/in.pcap" --flows 300 --packets $packets --size 64-200 -q ||
	fail "ringfan gen"
RUN=("${RF_RUN[@]}" --wait=20 --)

start_readers() { # round
	"${RUN[@]}" tcpdump -n -U -i ringfan:80@0 -w "$TMP/u$1.pcap" 2>"$TMP/u$1.err" &
	upid=$!
	"${RUN[@]}" tcpdump -n -i ringfan:80@1 -w "$TMP/b$1.pcap" 2>"$TMP/b$1.err" &
	bpid=$!
	ip netns exec "$NS_RX" tcpdump -n -U -i veth-rx -w "$TMP/v$1.pcap" 2>"$TMP/v$1.err" &
	vpid=$!
	"${RUN[@]}" tcpdump -n -U -i ringfan:80@3,80@4 -w "$TMP/m$1.pcap" 2>"$TMP/m$1.err" &
	mpid=$!
	bg_pid $upid && bg_pid $bpid && bg_pid $vpid && bg_pid $mpid
	wait_until 10 bound_at_least "$NS_RX" veth-rx 1
}

start_readers 1
ip netns exec "$NS_TX" "$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 80 -n 1,1,1,2 \
	--rate $rate -r 2:veth-tx 2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
sleep 0.6 # mid-replay
kill -9 $upid $bpid $vpid $mpid
wait $upid $bpid $vpid $mpid 2>/dev/null || true
sleep 0.5 # the gap: the balancer goes on
start_readers 2
wait $bal || fail "balance failed: $(cat "$TMP/bal.err")"
# The queue readers end with the run; the veth reader is stopped.
wait $upid || fail "tcpdump -U on ringfan:80@0: $(cat "$TMP/u2.err")"
wait $bpid || fail "tcpdump on ringfan:80@1: $(cat "$TMP/b2.err")"
wait $mpid || fail "tcpdump -U on ringfan:80@3,80@4: $(cat "$TMP/m2.err")"
sleep 0.3
kill -INT $vpid
wait $vpid || true

# Packets (caplen, data) of the capture missing from / doubled in the union
# of a reader's files. A file of a killed reader may end in a partial record.
loss() {
	/usr/bin/python3 -c '
import collections, struct, sys
def read(path):
    buf = open(path, "rb").read()
    endian = "<" if buf[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, off = collections.Counter(), 24
    while off + 16 <= len(buf):
        caplen = struct.unpack_from(endian + "I", buf, off + 8)[0]
        if off + 16 + caplen > len(buf):
            break
        out[buf[off + 16 : off + 16 + caplen]] += 1
        off += 16 + caplen
    return out
want, got = read(sys.argv[1]), collections.Counter()
for f in sys.argv[2:]:
    got.update(read(f))
print(sum((want - got).values()), sum((got - want).values()))' "$TMP/in.pcap" "$@"
}
read -r u_miss u_dup < <(loss "$TMP/u1.pcap" "$TMP/u2.pcap")
read -r b_miss b_dup < <(loss "$TMP/b1.pcap" "$TMP/b2.pcap")
read -r v_miss v_dup < <(loss "$TMP/v1.pcap" "$TMP/v2.pcap")
read -r m_miss m_dup < <(loss "$TMP/m1.pcap" "$TMP/m2.pcap")
info "lost after kill -9 and restart: ringfan -U $u_miss (doubled $u_dup), ringfan $b_miss" \
	"(doubled $b_dup), veth $v_miss, two queues merged -U $m_miss (doubled $m_dup) of $packets"
check_eq "$u_miss" 0 "packets lost by tcpdump -U on a queue"
((u_dup <= 1)) || fail "tcpdump -U on a queue got $u_dup packets twice (at most the one being written)"
check_eq "$m_miss" 0 "packets lost by tcpdump -U on two queues merged"
((m_dup <= 1)) || fail "tcpdump -U on two queues merged got $m_dup packets twice (at most the one being written)"
# tcpdump's stdio buffer holds at most 8 KiB: that many 16-byte headers and 64-byte frames.
((b_miss <= 8192 / 80)) || fail "tcpdump on a queue lost $b_miss packets: more than its buffer"
((v_miss > 0)) || fail "the veth reader lost nothing across the gap: the test did not test"
echo "PASS"
