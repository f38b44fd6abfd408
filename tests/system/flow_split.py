#!/usr/bin/python3
# Flows split across pcap files, as tshark sees them, for the placement tests.
#
#   flow_split.py MODE FILE...     MODE: ip or 5tuple
#
# A flow is keyed as the balancer's mode keys it, from the outermost IP
# header as tshark dissects it: the sorted pair of addresses, and in 5tuple
# mode the protocol and, for TCP and UDP, the sorted endpoints with ports.
# Packets without IP, and non-first fragments (tied to their datagram by the
# fragment table, which the affinity tests check), are left out.
# Prints the flows per file, and exits 1 naming a flow found in two files.
import subprocess
import sys

FIELDS = ["ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto", "ipv6.nxt",
          "ip.frag_offset", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]


def keys(path, mode):
    args = ["tshark", "-r", path, "-n", "-o", "ip.defragment:FALSE", "-o",
            "ipv6.defragment:FALSE", "-T", "fields", "-E", "occurrence=f"]
    for f in FIELDS:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        src, dst = v["ip.src"] or v["ipv6.src"], v["ip.dst"] or v["ipv6.dst"]
        if not src or (v["ip.frag_offset"] not in ("", "0")):
            continue
        if mode == "ip":
            yield tuple(sorted((src, dst)))
            continue
        proto = v["ip.proto"] or v["ipv6.nxt"]
        # the outer header's ports: a tunnel's inner TCP must not stand in for outer UDP
        l4 = {"6": "tcp", "17": "udp"}.get(proto)
        sp = v[l4 + ".srcport"] if l4 else ""
        dp = v[l4 + ".dstport"] if l4 else ""
        if not sp:
            sp = dp = ""
        yield (proto,) + tuple(sorted(((src, sp), (dst, dp))))


def main():
    mode, files = sys.argv[1], sys.argv[2:]
    where = {}
    for i, path in enumerate(files):
        flows = set(keys(path, mode))
        print("%s: %d flows" % (path, len(flows)))
        for k in flows:
            if k in where and where[k] != i:
                print("flow %s is in %s and %s" % (k, files[where[k]], path))
                return 1
            where[k] = i
    print("%d flows, none split" % len(where))
    return 0


if __name__ == "__main__":
    sys.exit(main())
