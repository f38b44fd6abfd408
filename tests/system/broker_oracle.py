#!/usr/bin/python3
# What a broker should have done to a capture, worked out from tshark's
# dissection, for the broker tests (filter, slice, strip, de-duplication).
#
#   broker_oracle.py copies IN USEC [OUT]
#       Frame numbers (one per line) of IN's packets that copy an earlier one
#       seen within USEC microseconds: the bytes of the outermost IP packet
#       (where tshark found it, as long as its length field says) compared
#       with the IPv4 TTL and checksum, or the IPv6 hop limit, set to zero;
#       a frame without IP is compared whole. The window starts at the first
#       copy. On stderr: how many, and how many of them differ from their
#       first copy in TTL or hop limit (a second SPAN port's copies do).
#       With OUT: IN without the copies is written there (a pcap file).
#   broker_oracle.py stripped IN OUT WHAT [OUT WHAT]...
#       Each OUT holds IN's packets in order with WHAT (tunnel, vlan, mpls, or a
#       list: ringfan balance --strip) removed, checked field by field: for
#       every frame, OUT's protocol stack is IN's from the Ethernet frame
#       its outermost VXLAN, Geneve, GRE or ERSPAN tunnel carries on
#       (tunnel), without the VLAN tags (vlan) or MPLS labels (mpls: a
#       pseudowire's frame) of that frame, and the innermost addresses,
#       ports and lengths agree. Frames
#       captured short, and ringfan gen's broken packets, that differ are
#       counted, not compared (tshark shows parts of headers ringfan's
#       decoder stops at).
#
# Exits 0 when every OUT agrees, 1 saying how they differ.
import json
import os
import subprocess
import sys
import tempfile

VLAN = {"vlan", "ieee8021ad"}
MPLS = {"mpls", "pwethheuristic", "pwethcw"}


def tshark_cmd(path, raw):
    # Not reassembled: each fragment is dissected as it is. Without duplicate
    # keys: a layer seen twice (outer and inner IP) is a list, outermost first.
    # Nor TCP streams: each packet stands alone, whatever came before (in
    # several files one after the other, the same segments come again).
    cmd = ["tshark", "-n", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-o",
           "tcp.analyze_sequence_numbers:FALSE", "-o", "tcp.desegment_tcp_streams:FALSE",
           "-r", path, "-T", "json", "--no-duplicate-keys", "-j",
           "frame eth ip ipv6 tcp udp arp icmp icmpv6"]
    return cmd + ["-x"] if raw else cmd


def tshark_json(*paths, raw=False):
    """Each file's packets as tshark's JSON layers (the files dissected at once)."""
    procs = [subprocess.Popen(tshark_cmd(p, raw), stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) for p in paths]
    out = []
    for path, proc in zip(paths, procs):
        data = proc.stdout.read()
        if proc.wait():
            sys.exit(f"tshark cannot read {path}")
        out.append([p["_source"]["layers"] for p in json.loads(data)])
    return out


def first_raw(layers, names):
    """(offset, raw bytes) of the first (outermost) layer among names, or None."""
    for key, val in layers.items():
        if key.endswith("_raw") and key[:-4] in names and isinstance(val, list):
            if isinstance(val[0], list):  # a layer seen more than once
                val = val[0]
            return int(val[1]), bytes.fromhex(val[0])
    return None


def ip_key(frame, layers):
    """The bytes two copies of a packet share (see the header)."""
    hit = first_raw(layers, ("ip", "ipv6"))
    if hit is None:
        return frame
    off, hdr = hit
    if hdr[0] >> 4 == 4:
        end = off + int.from_bytes(frame[off + 2:off + 4], "big")
        pkt = bytearray(frame[off:min(end, len(frame))] if end > off else frame[off:])
        pkt[8] = 0
        pkt[10:12] = b"\0\0"
    else:
        plen = int.from_bytes(frame[off + 4:off + 6], "big")
        pkt = bytearray(frame[off:min(off + 40 + plen, len(frame))] if plen else frame[off:])
        pkt[7] = 0
    return bytes(pkt)


def hop(frame, layers):
    hit = first_raw(layers, ("ip", "ipv6"))
    if hit is None:
        return None
    off, hdr = hit
    return frame[off + 8] if hdr[0] >> 4 == 4 else frame[off + 7]


