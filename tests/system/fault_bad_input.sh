#!/usr/bin/env bash
# Fault: bad input on every entry point of `ringfan balance` (and `count`).
#  - Every capture in $PCAPS (malformed, truncated, odd link types, pcapng,
#    nanosecond, tunnels, fragment sprays) and a `ringfan gen --truncated 20
#    --malformed 20 --all` capture, through the balancer (pcap: sources,
#    -m inner-5tuple, 4 queues with `ringfan count` consumers): no crash,
#    received = packets in the files, received = sum(enqueued + dropped),
#    every packet delivered, decode reasons add up to received.
#  - A few of them on the live path: tcpreplay into a veth in a namespace.
#  - Files that are not captures (random bytes, a cut file header, an empty
#    file, a directory): status 1, a message naming the file, nothing left in
#    RINGFAN_DIR. A capture cut inside a packet record: the whole packets
#    before the cut are delivered, a warning names the file.
#  - Bad option values and config files not already covered by
#    balance_badinput.sh, bad queue names and filters for count: status 2,
#    a message naming the value, nothing left behind.
. "$(dirname "$0")/lib.sh"
need_pcaps
need_cmd tcpdump tshark
. "$(dirname "$0")/fault-helpers.bash"

check_clean() { # what
	local left
	left=$(queue_dir_files)
	[ -z "$left" ] || fail "$1: files left in RINGFAN_DIR: $left"
}
# Packets in a capture (the whole ones, when it is cut), as tshark reads it.
frames() { { tshark -r "$1" -T fields -e frame.number 2>/dev/null || true; } | wc -l; }
packets_in() { awk -F'\t' -v f="$1" '$1 == f { print $7 }' "$PCAPS/MANIFEST.tsv"; }

# Run one balancer over sources "$@" (pcap:FILE...) with 4 consumers to the
# end, and check everything arrived. $want: packets expected from the files.
c=77
run_files() { # want label balance-args...
	local want=$1 label=$2 q sum=0 dsum=0 r bal
	shift 2
	c=$((c + 1))
	"$RINGFAN" balance "$@" -c $c -n 4 -m inner-5tuple --ring-size 1M 2>"$TMP/bal.$c.err" &
	bal=$!
	bg_pid $bal
	wait_until 10 queues_up $c 4
	declare -A cons=()
	for ((q = 0; q < 4; q++)); do
		start_count $c $q 1 -q
		cons[$q]=$CPID
	done
	r=0
	wait $bal || r=$?
	((r == 0)) || fail "$label: balancer exited $r: $(cat "$TMP/bal.$c.err")"
	for ((q = 0; q < 4; q++)); do
		wait_ok "${cons[$q]}" "$label: ringfan count on $c@$q"
		DELIVERED[$q]=$(json_last "$TMP/count.$c.$q.1.json" packets)
		sum=$((sum + DELIVERED[$q]))
		check_eq "${DELIVERED[$q]}" "$(stat_of $c queue.$q.enqueued)" "$label: delivered from $c@$q"
	done
	check_eq "$(stat_of $c total.received)" "$want" "$label: packets received"
	check_eq "$(stat_of $c total.dropped)" 0 "$label: drops (lossless replay)"
	check_eq $sum "$want" "$label: packets delivered"
	check_invariant $c
	for r in ok truncated malformed non_ip too_deep bad_linktype; do
		dsum=$((dsum + $(stat_of $c decode.$r)))
	done
	check_eq $dsum "$want" "$label: decode reasons add up"
	info "$label decode: $(grep '^decode\.' "$RINGFAN_DIR/$c.stats" | tr '\n' ' ')"
}

