#!/usr/bin/env bash
# --threads: one veth captured at once by two balancers, each with two
# threads (an AF_PACKET fanout group of its own, steered by IP address pair),
# each thread feeding ring 0 or ring 1 of every queue: cluster 41 -n 4
# -m 5tuple, cluster 43 -n 2 -m inner-5tuple, every queue read by `ringfan
# count -w`. A paced replay of captures with outer IPv4 and IPv6 fragments,
# GTP-U, GRE (TEB, nested), VXLAN, QinQ and non-IP frames. In each cluster:
# every packet delivered once and byte-identical; every flow (outer 5-tuple;
# inner 5-tuple) in one queue; within each queue the packets of each outer
# address pair (a flow's fragments included) in the order sent, and in the
# inner mode those of each inner flow too (these captures carry each inner
# flow between one pair of tunnel endpoints: the case the steering keeps in
# order); both threads carried packets (ring headers); the counters add up.
# One queue is read by tcpdump through the libpcap interposer (`ringfan
# run`), the others by `ringfan count`: both see one queue, not two rings.
# `ringfan clean` removes every ring's files. Then what --threads refuses,
# with the reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pcap-helpers.bash"
need_root
need_pcaps
need_cmd tcpreplay tshark capinfos mergecap ip tcpdump

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
declare -A nq=([41]=4 [43]=2) mode=([41]=5tuple [43]=inner-5tuple) bal=()
for c in 41 43; do
	ip netns exec "$ns" "$RINGFAN" balance -i afpacket:rx0 --threads 2 -c $c -n ${nq[$c]} \
		-m ${mode[$c]} 2>"$TMP/bal$c.err" &
	bal[$c]=$!
	bg_pid $!
done
cnts=()
for c in 41 43; do
	wait_until 10 stat_is $c state running
	for ((q = 0; q < nq[$c]; q++)); do
		[ $c@$q == 43@1 ] && continue
		"$RINGFAN" count -i "$c@$q" -q -w "$TMP/q$c-$q.pcap" --exit-on-detach >/dev/null 2>&1 &
		bg_pid $!
		cnts+=($!)
	done
done
"${RF_RUN[@]}" --wait=20 -- tcpdump -U -i ringfan:43@1 -w "$TMP/q43-1.pcap" 2>"$TMP/td.err" &
td=$!
bg_pid $td
for c in 41 43; do
	wait_until 10 stat_gt $c queue.$((nq[$c] - 1)).consumer_pid 0
	[ -f "$RINGFAN_DIR/$c@0.p1.ring" ] || fail "no second ring for queue $c@0: $(ls "$RINGFAN_DIR")"
	grep -q "2 capture threads on afpacket:rx0" "$TMP/bal$c.err" ||
		fail "no capture threads said: $(cat "$TMP/bal$c.err")"
done
grep -q "a tunnelled flow keeps its order while it travels between one pair of tunnel endpoints" \
	"$TMP/bal43.err" || fail "-m inner-5tuple --threads: no word on tunnels ($(cat "$TMP/bal43.err"))"

nsx tcpreplay -q -i tx0 --pps 1500 "$TMP/in.pcap" >/dev/null 2>&1 || fail "tcpreplay failed"
total=$(pcap_count "$TMP/in.pcap")
for c in 41 43; do
	wait_until 20 stat_is $c total.received "$total"
	wait_until 10 stat_is $c total.enqueued "$total"
	# Both threads took a share: the producer rings' own counters (header offset 256).
	read -r r0 r1 < <(/usr/bin/python3 - "$RINGFAN_DIR" $c ${nq[$c]} <<'PY'
import struct, sys
d, c, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tot = [0, 0]
for q in range(n):
    for i, name in enumerate((f'{c}@{q}.ring', f'{c}@{q}.p1.ring')):
        with open(f'{d}/{name}', 'rb') as f:
            tot[i] += struct.unpack_from('<Q', f.read(264), 256)[0]
print(*tot)
PY
	)
	info "cluster $c: ring 0 (thread 0) enqueued $r0, ring 1 (thread 1) $r1"
	((r0 > 0 && r1 > 0 && r0 + r1 == total)) || fail "threads' shares $r0 + $r1 != $total or one is empty"
