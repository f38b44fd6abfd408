#!/usr/bin/env bash
# ringfan count's refusals: bad options and values, bad filters, missing or
# down interfaces, missing queues, no permission, unwritable -w files; and an
# interface that goes down and up again while counting.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/count-helpers.bash"
need_root
need_pcaps
need_cmd tcpreplay capinfos tcpdump setpriv
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"

# --help names every option.
help=$("$RINGFAN" count --help)
for o in --interface --filter --verbose --write --count --duration --json --quiet \
	--exit-on-detach --snaplen --no-promisc --capture-ring-size --cpu --wake-us --spin --help; do
	grep -q -- "$o" <<<"$help" || fail "--help does not document $o"
done
info "ok: --help documents every option"

# Usage errors: status 2, the message names the option or the filter.
expect_fail 2 "-i IFACE, -i pcap:FILE or -i CLUSTER@QUEUE is required" "$RINGFAN" count
expect_fail 2 "invalid value for -N/--count: 'abc'" "$RINGFAN" count -i lo -N abc
expect_fail 2 "invalid value for -N/--count: '0'" "$RINGFAN" count -i lo -N 0
expect_fail 2 "invalid value for --duration: 'soon'" "$RINGFAN" count -i lo --duration soon
expect_fail 2 "invalid value for -s/--snaplen: '10'" "$RINGFAN" count -i lo -s 10
expect_fail 2 "invalid value for --capture-ring-size: 'huge'" "$RINGFAN" count -i lo --capture-ring-size huge
expect_fail 2 "invalid value for -g/--cpu: 'x'" "$RINGFAN" count -i lo -g x
expect_fail 2 "invalid value for --wake-us: '0'" "$RINGFAN" count -i 1@0 --wake-us 0
expect_fail 2 "-g: CPU 1023 is not one this process may run on" "$RINGFAN" count -i lo -g 1023
expect_fail 2 "unknown option '--frobnicate'" "$RINGFAN" count -i lo --frobnicate
expect_fail 2 "missing value for option '-f'" "$RINGFAN" count -i lo -f
expect_fail 2 "unexpected argument 'tcp'" "$RINGFAN" count -i lo tcp
expect_fail 2 "invalid queue name '99@5000'" "$RINGFAN" count -i 99@5000
expect_fail 2 "invalid queue name 'ringfan:x'" "$RINGFAN" count -i ringfan:x
expect_fail 2 "invalid queue name '99@'" "$RINGFAN" count -i 99@
expect_fail 2 "invalid queue name '7@x'" "$RINGFAN" count -i 7@x
# -i takes the balancer's source syntax; other prefixes are no source.
expect_fail 2 "unknown source 'xdp:eth0' \(IFACE, afpacket:IFACE, pcap:FILE or CLUSTER@QUEUE\)" \
	"$RINGFAN" count -i xdp:eth0
expect_fail 2 "'zc:99@0' is how PF_RING names a queue; here it is -i 99@0" "$RINGFAN" count -i zc:99@0
expect_fail 2 "invalid value for -i: 'afpacket:'" "$RINGFAN" count -i afpacket:
expect_fail 2 "bad filter 'tcp port': .*syntax error" "$RINGFAN" count -i lo -f 'tcp port'

# Runtime errors: status 1.
ns=$(mk_netns err)
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
expect_fail 1 "no such interface 'eth9'$" ip netns exec "$ns" "$RINGFAN" count -i eth9
expect_fail 1 "no such interface 'eth9'$" ip netns exec "$ns" "$RINGFAN" count -i afpacket:eth9
# A capture file given as an interface: say how to name a file.
expect_fail 1 "no such interface '$PCAPS/test.pcap' \(to read a capture file, write -i pcap:$PCAPS/test.pcap\)" \
	ip netns exec "$ns" "$RINGFAN" count -i "$PCAPS/test.pcap"
expect_fail 1 "no such interface 'trace.pcap' \(to read a capture file, write -i pcap:trace.pcap\)" \
	ip netns exec "$ns" "$RINGFAN" count -i trace.pcap
