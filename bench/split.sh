#!/usr/bin/env bash
# Benchmark: split a capture into 4 pcap files with ringfan, against copying
# it once with tcpdump, in the same run (the baseline absorbs the machine's
# speed and noise). Files live on tmpfs; the figure is the median wall time
# of RUNS runs of each, interleaved, and the ratio ringfan / tcpdump. With
# perf installed, tcpdump and the 4-file split also run once more each per
# round under `perf stat`: their CPU time (task-clock, all threads) and
# context switches, medians, and the CPU ratio. On a machine shared with
# other work the wall times move with its load; the CPU times much less.
#
#   bench/split.sh [CAPTURE]      default: ../shared/pcaps/ndpi-merged-ether.pcap
#
# Environment: RINGFAN_BUILD (default build), RUNS (default 7), MODE (hash
# mode, default ip), CALLGRIND=1 also prints instruction counts of one run
# of each (valgrind --tool=callgrind; stable where wall times are not).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/common.sh"
build=${RINGFAN_BUILD:-$top/build}
ringfan=$build/ringfan
in=${1:-${RINGFAN_PCAPS:-$top/../shared/pcaps}/ndpi-merged-ether.pcap}
runs=${RUNS:-7}
mode=${MODE:-ip}

[ -x "$ringfan" ] || { echo "no $ringfan: build first" >&2; exit 1; }
[ -r "$in" ] || { echo "no capture $in" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "needs tcpdump" >&2; exit 1; }

