#!/usr/bin/env bash
# Egress to an interface (-r Q:IFACE): every packet of the queue is sent on
# a veth end exactly once, unchanged, and is seen both by a capture on that
# interface itself (as Zeek or tcpdump on dummy0 behind zbalance_ipc) and by
# a capture on the veth's peer. Packets larger than the MTU are counted as
# failed, the others still go out.
source "$(dirname "$0")/lib.sh"
need_root
need_pcaps
need_cmd ip tcpdump
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")
"$RINGFAN" balance --help >/dev/null 2>&1 || skip "ringfan balance is not built"

ns=$(mk_netns egress)
in_ns() { ip netns exec "$ns" "$@"; }
# counts LOG TARGET: "SENT FAILED" from the egress's closing line (only written when
# something failed).
counts() { sed -n "s/.*to '$2': \([0-9]*\) packets sent, \([0-9]*\) failed.*/\1 \2/p" "$1"; }

# IPv6 off before the links come up: the kernel then sends nothing of its own.
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip link add veA type veth peer name veB
in_ns ip link set veA mtu 9000
in_ns ip link set veB mtu 9000
in_ns ip link set veA up
in_ns ip link set veB up

# capture NAME IFACE DIRECTION: tcpdump in the background, until stopped.
capture() {
	rm -f "$TMP/$1.pcap" "$TMP/$1.err"
	# Immediate mode uses fixed ring slots of the snap length: keep it small, the buffer big.
	ip netns exec "$ns" tcpdump -n -i "$2" -Q "$3" -U --immediate-mode -s 16384 -B 16384 \
		-w "$TMP/$1.pcap" 2>"$TMP/$1.err" &
	bg_pid $!
	eval "${1}_pid=$!"
	wait_until 10 grep -qs "listening on" "$TMP/$1.err"
}

# packets FILE: packets in a capture file written so far (0 if none yet).
packets() { "${CMP[@]}" count "$1" 2>/dev/null || echo 0; }
has_packets() { (($(packets "$1") >= $2)); } # FILE N, for wait_until

# stop_captures N: wait until both captures hold N packets, then stop them.
stop_captures() {
	local n=$1
	wait_until 20 has_packets "$TMP/out.pcap" "$n"
	wait_until 20 has_packets "$TMP/peer.pcap" "$n"
	sleep 0.3 # anything extra (duplicates) would arrive now
	kill -INT "$out_pid" "$peer_pid"
	wait "$out_pid" "$peer_pid" 2>/dev/null || true
}

cluster=40
for f in smtp.pcap combined.pcap icmp_dot1q.pcap dot1ad.pcap vlan-qinqinq.pcap erspan.pcap; do
	capture out veA out
	capture peer veB in
	in_ns "$RINGFAN" balance -i "pcap:$PCAPS/$f" -c $cluster -n 1 -r 0:veA 2>"$TMP/err" ||
		fail "balance -r 0:veA failed: $(cat "$TMP/err")"
	n=$("${CMP[@]}" count "$PCAPS/$f")
	stop_captures "$n"
	check_eq "$(counts "$TMP/err" veA)" "" "$f: failures"
	"${CMP[@]}" same --data-only "$PCAPS/$f" "$TMP/out.pcap" ||
		fail "$f: capture on the sending interface differs"
	"${CMP[@]}" same --data-only "$PCAPS/$f" "$TMP/peer.pcap" ||
		fail "$f: capture on the peer differs"
	cluster=$((cluster + 1))
done
info "ok: both ends see every packet once, unchanged"

# MTU 1500: arkime_synthetic.pcap has frames up to 2158 bytes.
in_ns ip link set veA mtu 1500
f=arkime_synthetic.pcap
big=$(/usr/bin/python3 - "$PCAPS/$f" <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
off, big = 24, 0
while off + 16 <= len(b):
    caplen = struct.unpack_from("<I", b, off + 8)[0]
    d = b[off + 16 : off + 16 + caplen]
    tagged = caplen >= 18 and d[12:14] in (b"\x81\x00", b"\x88\xa8")
    big += caplen > 1514 + (4 if tagged else 0)
    off += 16 + caplen
print(big)
EOF
)
[ "$big" -gt 0 ] || fail "$f has no frame above 1514 bytes: pick another capture"
n=$("${CMP[@]}" count "$PCAPS/$f")
capture out veA out
capture peer veB in
rc=0
in_ns "$RINGFAN" balance -i "pcap:$PCAPS/$f" -c 60 -n 1 -r 0:veA 2>"$TMP/err" || rc=$?
stop_captures $((n - big))
check_eq "$(counts "$TMP/err" veA)" "$((n - big)) $big" "sent and failed (oversize)"
# The frames the egress could not send are the queue's drops, and the run says so.
check_eq "$rc" 1 "exit status of a replay whose egress failed frames"
check_eq "$(stat_of 60 queue.0.dropped_egress)/$(stat_of 60 queue.0.dropped)" "$big/$big" \
	"the queue's drops (egress failed / all)"
check_eq "$(stat_of 60 queue.0.enqueued)" $((n - big)) "the queue's packets that reached the interface"
grep -q "cluster 60 finished with losses: $big packets dropped (queue full 0, too big 0, egress failed $big," \
	"$TMP/err" || fail "no losses line: $(tail -2 "$TMP/err")"
check_eq "$(packets "$TMP/peer.pcap")" $((n - big)) "frames seen on the peer"
check_eq "$(grep -c "exceeds the MTU" "$TMP/err")" 1 "oversize frames logged once"

# Start-up checks: no such interface, interface down.
expect_fail 1 "cannot start egress of queue 0 to 'nosuch0': no such interface" \
	in_ns "$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" -c 61 -n 1 -r 0:nosuch0
in_ns ip link set veA down
expect_fail 1 "cannot start egress of queue 0 to 'afpacket:veA': interface is down" \
	in_ns "$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" -c 62 -n 1 -r 0:afpacket:veA
echo "PASS"
