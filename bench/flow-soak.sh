#!/usr/bin/env bash
# Flow-table soak: `ringfan balance` with a flow table and shunting, fed
# FLOWS (default 10 M) distinct flows over DURATION seconds (default 1800),
# with one `ringfan count -q` consumer per queue. The flows come from
# `ringfan gen` captures of up to 1 M flows each, with different seeds (the
# client port and server of each flow are drawn from the seed, so the
# 5-tuples differ from file to file), PACKETS_PER_FLOW packets each
# (default 2), their timestamps moved on so that the files follow each other
# without a gap at the replay rate, and concatenated into one capture
# replayed once with --rate: the table's clock (the packets' timestamps)
# then runs with the wall clock, and flows leave it by idle expiry (60 s)
# or eviction.
#
# Every EVERY seconds (default DURATION/30): the balancer's VmRSS and VmHWM
# and the group's table counters (flows active/created/expired/evicted,
# shunted, fallback). At the end, PASS when
#   - RSS is flat: max RSS after the warm-up (WARMUP s, default DURATION/10)
#     minus the RSS at the end of the warm-up <= RSS_SLACK_KB (default 1024),
#   - flows created >= KEYS * MIN_CREATED_PCT / 100 (default 100: every
#     flow got an entry; a flow placed by the hash for want of room is not
#     created, one evicted and seen again is created twice), where KEYS is
#     the number of distinct 5tuple flow hashes of the capture (from
#     `ringfan explain`): the table is keyed by the 32-bit hash, so two
#     flows whose hashes are equal share an entry (about FLOWS^2 / 2^33
#     pairs: 1 in 100,000 flows, 116 in 1 M; counting them takes about 5 s
#     per million flows of 2 packets, before the replay),
#   - the counters add up at every sample: created = active + expired +
#     evicted; received = enqueued + dropped + shunted (+ filtered, dedup),
#   - every packet of the capture was received and the balancer exits 0
#     (or 1: packets dropped for want of room in a queue, reported).
#
#   bench/flow-soak.sh
#   env: RINGFAN_BUILD (build dir, default ./build), DURATION (s, 1800),
#        FLOWS (10000000), PACKETS_PER_FLOW (2), FLOW_TABLE (2M),
#        SHUNT (--shunt-packets N, default 1), QUEUES (2), EVERY, WARMUP,
#        RSS_SLACK_KB (1024), MIN_CREATED_PCT (100)
# Run it under `nice -n 10` on a shared machine. Exit status 0 on PASS.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/common.sh"
BUILD=${RINGFAN_BUILD:-$TOP/build}
RINGFAN=$BUILD/ringfan
DURATION=${DURATION:-1800}
FLOWS=${FLOWS:-10000000}
PPF=${PACKETS_PER_FLOW:-2}
FT=${FLOW_TABLE:-2M}
SHUNT=${SHUNT:-1}
NQ=${QUEUES:-2}
EVERY=${EVERY:-$(((DURATION + 29) / 30))}
WARMUP=${WARMUP:-$((DURATION / 10))}
SLACK=${RSS_SLACK_KB:-1024}
MINPCT=${MIN_CREATED_PCT:-100}
C=198
PER_FILE=1000000 # ringfan gen's most flows per file
for v in DURATION FLOWS PPF EVERY WARMUP SLACK MINPCT NQ SHUNT; do
	[[ "${!v}" =~ ^[0-9]+$ ]] || { echo "$v must be a whole number (got '${!v}')" >&2; exit 2; }
done
((DURATION > 0 && FLOWS > 0 && PPF >= 2 && EVERY > 0 && NQ > 0)) ||
	{ echo "need DURATION, FLOWS, EVERY, QUEUES > 0 and PACKETS_PER_FLOW >= 2" >&2; exit 2; }