done
for c in 41 43; do
	kill -TERM "${bal[$c]}"
	wait "${bal[$c]}" || fail "balancer $c exited $? ($(cat "$TMP/bal$c.err"))"
done
for p in "${cnts[@]}"; do wait "$p" || fail "a count failed"; done
kill -INT $td
wait $td || fail "tcpdump -i ringfan:43@1 failed: $(cat "$TMP/td.err")"
for c in 41 43; do
	check_eq "$(stat_of $c source.0.received)" "$total" "$c: source received (both threads)"
	check_eq "$(stat_of $c total.kernel_drops)" 0 "$c: kernel drops at a gentle rate"
	check_eq "$(stat_of $c total.dropped)" 0 "$c: queue drops"
	sum=0
	for ((q = 0; q < nq[$c]; q++)); do
		check_eq "$(pcap_count "$TMP/q$c-$q.pcap")" "$(stat_of $c queue.$q.enqueued)" \
			"$c: queue $q output = enqueued"
		sum=$((sum + $(stat_of $c queue.$q.enqueued)))
	done
	check_eq "$sum" "$total" "$c: queues' enqueued add up"
done

# Three dissections at once (tshark's start-up is most of its time): what was
# sent, and each cluster's queues one after the other (split again by count).
fields=(-e frame.md5_hash -e frame.protocols -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst
	-e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport -e ip.flags.mf -e ip.frag_offset
	-e ip.id -e ipv6.fraghdr.ident -e ipv6.fraghdr.offset -e ipv6.fraghdr.more)
dissect() { tshark -o frame.generate_md5_hash:TRUE -o ip.defragment:FALSE -o ipv6.defragment:FALSE \
	-n -r "$1" -T fields -E occurrence=a -E aggregator=, "${fields[@]}" 2>/dev/null; }
for c in 41 43; do
	mergecap -a -F pcap -w "$TMP/out$c.pcap" "$TMP"/q$c-*.pcap || fail "mergecap failed"
	dissect "$TMP/out$c.pcap" >"$TMP/out$c.tsv" &
done
dissect "$TMP/in.pcap" >"$TMP/in.tsv"
wait
cat >"$TMP/check.py" <<'PY'
import collections, sys
tmp, c, inner = sys.argv[1], sys.argv[2], sys.argv[3] == 'inner'
counts = list(map(int, sys.argv[4:]))
err = open(f'{tmp}/check{c}.err', 'w')


def rows(path):
    """(md5, outer address pair, flow or None, datagram or None, first fragment)"""
    out = []
    for line in open(path):
        f = (line.rstrip('\n').split('\t') + [''] * 16)[:16]
        md5, protos = f[0], f[1].split(':')
        s4, d4, s6, d6, ts, td, us, ud, mf, off, ipid, id6, off6, more6 = (
            v.split(',') if v else [] for v in f[2:])
        ips = [p for p in protos if p in ('ip', 'ipv6')]
        # The outer header: the first IPv4 or IPv6 of the frame.
        v4 = bool(ips) and ips[0] == 'ip'
        src, dst = ((s4[0], d4[0]) if v4 else (s6[0], d6[0])) if ips and (s4 or s6) else ('', '')
        pair = tuple(sorted((src, dst))) if src else ('non-ip',)
        frag4 = v4 and bool(mf) and (mf[0] in ('1', 'True') or off[0] != '0')
        frag6 = not v4 and bool(id6) and not (off6[0] == '0' and more6[0] in ('0', 'False'))
        dgram = (pair, ipid[0]) if frag4 else (pair, id6[0]) if frag6 else None
        is_first = (off[0] == '0') if frag4 else (off6[0] == '0') if frag6 else False
        # The flow the mode hashes: TCP or UDP of the outer header (5tuple)
        # or of the innermost one (inner-5tuple). None for fragments and ICMP
        # (its errors quote another packet's header).
        flow = None
        l4 = [p for p in protos if p in ('tcp', 'udp')]
        if ips and l4 and not (frag4 or frag6) and not any(p.startswith('icmp') for p in protos):
            k = -1 if inner else 0
            ip4 = ips[k] == 'ip'
            a, b = (s4, d4) if ip4 else (s6, d6)
            sp, dp = (ts, td) if ts else (us, ud)
            if a and sp:
                flow = (tuple(sorted((a[k], b[k]))), tuple(sorted((sp[k], dp[k]))))
        out.append((md5, pair, flow, dgram, is_first))
    return out


