#!/usr/bin/env bash
# Benchmark: small packets through the whole balancer. 2,000,000 generated
# 64-byte packets (10,000 flows) on tmpfs, against `tcpdump -r F -w
# /dev/null` in the same run:
#
#   split -n 1   ringfan balance -i pcap:F -n 1 -m 5tuple -r 0:pcap:/dev/null
#   split -n 4   the same with 4 queues and 4 pcap:/dev/null egresses
#   replay 4     lossless replay into 4 queues, each read by a `ringfan count`
#                process (the time until all four have counted everything)
#
# Each figure is the median of RUNS runs (interleaved), with the CPU time and
# the context switches per million packets (`perf stat -e
# context-switches,task-clock`, children included). Then the start-up: time
# from `ringfan balance` start to all queues attachable (their .ring files in
# place), default ring size (16 MiB), with -n 4 and -n 32.
#
#   bench/small.sh
#
# Environment: QUEUE_FS=huge (queues on a tmpfs with huge pages); RINGFAN_BUILD (default build); BEFORE_BUILD: a second build
# (e.g. of the previous release) measured in the same run, its rows marked
# "before"; RUNS (default 7); PACKETS (default 2000000); CALLGRIND=1 also
# prints the instructions per packet of the balancer thread (split -n 4, one
# run under valgrind --tool=callgrind).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/common.sh"
build=${RINGFAN_BUILD:-$top/build}
before=${BEFORE_BUILD:-}
runs=${RUNS:-7}
packets=${PACKETS:-2000000}

for b in "$build" $before; do
	[ -x "$b/ringfan" ] || { echo "no $b/ringfan: build first" >&2; exit 1; }
done
for t in tcpdump perf /usr/bin/python3; do
	command -v "$t" >/dev/null || { echo "needs $t" >&2; exit 1; }
done

work=$(mktemp -d /dev/shm/ringfan-small.XXXXXX)
cleanup() {
	jobs -p | xargs -r kill 2>/dev/null || true
	queue_dir_del
	rm -rf "$work"
}
trap cleanup EXIT
queue_dir "$work"
in=$work/in.pcap
"$build/ringfan" gen -o "$in" --flows 10000 --packets "$packets" --size 64 >/dev/null

# perfrun TAG CMD...: one run under perf stat; appends "ms cpu_ms switches" to
# t.TAG (wall time: perf's duration_time, from exec to exit).
perfrun() {
	local tag=$1
	shift
	perf stat -x, -o "$work/perf" -e duration_time,context-switches,task-clock "$@" \
		>/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	awk -F, '
		$3 == "duration_time" { ms = $1 / 1e6 }
		$3 == "context-switches" { cs = $1 }
		$3 == "task-clock" { cpu = $1 }
		END { printf "%.1f %.0f %d\n", ms, cpu, cs }' "$work/perf" >>"$work/t.$tag"
}

# The splits run straight under perf (no shell in between): BUILD QUEUES.
split_cmd() {
	local q
	cmd=("$1/ringfan" balance -i "pcap:$in" -c 9 -n "$2" -m 5tuple)
	for ((q = 0; q < $2; q++)); do cmd+=(-r "$q:pcap:/dev/null"); done
}
# Four count processes wait for their queues; the balancer replays the file
# into them (lossless: it waits for full queues) and finishes the run; each
# count ends when it has read its queue to the end. All four must have
# counted every packet.
replay4() {
	local b=$1 q pids=() total=0 n
	rm -rf "$RINGFAN_DIR"
	for q in 0 1 2 3; do
		"$b/ringfan" count -i "9@$q" --wait -q --stop-at-end >"$work/count.$q" 2>&1 &
		pids+=($!)
	done
	"$b/ringfan" balance -i "pcap:$in" -c 9 -n 4 -m 5tuple
	for q in "${pids[@]}"; do wait "$q"; done
	for q in 0 1 2 3; do
		n=$(sed -n 's/.*\[\([0-9]*\) pkts rcvd\].*/\1/p' "$work/count.$q" | tail -1)
		total=$((total + ${n:-0}))
	done
	[ "$total" = "$packets" ] || {
		echo "replay: counted $total packets of $packets" >&2
		cat "$work"/count.* >&2
		exit 1
	}
}
export -f replay4
export in packets work