[ -x "$RINGFAN" ] || { echo "no ringfan at $RINGFAN (set RINGFAN_BUILD)" >&2; exit 2; }
for t in editcap mergecap; do
	command -v $t >/dev/null || { echo "$t not found (apt-get install wireshark-common)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/ringfan-flow-soak.XXXXXX)
export RINGFAN_DIR
RINGFAN_DIR=$(mktemp -d /dev/shm/ringfan-flow-soak.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$RINGFAN_DIR" "$WORK"
}
trap cleanup EXIT

total_pkts=$((FLOWS * PPF))
RATE=$(((total_pkts + DURATION - 1) / DURATION))
echo "# machine: $(machine)"
echo "# flow soak: $FLOWS distinct flows of $PPF packets (64 bytes) over $DURATION s ($RATE packets/s)," \
	"--flow-table $FT --shunt-packets $SHUNT, $NQ queues, a sample every $EVERY s, warm-up $WARMUP s"

# The captures: file k starts where file k-1 ends (timestamps at RATE).
files=()
left=$FLOWS
k=0
next_start=1600000000
while ((left > 0)); do
	n=$((left < PER_FILE ? left : PER_FILE))
	"$RINGFAN" gen -o "$WORK/g$k.pcap" --flows $n --packets $((n * PPF)) --seed $((k + 1)) \
		--rate "$RATE" -q
	# First timestamp (seconds, little-endian at byte 24 of a pcap file).
	first=$(od -An -tu4 -j24 -N4 "$WORK/g$k.pcap" | tr -d ' ')
	editcap -t $((next_start - first)) "$WORK/g$k.pcap" "$WORK/s$k.pcap"
	rm -f "$WORK/g$k.pcap"
	files+=("$WORK/s$k.pcap")
	next_start=$((next_start + (n * PPF + RATE - 1) / RATE))
	left=$((left - n))
	k=$((k + 1))
done
if ((${#files[@]} > 1)); then
	mergecap -a -F pcap -w "$WORK/soak.pcap" "${files[@]}"
	rm -f "${files[@]}"
else
	mv "${files[0]}" "$WORK/soak.pcap"
fi
echo "# capture: $k file(s) of up to $PER_FILE flows, $(($(stat -c %s "$WORK/soak.pcap") / 1048576)) MiB"
# The flows the table can tell apart: distinct flow hashes (explain's third field, hash=0x...).
keys=$("$RINGFAN" explain -m 5tuple "$WORK/soak.pcap" 2>/dev/null | awk '$3 ~ /^hash=/ { print $3 }' |
	sort -u -T "$WORK" | wc -l)
((keys > 0)) || { echo "ringfan explain found no flow hash in the capture" >&2; exit 2; }
echo "# $keys distinct flow hashes for $FLOWS flows (flows whose hashes are equal share one entry)"

snapshot() { stats_snapshot "$RINGFAN_DIR/$C.stats" "$WORK/snap"; }
snap_of() { snap_value "$WORK/snap" "$1"; }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

"$RINGFAN" balance -i "pcap:$WORK/soak.pcap" --rate "$RATE" -c $C -n "$NQ" -m 5tuple \
	--flow-table "$FT" --shunt-packets "$SHUNT" 2>"$WORK/balance.err" &
bal=$!
pids+=("$bal")
for _ in $(seq 100); do
	[ -e "$RINGFAN_DIR/$C@$((NQ - 1)).cons" ] && [ -e "$RINGFAN_DIR/$C.stats" ] && break
	sleep 0.1
done
for ((q = 0; q < NQ; q++)); do
	"$RINGFAN" count -i "$C@$q" -q --exit-on-detach >"$WORK/count.$q" 2>&1 &
	pids+=($!)
done

bad=0
rss_warm=
rss_max=0
hwm=0
t0=$(date +%s)
printf "# %6s %9s %9s %10s %10s %10s %10s %10s %10s %10s %10s %s\n" s rss_kB hwm_kB received \
	enqueued shunted active created expired evicted fallback sums
sample() {
	local t=$1 rss cr ac ex ev rx sum sums=ok
	rss=$(status_kb $bal VmRSS)
	[ -n "$rss" ] || return 1
	hwm=$(status_kb $bal VmHWM)
	snapshot || { echo "FAIL: no whole stats file"; bad=1; return 1; }
	cr=$(snap_of group.0.flows_created)
	ac=$(snap_of group.0.flows_active)
	ex=$(snap_of group.0.flows_expired)
	ev=$(snap_of group.0.flows_evicted)
	rx=$(snap_of group.0.received)
	sum=$(($(snap_of group.0.enqueued) + $(snap_of group.0.dropped) + $(snap_of group.0.shunted) +
		$(snap_of group.0.filtered) + $(snap_of group.0.deduplicated)))
	((cr == ac + ex + ev)) || { sums="BROKEN(created $cr != $ac+$ex+$ev)"; bad=1; }
	((rx == sum)) || { sums="BROKEN(received $rx != $sum)"; bad=1; }
	printf '  %6s %9s %9s %10s %10s %10s %10s %10s %10s %10s %10s %s\n' "$t" "$rss" "$hwm" "$rx" \
		"$(snap_of group.0.enqueued)" "$(snap_of group.0.shunted)" "$ac" "$cr" "$ex" "$ev" \
		"$(snap_of group.0.flow_fallback)" "$sums"
	if ((t >= WARMUP)); then
		[ -n "$rss_warm" ] || rss_warm=$rss
		((rss > rss_max)) && rss_max=$rss
	fi
	created=$cr
	return 0
}
created=0
next=$EVERY
while kill -0 $bal 2>/dev/null; do
	sleep 1
	t=$(($(date +%s) - t0))
	((t >= next)) || continue
	next=$((next + EVERY))
	sample $t || break
done
rc=0
wait $bal || rc=$?
pids=("${pids[@]:1}")
# The last sample is the finished balancer's stats file.
snapshot && {
	rx=$(snap_of group.0.received)
	created=$(snap_of group.0.flows_created)
	echo "# end: received $rx, enqueued $(snap_of group.0.enqueued), dropped $(snap_of group.0.dropped)," \
		"shunted $(snap_of group.0.shunted); flows created $created, active $(snap_of group.0.flows_active)," \
		"expired $(snap_of group.0.flows_expired), evicted $(snap_of group.0.flows_evicted)," \
		"shunted $(snap_of group.0.flows_shunted), hash fallback $(snap_of group.0.flow_fallback)"
	((rx == total_pkts)) || { echo "FAIL: received $rx of $total_pkts packets"; bad=1; }
}
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
pids=()
((rc == 0 || rc == 1)) || { echo "FAIL: the balancer exited $rc: $(tail -3 "$WORK/balance.err")"; bad=1; }
((rc == 0)) || echo "# the balancer exited 1: packets were dropped (queues full)"

need=$((keys * MINPCT / 100))
if [ -z "$rss_warm" ]; then
	echo "FAIL: no sample after the warm-up ($WARMUP s)"
	bad=1
else
	echo "# RSS after warm-up $rss_warm kB, max after $rss_max kB (+$((rss_max - rss_warm)) kB, bound $SLACK); VmHWM $hwm kB"
	((rss_max - rss_warm <= SLACK)) || { echo "FAIL: RSS grew by $((rss_max - rss_warm)) kB"; bad=1; }
fi
((created >= need)) || { echo "FAIL: flows created $created < $need ($MINPCT % of $keys distinct flow hashes)"; bad=1; }
if ((bad)); then echo "FAIL"; exit 1; fi
echo "PASS: RSS flat (+$((rss_max - rss_warm)) kB), $created flows created (>= $need, of $keys distinct flow hashes), counters add up"
