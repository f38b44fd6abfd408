#!/usr/bin/env bash
# AF_XDP source through what an interface capture must survive. One cluster
# on `afxdp:rx0` (a veth in a namespace), two `ringfan count` consumers that
# stay attached across balancer restarts, a part of generated traffic
# replayed after each event, and every part delivered:
#   0. libxdp's program left on rx0 without an owner (as a libxdp program
#      that was killed leaves it): refused, naming it and the command that
#      removes it, which works;
#   1. -D nobody: the balancer drops root after set-up and keeps capturing
#      (in skb XDP mode: the default on a veth);
#   2. a second balancer on rx0 is refused, naming the first (its pid);
#   3. rx0 down and up: state down, then running, capture resumes;
#   4. the XDP program detached by someone else (bpftool link detach)
#      under -D: the balancer attaches it again with the BPF link call on
#      the program it holds, where the kernel lets a process without
#      privileges do that (6.x does), else says once that it cannot (state
#      detached);
#   5. SIGTERM: the dropped-root balancer leaves no program on rx0;
#   6. as root: detached again, attached again by the balancer (state
#      detached, then running);
#   7. rx0 deleted and created again: gone, then captured anew;
#   8. SIGKILL: nothing is left attached (the kernel closed the BPF link),
#      rx0 passes traffic to the stack again, and the next start captures
#      at once (queues resumed), here in skb (generic) XDP mode.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd tcpreplay ip
. "$(dirname "$0")/fault-helpers.bash"
getent passwd nobody >/dev/null || skip "no user nobody"

c=42
n=2
ns=$(mk_netns xdplc)
_netns+=("$ns")
nsx() { ip netns exec "$ns" "$@"; }
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
mk_veth() {
	ip -n "$ns" link add tx0 type veth peer name rx0
	ip -n "$ns" link set tx0 up
	ip -n "$ns" link set rx0 up
}
mk_veth

part=400
parts=6
unseen=5 # the part sent while no balancer runs
declare -A want=()
for ((p = 1; p <= parts; p++)); do
	"$RINGFAN" gen -o "$TMP/p$p.pcap" --flows 40 --packets $part --seed $((420 + p)) -q ||
		fail "ringfan gen failed"
	((p == unseen)) && continue
	expect_queues "$TMP/p$p.pcap" $n
	for ((q = 0; q < n; q++)); do want[$q]=$((${want[$q]:-0} + EXPECTED[$q])); done
done

