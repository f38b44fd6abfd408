#!/usr/bin/env bash
# Live capture through veth pairs: two captures replayed with tcpreplay into
# two interfaces (the two directions of a tap), merged by one balancer into
# -n 2,2 -m 5tuple. Group A (queues 0-1) is read with `ringfan count -w`,
# group B (queues 2-3) re-emitted with -r on veth pairs and captured with
# tcpdump. At a gentle rate: every packet arrives exactly once per group,
# every IP flow lands in exactly one queue of each group (flows taken from
# tshark's dissection of the outputs), and the counters add up.
. "$(dirname "$0")/lib.sh"
need_root
need_pcaps
need_cmd tcpreplay tcpdump tshark capinfos ip

in0=$PCAPS/test.pcap
in1=$PCAPS/smtp.pcap
ns=$(mk_netns live)
_netns+=("$ns") # mk_netns ran in a subshell: let cleanup know the namespace
nsx() { ip netns exec "$ns" "$@"; }

# No IPv6 (router solicitations, MLD): the kernel must add no packets.
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
for p in 0 1; do ip -n "$ns" link add tx$p type veth peer name rx$p; done
for p in 2 3; do ip -n "$ns" link add eg$p type veth peer name cap$p; done
for i in tx0 rx0 tx1 rx1 eg2 cap2 eg3 cap3; do ip -n "$ns" link set "$i" up; done

pcap_count() { capinfos -c -M "$1" 2>/dev/null | awk '/^Number of packets/ { print $NF }'; }
pcap_has() { [ "$(pcap_count "$1")" == "$2" ]; }

# Frames of a capture as MD5 sums of their bytes, sorted: a multiset to compare.
frames() { tshark -o frame.generate_md5_hash:TRUE -r "$1" -T fields -e frame.md5_hash 2>/dev/null; }

# "flow queue" for every IP packet of a queue's capture; the flow is the
# sorted address pair + protocol + sorted port pair of the outer IP header.
flows() { # file queue
	tshark -r "$1" -T fields -E occurrence=f -E separator=' ' -e ip.src -e ip.dst \
		-e ipv6.src -e ipv6.dst -e ip.proto -e ipv6.nxt -e tcp.srcport -e tcp.dstport \
		-e udp.srcport -e udp.dstport 2>/dev/null |
		awk -v q="$2" 'NF >= 3 {
			a = $1; b = $2; pr = $3; s = $4; d = $5
			if (a > b) { t = a; a = b; b = t }
			if (s + 0 > d + 0) { t = s; s = d; d = t }
			print a "-" b "-" pr "-" s "-" d, q }'
}

# The balancer captures in the namespace; queues are files, shared with the host.
# Background processes run through `ip netns exec` itself (it execs: $! is their pid).
ip netns exec "$ns" "$RINGFAN" balance -i afpacket:rx0,afpacket:rx1 -c 30 -n 2,2 -m 5tuple \
	-r 2:eg2 -r 3:eg3 2>"$TMP/bal.err" &
b=$!
bg_pid "$b"
wait_until 10 stat_is 30 state running

for q in 0 1; do
	# A stop of a live balancer is not the end: the counts end when they see it gone.
	"$RINGFAN" count -i "30@$q" -q -w "$TMP/q$q.pcap" --exit-on-detach >/dev/null 2>&1 &
	bg_pid $!
	eval "cnt$q=$!"
done
for q in 2 3; do
	ip netns exec "$ns" tcpdump -U -n -i cap$q -w "$TMP/q$q.pcap" 2>"$TMP/td$q.err" &
	bg_pid $!
	eval "td$q=$!"
done
wait_until 10 grep -q "listening on" "$TMP/td2.err"
wait_until 10 grep -q "listening on" "$TMP/td3.err"

ip netns exec "$ns" tcpreplay -q -i tx0 --pps 300 "$in0" >/dev/null 2>&1 &
r0=$!
nsx tcpreplay -q -i tx1 --pps 300 "$in1" >/dev/null 2>&1 || fail "tcpreplay on tx1 failed"
wait "$r0" || fail "tcpreplay on tx0 failed"
total=$(($(pcap_count "$in0") + $(pcap_count "$in1")))
wait_until 20 stat_is 30 total.received "$total"

# Group B's egresses have sent everything before we stop: nothing in flight.
wait_until 20 pcap_has "$TMP/q2.pcap" "$(stat_of 30 queue.2.enqueued)"
wait_until 20 pcap_has "$TMP/q3.pcap" "$(stat_of 30 queue.3.enqueued)"
kill -TERM "$b"
wait "$b" || fail "balancer exited $? ($(cat "$TMP/bal.err"))"
wait "$cnt0" || fail "count on queue 0 failed"
wait "$cnt1" || fail "count on queue 1 failed"
kill -INT "$td2" "$td3"
wait "$td2" "$td3" 2>/dev/null || true

