#!/usr/bin/env bash
# Soak: `ringfan balance` at a sustained rate for MINUTES (default 30) with
# 4 `ringfan count` consumers that are killed (alternately -9 and -TERM) and
# restarted at random intervals. Every minute: the balancer's RSS, open file
# descriptors, the counters' invariant (per group: received = sum over its
# queues of enqueued + dropped) and the consumer restarts so far. At the end:
# the balancer is stopped, one last consumer per queue drains it, and every
# queue must have been read completely across all its consumers
# (consumer_read = enqueued); RSS must be flat, and no file descriptor,
# queue file or /dev/shm entry may have leaked.
#
# Then the balancer itself is restarted SOAK_RESTARTS times (default 10),
# alternately stopped (SIGTERM, as systemctl restart) and killed -9, while
# one consumer per queue stays attached all along: first on the paced file
# replay, then (as root) on a live interface (a veth pair fed by tcpreplay
# in a network namespace). Each restart resumes the queues; in the end every
# consumer must have received every packet its queue was given (no drop),
# and what the live source could not capture while no balancer ran is
# reported.
#
#   bench/soak.sh [MINUTES]
#   env: RINGFAN_BUILD (build dir, default ./build), SOAK_RATE (packets/s,
#        default 20000), SOAK_RING (ring size per queue, default 16M),
#        SOAK_RESTARTS (balancer restarts per source, default 10; 0: none)
# Needs no root but for the live restarts (skipped otherwise). Exit status
# 0 when every check held.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/common.sh"
BUILD=${RINGFAN_BUILD:-$TOP/build}
RINGFAN=$BUILD/ringfan
MINUTES=${1:-30}
RATE=${SOAK_RATE:-20000}
RING=${SOAK_RING:-16M}
RESTARTS=${SOAK_RESTARTS:-10}
QSTRESS=$BUILD/tests/tools/qstress
NQ=4
C=199
[[ "$MINUTES" =~ ^[0-9]+$ ]] && ((MINUTES > 0)) || { echo "usage: $0 [MINUTES]" >&2; exit 2; }
[ -x "$RINGFAN" ] || { echo "no ringfan at $RINGFAN (set RINGFAN_BUILD)" >&2; exit 2; }

shm_before=$(ls -A /dev/shm | wc -l)
WORK=$(mktemp -d /tmp/ringfan-soak.XXXXXX)
export RINGFAN_DIR
RINGFAN_DIR=$(mktemp -d /dev/shm/ringfan-soak.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$RINGFAN_DIR" "$WORK"
}
trap cleanup EXIT

snapshot() { stats_snapshot "$RINGFAN_DIR/$C.stats" "$WORK/snap"; }
snap_of() { snap_value "$WORK/snap" "$1"; }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
# Distinct shared-memory files the balancer has mapped.
shm_maps() { awk '$6 ~ /^\/dev\/shm\// { print $6 }' "/proc/$1/maps" | sort -u | wc -l; }

echo "# machine: $(machine)"
echo "# soak: $MINUTES min, $RATE packets/s, $NQ queues of $RING, consumers restarted every 2-20 s"

"$RINGFAN" gen -o "$WORK/soak.pcap" --all --flows 2000 --packets 200000 --size imix --seed 9 -q
"$RINGFAN" balance -i "pcap:$WORK/soak.pcap" --loop 0 --rate "$RATE" -c $C -n $NQ \
	--ring-size "$RING" -m 5tuple 2>"$WORK/balance.err" &
bal=$!
pids+=("$bal")
for _ in $(seq 100); do
	[ -e "$RINGFAN_DIR/$C@$((NQ - 1)).cons" ] && [ -e "$RINGFAN_DIR/$C.stats" ] && break
	sleep 0.1
done

# A consumer slot: run `ringfan count` on one queue, kill it after 2-20 s
# (-9 on odd rounds, -TERM on even), wait 0-1 s, start again; until told to stop.
consumer_slot() { # queue
	local q=$1 round=0 p
	while [ ! -e "$WORK/stop" ]; do
		"$RINGFAN" count -i "$C@$q" -q --json >>"$WORK/count.$q.json" 2>>"$WORK/count.$q.err" &
		p=$!
		sleep "$((RANDOM % 19 + 2)).$((RANDOM % 10))"
		if ((round % 2)); then kill -9 $p 2>/dev/null || true; else kill -TERM $p 2>/dev/null || true; fi
		wait $p 2>/dev/null || true
		round=$((round + 1))
		echo $round >"$WORK/rounds.$q"
		sleep "0.$((RANDOM % 10))"
	done
}
for ((q = 0; q < NQ; q++)); do
	consumer_slot $q &
	pids+=($!)
done

