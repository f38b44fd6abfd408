#!/usr/bin/env bash
# ringfan balance: every bad input gives one message naming the thing and
# the documented exit status (2 usage, 1 runtime), and leaves nothing of the
# cluster behind (no queue, lock, stats or pid file).
. "$(dirname "$0")/lib.sh"
need_root
need_pcaps

pcap=$PCAPS/smtp.pcap
pidf=$TMP/bal.pid

# Nothing of cluster 99 may remain after a failed start.
check_clean() {
	local left
	left=$(queue_dir_files)
	[ -z "$left" ] || fail "files left behind after a failed start: $left"
	[ ! -e "$pidf" ] || fail "pid file left behind"
}

bad() { # status pattern args...
	local st=$1 pat=$2
	shift 2
	expect_fail "$st" "$pat" "$RINGFAN" balance "$@"
	check_clean
}

# Usage errors: 2.
bad 2 "unknown option '--frobnicate'" -i "pcap:$pcap" -c 99 -n 2 --frobnicate
bad 2 "unknown option '-z'" -i "pcap:$pcap" -c 99 -n 2 -z
bad 2 "unknown hash mode 'bogus'" -i "pcap:$pcap" -c 99 -n 2 -m bogus
bad 2 "egress '5:veth0': queue 5 out of range \(queues 0..4\)" \
	-i "pcap:$pcap" -c 99 -n 2,3 -r 5:veth0
bad 2 "bad queue number 'x' in egress 'x:veth0'" -i "pcap:$pcap" -c 99 -n 2 -r x:veth0
bad 2 "queue 1 already has an egress" -i "pcap:$pcap" -c 99 -n 2 -r 1:a -r 1:b
bad 2 "bad cluster id '70000'" -i "pcap:$pcap" -c 70000 -n 2
# Numbers are decimal: an octal or hex spelling is refused, never read as another number.
bad 2 "bad cluster id '031' \(decimal" -i "pcap:$pcap" -c 031 -n 2
bad 2 "bad cluster id '0x1f' \(decimal" -i "pcap:$pcap" -c 0x1f -n 2
bad 2 "bad queue count '02' in '-n 02'" -i "pcap:$pcap" -c 99 -n 02
bad 2 "bad queue number '0x1' in egress '0x1:veth0'" -i "pcap:$pcap" -c 99 -n 2 -r 0x1:veth0
bad 2 "bad queue count '0'" -i "pcap:$pcap" -c 99 -n 2,0
bad 2 "bad queue count '' in '-n 2,'" -i "pcap:$pcap" -c 99 -n 2,
bad 2 "empty item in source list" -i "pcap:$pcap,,pcap:$pcap" -c 99 -n 2
bad 2 "source 'afpacket:rfx0' is given twice" -i rfx0 -i afpacket:rfx0 -c 99 -n 2
bad 2 "missing -c CLUSTER" -i "pcap:$pcap" -n 2
bad 2 "missing -i SOURCE" -c 99 -n 2
bad 2 "missing -n N" -i "pcap:$pcap" -c 99
bad 2 "bad ring size '1000'" -i "pcap:$pcap" -c 99 -n 2 --ring-size 1000
bad 2 "unknown source 'xdp:eth0'" -i xdp:eth0 -c 99 -n 2
bad 2 "unknown user 'no-such-user-rf'" -i "pcap:$pcap" -c 99 -n 2 -D no-such-user-rf
bad 2 "bad file mode '999'" -i "pcap:$pcap" -c 99 -n 2 --file-mode 999
# --mode was the file mode here and the hash mode in explain: the message says which is which.
bad 2 "bad file mode '5tuple' \(octal, e.g. 0640\): the file mode is permissions; the hash mode is -m/--hash-mode" \
	-i "pcap:$pcap" -c 99 -n 2 --mode 5tuple
# zbalance_ipc's hash modes without an equivalent: what to write instead.
bad 2 "-m 3: zbalance_ipc's mode 3 .* is two groups here: -n 1,N-1 -m rr" -i "pcap:$pcap" -c 99 -n 4 -m 3
bad 2 "-m 7: zbalance_ipc's mode 7 .*EtherType.* has no equivalent.*use -m ip or -m 5tuple" \
	-i "pcap:$pcap" -c 99 -n 4 -m 7
bad 2 "unknown hash mode '8'" -i "pcap:$pcap" -c 99 -n 4 -m 8
# -p in the background prints nowhere without a log file: say where the counters are.
bad 2 "-p with -d prints nowhere \(a daemon has no terminal\): add -l FILE .*'ringfan stats -c 99'" \
	-i "pcap:$pcap" -c 99 -n 2 -p -d
# CPUs: numbers this process may run on, as taskset -c writes them.
bad 2 "bad CPU 'x' for -g" -i "pcap:$pcap" -c 99 -n 2 -g x
bad 2 "bad CPU list '1,,2' for --egress-cpus" -i "pcap:$pcap" -c 99 -n 2 --egress-cpus 1,,2
bad 2 "-g: CPU 1023 is not one this process may run on \(it may use [0-9,-]+\)" \
	-i "pcap:$pcap" -c 99 -n 2 -g 1023
