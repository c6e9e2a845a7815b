#!/bin/sh
# Build the libFuzzer targets with clang + ASan + UBSan, replay each corpus,
# then fuzz each target for FUZZ_SECONDS (default 20). New inputs that reach
# new coverage are kept in a scratch copy, never written into the tree.
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
passed=0
failed=0

if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=disabled \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C build-fuzz || { echo "0 passed, 1 failed"; exit 1; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for bin in build-fuzz/fuzz/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=${bin##*/fuzz_}
    corpus=fuzz/corpus/$name
    scratch=$work/$name
    mkdir -p "$scratch"
    [ -d "$corpus" ] && cp -r "$corpus"/. "$scratch"/ 2>/dev/null
    n=$(ls "$scratch" | wc -l)
    printf 'fuzz %-14s replay %4d inputs ... ' "$name" "$n"
    if [ "$n" -gt 0 ] && ! "$bin" -runs=0 "$scratch" > "$work/$name.replay.log" 2>&1; then
        echo "FAIL"; tail -n 30 "$work/$name.replay.log"
        failed=$((failed + 1)); continue
    fi
    printf 'fuzz %ss ... ' "$secs"
    if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/$name-" "$scratch" > "$work/$name.log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
        echo "ok: ${runs:-?} runs, 0 crashes"
        passed=$((passed + 1))
    else
        echo "FAIL"; tail -n 40 "$work/$name.log"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
