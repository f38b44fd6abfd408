#!/bin/bash
# Flow affinity: in every mode, every packet of a flow (as the mode defines
# it: both directions; all fragments, in order or not) gets the same queue.
# Checked with `ringfan explain -n 7 --json` on every capture in $PCAPS and
# on a `ringfan gen --all --fabricpath 10` capture (when gen is available):
#  - the key explain prints (sorted endpoints, ports and protocol in 5tuple
#    modes) maps to exactly one queue;
#  - fragments, grouped independently of ringfan by tshark's (addresses,
#    protocol, IP id / IPv6 fragment id), share one queue whenever the group's
#    first fragment is in the capture (without it they can only fall back to
#    the addresses + protocol hash, which explain reports as "expired");
#  - rr gives frame index modulo n, fanout gives "all";
#  - with 100 flows or more, every queue gets traffic in the hashing modes;
#  - the same in every placement of flows (--placement least-loaded and
#    weighted, which explain decides as the balancer's flow table does) in the
#    modes with flows, on the generated capture (fragments in and out of
#    order, every tunnel), with a table that never forgets a flow.
source "$(dirname "$0")/lib.sh"
need_cmd tshark
need_pcaps
[ -x "$RINGFAN" ] || fail "no ringfan binary at $RINGFAN"

MODES=(rr ip 5tuple inner-ip inner-5tuple vlan iface fanout)
# MODE@PLACEMENT: explain's options for that placement (on the generated capture)
declare -A PLACEMENTS=(
	[least-loaded]="--placement least-loaded"
	[weighted]="--placement weighted --weights 3,1,1,1,1,1,2"
)
PLACED_MODES=(ip 5tuple inner-ip inner-5tuple)
FOREVER=3162240000 # --flow-timeout's longest: no flow expires, nor after a FIN
FIELDS=("${TSHARK_FIELDS[@]}")

