#!/usr/bin/env bash
# The life cycle of a cluster's queues, seen by `ringfan count`:
#  - consumers started with (or before) the balancer attach with --wait, and
#    a lossless replay into them completes;
#  - a finished run says so at attach; by default the count reads what is
#    left and stops; --next-run skips the leftovers and reads the next run
#    only; --follow reads both and says that a new run began;
#  - a smaller -n removes the queues beyond it, and `count` says which
#    queues the cluster has;
#  - `ringfan clean` keeps clusters in use and removes stopped ones;
#  - `count --dir` reads the queue of the directory it names.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/count-helpers.bash"
need_cmd capinfos
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")

"$RINGFAN" gen -o "$TMP/a.pcap" --flows 60 --packets 3000 --seed 1 -q || fail "gen a"
"$RINGFAN" gen -o "$TMP/b.pcap" --flows 60 --packets 2000 --seed 2 -q || fail "gen b"
# The packets of capture $1 that queue $2 of $3 queues gets, as a pcap file $4.
split_of() {
	"$RINGFAN" balance -i "pcap:$1" -c 9 -n "$3" --dir "$TMP/ref" \
		$(for ((q = 0; q < $3; q++)); do echo "-r $q:pcap:$TMP/ref.$q.pcap"; done) ||
		fail "reference split of $1"
	mv "$TMP/ref.$2.pcap" "$4"
}
mkdir -m 0700 "$TMP/ref"
split_of "$TMP/a.pcap" 0 4 "$TMP/a.q0.pcap"
split_of "$TMP/a.pcap" 3 4 "$TMP/a.q3.pcap"
split_of "$TMP/b.pcap" 0 4 "$TMP/b.q0.pcap"

# ---- consumers first, then the balancer: all attach, the replay completes ----
for q in 0 1 2 3; do
	"$RINGFAN" count -i "29@$q" --wait=20 -q --json -w "$TMP/w.$q.pcap" >"$TMP/w.$q.json" \
		2>"$TMP/w.$q.err" &
	wpid[$q]=$!
	bg_pid "${wpid[$q]}"
done
sleep 0.2 # the counts are waiting for queues that do not exist yet
timeout 30 "$RINGFAN" balance -i "pcap:$TMP/a.pcap" -c 29 -n 4 --ring-size 64K 2>"$TMP/bal.err" ||
	fail "the lossless replay did not complete: $(cat "$TMP/bal.err")"
for q in 0 1 2 3; do
	wait "${wpid[$q]}" || fail "count --wait on 29@$q exited $?: $(cat "$TMP/w.$q.err")"
done
"${CMP[@]}" split "$TMP/a.pcap" "$TMP"/w.[0-3].pcap || fail "the waiting consumers' files"
info "ok: four consumers started before the balancer got every packet of a lossless replay"

# ---- a finished run: what a count does at attach and at the end ----
"$RINGFAN" balance -i "pcap:$TMP/a.pcap" -c 30 -n 4 2>/dev/null || fail "replay a into 30"
timeout 10 "$RINGFAN" count -i 30@0 -q -w "$TMP/left.pcap" 2>"$TMP/left.err" >/dev/null ||
	fail "count on a finished run did not stop: $(cat "$TMP/left.err")"
grep -Eq "queue 30@0: its run \(generation [0-9]+\) finished at [0-9:]+ \([0-9]+ s ago\) with $(pcap_packets "$TMP/a.q0.pcap") packets not yet read; reading them, then stopping" \
	"$TMP/left.err" || fail "no notice of the finished run: $(cat "$TMP/left.err")"
"${CMP[@]}" same "$TMP/a.q0.pcap" "$TMP/left.pcap" || fail "the finished run's leftovers"
info "ok: a count on a finished run says so, reads what is left and stops"

# --next-run waits for the next run and reads it only; --follow reads both.
"$RINGFAN" balance -i "pcap:$TMP/a.pcap" -c 31 -n 4 2>/dev/null || fail "replay a into 31"
"$RINGFAN" count -i 31@0 -q --next-run -w "$TMP/next.pcap" 2>"$TMP/next.err" >/dev/null &
npid=$!
"$RINGFAN" count -i 31@3 -q --follow --json -w "$TMP/follow.pcap" 2>"$TMP/follow.err" \
	>"$TMP/follow.json" &
