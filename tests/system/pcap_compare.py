#!/usr/bin/python3
# Compare the packets of pcap files, for the egress and file-splitting tests.
#
#   pcap_compare.py same [--data-only] A B     same packets, same order
#   pcap_compare.py split IN OUT...            the OUTs together hold exactly IN's packets,
#                                              each OUT in IN's order
#   pcap_compare.py fanout IN OUT...           every OUT holds exactly IN's packets, in order
#   pcap_compare.py subseq IN OUT              OUT holds some of IN's packets, in IN's order
#   pcap_compare.py covers IN OUT...           every packet of IN is in some OUT (copies of a
#                                              packet in several OUTs allowed)
#   pcap_compare.py common IN OUT...           number of packets of the OUTs that are IN's
#   pcap_compare.py count FILE                 number of packets
#
# The files' link types must agree too (same, split, fanout).
# A packet is (timestamp in ns, caplen, wirelen, data); --data-only keeps
# (caplen, data), for captures taken on an interface. "In IN's order" allows
# one exception: an IP fragment that arrived before its datagram's first
# fragment may come later (the balancer holds it until it knows the flow).
# Fragments are recognised by tshark, so every tunnel it knows counts.
# Exits 0 when the files agree, 1 with a message saying how they differ.
import bisect
import collections
import hashlib
import struct
import subprocess
import sys

MAGICS = {
    0xA1B2C3D4: ("<", 1000),
    0xD4C3B2A1: (">", 1000),
    0xA1B23C4D: ("<", 1),
    0x4D3CB2A1: (">", 1),
}


def read(path, data_only=False):
    """List of packet keys of a pcap file (pcapng is not accepted)."""
    with open(path, "rb") as f:
        buf = f.read()
    endian, mult, _ = header(path, buf)
    rec = struct.Struct(endian + "IIII")
    out, off = [], 24
    while off + 16 <= len(buf):
        sec, frac, caplen, wirelen = rec.unpack_from(buf, off)
        off += 16
        if off + caplen > len(buf):
            sys.exit(f"{path}: record {len(out) + 1} cut short")
        digest = hashlib.sha1(buf[off : off + caplen]).hexdigest()
        off += caplen
        if data_only:
            out.append((caplen, digest))
        else:
            out.append((sec * 1000000000 + frac * mult, caplen, wirelen, digest))
    if off != len(buf):
        sys.exit(f"{path}: {len(buf) - off} bytes of a partial record at the end")
    return out


# Link type values that old writers used for LINKTYPE_RAW (101): the same thing.
LINKTYPE_ALIASES = {12: 101, 14: 101}


def header(path, buf):
    """(byte order, ns per timestamp unit, link type) of a pcap file's header."""
    if len(buf) < 24:
        sys.exit(f"{path}: not a pcap file ({len(buf)} bytes)")
    (magic,) = struct.unpack_from("<I", buf, 0)
    if magic not in MAGICS:
        sys.exit(f"{path}: not a pcap file (magic {magic:#x})")
    endian, mult = MAGICS[magic]
    return endian, mult, struct.unpack_from(endian + "I", buf, 20)[0]


def linktype(path):
    """The link type in a pcap file's header (aliases mapped to their LINKTYPE_*)."""
    with open(path, "rb") as f:
        lt = header(path, f.read(24))[2]
    return LINKTYPE_ALIASES.get(lt, lt)


def same_linktype(inp, outs):
    want = linktype(inp)
    for o in outs:
        got = linktype(o)
        if got != want:
            sys.exit(f"{o}: link type {got}, expected {want} as in {inp}")


def fragment_frames(path):
    """1-based numbers of the frames that are IP fragments (any layer)."""
    cmd = ["tshark", "-n", "-r", path, "-o", "ip.defragment:FALSE",
           "-o", "ipv6.defragment:FALSE",
           "-Y", "ip.flags.mf == 1 || ip.frag_offset > 0 || ipv6.fraghdr",
           "-T", "fields", "-e", "frame.number"]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return {int(x) for x in res.stdout.split()}


