#!/usr/bin/env bash
# --threads: one veth captured by two threads (an AF_PACKET fanout group that
# steers by IP address pair), each feeding ring 0 or ring 1 of every queue,
# -n 4 -m 5tuple read by four `ringfan count -w`. A paced replay of captures
# with outer IPv4 and IPv6 fragments, GTP-U, GRE (TEB, nested), VXLAN and
# non-IP frames: every packet delivered once and byte-identical; every
# 5-tuple flow in one queue; within each queue the packets of each address
# pair (a flow's fragments and tunnels included) in the order they were sent;
# both threads carried packets (ring headers), the stats counters add up.
# Then what --threads refuses, with the reason.
. "$(dirname "$0")/lib.sh"
need_root
need_pcaps
need_cmd tcpreplay tshark capinfos mergecap ip

# Fragments (outer IPv4 of GTP-U and of GRE, IPv6), tunnels, non-IP and a mix.
ins=()
for f in gtp1_gn_normal_incl_fragmentation.pcap erspan.pcap ipv6-fragmented-dns.pcap \
	gre-within-gre.pcap gre-erspan-vxlan.pcap icmp_dot1q.pcap arkime_synthetic.pcap; do
	[ -f "$PCAPS/$f" ] && ins+=("$PCAPS/$f")
