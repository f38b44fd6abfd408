#!/bin/bash
# ringfan explain's flow keys agree with Wireshark's dissection, on every
# Ethernet capture in $PCAPS and on a `ringfan gen` capture of the
# encapsulations the captures have few of (PPPoE with a compressed protocol
# field, FabricPath, CAPWAP, ARP):
#  - 5tuple mode, packets tshark decodes as one IPv4/IPv6 header followed by
#    TCP/UDP: src, dst, proto, sport, dport equal tshark's first ip/ipv6
#    addresses, ip.proto / the IPv6 upper-layer header, and tcp/udp ports.
#  - inner-5tuple mode, tunnelled packets (two or more IP headers, not an ICMP
#    error quoting a packet): the same fields equal tshark's innermost header
#    (last occurrence).
#  - ARP (IPv4): src and dst equal the sender and target protocol addresses,
#    in both modes when no IP header comes before it, in inner-5tuple mode
#    behind tunnels; no proto or ports.
# Each of FabricPath, Cisco MetaData, CAPWAP (802.3 and 802.11), PPPoE (and
# its 1-byte protocol field) and ARP must be among the compared packets.
# Reassembly is off in tshark so that every fragment is dissected on its own.
# Excluded on purpose, counted and listed: IPv6 with a segment routing header
# (ringfan uses the final segment as destination, so both ends of a flow meet)
# and packets whose TCP/UDP header ringfan found cut short (it then hashes on
# addresses + protocol, while tshark still shows the ports). Not compared,
# counted: packets sampled inside sFlow datagrams (a sample is not a tunnel:
# ringfan keys the datagram that reports it), and tunnels past ringfan's
# limits.
source "$(dirname "$0")/lib.sh"
need_cmd tshark
need_pcaps
[ -x "$RINGFAN" ] || fail "no ringfan binary at $RINGFAN"

FIELDS=("${TSHARK_FIELDS[@]}")

"$RINGFAN" gen -q -o "$TMP/gen-encap.pcap" --flows 200 --packets 3000 --seed 5 --ipv6 25 \
	--frag 10 --vlan 10 --pppoe 20 --fabricpath 20 --capwap 30 --arp 60 ||
	fail "ringfan gen failed"