caps=()
for cap in "$PCAPS"/*.pcap "$PCAPS"/*.pcapng; do
	[ -f "$cap" ] && caps+=("$cap")
done
if "$RINGFAN" gen --help >/dev/null 2>&1; then
	"$RINGFAN" gen -o "$TMP/gen-all.pcap" --all --fabricpath 10 --flows 400 --packets 20000 \
		--frag 40 --frag-ooo 50 --seed 7 -q ||
		fail "ringfan gen --all failed"
	caps+=("$TMP/gen-all.pcap")
	info "checking a 'ringfan gen --all --fabricpath 10' capture too"
else
	info "ringfan gen is not available: checking the captures in $PCAPS only"
fi

mkdir -p "$TMP/out"
# One capture through tshark and explain in every mode; one capture per core at once.
dissect() { # capture
	local name m
	name=$(basename "$1")
	tshark_dissect "$1" "$TMP/out/$name.tsv" || { echo "tshark cannot read $name" >"$TMP/$name.fail"; return; }
	for m in "${MODES[@]}"; do
		"$RINGFAN" explain -m "$m" -n 7 --json "$1" >"$TMP/out/$name.$m.json" \
			2>"$TMP/out/$name.$m.err" || echo "explain -m $m failed on $name" >"$TMP/$name.fail"
	done
	[ "$1" == "$TMP/gen-all.pcap" ] || return 0
	for m in "${PLACED_MODES[@]}"; do
		for p in "${!PLACEMENTS[@]}"; do
			# shellcheck disable=SC2086
			"$RINGFAN" explain -m "$m" -n 7 --json ${PLACEMENTS[$p]} \
				--flow-timeout $FOREVER,$FOREVER "$1" >"$TMP/out/$name.$m@$p.json" \
				2>"$TMP/out/$name.$m@$p.err" ||
				echo "explain -m $m ${PLACEMENTS[$p]} failed on $name" >"$TMP/$name.fail"
		done
	done
}
for cap in "${caps[@]}"; do
	while (($(jobs -rp | wc -l) >= $(nproc))); do wait -n || true; done
	dissect "$cap" &
done
wait
! ls "$TMP"/*.fail >/dev/null 2>&1 || fail "$(cat "$TMP"/*.fail | head -3)"
info "ran ${#MODES[@]} modes over ${#caps[@]} captures"

placed=()
for m in "${PLACED_MODES[@]}"; do for p in "${!PLACEMENTS[@]}"; do placed+=("$m@$p"); done; done
/usr/bin/python3 - "$TMP/out" "${MODES[*]} ${placed[*]}" "${FIELDS[@]}" <<'EOF'
import collections, json, os, sys

out, modes, fields = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
N = 7
errors = []
stats = collections.Counter()

def vals(s):
    return s.split(',') if s else []

def frag_groups(tsv):
    """frame -> (datagram id, is first fragment), from tshark's dissection."""
    groups = {}
    with open(tsv) as f:
        for line in f:
            r = dict(zip(fields, line.rstrip('\n').split('\t') + [''] * 20))
            fr = int(r['frame.number'])
            mf, off = vals(r['ip.flags.mf']), vals(r['ip.frag_offset'])
            for k in range(min(len(mf), len(off))):
                if mf[k] in ('1', 'True') or off[k] not in ('0', ''):
                    key = ('4',) + tuple(vals(r[x])[k] for x in ('ip.src', 'ip.dst', 'ip.proto', 'ip.id'))
                    groups[fr] = (key, off[k] == '0')
                    break
            if fr in groups or not r['ipv6.fraghdr.ident']:
                continue
            if len(vals(r['ipv6.src'])) != 1 or len(vals(r['ipv6.fraghdr.ident'])) != 1:
                stats['v6 fragments in tunnels not grouped'] += 1
                continue
            off6, more = r['ipv6.fraghdr.offset'], r['ipv6.fraghdr.more']
            if off6 == '0' and more in ('0', 'False'):
                continue  # atomic fragment: a whole datagram
            key = ('6', r['ipv6.src'], r['ipv6.dst'], r['ipv6.fraghdr.nxt'], r['ipv6.fraghdr.ident'])
            groups[fr] = (key, off6 == '0')
    return groups

def flow_key(mode, o):
    if mode in ('ip', 'inner-ip'):
        return frozenset((o['src'], o['dst']))
    if mode in ('5tuple', 'inner-5tuple'):
        return (o['proto'], frozenset(((o['src'], o['sport']), (o['dst'], o['dport']))))
    if mode == 'vlan':
        return o.get('vlan')
    return 'iface'

names = sorted({f.rsplit('.', 2)[0] for f in os.listdir(out) if f.endswith('.json')})
for name in names:
    groups = frag_groups(os.path.join(out, name + '.tsv'))
    for placed in modes:
        path = os.path.join(out, f'{name}.{placed}.json')
        if '@' in placed and not os.path.exists(path):
            continue  # placements: the generated capture only
        mode = placed.split('@')[0]
        rows = [json.loads(l) for l in open(path)]
        if '@' in placed:
            whys = collections.Counter(o['why'] for o in rows)
            want = 'least-loaded' if placed.endswith('least-loaded') else 'weight'
            if set(whys) != {want}:
                errors.append(f'{name} {placed}: decisions {dict(whys)}, not all {want}')
            stats[f'{placed}: packets'] += len(rows)
        frames = sorted(o['frame'] for o in rows)
        if frames != list(range(1, len(frames) + 1)):
            errors.append(f'{name} {placed}: frames missing or repeated')
            continue
        if mode == 'rr':
            bad = [o['frame'] for o in rows if o['queue'] != (o['frame'] - 1) % N]
            if bad:
                errors.append(f'{name} rr: frame {bad[0]} not on queue (frame-1) % {N}')
            continue
        if mode == 'fanout':
            if any(o['queue'] != 'all' for o in rows):
                errors.append(f'{name} fanout: a packet not sent to all queues')
            continue
        q_of = {}
        per_queue = collections.Counter()
        for o in rows:
            per_queue[o['queue']] += 1
            k = flow_key(mode, o)
            if q_of.setdefault(k, o['queue']) != o['queue']:
                errors.append(f'{name} {placed}: frame {o["frame"]} key {k} on queue {o["queue"]}, '
                              f'earlier packets of that key on {q_of[k]}')
        stats[f'{placed}: flows'] += len(q_of)
        if len(q_of) >= 100 and mode != 'vlan' and len(per_queue) != N:
            errors.append(f'{name} {placed}: only {len(per_queue)} of {N} queues used')
        if mode in ('vlan', 'iface'):
            continue
        queue = {o['frame']: o['queue'] for o in rows}
        byid = collections.defaultdict(list)
        for fr, (key, first) in sorted(groups.items()):
            # An IP id is reused by later datagrams (attack captures do it on
            # purpose): a new first fragment starts a new datagram, and the
            # fragments after it belong to it until the next one.
            if first and any(f for _, f in byid[key]):
                n = 1
                while (key, n) in byid:
                    n += 1
                byid[(key, n)] = byid.pop(key)
            byid[key].append((fr, first))
        for key, frs in byid.items():
            if not any(first for _, first in frs):
                stats[f'{placed}: fragment groups without their first fragment'] += 1
                continue
            qs = {queue[fr] for fr, _ in frs}
            stats[f'{placed}: fragment groups checked'] += 1
            stats[f'{placed}: fragments checked'] += len(frs)
            if len(qs) != 1:
                errors.append(f'{name} {placed}: {len(frs)} fragments (frames {frs[0][0]}..'
                              f'{frs[-1][0]}) of datagram {key} on queues {sorted(qs, key=str)}')

for k in sorted(stats):
    print(f'# {k}: {stats[k]}')
for e in errors[:40]:
    print('ERROR ' + e)
if errors:
    print(f'FAIL: {len(errors)} affinity violations')
    sys.exit(1)
if stats['5tuple: fragment groups checked'] < 50:
    print('FAIL: too few fragmented datagrams checked')
    sys.exit(1)
for placed in [m for m in modes if '@' in m]:
    if stats[f'{placed}: fragment groups checked'] < 50:
        print(f'FAIL: too few fragmented datagrams checked in {placed}')
        sys.exit(1)
EOF