# Counters.
check_eq "$(stat_of 30 source.0.received)" "$(pcap_count "$in0")" "packets captured on rx0"
check_eq "$(stat_of 30 source.1.received)" "$(pcap_count "$in1")" "packets captured on rx1"
check_eq "$(stat_of 30 total.kernel_drops)" 0 "kernel drops at a gentle rate"
check_eq "$(stat_of 30 total.dropped)" 0 "queue drops"
for g in 0 1; do
	check_eq "$(stat_of 30 group.$g.received)" "$total" "group $g received"
	check_eq "$(stat_of 30 group.$g.enqueued)" "$total" "group $g enqueued"
done
for q in 0 1 2 3; do
	check_eq "$(pcap_count "$TMP/q$q.pcap")" "$(stat_of 30 queue.$q.enqueued)" "queue $q output = enqueued"
done
for q in 2 3; do
	check_eq "$(stat_of 30 queue.$q.egress_sent)" "$(stat_of 30 queue.$q.enqueued)" "egress $q sent (final stats)"
	check_eq "$(stat_of 30 queue.$q.egress)" "eg$q" "egress $q target"
done

# Every packet exactly once per group.
{ frames "$in0"; frames "$in1"; } | sort >"$TMP/in.md5"
{ frames "$TMP/q0.pcap"; frames "$TMP/q1.pcap"; } | sort >"$TMP/a.md5"
{ frames "$TMP/q2.pcap"; frames "$TMP/q3.pcap"; } | sort >"$TMP/b.md5"
cmp -s "$TMP/in.md5" "$TMP/a.md5" || fail "group A did not get every packet exactly once: $(diff "$TMP/in.md5" "$TMP/a.md5" | head -5)"
cmp -s "$TMP/in.md5" "$TMP/b.md5" || fail "group B did not get every packet exactly once: $(diff "$TMP/in.md5" "$TMP/b.md5" | head -5)"
info "ok: each group got all $total packets exactly once"

# Every flow in exactly one queue of each group, and both queues of a group used.
for g in A B; do
	if [ $g == A ]; then qs="0 1"; else qs="2 3"; fi
	for q in $qs; do flows "$TMP/q$q.pcap" "$q"; done | sort -u >"$TMP/flows.$g"
	split=$(awk '{ n[$1]++ } END { for (f in n) if (n[f] > 1) print f }' "$TMP/flows.$g")
	[ -z "$split" ] || fail "group $g: flows split across queues: $split"
	nf=$(cut -d' ' -f1 "$TMP/flows.$g" | sort -u | wc -l)
	used=$(cut -d' ' -f2 "$TMP/flows.$g" | sort -u | wc -l)
	((nf >= 10)) || fail "group $g: only $nf flows seen"
	check_eq "$used" 2 "group $g: queues holding flows"
	info "ok: group $g: $nf flows, each in exactly one queue"
done
# Both groups hash alike (same mode, same queue count): same flow -> same position.
sed 's/ 2$/ 0/; s/ 3$/ 1/' "$TMP/flows.B" | sort >"$TMP/flows.B0"
sort "$TMP/flows.A" | cmp -s - "$TMP/flows.B0" || fail "group B does not mirror group A"
info "ok: group B places every flow as group A does"

# --- a balancer that falls behind never blocks the kernel: the kernel drops,
# the balancer reports it, and received + kernel drops = packets sent ---
ip netns exec "$ns" "$RINGFAN" balance -i afpacket:rx0 -c 31 -n 1 --capture-ring-size 2M \
	2>"$TMP/bal31.err" &
b=$!
bg_pid "$b"
wait_until 10 stat_is 31 state running
kill -STOP "$b"
loops=80
nsx tcpreplay -q -i tx0 --topspeed --loop $loops "$in0" >/dev/null 2>&1 || fail "tcpreplay failed"
kill -CONT "$b"
sent=$(($(pcap_count "$in0") * loops))
seen() { (($(stat_of 31 source.0.received) + $(stat_of 31 source.0.kernel_drops) == sent)); }
wait_until 20 seen
kill -TERM "$b"
wait "$b" || fail "balancer exited $? ($(cat "$TMP/bal31.err"))"
drops=$(stat_of 31 source.0.kernel_drops)
((drops > 0)) || fail "no kernel drops reported although the balancer was stopped"
check_eq "$(stat_of 31 group.0.received)" "$(stat_of 31 source.0.received)" "group 0 received after kernel drops"
info "ok: sent $sent, received $(stat_of 31 source.0.received), kernel drops $drops"
