#!/usr/bin/env bash
# Long fuzzing runs: every libFuzzer target for FUZZ_SECONDS each (default one
# hour), under ASan+UBSan, keeping the grown corpus in tests/fuzz/corpus-run/.
# Crashes are written there as crash-*; the script exits non-zero if any.
#   FUZZ_SECONDS=14400 JOBS=2 scripts/fuzz.sh      # four hours, two workers per target
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-3600}
JOBS=${JOBS:-1}
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dtests=disabled -Dc_args=-fno-sanitize-recover=all >/dev/null
fi
ninja -C build-fuzz >/dev/null
status=0
for f in build-fuzz/tests/fuzz/fuzz_*; do
	[ -x "$f" ] && [ -f "$f" ] || continue
	name=$(basename "$f")
	corpus=tests/fuzz/corpus-run/$name
	mkdir -p "$corpus"
	cp -n tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
	[ -x "tests/fuzz/$name.seeds" ] && "tests/fuzz/$name.seeds" "$corpus" >/dev/null 2>&1 || true
	echo "== $name: ${FUZZ_SECONDS}s, $(ls "$corpus" | wc -l) inputs to start"
	if ! (cd "$corpus" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$OLDPWD/$f" \
		-max_total_time="$FUZZ_SECONDS" -jobs="$JOBS" -workers="$JOBS" -rss_limit_mb=4096 \
		-print_final_stats=1 . 2>&1 | tail -15); then
		status=1
	fi
	ls "$corpus"/crash-* 2>/dev/null && status=1
done
exit $status
