#!/usr/bin/env bash
# Failing egress targets: the egress keeps consuming its queue and counts
# the packets it cannot write as failed, logs the failure once with its
# reason, logs the recovery once, and never stalls the file replay or the
# other queues.
#  - the egress interface goes down mid-stream and comes back;
#  - a pcap file on a full file system (a tiny tmpfs), with and without
#    space coming back.
source "$(dirname "$0")/lib.sh"
need_root
need_pcaps
need_cmd ip tcpdump
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")
"$RINGFAN" balance --help >/dev/null 2>&1 || skip "ringfan balance is not built"

# counts LOG TARGET: "SENT FAILED" from the egress's closing line.
counts() { sed -n "s|.*to '$2': \([0-9]*\) packets sent, \([0-9]*\) failed.*|\1 \2|p" "$1"; }
packets() { "${CMP[@]}" count "$1" 2>/dev/null || echo 0; }
has_packets() { (($(packets "$1") >= $2)); } # FILE N, for wait_until
small=$TMP/small
umount_small() { if mountpoint -q "$small" 2>/dev/null; then umount "$small"; fi; }
trap 'umount_small; cleanup' EXIT

# ---- interface down and up again mid-stream ----
ns=$(mk_netns egfail)
in_ns() { ip netns exec "$ns" "$@"; }
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip link add veA type veth peer name veB
in_ns ip link set veA up
in_ns ip link set veB up
ip netns exec "$ns" tcpdump -n -i veB -Q in -U --immediate-mode -s 16384 -B 16384 \
	-w "$TMP/peer.pcap" 2>"$TMP/tcpdump.err" &
tpid=$!
bg_pid $tpid
wait_until 10 grep -qs "listening on" "$TMP/tcpdump.err"

f=gre-within-gre.pcap # 628 small frames: at 300 per second, about 2 s
n=$("${CMP[@]}" count "$PCAPS/$f")
ip netns exec "$ns" "$RINGFAN" balance -i "pcap:$PCAPS/$f" -c 70 -n 1 --rate 300 -r 0:veA \
	2>"$TMP/bal.err" &
bpid=$!
bg_pid $bpid
wait_until 10 has_packets "$TMP/peer.pcap" 100
in_ns ip link set veA down
sleep 0.5
in_ns ip link set veA up
kill -0 $bpid 2>/dev/null || fail "the replay ended before the interface came back: slow it down"
wait $bpid || true # packets were lost: a failure status is allowed
read -r sent failed < <(counts "$TMP/bal.err" veA) || fail "no closing line: $(cat "$TMP/bal.err")"
info "sent $sent, failed $failed of $n"
check_eq $((sent + failed)) "$n" "sent + failed"
((failed > 0)) || fail "nothing failed while veA was down"
check_eq "$(grep -c "to 'veA': cannot send: Network is down" "$TMP/bal.err")" 1 "'Network is down' logged once"
check_eq "$(grep -c "to 'veA' works again" "$TMP/bal.err")" 1 "recovery logged once"
wait_until 10 has_packets "$TMP/peer.pcap" "$sent"
kill -INT $tpid
wait $tpid 2>/dev/null || true
check_eq "$(packets "$TMP/peer.pcap")" "$sent" "packets seen on the peer"
# Sending resumed: the input's last packet went out.
/usr/bin/python3 - "$PCAPS/$f" "$TMP/peer.pcap" <<'EOF' || fail "the last packet was not sent"
import struct, sys
def last(path):
    b = open(path, "rb").read()
    off, d = 24, None
    while off + 16 <= len(b):
        c = struct.unpack_from("<I", b, off + 8)[0]
        d = b[off + 16 : off + 16 + c]
        off += 16 + c
    return d
sys.exit(0 if last(sys.argv[1]) == last(sys.argv[2]) else 1)
EOF
info "ok: interface down: counted, logged once, sending resumed"

# ---- a full file system ----
mkdir "$small"
mount -t tmpfs -o size=256k tmpfs "$small" || skip "cannot mount a tmpfs"

# Fast replay of 6.8 MB into two queues (fanout): queue 0's file fills the
# tmpfs, queue 1 is unaffected. The balancer does not hang.
f=echo-connections.pcap
n=$("${CMP[@]}" count "$PCAPS/$f")
timeout 60 "$RINGFAN" balance -i "pcap:$PCAPS/$f" -c 71 -n 2 -m fanout \
	-r "0:pcap:$small/q0.pcap" -r "1:pcap:$TMP/q1.pcap" 2>"$TMP/bal.err" || rc=$?
[ "${rc:-0}" != 124 ] || fail "the balancer hung on a full disk"
check_eq "$(grep -c "cannot write: No space left on device" "$TMP/bal.err")" 1 "'No space left' logged once"
grep -q "to 'pcap:$small/q0.pcap': cannot write: No space left on device" "$TMP/bal.err" ||
	fail "the message does not name the file: $(cat "$TMP/bal.err")"
"${CMP[@]}" same "$PCAPS/$f" "$TMP/q1.pcap" || fail "the other queue's file is incomplete"
read -r sent failed < <(counts "$TMP/bal.err" "pcap:$small/q0.pcap") ||
	fail "no closing line: $(cat "$TMP/bal.err")"
check_eq $((sent + failed)) "$n" "queue 0: sent + failed"
((failed > 0 && sent > 0)) || fail "queue 0: sent $sent, failed $failed"
# The full file is still a valid capture (no partial record), of the sent packets.
check_eq "$(packets "$small/q0.pcap")" "$sent" "packets in the full file"
"${CMP[@]}" subseq "$PCAPS/$f" "$small/q0.pcap" || fail "the full file's packets are wrong"
check_eq "$(counts "$TMP/bal.err" "pcap:$TMP/q1.pcap")" "" "queue 1 failures"
rm -f "$small"/*

# Paced replay; the disk fills, then space comes back: writing resumes.
head -c 204800 /dev/zero >"$small/filler"
f=gre-within-gre.pcap
n=$("${CMP[@]}" count "$PCAPS/$f")
# A log of its own: waiting for the message in the previous run's log
# (reused, truncated only once the background balancer has started) could
# see that run's message and free the space before this one fills it.
log=$TMP/bal-refill.err
"$RINGFAN" balance -i "pcap:$PCAPS/$f" -c 72 -n 1 --rate 400 -r "0:pcap:$small/q0.pcap" \
	2>"$log" &
bpid=$!
bg_pid $bpid
wait_until 10 grep -qs "No space left on device" "$log"
rm -f "$small/filler"
kill -0 $bpid 2>/dev/null || fail "the replay ended before space came back: slow it down"
wait $bpid || true
read -r sent failed < <(counts "$log" "pcap:$small/q0.pcap") ||
	fail "no closing line: $(cat "$log")"
info "sent $sent, failed $failed of $n"
check_eq $((sent + failed)) "$n" "sent + failed"
((failed > 0)) || fail "nothing failed on the full disk"
check_eq "$(grep -c "cannot write: No space left on device" "$log")" 1 "'No space left' logged once"
check_eq "$(grep -c "works again" "$log")" 1 "recovery logged once"
check_eq "$(packets "$small/q0.pcap")" "$sent" "packets in the file"
"${CMP[@]}" subseq "$PCAPS/$f" "$small/q0.pcap" || fail "the file's packets are wrong"
echo "PASS"