# One capture through tshark and explain (both modes); several at once, one per core.
dissect() { # capture
	local name
	name=$(basename "$1")
	tshark_dissect "$1" "$TMP/$name.tsv" || { echo "tshark cannot read $name" >"$TMP/$name.fail"; return; }
	"$RINGFAN" explain -m 5tuple -n 7 --json "$1" >"$TMP/$name.outer.json" 2>/dev/null ||
		echo "explain -m 5tuple failed on $name" >"$TMP/$name.fail"
	"$RINGFAN" explain -m inner-5tuple -n 7 --json "$1" >"$TMP/$name.inner.json" 2>/dev/null ||
		echo "explain -m inner-5tuple failed on $name" >"$TMP/$name.fail"
}
n=0
jobs_max=$(nproc)
for cap in "$PCAPS"/*.pcap "$PCAPS"/*.pcapng "$TMP/gen-encap.pcap"; do
	[ -f "$cap" ] || continue
	while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n || true; done
	dissect "$cap" &
	n=$((n + 1))
done
wait
! ls "$TMP"/*.fail >/dev/null 2>&1 || fail "$(cat "$TMP"/*.fail | head -3)"
info "dissected $n captures with tshark and ringfan"

/usr/bin/python3 - "$TMP" "${FIELDS[@]}" <<'EOF'
import glob, ipaddress, json, os, sys

tmp = sys.argv[1]
EXT = {'0', '43', '44', '60', '51', '135', '139', '140'}

def norm(a):
    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        return a  # a MAC address: the packet had no IP header for ringfan

def vals(s):
    return s.split(',') if s else []

def at(row, f, pick):
    v = vals(row[f])
    return v[pick] if v else None

def upper_v6(row, first):
    """IPv6 upper-layer protocol: the next-header value that is not an extension header."""
    nxt = vals(row['ipv6.nxt'])
    if not nxt:
        return None
    if nxt[0 if first else -1] not in EXT:
        return nxt[0 if first else -1]
    chain = []
    for f in ('ipv6.hopopts.nxt', 'ipv6.routing.nxt', 'ipv6.dstopts.nxt', 'ipv6.fraghdr.nxt'):
        chain += vals(row[f])
    ups = [c for c in chain if c not in EXT]
    return ups[0 if first else -1] if ups else None

def transport_after(prot, i):
    j = i + 1
    while j < len(prot) and prot[j].startswith('ipv6.'):
        j += 1
    return prot[j] if j < len(prot) and prot[j] in ('tcp', 'udp') else None

# Headers between two IP headers (or an IP header and ARP) that make a tunnel ringfan decodes.
TUNNEL_TOKENS = {'gre', 'erspan', 'eth', 'ethertype', 'vlan', 'ieee8021ad', 'mpls', 'udp', 'gtp',
                 'vxlan', 'geneve', 'teredo', 'ppp', 'pppoes', 'ah', 'cfp', 'cmd', 'capwap.data',
                 'wlan', 'llc'}
UDP_TUNNELS = {'gtp', 'vxlan', 'geneve', 'teredo', 'capwap.data'}
TUNNEL_PORTS = {2152, 3544, 4789, 6081}
# Features that must be among the compared packets: frame.protocols token -> name.
FEATURES = {'cfp': 'FabricPath', 'cmd': 'Cisco MetaData', 'capwap.data': 'CAPWAP',
            'wlan': 'CAPWAP 802.11', 'pppoes': 'PPPoE', 'arp': 'ARP'}
skipped = {}
seen = {name: 0 for name in list(FEATURES.values()) + ['PPPoE 1-byte protocol']}

def skip(why):
    skipped[why] = skipped.get(why, 0) + 1
    return None

def known_tunnel(seg, row):
    for t in seg:
        if t not in TUNNEL_TOKENS and not t.startswith('ipv6.'):
            return t
    # tshark 4.0 dissects VXLAN-GPE without naming it in frame.protocols.
    if 'udp' in seg and not UDP_TUNNELS & set(seg) and not row['vxlan.vni']:
        return 'ip-in-udp'
    return None

def tunnels_known(prot, heads, row):
    """None if every stretch between the headers at heads is a tunnel ringfan decodes."""
    for a, b in zip(heads, heads[1:]):
        if 'icmp' in prot[a:b] or 'icmpv6' in prot[a:b]:
            return 'icmp'  # an ICMP error quoting a packet, not a tunnel
        unknown = known_tunnel(prot[a + 1:b], row)
        if unknown:
            return skip(f'inner header behind a tunnel ringfan does not decode: {unknown}') or 'skip'
    return None

def expected_arp(row, prot, ipl, inner):
    """ARP is keyed on its protocol addresses when no IP header comes first, or in inner modes."""
    spa, tpa = vals(row['arp.src.proto_ipv4']), vals(row['arp.dst.proto_ipv4'])
    if not spa or not tpa or (ipl and not inner):
        return None
    if tunnels_known(prot, ipl + [len(prot) - 1], row):
        return None
    return {'src': spa[-1], 'dst': tpa[-1], 'proto': None, 'sport': None, 'dport': None,
            'srh': False}

def expected(row, inner):
    prot = row['frame.protocols'].split(':')
    if not prot or prot[0] != 'eth':
        return None
    ipl = [i for i, p in enumerate(prot) if p in ('ip', 'ipv6')]
    if prot[-1] == 'arp':
        return expected_arp(row, prot, ipl, inner)
    if not ipl:
        return None
    if inner:
        if len(ipl) < 2 or tunnels_known(prot, ipl, row):
            return None
        if len(ipl) > 4:
            return skip('more IP headers than ringfan keeps (4)')
    elif len(ipl) != 1:
        return None
    last = ipl[-1]
    fam = prot[last]
    t = transport_after(prot, last)
    if not inner and t is None:
        return None
    pick = -1 if inner else 0
    if fam == 'ip':
        src, dst, proto = (at(row, f, pick) for f in ('ip.src', 'ip.dst', 'ip.proto'))
    else:
        src, dst = (at(row, f, pick) for f in ('ipv6.src', 'ipv6.dst'))
        proto = upper_v6(row, not inner)
    if src is None or dst is None:
        return None
    e = {'src': norm(src), 'dst': norm(dst), 'proto': int(proto) if proto else None,
         'sport': None, 'dport': None, 'srh': 'ipv6.routing' in prot[last:]}
    if t:
        sp, dp = at(row, t + '.srcport', pick), at(row, t + '.dstport', pick)
        if sp is None or dp is None:
            return None
        e['sport'], e['dport'] = int(sp), int(dp)
    return e

def count_features(row):
    prot = row['frame.protocols'].split(':')
    for token, name in FEATURES.items():
        if token in prot:
            seen[name] += 1
    if 'pppoes' in prot:
        # The PPP protocol field: the PPPoE payload minus the IP packet after it.
        ip_len = vals(row['ip.len'])[0] if prot[prot.index('ppp') + 1] == 'ip' else \
            str(int(vals(row['ipv6.plen'])[0]) + 40)
        if int(vals(row['pppoe.payload_length'])[0]) - int(ip_len) == 1:
            seen['PPPoE 1-byte protocol'] += 1

fields = None
compared = {'outer': 0, 'inner': 0}
excluded = []
bad = []
for tsv in sorted(glob.glob(os.path.join(tmp, '*.tsv'))):
    name = os.path.basename(tsv)[:-4]
    rows = {}
    with open(tsv) as f:
        for line in f:
            parts = line.rstrip('\n').split('\t')
            row = dict(zip(sys.argv[2:], parts + [''] * 20))
            rows[int(row['frame.number'])] = row
    for kind in ('outer', 'inner'):
        got = {}
        with open(os.path.join(tmp, name + '.' + kind + '.json')) as f:
            for line in f:
                o = json.loads(line)
                got[o['frame']] = o
        if len(got) != len(rows):
            bad.append(f'{name}: explain printed {len(got)} frames, tshark {len(rows)}')
            continue
        for fr, row in rows.items():
            e = expected(row, kind == 'inner')
            if e is None:
                continue
            o = got[fr]
            have = {'src': norm(o['src']) if o['src'] else None,
                    'dst': norm(o['dst']) if o['dst'] else None,
                    'proto': o['proto'], 'sport': o['sport'], 'dport': o['dport']}
            if e['sport'] is None:
                have['sport'] = have['dport'] = None
            diff = [k for k in have if have[k] != e[k]]
            if not diff:
                compared[kind] += 1
                count_features(row)
                continue
            what = f'{name} frame {fr} ({kind}): ' + ', '.join(
                f'{k} ringfan={have[k]} tshark={e[k]}' for k in diff)
            if diff == ['dst'] and e['srh']:
                excluded.append(what + ' [SRv6: ringfan uses the final segment]')
            elif kind == 'inner' and o['sport'] in TUNNEL_PORTS and o['dport'] not in TUNNEL_PORTS:
                excluded.append(what + ' [UDP tunnel known to tshark by its source port only]')
            elif set(diff) <= {'sport', 'dport'} and o['reason'] == 'truncated' and o['sport'] is None:
                excluded.append(what + ' [L4 header cut short: ringfan hashes addresses + proto]')
            else:
                bad.append(what + f' layers={o["layers"]} tshark={row["frame.protocols"]}')

print(f'# compared {compared["outer"]} outer and {compared["inner"]} tunnelled packets; with',
      ', '.join(f'{name} {c}' for name, c in seen.items()))
for why, c in sorted(skipped.items()):
    print(f'# not compared: {c} packets: {why}')
print(f'# excluded {len(excluded)}:')
for x in excluded:
    print('#   ' + x)
for x in bad[:40]:
    print('MISMATCH ' + x)
if bad:
    print(f'FAIL: {len(bad)} packets disagree with tshark')
    sys.exit(1)
if compared['outer'] < 50000 or compared['inner'] < 100:
    print('FAIL: too few packets compared')
    sys.exit(1)
missing = [name for name, c in seen.items() if c < 10]
if missing:
    print('FAIL: fewer than 10 packets compared with ' + ', '.join(missing))
    sys.exit(1)
if len(excluded) > 20:
    print('FAIL: too many exclusions')
    sys.exit(1)
EOF
