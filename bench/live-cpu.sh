#!/usr/bin/env bash
# Benchmark: CPU per packet of a live capture at a fixed, paced rate.
# tcpreplay sends PACKETS generated 64-byte packets (10,000 flows) from
# namespace S into a veth whose peer is in namespace C, at each RATE, to:
#   tcpdump      tcpdump -i rx -B 32768 -w /dev/null
#   balancer     ringfan balance -i afpacket:rx -n 4 -m 5tuple, its 4 queues
#                each read by a `ringfan count -q` process (the consumers)
# CPU: the run time of all their threads (/proc/PID/task/*/schedstat, in ns:
# what /proc/PID/stat counts in ticks), read once the capture is ready and
# again once every packet was received (start-up is not counted), in CPU
# seconds per million packets sent. Median of RUNS runs,
# interleaved; ratios against tcpdump in the same run.
#
#   bench/live-cpu.sh             (root: network namespaces)
#
# Environment: QUEUE_FS=huge (queues on a tmpfs with huge pages); RINGFAN_BUILD (default build); BEFORE_BUILD: more builds (e.g.
# of the previous release; words) measured in the same runs, interleaved,
# their balancer rows marked with the build's directory name; RUNS (default 5), RATES (pps,
# default "100000 300000"), PACKETS (default 600000), BALANCE_OPTS (more
# options for ringfan balance, e.g. "--ring-size 1M"), COUNT_OPTS (more
# options for the ringfan count consumers, e.g. "--wake-us 1000 --spin").
# Goals: balancer <= 1.5 x tcpdump, balancer + consumers <= 2.5 x, at every rate.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/common.sh"
build=${RINGFAN_BUILD:-$top/build}
ringfan=$build/ringfan
before=${BEFORE_BUILD:-}
runs=${RUNS:-5}
rates=${RATES:-100000 300000}
packets=${PACKETS:-600000}

for b in "$build" $before; do
	[ -x "$b/ringfan" ] || { echo "live-cpu.sh: no $b/ringfan: build first" >&2; exit 1; }
done
((EUID == 0)) || { echo "live-cpu.sh: needs root (network namespaces)" >&2; exit 1; }
for c in tcpreplay tcpdump ip; do
	command -v $c >/dev/null || { echo "live-cpu.sh: needs $c" >&2; exit 1; }
done

work=$(mktemp -d /dev/shm/ringfan-livecpu.XXXXXX)
queue_dir "$work"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	veth_pair_del
	queue_dir_del
	rm -rf "$work"
}
trap cleanup EXIT
veth_pair rfc 1500