bal=
late3=0
start_bal() { # log [options]
	local log=$1
	shift
	ip netns exec "$ns" "$RINGFAN" balance -i afxdp:rx0 -c $c -n $n --disable-offloads \
		-l "$TMP/$log.log" "$@" 2>"$TMP/$log.err" &
	bal=$!
	bg_pid $bal
	wait_until 10 stat_is $c pid $bal
	wait_until 10 stat_is $c state running
}
read_total() {
	local q t=0 v
	for ((q = 0; q < n; q++)); do
		v=$(qinfo "$c@$q" consumer_read)
		t=$((t + ${v:-0}))
	done
	echo $t
}
total_is() { [ "$(read_total)" == "$1" ]; }
sent=0
replay() { # part
	nsx tcpreplay -q -i tx0 --pps 4000 "$TMP/p$1.pcap" >"$TMP/replay.log" 2>&1 ||
		fail "tcpreplay: $(cat "$TMP/replay.log")"
	sent=$((sent + part))
	wait_until 10 total_is $sent
	info "ok: part $1 delivered ($sent packets in all)"
}
logged() { grep -q "source afxdp:rx0: interface rx0 $2" "$TMP/$1.log"; }
prog_id() { ip -n "$ns" link show rx0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p'; }
no_prog() { [ -z "$(prog_id)" ]; }
# Detach the program's BPF link from outside, as an operator would.
detach_link() {
	local id
	id=$(nsx bpftool -j link show | /usr/bin/python3 -c '
import json, sys
print(next(l["id"] for l in json.load(sys.stdin) if l.get("prog_id") == int(sys.argv[1])))' "$(prog_id)") ||
		fail "no BPF link holds program $(prog_id)"
	nsx bpftool link detach id "$id" || fail "bpftool link detach id $id failed"
}

# 0. A program without an owner on rx0 (libxdp's own, attached as libxdp does: not a link).
obj=$(ls /usr/lib/*/bpf/xsk_def_xdp_prog.o 2>/dev/null | head -1)
if [ -n "$obj" ] && ip -n "$ns" link set dev rx0 xdp obj "$obj" sec xdp 2>/dev/null; then
	expect_fail 1 "its XDP hook is taken: XDP program 'xsk_def_prog' .*attached without an owner.*'ip link set dev rx0 xdp off' removes it" \
		ip netns exec "$ns" "$RINGFAN" balance -i afxdp:rx0 -c $c -n $n
	ip -n "$ns" link set dev rx0 xdp off
	no_prog || fail "the command the balancer gave did not remove the program"
else
	info "cannot attach libxdp's xsk_def_xdp_prog.o with ip link: step 0 left out"
fi

# 1. -D nobody.
start_bal a -D nobody
grep -q "source afxdp:rx0: AF_XDP on queue 0, skb XDP" "$TMP/a.err" "$TMP/a.log" ||
	fail "not in skb mode, the default on a veth: $(cat "$TMP/a.err" "$TMP/a.log")"
ip -n "$ns" link show rx0 | grep -q xdpgeneric || fail "no generic XDP program on rx0"
check_eq "$(awk '$1 == "Uid:" { print $2 }' "/proc/$bal/status")" "$(id -u nobody)" "uid after -D nobody"
start_counts $c $n
replay 1
balA=$bal

# 2. A second balancer on the same interface.
expect_fail 1 "its XDP hook is taken: XDP program 'xsk_def_prog' .*held by pid $balA \(.*balance -i afxdp:rx0 -c $c" \
	ip netns exec "$ns" "$RINGFAN" balance -i afxdp:rx0 -c $((c + 1)) -n 1
alive $balA || fail "the first balancer died"

# 3. Down and up.
ip -n "$ns" link set rx0 down
wait_until 10 stat_is $c source.0.state down
ip -n "$ns" link set rx0 up
wait_until 10 stat_is $c source.0.state running
logged a "is down" && logged a "is up again" || fail "no down/up lines: $(cat "$TMP/a.log")"
replay 2

# 4, 5. Detached by someone else, under -D; SIGTERM leaves nothing.
again_or_not() { logged a "has its XDP program again" || grep -q "cannot attach the XDP program" "$TMP/a.log"; }
if command -v bpftool >/dev/null; then
	detach_link
	wait_until 10 again_or_not
	logged a "lost its XDP program" || fail "no 'lost its XDP program' line: $(cat "$TMP/a.log")"
	if logged a "has its XDP program again; capturing again"; then
		info "ok: attached again after -D (the kernel lets the holder of the program link it)"
		wait_until 5 stat_is $c source.0.state running
		replay 3
	else
		grep -q "cannot attach the XDP program to interface rx0 again: permission denied" \
			"$TMP/a.log" || fail "not said why: $(cat "$TMP/a.log")"
		wait_until 5 stat_is $c source.0.state detached
		info "ok: under -D the kernel refuses to attach it again: state detached"
		sleep 0.6 # two more looks at the interface
		check_eq "$(grep -c "cannot attach the XDP program" "$TMP/a.log")" 1 "lines saying it cannot"
		late3=1 # sent once a balancer captures again
	fi
else
	info "bpftool is not installed: the detach steps are left out"
	replay 3
fi
kill -TERM $balA
wait_ok $balA "ringfan balance -D nobody (SIGTERM)"
no_prog || fail "an XDP program is left on rx0 after the stop of the -D balancer"
info "ok: after the stop under -D: no XDP program on rx0"

# 6. As root: detached, attached again.
start_bal b
no_prog && fail "no XDP program on rx0"
((late3)) && replay 3
if command -v bpftool >/dev/null; then
	detach_link
	wait_until 10 logged b "has its XDP program again; capturing again"
	logged b "lost its XDP program" || fail "no 'lost its XDP program' line: $(cat "$TMP/b.log")"
	check_eq "$(stat_of $c source.0.state)" running "state after the program was attached again"
fi

# 7. Deleted and created again.
ip -n "$ns" link del tx0
wait_until 10 stat_is $c source.0.state gone
mk_veth
wait_until 10 stat_is $c source.0.state running
logged b "is back; capturing again" || fail "no 'is back' line: $(cat "$TMP/b.log")"
replay 4

# 8. SIGKILL: the kernel closes the link; the interface is as before; the next start captures.
kill -KILL $bal
wait $bal 2>/dev/null || true
wait_until 5 no_prog
rx0() { nsx cat /sys/class/net/rx0/statistics/rx_packets; }
before=$(rx0)
nsx tcpreplay -q -i tx0 --pps 4000 "$TMP/p$unseen.pcap" >/dev/null 2>&1 || fail "tcpreplay failed"
check_eq "$(($(rx0) - before))" $part "packets the stack got on rx0 after the kill"
total_is $sent || fail "the consumers read packets while no balancer ran"
start_bal c --xdp-mode skb
grep -q "source afxdp:rx0: AF_XDP on queue 0, skb XDP" "$TMP/c.err" "$TMP/c.log" ||
	fail "not in skb mode: $(cat "$TMP/c.log")"
ip -n "$ns" link show rx0 | grep -q xdpgeneric || fail "no generic XDP program on rx0"
replay 6
kill -TERM $bal
wait_ok $bal "ringfan balance (SIGTERM)"
no_prog || fail "an XDP program is left on rx0 after the stop"
check_eq "$(read_total)" $((part * (parts - 1))) "packets delivered (all but the part sent while none ran)"
for ((q = 0; q < n; q++)); do
	check_eq "$(qinfo "$c@$q" consumer_read)" "${want[$q]}" "packets read from $c@$q (as explain splits them)"
done
check_eq "$(stat_of $c total.kernel_drops)" 0 "kernel drops of the last run"
echo "PASS: afxdp source through -D, a second capture, down/up, detach, re-creation, SIGKILL"
