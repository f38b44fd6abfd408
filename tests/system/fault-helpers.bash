# Helpers for the fault-injection tests (sourced after lib.sh): a balancer
# on live-paced traffic with `ringfan count` consumers, its counters, and the
# per-queue figures every fault test prints.

[ -x "$QSTRESS" ] || skip "$QSTRESS is not built"
"$RINGFAN" balance --help >/dev/null 2>&1 || skip "ringfan balance is not built"
"$RINGFAN" count --help 2>/dev/null | grep -q -- --json || skip "ringfan count --json is not built"


# No consumer holds queue $1 (asked of the kernel-held lock, via the queue).
consumer_gone() { [ "$(qinfo "$1" consumer_pid)" == 0 ]; }


# The balancer's queues exist (queue N-1 of cluster C has its files and the stats file names N queues).
queues_up() { stat_is "$1" queues "$2" && [ -e "$RINGFAN_DIR/$1@$(($2 - 1)).cons" ]; }

# json_last FILE KEY: KEY of the last JSON object `ringfan count --json` printed.
json_last() { { grep -o "\"$2\":[0-9.]*" "$1" 2>/dev/null || true; } | tail -1 | cut -d: -f2; }
json_final() { grep -q '"final":true' "$1" 2>/dev/null; }

# A consumer on queue C@Q: ringfan count --json into $TMP/count.C.Q.N.json
# (N: its run, for restarts). Prints nothing; sets CPID.
CPID=
start_count() { # cluster queue run [extra count options]
	local c=$1 q=$2 n=$3
	shift 3
	"$RINGFAN" count -i "$c@$q" --json "$@" >"$TMP/count.$c.$q.$n.json" \
		2>"$TMP/count.$c.$q.$n.err" &
	CPID=$!
	bg_pid "$CPID"
}

# start_counts CLUSTER K [count options]: a `ringfan count` on each of queues
# 0..K-1; cons[Q] = its pid.
declare -A cons=()
start_counts() {
	local c=$1 k=$2 q
	shift 2
	for ((q = 0; q < k; q++)); do
		start_count "$c" "$q" 1 "$@"
		cons[$q]=$CPID
	done
}

# start_replay CLUSTER N PACKETS RING: the usual set-up. A generated capture
# of PACKETS packets in 400 flows (seed CLUSTER) in $TMP/in.pcap, EXPECTED
# from explain, and `ringfan balance` replaying it at a live pace (4000
# packets/s) into N queues of RING bytes (stderr in $TMP/bal.err, pid in
# bal); returns once the queues exist.
bal=
start_replay() {
	"$RINGFAN" gen -o "$TMP/in.pcap" --flows 400 --packets "$3" --seed "$1" -q ||
		fail "ringfan gen failed"
	expect_queues "$TMP/in.pcap" "$2"
	"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c "$1" -n "$2" --rate 4000 --ring-size "$4" \
		2>"$TMP/bal.err" &
	bal=$!
	bg_pid "$bal"
	wait_until 10 queues_up "$1" "$2"
}

# two_captures PACKETS FLOWS SEED N: $TMP/a.pcap and $TMP/b.pcap of PACKETS
# packets each (seeds SEED and SEED+1); EXPECTED[Q] = what queue Q of N
# gets of both.
two_captures() {
	local q
	local -A exp_a=()
	"$RINGFAN" gen -o "$TMP/a.pcap" --flows "$2" --packets "$1" --seed "$3" -q || fail "ringfan gen failed"
	"$RINGFAN" gen -o "$TMP/b.pcap" --flows "$2" --packets "$1" --seed $(($3 + 1)) -q ||
		fail "ringfan gen failed"
	expect_queues "$TMP/a.pcap" "$4"
	for ((q = 0; q < $4; q++)); do exp_a[$q]=${EXPECTED[$q]}; done
	expect_queues "$TMP/b.pcap" "$4"
	for ((q = 0; q < $4; q++)); do EXPECTED[$q]=$((EXPECTED[$q] + exp_a[$q])); done
}

