#!/usr/bin/env bash
# Benchmark: the AF_XDP source against the AF_PACKET source (and tcpdump) on a
# veth. bench/veth-send (built with the project) sends a generated capture
# from namespace S into a veth (MTU, default 1600: room for imix's
# 1518-byte frames, and the afxdp source's frames are 2 KiB as at the usual
# MTU 1500; above 1770 they are 4 KiB, half as many in the same memory;
# native XDP on a veth allows up to about 3.5 KiB) whose peer is in
# namespace C, where the capture runs.
#
# Part 1, CPU per packet at a fixed paced rate (RATE, default 300,000 pps,
# SECS seconds), for 64-byte and imix frames. Contenders, interleaved:
#   none      nothing captures (the stack drops the frames: not for this host)
#   tcpdump   tcpdump -i vrx -B 32768 -w /dev/null
#   afpacket  ringfan balance -i afpacket:vrx -n 1, a `ringfan count` consumer
#   afxdp     ringfan balance -i afxdp:vrx -n 1 (skb XDP mode, the default on a
#             veth; copy mode), the same
# and, if asked for in CPU_CONTENDERS:
#   afxdp-native  the same in native XDP mode (--xdp-mode native)
#   afxdp-skb   the same in skb (generic) XDP mode (--xdp-mode skb)
#   afxdp-base  the same with another build's ringfan (BASE_BUILD): before/after
#               a change, in the same run
# CPU time is taken from the kernel's per-task run time (/proc/PID/task/*/
# schedstat, ns), not from wall time: the machine may be shared. Figures
# per million packets received:
#   capture   the capturing process (the balancer, or tcpdump)
#   path      capture + sender + ksoftirqd: on a veth the receive path (XDP,
#             AF_PACKET's copy, the stack) runs as softirq work in the
#             sender's context or in ksoftirqd, so this is what the machine
#             spends to get the packets into the capture's hands
# with the ratios of each afxdp contender to afpacket in the same run.
#
# Part 2, the highest zero-loss rate with two senders: two veth-send
# processes (each RATE/2) into the veth, `-n 4` and four `ringfan count`
# consumers, rising rates (RATES); loss = packets sent - packets enqueued
# (kernel, veth and queue drops alike), zero in the median of RUNS.
# Contenders (ZL, default "afpacket afxdp threads2"): the two sources, and
# threads2 = afpacket with --threads 2 (two capture threads, one fanout
# group, each into its own ring of every queue).
#
#   bench/xdp.sh            (root: network namespaces)
#
# Environment: RINGFAN_BUILD (default build), CPU_CONTENDERS (default "none
# tcpdump afpacket afxdp"), BASE_BUILD (for afxdp-base), RUNS (default 5), RATE
# (default 300000), SECS (default 3), SIZES (default "64 imix"), RATES
# (default "200000 400000 600000 800000 1000000 1200000"), PARTS ("cpu
# zeroloss"), CAPTURE_RING (--capture-ring-size of both ringfan sources,
# default theirs), MTU (default 1600), CSV (default bench/results/xdp.csv;
# part 2 in xdp-zeroloss.csv).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/common.sh"
build=${RINGFAN_BUILD:-$top/build}
ringfan=$build/ringfan
send=$build/bench/veth-send
runs=${RUNS:-5}
rate=${RATE:-300000}
secs=${SECS:-3}
sizes=${SIZES:-64 imix}
rates=${RATES:-200000 400000 600000 800000 1000000 1200000}
zl=${ZL:-afpacket afxdp threads2}
cpuc=${CPU_CONTENDERS:-none tcpdump afpacket afxdp}
base=${BASE_BUILD:+$BASE_BUILD/ringfan}
parts=${PARTS:-cpu zeroloss}
mtu=${MTU:-1600}
csv=${CSV:-$top/bench/results/xdp.csv}
csv2=${csv%.csv}-zeroloss.csv

for b in "$ringfan" "$send" $base; do
	[ -x "$b" ] || { echo "xdp.sh: no $b: build first" >&2; exit 1; }
done
((EUID == 0)) || { echo "xdp.sh: needs root (network namespaces)" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "xdp.sh: needs tcpdump" >&2; exit 1; }