work=$(mktemp -d /dev/shm/ringfan-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export RINGFAN_DIR=$work/run
cp "$in" "$work/in.pcap"

now() { date +%s%N; }
# ms CMD...: wall time of one run in milliseconds.
ms() {
	local t0 t1
	t0=$(now)
	"$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	t1=$(now)
	echo $(((t1 - t0) / 1000000))
}

run_tcpdump() { tcpdump -r "$work/in.pcap" -w "$work/copy.pcap"; }
run_ringfan() {
	"$ringfan" balance -i "pcap:$work/in.pcap" -c 9 -n 4 -m "$mode" "$@" \
		-r "0:pcap:$work/o0.pcap" -r "1:pcap:$work/o1.pcap" \
		-r "2:pcap:$work/o2.pcap" -r "3:pcap:$work/o3.pcap"
}
# Where the time goes: the same with the 16 MiB queues of live capture (a
# split defaults to 1 MiB ones) and with the writes going to /dev/null.
run_big_ring() { run_ringfan --ring-size 16M; }
# The balancer alone, no egress: 16 MiB queues, each holding its quarter of this capture.
run_noegress() { "$ringfan" balance -i "pcap:$work/in.pcap" -c 9 -n 4 -m "$mode"; }
run_devnull() {
	"$ringfan" balance -i "pcap:$work/in.pcap" -c 9 -n 4 -m "$mode" \
		-r 0:pcap:/dev/null -r 1:pcap:/dev/null -r 2:pcap:/dev/null -r 3:pcap:/dev/null
}

# cpu TAG CMD...: one run under perf stat; appends "cpu_ms switches" to c.TAG.
cpu() {
	local tag=$1
	shift
	perf stat -x, -o "$work/perf" -e task-clock,context-switches "$@" >/dev/null 2>"$work/err" ||
		{ cat "$work/err" >&2; exit 1; }
	awk -F, '$3 == "task-clock" { c = $1 } $3 == "context-switches" { s = $1 }
		END { printf "%.1f %d\n", c, s }' "$work/perf" >>"$work/c.$tag"
}
have_perf=0
command -v perf >/dev/null && perf stat -e task-clock true >/dev/null 2>&1 && have_perf=1

echo "machine: $(machine)"
echo "capture: $in ($(stat -c %s "$in") bytes); mode $mode; $runs runs each; files on tmpfs"
run_tcpdump >/dev/null 2>&1 # warm-up: page cache, dynamic loader
run_ringfan >/dev/null 2>&1
: >"$work/t.tcpdump"
: >"$work/t.ringfan"
: >"$work/t.big"
: >"$work/t.null"
: >"$work/t.noeg"
: >"$work/c.tcpdump"
: >"$work/c.ringfan"
for ((i = 0; i < runs; i++)); do
	ms run_tcpdump >>"$work/t.tcpdump"
	ms run_ringfan >>"$work/t.ringfan"
	ms run_big_ring >>"$work/t.big"
	ms run_devnull >>"$work/t.null"
	ms run_noegress >>"$work/t.noeg"
	if ((have_perf)); then
		cpu tcpdump tcpdump -r "$work/in.pcap" -w "$work/copy.pcap"
		cpu ringfan "$ringfan" balance -i "pcap:$work/in.pcap" -c 9 -n 4 -m "$mode" \
			-r "0:pcap:$work/o0.pcap" -r "1:pcap:$work/o1.pcap" \
			-r "2:pcap:$work/o2.pcap" -r "3:pcap:$work/o3.pcap"
	fi
	rm -f "$RINGFAN_DIR"/9@*
done
t_tcpdump=$(median <"$work/t.tcpdump")
t_ringfan=$(median <"$work/t.ringfan")
line() { printf '%-44s median %4s ms  (runs: %s)\n' "$1" "$(median <"$work/t.$2")" "$(tr '\n' ' ' <"$work/t.$2")"; }
line "tcpdump -r IN -w OUT" tcpdump
line "ringfan balance -n 4, 4 x pcap:FILE" ringfan
line "  same, --ring-size 16M" big
line "  same, 4 x pcap:/dev/null" null
line "  balancer alone, no egress" noeg
awk -v a="$t_ringfan" -v b="$t_tcpdump" 'BEGIN { printf "ratio ringfan / tcpdump: %.2f (goal: <= 1.15)\n", a / b }'
if ((have_perf)); then
	# (No " median " in these lines: bench/run-all.sh takes those for split.csv.)
	c_tcpdump=$(cut -d' ' -f1 "$work/c.tcpdump" | median)
	c_ringfan=$(cut -d' ' -f1 "$work/c.ringfan" | median)
	cline() {
		printf '%-44s cpu %6.1f ms, %5s context switches  (cpu runs: %s)\n' "$1" \
			"$(cut -d' ' -f1 "$work/c.$2" | median)" "$(cut -d' ' -f2 "$work/c.$2" | median)" \
			"$(cut -d' ' -f1 "$work/c.$2" | tr '\n' ' ')"
	}
	cline "tcpdump -r IN -w OUT" tcpdump
	cline "ringfan balance -n 4, 4 x pcap:FILE" ringfan
	awk -v a="$c_ringfan" -v b="$c_tcpdump" 'BEGIN { printf "cpu ratio ringfan / tcpdump: %.2f\n", a / b }'
else
	echo "(perf is not installed: no CPU times)"
fi

if [ "${CALLGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null || { echo "CALLGRIND=1 needs valgrind" >&2; exit 1; }
	ir() { # instructions of a callgrind run, all threads
		valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "$@" >/dev/null 2>&1
		cat "$work"/cg.* | awk '/^summary:/ { s += $2 } END { print s }'
		rm -f "$work"/cg.*
	}
	i_tcpdump=$(ir tcpdump -Z root -r "$work/in.pcap" -w "$work/copy.pcap")
	i_ringfan=$(ir "$ringfan" balance -i "pcap:$work/in.pcap" -c 9 -n 4 -m "$mode" \
		-r "0:pcap:$work/o0.pcap" -r "1:pcap:$work/o1.pcap" \
		-r "2:pcap:$work/o2.pcap" -r "3:pcap:$work/o3.pcap")
	echo "instructions: tcpdump $i_tcpdump, ringfan $i_ringfan"
	awk -v a="$i_ringfan" -v b="$i_tcpdump" 'BEGIN { printf "instruction ratio: %.2f\n", a / b }'
fi
