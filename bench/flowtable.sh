#!/usr/bin/env bash
# The flow table's cost per packet (lookup, count, place; random flow order,
# so that a 1M-flow table is read from DRAM), with 10 k and 1 M active flows:
# median of 5 runs each, against the stateless queue pick in the same run.
# Usage: bench/flowtable.sh [BUILD]
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/bench/flowtable
[ -x "$BIN" ] || { echo "build $BIN first (ninja -C $BUILD)"; exit 1; }
for flows in 10000 1000000; do
	for run in 1 2 3 4 5; do "$BIN" "$flows" 20000000; done |
		awk '{ print $(NF - 3) }' | sort -n | awk -v f="$flows" '{ v[NR] = $1 }
			END { printf "flows %s: table costs %s ns/packet (median of %d)\n", f, v[int((NR + 1) / 2)], NR }'
done
echo "machine: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