def late_packets(inp, out, name):
    """Frame numbers (in IN) of OUT's packets that come after a later packet of IN."""
    where = collections.defaultdict(list)
    for i, k in enumerate(inp):
        where[k].append(i)
    late, high = [], -1
    for k in out:
        idx = where[k]
        if not idx:
            sys.exit(f"{name}: a packet that is not in the input (or once too often): {k}")
        # A packet may occur more than once in the input: take the first copy
        # after the previous match, so duplicates do not look out of order.
        pos = bisect.bisect_left(idx, high)
        i = idx.pop(pos if pos < len(idx) else 0)
        if i < high:
            late.append(i + 1)
        high = max(high, i)
    return late


def check_order(in_path, inp, out, name, frags):
    late = late_packets(inp, out, name)
    if not late:
        return frags
    if frags is None:
        frags = fragment_frames(in_path)
    bad = [n for n in late if n not in frags]
    if bad:
        sys.exit(f"{name}: {len(bad)} packets out of input order, e.g. input frame {bad[0]}")
    return frags


def cmd_same(args):
    data_only = args[0] == "--data-only"
    if data_only:
        args = args[1:]
    same_linktype(args[0], args[1:2])
    a, b = read(args[0], data_only), read(args[1], data_only)
    if len(a) != len(b):
        sys.exit(f"{args[1]}: {len(b)} packets, expected {len(a)} as in {args[0]}")
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            sys.exit(f"packet {i + 1} differs: {args[0]} {x} vs {args[1]} {y}")
    print(f"same: {len(a)} packets")


def cmd_split(args):
    same_linktype(args[0], args[1:])
    inp = read(args[0])
    total, frags, per = collections.Counter(), None, []
    for o in args[1:]:
        out = read(o)
        per.append(len(out))
        total.update(out)
        frags = check_order(args[0], inp, out, o, frags)
    want = collections.Counter(inp)
    if total != want:
        missing = sum((want - total).values())
        extra = sum((total - want).values())
        sys.exit(f"outputs differ from the input: {missing} packets missing, {extra} extra")
    print(f"split: {len(inp)} packets -> {' + '.join(map(str, per))}")


def cmd_fanout(args):
    same_linktype(args[0], args[1:])
    inp = read(args[0])
    frags = None
    for o in args[1:]:
        out = read(o)
        if collections.Counter(out) != collections.Counter(inp):
            sys.exit(f"{o}: {len(out)} packets, not the input's {len(inp)}")
        frags = check_order(args[0], inp, out, o, frags)
    print(f"fanout: {len(inp)} packets in each of {len(args) - 1} outputs")


def cmd_subseq(args):
    inp, out = read(args[0]), read(args[1])
    if late_packets(inp, out, args[1]):
        sys.exit(f"{args[1]}: packets out of input order")
    print(f"subseq: {len(out)} of {len(inp)} packets")


def cmd_covers(args):
    inp = read(args[0])
    got = set()
    for path in args[1:]:
        got.update(read(path))
    missing = [p for p in inp if p not in got]
    sizes = " + ".join(str(len(read(p))) for p in args[1:])
    if missing:
        sys.exit(f"covers: {len(missing)} of {len(inp)} packets in none of {sizes}")
    print(f"covers: {len(inp)} packets, all in {sizes}")


def cmd_common(args):
    inp = set(read(args[0]))
    print(sum(1 for path in args[1:] for p in read(path) if p in inp))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__ if __doc__ else "usage: see the comment at the top")
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "same":
        cmd_same(args)
    elif cmd == "split":
        cmd_split(args)
    elif cmd == "fanout":
        cmd_fanout(args)
    elif cmd == "subseq":
        cmd_subseq(args)
    elif cmd == "covers":
        cmd_covers(args)
    elif cmd == "common":
        cmd_common(args)
    elif cmd == "count":
        print(len(read(args[0])))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