def write_without(path, drop, out):
    """Write the pcap file path without the frames numbered in drop (a set) to out."""
    with open(path, "rb") as f:
        buf = f.read()
    endian = "<" if buf[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    keep, off, num = [buf[:24]], 24, 0
    while off + 16 <= len(buf):
        caplen = int.from_bytes(buf[off + 8:off + 12], "little" if endian == "<" else "big")
        num += 1
        if num not in drop:
            keep.append(buf[off:off + 16 + caplen])
        off += 16 + caplen
    with open(out, "wb") as f:
        f.write(b"".join(keep))


def cmd_copies(path, usec, out=None):
    window = int(usec) * 1000
    first = {}  # key -> (time ns, hop) of the first copy in the window
    copies, changed = [], 0
    for layers in tshark_json(path, raw=True)[0]:
        fr = layers["frame"]
        num = int(fr["frame.number"])
        sec, _, frac = fr["frame.time_epoch"].partition(".")
        ns = int(sec) * 10**9 + int((frac + "000000000")[:9])
        data = bytes.fromhex(layers["frame_raw"][0])
        key = ip_key(data, layers)
        h = hop(data, layers)
        seen = first.get(key)
        if seen and abs(ns - seen[0]) <= window:
            copies.append(num)
            changed += seen[1] != h
        else:
            first[key] = (ns, h)
    print("\n".join(map(str, copies)))
    print(f"copies {len(copies)}, with another TTL or hop limit {changed}", file=sys.stderr)
    if out:
        write_without(path, set(copies), out)


L4 = ("tcp", "udp", "sctp", "icmp", "icmpv6", "arp")


def stack(layers):
    """The protocols of a frame down to its innermost transport: above it, what tshark
    sees depends on the packets before (several files in a row repeat them)."""
    protos = [p for p in layers["frame"]["frame.protocols"].split(":") if p != "ethertype"]
    ends = [i for i, p in enumerate(protos) if p in L4]
    return protos[:ends[-1] + 1] if ends else protos


def first(layers, name):
    v = layers.get(name)
    return v[0] if isinstance(v, list) else v


def outer_fragment(layers):
    ip, ip6 = first(layers, "ip"), first(layers, "ipv6")
    # ip.flags: the 3 bits reserved, DF, MF.
    if ip and (int(ip.get("ip.flags", "0"), 16) & 1 or ip.get("ip.frag_offset", "0") != "0"):
        return True
    return bool(ip6 and "ipv6.fraghdr" in ip6)


def inner_stack(protos, frag, what):
    """IN's protocols as they must look once what (tunnel, vlan, mpls) is gone."""
    if "mpls" in what and "pwethcw" in protos:  # an Ethernet pseudowire's frame
        protos = protos[protos.index("pwethcw") + 1:]
    rest = protos
    if "tunnel" in what and not frag:
        # The frame the outermost VXLAN, Geneve, GRE or ERSPAN tunnel carries.
        for i, p in enumerate(protos):
            if p == "eth" and protos[i - 1] in ("vxlan", "geneve", "gre", "erspan"):
                rest = protos[i:]
                break
    # Tags and labels go from the delivered frame's header only, not from its payload.
    out, j = rest[:1], 1
    while j < len(rest) and rest[j] in VLAN:
        if "vlan" not in what:
            out.append(rest[j])
        j += 1
    while j < len(rest) and rest[j] in MPLS and "mpls" in what:
        j += 1
    return out + rest[j:]


def fields(layers, names):
    out = {}

    def walk(d):
        if isinstance(d, list):
            for v in d:
                walk(v)
        if not isinstance(d, dict):
            return
        for k, v in d.items():
            if k in names:
                out[k] = v[-1] if isinstance(v, list) else v  # the innermost one
            if isinstance(v, (dict, list)):
                walk(v)
    walk(layers)
    return out


INNER = ("ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
         "udp.srcport", "udp.dstport", "ip.len", "ipv6.plen", "ip.id", "tcp.seq_raw",
         "arp.src.proto_ipv4", "arp.dst.proto_ipv4", "icmp.type", "icmpv6.type")


def noise(layers):
    """ringfan gen's broken packets: source MAC 02:00:ee:00:00:01 (cut), :02 (malformed)."""
    eth = first(layers, "eth")
    return bool(eth) and eth.get("eth.src") in ("02:00:ee:00:00:01", "02:00:ee:00:00:02")


def packets(path):
    out = subprocess.run(["capinfos", "-c", "-M", "-T", "-r", path], capture_output=True,
                         text=True, check=True).stdout
    return int(out.split("\t")[-1])


def cmd_stripped(inp, pairs):
    outs, whats = pairs[::2], pairs[1::2]
    # One tshark for all the OUTs, one after the other (each tshark takes a while to start).
    with tempfile.TemporaryDirectory() as tmp:
        both = os.path.join(tmp, "outs.pcap")
        subprocess.run(["mergecap", "-a", "-F", "pcap", "-w", both] + outs, check=True)
        a, every = tshark_json(inp, both)
    bs = []
    for out in outs:
        n = packets(out)
        bs.append(every[:n])
        every = every[n:]
    ok = True
    for out, what, b in zip(outs, whats, bs):
        ok = check_stripped(inp, a, out, b, what) and ok
    if not ok:
        sys.exit(1)


def check_stripped(inp, a, out, b, what):
    if len(a) != len(b):
        print(f"{out}: {len(b)} packets, {inp} has {len(a)}")
        return False
    bad = cut = 0
    for i, (la, lb) in enumerate(zip(a, b), 1):
        want = inner_stack(stack(la), outer_fragment(la), what.split(","))
        got = stack(lb)
        fb = fields(lb, INNER)
        fa = fields(la, tuple(fb))  # the innermost of each field the frame still has
        if (got != want or fa != fb) and (la["frame"]["frame.cap_len"] != la["frame"]["frame.len"]
                                          or noise(la)):
            cut += 1  # tshark shows parts of headers ringfan's decoder stops at
        elif got != want or fa != fb:
            bad += 1
            if bad <= 5:
                print(f"frame {i}: {':'.join(stack(la))} became {':'.join(got)}"
                      f" (expected {':'.join(want)}); fields {fa} / {fb}")
    if bad:
        print(f"{out}: {bad} of {len(a)} frames differ from {inp}'s inner frames ({what})")
        return False
    print(f"{out}: the {len(a)} frames of {inp} with {what} stripped as tshark sees them"
          f" ({cut} cut short or broken inside their headers: not compared)")
    return True


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "copies":
        cmd_copies(*sys.argv[2:])
    elif len(sys.argv) >= 5 and len(sys.argv) % 2 == 1 and sys.argv[1] == "stripped":
        cmd_stripped(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(__doc__ if __doc__ else "usage: see the header of " + sys.argv[0])


main()
