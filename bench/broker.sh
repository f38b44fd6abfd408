#!/bin/bash
# Cost per packet of balance --filter, --dedup, --strip, --snaplen (see bench/broker.c).
#   bench/broker.sh [BUILDDIR]     (default: build)
# Runs each case on the 28 MB capture from $RINGFAN_PCAPS (../shared/pcaps):
#  1. timed passes (median of RUNS, default 5; noisy on a shared machine);
#  2. valgrind --tool=callgrind on one pass per case: instructions per packet
#     of the whole path (decode, hash, queue pick, the case's work, copy into
#     the queue) and the difference from "plain". Cases that deliver fewer
#     bytes (filters, slicing) also save copying: see "delivered".
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-${RINGFAN_BUILD:-$TOP/build}}
BIN=$BUILD/bench/broker
PCAPS=${RINGFAN_PCAPS:-$TOP/../shared/pcaps}
CAP=${CAP:-$PCAPS/ndpi-merged-ether.pcap}
RUNS=${RUNS:-5}
[ -x "$BIN" ] || { echo "no $BIN: build first (ninja -C $BUILD)" >&2; exit 1; }
[ -f "$CAP" ] || { echo "$CAP is absent" >&2; exit 1; }

echo "== timed"
"$BIN" -r "$CAP" -R "$RUNS"
command -v valgrind >/dev/null || { echo "== valgrind is absent: no instruction counts"; exit 0; }
echo "== callgrind, instructions per packet"
n=$("$BIN" -r "$CAP" -R 1 -c plain | awk '/^# input/ { print $4 }')
base=
for c in $("$BIN" -r "$CAP" -R 1 | awk '!/^#/ { print $1 }'); do
	out=$(mktemp)
	valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
		--toggle-collect=bench_pass "$BIN" -r "$CAP" -R 1 -c "$c" >/dev/null 2>&1
	ir=$(awk '/^summary:/ { print $2 }' "$out")
	rm -f "$out"
	per=$(awk -v a="$ir" -v b="$n" 'BEGIN { printf "%.1f", a / b }')
	base=${base:-$per}
	printf '%-14s %8s instructions/packet  %+7.1f from plain\n' "$c" "$per" \
		"$(awk -v a="$per" -v b="$base" 'BEGIN { print a - b }')"
done