work=$(mktemp -d /dev/shm/ringfan-bench.XXXXXX)
export RINGFAN_DIR=$work/run
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	veth_pair_del
	rm -rf "$work"
}
trap cleanup EXIT
veth_pair rfx "$mtu"
# The same for every contender: rx VLAN offload off (afxdp warns otherwise).
ip netns exec "$nsc" ethtool -K vrx rxvlan off 2>/dev/null || true

# Run time (ns) of every thread of the given processes.
runtime() {
	local p t s=0
	for p; do
		for t in /proc/"$p"/task/*/schedstat; do
			[ -r "$t" ] && s=$((s + $(cut -d' ' -f1 "$t")))
		done
	done
	echo $s
}
softirqd=$(pgrep -x 'ksoftirqd/[0-9]+' | tr '\n' ' ')
stat() { awk -F': ' -v k="$2" '$1 == k { print $2 }' "$RINGFAN_DIR/$1.stats" 2>/dev/null; }
vethdrops() {
	echo $(($(ip netns exec "$nsc" cat /sys/class/net/vrx/statistics/rx_dropped) +
		$(ip netns exec "$nss" cat /sys/class/net/vtx/statistics/tx_dropped)))
}
wait_for() { # tries command...: every 0.05 s
	local i
	for ((i = 0; i < $1; i++)); do "${@:2}" && return 0; sleep 0.05; done
	return 1
}

# start_capture CONTENDER CLUSTER QUEUES: sets cap (capturing pid) and cons (consumer pids).
cap= cons=()
start_capture() {
	local c=$1 cl=$2 q=$3 i
	cap= cons=()
	case $c in
	none) return ;;
	tcpdump)
		ip netns exec "$nsc" tcpdump -n -i vrx -B 32768 -w /dev/null 2>"$work/td.err" &
		cap=$!
		pids+=("$cap")
		wait_for 100 grep -q "listening on" "$work/td.err"
		return
		;;
	esac
	local src=(-i "$c:vrx") bin=$ringfan
	case $c in
	threads2) src=(-i afpacket:vrx --threads 2) ;;
	afxdp-skb) src=(-i afxdp:vrx --xdp-mode skb) ;;
	afxdp-native) src=(-i afxdp:vrx --xdp-mode native) ;;
	afxdp-base)
		[ -n "$base" ] || { echo "xdp.sh: afxdp-base needs BASE_BUILD" >&2; exit 1; }
		src=(-i afxdp:vrx) bin=$base
		;;
	esac
	ip netns exec "$nsc" "$bin" balance "${src[@]}" -c "$cl" -n "$q" \
		${CAPTURE_RING:+--capture-ring-size "$CAPTURE_RING"} 2>"$work/bal.err" &
	cap=$!
	pids+=("$cap")
	running() { [ "$(stat "$cl" pid)" == "$cap" ] && [ "$(stat "$cl" state)" == running ]; }
	wait_for 200 running || { cat "$work/bal.err" >&2; exit 1; }
	for ((i = 0; i < q; i++)); do
		"$ringfan" count -i "$cl@$i" -q >/dev/null 2>&1 &
		cons+=($!)
		pids+=($!)
	done
	attached() { [ "$(grep -c '^queue\.[0-9]*\.consumer_pid: [1-9]' "$RINGFAN_DIR/$cl.stats")" == "$q" ]; }
	wait_for 100 attached
}

# Packets the capture got, once it has caught up (its count stops moving).
caught_up() { # contender cluster
	local prev=-1 cur i
	for ((i = 0; i < 40; i++)); do
		cur=$(stat "$2" total.received)
		[ "$cur" == "$prev" ] && break
		prev=$cur
		sleep 0.25
	done
}
drained() { # cluster queues: every consumer read what its queue holds
	local q
	for ((q = 0; q < $2; q++)); do
		[ "$(stat "$1" "queue.$q.consumer_read")" == "$(stat "$1" "queue.$q.enqueued")" ] || return 1
	done
}
RX=
stop_capture() { # contender cluster: sets RX, the packets received (not in a subshell: it waits)
	local c=$1 p
	case $c in
	none) RX=0 ;;
	tcpdump)
		kill -INT "$cap"
		wait "$cap" || true
		RX=$(awk '/packets captured/ { print $1 }' "$work/td.err")
		;;
	*)
		wait_for 100 drained "$2" "${#cons[@]}" || true
		kill -TERM "$cap"
		wait "$cap" || { cat "$work/bal.err" >&2; exit 1; }
		RX=$(stat "$2" total.enqueued)
		for p in "${cons[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
		rm -rf "$RINGFAN_DIR"
		;;
	esac
}

echo "machine: $(machine)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), load before: $(cut -d' ' -f1-3 /proc/loadavg), runs: $runs (median)"
echo "capture ring: ${CAPTURE_RING:-default (32M)}, veth MTU $mtu"
echo "$(tcpdump --version 2>&1 | head -1); libxdp $(pkg-config --modversion libxdp 2>/dev/null || echo '?'), libbpf $(pkg-config --modversion libbpf 2>/dev/null || echo '?')"
mkdir -p "$(dirname "$csv")"

cpu_part() {
	local size c run snap0 snap1 sender sout rx cl=51
	echo "contender,size,run,offered_pps,achieved_pps,sent,received,capture_ns,consumer_ns,sender_ns,softirq_ns,veth_drops" >"$csv"
	for size in $sizes; do
		"$ringfan" gen -q -o "$work/in.pcap" --packets 100000 --flows 1000 --size "$size" --seed 3
		for ((run = 0; run < runs; run++)); do
			for c in $cpuc; do
				start_capture $c $cl 1
				local vd0 cap0 con0 sq0
				vd0=$(vethdrops)
				cap0=$(runtime $cap) con0=$(runtime "${cons[@]}") sq0=$(runtime $softirqd)
				sout=$(ip netns exec "$nss" "$send" vtx "$work/in.pcap" "$rate" "$secs")
				# tcpdump's ring hands a block over when full or after 1 s.
				case $c in none) ;; tcpdump) sleep 1.5 ;; *) caught_up "$c" $cl ;; esac
				local capns conns sqns
				capns=$(($(runtime $cap) - cap0))
				conns=$(($(runtime "${cons[@]}") - con0))
				sqns=$(($(runtime $softirqd) - sq0))
				stop_capture $c $cl
				rx=$RX
				sender=$(sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' <<<"$sout")
				echo "$c,$size,$run,$rate,$(sed -n 's/.*pps=\([0-9]*\).*/\1/p' <<<"$sout"),$(sed -n 's/^sent=\([0-9]*\).*/\1/p' <<<"$sout"),$rx,$capns,$conns,$(awk -v s="$sender" 'BEGIN { printf "%.0f", s * 1e9 }'),$sqns,$(($(vethdrops) - vd0))" >>"$csv"
			done
		done
	done
	# Per size and contender, medians: achieved rate, received/sent, capture and path CPU seconds per Mpkt.
	for size in $sizes; do
		echo
		echo "size $size: offered $rate pps for ${secs}s (100,000 packets over 1000 flows, looped); medians of $runs"
		printf '%-10s %10s %9s %14s %14s %12s\n' contender achieved rx/sent "capture s/Mpkt" "path s/Mpkt" "consumer"
		for c in $cpuc; do
			sel() { awk -F, -v c="$c" -v s="$size" '$1 == c && $2 == s { print '"$1"' }' "$csv" | median; }
			printf '%-10s %10.0f %9.4f %14.3f %14.3f %12.3f\n' "$c" "$(sel '$5')" \
				"$(sel '($1 == "none") ? 0 : $7 / $6')" \
				"$(sel '($7 > 0) ? $8 / 1e9 / ($7 / 1e6) : 0')" \
				"$(sel '($1 == "none") ? ($10 + $11) / 1e9 / ($6 / 1e6) : ($8 + $10 + $11) / 1e9 / ($7 / 1e6)')" \
				"$(sel '($7 > 0) ? $9 / 1e9 / ($7 / 1e6) : 0')"
		done
		# Ratios within each run, then their median.
		for c in $cpuc; do
			[[ $c == afxdp* ]] || continue
			awk -F, -v s="$size" -v x="$c" '$2 == s && $1 == "afpacket" { cap[$3] = $8 / $7; path[$3] = ($8 + $10 + $11) / $7 }
				$2 == s && $1 == x { xcap[$3] = $8 / $7; xpath[$3] = ($8 + $10 + $11) / $7 }
				END { for (r in cap) if (r in xcap) print xcap[r] / cap[r], xpath[r] / path[r] }' "$csv" >"$work/ratios"
			printf '%s / afpacket (median of the per-run ratios): capture %.2f, path %.2f\n' "$c" \
				"$(cut -d' ' -f1 "$work/ratios" | median)" "$(cut -d' ' -f2 "$work/ratios" | median)"
		done
	done
	echo "(s/Mpkt: CPU seconds per million packets received; path = capture + sender + ksoftirqd;"
	echo " consumer: the ringfan count reading the queue, not in capture or path; csv: $csv)"
}