fpid=$!
bg_pid $npid
bg_pid $fpid
wait_until 10 grep -q "skipping them, waiting for the next run" "$TMP/next.err"
wait_until 10 grep -q "end of the run" "$TMP/follow.err"
alive $npid || fail "count --next-run did not wait: $(cat "$TMP/next.err")"
"$RINGFAN" balance -i "pcap:$TMP/b.pcap" -c 31 -n 4 2>"$TMP/bal31.err" || fail "replay b into 31"
grep -q "queue 31@0: new generation (the previous run was finished)" "$TMP/bal31.err" ||
	fail "the balancer did not say it started a new generation: $(cat "$TMP/bal31.err")"
wait $npid || fail "count --next-run exited $?: $(cat "$TMP/next.err")"
"${CMP[@]}" same "$TMP/b.q0.pcap" "$TMP/next.pcap" || fail "--next-run: not exactly the new run"
wait_until 10 grep -q "queue 31@3: a new run (generation" "$TMP/follow.err"
split_of "$TMP/b.pcap" 3 4 "$TMP/b.q3.pcap"
file_has() { (($(pcap_packets "$1" 2>/dev/null || echo 0) >= $2)); }
wait_until 10 file_has "$TMP/follow.pcap" $(($(pcap_packets "$TMP/a.q3.pcap") + $(pcap_packets "$TMP/b.q3.pcap")))
stop_count $fpid
# The leftovers of run a, then run b, each in order.
diff <(pcap_records "$TMP/follow.pcap") <(pcap_records "$TMP/a.q3.pcap"; pcap_records "$TMP/b.q3.pcap") \
	>/dev/null || fail "--follow: not the rest of run a followed by run b"
info "ok: --next-run read only the new run, --follow both"

# ---- a smaller -n removes the queues beyond it ----
"$RINGFAN" balance -i "pcap:$TMP/a.pcap" -c 32 -n 4 2>/dev/null || fail "replay a into 32 -n 4"
"$RINGFAN" balance -i "pcap:$TMP/a.pcap" -c 32 -n 2 2>"$TMP/bal32.err" || fail "replay a into 32 -n 2"
grep -q "removed queue 32@3: it is beyond -n 2" "$TMP/bal32.err" || fail "no removal line: $(cat "$TMP/bal32.err")"
[ ! -e "$RINGFAN_DIR/32@2.ring" ] && [ ! -e "$RINGFAN_DIR/32@3.cons" ] ||
	fail "queues beyond -n 2 remain: $(ls "$RINGFAN_DIR")"
expect_fail 1 "no such queue 32@3: cluster 32 has queues 32@0 to 32@1" "$RINGFAN" count -i 32@3
expect_fail 1 "no such queue 33@0: cluster 33 has no queues in '$RINGFAN_DIR' \(is its balancer running\? --wait" \
	"$RINGFAN" count -i 33@0

# ---- clean: in-use clusters are kept, stopped ones removed ----
"$RINGFAN" count -i 32@0 -q --follow >/dev/null 2>&1 &
hold=$!
bg_pid $hold
attached() { [ "$(qinfo "$1" consumer_pid)" == "$2" ]; }
wait_until 10 attached 32@0 $hold
expect_fail 1 "kept cluster 32: process $hold is attached to queue 32@0 \(stop it first\)" \
	"$RINGFAN" clean -c 32
"$RINGFAN" clean >"$TMP/clean.out" 2>"$TMP/clean.err" || fail "clean: $(cat "$TMP/clean.err")"
grep -q "kept cluster 32" "$TMP/clean.err" || fail "clean did not say it kept 32"
grep -q "removed cluster 29: 4 queue(s)" "$TMP/clean.out" || fail "clean: $(cat "$TMP/clean.out")"
[ -z "$(ls "$RINGFAN_DIR" | grep -E '^(29|30|31)[@.]')" ] || fail "files left: $(ls "$RINGFAN_DIR")"
stop_count $hold
"$RINGFAN" clean -c 32 >/dev/null || fail "clean -c 32 after its consumer left"
check_eq "$(ls "$RINGFAN_DIR")" "" "files after cleaning everything"
expect_fail 1 "no files of cluster 32" "$RINGFAN" clean -c 32

# ---- count --dir reads the directory it names ----
mkdir -m 0755 "$TMP/other"
"$RINGFAN" balance -i "pcap:$TMP/b.pcap" -c 24 -n 4 --dir "$TMP/other" 2>/dev/null || fail "replay b into other"
"$RINGFAN" balance -i "pcap:$TMP/a.pcap" -c 24 -n 4 2>/dev/null || fail "replay a"
timeout 10 "$RINGFAN" count -i 24@0 --dir "$TMP/other" -q -w "$TMP/dir.pcap" 2>/dev/null >/dev/null ||
	fail "count --dir"
"${CMP[@]}" same "$TMP/b.q0.pcap" "$TMP/dir.pcap" || fail "count --dir read another queue"
echo "PASS"
