#!/usr/bin/env bash
# `ringfan health`: the exit status and the one line per problem, for each
# problem alone (the other thresholds out of reach): all well (0); a
# consumer gone (1); a ring filling up (1); a queue dropping (1); drops and
# fill with the default thresholds (2: the fill is critical); the balancer
# gone (2); kernel drops rising on an interface (1) and a balancer that
# stopped writing (2), with the balancer stopped (SIGSTOP) while traffic
# arrives on a veth; no such cluster and bad options (3, the plugin
# convention's UNKNOWN).
. "$(dirname "$0")/lib.sh"
need_root
need_cmd tcpreplay ip

c=50

# health EXPECTED_STATUS EXPECTED_PROBLEM_LINES PATTERN [options...]: run a check; its
# status, its number of problem lines and its output (matching PATTERN) must be as said.
health() {
	local want=$1 lines=$2 pat=$3 rc=0 out n
	shift 3
	out=$("$RINGFAN" health "$@" 2>&1) || rc=$?
	n=$(($(wc -l <<<"$out") - 1))
	[ "$rc" == "$want" ] || fail "health $* exited $rc, expected $want: $out"
	[ "$n" == "$lines" ] || fail "health $* printed $n problem lines, expected $lines: $out"
	grep -qE -- "$pat" <<<"$out" || fail "health $* said '$out', expected /$pat/"
	info "ok: health $* -> $rc: $(tr '\n' '|' <<<"$out")"
}
# Thresholds no problem reaches, to look at one problem at a time.
never=(--interval 0.5 --gone-warn 1e9 --gone-crit 1e9 --fill-warn 100 --fill-crit 100
	--drops-warn 1e9 --drops-crit 1e9 --kernel-drops-warn 1e9 --kernel-drops-crit 1e9)

"$RINGFAN" gen -o "$TMP/in.pcap" --flows 64 --packets 4000 --seed 50 -q || fail "ringfan gen failed"
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c $c -n 3 --rate 1500 --loop 0 --ring-size 64K \
	2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
wait_until 10 stat_is $c state running
declare -a cons
for q in 0 1 2; do
	"$RINGFAN" count -i $c@$q -q >/dev/null 2>&1 &
	cons[$q]=$!
	bg_pid $!
done
attached() { stat_gt $c queue.0.consumer_pid 0 && stat_gt $c queue.1.consumer_pid 0 && stat_gt $c queue.2.consumer_pid 0; }
wait_until 10 attached

health 0 0 "^OK: cluster $c running \(pid $bal\): 3 queues, 3 consumers attached" -c $c --interval 0.5

# Queue 1 loses its consumer: its backlog grows until its ring is full, then it drops.
kill -9 "${cons[1]}"
wait "${cons[1]}" 2>/dev/null || true
wait_until 5 stat_is $c queue.1.consumer_pid 0
wait_until 5 stat_gt $c queue.1.backlog_bytes 16384
health 1 1 "^WARNING: consumer of queue $c@1 gone for [0-9]+s \(since .*; warning above 0.5s\)$" \
	-c $c "${never[@]}" --gone-warn 0.5
health 1 1 "^WARNING: ring of queue $c@1 is [0-9]+% full \([0-9,]+ of 65,536 bytes; warning above 10%\)$" \
	-c $c "${never[@]}" --fill-warn 10
wait_until 10 stat_gt $c queue.1.dropped_full 0
health 1 1 "^WARNING: queue $c@1 dropping [0-9.]+ packets/s \(full [0-9.]+/s, .*warning above 0/s\)$" \
	-c $c "${never[@]}" --drops-warn 0
# The default thresholds for drops (about 500/s: warning) and fill (critical) at once.
health 2 2 "^CRITICAL: cluster $c: critical 1, warning 1$" -c $c --interval 0.5 \
	--gone-warn 1e9 --gone-crit 1e9

kill -9 $bal
wait $bal 2>/dev/null || true
health 2 1 "^CRITICAL: the balancer of cluster $c is gone \(pid $bal, state running, last update [0-9]+s ago\)$" \
	-c $c

# --- kernel drops, and a balancer that stopped writing: an interface source, stopped ---
ns=$(mk_netns health)
_netns+=("$ns")
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add tx0 type veth peer name rx0
ip -n "$ns" link set tx0 up
ip -n "$ns" link set rx0 up
ip netns exec "$ns" "$RINGFAN" balance -i afpacket:rx0 -c 51 -n 1 --capture-ring-size 2M \
	2>"$TMP/bal51.err" &
b=$!
bg_pid $b
wait_until 10 stat_is 51 state running
"$RINGFAN" count -i 51@0 -q >/dev/null 2>&1 &
bg_pid $!
wait_until 10 stat_gt 51 queue.0.consumer_pid 0
kill -STOP $b
health 2 1 "^CRITICAL: the balancer of cluster 51 \(pid $b\) is alive but has not updated its counters" \
	-c 51 --interval 0.2 &
stuck=$!
ip netns exec "$ns" tcpreplay -q -i tx0 --topspeed --loop 20 "$TMP/in.pcap" >/dev/null 2>&1 ||
	fail "tcpreplay failed"
wait $stuck || fail "the check of the stopped balancer failed"
# The first snapshot is read while the balancer is stopped, the second after it resumes:
# health sleeps between its reads of the stats file only once it has the first one.
"$RINGFAN" health -c 51 "${never[@]}" --interval 1 --kernel-drops-warn 0 >"$TMP/kdrops.out" 2>&1 &
check=$!
sleeping() { grep -q nanosleep "/proc/$check/wchan" 2>/dev/null || ! [ -e "/proc/$check" ]; }
wait_until 5 sleeping
kill -CONT $b
rc=0
wait $check || rc=$?
out=$(cat "$TMP/kdrops.out")
check_eq "$rc" 1 "health status with kernel drops rising ($out)"
grep -qE "^WARNING: source afpacket:rx0: the kernel dropped [0-9.]+ packets/s \(warning above 0/s\)$" <<<"$out" ||
	fail "kernel drops not reported: $out"
stat_gt 51 source.0.kernel_drops 0 || fail "the test made no kernel drops"
info "ok: $(tr '\n' '|' <<<"$out")"

# --- UNKNOWN: nothing to check, or a bad command line ---
health 3 0 "^UNKNOWN: cannot read stats file '$RINGFAN_DIR/77.stats': No such file" -c 77
expect_fail 3 "unknown option '--bogus'" "$RINGFAN" health -c $c --bogus
expect_fail 3 "missing -c CLUSTER" "$RINGFAN" health
expect_fail 3 "bad value 'x' for --fill-warn" "$RINGFAN" health -c $c --fill-warn x
echo "PASS: ringfan health reports each problem with its status"
