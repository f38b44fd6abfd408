#!/bin/bash
# Decode + hash + queue selection benchmark (see bench/decode-hash.c).
#   bench/decode-hash.sh [BUILDDIR]     (default: build)
# Runs, each a median of RUNS (default 9) timed passes per mode:
#  1. the 28 MB ndpi capture from $RINGFAN_PCAPS (../shared/pcaps), with the
#     spread of flows and packets over 4 queues per mode;
#  2. 64-byte Ethernet/IPv4/TCP packets generated in memory: 100k (6.4 MB,
#     mostly cache-resident) and 1M (64 MB, streaming from memory);
#  3. valgrind --tool=callgrind on 100k generated packets and on the capture:
#     instructions per packet per mode (stable on a shared machine).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${RINGFAN_BUILD:-$TOP/build}}
BIN=$BUILD/bench/decode-hash
PCAPS=${RINGFAN_PCAPS:-$TOP/../shared/pcaps}
CAP=$PCAPS/ndpi-merged-ether.pcap
RUNS=${RUNS:-9}
[ -x "$BIN" ] || { echo "no $BIN: build first (ninja -C $BUILD)" >&2; exit 1; }

if [ -f "$CAP" ]; then
	echo "== $CAP"
	"$BIN" -r "$CAP" -R "$RUNS" -q 4 --spread
else
	echo "== $CAP is absent: skipping the capture"
fi
for n in 100000 1000000; do
	echo "== $n generated 64-byte packets"
	"$BIN" -g "$n" -R "$RUNS" -q 4
done

if ! command -v valgrind >/dev/null; then
	echo "== valgrind is absent: no instruction counts"
	exit 0
fi
# Instructions inside the measured loop only (bench_classify / bench_decode).
count() { # label packets args...
	local label=$1 n=$2 fn mode out ir
	shift 2
	for mode in decode ip 5tuple inner-ip inner-5tuple vlan iface; do
		fn=bench_classify
		margs=(-m "$mode")
		if [ "$mode" = decode ]; then
			fn=bench_decode
			margs=(-m ip)
		fi
		out=$(mktemp)
		valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
			--toggle-collect="$fn" "$BIN" "$@" -R 1 "${margs[@]}" >/dev/null 2>&1
		ir=$(awk '/^summary:/ { print $2 }' "$out")
		rm -f "$out"
		# bench_decode runs three times: warm-up, outer and full decode.
		[ "$mode" = decode ] && ir=$((ir / 3))
		printf '%-22s %-13s %8.1f instructions/packet\n' "$label" "$mode" \
			"$(awk -v a="$ir" -v b="$n" 'BEGIN { print a / b }')"
	done
}
echo "== callgrind"
count "generated 64-byte" 100000 -g 100000
if [ -f "$CAP" ]; then
	count "ndpi-merged-ether" "$("$BIN" -r "$CAP" -R 1 -m vlan | awk '/^# input/ { print $4 }')" -r "$CAP"
fi
