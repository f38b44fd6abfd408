#!/usr/bin/env bash
# The demo: ringfan's main job on generated traffic, in under a minute.
#
# ringfan gen writes a mixed capture (TCP/UDP flows in both directions, VLAN,
# MPLS, tunnels, IPv6, fragments); ringfan balance replays it at a steady rate
# over 4 queues; queues 0-2 are read by `ringfan count` processes, queue 3 is
# re-emitted on a veth (the dummy-interface method of zbalance_ipc) and
# counted on the veth's peer. Halfway, the consumer of queue 1 is killed with
# kill -9 and restarted. The summary shows what each consumer got.
#
# Needs root (it creates a network namespace, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
RINGFAN=${RINGFAN:-$top/build/ringfan}
PACKETS=${DEMO_PACKETS:-60000}
FLOWS=${DEMO_FLOWS:-300}
RATE=${DEMO_RATE:-20000}
MODE=${DEMO_MODE:-5tuple}
CLUSTER=42

((EUID == 0)) || { echo "demo: run as root (it creates a network namespace)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/ringfan-demo.XXXXXX)
export RINGFAN_DIR=$tmp/run
ns=rfdemo-$$
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
[ -n "${DEMO_KEEP:-}" ] && trap - EXIT

say() { printf '%s\n' "$*"; }
num() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

# 1. Traffic.
"$RINGFAN" gen -q -o "$tmp/demo.pcap" --flows "$FLOWS" --packets "$PACKETS" --seed 7 \
	--size imix --vlan 10 --qinq 5 --mpls 5 --gre 5 --vxlan 5 --gtpu 5 --ipip 5 \
	--ipv6 30 --frag 10 --frag-ooo 50 --rate "$RATE"

# What ringfan explain predicts for each queue (the same hash the balancer uses).
"$RINGFAN" explain -m "$MODE" -n 4 --json "$tmp/demo.pcap" >"$tmp/predicted.json" 2>/dev/null
expect3=$(grep -c '"queue": *3[,}]' "$tmp/predicted.json" || true)

# 2. A namespace with a veth pair: queue 3 goes out on vq3, a capture on its peer.
ip netns add "$ns"
nsx() { ip netns exec "$ns" "$@"; }
nsx ip link set lo up
nsx ip link add vq3 mtu 9000 type veth peer name vq3-ids mtu 9000
for i in vq3 vq3-ids; do
	nsx sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
	nsx ip link set "$i" up
done

# 3. Consumers first, so that nothing is waiting when traffic starts.
mkdir -p "$RINGFAN_DIR"
start_count() { # queue file
	"$RINGFAN" count -i "$CLUSTER@$1" -q --json -w "$2" >"$2.json" 2>"$2.err" &
	pids+=($!)
}
nsx "$RINGFAN" count -i vq3-ids -q --json -w "$tmp/q3.pcap" -N "$expect3" --duration 60 \
	>"$tmp/q3.pcap.json" 2>"$tmp/q3.pcap.err" &
pids+=($!)
# Start traffic only once the capture socket is bound (a packet socket on vq3-ids).
ifindex=$(nsx cat /sys/class/net/vq3-ids/ifindex)
for _ in $(seq 200); do
	nsx awk -v i="$ifindex" 'NR > 1 && $5 == i { f = 1 } END { exit !f }' /proc/net/packet && break
	sleep 0.05
done

say "ringfan demo: $(num "$PACKETS") packets in $(num "$FLOWS") flows (ringfan gen), 4 queues, mode $MODE, $(num "$RATE") packets/s"
nsx "$RINGFAN" balance -i "pcap:$tmp/demo.pcap" -c "$CLUSTER" -n 4 -m "$MODE" --rate "$RATE" \
	-r 3:vq3 >"$tmp/balance.out" 2>"$tmp/balance.err" &
balancer=$!
pids+=($balancer)
for _ in $(seq 100); do [ -e "$RINGFAN_DIR/$CLUSTER@2.ring" ] && break; sleep 0.05; done
start_count 0 "$tmp/q0.pcap"
start_count 1 "$tmp/q1a.pcap"
victim=$!
start_count 2 "$tmp/q2.pcap"

# 4. Halfway: kill -9 the consumer of queue 1, restart it half a second later.
sleep "$(awk -v p="$PACKETS" -v r="$RATE" 'BEGIN { printf "%.2f", p / r / 2 }')"
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
say "  ... kill -9 the consumer of queue 1 (pid $victim); restarting it in 0.5 s"
sleep 0.5
start_count 1 "$tmp/q1b.pcap"

# 5. The file ends: the balancer marks every queue finished, consumers drain and exit.
wait "$balancer" || { cat "$tmp/balance.err"; exit 1; }
for p in "${pids[@]}"; do [ "$p" == "$victim" ] || wait "$p" 2>/dev/null || true; done
"$RINGFAN" stats -c "$CLUSTER" --json >"$tmp/stats.json"

# 6. Summary.
/usr/bin/python3 - "$tmp" "$RINGFAN" "$MODE" <<'EOF'
import json, subprocess, sys
tmp, ringfan, mode = sys.argv[1:4]
stats = json.load(open(f"{tmp}/stats.json"))
queues = {q["queue"]: q for q in stats["queues"]}

def flows(pcaps):
    keys = set()
    for p in pcaps:
        out = subprocess.run([ringfan, "explain", "-m", mode, "--json", p],
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            o = json.loads(line)
            a = (str(o["src"]), o.get("sport") or 0)
            b = (str(o["dst"]), o.get("dport") or 0)
            keys.add((min(a, b), max(a, b), o["proto"]))  # a flow is both directions
    return keys

def final(path):
    last = None
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            last = json.loads(line)
    return last or {"packets": 0}

rows, seen = [], {}
consumers = {0: ["q0.pcap"], 1: ["q1a.pcap", "q1b.pcap"], 2: ["q2.pcap"], 3: ["q3.pcap"]}
names = {0: "ringfan count", 1: "ringfan count (killed, restarted)", 2: "ringfan count",
         3: "veth re-emission -> ringfan count"}
for q in range(4):
    keys = flows([f"{tmp}/{f}" for f in consumers[q]])
    for k in keys:
        seen.setdefault(k, set()).add(q)
    got = final(f"{tmp}/{consumers[q][-1]}.json")["packets"]
    rows.append((q, names[q], queues[q]["enqueued"], got, len(keys), queues[q]["dropped"]))

print(f"\n{'queue':>5}  {'consumer':34} {'enqueued':>9} {'received':>9} {'flows':>6} {'dropped':>8}")
for q, name, enq, got, nflows, dropped in rows:
    note = " (after restart)" if q == 1 else ""
    print(f"{q:>5}  {name:34} {enq:>9,} {got:>9,} {nflows:>6,} {dropped:>8,}{note}")

q1 = queues[1]
lost = q1["enqueued"] - q1["consumer_read"]
print(f"\nconsumer of queue 1 was killed and restarted: {lost} packets lost "
      f"(the queue buffered while it was gone; the new consumer resumed at the committed cursor)")
multi = [k for k, qs in seen.items() if len(qs) > 1]
print(f"every flow seen by exactly one consumer: {'yes' if not multi else 'NO'} "
      f"({len(seen):,} flows as {mode} defines them{'' if not multi else f', {len(multi)} split'})")
rec = stats["sources"][0]["received"]
enq = sum(q["enqueued"] for q in queues.values())
drop = sum(q["dropped"] for q in queues.values())
print(f"balancer: received {rec:,} = enqueued {enq:,} + dropped {drop:,}")
sys.exit(0 if not multi and lost == 0 and rec == enq + drop else 1)
EOF