expect_fail 1 "no such interface 'an-interface-name-far-too-long'" \
	ip netns exec "$ns" "$RINGFAN" count -i an-interface-name-far-too-long
ip -n "$ns" link add vdown type veth peer name vdown-peer
expect_fail 1 "interface 'vdown' is down" ip netns exec "$ns" "$RINGFAN" count -i vdown
expect_fail 1 "cannot capture on 'lo': Operation not permitted" \
	ip netns exec "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups "$RINGFAN" count -i lo
expect_fail 1 "no such queue 99@0" "$RINGFAN" count -i 99@0
expect_fail 1 "no such queue 99@1" "$RINGFAN" count -i ringfan:99@1
expect_fail 1 "cannot write '$TMP/no/such/dir/x.pcap'" \
	ip netns exec "$ns" "$RINGFAN" count -i lo -w "$TMP/no/such/dir/x.pcap"

# A full disk while writing: the message names the file, status 1, after
# the final summary.
mk_veth_pair
ip netns exec "$NS_RX" "$RINGFAN" count -i veth-rx -q -w /dev/full >"$TMP/full.out" 2>"$TMP/full.err" &
pid=$!
bg_pid "$pid"
wait_until 10 bound_at_least "$NS_RX" veth-rx 1
ip netns exec "$NS_TX" tcpreplay -q -i veth-tx --pps 5000 "$PCAPS/test.pcap" >/dev/null 2>&1
rc=0
wait "$pid" || rc=$?
check_eq "$rc" 1 "exit status on a full disk"
grep -q "cannot write '/dev/full': No space left on device" "$TMP/full.err" ||
	fail "full disk message: $(cat "$TMP/full.err")"
grep -q "^Absolute Stats" "$TMP/full.out" || fail "no final summary after a write error"
info "ok: full disk: $(cat "$TMP/full.err")"

# The interface goes down while counting: count says so, keeps waiting, and
# counts again when it comes back.
ip netns exec "$NS_RX" "$RINGFAN" count -i veth-rx --json >"$TMP/down.json" 2>"$TMP/down.err" &
pid=$!
bg_pid "$pid"
wait_until 10 bound_at_least "$NS_RX" veth-rx 1
want=$(pcap_packets "$PCAPS/smtp.pcap")
ip netns exec "$NS_TX" tcpreplay -q -i veth-tx --pps 5000 "$PCAPS/smtp.pcap" >/dev/null 2>&1
wait_until 10 json_last_is "$TMP/down.json" packets "$want"
ip -n "$NS_RX" link set veth-rx down
wait_until 10 grep -q "interface 'veth-rx' is down; waiting" "$TMP/down.err"
ip -n "$NS_RX" link set veth-rx up
ip netns exec "$NS_TX" tcpreplay -q -i veth-tx --pps 5000 "$PCAPS/smtp.pcap" >/dev/null 2>&1
wait_until 10 json_last_is "$TMP/down.json" packets $((2 * want))
kill -0 "$pid" || fail "count exited when the interface went down"
stop_count "$pid"
check_eq "$(json_last "$TMP/down.json" packets)" $((2 * want)) "packets before and after the interface was down"
info "ok: down/up: $(tr '\n' ' ' <"$TMP/down.err")"

# Deleting the interface ends the count (status 1) instead of waiting forever.
ip netns exec "$NS_RX" "$RINGFAN" count -i veth-rx -q >/dev/null 2>"$TMP/gone.err" &
pid=$!
bg_pid "$pid"
wait_until 10 bound_at_least "$NS_RX" veth-rx 1
ip -n "$NS_RX" link del veth-rx
rc=0
wait "$pid" || rc=$?
check_eq "$rc" 1 "exit status when the interface is deleted"
grep -q "interface 'veth-rx' is gone" "$TMP/gone.err" || fail "gone message: $(cat "$TMP/gone.err")"