zeroloss_part() {
	local size=64 c r run s1 s2 sent got cl=52 q=4
	"$ringfan" gen -q -o "$work/zl.pcap" --packets 100000 --flows 1000 --size $size --seed 5
	echo "contender,offered_pps,run,achieved_pps,sent,enqueued,kernel_drops,queue_drops,veth_drops" >"$csv2"
	for r in $rates; do
		for ((run = 0; run < runs; run++)); do
			for c in $zl; do
				start_capture $c $cl $q
				local vd0
				vd0=$(vethdrops)
				ip netns exec "$nss" "$send" vtx "$work/zl.pcap" $((r / 2)) "$secs" >"$work/s1" &
				s1=$!
				ip netns exec "$nss" "$send" vtx "$work/zl.pcap" $((r / 2)) "$secs" >"$work/s2"
				wait $s1
				sent=$(($(sed -n 's/^sent=\([0-9]*\).*/\1/p' "$work/s1") + $(sed -n 's/^sent=\([0-9]*\).*/\1/p' "$work/s2")))
				caught_up "$c" $cl
				local kd qd
				kd=$(stat $cl total.kernel_drops) qd=$(stat $cl total.dropped)
				stop_capture $c $cl
				got=$RX
				echo "$c,$r,$run,$(awk -v s="$sent" -v t="$secs" 'BEGIN { printf "%.0f", s / t }'),$sent,$got,$kd,$qd,$(($(vethdrops) - vd0))" >>"$csv2"
			done
		done
	done
	echo
	echo "two senders (each half the rate) for ${secs}s, 64-byte frames, -n 4 with 4 consumers; medians of $runs"
	printf '%-10s' offered
	for c in $zl; do printf ' %12s %8s' "$c" loss%; done
	printf '\n'
	for r in $rates; do
		printf '%-10s' "$r"
		for c in $zl; do
			printf ' %12.0f %8.3f' \
				"$(awk -F, -v c=$c -v r=$r '$1 == c && $2 == r { print $4 }' "$csv2" | median)" \
				"$(awk -F, -v c=$c -v r=$r '$1 == c && $2 == r { print 100 * ($5 - $6) / $5 }' "$csv2" | median)"
		done
		printf '\n'
	done
	# The highest step with no loss (median) there and at every step below it.
	for c in $zl; do
		best=0
		for r in $rates; do
			l=$(awk -F, -v c=$c -v r=$r '$1 == c && $2 == r { print $5 - $6 }' "$csv2" | median)
			[ "$l" == 0 ] || break
			best=$r
		done
		printf '%-9s highest offered rate with zero loss (median), and at every lower step: %s pps; runs with any loss: %s of %s\n' \
			"$c" "$best" "$(awk -F, -v c=$c '$1 == c && $5 != $6' "$csv2" | wc -l)" \
			"$(awk -F, -v c=$c '$1 == c' "$csv2" | wc -l)"
	done
	echo "(achieved = what the two senders sent per second; loss = sent - enqueued: kernel, veth and queue drops; csv: $csv2)"
}

for p in $parts; do "${p}_part"; done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
