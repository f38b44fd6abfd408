#!/usr/bin/env bash
# Attacks on a root balancer by the users who may consume its queues
# (doc/security.md):
#  - a group member truncating every queue file it can open, as fast as the
#    files appear, while the balancer starts again and again: the balancer
#    never dies (it used to, with a SIGBUS, before its guard covered the page);
#  - the user a queue's files belong to (--access owner=) truncating its
#    ring while it runs: that queue fails, counted; the others deliver all;
#  - per-queue groups (--access): a member of one application's group
#    cannot open another's queues; nobody but the balancer can write the
#    cursor of a queue its own egress reads in place, so a hostile member
#    cannot make the egress re-emit overwritten packets.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/users-helpers.bash"
. "$(dirname "$0")/fault-helpers.bash"
need_cmd capinfos
CMP=(/usr/bin/python3 "$TOP/tests/system/pcap_compare.py")

# ---- truncation at start-up ----
# As MEMBER: truncate every queue file of the directory the moment it is
# created, renamed, or changes mode; print how many it truncated.
as_bg "$MEMBER" /usr/bin/python3 -c '
import ctypes, os, signal, struct, sys
IN_ATTRIB, IN_CREATE, IN_MOVED_TO = 0x4, 0x100, 0x80
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
libc.inotify_add_watch(fd, sys.argv[1].encode(), IN_ATTRIB | IN_CREATE | IN_MOVED_TO)
done = 0
def report(*_):
    print("truncated", done, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, report)
print("watching", flush=True)
while True:
    buf = os.read(fd, 65536)
    off = 0
    while off < len(buf):
        wd, mask, cookie, n = struct.unpack_from("iIII", buf, off)
        name = buf[off + 16:off + 16 + n].rstrip(b"\0").decode()
        off += 16 + n
        if ".cons" in name or ".ring" in name:
            try:
                os.truncate(os.path.join(sys.argv[1], name), 0)
                done += 1
            except OSError:
                pass' "$RINGFAN_DIR" >"$TMP/trunc.out" 2>&1 &
tpid=$!
bg_pid $tpid
wait_until 5 grep -q watching "$TMP/trunc.out"
"$RINGFAN" gen -o "$TMP/in.pcap" --flows 100 --packets 3000 --seed 6 -q || fail "gen"
for i in 1 2 3 4 5 6 7 8; do
	mode=0640
	((i % 2)) && mode=0644 # readable by others: every user may write the page
	rc=0
	timeout 30 "$RINGFAN" balance -i "pcap:$TMP/in.pcap" -c 60 -n 16 --ring-size 64K --rate 50000 \
		--group "$GRP" --file-mode $mode 2>"$TMP/b60.$i.err" || rc=$?
	((rc == 0 || rc == 1)) || fail "start $i (mode $mode): the balancer exited $rc: $(tail -3 "$TMP/b60.$i.err")"
	((rc == 0)) || grep -q "cluster 60 finished with losses" "$TMP/b60.$i.err" ||
		fail "start $i: exit 1 without a losses line: $(tail -3 "$TMP/b60.$i.err")"
	"$RINGFAN" clean -q -c 60 || fail "clean after start $i"
done
kill -TERM $tpid
wait $tpid || true
info "the member's truncations: $(cat "$TMP/trunc.out" | tail -1)"
n=$(sed -n 's/^truncated //p' "$TMP/trunc.out")
((n > 0)) || fail "the truncating member never got a file: the test proves nothing"
info "ok: eight starts under a truncating group member, no crash"

# ---- the owner of a queue's files truncates its ring while it runs ----
"$RINGFAN" gen -o "$TMP/live.pcap" --flows 100 --packets 8000 --seed 7 -q || fail "gen"
"$RINGFAN" balance -i "pcap:$TMP/live.pcap" -c 61 -n 2 -m fanout --rate 4000 --ring-size 1M \
	--access "0:owner=$MEMBER" 2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
wait_until 10 queues_up 61 2
check_eq "$(stat -c %U "$RINGFAN_DIR/61@0.ring")" "$MEMBER" "owner of 61@0's ring"
check_eq "$(stat -c %U "$RINGFAN_DIR/61@1.ring")" root "owner of 61@1's ring"
start_count 61 1 1
wait_until 10 stat_ge 61 total.received 1000
as "$MEMBER" truncate -s 0 "$RINGFAN_DIR/61@0.ring" || fail "the owner could not truncate its ring"
info "truncated 61@0's ring as $MEMBER"
wait_lossy $bal 61
wait_ok $CPID "count on 61@1"
check_eq "$(json_last "$TMP/count.61.1.1.json" packets)" 8000 "packets delivered from 61@1"
(($(stat_of 61 queue.0.dropped_cursor) > 0)) || fail "the damaged queue counted no drops"
check_eq "$(stat_of 61 queue.1.dropped)" 0 "drops of 61@1"
info "ok: a truncated ring failed its queue only"

# ---- per-queue groups, and the balancer's own egress queue ----
mkdir -m 0700 "$TMP/refdir"
"$RINGFAN" balance -i "pcap:$TMP/live.pcap" -c 62 -n 2,1 -r "1:pcap:$TMP/ref1.pcap" \
	--dir "$TMP/refdir" 2>/dev/null || fail "reference split"
"$RINGFAN" balance -i "pcap:$TMP/live.pcap" -c 62 -n 2,1 --rate 4000 --ring-size 1M \
	-r "1:pcap:$TMP/q1.pcap" --access "0-1:group=$GRP" --access "2:group=$GRP2" \
	2>"$TMP/bal.err" &
bal=$!
bg_pid $bal
wait_until 10 queues_up 62 3
check_eq "$(stat -c '%G %a' "$RINGFAN_DIR/62@0.ring")" "$GRP 640" "group and mode of 62@0"
check_eq "$(stat -c '%U %a' "$RINGFAN_DIR/62@1.cons")" "root 600" "owner and mode of the egress queue's page"
check_eq "$(stat -c '%G %a' "$RINGFAN_DIR/62@2.cons")" "$GRP2 660" "group and mode of 62@2's page"
check_eq "$(write_tail "$OTHER" "$RINGFAN_DIR/62@0.cons" 0)" "Permission denied" \
	"$OTHER (group $GRP2) writing 62@0's cursor"
check_eq "$(write_tail "$OTHER" "$RINGFAN_DIR/62@2.cons" 0)" ok "$OTHER writing its own queue's cursor"
check_eq "$(write_tail "$MEMBER" "$RINGFAN_DIR/62@1.cons" 0)" "Permission denied" \
	"a member writing the cursor of the egress queue"
# A member rewinds the egress queue's cursor over and over, as it could before.
as "$MEMBER" /usr/bin/python3 -c '
import os, struct, sys, time
end = time.time() + 3
tries = 0
while time.time() < end:
    try:
        fd = os.open(sys.argv[1], os.O_RDWR)
        os.pwrite(fd, struct.pack("<Q", 0), 128)
        os.close(fd)
    except OSError:
        tries += 1
    time.sleep(0.001)
print("refused", tries)' "$RINGFAN_DIR/62@1.cons" >"$TMP/rewind.out" 2>&1
info "hostile member: $(cat "$TMP/rewind.out")"
wait $bal || true
"${CMP[@]}" same "$TMP/ref1.pcap" "$TMP/q1.pcap" || fail "the egress re-emitted what it should not have"
info "ok: per-queue groups; the egress queue is the balancer's alone"
echo "PASS"
