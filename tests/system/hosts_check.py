#!/usr/bin/python3
# What the workers of a staged distribution (a first balancer sending over
# VXLAN to sensor hosts, each splitting again) got, for tunnel_hosts.sh.
#
#   hosts_check.py complete IN WORKER...
#       The workers' captures together hold exactly IN's frames that a tunnel
#       interface sends (see unsendable()), byte for byte, each worker's in
#       IN's order (a fragment held for its flow may come later).
#   hosts_check.py unsendable IN
#       How many frames of IN a tunnel interface does not send.
#   hosts_check.py flows WORKER...
#       tshark's TCP and UDP conversations of the workers' captures: each on
#       exactly one worker, except those that carry tunnels (GTP-U, Teredo,
#       CAPWAP, VXLAN, Geneve: several flows, each of which is on one worker).
#       ringfan gen's broken packets are left out (see NOT_NOISE).
#   hosts_check.py stream IN FRAMES WORKER...
#       FRAMES (a file, one frame number of IN per line) is what one sensor
#       was sent, in order; its workers got exactly that (what a tunnel
#       interface sends of it).
#   hosts_check.py gap IN FRAMES WORKER...
#       As stream, but the workers got all of it except one stretch (the
#       packets sent while the sensor's balancer was down). Prints it.
#   hosts_check.py restart IN FRAMES1 FRAMES2 W1 W1 W2 W2
#       Sensor 1 (FRAMES1, workers W1) was restarted: gap; sensor 2: stream.
#       Each conversation on one worker (as flows), and what sensor 1 lost
#       told by tshark's conversations (sent and received frames of each).
#
# Exits 0 when the captures agree, 1 saying how they differ.
import collections
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcap_compare  # noqa: E402

ETH_HLEN = 14
TUNNEL_PORTS = {"2152", "3544", "4789", "4790", "5247", "6081"}


