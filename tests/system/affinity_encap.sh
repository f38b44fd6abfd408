#!/bin/bash
# Flow affinity across the encapsulations a tap sees one flow in, grouped
# independently of ringfan by tshark's dissection; on ndpi-merged-ether.pcap
# (real FabricPath copies and ARP) and a `ringfan gen` capture:
#  - FabricPath: every packet of a TCP/UDP flow that shows up with a
#    FabricPath header is on one queue, with the header or without, in ip,
#    5tuple, inner-ip, inner-5tuple and vlan modes (the flow: tshark's
#    5-tuple of the first IP header, of the last in the inner modes).
#  - ARP: a request (to broadcast) and its reply are on one queue in the
#    four IP-keyed modes; in ip mode the ARP packets of two hosts go where
#    their IP packets go (untunnelled), in inner-ip mode where the IP
#    packets go that are innermost between them (in tunnels too).
source "$(dirname "$0")/lib.sh"
need_cmd tshark
need_pcaps
[ -x "$RINGFAN" ] || fail "no ringfan binary at $RINGFAN"

MODES=(ip 5tuple inner-ip inner-5tuple vlan)
FIELDS=(frame.number frame.protocols ip.src ip.dst ipv6.src ipv6.dst ip.proto ipv6.nxt
	tcp.srcport tcp.dstport udp.srcport udp.dstport arp.opcode arp.src.proto_ipv4
	arp.dst.proto_ipv4)
targs=()
for f in "${FIELDS[@]}"; do targs+=(-e "$f"); done

real=$PCAPS/ndpi-merged-ether.pcap
[ -f "$real" ] || skip "no $real"
"$RINGFAN" gen -q -o "$TMP/gen.pcap" --flows 200 --packets 4000 --seed 9 --ipv6 20 --frag 10 \
	--vlan 10 --fabricpath 30 --capwap 25 --arp 70 || fail "ringfan gen failed"
for cap in "$real" "$TMP/gen.pcap"; do
	name=$(basename "$cap")
	tshark -r "$cap" -n -o ip.defragment:FALSE -o ipv6.defragment:FALSE -T fields \
		-E occurrence=a -E aggregator=, "${targs[@]}" >"$TMP/$name.tsv" 2>/dev/null ||
		fail "tshark cannot read $name"
	for m in "${MODES[@]}"; do
		"$RINGFAN" explain -m "$m" -n 7 --json "$cap" >"$TMP/$name.$m.json" 2>/dev/null ||
			fail "explain -m $m failed on $name"
	done
done

/usr/bin/python3 - "$TMP" "${MODES[*]}" "${FIELDS[@]}" <<'EOF'
import collections, json, os, sys

tmp, modes, fields = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
errors = []
counts = collections.Counter()

def vals(s):
    return s.split(',') if s else []

def load(name):
    rows = {}
    with open(os.path.join(tmp, name + '.tsv')) as f:
        for line in f:
            r = dict(zip(fields, line.rstrip('\n').split('\t') + [''] * 20))
            r['prot'] = r['frame.protocols'].split(':')
            rows[int(r['frame.number'])] = r
    queues = {}
    for m in modes:
        with open(os.path.join(tmp, f'{name}.{m}.json')) as f:
            queues[m] = {o['frame']: o['queue'] for o in map(json.loads, f)}
    return rows, queues

def ip_pair(r, which):
    """Unordered address pair of the first (0) or last (-1) IP header, or None."""
    ips = [p for p in r['prot'] if p in ('ip', 'ipv6')]
    if not ips:
        return None
    k = len(ips) - 1 if which == -1 else 0
    idx = ips[:k].count(ips[k])  # tshark lists each version's addresses in order
    return frozenset((vals(r[ips[k] + '.src'])[idx], vals(r[ips[k] + '.dst'])[idx]))

def five_tuple(r, which):
    """Protocol and unordered endpoints of the first (0) or last (-1) IP header, when TCP or
    UDP follows it; else None."""
    prot = r['prot']
    ips = [i for i, p in enumerate(prot) if p in ('ip', 'ipv6')]
    if not ips or prot[ips[which] + 1:ips[which] + 2] not in (['tcp'], ['udp']):
        return None
    at, t = ips[which], prot[ips[which] + 1]
    idx = [prot[i] for i in ips if i < at].count(prot[at])
    n = prot[:at].count(t)  # tshark lists the ports of each header in order
    src, dst = vals(r[prot[at] + '.src'])[idx], vals(r[prot[at] + '.dst'])[idx]
    sp, dp = vals(r[t + '.srcport'])[n], vals(r[t + '.dstport'])[n]
    return (t, frozenset(((src, sp), (dst, dp))))

