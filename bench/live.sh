#!/usr/bin/env bash
# Benchmark: live capture on a veth under rising offered rates. tcpreplay
# sends a generated capture from namespace S (tx) into a veth whose peer (rx)
# is in namespace C, where the capture runs. For each offered rate and
# contender, loss = packets tcpreplay sent - packets the capture delivered:
#   tcpdump      tcpdump -i rx -w /dev/null (defaults: 2 MiB buffer);
#                received = its "packets captured"
#   tcpdumpbig   the same with -B 32768: the 32 MiB of ringfan's capture ring
#   ringfan Q    ringfan balance -i afpacket:vrx -n Q (defaults: 32 MiB
#                capture ring), `ringfan count -i C@q -q --json` on every
#                queue; received = sum of the consumers' packets
# Prints the machine, a table of received/sent per rate (median of RUNS
# repetitions), the highest achieved rate with zero loss per contender, and
# writes every repetition to bench/results/live.csv.
#
#   bench/live.sh                 (root: network namespaces)
#
# Environment: QUEUE_FS=huge (queues on a tmpfs with huge pages); RINGFAN_BUILD (default build), RUNS (repetitions, default 3),
# RATES (offered pps, 0 = --topspeed; default "50000 100000 200000 300000
# 400000 600000 800000 0"), SIZES (ringfan gen --size; default "64 imix"),
# SECS (seconds of traffic per step, default 1.5), QUEUES (default "1 2 4"),
# CSV (default bench/results/live.csv).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/common.sh"
build=${RINGFAN_BUILD:-$top/build}
ringfan=$build/ringfan
runs=${RUNS:-3}
rates=${RATES:-50000 100000 200000 300000 400000 600000 800000 0}
sizes=${SIZES:-64 imix}
secs=${SECS:-1.5}
queues=${QUEUES:-1 2 4}
csv=${CSV:-$top/bench/results/live.csv}

[ -x "$ringfan" ] || { echo "live.sh: no $ringfan: build first" >&2; exit 1; }
((EUID == 0)) || { echo "live.sh: needs root (network namespaces)" >&2; exit 1; }
for c in tcpreplay tcpdump ip; do
	command -v $c >/dev/null || { echo "live.sh: needs $c" >&2; exit 1; }
done

