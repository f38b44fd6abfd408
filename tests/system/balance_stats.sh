#!/usr/bin/env bash
# ringfan balance counters and `ringfan stats`: captures replayed into two
# groups (-n 2,3) with a consumer on every queue. Checks, per group,
# received = sum(enqueued + dropped), that every consumer received exactly
# what its queue's counters say, that lossless replay waits instead of
# dropping (small rings), that live-like replay drops and counts, the
# fanout invariant, and the JSON and text output of `ringfan stats`.
. "$(dirname "$0")/lib.sh"
need_pcaps
need_cmd awk

packets_in() { awk -F'\t' -v f="$1" '$1 == f { print $7 }' "$PCAPS/MANIFEST.tsv"; }

# received = sum over the group's queues of (enqueued + dropped + filtered + deduplicated),
# for every group
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
		check_eq "$rx" "$(stat_of "$c" total.received)" "cluster $c group $g received = sources' total"
	done
}

"$RINGFAN" count --help 2>/dev/null | grep -q -- --json || skip "ringfan count --json is not available"

# Start consumers on queues 0..n-1 of cluster c; their final JSON goes to $TMP/c.q.json.
consumers=()
start_consumers() { # cluster n
	local q
	consumers=()
	for ((q = 0; q < $2; q++)); do
		"$RINGFAN" count -i "$1@$q" -q --json >"$TMP/$1.$q.json" &
		bg_pid $!
		consumers+=($!)
	done
}
# Every consumer ends (its queue finished and drained) and got what the queue counted.
check_consumers() { # cluster n
	local q got p
	for p in "${consumers[@]}"; do
		wait "$p" || fail "consumer $p exited $?"
	done
	for ((q = 0; q < $2; q++)); do
		got=$(grep -o '"packets":[0-9]*' "$TMP/$1.$q.json" | tail -1 | cut -d: -f2)
		check_eq "$got" "$(stat_of "$1" "queue.$q.enqueued")" "cluster $1: consumer of queue $q got what was enqueued"
	done
}

# --- two files merged into one stream, -n 2,3, 5tuple ---
"$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap,pcap:$PCAPS/test.pcap" -c 20 -n 2,3 -m 5tuple \
	--ring-size 64K 2>"$TMP/b20.err" &
b=$!
bg_pid "$b"
wait_until 10 test -e "$RINGFAN_DIR/20.stats"
start_consumers 20 5
wait "$b" || fail "balancer exited $? ($(cat "$TMP/b20.err"))"
check_eq "$(stat_of 20 state)" finished "state when the files ended"
check_eq "$(stat_of 20 source.0.received)" "$(packets_in smtp.pcap)" "packets read from smtp.pcap"
check_eq "$(stat_of 20 source.1.received)" "$(packets_in test.pcap)" "packets read from test.pcap"
check_invariant 20
check_eq "$(stat_of 20 total.dropped)" 0 "drops in lossless replay"
check_consumers 20 5

# --- lossless replay waits for slow queues: 82k packets through 64 KiB rings ---
file=echo-connections.pcap
"$RINGFAN" balance -i "pcap:$PCAPS/$file" -c 21 -n 2,3 -m 5tuple --ring-size 64K \
	2>"$TMP/b21.err" &
b=$!
bg_pid "$b"
wait_until 10 test -e "$RINGFAN_DIR/21.stats"
start_consumers 21 5
wait "$b" || fail "balancer exited $? ($(cat "$TMP/b21.err"))"
check_eq "$(stat_of 21 total.received)" "$(packets_in $file)" "packets read from $file"
check_eq "$(stat_of 21 total.dropped)" 0 "drops in lossless replay through small rings"
check_invariant 21
check_consumers 21 5
# The rings were far smaller than what went through them: the replay waited.
bytes=$(stat_of 21 queue.0.bytes)
((bytes > 4 * 65536)) || fail "queue 0 carried only $bytes bytes: the test does not exercise waiting"

# --- a lossless replay waiting for a consumer that never comes keeps its stats
# current and still stops on SIGTERM ---
"$RINGFAN" balance -i "pcap:$PCAPS/$file" -c 24 -n 2 --ring-size 64K -p >"$TMP/p24.out" 2>/dev/null &
b=$!
bg_pid "$b"
# It says what it waits for: the stats file and -p name the queue.
wait_until 10 stat_is 24 state waiting
wait_until 10 test -n "$(stat_of 24 queue.0.enqueued)"
wq=$(stat_of 24 waiting_queue)
wait_until 5 grep -q "^ringfan balance: cluster 24, waiting for queue $wq's consumer (none attached), up" "$TMP/p24.out"
seq1=$(stat_of 24 seq)
wait_until 5 stat_gt 24 seq "$((seq1 + 1))"
rx1=$(stat_of 24 total.received)
((rx1 < $(packets_in $file))) || fail "the replay did not wait for the missing consumer"
check_eq "$(stat_of 24 total.dropped)" 0 "drops while waiting"
kill -TERM "$b"
wait "$b" || fail "waiting balancer exited $? on SIGTERM"
check_eq "$(stat_of 24 state)" stopped "state after SIGTERM while waiting"
grep -q "^ringfan balance: cluster 24, stopped, up" "$TMP/p24.out" || fail "no final -p block"
check_invariant 24

