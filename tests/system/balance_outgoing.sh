#!/usr/bin/env bash
# An interface source is receive-only: packets the host sends on the
# captured interface (its own IPv6 ND/MLD, anything sent from it) are not
# traffic to split. A veth pair in a namespace: tcpreplay sends one capture
# out of the captured end (outgoing there) and another into it from the
# peer (received there). The balancer gets only the received packets; with
# -X (--capture-outgoing, as zbalance_ipc's -X) it gets both.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd tcpreplay ip

ns=$(mk_netns out)
_netns+=("$ns") # mk_netns ran in a subshell: let cleanup know the namespace
nsx() { ip netns exec "$ns" "$@"; }
# No IPv6 on the peer: nothing but the replayed packets arrives on cap0.
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link add cap0 type veth peer name peer0
ip -n "$ns" link set cap0 up
ip -n "$ns" link set peer0 up

"$RINGFAN" gen -q -o "$TMP/out.pcap" --packets 200 --flows 10 --seed 1 || fail "ringfan gen failed"
"$RINGFAN" gen -q -o "$TMP/in.pcap" --packets 300 --flows 10 --seed 2 || fail "ringfan gen failed"

run() { # cluster expected [balance options]
	local c=$1 want=$2 b
	shift 2
	ip netns exec "$ns" "$RINGFAN" balance -i afpacket:cap0 -c "$c" -n 2 "$@" 2>"$TMP/bal.$c.err" &
	b=$!
	bg_pid $b
	wait_until 10 stat_is "$c" state running
	# Sent from cap0 first, then to it: when the second part has been counted, so has the first.
	nsx tcpreplay -q -i cap0 "$TMP/out.pcap" >/dev/null 2>&1 || fail "tcpreplay on cap0 failed"
	nsx tcpreplay -q -i peer0 "$TMP/in.pcap" >/dev/null 2>&1 || fail "tcpreplay on peer0 failed"
	wait_until 10 stat_ge "$c" source.0.received 300
	kill -TERM $b
	wait $b || fail "balancer exited $?: $(cat "$TMP/bal.$c.err")"
	check_eq "$(stat_of "$c" source.0.received)" "$want" "packets captured on cap0 ($*)"
	check_eq "$(stat_of "$c" group.0.received)" "$want" "packets dispatched ($*)"
}

run 50 300
info "ok: the 200 packets sent from cap0 were not captured, the 300 sent to it were"
run 51 500 -X
run 52 500 --capture-outgoing
info "ok: with -X / --capture-outgoing both directions are captured"
echo "PASS: interface sources capture received packets only, unless -X"
