#!/usr/bin/env bash
# Queues on huge pages (doc/performance.md, "Queues on huge pages"): the
# queue directory is the root of a tmpfs mounted with huge=within_size, as
# the man page shows. The balancer accepts it, its rings and a consumer's
# read-only view of them are mapped with 2 MiB pages (ShmemPmdMapped in
# /proc/PID/smaps: the ring's layout keeps its data on huge-page bounds),
# and a paced lossless replay through them arrives whole and byte-identical.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/count-helpers.bash"
need_root
[ -x /usr/bin/python3 ] || skip "needs /usr/bin/python3"
[ -d /sys/kernel/mm/transparent_hugepage ] || skip "the kernel has no transparent huge pages"
grep -qx '\[deny\]\|.*\[deny\].*' /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null &&
	skip "huge pages on tmpfs are denied (shmem_enabled)"

RINGFAN_DIR=$TMP/q
mkdir "$RINGFAN_DIR"
mount -t tmpfs -o mode=0755,nosuid,nodev,noexec,huge=within_size ringfan-test "$RINGFAN_DIR" ||
	skip "cannot mount a tmpfs with huge=within_size"
umount_q() { umount "$RINGFAN_DIR" 2>/dev/null || true; }
trap 'umount_q; cleanup' EXIT

packets=30000
"$RINGFAN" gen -o "$TMP/in.pcap" --flows 300 --packets $packets --size 300 >/dev/null 2>&1 ||
	fail "ringfan gen failed"

# Two consumers wait for their queues; the balancer replays the file at
# 20,000 packets/s (1.5 s), waiting for full queues (a file replay is
# lossless), then ends; each count ends at the end of its queue.
cpids=()
for q in 0 1; do
	"$RINGFAN" count -i "33@$q" --wait --stop-at-end --json -w "$TMP/out$q.pcap" \
		>"$TMP/count$q.json" 2>"$TMP/count$q.err" &
	cpids+=($!)
	bg_pid $!
done
"$RINGFAN" balance -i "pcap:$TMP/in.pcap" --rate 20000 -c 33 -n 2 -m 5tuple 2>"$TMP/bal.err" &
bal=$!
bg_pid $bal

# pmd_kb PID RING: kB of RING mapped with huge pages in PID's address space.
pmd_kb() {
	awk -v f="$RINGFAN_DIR/$2" '
		/^[0-9a-f]+-[0-9a-f]+ / { m = ($NF == f) }
		m && $1 == "ShmemPmdMapped:" { kb += $2 }
		END { print kb + 0 }' "/proc/$1/smaps" 2>/dev/null || echo 0
}
huge_mapped() { (($(pmd_kb "$1" "$2") >= 2048)); }
wait_until 10 huge_mapped $bal 33@0.ring
wait_until 10 huge_mapped $bal 33@1.ring
wait_until 10 huge_mapped "${cpids[0]}" 33@0.ring
wait_until 10 huge_mapped "${cpids[1]}" 33@1.ring
info "balancer: $(pmd_kb $bal 33@0.ring) kB of 33@0.ring on huge pages; count: $(pmd_kb "${cpids[0]}" 33@0.ring) kB"

wait $bal || fail "balancer exited $?: $(tail -3 "$TMP/bal.err")"
for q in 0 1; do
	wait "${cpids[$q]}" || fail "count on 33@$q exited $?: $(cat "$TMP/count$q.err")"
	json_check "$TMP/count$q.json"
	check_eq "$(json_last "$TMP/count$q.json" dropped)" 0 "count on 33@$q: dropped"
done

# Byte-identical: the two queues' records are the input's, each once.
pcap_records "$TMP/in.pcap" | sort >"$TMP/in.rec"
{ pcap_records "$TMP/out0.pcap"; pcap_records "$TMP/out1.pcap"; } | sort >"$TMP/out.rec"
check_eq "$(wc -l <"$TMP/out.rec")" $packets "records read from both queues"
cmp -s "$TMP/in.rec" "$TMP/out.rec" || fail "the queues' records differ from the input's"
[ -s "$TMP/out0.pcap" ] && [ -s "$TMP/out1.pcap" ] || fail "a queue got nothing"
echo "PASS"