bad 2 "--egress-cpus: CPU 1023 is not one this process may run on" \
	-i "pcap:$pcap" -c 99 -n 2 --egress-cpus 0,1023
bad 2 "missing value for option '-c'" -i "pcap:$pcap" -n 2 -c

# Config file errors name FILE:LINE.
conf=$TMP/bad.conf
printf '# a cluster\ninterface pcap:%s\n\ncluster 99\nfrobnicate 3\n' "$pcap" >"$conf"
bad 2 "bad.conf:5: unknown option 'frobnicate'" "$conf"
printf 'cluster 99\nqueues 2\nhash-mode bogus\n' >"$conf"
bad 2 "bad.conf:3: unknown hash mode 'bogus'" "$conf"
printf 'cluster\n' >"$conf"
bad 2 "bad.conf:1: option 'cluster' needs a value" "$conf"
printf 'daemon yes\n' >"$conf"
bad 2 "bad.conf:1: option 'daemon' takes no value" "$conf"
bad 1 "cannot open config file '$TMP/none.conf': No such file" "$TMP/none.conf"
bad 1 "cannot read config file '$TMP': Is a directory" "$TMP"

# Runtime errors: 1.
bad 1 "cannot open capture file '$TMP/none.pcap': No such file or directory" \
	-i "pcap:$TMP/none.pcap" -c 99 -n 2 -P "$pidf"
echo "not a capture" >"$TMP/text.pcap"
bad 1 "cannot read capture file '$TMP/text.pcap'" -i "pcap:$TMP/text.pcap" -c 99 -n 2 -P "$pidf"
bad 1 "cannot capture on interface 'rfnosuch0': no such interface" \
	-i afpacket:rfnosuch0 -c 99 -n 2 -P "$pidf"
# A capture file given as an interface: the message says how to name a file.
bad 1 "cannot capture on interface '$pcap': no such interface \(to read a capture file, write -i pcap:$pcap\)" \
	-i "$pcap" -c 99 -n 2 -P "$pidf"
(cd "$PCAPS" && expect_fail 1 "interface 'smtp.pcap': no such interface \(to read a capture file, write -i pcap:smtp.pcap\)" \
	"$RINGFAN" balance -i smtp.pcap -c 99 -n 2 -P "$pidf")
check_clean
# A failure after some sources opened also undoes them.
bad 1 "cannot capture on interface 'rfnosuch1'" -i "pcap:$pcap,rfnosuch1" -c 99 -n 2 -P "$pidf"

ns=$(mk_netns bad)
_netns+=("$ns") # mk_netns ran in a subshell: let cleanup know the namespace
ip -n "$ns" link add rfdown0 type veth peer name rfdown1
expect_fail 1 "cannot capture on interface 'rfdown0': interface is down" \
	ip netns exec "$ns" "$RINGFAN" balance -i rfdown0 -c 99 -n 2 -P "$pidf"
check_clean

# A daemon whose setup fails makes the starting command fail, with the message.
bad 1 "cannot capture on interface 'rfnosuch0'" -d -i rfnosuch0 -c 99 -n 2 -P "$pidf"

# Egress to a missing interface (checked when the egress starts, after the queues exist).
bad 1 "cannot start egress of queue 1 to 'rfnosuch2'" -i "pcap:$pcap" -c 99 -n 2 \
	-r 1:rfnosuch2 -P "$pidf"

# Too few descriptors for the queues: said at start, with what to raise (the
# balancer raises its soft limit to the hard one first).
expect_fail 1 "100 queues need about [0-9]+ open files, the limit is 64: raise it \(systemd: LimitNOFILE=, shell: ulimit -n\)" \
	bash -c 'ulimit -n 64 && exec "$0" "$@"' "$RINGFAN" balance -i "pcap:$pcap" -c 99 -n 100
check_clean

# A queue has one link type (with or without egresses); an interface takes Ethernet.
raw=$PCAPS/four_ipv6_http_streams.pcap
bad 1 "sources 'pcap:$pcap' \(EN10MB\) and 'pcap:$raw' \(RAW\) have different link types and cannot share queues" \
	-i "pcap:$pcap" -i "pcap:$raw" -c 99 -n 2 -r "0:pcap:$TMP/x.pcap" -P "$pidf"
bad 1 "sources 'pcap:$pcap' \(EN10MB\) and 'pcap:$raw' \(RAW\) have different link types" \
	-i "pcap:$pcap" -i "pcap:$raw" -c 99 -n 2 -P "$pidf"
bad 1 "cannot start egress of queue 0 to 'lo': an interface takes Ethernet frames, the source's link type is RAW" \
	-i "pcap:$raw" -c 99 -n 2 -r 0:lo -P "$pidf"

# --help documents every option with an example, and exits 0.
help=$("$RINGFAN" balance --help)
for o in --interface --cluster --queues --hash-mode --egress --print-stats --daemon \
	--pid-file --log-file --user --ring-size --capture-ring-size --owner --group --file-mode \
	--dir --rate --speed --loop --capture-outgoing --disable-offloads Example; do
	grep -q -- "$o" <<<"$help" || fail "--help does not mention $o"
done
info "ok: --help lists every option"
