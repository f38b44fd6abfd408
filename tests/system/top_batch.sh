#!/usr/bin/env bash
# `ringfan top --batch`: a live-paced cluster (-n 2,1) whose queue 1 lost its
# consumer. Three tables half a second apart: queue 0 and 2 show their
# consumer's pid attached, queue 1 "gone since" and a backlog that grows;
# the source's rate is the replay's pace; group lines A and B; every line
# fits 80 columns; --sort backlog puts queue 1 first. Errors: no such
# cluster, no cluster at all, bad options, no terminal without --batch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/top-helpers.bash"

c=60
start_cluster $c
"$RINGFAN" top -c $c --batch --iterations 3 --delay 0.5 >"$TMP/top.txt" 2>"$TMP/top.err" ||
	fail "top --batch failed: $(cat "$TMP/top.err")"
check_eq "$(grep -c "^cluster $c (1 of 1), running, pid $bal, mode ip, up " "$TMP/top.txt")" 3 \
	"tables printed"
# The tables one by one.
awk -v d="$TMP/frame." '/^cluster [0-9]+ \(/ { n++ } { print > (d n) }' "$TMP/top.txt"
first=$(queue_line 1 <"$TMP/frame.1")
last=$(queue_line 1 <"$TMP/frame.3")
info "queue 1, first table: $first"
info "queue 1, last table:  $last"
grep -qE "gone since [0-9]{2}:[0-9]{2}:[0-9]{2}$" <<<"$last" || fail "queue 1's consumer not shown gone: $last"
b1=$(unhuman "$(backlog_of "$first")")
b3=$(unhuman "$(backlog_of "$last")")
((b3 > b1)) || fail "queue 1's backlog did not grow: $b1 then $b3"
info "ok: queue 1's backlog grew from $b1 to $b3 packets"
for q in 0 2; do
	grep -qE " ${cons[$q]} attached$" <<<"$(queue_line $q <"$TMP/frame.3")" ||
		fail "queue $q does not show consumer ${cons[$q]} attached: $(queue_line $q <"$TMP/frame.3")"
done
info "ok: queues 0 and 2 show their consumers attached"
src=$(grep "^pcap:$TMP/in$c.pcap" "$TMP/frame.3") || fail "no source line"
pps=$(unhuman "$(awk '{ print $2 }' <<<"$src")")
((pps >= 1000 && pps <= 3000)) || fail "source rate $pps pkt/s, the replay's pace is 2000: $src"
info "ok: source line: $src"
grep -qE "^A +0-1 " "$TMP/frame.3" && grep -qE "^B +2-2 " "$TMP/frame.3" || fail "group lines missing"
long=$(awk 'length($0) > 80' "$TMP/top.txt")
[ -z "$long" ] || fail "lines wider than 80 columns: $long"
# Sorted by backlog, queue 1 (no consumer) comes first.
"$RINGFAN" top -c $c --batch --iterations 1 --sort backlog >"$TMP/sorted.txt" || fail "top --sort backlog failed"
check_eq "$(awk '/^QUEUE/ { getline; print $1 }' "$TMP/sorted.txt")" 1 "first queue sorted by backlog"

expect_fail 1 "cannot read stats file '$RINGFAN_DIR/77.stats'" "$RINGFAN" top -c 77 --batch --iterations 1
mkdir "$TMP/empty"
expect_fail 1 "no clusters in $TMP/empty" "$RINGFAN" top --dir "$TMP/empty" --batch --iterations 1
expect_fail 2 "bad --sort 'bogus'" "$RINGFAN" top --batch --sort bogus
expect_fail 2 "bad --iterations '0'" "$RINGFAN" top --batch --iterations 0
expect_fail 2 "needs a terminal \(use --batch" "$RINGFAN" top -c $c </dev/null
echo "PASS: ringfan top --batch shows the gone consumer and its growing backlog"
