#!/usr/bin/env bash
# Two processes over one queue: numbered, checksummed records of random sizes
# (60-9000 bytes), random pauses on both sides. Nothing may be lost,
# duplicated, reordered or corrupted except the drops the producer counted on
# a full ring: the consumer's sequence gaps must equal dropped_full exactly.
# Phase 1 is lossy (small ring, consumer pauses force drops), phase 2 the
# same with bursts of records (rf_producer_enqueue_burst), phase 3 lossless
# (the producer waits for room; zero drops).
#
# The volume of phase 1 is --records N or $QSTRESS_RECORDS (default 3000000;
# phase 2 gets a third, phase 3 half). Soak run:
#   RINGFAN_BUILD=build bash tests/system/queue_stress.sh --records 50000000
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/queue-helpers.bash"

records=${QSTRESS_RECORDS:-3000000}
if [ "${1:-}" == --records ]; then records=${2:?--records needs a number}; fi
seed=${QSTRESS_SEED:-$RANDOM}
info "seed $seed, $records records"

# phase NAME RECORDS RING PRODUCER-OPTS... -- CONSUMER-OPTS...
phase() {
	local name=$1 n=$2 ring=$3 popts=() copts=() q="61@$4"
	shift 4
	while (($#)) && [ "$1" != -- ]; do popts+=("$1"); shift; done
	shift
	copts=("$@")
	"$QSTRESS" produce --records "$n" --min 60 --max 9000 --ring-size "$ring" --seed "$seed" \
		"${popts[@]}" "$q" >"$TMP/$name.prod" &
	local ppid=$!
	bg_pid $ppid
	wait_until 10 queue_up "$q"
	"$QSTRESS" consume --seed "$seed" --idle 20 "${copts[@]}" "$q" >"$TMP/$name.cons" ||
		fail "$name: consumer failed: $(tr '\n' ' ' <"$TMP/$name.cons")"
	wait_exit $ppid "$name: producer"
	check_phase "$name" "$n"
}

check_phase() {
	local name=$1 n=$2 p=$TMP/$1.prod c=$TMP/$1.cons
	local dropped received first last gaps
	dropped=$(kv "$p" q0.dropped_full)
	received=$(kv "$c" received)
	first=$(kv "$c" run0.first)
	last=$(kv "$c" run0.last)
	gaps=$(kv "$c" run0.gaps)
	check_eq "$(kv "$c" eof)" 1 "$name: end of stream seen"
	check_eq "$(kv "$c" runs)" 1 "$name: producer runs seen"
	check_eq "$(kv "$c" bad_sum)" 0 "$name: records with a bad checksum"
	check_eq "$(kv "$c" bad_meta)" 0 "$name: records with bad metadata"
	check_eq "$(kv "$c" run0.backwards)" 0 "$name: duplicated or reordered records"
	check_eq "$(kv "$p" q0.dropped_toobig)" 0 "$name: too-big drops"
	check_eq "$(kv "$p" q0.dropped_cursor)" 0 "$name: bad-cursor drops"
	check_eq $((first + gaps + n - 1 - last)) "$dropped" "$name: missing sequence numbers = dropped_full"
	check_eq $((received + dropped)) "$n" "$name: received + dropped_full = sent"
	check_eq "$(kv "$p" q0.enqueued)" "$received" "$name: enqueued = received"
	check_eq "$(kv "$c" stats.dropped)" "$dropped" "$name: consumer's view of the drops"
	info "$name: $n records, $dropped dropped on full, producer $(kv "$p" rate) records/s"
}

start=$(date +%s%N)
# Lossy: a 4 MiB ring; the consumer sleeps up to 20 ms every ~2000 bursts.
phase lossy "$records" $((4 << 20)) 0 --rate 300000 --pause-every 200 --pause-us 2000 -- \
	--pause-every 2000 --pause-us 20000
(($(kv "$TMP/lossy.prod" q0.dropped_full) > 0)) || fail "lossy: no drop happened; the drop path was not exercised"
# Lossless: the producer waits for room; both sides pause.
# The same through rf_producer_enqueue_burst(): drops in the middle of a burst.
phase burst $((records / 3)) $((4 << 20)) 2 --burst --rate 300000 --pause-every 20 --pause-us 2000 -- \
	--pause-every 2000 --pause-us 20000
(($(kv "$TMP/burst.prod" q0.dropped_full) > 0)) || fail "burst: no drop happened; the drop path was not exercised"
phase lossless $((records / 2)) $((1 << 20)) 1 --lossless --pause-every 300 --pause-us 3000 -- \
	--pause-every 300 --pause-us 3000 --release-every 3
check_eq "$(kv "$TMP/lossless.prod" q0.dropped_full)" 0 "lossless: drops"
ms=$((($(date +%s%N) - start) / 1000000))
total=$((records + records / 3 + records / 2))
info "total $total records in $((ms / 1000)).$(printf %03d $((ms % 1000)))s ($((total * 1000 / (ms > 0 ? ms : 1))) records/s)"
