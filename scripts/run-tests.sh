#!/usr/bin/env bash
# Run every test: format check, unit tests (plain and ASan+UBSan), system
# tests (plain and ASan+UBSan), and each libFuzzer target for a bounded time.
# Ends with one line "N passed, N failed, N skipped"; exits non-zero on failure.
#
# Environment: FUZZ_SECONDS (default 15; `make fuzz` for long runs), SKIP_FUZZ=1, SKIP_ASAN=1,
# SYSTEM_TESTS="glob" to run a subset (e.g. "*count*").
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
pass=0 fail=0 skip=0
failed=()
logdir=$top/build/test-logs
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
# What system tests of this run may share (tests/system/lib.sh, tshark_dissect).
RINGFAN_TEST_CACHE=$(mktemp -d /tmp/ringfan-test-cache.XXXXXX)
export RINGFAN_TEST_CACHE
trap 'rm -rf "$RINGFAN_TEST_CACHE"' EXIT

note() { printf '%-7s %s\n' "$1" "$2"; }
record() { # status name
	case "$1" in
	PASS) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)); failed+=("$2") ;;
	esac
	note "$1" "$2"
}

build() { # dir [meson options...]
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
	fi
	ninja -C "$dir" >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; return 1; }
}

unit_tests() { # build-dir label
	local dir=$1 label=$2 name status
	meson test -C "$dir" --suite unit --print-errorlogs >"$logdir/unit-$label.log" 2>&1
	while IFS=$'\t' read -r name status; do
		case "$status" in
		OK) record PASS "unit/$label/$name" ;;
		SKIP) record SKIP "unit/$label/$name" ;;
		*) record FAIL "unit/$label/$name"; grep -A30 "$name" "$logdir/unit-$label.log" | head -60 ;;
		esac
	done < <(/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    print(t["name"] + "\t" + t["result"])' "$dir/meson-logs/testlog.json")
}

# System tests the ASan+UBSan pass leaves to the plain pass: long comparisons
# of captures with tshark or tcpdump (decoder, hash, split, generator, BPF on
# a queue, VXLAN stages, shunting and placement on the 28 MB capture). Their
# C paths run under the sanitizers all the same: the decode, flow, flowtable,
# pktbuild and egress unit tests, fuzz_packet, fault_bad_input (which replays
# every capture through the balancer), broker_filter and pcap_probe (BPF),
# broker_shape (strip), failover and shunt_request (the flow table) cover
# them, in a fraction of the time. exporter_prometheus (a real Prometheus
# server scraping) too: exporter_cli runs the exporter's HTTP answers and
# text under the sanitizers, and the prom unit test its formatting.
ASAN_ONLY_PLAIN="affinity explain_tshark split_files gen count_bpf tunnel_hosts shunt_flows placement exporter_prometheus"

system_tests() { # build-dir label
	local dir=$1 label=$2 t name rc
	for t in tests/system/${SYSTEM_TESTS:-*}.sh; do
		[ -e "$t" ] || continue
		case "$t" in */lib.sh) continue ;; esac
		name=$(basename "$t" .sh)
		if [ "$label" == asan ] && [[ " $ASAN_ONLY_PLAIN " == *" $name "* ]]; then
			continue
		fi
		local t0=$SECONDS extra=()
		# queue_stress under the sanitizers: their paths, not the volume (3 M records plain).
		[ "$label/$name" == asan/queue_stress ] && extra=(QSTRESS_RECORDS=1000000)
		env "${extra[@]}" RINGFAN_BUILD="$top/$dir" timeout -k 10 600 bash "$t" >"$logdir/sys-$label-$name.log" 2>&1
		rc=$?
		case $rc in
		0) record PASS "system/$label/$name ($((SECONDS - t0))s)" ;;
		77) record SKIP "system/$label/$name"; sed -n 's/^SKIP: /        /p' "$logdir/sys-$label-$name.log" ;;
		*) record FAIL "system/$label/$name (exit $rc)"; tail -40 "$logdir/sys-$label-$name.log" ;;
		esac
	done
}

fuzz_tests() {
	local f name corpus
	for f in build-fuzz/tests/fuzz/fuzz_*; do
		[ -x "$f" ] && [ -f "$f" ] || continue
		name=$(basename "$f")
		corpus=$(mktemp -d)
		cp tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
		[ -x "tests/fuzz/$name.seeds" ] && "tests/fuzz/$name.seeds" "$corpus" >/dev/null 2>&1
		if (cd "$corpus" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			timeout -k 10 $((FUZZ_SECONDS + 120)) "$top/$f" -max_total_time="$FUZZ_SECONDS" \
			-rss_limit_mb=4096 -print_final_stats=1 "$corpus" >"$logdir/fuzz-$name.log" 2>&1); then
			record PASS "fuzz/$name (${FUZZ_SECONDS}s, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logdir/fuzz-$name.log" | grep -o '[0-9]*$') runs)"
		else
			record FAIL "fuzz/$name"; tail -40 "$logdir/fuzz-$name.log"
		fi
		rm -rf "$corpus"
	done
}

mkdir -p build
build build || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p "$logdir"

if clang-format --dry-run --Werror $(git ls-files '*.c' '*.h') >"$logdir/format.log" 2>&1; then
	record PASS "format (clang-format)"
else
	record FAIL "format (clang-format)"; head -20 "$logdir/format.log"
fi

unit_tests build plain
if [ "${SKIP_ASAN:-0}" != 1 ]; then
	if build build-asan -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all; then
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
		unit_tests build-asan asan
		unset ASAN_OPTIONS UBSAN_OPTIONS
	else
		record FAIL "build (ASan+UBSan)"
	fi
fi
system_tests build plain
if [ "${SKIP_ASAN:-0}" != 1 ] && [ -x build-asan/ringfan ]; then
	note NOTE "system tests under ASan+UBSan: all but $ASAN_ONLY_PLAIN (plain only)"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		system_tests build-asan asan
fi
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
	if CC=clang build build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dtests=disabled -Dc_args=-fno-sanitize-recover=all; then
		fuzz_tests
	else
		record FAIL "build (libFuzzer)"
	fi
fi

((fail)) && printf 'failed: %s\n' "${failed[@]}"
echo "test run took $((SECONDS / 60))m$((SECONDS % 60))s"
echo "$pass passed, $fail failed, $skip skipped"
((fail == 0))
