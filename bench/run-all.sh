#!/usr/bin/env bash
# Run every benchmark in turn, keep their output and machine-readable results
# in bench/results/ (*.log, *.csv; not committed), then draw the figures of
# doc/performance.md into doc/img/ (bench/plot.sh). `make bench` builds first
# and then runs this.
#
#   bench/run-all.sh [BUILD_DIR]      (default: $RINGFAN_BUILD or build)
#
# Environment:
#   QUICK=1       smoke run (~1 min): one repetition per part, no soak, no
#                 callgrind in decode-hash (queue.sh always counts, ~5 s),
#                 a short live run (checks the plumbing, not the figures)
#   SOAK_MINUTES  length of the soak in minutes (default 1; 0 skips it)
#   RINGFAN_PCAPS directory of the real captures (default ../shared/pcaps)
# Parts whose prerequisites are missing (root, the capture, a tool) are
# skipped with a message; the exit status is 1 when a part that ran failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/common.sh"
build=$(cd "${1:-${RINGFAN_BUILD:-$top/build}}" && pwd) || exit 2
quick=${QUICK:-0}
res=$top/bench/results
export RINGFAN_BUILD=$build
export RINGFAN_PCAPS=${RINGFAN_PCAPS:-$top/../shared/pcaps}
cap=$RINGFAN_PCAPS/ndpi-merged-ether.pcap
mkdir -p "$res"
cd "$top" || exit 1
# Only this run's results: a skipped part must not leave old figures behind.
rm -f "$res"/*.csv "$res"/*.log

machine=$(machine)
echo "$machine" >"$res/machine.txt"
echo "run-all: $machine; build $build; $( ((quick)) && echo 'QUICK smoke run' || echo 'full run'); $(date -u '+%Y-%m-%d %H:%M UTC')"

summary=()
failed=0
note() { summary+=("$(printf '%-12s %s' "$1" "$2")"); }
skip() {
	echo "run-all: skipping $1: $2"
	note "$1" "skipped: $2"
}
# part NAME CMD...: run one benchmark, its output shown and kept in NAME.log.
part() {
	local name=$1 t0 rc
	shift
	echo
	echo "=== $name: $*"
	t0=$(date +%s)
	"$@" 2>&1 | tee "$res/$name.log"
	rc=${PIPESTATUS[0]}
	if ((rc == 0)); then
		note "$name" "ok ($(($(date +%s) - t0)) s)"
	else
		note "$name" "FAILED (exit $rc; see bench/results/$name.log)"
		failed=1
	fi
	return "$rc"
}

# ---- decode + hash (and the spread over 4 queues on the capture)
decode_quick() { # the binary itself, one pass, no callgrind
	local bin=$build/bench/decode-hash
	if [ -f "$cap" ]; then
		echo "== $cap"
		"$bin" -r "$cap" -R 1 -q 4 --spread
	fi
	echo "== 100000 generated 64-byte packets"
	"$bin" -g 100000 -R 1 -q 4
}
# Output -> decode-hash.csv (input,mode,ns_per_packet,mpps),
# spread.csv (mode, then min, max, mean and max/mean of flows and of packets per queue)
# and decode-hash-instr.csv (input,mode,instructions_per_packet).
decode_csv() {
	awk -v out="$res/decode-hash.csv" -v spr="$res/spread.csv" -v ins="$res/decode-hash-instr.csv" '
		BEGIN {
			print "input,mode,ns_per_packet,mpps" >out
			print "mode,flows_min,flows_max,flows_mean,flows_max_mean,packets_min,packets_max,packets_mean,packets_max_mean" >spr
			print "input,mode,instructions_per_packet" >ins
		}
		/^== callgrind/ { input = ""; next }
		/^== / {
			input = $2
			if (input ~ /\//) { n = split(input, p, "/"); input = p[n] }
			else if ($3 == "generated") input = (input >= 1000000 ? input / 1000000 "M" : input / 1000 "k") " generated 64-byte"
			next
		}
		input != "" && NF >= 3 && $2 ~ /^[0-9.]+$/ && $1 !~ /^#/ { print input "," $1 "," $2 "," $3 >out }
		/^spread / {
			fr = $11; pr = $20; sub(/\)/, "", fr); sub(/\)/, "", pr)
			print $2 "," $5 "," $7 "," $9 "," fr "," $14 "," $16 "," $18 "," pr >spr
		}
		/instructions\/packet$/ { # the label is one or two words
			# (decode-hash.sh counts its 100k generated packets)
			if (NF == 5) print "100k " $1 " " $2 "," $3 "," $4 >ins
			else if (NF == 4) print $1 "," $2 "," $3 >ins
		}
	' "$res/decode-hash.log"
}
if [ ! -x "$build/bench/decode-hash" ]; then
	skip decode-hash "$build/bench/decode-hash is not built"
else
	[ -f "$cap" ] || echo "run-all: $cap is absent: decode-hash runs on generated packets only, no spread"
	if ((quick)); then
		part decode-hash decode_quick
	else
		RUNS=${RUNS:-9} part decode-hash bench/decode-hash.sh "$build"
	fi
	decode_csv
fi

# ---- what --filter, --dedup, --strip, --snaplen cost per packet (bench/broker.sh)
if [ ! -x "$build/bench/broker" ]; then
	skip broker "$build/bench/broker is not built"
elif [ ! -f "$cap" ]; then
	skip broker "$cap is absent"
elif ((quick)); then
	part broker "$build/bench/broker" -r "$cap" -R 1
else
	RUNS=${RUNS:-5} part broker bench/broker.sh "$build"
fi

# ---- queue throughput: ringfan queue, bare ring, veth AF_PACKET
# Its tables -> queue.csv (size,ring_mpps,queue_mpps,veth_mpps,veth_bypass_mpps)
# and queue-instr.csv (size,producer,consumer,loop,total instructions/packet).
queue_csv() {
	awk -v out="$res/queue.csv" -v ins="$res/queue-instr.csv" '
		BEGIN {
			print "size,ring_mpps,queue_mpps,veth_mpps,veth_bypass_mpps" >out
			print "size,producer,consumer,loop,total" >ins
		}
		$1 ~ /^[0-9]+$/ && NF == 7 { print $1 "," $2 "," $3 "," $5 "," $6 >out }
		$1 ~ /^[0-9]+$/ && NF == 5 { print $1 "," $2 "," $3 "," $4 "," $5 >ins }
	' "$res/queue.log"
}
if ((EUID != 0)); then
	skip queue "needs root (network namespace for the veth baseline)"
elif [ ! -x "$build/bench/queue-bench" ] || [ ! -x "$build/bench/afpacket-veth" ]; then
	skip queue "bench/queue-bench or bench/afpacket-veth is not built"
else
	# QUICK: one repetition of each (the packet counts are the script's own,
	# about 20 s in all).
	if ((quick)); then
		RUNS=1 part queue bench/queue.sh "$build"
	else
		RUNS=${RUNS:-5} part queue bench/queue.sh "$build"
	fi
	queue_csv
fi

# ---- splitting the capture into 4 pcap files, against tcpdump copying it
# -> split.csv (command,median_ms)
split_csv() {
	awk -v out="$res/split.csv" '
		BEGIN { print "command,median_ms" >out }
		/ median .* ms / {
			i = index($0, " median "); c = substr($0, 1, i - 1)
			sub(/^ +/, "", c); sub(/ +$/, "", c); gsub(/,/, ";", c)
			split(substr($0, i + 8), v, " "); print c "," v[1] >out
		}
	' "$res/split.log"
}
if [ ! -f "$cap" ]; then
	skip split "no capture $cap"
elif ! command -v tcpdump >/dev/null; then
	skip split "tcpdump is not installed"
else
	if ((quick)); then
		RUNS=1 part split bench/split.sh "$cap"
	else
		RUNS=${RUNS:-7} CALLGRIND=1 part split bench/split.sh "$cap"
	fi
	split_csv
fi

# ---- small packets through the whole balancer: splits, replay into 4 count
# processes, context switches, start-up (bench/small.sh)
# -> small.csv (command,ms,ratio,cpu_ms,mpps,cs_per_mpkt)
if ! command -v tcpdump >/dev/null || ! command -v perf >/dev/null; then
	skip small "needs tcpdump and perf"
else
	if ((quick)); then
		RUNS=1 PACKETS=200000 part small bench/small.sh
	else
		RUNS=${RUNS:-5} CALLGRIND=1 part small bench/small.sh
	fi
	awk 'BEGIN { print "command,ms,ratio,cpu_ms,mpps,cs_per_mpkt" }
		!/ median / && NF >= 6 && $(NF - 4) ~ /^[0-9.]+$/ && $(NF - 3) ~ /^[0-9.]+$/ {
			c = $0; sub(/ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$/, "", c); gsub(/,/, ";", c)
			print c "," $(NF - 4) "," $(NF - 3) "," $(NF - 2) "," $(NF - 1) "," $NF
		}' "$res/small.log" >"$res/small.csv"
fi

# ---- soak: the balancer at a steady rate, consumers killed and restarted
# -> soak.csv (minute,received,enqueued,dropped,rss_kB,fds,restarts,invariant)
soak_minutes=${SOAK_MINUTES:-1}
if ((quick)); then
	skip soak "QUICK run (the soak takes minutes; SOAK_MINUTES, default 1, in a full run)"
elif ((soak_minutes == 0)); then
	skip soak "SOAK_MINUTES=0"
else
	part soak bench/soak.sh "$soak_minutes"
	awk 'BEGIN { print "minute,received,enqueued,dropped,rss_kB,fds,restarts,invariant" }
		$1 == "#" && $2 ~ /^[0-9]+$/ && NF == 9 { print $2 "," $3 "," $4 "," $5 "," $6 "," $7 "," $8 "," $9 }' \
		"$res/soak.log" >"$res/soak.csv"
fi

# ---- live capture on a veth: ringfan balance with 1, 2, 4 queues and tcpdump
# (bench/live.sh writes bench/results/live.csv itself)
if [ ! -x bench/live.sh ]; then
	skip live "bench/live.sh is not there"
elif ((EUID != 0)); then
	skip live "needs root (network namespaces)"
elif ! command -v tcpreplay >/dev/null || ! command -v tcpdump >/dev/null; then
	skip live "needs tcpreplay and tcpdump"
else
	rm -f "$res/live.csv"
	if ((quick)); then
		RUNS=1 RATES="100000 0" SIZES=64 SECS=0.5 QUEUES="1 4" CSV="$res/live.csv" part live bench/live.sh
	else
		# Fewer rates and shorter steps than its defaults (~5 instead of ~12
		# minutes); the full sweep is bench/live.sh alone.
		RUNS=${RUNS:-3} RATES=${RATES:-100000 200000 400000 800000 0} SECS=${SECS:-1} \
			CSV="$res/live.csv" part live bench/live.sh
	fi
fi

# ---- CPU per packet of a live capture at paced rates: tcpdump, the balancer
# (-n 4) and its 4 consumers (bench/live-cpu.sh)
# -> live-cpu.csv (rate,contender,cpu_s_per_mpkt,ratio)
if ((EUID != 0)); then
	skip live-cpu "needs root (network namespaces)"
elif ! command -v tcpreplay >/dev/null || ! command -v tcpdump >/dev/null; then
	skip live-cpu "needs tcpreplay and tcpdump"
else
	if ((quick)); then
		RUNS=1 PACKETS=100000 RATES=100000 part live-cpu bench/live-cpu.sh
	else
		RUNS=${RUNS:-5} part live-cpu bench/live-cpu.sh
	fi
	awk 'BEGIN { print "rate,contender,cpu_s_per_mpkt,ratio" }
		$1 ~ /^[0-9]+$/ && NF >= 4 {
			c = $0; sub(/^[0-9]+ +/, "", c); sub(/ +[0-9.]+ +[0-9.]+ +[^ ]+$/, "", c)
			print $1 "," c "," $(NF - 2) "," $(NF - 1)
		}' "$res/live-cpu.log" >"$res/live-cpu.csv"
fi

# ---- libpcap programs on a queue (libringfan-pcap) against a re-emitted veth
if ((EUID != 0)); then
	skip pcap "needs root (network namespaces)"
elif ! command -v tcpdump >/dev/null; then
	skip pcap "needs tcpdump"
elif ((quick)); then
	RUNS=1 SECS=1 RATES="100000" part pcap bench/pcap.sh
else
	part pcap bench/pcap.sh
fi

# ---- figures
echo
echo "=== plot: bench/plot.sh"
if bench/plot.sh; then
	note plot "ok: $(cd "${IMG:-doc/img}" 2>/dev/null && ls ./*.png 2>/dev/null | tr '\n' ' ' | sed 's|\./||g')"
else
	note plot "FAILED"
	failed=1
fi

echo
echo "run-all: $machine"
printf 'run-all: %s\n' "${summary[@]}"
exit "$failed"
