#!/usr/bin/env bash
# The flow table's cost per packet (lookup, count, place; random flow order,
# so that a 1M-flow table is read from DRAM), with 10 k and 1 M active flows:
# median of RUNS runs each, against the stateless queue pick in the same run,
#   single  rf_place_packet() one packet after the other
#   burst   rf_place_burst(): bursts of 32 with their buckets prefetched first
#   chunk   the balancer's way: a chunk of 32's buckets prefetched, then
#           rf_place_packet() one packet after the other
# BEFORE_BUILD: a second build (e.g. of the previous release) run interleaved
# with this one, its figures printed as "before" (its burst figure, and its
# chunk figure when it has one; or its only one for a bench that prints
# one).
# Then, with valgrind, callgrind's instructions per packet (deterministic,
# unlike the times on a shared machine) of rf_place_burst() and of
# rf_place_packet() with CALLGRIND_FLOWS (default 10000) flows, for each build.
# Goals: burst <= 10 ns/packet with 10 k flows, <= 30 ns with 1 M.
# Usage: bench/flowtable.sh [BUILD]
#   environment: RUNS (default 5), BEFORE_BUILD, CALLGRIND (0: skip), CALLGRIND_FLOWS
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
		"$BIN" "$flows" 20000000 |
			sed -n 's/.*single \([0-9.]*\), burst \([0-9.]*\) ns\/packet, chunk \([0-9.]*\) .*/\1 \2 \3/p' \
				>>"$work/after"
		[ -z "$before" ] || "$before" "$flows" 20000000 |
			sed -n -e 's/.*burst \([0-9.]*\) ns\/packet, chunk \([0-9.]*\) .*/\1 \2/p' \
				-e 't' -e 's/.*burst \([0-9.]*\) ns.*/\1/p' \
				-e 's/.*table costs \([0-9.]*\) ns.*/\1/p' >>"$work/before"
	done
	single=$(awk '{ print $1 }' "$work/after" | median)
	burst=$(awk '{ print $2 }' "$work/after" | median)
	chunk=$(awk '{ print $3 }' "$work/after" | median)
	printf 'flows %s: table costs single %s, burst %s, chunk %s ns/packet' "$flows" "$single" \
		"$burst" "$chunk"
	if [ -n "$before" ]; then
		printf ', before %s' "$(awk '{ print $1 }' "$work/before" | median)"
		awk 'NF > 1 { n++ } END { exit !n }' "$work/before" &&
			printf ', before chunk %s' "$(awk '{ print $2 }' "$work/before" | median)"
	fi
	printf ' (median of %d)\n' "$runs"
done
# Instructions per packet: Ir inside the function (and what it calls) over
# the packets it handled (rf_place_packet() also places each flow once
# before the timed loops, and, in a bench with the chunk loop, the chunk's
# packets too: its figure is the mean over both loops).
ir_of() { # binary function calls flows
	valgrind --tool=callgrind --callgrind-out-file="$work/cg" --toggle-collect="$2" \
		"$1" "$4" 2000000 >/dev/null 2>&1
	callgrind_annotate "$work/cg" 2>/dev/null |
		awk -v n="$3" '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "%.1f", $1 / n; exit }'
}
if [ "${CALLGRIND:-1}" != 0 ] && command -v valgrind >/dev/null; then
	cflows=${CALLGRIND_FLOWS:-10000}
	for b in "$BIN" $before; do
		[ "$b" == "$BIN" ] && name=this || name=before
		single_loops=1
		! "$b" 100 64 | grep -q chunk || single_loops=2
		printf 'flows %s: instructions/packet (callgrind), %s: burst %s, single %s\n' "$cflows" \
			"$name" "$(ir_of "$b" rf_place_burst 2000000 "$cflows")" \
			"$(ir_of "$b" rf_place_packet $((single_loops * 2000000 + cflows)) "$cflows")"
	done
fi
echo "goals: burst <= 10 ns/packet with 10 k flows, <= 30 ns with 1 M"
echo "machine: $(machine)"