def heads(path):
    """(caplen, first 64 bytes) of every frame of a pcap file."""
    with open(path, "rb") as f:
        buf = f.read()
    order = "big" if buf[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d") else "little"
    out, off = [], 24
    while off + 16 <= len(buf):
        caplen = int.from_bytes(buf[off + 8:off + 12], order)
        out.append((caplen, buf[off + 16:off + 16 + min(caplen, 64)]))
        off += 16 + caplen
    return out


def unsendable(caplen, head):
    """Shorter than an Ethernet header, or an IPv4/IPv6 header cut short behind the
    EtherType and any 802.1Q/802.1ad tags: an interface, a tunnel's, does not send it."""
    if caplen < ETH_HLEN:
        return True
    off = 12
    etype = int.from_bytes(head[off:off + 2], "big")
    while etype in (0x8100, 0x88a8) and off + 6 <= caplen:
        off += 4
        etype = int.from_bytes(head[off:off + 2], "big")
    return (etype == 0x0800 and caplen < off + 2 + 20) or (etype == 0x86dd and caplen < off + 2 + 40)


def sendable_mask(path):
    return [not unsendable(c, h) for c, h in heads(path)]


def records(path, numbers):
    """A pcap file of path's header and its frames numbered in numbers (a set)."""
    with open(path, "rb") as f:
        buf = f.read()
    order = "big" if buf[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d") else "little"
    out, off, num = [buf[:24]], 24, 0
    while off + 16 <= len(buf):
        end = off + 16 + int.from_bytes(buf[off + 8:off + 12], order)
        num += 1
        if num in numbers:
            out.append(buf[off:end])
        off = end
    return b"".join(out)


def late_not_fragments(inp, late):
    """Of IN's frames in late, those tshark does not call IP fragments (at any layer)."""
    with tempfile.NamedTemporaryFile(suffix=".pcap") as tmp:
        tmp.write(records(inp, set(late)))
        tmp.flush()
        frags = pcap_compare.fragment_frames(tmp.name)  # numbered in the small file
    return [n for i, n in enumerate(sorted(late), 1) if i not in frags]


def cmd_complete(inp, outs):
    every = pcap_compare.read(inp, data_only=True)
    want = [k for k, ok in zip(every, sendable_mask(inp)) if ok]
    total, sizes = collections.Counter(), []
    for o in outs:
        got = pcap_compare.read(o, data_only=True)
        sizes.append(len(got))
        total.update(got)
        # In IN's order, but for a fragment held until its datagram's first one came.
        bad = late_not_fragments(inp, pcap_compare.late_packets(every, got, o))
        if bad:
            sys.exit(f"{o}: {len(bad)} frames out of IN's order, e.g. frame {bad[0]}")
    if total != collections.Counter(want):
        missing = sum((collections.Counter(want) - total).values())
        extra = sum((total - collections.Counter(want)).values())
        sys.exit(f"workers differ from {inp}: {missing} frames missing, {extra} extra")
    print(f"complete: {len(want)} frames -> {' + '.join(map(str, sizes))}")


# ringfan gen's broken packets: keyed on what could be decoded, not on their flow.
NOT_NOISE = "!(eth.src == 02:00:ee:00:00:01 || eth.src == 02:00:ee:00:00:02)"


def conversations(paths):
    """Each file's conversations {"A:port B:port": frames}, the files read by tshark at once."""
    procs = [subprocess.Popen(["tshark", "-n", "-q", "-r", p, "-z", "conv,tcp," + NOT_NOISE,
                               "-z", "conv,udp," + NOT_NOISE], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for p in paths]
    out = []
    for p, proc in zip(paths, procs):
        text = proc.stdout.read()
        if proc.wait():
            sys.exit(f"tshark cannot read {p}")
        # addr <-> addr, frames bytes unit (each way), frames bytes unit (total), start, duration
        out.append({" ".join(t[0:3:2]): int(t[9]) for t in map(str.split, text.splitlines())
                     if len(t) == 14 and t[1] == "<->"})
    return out


def carries_tunnel(conv):
    return any(end.rsplit(":", 1)[-1] in TUNNEL_PORTS for end in conv.split())


def one_worker_each(outs, convs):
    """Each conversation on one worker (tunnels excepted); the tunnels that are not."""
    seen = collections.defaultdict(set)
    for o, cs in zip(outs, convs):
        for c in cs:
            seen[c].add(o)
    split = [c for c, where in seen.items() if len(where) > 1]
    carriers = [c for c in split if carries_tunnel(c)]
    bad = [c for c in split if not carries_tunnel(c)]
    if bad:
        sys.exit(f"{len(bad)} conversations on more than one worker, e.g. {bad[0]}: "
                 f"{sorted(seen[bad[0]])}")
    return len(seen), carriers


def cmd_flows(outs):
    n, carriers = one_worker_each(outs, conversations(outs))
    print(f"flows: {n} conversations, each on one worker "
          f"({len(carriers)} tunnels carrying several flows: {' '.join(sorted(carriers))})")


def stream_pcap(inp, frames_file, path):
    """Write what one sensor was sent (FRAMES of IN, sendable) to path."""
    ok = sendable_mask(inp)
    with open(frames_file) as f:
        numbers = {int(n) for n in f.read().split() if ok[int(n) - 1]}
    with open(path, "wb") as f:
        f.write(records(inp, numbers))


def cmd_restart(inp, to1, to2, outs1, outs2):
    """Sensor 1 restarted: one stretch lost, told by conversation; sensor 2 lost nothing."""
    cmd_stream(inp, to1, outs1, True)
    cmd_stream(inp, to2, outs2, False)
    with tempfile.TemporaryDirectory() as tmp:
        sent = [os.path.join(tmp, "to1.pcap"), os.path.join(tmp, "to2.pcap")]
        stream_pcap(inp, to1, sent[0])
        stream_pcap(inp, to2, sent[1])
        convs = conversations(sent + outs1 + outs2)
    one_worker_each(outs1 + outs2, convs[2:])
    for host, want, got in ((1, convs[0], convs[2:4]), (2, convs[1], convs[4:6])):
        have = collections.Counter()
        for g in got:
            have.update(g)
        short = {c: n - have[c] for c, n in want.items() if have[c] < n}
        gone = [c for c in short if not have[c]]
        print(f"sensor {host}: of the {len(want)} conversations sent to it, {len(short)} lost "
              f"frames ({len(gone)} all of them)")
        if host == 2 and short:
            sys.exit(f"sensor 2 lost frames of {len(short)} conversations, e.g. {next(iter(short))}")
        if host == 1 and not short:
            sys.exit("sensor 1 lost no conversation's frames: the restart was not in the run")


def cmd_stream(inp, frames_file, outs, gap):
    frames, ok = pcap_compare.read(inp, data_only=True), sendable_mask(inp)
    with open(frames_file) as f:
        stream = [frames[int(n) - 1] for n in f.read().split() if ok[int(n) - 1]]
    workers = [pcap_compare.read(o, data_only=True) for o in outs]
    sent, got = collections.Counter(stream), collections.Counter()
    for w in workers:
        got.update(w)
    if got - sent:
        sys.exit(f"workers hold {sum((got - sent).values())} frames not sent to their sensor")
    if not gap:
        if got != sent:
            sys.exit(f"workers lack {sum((sent - got).values())} of the {len(stream)} frames")
        print(f"stream: all {len(stream)} frames")
        return
    # Where the loss is: frames sent once only (identical ones cannot be told apart), each
    # worker's in the order sent.
    once = {k for k, n in sent.items() if n == 1}
    index = {k: i for i, k in enumerate(stream) if k in once}
    missing = sorted(index[k] for k in once if not got[k])
    for o, w in zip(outs, workers):
        seq = [index[k] for k in w if k in once]
        if seq != sorted(seq):
            sys.exit(f"{o}: frames out of the order sent")
    if not missing:
        sys.exit(f"nothing of the {len(stream)} frames was lost: the restart was not in the run")
    first, last = missing[0], missing[-1]
    if last - first + 1 != len(missing) + sum(1 for k in stream[first:last + 1] if k not in once):
        sys.exit(f"lost {len(missing)} frames, not in one stretch: {first + 1}..{last + 1}")
    lost = sum((sent - got).values())
    print(f"gap: lost frames {first + 1}..{last + 1} of the {len(stream)} sent to the sensor "
          f"({lost}, {100.0 * lost / len(stream):.1f}%), all others delivered")


def main():
    a = sys.argv
    if len(a) >= 4 and a[1] == "complete":
        cmd_complete(a[2], a[3:])
    elif len(a) == 3 and a[1] == "unsendable":
        print(sendable_mask(a[2]).count(False))
    elif len(a) >= 3 and a[1] == "flows":
        cmd_flows(a[2:])
    elif len(a) >= 5 and a[1] in ("stream", "gap"):
        cmd_stream(a[2], a[3], a[4:], a[1] == "gap")
    elif len(a) == 9 and a[1] == "restart":
        cmd_restart(a[2], a[3], a[4], a[5:7], a[7:9])
    else:
        sys.exit("usage: see the header of " + a[0])


main()
