#!/usr/bin/env bash
# ThreadSanitizer: a producer thread and a consumer thread of one process over
# one queue, with the library and qstress built with -fsanitize=thread (built
# here: a meson build directory cannot mix sanitizers). Lossless, lossy and
# lossy-burst (rf_producer_enqueue_burst) runs with random pauses; TSan must
# report nothing and the records must arrive as in queue_stress.sh.
# What TSan can see: the two handles' private state, the library's globals and
# the calls' thread-safety. The ring itself is mapped twice (read-write by
# the producer, read-only by the consumer) at different addresses, so TSan
# cannot pair accesses to it; the records' sequence numbers and checksums
# check that memory instead.
source "$(dirname "$0")/lib.sh"
CC_TSAN=${CC_TSAN:-$(command -v clang || command -v clang-14 || true)}
[ -n "$CC_TSAN" ] || skip "needs clang for -fsanitize=thread"
mkdir -p "$TMP/bin"
bin=$TMP/bin/qstress-tsan
"$CC_TSAN" -fsanitize=thread -O1 -g -std=gnu11 -D_GNU_SOURCE -I"$TOP/include" -I"$TOP/lib" -I"$BUILD" \
	"$TOP"/lib/*.c "$TOP/tests/tools/qstress.c" -o "$bin" -lpthread 2>"$TMP/cc.log" ||
	fail "TSan build failed: $(head -20 "$TMP/cc.log")"
# TSan needs its shadow mapping; some kernels' address-space layouts break it.
"$bin" status /nonexistent 2>&1 | grep -q 'FATAL: ThreadSanitizer' && skip "TSan cannot run on this kernel"

# The helpers' qstress is the TSan build.
BUILD=$TMP/bin
mkdir -p "$TMP/bin/tests/tools" && ln -s ../../qstress-tsan "$TMP/bin/tests/tools/qstress"
source "$(dirname "$0")/queue-helpers.bash"

export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
run() { # name records opts...
	local name=$1 n=$2 rc=0
	shift 2
	"$bin" threads --records "$n" --min 60 --max 4000 --seed $RANDOM --idle 30 "$@" >"$TMP/$name" 2>"$TMP/$name.err" || rc=$?
	if grep -q 'WARNING: ThreadSanitizer' "$TMP/$name.err" || ((rc != 0)); then
		head -80 "$TMP/$name.err"
		fail "$name: exit $rc"
	fi
	local recv dropped
	recv=$(kv "$TMP/$name" received)
	dropped=$(kv "$TMP/$name" q0.dropped_full)
	check_eq "$((recv + dropped))" "$n" "$name: received + dropped_full = sent"
	check_eq "$(kv "$TMP/$name" run0.gaps)" "$((dropped - (n - 1 - $(kv "$TMP/$name" run0.last)) - $(kv "$TMP/$name" run0.first)))" \
		"$name: gaps = dropped_full"
	check_eq "$(kv "$TMP/$name" bad_sum)/$(kv "$TMP/$name" bad_meta)/$(kv "$TMP/$name" run0.backwards)/$(kv "$TMP/$name" eof)" \
		0/0/0/1 "$name: corrupt/bad metadata/out of order/end of stream"
	info "$name: $n records, $dropped dropped on full; TSan clean"
}
run lossless 200000 --ring-size $((1 << 20)) --lossless --pause-every 200 --pause-us 500 75@0
check_eq "$(kv "$TMP/lossless" q0.dropped_full)" 0 "lossless: drops"
run lossy 200000 --ring-size $((256 << 10)) --pause-every 300 --pause-us 2000 75@1
run burst 200000 --ring-size $((256 << 10)) --burst --pause-every 20 --pause-us 2000 75@2