done
((${#ins[@]} >= 4)) || skip "the captures with fragments and tunnels are not in $PCAPS"
# One after the other, as one replay (and one dissection).
mergecap -a -F pcap -w "$TMP/in.pcap" "${ins[@]}" || fail "mergecap failed"

ns=$(mk_netns thr)
_netns+=("$ns")
nsx() { ip netns exec "$ns" "$@"; }
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add tx0 type veth peer name rx0
# Jumbo frames of arkime_synthetic.pcap pass too.
ip -n "$ns" link set tx0 mtu 9000 up
ip -n "$ns" link set rx0 mtu 9000 up

pcap_count() { capinfos -c -M "$1" 2>/dev/null | awk '/^Number of packets/ { print $NF }'; }
c=41
ip netns exec "$ns" "$RINGFAN" balance -i afpacket:rx0 --threads 2 -c $c -n 4 -m 5tuple 2>"$TMP/bal.err" &
b=$!
bg_pid "$b"
wait_until 10 stat_is $c state running
for q in 0 1 2 3; do
	"$RINGFAN" count -i "$c@$q" -q -w "$TMP/q$q.pcap" --exit-on-detach >/dev/null 2>&1 &
	bg_pid $!
	eval "cnt$q=$!"
done
wait_until 10 stat_is $c queue.3.consumer_pid "$cnt3"
[ -f "$RINGFAN_DIR/$c@0.p1.ring" ] || fail "no second ring for queue 0: $(ls "$RINGFAN_DIR")"
grep -q "2 capture threads on afpacket:rx0" "$TMP/bal.err" || fail "no capture threads said: $(cat "$TMP/bal.err")"

nsx tcpreplay -q -i tx0 --pps 1500 "$TMP/in.pcap" >/dev/null 2>&1 || fail "tcpreplay failed"
total=$(pcap_count "$TMP/in.pcap")
wait_until 20 stat_is $c total.received "$total"
wait_until 10 stat_is $c total.enqueued "$total"
# Both threads took a share: the producer rings' own counters (header offset 256).
read -r r0 r1 < <(/usr/bin/python3 - "$RINGFAN_DIR" $c <<'EOF'
import struct, sys
d, c = sys.argv[1], sys.argv[2]
tot = [0, 0]
for q in range(4):
    for i, name in enumerate((f'{c}@{q}.ring', f'{c}@{q}.p1.ring')):
        with open(f'{d}/{name}', 'rb') as f:
            tot[i] += struct.unpack_from('<Q', f.read(264), 256)[0]
print(*tot)
EOF
)
info "ring 0 (thread 0) enqueued $r0, ring 1 (thread 1) $r1"
((r0 > 0 && r1 > 0 && r0 + r1 == total)) || fail "threads' shares $r0 + $r1 != $total or one is empty"
kill -TERM "$b"
wait "$b" || fail "balancer exited $? ($(cat "$TMP/bal.err"))"
for q in 0 1 2 3; do
	eval "wait \$cnt$q" || fail "count on queue $q failed"
done
check_eq "$(stat_of $c source.0.received)" "$total" "source received (both threads)"
check_eq "$(stat_of $c total.kernel_drops)" 0 "kernel drops at a gentle rate"
check_eq "$(stat_of $c total.dropped)" 0 "queue drops"
check_eq "$(stat_of $c group.0.received)" "$total" "group received"
sum=0
for q in 0 1 2 3; do
	check_eq "$(pcap_count "$TMP/q$q.pcap")" "$(stat_of $c queue.$q.enqueued)" "queue $q output = enqueued"
	sum=$((sum + $(stat_of $c queue.$q.enqueued)))
done
check_eq "$sum" "$total" "queues' enqueued add up"

# Byte-identical, once each; flows whole; order per address pair in each queue.
fields=(-e frame.md5_hash -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e ip.proto -e ipv6.nxt
	-e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e ip.flags.mf -e ip.frag_offset
	-e ip.id -e ipv6.fraghdr.ident -e ipv6.fraghdr.offset -e ipv6.fraghdr.more)
dissect() { tshark -o frame.generate_md5_hash:TRUE -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
	-n -r "$1" -T fields -E occurrence=f "${fields[@]}" 2>/dev/null; }
# Two dissections (tshark's start-up is most of its time): the input, and the
# queues' captures one after the other (split again by their packet counts).
mergecap -a -F pcap -w "$TMP/out.pcap" "$TMP"/q[0-3].pcap || fail "mergecap failed"
dissect "$TMP/in.pcap" >"$TMP/in.tsv" &
dissect "$TMP/out.pcap" >"$TMP/out.tsv"
wait $!
counts=$(for q in 0 1 2 3; do pcap_count "$TMP/q$q.pcap"; done)
/usr/bin/python3 - "$TMP" $counts <<'EOF' || fail "$(cat "$TMP/order.err")"
import collections, sys
tmp = sys.argv[1]
err = open(f'{tmp}/order.err', 'w')

def rows(path):
    """(md5, address pair, 5-tuple or None, datagram or None, first fragment)"""
    out = []
    for line in open(path):
        f = (line.rstrip('\n').split('\t') + [''] * 17)[:17]
        md5, s4, d4, s6, d6, p4, p6, ts, td, us, ud, mf, off, ipid, id6, off6, more6 = f
        src, dst = (s4, d4) if s4 else (s6, d6)
        pair = tuple(sorted((src, dst))) if src else ('non-ip',)
        frag4 = mf in ('1', 'True') or off not in ('', '0')
        frag6 = bool(id6) and not (off6 == '0' and more6 in ('0', 'False'))
        sp, dp = (ts, td) if ts else (us, ud)
        # TCP and UDP: the 5-tuple of the outer header (what -m 5tuple hashes).
        five = None if frag4 or frag6 or not src or not sp else (pair, p4 or p6, tuple(sorted((sp, dp))))
        dgram = (pair, p4, ipid) if frag4 and s4 else (pair, id6) if frag6 else None
        first = off == '0' if frag4 and s4 else off6 == '0' if frag6 else False
        out.append((md5, pair, five, dgram, first))
    return out

inp = rows(f'{tmp}/in.tsv')
allout, outs = rows(f'{tmp}/out.tsv'), []
for n in map(int, sys.argv[2:]):
    outs.append(allout[:n])
    allout = allout[n:]
got = collections.Counter(r[0] for o in outs for r in o)
want = collections.Counter(r[0] for r in inp)
if got != want:
    print(f'delivered packets differ from those sent: {sum((want - got).values())} missing, '
          f'{sum((got - want).values())} extra', file=err)
    sys.exit(1)
where = {}
for q, o in enumerate(outs):
    for md5, pair, five, _, _ in o:
        if five and where.setdefault(five, q) != q:
            print(f'flow {five} in queues {where[five]} and {q}', file=err)
            sys.exit(1)
# A later fragment that comes before its datagram's first is held by the
# balancer until the first comes (or its time is up): it is delivered, not in
# its place. Every other packet keeps its place among its address pair's.
held, firsts = set(), set()
for md5, pair, five, dgram, first in inp:
    if dgram and first:
        firsts.add(dgram)
    elif dgram and dgram not in firsts:
        held.add(md5)
# Each queue: per address pair, its packets in the order sent.
checked = 0
for q, o in enumerate(outs):
    mine = collections.Counter(r[0] for r in o)
    for pair in {r[1] for r in o}:
        sent = [r[0] for r in inp if r[1] == pair and mine[r[0]] and r[0] not in held]
        seen = [r[0] for r in o if r[1] == pair and r[0] not in held]
        if sent != seen:
            print(f'queue {q}: address pair {pair}: packets out of order', file=err)
            sys.exit(1)
        checked += 1
print(f'# ok: {len(inp)} packets byte-identical, {len(where)} flows whole, '
      f'{checked} (queue, address pair) sequences in order ({len(held)} held fragments)')
EOF

# What --threads refuses, and why.
expect_fail 2 "a file is read by one thread" "$RINGFAN" balance -i "pcap:${ins[0]}" --threads 2 -c 42 -n 2
expect_fail 2 "one VLAN's packets would go through several threads" \
	"$RINGFAN" balance -i afpacket:lo --threads 2 -c 42 -n 2 -m vlan
expect_fail 2 "a flow table" "$RINGFAN" balance -i afpacket:lo --threads 2 -c 42 -n 2 --flow-table 1M
expect_fail 2 "bad --threads '65'" "$RINGFAN" balance -i afpacket:lo --threads 65 -c 42 -n 2