# --- live-like replay (--loop) never waits: no consumers, full rings drop and count ---
rc=0
"$RINGFAN" balance -i "pcap:$PCAPS/$file" -c 22 -n 2,1 -m ip --ring-size 64K --loop 1 \
	2>"$TMP/b22.err" || rc=$?
dropped=$(stat_of 22 total.dropped)
((dropped > 0)) || fail "live-like replay into full rings dropped nothing"
# A finite run that lost packets says so and fails.
check_eq "$rc" 1 "exit status of a finite replay that dropped"
grep -q "cluster 22 finished with losses: $dropped packets dropped (queue full $dropped," \
	"$TMP/b22.err" || fail "no losses line: $(cat "$TMP/b22.err")"
check_invariant 22
check_eq "$(stat_of 22 queue.2.dropped)" "$(stat_of 22 queue.2.dropped_full)" "drops are ring-full drops"

# --- paced replay: --rate and --speed take the time they should ---
elapsed_ms() { local s e; s=$(date +%s%N); "$@" 2>/dev/null || fail "$* failed"; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
ms=$(elapsed_ms "$RINGFAN" balance -i "pcap:$PCAPS/test.pcap" -c 25 -n 1 --rate 200)
((ms >= 800 && ms < 8000)) || fail "--rate 200 replayed 179 packets in $ms ms (expected about 900)"
check_eq "$(stat_of 25 total.received)" 179 "packets replayed with --rate"
# test.pcap spans 3.26 s: at --speed 4 about 0.8 s.
ms=$(elapsed_ms "$RINGFAN" balance -i "pcap:$PCAPS/test.pcap" -c 26 -n 1 --speed 4)
((ms >= 700 && ms < 8000)) || fail "--speed 4 replayed a 3.26 s capture in $ms ms (expected about 815)"
info "ok: --rate and --speed pace the replay"

# --- fanout: every queue of the group gets every packet ---
"$RINGFAN" balance -i "pcap:$PCAPS/test.pcap" -c 23 -n 3,1 -m fanout 2>/dev/null || fail "fanout run failed"
rx=$(stat_of 23 group.0.received)
for q in 0 1 2 3; do
	check_eq "$(($(stat_of 23 queue.$q.enqueued) + $(stat_of 23 queue.$q.dropped)))" "$rx" \
		"fanout: queue $q enqueued + dropped = group received"
done

# --- ringfan stats: JSON matches the file; text names the parts; all clusters listed ---
json=$("$RINGFAN" stats -c 21 --json)
if [ -x /usr/bin/python3 ]; then
	got=$(/usr/bin/python3 -c '
import json, sys
s = json.loads(sys.stdin.read())
ok = all(g["received"] == sum(q["enqueued"] + q["dropped"] + q["filtered"] + q["deduplicated"] for q in s["queues"] if q["group"] == g["group"]) for g in s["groups"])
print(s["cluster"], s["state"], s["alive"], s["totals"]["received"], len(s["queues"]), ok)' <<<"$json")
	check_eq "$got" "21 finished False $(packets_in $file) 5 True" "stats --json of cluster 21"
fi
grep -q "\"queue\":3,\"group\":1,\"enqueued\":$(stat_of 21 queue.3.enqueued)," <<<"$json" ||
	fail "JSON queue 3 does not match the stats file"
text=$("$RINGFAN" stats -c 21)
grep -q "^cluster 21: pid [0-9]*, finished, mode 5tuple" <<<"$text" || fail "text header: $text"
grep -q "group B (queues 2-4): received" <<<"$text" || fail "text lacks group B"
grep -q "pcap:$PCAPS/$file" <<<"$text" || fail "text lacks the source"
all=$("$RINGFAN" stats --json)
for c in 20 21 22 23 24 25 26; do
	grep -q "\"cluster\":$c," <<<"$all" || fail "stats without -c misses cluster $c"
done
[ "$(grep -o '"cluster":' <<<"$all" | wc -l)" == 7 ] || fail "stats without -c: not 7 clusters"
expect_fail 1 "cannot read stats file '$RINGFAN_DIR/77.stats': No such file" "$RINGFAN" stats -c 77
expect_fail 2 "unknown option '--bogus'" "$RINGFAN" stats --bogus
