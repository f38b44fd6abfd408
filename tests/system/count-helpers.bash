# Helpers for the `ringfan count` system tests (sourced after lib.sh).

# Packets and bytes (wire lengths) of a capture.
pcap_packets() { capinfos -c -M "$1" | awk -F': *' '/^Number of packets/ {print $2}'; }
pcap_bytes() { capinfos -d -M "$1" | awk -F': *' '/^Data size/ {print $2 + 0}'; }
# Packets of a capture that a BPF filter accepts, as tcpdump counts them.
pcap_filter_count() { tcpdump -r "$1" --count "$2" 2>/dev/null | awk '{print $1}'; }

# A veth pair between two fresh namespaces: NS_TX:veth-tx sends, NS_RX:veth-rx
# receives. IPv6 is off and no address is set, so the kernel sends nothing of
# its own on them; a large MTU lets tagged full-size frames through.
mk_veth_pair() {
	local ns
	need_cmd ip
	NS_TX=$(mk_netns tx)
	NS_RX=$(mk_netns rx)
	for ns in "$NS_TX" "$NS_RX"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null
	done
	ip -n "$NS_TX" link add veth-tx mtu 9000 type veth peer name veth-rx mtu 9000 netns "$NS_RX" ||
		skip "cannot create a veth pair"
	ip -n "$NS_TX" link set veth-tx up
	ip -n "$NS_RX" link set veth-rx up
}

# Number of packet sockets bound to interface $2 in namespace $1 and running.
bound_sockets() {
	local idx
	idx=$(ip netns exec "$1" cat "/sys/class/net/$2/ifindex")
	ip netns exec "$1" awk -v i="$idx" 'NR > 1 && $5 == i && $6 == 1' /proc/net/packet | wc -l
}
bound_at_least() { (($(bound_sockets "$1" "$2") >= $3)); }

# Field $2 of the last JSON object in file $1 (empty if none yet).
json_last() {
	/usr/bin/python3 -c '
import json, sys
last = None
for line in open(sys.argv[1]):
    if line.startswith("{"):
        last = json.loads(line)
print("" if last is None else last[sys.argv[2]])' "$1" "$2"
}
json_last_is() { [ "$(json_last "$1" "$2")" == "$3" ]; }

# Every line of the file must be a JSON object; the last one must be final.
json_check() {
	/usr/bin/python3 -c '
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert objs, "no JSON output"
assert objs[-1]["final"] is True, "last object is not final"
assert all(o["final"] is False for o in objs[:-1]), "final before the end"
for o in objs:
    for k in ("packets", "bytes", "dropped", "filtered", "pps", "bps"):
        assert k in o, "missing " + k
' "$1" || fail "JSON output of $1 is not as expected: $(head -c 600 "$1")"
}

# One line per packet of a pcap file: [timestamp in ns] caplen wirelen hex.
# With "ts" as second argument the timestamp is included.
pcap_records() { # file [ts]
	/usr/bin/python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
magic = d[:4]
if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"): e = "<"
elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"): e = ">"
else: sys.exit("not a pcap file: " + sys.argv[1])
mult = 1 if struct.unpack(e + "I", magic)[0] == 0xa1b23c4d else 1000
ts = len(sys.argv) > 2 and sys.argv[2] == "ts"
off = 24
while off + 16 <= len(d):
    s, f, cap, wire = struct.unpack(e + "IIII", d[off:off + 16])
    data = d[off + 16:off + 16 + cap]
    off += 16 + cap
    print((str(s * 1000000000 + f * mult) + " " if ts else "") + "%d %d %s" % (cap, wire, data.hex()))
' "$1" "${2:-}"
}

# Signal a running count and check it exited 0.
stop_count() {
	local rc=0
	kill -INT "$1"
	wait "$1" || rc=$?
	[ "$rc" == 0 ] || fail "count exited $rc after SIGINT"
}

# Write every packet of a raw-IP capture into tun device $1 (run it inside
# the device's namespace): the packets arrive on the device as received.
tun_feed() { # tun-name pcap
	/usr/bin/python3 -c '
import fcntl, os, struct, sys
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454ca, 0x0001, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", sys.argv[1].encode(), IFF_TUN | IFF_NO_PI))
d = open(sys.argv[2], "rb").read()
e = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
off = 24
while off + 16 <= len(d):
    cap = struct.unpack(e + "I", d[off + 8:off + 12])[0]
    os.write(fd, d[off + 16:off + 16 + cap])
    off += 16 + cap
' "$1" "$2"
}
