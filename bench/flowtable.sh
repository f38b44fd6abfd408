#!/usr/bin/env bash
# The flow table's cost per packet (lookup, count, place; random flow order,
# so that a 1M-flow table is read from DRAM), with 10 k and 1 M active flows:
# median of RUNS runs each, against the stateless queue pick in the same run,
#   single  rf_place_packet() one packet after the other
#   burst   bursts of 32 with their buckets prefetched first (the balancer's way)
# BEFORE_BUILD: a second build (e.g. of the previous release) run interleaved
# with this one, its figure printed as "before" (its bench prints one figure).
# Goals: burst <= 10 ns/packet with 10 k flows, <= 30 ns with 1 M.
# Usage: bench/flowtable.sh [BUILD]     (environment: RUNS, default 5; BEFORE_BUILD)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/common.sh"
BUILD=${1:-build}
BIN=$BUILD/bench/flowtable
before=${BEFORE_BUILD:+$BEFORE_BUILD/bench/flowtable}
runs=${RUNS:-5}
for b in "$BIN" $before; do
	[ -x "$b" ] || { echo "build $b first"; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for flows in 10000 1000000; do
	: >"$work/after"
	: >"$work/before"
	for ((run = 0; run < runs; run++)); do
		"$BIN" "$flows" 20000000 | sed -n 's/.*single \([0-9.]*\), burst \([0-9.]*\) .*/\1 \2/p' >>"$work/after"
		[ -z "$before" ] || "$before" "$flows" 20000000 |
			sed -n 's/.*table costs \([0-9.]*\) ns.*/\1/p' >>"$work/before"
	done
	single=$(awk '{ print $1 }' "$work/after" | median)
	burst=$(awk '{ print $2 }' "$work/after" | median)
	printf 'flows %s: table costs single %s, burst %s ns/packet' "$flows" "$single" "$burst"
	[ -z "$before" ] || printf ', before %s' "$(median <"$work/before")"
	printf ' (median of %d)\n' "$runs"
done
echo "goals: burst <= 10 ns/packet with 10 k flows, <= 30 ns with 1 M"
echo "machine: $(machine)"