# cpu PID...: their CPU time so far, in ns: the sum over their threads of
# /proc/PID/task/TID/schedstat (what /proc/PID/stat counts in 10 ms ticks;
# no thread ends while it is measured).
cpu() {
	local p
	for p in "$@"; do cat /proc/"$p"/task/*/schedstat; done | awk '{ s += $1 } END { printf "%d\n", s }'
}
# send RATE: the whole file, paced; prints the packets sent.
send() {
	ip netns exec "$nss" tcpreplay -K -i vtx --pps "$1" "$work/in.pcap" >"$work/replay.out" 2>&1 ||
		{ cat "$work/replay.out" >&2; exit 1; }
	awk '/Actual:/ { print $2 }' "$work/replay.out"
}
# per_m NS SENT: CPU seconds per million packets.
per_m() { awk -v t="$1" -v s="$2" 'BEGIN { printf "%.4f", t / 1e9 / s * 1e6 }'; }

# run_tcpdump RATE: "sent cpu_per_m received"
run_tcpdump() {
	ip netns exec "$nsc" tcpdump -n -i vrx -B 32768 -w /dev/null 2>"$work/td.err" &
	local td=$! i c0 sent c1
	pids+=("$td")
	for ((i = 0; i < 100; i++)); do grep -q "listening on" "$work/td.err" && break; sleep 0.05; done
	c0=$(cpu "$td")
	sent=$(send "$1")
	sleep 1.2 # its ring hands over a block when full or after 1 s
	c1=$(cpu "$td")
	kill -INT "$td"
	wait "$td" || true
	echo "$sent $(per_m $((c1 - c0)) "$sent") $(awk '/packets captured/ { print $1 }' "$work/td.err")"
}

stat() { awk -F': ' -v k="$1" '$1 == k { print $2 }' "$RINGFAN_DIR/43.stats" 2>/dev/null; }

# run_balancer RATE BUILD: "sent balancer_cpu_per_m consumers_cpu_per_m received"
run_balancer() {
	local b i cs=() c0 k0 sent c1 k1 rx=0 n ringfan=$2/ringfan
	rm -rf "$RINGFAN_DIR"
	# shellcheck disable=SC2086 # BALANCE_OPTS: words
	ip netns exec "$nsc" "$ringfan" balance -i afpacket:vrx -c 43 -n 4 -m 5tuple ${BALANCE_OPTS:-} \
		2>"$work/bal.err" &
	b=$!
	pids+=("$b")
	for ((i = 0; i < 100; i++)); do [ "$(stat state)" == running ] && break; sleep 0.05; done
	for ((i = 0; i < 4; i++)); do
		# shellcheck disable=SC2086 # COUNT_OPTS: words
		"$ringfan" count -i "43@$i" -q --json ${COUNT_OPTS:-} >"$work/c$i.json" 2>"$work/c$i.err" &
		cs+=($!)
		pids+=($!)
	done
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c '^queue\.[0-9]*\.consumer_pid: [1-9]' "$RINGFAN_DIR/43.stats")" == 4 ] && break
		sleep 0.05
	done
	c0=$(cpu "$b")
	k0=$(cpu "${cs[@]}")
	sent=$(send "$1")
	# Until the balancer has seen every packet (its stats file: every second).
	for ((i = 0; i < 40; i++)); do
		(($(stat total.received) + $(stat total.kernel_drops) >= sent)) && break
		sleep 0.1
	done
	sleep 0.2 # the consumers' last wake-up (at most 1 ms, plus scheduling)
	c1=$(cpu "$b")
	k1=$(cpu "${cs[@]}")
	kill -TERM "$b"
	wait "$b" || { cat "$work/bal.err" >&2; exit 1; }
	kill -INT "${cs[@]}" # they would wait for the balancer to come back
	for ((i = 0; i < 4; i++)); do
		wait "${cs[i]}" || true
		n=$(tail -1 "$work/c$i.json" | grep -o '"packets":[0-9]*' | head -1 | cut -d: -f2)
		rx=$((rx + ${n:-0}))
	done
	echo "$sent $(per_m $((c1 - c0)) "$sent") $(per_m $((k1 - k0)) "$sent") $rx"
}

"$ringfan" gen -q -o "$work/in.pcap" --packets "$packets" --flows 10000 --size 64 --seed 5
echo "machine: $(machine)"
echo "queue directory: $RINGFAN_DIR (QUEUE_FS=${QUEUE_FS:-shm})"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), load: $(cut -d' ' -f1-3 /proc/loadavg); $runs runs (median), $packets 64-byte packets per run${BALANCE_OPTS:+; balance $BALANCE_OPTS}${COUNT_OPTS:+; count $COUNT_OPTS}"
printf '%-8s %-30s %12s %7s %10s\n' rate contender "cpu s/Mpkt" ratio "received"
builds=("$build")
for b in $before; do builds+=("$b"); done
for rate in $rates; do
	: >"$work/td"
	for ((k = 0; k < ${#builds[@]}; k++)); do : >"$work/bal.$k"; done
	for ((run = 0; run < runs; run++)); do
		run_tcpdump "$rate" >>"$work/td"
		for ((k = 0; k < ${#builds[@]}; k++)); do run_balancer "$rate" "${builds[k]}" >>"$work/bal.$k"; done
	done
	td=$(awk '{ print $2 }' "$work/td" | median)
	row() { printf '%-8s %-30s %12s %7.2f %10s\n' "$rate" "$1" "$2" "$(awk -v a="$2" -v b="$td" 'BEGIN { print (b > 0) ? a / b : 0 }')" "$3"; }
	row "tcpdump -B 32768" "$td" "$(awk '{ print $3 "/" $1 }' "$work/td" | tail -1)"
	for ((k = 0; k < ${#builds[@]}; k++)); do
		f=$work/bal.$k
		sfx=""
		((k == 0)) || sfx=" ($(basename "${builds[k]}"))"
		row "balancer -n 4$sfx" "$(awk '{ print $2 }' "$f" | median)" "$(awk '{ print $4 "/" $1 }' "$f" | tail -1)"
		row "4 consumers$sfx" "$(awk '{ print $3 }' "$f" | median)" -
		row "balancer + consumers$sfx" "$(awk '{ print $2 + $3 }' "$f" | median)" -
	done
done
echo "goals: balancer <= 1.5 x tcpdump, balancer + consumers <= 2.5 x, at every rate"