inp = rows(f'{tmp}/in.tsv')
allout, outs = rows(f'{tmp}/out{c}.tsv'), []
for n in counts:
    outs.append(allout[:n])
    allout = allout[n:]
got = collections.Counter(r[0] for o in outs for r in o)
want = collections.Counter(r[0] for r in inp)
if got != want:
    print(f'{c}: delivered packets differ from those sent: {sum((want - got).values())} '
          f'missing, {sum((got - want).values())} extra', file=err)
    sys.exit(1)
where = {}
for q, o in enumerate(outs):
    for md5, pair, flow, _, _ in o:
        if flow and where.setdefault(flow, q) != q:
            print(f'{c}: flow {flow} in queues {where[flow]} and {q}', file=err)
            sys.exit(1)
# A later fragment that comes before its datagram's first is held by the
# balancer until the first comes (or its time is up): it is delivered, not in
# its place. Every other packet keeps its place.
held, firsts = set(), set()
for md5, pair, flow, dgram, is_first in inp:
    if dgram and is_first:
        firsts.add(dgram)
    elif dgram and dgram not in firsts:
        held.add(md5)
checked = 0
for q, o in enumerate(outs):
    mine = collections.Counter(r[0] for r in o)
    keys = [('pair', p) for p in {r[1] for r in o}]
    if inner:
        keys += [('flow', f) for f in {r[2] for r in o if r[2]}]
    for kind, key in keys:
        i = 1 if kind == 'pair' else 2
        sent = [r[0] for r in inp if r[i] == key and mine[r[0]] and r[0] not in held]
        seen = [r[0] for r in o if r[i] == key and r[0] not in held]
        if sent != seen:
            print(f'{c}: queue {q}: {kind} {key}: packets out of order', file=err)
            sys.exit(1)
        checked += 1
print(f'# ok: {c}: {len(inp)} packets byte-identical, {len(where)} flows whole, {checked} '
      f'(queue, address pair{" or inner flow" if inner else ""}) sequences in order '
      f'({len(held)} held fragments)')
PY
for c in 41 43; do
	counts=$(for ((q = 0; q < nq[$c]; q++)); do pcap_count "$TMP/q$c-$q.pcap"; done)
	kind=outer
	[ $c == 43 ] && kind=inner
	# shellcheck disable=SC2086 # one count per queue
	/usr/bin/python3 "$TMP/check.py" "$TMP" $c $kind $counts || fail "$(cat "$TMP/check$c.err")"
done

# `ringfan clean` takes every ring's files of a stopped cluster.
"$RINGFAN" clean -c 41 >"$TMP/clean.out" 2>&1 || fail "clean -c 41: $(cat "$TMP/clean.out")"
[ -z "$(ls "$RINGFAN_DIR" | grep -E '^\.?41[@.]')" ] || fail "clean left files: $(ls "$RINGFAN_DIR")"
info "ok: clean -c 41 removed its rings: $(cat "$TMP/clean.out")"

# What --threads refuses, and why.
expect_fail 2 "a file is read by one thread" "$RINGFAN" balance -i "pcap:${ins[0]}" --threads 2 -c 42 -n 2
expect_fail 2 "one VLAN's packets would go through several threads" \
	"$RINGFAN" balance -i afpacket:lo --threads 2 -c 42 -n 2 -m vlan
expect_fail 2 "chosen by the NIC's own hash" "$RINGFAN" balance -i afxdp:lo --threads 2 -c 42 -n 2
expect_fail 2 "a flow table" "$RINGFAN" balance -i afpacket:lo --threads 2 -c 42 -n 2 --flow-table 1M
expect_fail 2 "bad --threads '65'" "$RINGFAN" balance -i afpacket:lo --threads 65 -c 42 -n 2