def one_queue(name, what, mode, frames, queues):
    qs = {queues[mode][fr] for fr in frames}
    if len(qs) != 1:
        errors.append(f'{name} {mode}: {what}: frames {sorted(frames)[:8]} on queues {sorted(qs)}')

for name in ('ndpi-merged-ether.pcap', 'gen.pcap'):
    rows, queues = load(name)
    # FabricPath: the flows (as each mode sees them) that appear with the header.
    for m in modes:
        which = -1 if m.startswith('inner') else 0
        fp_flows = {five_tuple(r, which) for r in rows.values() if 'cfp' in r['prot']} - {None}
        by_flow = collections.defaultdict(list)
        for fr, r in rows.items():
            k = five_tuple(r, which)
            if k in fp_flows:
                by_flow[k].append(fr)
        for k, frs in by_flow.items():
            fp = [fr for fr in frs if 'cfp' in rows[fr]['prot']]
            if len(fp) == len(frs):
                continue  # no plain copy to compare with
            if m == 'ip':
                counts[f'{name}: FabricPath flows with both kinds of copies'] += 1
                counts[f'{name}: their packets through FabricPath'] += len(fp)
            one_queue(name, f'flow {sorted(k[1])} with and without FabricPath', m, frs, queues)
    # ARP: request and reply, and the IP packets of the same two hosts.
    arp = collections.defaultdict(list)
    for fr, r in rows.items():
        if r['prot'][-1] == 'arp' and r['arp.src.proto_ipv4']:
            arp[frozenset((vals(r['arp.src.proto_ipv4'])[-1],
                           vals(r['arp.dst.proto_ipv4'])[-1]))].append(fr)
    plain_ip = collections.defaultdict(list)   # one IP header, no tunnel: ip mode's key
    inner_ip = collections.defaultdict(list)   # innermost pair: inner-ip mode's key
    for fr, r in rows.items():
        if r['prot'][-1] == 'arp':
            continue
        ips = [p for p in r['prot'] if p in ('ip', 'ipv6')]
        if len(ips) == 1 and 'icmp' not in r['prot']:
            plain_ip[ip_pair(r, 0)].append(fr)
        if ips and 'icmp' not in r['prot'] and 'icmpv6' not in r['prot']:
            inner_ip[ip_pair(r, -1)].append(fr)
    for pair, frs in arp.items():
        ops = {vals(rows[fr]['arp.opcode'])[-1] for fr in frs}
        if ops >= {'1', '2'}:
            counts[f'{name}: ARP requests with their reply'] += 1
        for m in ('ip', '5tuple', 'inner-ip', 'inner-5tuple'):
            untunnelled = [fr for fr in frs
                           if not any(p in ('ip', 'ipv6') for p in rows[fr]['prot'])]
            group = frs if m.startswith('inner') else untunnelled
            if len(group) > 1:
                one_queue(name, f'ARP between {sorted(pair)}', m, group, queues)
        untunnelled = [fr for fr in frs if not any(p in ('ip', 'ipv6') for p in rows[fr]['prot'])]
        if untunnelled and plain_ip.get(pair):
            counts[f'{name}: ARP pairs with IP traffic (ip mode)'] += 1
            one_queue(name, f'ARP and IP between {sorted(pair)}', 'ip',
                      untunnelled + plain_ip[pair], queues)
        if inner_ip.get(pair):
            counts[f'{name}: ARP pairs with IP traffic (inner-ip mode)'] += 1
            one_queue(name, f'ARP and innermost IP between {sorted(pair)}', 'inner-ip',
                      frs + inner_ip[pair], queues)

for k in sorted(counts):
    print(f'# {k}: {counts[k]}')
for e in errors[:40]:
    print('ERROR ' + e)
if errors:
    print(f'FAIL: {len(errors)} affinity violations')
    sys.exit(1)
need = {'ndpi-merged-ether.pcap: FabricPath flows with both kinds of copies': 1,
        'ndpi-merged-ether.pcap: their packets through FabricPath': 12,
        'ndpi-merged-ether.pcap: ARP requests with their reply': 10,
        'gen.pcap: FabricPath flows with both kinds of copies': 30,
        'gen.pcap: ARP requests with their reply': 50,
        'gen.pcap: ARP pairs with IP traffic (ip mode)': 20,
        'gen.pcap: ARP pairs with IP traffic (inner-ip mode)': 50}
short = [f'{k} ({counts[k]} < {n})' for k, n in need.items() if counts[k] < n]
if short:
    print('FAIL: too few checked: ' + '; '.join(short))
    sys.exit(1)
EOF