sleep 10 # warm-up: rings touched, first consumers attached
rss0=$(rss_kb $bal)
fd0=$(fds $bal)
files0=$(ls -A "$RINGFAN_DIR" | wc -l)
maps0=$(shm_maps $bal)
echo "# start (after 10 s): balancer pid $bal, RSS $rss0 kB, $fd0 fds, $maps0 /dev/shm files mapped, $files0 files in RINGFAN_DIR"
printf '# %6s %12s %12s %9s %9s %6s %9s %s\n' minute received enqueued dropped rss_kB fds restarts invariant
bad=0
for ((m = 1; m <= MINUTES; m++)); do
	sleep 60
	kill -0 $bal 2>/dev/null || { echo "FAIL: the balancer died: $(tail -3 "$WORK/balance.err")"; exit 1; }
	snapshot || { echo "FAIL: no whole stats file"; exit 1; }
	inv=ok
	for ((g = 0; g < $(snap_of groups); g++)); do
		first=$(snap_of "group.$g.first_queue")
		sum=0
		for ((q = first; q < first + $(snap_of "group.$g.queues"); q++)); do
			sum=$((sum + $(snap_of "queue.$q.enqueued") + $(snap_of "queue.$q.dropped")))
		done
		rx=$(snap_of "group.$g.received")
		[ "$sum" == "$rx" ] || { inv="BROKEN(group $g: $rx != $sum)"; bad=1; }
	done
	restarts=0
	for ((q = 0; q < NQ; q++)); do restarts=$((restarts + $(cat "$WORK/rounds.$q" 2>/dev/null || echo 0))); done
	printf '# %6s %12s %12s %9s %9s %6s %9s %s\n' $m "$(snap_of total.received)" \
		"$(snap_of total.enqueued)" "$(snap_of total.dropped)" "$(rss_kb $bal)" "$(fds $bal)" \
		$restarts "$inv"
done

rss1=$(rss_kb $bal)
fd1=$(fds $bal)
files1=$(ls -A "$RINGFAN_DIR" | wc -l)
maps1=$(shm_maps $bal)
# Stop the balancer first (its queues stay: the last consumers drain them and
# end when they see it gone), then the consumer slots.
kill -TERM $bal
rc=0
wait $bal || rc=$?
((rc == 0)) || { echo "FAIL: the balancer exited $rc at SIGTERM"; bad=1; }
touch "$WORK/stop"
for ((q = 0; q < NQ; q++)); do wait "${pids[$((q + 1))]}" 2>/dev/null || true; done
# Drain: one last consumer per queue reads what is left of the finished queue.
for ((q = 0; q < NQ; q++)); do
	timeout 60 "$RINGFAN" count -i "$C@$q" -q --json --exit-on-detach >>"$WORK/count.$q.json" \
		2>>"$WORK/count.$q.err" ||
		{ echo "FAIL: the drain of $C@$q did not end"; bad=1; }
done
snapshot || true
echo "# end: RSS $rss1 kB (start $rss0 kB, $((rss1 - rss0)) kB), $fd1 fds (start $fd0), $maps1 /dev/shm files mapped (start $maps0), $files1 files in RINGFAN_DIR (start $files0)"
printf '# %-6s %12s %12s %12s %8s\n' queue enqueued dropped consumer_read restarts
for ((q = 0; q < NQ; q++)); do
	read=$("$BUILD/tests/tools/qstress" query "$C@$q" 2>/dev/null | sed -n 's/^consumer_read=//p' || true)
	enq=$(snap_of "queue.$q.enqueued")
	printf '# %-6s %12s %12s %12s %8s\n' "$C@$q" "$enq" "$(snap_of "queue.$q.dropped")" "${read:-?}" \
		"$(cat "$WORK/rounds.$q" 2>/dev/null || echo 0)"
	if [ -n "$read" ] && [ "$read" != "$enq" ]; then
		echo "FAIL: $C@$q: its consumers released $read packets of $enq enqueued"
		bad=1
	fi
done
echo "# totals: received $(snap_of total.received), enqueued $(snap_of total.enqueued), dropped $(snap_of total.dropped)"
# Flat: at most 1 MiB or 2 % growth after warm-up.
growth=$((rss1 - rss0))
if ((growth > 1024 && growth * 50 > rss0)); then
	echo "FAIL: RSS grew by $growth kB"
	bad=1
fi
((fd1 == fd0)) || { echo "FAIL: file descriptors $fd0 -> $fd1"; bad=1; }
((maps1 == maps0)) || { echo "FAIL: mapped /dev/shm files $maps0 -> $maps1"; bad=1; }
((files1 == files0)) || { echo "FAIL: files in RINGFAN_DIR $files0 -> $files1"; bad=1; }

