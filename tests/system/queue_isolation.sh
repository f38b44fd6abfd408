#!/usr/bin/env bash
# Isolation: one producer feeds the same records to four queues; three
# consumers behave, the fourth is hostile. Before turning, the hostile side
# tries to write the packet data (SIGSEGV in its own process), to make the
# data mapping writable (EACCES) and to map the ring file writable (EACCES).
# Then it maps its consumer page itself and writes random garbage into it
# 1000 times a second. The producer and the three other consumers must not
# notice: every record arrives at each of them, zero drops, and only the
# hostile queue counts dropped_cursor.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue-helpers.bash"

records=${QSTRESS_RECORDS:-600000}
rate=60000
qs=(62@0 62@1 62@2 62@3)
hostile=${qs[3]}

# 128 MiB rings hold about 4 s of a queue: a consumer starved of CPU for a
# while (a sanitizer build on a busy machine) must not turn into drops.
"$QSTRESS" produce --records "$records" --rate $rate --min 60 --max 1500 --ring-size $((128 << 20)) \
	"${qs[@]}" >"$TMP/prod" &
prod=$!
bg_pid $prod
for q in "${qs[@]}"; do wait_until 10 queue_up "$q"; done

cons=()
for i in 0 1 2; do
	"$QSTRESS" consume --idle 20 "${qs[$i]}" >"$TMP/cons$i" &
	cons+=($!)
	bg_pid $!
done

# Hostile act 1: write through a packet's data pointer: killed by SIGSEGV.
rc=0
"$QSTRESS" poke "$hostile" write-data 2>"$TMP/poke.err" || rc=$?
# (Under AddressSanitizer its SEGV handler reports the write and exits 1.)
if grep -q 'AddressSanitizer: SEGV' "$TMP/poke.err"; then
	grep -q 'caused by a WRITE' "$TMP/poke.err" || fail "SEGV, but not on the write: $(cat "$TMP/poke.err")"
	info "ok: the consumer that wrote to packet data got SIGSEGV (reported by ASan, exit $rc)"
else
	check_eq "$rc" 139 "exit status of the consumer that wrote to packet data (128 + SIGSEGV)"
fi
grep -q 'writing to packet data' "$TMP/poke.err" || fail "the poke did not reach the write: $(cat "$TMP/poke.err")"
wait_until 5 consumer_gone "$hostile"

# Hostile act 2: make the packet data mapping writable: EACCES.
"$QSTRESS" poke "$hostile" mprotect >"$TMP/mprotect" || fail "mprotect poke: $(cat "$TMP/mprotect")"
check_eq "$(kv "$TMP/mprotect" mprotect)" "Permission denied" "mprotect(PROT_WRITE) of packet data"
wait_until 5 consumer_gone "$hostile"

# Hostile act 3: map the ring file writable through a read-only descriptor: EACCES.
ring=$(queue_file "$hostile" ring)
"$QSTRESS" poke-file "$ring" >"$TMP/pokefile" || true
check_eq "$(kv "$TMP/pokefile" mmap_rw_from_rdonly)" "Permission denied" "writable mmap of the ring file"

# Hostile act 4: garbage in the consumer page for the rest of the stream.
cons_page=$(queue_file "$hostile" cons)
"$QSTRESS" hostile --seconds 30 --hz 1000 "$hostile" "$cons_page" >"$TMP/hostile" 2>&1 &
hpid=$!
bg_pid $hpid

wait_exit $prod producer
kill "$hpid" 2>/dev/null || true
for i in 0 1 2; do
	wait_exit "${cons[$i]}" "consumer of ${qs[$i]}"
	c=$TMP/cons$i
	check_eq "$(kv "$c" received)" "$records" "${qs[$i]}: records received"
	check_eq "$(kv "$c" run0.first)/$(kv "$c" run0.last)/$(kv "$c" run0.gaps)" "0/$((records - 1))/0" \
		"${qs[$i]}: first/last/gaps"
	check_eq "$(kv "$c" bad_sum)/$(kv "$c" bad_meta)/$(kv "$c" run0.backwards)" 0/0/0 \
		"${qs[$i]}: corrupt/bad metadata/out of order"
	check_eq "$(kv "$c" eof)" 1 "${qs[$i]}: end of stream"
	check_eq "$(kv "$TMP/prod" q$i.dropped_full)/$(kv "$TMP/prod" q$i.dropped_cursor)" 0/0 \
		"${qs[$i]}: dropped full/cursor"
	check_eq "$(kv "$TMP/prod" q$i.enqueued)" "$records" "${qs[$i]}: enqueued"
done
dc=$(kv "$TMP/prod" q3.dropped_cursor)
((dc > 0)) || fail "$hostile: the producer counted no dropped_cursor ($(tr '\n' ' ' <"$TMP/prod"))"
info "ok: $hostile: dropped_cursor = $dc of $records; the others lost nothing"
check_eq "$(kv "$TMP/prod" records)" "$records" "producer sent everything"
