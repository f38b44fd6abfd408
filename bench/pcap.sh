#!/usr/bin/env bash
# Benchmark: a libpcap program on a queue (libringfan-pcap, `ringfan run`)
# against the same program on the queue re-emitted on a veth (-r Q:IFACE),
# the way unmodified programs read queues without the interposer.
#
# 1. CPU per packet, same run: a paced replay feeds two groups; group A's
#    queue is read by `tcpdump -i ringfan:C@0 -w /dev/null`, group B's is
#    re-emitted on a veth whose peer `tcpdump -i VETH -w /dev/null` reads.
#    CPU = user + system time of each tcpdump (getrusage), per packet it
#    captured; the ratio is queue / veth in the same run. Context switches
#    (voluntary + involuntary, getrusage) per million packets say how often
#    each was woken. With BEFORE=LIB (another build's libringfan-pcap.so)
#    a third group's queue is read by tcpdump through LIB in the same run:
#    before / after figures of a change to the interposer.
#    What each figure counts: the tcpdump's own CPU time. On the veth the
#    kernel's delivery (the copy into tcpdump's TPACKET ring) runs in the
#    sender's softirq, so it is counted in the balancer (part 2), not here;
#    on the queue the balancer's copy into the ring is counted there too.
# 2. The balancer's own CPU per packet with one group read through the
#    interposer, and with it re-emitted on the veth (two runs).
# 3. The highest zero-loss rate of each: for rising offered rates (the
#    balancer paces the replay of a file), both readers in the same run;
#    loss = packets replayed - packets captured.
# 4. The same with the traffic from outside: tcpreplay sends a generated
#    capture at rising paced rates (--pps) into a veth that a live balancer
#    captures (afpacket:); one group's queue is read by tcpdump through the
#    interposer, the other's is re-emitted on the veth read by tcpdump, in
#    the same run; loss = packets tcpreplay sent - packets captured. The
#    balancer's own capture losses (kernel drops) are printed apart: they
#    are the same for both readers.
# Prints the machine, the medians of RUNS repetitions and the ratios.
#
#   bench/pcap.sh                 (root: network namespaces)
#
# Environment: QUEUE_FS=huge (queues on a tmpfs with huge pages); RINGFAN_BUILD (default build), RUNS (default 3), RATE (pps of
# parts 1-2, default 100000), SECS (seconds of traffic, default 5), RATES
# (part 3, default "100000 200000 400000 600000 800000 1200000"), BEFORE
# (part 1, see above), PARTS (default "1 2 3 4"), LIVE_RATES (part 4,
# default "50000 100000 200000 400000").
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/common.sh"
build=${RINGFAN_BUILD:-$top/build}
ringfan=$build/ringfan
runs=${RUNS:-3}
rate=${RATE:-100000}
secs=${SECS:-5}
rates=${RATES:-100000 200000 400000 600000 800000 1200000}
live_rates=${LIVE_RATES:-50000 100000 200000 400000}
before=${BEFORE:-}
parts=${PARTS:-1 2 3 4}

[ -x "$ringfan" ] || { echo "pcap.sh: no $ringfan: build first" >&2; exit 1; }
# Preloaded directly: `ringfan run` would add its own start-up to the figures.
lib=$("$ringfan" run --print-library)
((EUID == 0)) || { echo "pcap.sh: needs root (network namespaces)" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "pcap.sh: needs tcpdump" >&2; exit 1; }

work=$(mktemp -d /dev/shm/ringfan-bench.XXXXXX)
queue_dir "$work"
ns=rfpb-$$
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	queue_dir_del
	rm -rf "$work"
}
trap cleanup EXIT
# Both ends in one namespace without IPv6: only the replayed packets cross.
ip netns add "$ns"
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add vtx mtu 9000 type veth peer name vrx mtu 9000
ip -n "$ns" link set vtx up
ip -n "$ns" link set vrx up
# Part 3's input: tcpreplay sends on vin, the balancer captures vcap.
ip -n "$ns" link add vin mtu 9000 type veth peer name vcap mtu 9000
ip -n "$ns" link set vin up
ip -n "$ns" link set vcap up