# ---- balancer restarts under attached consumers ----
qv() { "$QSTRESS" query "$1" 2>/dev/null | sed -n "s/^$2=//p"; }
# restart_phase NAME CLUSTER CMD...: start CMD (a balancer of CLUSTER), attach
# one consumer per queue, restart CMD RESTARTS times, then check that every
# consumer received every packet of its queue.
restart_phase() {
	local name=$1 c=$2 q i b p read enq drops ok=1
	shift 2
	local -a cons=()
	"$@" 2>>"$WORK/$name.err" &
	b=$!
	pids+=("$b")
	for _ in $(seq 100); do [ -e "$RINGFAN_DIR/$c@$((NQ - 1)).ring" ] && break; sleep 0.1; done
	for ((q = 0; q < NQ; q++)); do
		"$RINGFAN" count -i "$c@$q" -q --json >"$WORK/$name.$q.json" 2>"$WORK/$name.$q.err" &
		cons[$q]=$!
		pids+=("${cons[$q]}")
	done
	for ((i = 1; i <= RESTARTS; i++)); do
		sleep "$((RANDOM % 5 + 3)).$((RANDOM % 10))"
		if ((i % 2)); then kill -TERM $b; else kill -9 $b; fi
		wait $b 2>/dev/null || true
		sleep "0.$((RANDOM % 10))"
		"$@" 2>>"$WORK/$name.err" &
		b=$!
		pids+=("$b")
	done
	sleep 3
	kill -TERM $b
	wait $b 2>/dev/null || true
	printf '# %-8s %-7s %12s %12s %8s %8s
' phase queue enqueued received dropped starts
	for ((q = 0; q < NQ; q++)); do
		for _ in $(seq 100); do
			[ "$(qv "$c@$q" consumer_read)" == "$(qv "$c@$q" enqueued)" ] && break
			sleep 0.1
		done
		kill -INT "${cons[$q]}"
		wait "${cons[$q]}" 2>/dev/null || true
		read=$(grep -o '"packets":[0-9]*' "$WORK/$name.$q.json" | tail -1 | cut -d: -f2)
		enq=$(qv "$c@$q" enqueued)
		drops=$(($(qv "$c@$q" dropped_full) + $(qv "$c@$q" dropped_cursor) + $(qv "$c@$q" dropped_toobig)))
		printf '# %-8s %-7s %12s %12s %8s %8s
' "$name" "$c@$q" "$enq" "${read:-?}" "$drops" \
			"$(qv "$c@$q" producer_starts)"
		[ "$read" == "$enq" ] && ((drops == 0)) || ok=0
		[ "$(qv "$c@$q" producer_starts)" == $((RESTARTS + 1)) ] || ok=0
		[ "$(grep -c "gone" "$WORK/$name.$q.err")" -ge "$RESTARTS" ] || ok=0
	done
	((ok)) || { echo "FAIL: $name restarts: a consumer missed packets, or the queues were not resumed"; bad=1; }
}
if ((RESTARTS > 0)); then
	echo "# balancer restarts: $RESTARTS per source, alternately SIGTERM and kill -9, consumers attached"
	restart_phase file $((C + 1)) "$RINGFAN" balance -i "pcap:$WORK/soak.pcap" --loop 0 \
		--rate "$RATE" -c $((C + 1)) -n $NQ --ring-size "$RING" -m 5tuple
	if ((EUID == 0)) && command -v tcpreplay >/dev/null; then
		ns=rfsoak$$
		ip netns add $ns
		ip -n $ns link set lo up
		ip -n $ns link add vsend mtu 9000 type veth peer name vcap mtu 9000
		ip -n $ns link set vsend up
		ip -n $ns link set vcap up
		ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null
		ip netns exec $ns tcpreplay -q -i vsend --loop 0 --pps "$RATE" "$WORK/soak.pcap" \
			>/dev/null 2>&1 &
		trp=$!
		pids+=($trp)
		rx0=$(ip netns exec $ns cat /sys/class/net/vcap/statistics/rx_packets)
		restart_phase live $((C + 2)) ip netns exec $ns "$RINGFAN" balance -i afpacket:vcap \
			-c $((C + 2)) -n $NQ --ring-size "$RING" -m 5tuple
		rx1=$(ip netns exec $ns cat /sys/class/net/vcap/statistics/rx_packets)
		kill -9 $trp 2>/dev/null || true
		wait $trp 2>/dev/null || true
		captured=0
		for ((q = 0; q < NQ; q++)); do captured=$((captured + $(qv "$((C + 2))@$q" enqueued))); done
		echo "# live: $((rx1 - rx0)) packets arrived on the interface during the phase, $captured captured and delivered, $((rx1 - rx0 - captured)) arrived while no balancer ran (or after the last stop)"
		ip netns del $ns
	else
		echo "# live restarts skipped: they need root and tcpreplay"
	fi
fi

rm -rf "$RINGFAN_DIR"
shm_after=$(ls -A /dev/shm | wc -l)
echo "# /dev/shm entries: before $shm_before, after $shm_after (other programs may add or remove some)"
if ((bad)); then
	echo "FAIL"
	exit 1
fi
echo "PASS: $MINUTES min, RSS flat, no descriptor or file leaked, counters consistent every minute; $RESTARTS balancer restarts per source without a loss"