# live_balancer NS IFACE CLUSTER N: `ringfan balance` on afpacket:IFACE inside
# NS (log in $TMP/bal.log, pid in bal) and a count on each of its N queues,
# which ends when it sees the balancer gone after its stop (a live source).
live_balancer() {
	ip netns exec "$1" "$RINGFAN" balance -i "afpacket:$2" -c "$3" -n "$4" --ring-size 4M \
		-l "$TMP/bal.log" 2>"$TMP/bal.err" &
	bal=$!
	bg_pid $bal
	wait_until 10 queues_up "$3" "$4"
	start_counts "$3" "$4" --exit-on-detach
}

# total_is CLUSTER N VALUE: the consumers of the N queues have read VALUE packets together.
total_is() {
	local q t=0 v
	for ((q = 0; q < $2; q++)); do
		v=$(qinfo "$1@$q" consumer_read)
		t=$((t + ${v:-0}))
	done
	[ "$t" == "$3" ]
}

# wait_lossy PID C: wait for the balancer of cluster C, a finite replay that
# lost packets on purpose: it ran to the end, and exits 1 saying how many.
wait_lossy() {
	local rc=0
	wait "$1" || rc=$?
	((rc == 1)) || fail "the balancer exited $rc, expected 1 (a finite run with losses): $(tail -3 "$TMP/bal.err")"
	grep -q "cluster $2 finished with losses: $(stat_of "$2" total.dropped) packets dropped" \
		"$TMP/bal.err" || fail "no losses line: $(tail -3 "$TMP/bal.err")"
}

# wait_ok PID WHAT: wait for a background process; fail unless it exited 0.
wait_ok() {
	local rc=0
	wait "$1" || rc=$?
	((rc == 0)) || fail "$2 exited $rc"
}

# The invariant, for every group: received = sum over its queues of (enqueued + dropped +
# filtered + deduplicated).
check_invariant() { # cluster
	local c=$1 g q first n sum rx
	for ((g = 0; g < $(stat_of "$c" groups); g++)); do
		first=$(stat_of "$c" "group.$g.first_queue")
		n=$(stat_of "$c" "group.$g.queues")
		sum=0
		for ((q = first; q < first + n; q++)); do
			sum=$((sum + $(stat_of "$c" "queue.$q.enqueued") + $(stat_of "$c" "queue.$q.dropped") +
				$(stat_of "$c" "queue.$q.filtered") + $(stat_of "$c" "queue.$q.deduplicated")))
		done
		rx=$(stat_of "$c" "group.$g.received")
		check_eq "$sum" "$rx" "cluster $c group $g: sum(enqueued + dropped + filtered + deduplicated) = received"
	done
}

# Print the figures per queue: expected (from explain), enqueued, delivered
# (DELIVERED[Q], set by the caller), dropped (full ring, nonsense cursor).
declare -A DELIVERED=()
print_figures() { # cluster nqueues
	local c=$1 n=$2 q
	info "figures of cluster $c: received $(stat_of "$c" total.received)"
	printf '# %-6s %9s %9s %9s %9s %9s\n' queue expected enqueued delivered drop_full drop_cursor
	for ((q = 0; q < n; q++)); do
		printf '# %-6s %9s %9s %9s %9s %9s\n' "$c@$q" "${EXPECTED[$q]:-?}" \
			"$(stat_of "$c" "queue.$q.enqueued")" "${DELIVERED[$q]:-?}" \
			"$(stat_of "$c" "queue.$q.dropped_full")" "$(stat_of "$c" "queue.$q.dropped_cursor")"
	done
}

# What each queue should get, independently of the balancer's counters:
# `ringfan explain` picks the queue of every packet of the capture.
declare -A EXPECTED=()
expect_queues() { # capture nqueues [mode]
	local q
	"$RINGFAN" explain -m "${3:-ip}" -n "$2" --json "$1" >"$TMP/explain.json" \
		2>"$TMP/explain.err" ||
		fail "ringfan explain failed on $1"
	for ((q = 0; q < $2; q++)); do
		EXPECTED[$q]=$(grep -c "\"queue\":$q," "$TMP/explain.json" || true)
	done
}