# cpu_of FILE CMD...: run CMD; when it ends, write its CPU seconds (user +
# system, with its children) and its context switches to FILE. SIGTERM to it goes to CMD (a
# background job ignores SIGINT). A program, not a function: $! is its pid.
cat >"$work/cpu_of" <<'PY'
#!/usr/bin/python3
import resource, signal, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
signal.signal(signal.SIGTERM, lambda s, f: p.send_signal(signal.SIGTERM))
p.wait()
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.4f %d\n" % (r.ru_utime + r.ru_stime, r.ru_nvcsw + r.ru_nivcsw))
sys.exit(p.returncode)
PY
chmod +x "$work/cpu_of"
cpu_of=$work/cpu_of
captured() { sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$1"; }
bound() { # a packet socket on vrx, running
	local idx
	idx=$(ip netns exec "$ns" cat /sys/class/net/vrx/ifindex)
	ip netns exec "$ns" awk -v i="$idx" 'NR > 1 && $5 == i && $6 == 1' /proc/net/packet | grep -q .
}
wait_bound() {
	local i
	for i in $(seq 100); do bound && return 0; sleep 0.05; done
	echo "pcap.sh: tcpdump did not bind to vrx" >&2
	exit 1
}

# One run: replay $1 at $2 pps into cluster $3 with groups $4 ("q", "v",
# "qv" or "qbv": a queue reader, a veth reader, both, or both and a queue
# reader through $before). Leaves $work/{q,b,v,bal}.cpu and $work/{q,b,v}.err.
one_run() {
	local pcap=$1 pps=$2 c=$3 what=$4 n=() r=() qp= bp= vp= bal
	rm -f "$work"/*.cpu "$work"/*.err
	case $what in
	q) n=(-n 1) ;;
	v) n=(-n 1) r=(-r 0:vtx) ;;
	qv) n=(-n 1,1) r=(-r 1:vtx) ;;
	qbv) n=(-n 1,1,1) r=(-r 2:vtx) ;;
	esac
	if [[ $what == *v* ]]; then
		"$cpu_of" "$work/v.cpu" ip netns exec "$ns" tcpdump -n -i vrx -w /dev/null 2>"$work/v.err" &
		vp=$!
		pids+=("$vp")
		wait_bound
	fi
	if [[ $what == *q* ]]; then
		"$cpu_of" "$work/q.cpu" env "LD_PRELOAD=$lib" RINGFAN_PCAP_WAIT_MS=20000 \
			tcpdump -n -i "ringfan:$c@0" -w /dev/null 2>"$work/q.err" &
		qp=$!
		pids+=("$qp")
	fi
	if [[ $what == *b* ]]; then
		"$cpu_of" "$work/b.cpu" env "LD_PRELOAD=$before" RINGFAN_PCAP_WAIT_MS=20000 \
			tcpdump -n -i "ringfan:$c@1" -w /dev/null 2>"$work/b.err" &
		bp=$!
		pids+=("$bp")
	fi
	"$cpu_of" "$work/bal.cpu" ip netns exec "$ns" "$ringfan" balance -i "pcap:$pcap" -c "$c" "${n[@]}" \
		"${r[@]}" --rate "$pps" 2>"$work/bal.err" || true
	[ -z "$qp" ] || wait "$qp" || true
	[ -z "$bp" ] || wait "$bp" || true
	if [ -n "$vp" ]; then
		sleep 0.3 # the last frames cross the veth
		kill -TERM "$vp"
		wait "$vp" || true
	fi
	"$ringfan" clean -c "$c" -q >/dev/null 2>&1 || true
}

per_pkt_us() { awk -v n="$2" '{ printf "%.3f", n ? $1 * 1e6 / n : 0 }' "$1"; }
# Context switches per million packets.
cs_per_m() { awk -v n="$2" '{ printf "%d", n ? $2 * 1e6 / n : 0 }' "$1"; }

echo "# machine: $(machine)"
echo "# queue directory: $RINGFAN_DIR (QUEUE_FS=${QUEUE_FS:-shm})"
if [[ " $parts " == *" 4 "* ]] && ! command -v tcpreplay >/dev/null; then
	echo "# part 4 skipped: needs tcpreplay"
	parts=${parts//4/}
fi
packets=$(awk -v r="$rate" -v s="$secs" 'BEGIN { print int(r * s) }')
"$ringfan" gen -o "$work/in.pcap" --flows 1000 --packets "$packets" --size 64-512 -q
if [[ " $parts " == *" 1 "* ]]; then
	echo "# part 1: tcpdump -w /dev/null CPU per packet, queue vs veth, same run ($packets packets at $rate pps, $runs runs)"
	[ -z "$before" ] || echo "# and through BEFORE=$before on a third queue"
	: >"$work/p1"
	for i in $(seq "$runs"); do
		one_run "$work/in.pcap" "$rate" $((100 + i)) "q${before:+b}v"
		nq=$(captured "$work/q.err")
		nv=$(captured "$work/v.err")
		q=$(per_pkt_us "$work/q.cpu" "$nq")
		v=$(per_pkt_us "$work/v.cpu" "$nv")
		csq=$(cs_per_m "$work/q.cpu" "$nq")
		csv=$(cs_per_m "$work/v.cpu" "$nv")
		nb=0 b=0 csb=0
		if [ -n "$before" ]; then
			nb=$(captured "$work/b.err")
			b=$(per_pkt_us "$work/b.cpu" "$nb")
			csb=$(cs_per_m "$work/b.cpu" "$nb")
		fi
		echo "$q $v $(awk -v q="$q" -v v="$v" 'BEGIN { printf "%.3f", v ? q / v : 0 }') $nq $nv" \
			"$csq $csv $b $csb $(awk -v b="$b" -v v="$v" 'BEGIN { printf "%.3f", v ? b / v : 0 }')" >>"$work/p1"
		extra=
		[ -z "$before" ] || extra=", before $b us/pkt ($nb captured, $csb cs/Mpkt)"
		echo "run $i: queue $q us/pkt ($nq captured, $csq cs/Mpkt), veth $v us/pkt ($nv captured, $csv cs/Mpkt)$extra"
	done
	col() { cut -d' ' -f"$1" "$work/p1" | median; }
	echo "median: tcpdump on the queue $(col 1) us/pkt ($(col 6) cs/Mpkt), on the veth $(col 2) us/pkt" \
		"($(col 7) cs/Mpkt), ratio queue/veth $(col 3)"
	[ -z "$before" ] || echo "median before: tcpdump on the queue $(col 8) us/pkt ($(col 9) cs/Mpkt), ratio before/veth $(col 10)"
fi

if [[ " $parts " == *" 2 "* ]]; then
	echo "# part 2: the balancer's CPU per packet, read through the interposer vs re-emitted on the veth"
	: >"$work/p2"
	for i in $(seq "$runs"); do
		one_run "$work/in.pcap" "$rate" $((110 + i)) q
		bq=$(per_pkt_us "$work/bal.cpu" "$packets")
		one_run "$work/in.pcap" "$rate" $((120 + i)) v
		bv=$(per_pkt_us "$work/bal.cpu" "$packets")
		echo "$bq $bv $(awk -v q="$bq" -v v="$bv" 'BEGIN { printf "%.3f", v ? q / v : 0 }')" >>"$work/p2"
		echo "run $i: balancer $bq us/pkt (queue read in place), $bv us/pkt (re-emitted)"
	done
	echo "median: balancer $(cut -d' ' -f1 "$work/p2" | median) us/pkt without egress, $(cut -d' ' -f2 "$work/p2" | median) us/pkt with, ratio $(cut -d' ' -f3 "$work/p2" | median)"
fi

if [[ " $parts " == *" 3 "* ]]; then
	echo "# part 3: loss by offered rate, both readers in the same run (median of $runs: captured/replayed)"
	best_q=0 best_v=0
	for pps in $rates; do
		n=$(awk -v r="$pps" -v s="$secs" 'BEGIN { print int(r * s) }')
		"$ringfan" gen -o "$work/r.pcap" --flows 1000 --packets "$n" --size 64-512 -q
		: >"$work/p3"
		for i in $(seq "$runs"); do
			one_run "$work/r.pcap" "$pps" $((200 + i)) qv
			echo "$(captured "$work/q.err") $(captured "$work/v.err")" >>"$work/p3"
		done
		cq=$(cut -d' ' -f1 "$work/p3" | median)
		cv=$(cut -d' ' -f2 "$work/p3" | median)
		printf "%8s pps: queue %s/%s, veth %s/%s\n" "$pps" "$cq" "$n" "$cv" "$n"
		# Zero loss: every run's reader got every packet replayed.
		awk -v n="$n" '$1 != n { exit 1 }' "$work/p3" && best_q=$pps
		awk -v n="$n" '$2 != n { exit 1 }' "$work/p3" && best_v=$pps
	done
	zl() { (($1)) && echo "$1 pps" || echo "none of the rates tried"; }
	echo "highest zero-loss offered rate (every run): queue $(zl $best_q), veth $(zl $best_v)"
fi

# stat C KEY: a counter of cluster C's stats file (written every second).
stat() { awk -F': ' -v k="$2" '$1 == k { print $2 }' "$RINGFAN_DIR/$1.stats" 2>/dev/null; }

# One live run of part 4: tcpreplay sends $1 at $2 pps into a balancer of
# cluster $3 capturing vcap; group A's queue is read through the
# interposer, group B's re-emitted on vtx and read on vrx. Prints "sent
# queue_captured veth_captured balancer_kernel_drops achieved_pps".
live_run() {
	local pcap=$1 pps=$2 c=$3 b qp vp i r sent
	rm -f "$work"/*.err
	ip netns exec "$ns" tcpdump -n -i vrx -w /dev/null 2>"$work/v.err" &
	vp=$!
	pids+=("$vp")
	wait_bound
	ip netns exec "$ns" "$ringfan" balance -i afpacket:vcap -c "$c" -n 1,1 -r 1:vtx 2>"$work/bal.err" &
	b=$!
	pids+=("$b")
	for i in $(seq 100); do [ "$(stat "$c" state)" == running ] && break; sleep 0.05; done
	env "LD_PRELOAD=$lib" RINGFAN_PCAP_WAIT_MS=20000 \
		tcpdump -n -i "ringfan:$c@0" -w /dev/null 2>"$work/q.err" &
	qp=$!
	pids+=("$qp")
	for i in $(seq 100); do [ "$(stat "$c" queue.0.consumer_pid)" == "$qp" ] && break; sleep 0.05; done
	ip netns exec "$ns" tcpreplay -K -i vin --pps "$pps" "$pcap" >"$work/replay.out" 2>&1 ||
		{ cat "$work/replay.out" >&2; exit 1; }
	r=$(awk '/Actual:/ { s = $2 } /Rated:/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^pps/) p = $i }
		END { printf "%d %d", s, p }' "$work/replay.out")
	sent=${r% *}
	# Until the balancer has taken every packet from the capture (or lost it
	# there); then the readers' buffers are handed over (libpcap's 1 s timeout).
	for i in $(seq 50); do
		(($(stat "$c" total.received) + $(stat "$c" total.kernel_drops) >= sent)) && break
		sleep 0.1
	done
	sleep 1.5
	kill -TERM "$qp" "$vp"
	wait "$qp" "$vp" || true
	echo "$sent $(captured "$work/q.err") $(captured "$work/v.err") $(stat "$c" total.kernel_drops) ${r#* }"
	kill -TERM "$b"
	wait "$b" || true
	"$ringfan" clean -c "$c" -q >/dev/null 2>&1 || true
}

if [[ " $parts " == *" 4 "* ]]; then
	echo "# part 4: tcpreplay --pps into a live balancer; both readers in the same run (median of $runs, captured/sent)"
	echo "# $(tcpreplay -V 2>&1 | head -1)"
	best_q=0 best_v=0
	for pps in $live_rates; do
		n=$(awk -v r="$pps" -v s="$secs" 'BEGIN { print int(r * s) }')
		"$ringfan" gen -o "$work/r.pcap" --flows 1000 --packets "$n" --size 64-512 -q
		: >"$work/p3"
		for i in $(seq "$runs"); do
			live_run "$work/r.pcap" "$pps" $((200 + i)) >>"$work/p3"
		done
		med() { cut -d' ' -f"$1" "$work/p3" | median; }
		printf "%8s pps (achieved %s): queue %s/%s, veth %s/%s, balancer kernel drops %s\n" \
			"$pps" "$(med 5)" "$(med 2)" "$(med 1)" "$(med 3)" "$(med 1)" "$(med 4)"
		# Zero loss: every run's reader got every packet sent.
		awk '$2 != $1 { exit 1 }' "$work/p3" && best_q="$pps pps (achieved $(med 5))"
		awk '$3 != $1 { exit 1 }' "$work/p3" && best_v="$pps pps (achieved $(med 5))"
	done
	zl() { [ "$1" != 0 ] && echo "$1" || echo "none of the rates tried"; }
	echo "highest zero-loss offered rate (every run): queue $(zl "$best_q"), veth $(zl "$best_v")"
fi