echo "machine: $(machine)"
echo "queue directory: $RINGFAN_DIR (QUEUE_FS=${QUEUE_FS:-shm})"
echo "input: $packets generated 64-byte packets, 10000 flows ($(stat -c %s "$in") bytes) on tmpfs; $runs runs each"
builds=("$build")
[ -n "$before" ] && builds+=("$before")
tcpdump -r "$in" -w /dev/null >/dev/null 2>&1 # warm-up
for ((i = 0; i < runs; i++)); do
	perfrun tcpdump tcpdump -r "$in" -w /dev/null
	for b in "${builds[@]}"; do
		tag=after
		[ "$b" = "$build" ] || tag=before
		split_cmd "$b" 1
		perfrun "split1.$tag" "${cmd[@]}"
		split_cmd "$b" 4
		perfrun "split4.$tag" "${cmd[@]}"
		perfrun "replay4.$tag" bash -c "replay4 $b"
	done
done

med() { awk -v c="$2" '{ print $c }' "$work/t.$1" | median; }
t_td=$(med tcpdump 1)
cs_per_m() { awk -v a="$1" -v p="$packets" 'BEGIN { printf "%.0f", a * 1e6 / p }'; }
printf '%-34s %8s %6s %8s %9s %10s\n' "command" "ms" "ratio" "cpu ms" "Mpps" "cs/Mpkt"
row() { # LABEL TAG
	local ms cpu cs
	ms=$(med "$2" 1)
	cpu=$(med "$2" 2)
	cs=$(med "$2" 3)
	printf '%-34s %8s %6.2f %8s %9.2f %10s\n' "$1" "$ms" "$(awk -v a="$ms" -v b="$t_td" 'BEGIN { print a / b }')" \
		"$cpu" "$(awk -v p="$packets" -v t="$ms" 'BEGIN { print p / t / 1000 }')" "$(cs_per_m "$cs")"
}
row "tcpdump -r F -w /dev/null" tcpdump
for tag in after before; do
	[ -f "$work/t.split1.$tag" ] || continue
	sfx=""
	[ -n "$before" ] && sfx=" ($tag)"
	row "split -n 1$sfx" "split1.$tag"
	row "split -n 4$sfx" "split4.$tag"
	row "replay 4 x count$sfx" "replay4.$tag"
done
echo "goals: split -n 1 <= 1.1, -n 4 <= 1.2 x tcpdump; replay >= 8 Mpps and >= 0.5 x tcpdump's rate; < 1000 cs/Mpkt"

# ---- start-up: from exec to every queue attachable (renamed into place)
startup() { # BUILD N: ms
	local b=$1 n=$2
	rm -rf "$RINGFAN_DIR"
	/usr/bin/python3 - "$b/ringfan" "$n" "$RINGFAN_DIR" "$in" <<'EOF'
import os, subprocess, sys, time
exe, n, d, src = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
want = [os.path.join(d, "9@%d.ring" % q) for q in range(n)]
t0 = time.monotonic()
p = subprocess.Popen([exe, "balance", "-i", "pcap:" + src, "-c", "9", "-n", str(n),
                      "--rate", "1", "--loop", "0"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
while not all(os.path.exists(w) for w in want):
    if p.poll() is not None:
        sys.exit("balancer exited early")
    time.sleep(0.0002)
t1 = time.monotonic()
p.terminate()
p.wait()
print("%.1f" % ((t1 - t0) * 1000))
EOF
}
for b in "${builds[@]}"; do
	tag=""
	[ -n "$before" ] && { [ "$b" = "$build" ] && tag=" (after)" || tag=" (before)"; }
	for n in 4 32; do
		: >"$work/t.start"
		for ((i = 0; i < runs; i++)); do startup "$b" "$n" >>"$work/t.start"; done
		printf 'start-up to %2d queues attachable, 16 MiB rings%s: median %s ms (runs: %s)\n' \
			"$n" "$tag" "$(median <"$work/t.start")" "$(tr '\n' ' ' <"$work/t.start")"
	done
done

if [ "${CALLGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null || { echo "CALLGRIND=1 needs valgrind" >&2; exit 1; }
	for b in "${builds[@]}"; do
		rm -rf "$RINGFAN_DIR" "$work"/cg.*
		valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/cg" \
			"$b/ringfan" balance -i "pcap:$in" -c 9 -n 4 -m 5tuple -r 0:pcap:/dev/null \
			-r 1:pcap:/dev/null -r 2:pcap:/dev/null -r 3:pcap:/dev/null >/dev/null 2>&1
		# The balancer thread is the main thread (-01): its instructions per packet.
		ir=$(awk '/^summary:/ { print $2 }' "$work/cg-01")
		all=$(cat "$work"/cg-* | awk '/^summary:/ { s += $2 } END { print s }')
		printf 'callgrind %s: balancer thread %.0f instructions/packet, all threads %.0f\n' \
			"$([ "$b" = "$build" ] && echo after || echo before)" \
			"$(awk -v a="$ir" -v p="$packets" 'BEGIN { print a / p }')" \
			"$(awk -v a="$all" -v p="$packets" 'BEGIN { print a / p }')"
	done
fi