work=$(mktemp -d /dev/shm/ringfan-bench.XXXXXX)
queue_dir "$work"
# Background pids, in a file: they are started in subshells (read < <(...)).
track() { echo "$1" >>"$work/pids"; }
cleanup() {
	local p
	for p in $(cat "$work/pids" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
	veth_pair_del
	queue_dir_del
	rm -rf "$work"
}
trap cleanup EXIT
# Jumbo MTU: the imix 1518-byte frames (1504 bytes of IP) must not fail to send.
veth_pair rfb 9000

# Drops in the receive backlog (softnet_stat, 2nd column, all CPUs): packets
# lost between the veth and any capture, the same for every contender.
backlog_drops() {
	local s=0 d
	for d in $(awk '{ print $2 }' /proc/net/softnet_stat); do s=$((s + 16#$d)); done
	echo $s
}
json_num() { grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; } # key: first match

# send RATE PCAP LOOPS: replay from namespace S; prints "sent achieved_pps".
send() {
	local speed=(--pps "$1")
	(($1 == 0)) && speed=(--topspeed)
	ip netns exec "$nss" tcpreplay -K -i vtx "${speed[@]}" --loop "$3" "$2" >"$work/replay.out" 2>&1 ||
		{ cat "$work/replay.out" >&2; exit 1; }
	awk '/Actual:/ { s = $2 } /Rated:/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^pps/) p = $i }
		END { printf "%d %d\n", s, p }' "$work/replay.out"
}

# run_tcpdump CONTENDER RATE PCAP LOOPS: prints "sent achieved received kernel_drops 0"
run_tcpdump() {
	local buf=()
	[ "$1" == tcpdumpbig ] && buf=(-B 32768)
	shift
	ip netns exec "$nsc" tcpdump -n -i vrx "${buf[@]}" -w /dev/null 2>"$work/td.err" &
	local td=$! i
	track "$td"
	for ((i = 0; i < 100; i++)); do grep -q "listening on" "$work/td.err" && break; sleep 0.05; done
	local r
	r=$(send "$@")
	# tcpdump's ring hands over a block when full or after its 1 s timeout.
	sleep 1.5
	kill -INT "$td"
	wait "$td" || true
	echo "$r $(awk '/packets captured/ { c = $1 } /dropped by kernel/ { d = $1 } END { print c + 0, d + 0 }' "$work/td.err") 0"
}

# stat KEY: a counter of the balancer's stats file (cluster 41)
stat() { awk -F': ' -v k="$1" '$1 == k { print $2 }' "$RINGFAN_DIR/41.stats" 2>/dev/null; }

# run_ringfan Q RATE PCAP LOOPS: prints "sent achieved received kernel_drops queue_drops"
run_ringfan() {
	local q=$1 i b
	shift
	ip netns exec "$nsc" "$ringfan" balance -i afpacket:vrx -c 41 -n "$q" 2>"$work/bal.err" &
	b=$!
	track "$b"
	for ((i = 0; i < 100; i++)); do [ "$(stat state)" == running ] && break; sleep 0.05; done
	local cs=()
	for ((i = 0; i < q; i++)); do
		"$ringfan" count -i "41@$i" -q --json >"$work/c$i.json" 2>"$work/c$i.err" &
		cs+=($!)
		track $!
	done
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c '^queue\.[0-9]*\.consumer_pid: [1-9]' "$RINGFAN_DIR/41.stats")" == "$q" ] && break
		sleep 0.05
	done
	local r prev=-1 cur bd0
	bd0=$(backlog_drops)
	r=$(send "$@")
	# Until the balancer has seen every packet that reached the interface
	# (stats file: every second), or its count stops moving.
	for ((i = 0; i < 60; i++)); do
		cur=$(($(stat total.received) + $(stat total.kernel_drops)))
		((cur + $(backlog_drops) - bd0 >= ${r% *})) && break
		((i % 11 == 10)) && { [ "$cur" == "$prev" ] && break; prev=$cur; }
		sleep 0.1
	done
	kill -TERM "$b"
	wait "$b" || { cat "$work/bal.err" >&2; exit 1; }
	local rx=0 n
	for ((i = 0; i < q; i++)); do
		wait "${cs[i]}" || true
		n=$(tail -1 "$work/c$i.json" | json_num packets)
		rx=$((rx + ${n:-0}))
	done
	local tot
	tot=$("$ringfan" stats -c 41 --json | grep -o '"totals":{[^}]*}')
	echo "$r $rx $(json_num kernel_drops <<<"$tot") $(json_num dropped <<<"$tot")"
	rm -rf "$RINGFAN_DIR"
}

echo "machine: $(machine)"
echo "queue directory: $RINGFAN_DIR (QUEUE_FS=${QUEUE_FS:-shm})"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), load: $(cut -d' ' -f1-3 /proc/loadavg), runs: $runs (median)"
echo "$(tcpreplay -V 2>&1 | head -1); $(tcpdump --version 2>&1 | head -1)"
mkdir -p "$(dirname "$csv")"
echo "contender,queues,offered_pps,achieved_pps,sent,received,loss,size,run,kernel_drops,queue_drops,backlog_drops" >"$csv"

# sel CONTENDER RATE EXPR: EXPR (awk, over the CSV columns) of every run of
# CONTENDER ("tcpdump", "tcpdumpbig", "ringfanQ") at RATE, for this size.
sel() {
	local n=$1 q=0
	[[ $1 == ringfan* ]] && n=ringfan q=${1#ringfan}
	awk -F, -v s="$size" -v r="$2" -v c="$n" -v q="$q" \
		'$8 == s && $3 == r && $1 == c && $2 == q { print '"$3"' }' "$csv"
}

contenders="tcpdump tcpdumpbig"
for q in $queues; do contenders+=" ringfan$q"; done
for size in $sizes; do
	# 100k packets over 1000 flows, looped to make each step's count.
	"$ringfan" gen -q -o "$work/in.pcap" --packets 100000 --flows 1000 --size "$size" --seed 3
	echo
	echo "size $size: 100,000 packets, 1000 flows, looped to ~${secs}s of traffic per step (topspeed: 600,000 packets)"
	for rate in $rates; do
		if ((rate == 0)); then loops=6; else
			loops=$(awk -v r="$rate" -v s="$secs" 'BEGIN { l = int(r * s / 100000 + 0.5); print (l < 1) ? 1 : (l > 8 ? 8 : l) }')
		fi
		for ((run = 0; run < runs; run++)); do
			# Interleaved so that background load hits every contender alike.
			for c in $contenders; do
				bd0=$(backlog_drops)
				if [[ $c == tcpdump* ]]; then
					read -r sent ach rx kd qd < <(run_tcpdump "$c" "$rate" "$work/in.pcap" "$loops")
					q=0
				else
					q=${c#ringfan}
					read -r sent ach rx kd qd < <(run_ringfan "$q" "$rate" "$work/in.pcap" "$loops")
				fi
				bd=$(($(backlog_drops) - bd0))
				echo "${c%%[0-9]*},$q,$rate,$ach,$sent,$rx,$((sent - rx)),$size,$run,$kd,$qd,$bd" >>"$csv"
			done
		done
	done
	# Table of this size: medians over the runs.
	printf '%-10s %10s' offered achieved
	for c in $contenders; do printf ' %10s' "$c"; done
	printf '\n'
	for rate in $rates; do
		ach=$(sel tcpdump "$rate" '$4' | median)
		printf '%-10s %10s' "$( ((rate == 0)) && echo top || echo "$rate")" "$ach"
		for c in $contenders; do
			printf ' %10.4f' "$(sel "$c" "$rate" '$6 / $5' | median)"
		done
		printf '\n'
	done
	echo "(received/sent, median of $runs; achieved = tcpreplay's Rated pps, median of tcpdump's runs)"
	for c in $contenders; do
		# Highest offered rate whose median loss is 0, and the median rate achieved there.
		best=0
		for rate in $rates; do
			[ "$(sel "$c" "$rate" '$7' | median)" == 0 ] || continue
			a=$(sel "$c" "$rate" '$4' | median)
			awk -v a="$a" -v b="$best" 'BEGIN { exit !(a > b) }' && best=$a
		done
		printf '%-10s highest achieved rate with zero loss (median): %s pps\n' "$c" "$best"
	done
done
echo
echo "csv: $csv"