# ---- every capture of $PCAPS, at most 16 sources per balancer, one link type each ----
link_type_of() { awk -F'\t' -v f="$1" '$1 == f { print $8 }' "$PCAPS/MANIFEST.tsv"; }
srcs=()
want=0
batch=0
flush_batch() {
	((${#srcs[@]})) || return 0
	batch=$((batch + 1))
	run_files $want "captures batch $batch ($((${#srcs[@]} / 2)) files, $lt)" "${srcs[@]}"
	srcs=()
	want=0
}
mapfile -t link_types < <(for f in "$PCAPS"/*.pcap "$PCAPS"/*.pcapng; do
	[ -f "$f" ] && link_type_of "$(basename "$f")"; done | sort -u)
for lt in "${link_types[@]}"; do
	for f in "$PCAPS"/*.pcap "$PCAPS"/*.pcapng; do
		[ -f "$f" ] && [ "$(link_type_of "$(basename "$f")")" == "$lt" ] || continue
		n=$(packets_in "$(basename "$f")")
		[[ "$n" =~ ^[0-9]+$ ]] || fail "no packet count for $(basename "$f") in MANIFEST.tsv"
		srcs+=(-i "pcap:$f")
		want=$((want + n))
		((${#srcs[@]} < 32)) || flush_batch
	done
	flush_batch
done
((batch > 1)) || fail "the captures of $PCAPS have one link type only: the test expected several"

# ---- a generated capture full of cut and broken packets ----
"$RINGFAN" gen -o "$TMP/bad.pcap" --all --truncated 20 --malformed 20 --flows 300 \
	--packets 30000 --seed 77 -q || fail "ringfan gen failed"
run_files 30000 "gen --truncated 20 --malformed 20" -i "pcap:$TMP/bad.pcap"
bad=$(($(stat_of $c decode.truncated) + $(stat_of $c decode.malformed)))
((bad > 1000)) || fail "the generated capture gave only $bad truncated/malformed decodes"

# ---- captures that end inside a packet record ----
head -c 30000 "$PCAPS/smtp.pcap" >"$TMP/cut.pcap"
whole=$(frames "$TMP/cut.pcap")
((whole > 0)) || fail "tshark reads no packet of the cut capture"
run_files "$whole" "capture cut inside a record" -i "pcap:$TMP/cut.pcap"
grep -q "capture file '$TMP/cut.pcap': truncated" "$TMP/bal.$c.err" ||
	fail "no warning naming the cut capture: $(cat "$TMP/bal.$c.err")"
head -c 24 "$PCAPS/smtp.pcap" >"$TMP/header-only.pcap"
run_files 0 "capture with a file header only" -i "pcap:$TMP/header-only.pcap"
rm -f "$RINGFAN_DIR"/[0-9]*

# ---- files that are not captures: status 1, named, nothing left ----
head -c 4096 /dev/urandom >"$TMP/random.pcap"
head -c 10 "$PCAPS/smtp.pcap" >"$TMP/cut-header.pcap"
: >"$TMP/empty.pcap"
mkdir "$TMP/dir.pcap"
for f in random cut-header empty dir; do
	expect_fail 1 "capture file '$TMP/$f.pcap'" \
		"$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap,pcap:$TMP/$f.pcap" -c 90 -n 4 -P "$TMP/pid"
	check_clean "non-capture $f"
	[ ! -e "$TMP/pid" ] || fail "pid file left after a failed start"
done

# ---- option values and config files (others: balance_badinput.sh) ----
bad() { # status pattern args...
	local st=$1 pat=$2
	shift 2
	expect_fail "$st" "$pat" "$RINGFAN" balance "$@"
	check_clean "balance $*"
}
src=(-i "pcap:$PCAPS/smtp.pcap")
bad 2 "bad rate '-5'" "${src[@]}" -c 90 -n 4 --rate -5
bad 2 "bad rate 'abc'" "${src[@]}" -c 90 -n 4 --rate abc
bad 2 "bad speed '0'" "${src[@]}" -c 90 -n 4 --speed 0
bad 2 "bad loop count 'x'" "${src[@]}" -c 90 -n 4 --loop x
bad 2 "bad queue count '1025'" "${src[@]}" -c 90 -n 1025
bad 2 "bad cluster id '-1'" "${src[@]}" -c -1 -n 4
bad 2 "bad cluster id 'x'" "${src[@]}" -c x -n 4
bad 2 "bad ring size '3M'" "${src[@]}" -c 90 -n 4 --ring-size 3M
bad 2 "bad ring size '99999999999999999999'" "${src[@]}" -c 90 -n 4 --ring-size 99999999999999999999
bad 2 "bad capture ring size '1K'" "${src[@]}" -c 90 -n 4 --capture-ring-size 1K
bad 2 "bad file mode '12345'" "${src[@]}" -c 90 -n 4 --file-mode 12345
bad 2 "unknown group 'rf-no-such-group'" "${src[@]}" -c 90 -n 4 --group rf-no-such-group
bad 2 "unknown user 'rf-no-such-user'" "${src[@]}" -c 90 -n 4 --owner rf-no-such-user
bad 2 "-m 3: zbalance_ipc's mode 3 .* -n 1,N-1 -m rr" "${src[@]}" -c 90 -n 4 -m 3
bad 1 "cannot create directory '/nonexistent/rf'" "${src[@]}" -c 90 -n 4 --dir /nonexistent/rf
conf=$TMP/bad.conf
head -c 2000 /dev/urandom | tr -d '\n' >"$conf"
bad 2 "bad.conf:1" "$conf"
{ printf 'cluster 90\nqueues 4\ninterface pcap:%s\nring-size ' "$PCAPS/smtp.pcap"; head -c 5000 /dev/zero | tr '\0' 9; echo; } >"$conf"
bad 2 "bad.conf:4" "$conf"
printf 'cluster 90\nqueues 4\ninterface pcap:%s\ncluster 90 91\n' "$PCAPS/smtp.pcap" >"$conf"
bad 2 "bad.conf:4" "$conf"

# ---- count: bad queue names and filters (others: count_errors.sh) ----
# With the "ringfan:" prefix, numbers out of range, or a digit first and an
# '@' (no interface is named so): a bad queue name (2).
for name in ringfan: ringfan:99@ ringfan:@1 ringfan:99@-1 ringfan:abc@0 ringfan:99@0x \
	ringfan:99@1@2 70000@0 99@1024 99999999999999999999@0 99@ 99@0x; do
	expect_fail 2 "invalid queue name '$name'" "$RINGFAN" count -i "$name"
done
# Otherwise a name that is no queue name is taken for an interface (1).
for name in @1 abc@0 " 99@0"; do
	expect_fail 1 "no such interface '$name'" "$RINGFAN" count -i "$name"
done
# A filter is refused before attaching, also on a queue that exists.
"$RINGFAN" balance -i "pcap:$PCAPS/smtp.pcap" --loop 0 --rate 1000 -c 91 -n 1 2>/dev/null &
bal=$!
bg_pid $bal
wait_until 10 queues_up 91 1
for f in 'frobnicate' 'ip and' 'tcp port 99999' "$(printf 'tcp or %.0s' {1..3000})frobnicate"; do
	expect_fail 2 "bad filter" "$RINGFAN" count -i 91@0 -f "$f"
	check_eq "$(qinfo 91@0 consumer_pid)" 0 "consumer of 91@0 after a refused filter"
done
kill -TERM $bal
wait_ok $bal "balancer of cluster 91"
rm -f "$RINGFAN_DIR"/[0-9]*

# ---- the live path: a few of them through tcpreplay ----
if ((EUID == 0)) && command -v tcpreplay >/dev/null && command -v ip >/dev/null; then
	ns=$(mk_netns badin)
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$ns" link add fbtx type veth peer name fbrx
	ip -n "$ns" link set fbtx up
	ip -n "$ns" link set fbrx up
	c=95
	ip netns exec "$ns" "$RINGFAN" balance -i afpacket:fbrx -c $c -n 4 -m inner-5tuple \
		2>"$TMP/live.err" &
	bal=$!
	bg_pid $bal
	wait_until 10 queues_up $c 4
	declare -A lcons=()
	# A live source: the counts end when they see the balancer gone after its stop.
	for ((q = 0; q < 4; q++)); do
		start_count $c $q 1 -q --exit-on-detach
		lcons[$q]=$CPID
	done
	# What reaches the interface (the kernel drops frames a veth cannot carry:
	# shorter than an Ethernet header, longer than the MTU), seen by tcpdump.
	ip netns exec "$ns" tcpdump -n -i fbrx -Q in -U -w "$TMP/live-ref.pcap" 2>"$TMP/tcpdump.err" &
	tpid=$!
	bg_pid $tpid
	wait_until 10 grep -q "listening on" "$TMP/tcpdump.err"
	for f in "$TMP/bad.pcap" "$PCAPS/decode-too-small_test.pcap" "$PCAPS/ipv4_invalid_hdr_length.pcap" \
		"$PCAPS/ip6-ext-trunc.pcap" "$PCAPS/decode-too-many-layers_input.pcap" \
		"$PCAPS/tcp-session-decode-malformed-ipv4_input.pcap"; do
		ip netns exec "$ns" tcpreplay -q -i fbtx --pps 15000 "$f" >"$TMP/replay.log" 2>&1 ||
			fail "tcpreplay $f: $(cat "$TMP/replay.log")"
	done
	sleep 1
	kill -INT $tpid
	wait $tpid 2>/dev/null || true
	grep -q "^0 packets dropped by kernel" "$TMP/tcpdump.err" || fail "tcpdump dropped: $(cat "$TMP/tcpdump.err")"
	want=$(frames "$TMP/live-ref.pcap")
	((want > 25000)) || fail "only $want packets reached the interface"
	wait_until 15 stat_is $c total.received "$want"
	alive $bal || fail "live balancer died: $(cat "$TMP/live.err")"
	kill -TERM $bal
	wait_ok $bal "live balancer"
	sum=0
	for ((q = 0; q < 4; q++)); do
		wait_ok "${lcons[$q]}" "live: ringfan count on $c@$q"
		DELIVERED[$q]=$(json_last "$TMP/count.$c.$q.1.json" packets)
		sum=$((sum + DELIVERED[$q]))
	done
	# No expected split here (print_figures shows "?").
	# shellcheck disable=SC2034
	EXPECTED=()
	print_figures $c 4
	check_eq "$(stat_of $c total.received)" $want "live: packets captured"
	check_eq "$(stat_of $c total.dropped)" 0 "live: drops"
	check_invariant $c
	check_eq $sum $want "live: packets delivered"
	rm -f "$RINGFAN_DIR"/[0-9]*
else
	info "live path skipped: needs root, tcpreplay and ip"
fi
# ---- last, so that a failure here does not hide the checks above ----
# A directory given as the config file is not an empty config.
bad 1 "config file '$TMP'" "$TMP"
# Empty items in lists are errors, not skipped.
bad 2 "'(-n )?4,,2'" "${src[@]}" -c 90 -n 4,,2
bad 2 "'(-n )?4,'" "${src[@]}" -c 90 -n 4,
bad 2 "'(-n )?,4'" "${src[@]}" -c 90 -n ,4
bad 2 "'pcap:$PCAPS/smtp.pcap,,pcap:$PCAPS/smtp.pcap'" -i "pcap:$PCAPS/smtp.pcap,,pcap:$PCAPS/smtp.pcap" -c 90 -n 4
echo "PASS: bad input of every kind: no crash, every packet delivered, clear refusals"
