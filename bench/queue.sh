#!/usr/bin/env bash
# Queue throughput: producer -> consumer in two processes pinned to CPUs 0
# and 1, for 64, 512 and 1500-byte packets, median of RUNS runs of each of:
#   ring   a bare two-process SPSC ring (bench/queue-bench.c), batch-published: the reference
#   queue  a libringfan queue (full record headers, publish/release per burst)
#   veth   AF_PACKET sendmmsg on a veth, TPACKET_V3 RX ring on its peer, in a
#          network namespace made here (with and without PACKET_QDISC_BYPASS)
# Prints the machine and a table with the ratios queue/ring and queue/veth.
#
# Usage (root, for the namespace): bench/queue.sh [BUILD_DIR]   (RUNS=5 by default)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/common.sh"
build=${1:-${RINGFAN_BUILD:-$top/build}}
runs=${RUNS:-5}
qb=$build/bench/queue-bench
afv=$build/bench/afpacket-veth
for b in "$qb" "$afv"; do
	[ -x "$b" ] || { echo "queue.sh: $b is not built (ninja -C $build)" >&2; exit 1; }
done
((EUID == 0)) || { echo "queue.sh: needs root (network namespace for the veth baseline)" >&2; exit 1; }

dir=$(mktemp -d /dev/shm/ringfan-bench.XXXXXX)
ns=rfbench-$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link add va type veth peer name vb
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link set va up
ip -n "$ns" link set vb up

echo "machine: $(machine)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), load: $(cut -d' ' -f1-3 /proc/loadavg), runs: $runs (median)"

mpps() { sed -n 's/.*mpps=\([0-9.]*\).*/\1/p'; }

count_for() { # size: enough packets for ~0.5-1 s of the queue
	case $1 in 64) echo 30000000 ;; 512) echo 10000000 ;; *) echo 5000000 ;; esac
}

printf '%-6s %10s %10s %8s %10s %12s %10s\n' size ring queue q/ring veth veth-bypass q/veth
for size in 64 512 1500; do
	n=$(count_for "$size")
	: >"$dir/ring" && : >"$dir/queue" && : >"$dir/veth" && : >"$dir/vethb"
	for ((i = 0; i < runs; i++)); do
		# Interleaved so that background load hits every variant alike.
		taskset -c 0,1 "$qb" ring "$size" "$n" | mpps >>"$dir/ring"
		taskset -c 0,1 "$qb" queue "$size" "$n" "$dir" | mpps >>"$dir/queue"
		ip netns exec "$ns" taskset -c 0,1 "$afv" va vb "$size" 1 | mpps >>"$dir/veth"
		ip netns exec "$ns" taskset -c 0,1 "$afv" va vb "$size" 1 bypass | mpps >>"$dir/vethb"
	done
	r=$(median <"$dir/ring") q=$(median <"$dir/queue") v=$(median <"$dir/veth") vb=$(median <"$dir/vethb")
	best=$(printf '%s\n%s\n' "$v" "$vb" | sort -g | tail -1)
	printf '%-6s %10.2f %10.2f %8.2f %10.3f %12.3f %9.1fx\n' "$size" "$r" "$q" \
		"$(awk "BEGIN { print $q / $r }")" "$v" "$vb" "$(awk "BEGIN { print $q / $best }")"
done
echo "(Mpps = million packets per second received by the consumer; q/veth against the faster veth variant)"

# Instructions per packet, exact: both handles in one process (queue-bench
# inline), bursts of 32 in and out, counted by callgrind inside the loop only.
command -v valgrind >/dev/null || { echo "(valgrind absent: no instruction counts)"; exit 0; }
echo
printf '%-6s %12s %12s %12s %12s\n' size producer consumer loop total
for size in 64 512 1500; do
	n=320000
	valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" --toggle-collect=inline_loop \
		"$qb" inline "$size" $n "$dir" >/dev/null 2>&1
	callgrind_annotate --auto=no --threshold=100 "$dir/cg.out" 2>/dev/null | awk -v n=$n -v size="$size" '
		/^ *[0-9,]+ .*:/ {
			v = $1; gsub(",", "", v)
			if ($0 ~ /PROGRAM TOTALS/) next
			if ($0 ~ /producer\.c|:rf_producer|memcpy|memmove/) p += v
			else if ($0 ~ /consumer\.c|common\.c|:take|:rf_consumer/) c += v
			else l += v
		}
		END { printf "%-6s %12.1f %12.1f %12.1f %12.1f\n", size, p / n, c / n, l / n, (p + c + l) / n }'
done
echo "(producer: enqueue, publish and the copy into the ring; consumer: recv, record checks, release; loop: the benchmark's own)"
