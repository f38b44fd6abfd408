#!/usr/bin/env bash
# Threads by role and CPU pinning (zbalance_ipc's -g, pfcount's -g): a
# balancer with two egresses and --metrics has the threads rf-egress-0,
# rf-egress-2 and rf-metrics next to its own (named ringfan, as the
# process), as /proc/PID/task/*/comm says; -g puts its own thread on one
# CPU and --egress-cpus the egress threads on another, as taskset -p reads
# them, while rf-metrics keeps every CPU; count -g runs on its CPU.
. "$(dirname "$0")/lib.sh"
need_root
need_pcaps
need_cmd taskset
allowed=$(taskset -pc $$ | sed 's/.*: //')
cpus=$(/usr/bin/python3 -c 'import os; print(" ".join(map(str, sorted(os.sched_getaffinity(0)))))' 2>/dev/null ||
	true)
read -r cpu_a cpu_b _ <<<"$cpus"
[ -n "${cpu_b:-}" ] || skip "needs two CPUs to pin to (this process may use: $allowed)"

ns=$(mk_netns thr)
_netns+=("$ns") # mk_netns ran in a subshell: let cleanup know the namespace
c=57
ip netns exec "$ns" "$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" --loop 0 --rate 2000 -c $c -n 3 \
	-r "0:pcap:$TMP/q0.pcap" -r "2:pcap:$TMP/q2.pcap" --metrics 127.0.0.1:9572 \
	-g "$cpu_b" --egress-cpus "$cpu_a" 2>"$TMP/bal.err" &
pid=$!
bg_pid "$pid"
wait_until 10 stat_gt $c source.0.received 0

# The threads, by name (sorted), and the CPUs each may run on.
threads() {
	local t
	for t in /proc/"$pid"/task/*; do
		echo "$(cat "$t/comm") $(taskset -pc "${t##*/}" | sed 's/.*: //')"
	done | sort
}
threads >"$TMP/threads"
info "threads: $(tr '\n' ';' <"$TMP/threads")"
check_eq "$(awk '{ print $1 }' "$TMP/threads" | tr '\n' ' ')" "rf-egress-0 rf-egress-2 rf-metrics ringfan " \
	"thread names"
check_eq "$(awk '$1 == "ringfan" { print $2 }' "$TMP/threads")" "$cpu_b" "CPUs of the balancer thread (-g $cpu_b)"
check_eq "$(awk '$1 ~ /^rf-egress-/ { print $2 }' "$TMP/threads" | sort -u)" "$cpu_a" \
	"CPUs of the egress threads (--egress-cpus $cpu_a)"
check_eq "$(awk '$1 == "rf-metrics" { print $2 }' "$TMP/threads")" "$allowed" \
	"CPUs of the metrics thread (not pinned)"
grep -q "cluster $c: balancer thread on CPU $cpu_b" "$TMP/bal.err" || fail "no log line for -g: $(cat "$TMP/bal.err")"
# They work where they run: the egresses write, the metrics answer.
metrics_up() { ip netns exec "$ns" curl -sf http://127.0.0.1:9572/metrics | grep -q "^ringfan_balancer_up{cluster=\"$c\"} 1"; }
wait_until 10 metrics_up
wait_until 10 test -s "$TMP/q2.pcap"
kill -TERM "$pid"
wait "$pid" || fail "the balancer exited with $?"

# count -g: pinned before it opens its source (here waiting for a queue).
"$RINGFAN" count -i 58@0 --wait -q -g "$cpu_b" >/dev/null 2>&1 &
pid=$!
bg_pid "$pid"
wait_until 5 grep -q "^Cpus_allowed_list:[[:space:]]*$cpu_b\$" "/proc/$pid/status"
info "ok: count -g $cpu_b runs on CPU $cpu_b"
kill -TERM "$pid"
wait "$pid" || true # killed while it waits for the queue
