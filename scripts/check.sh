#!/bin/sh
# Every test tier, in order. Each tier prints what it runs; the last line is
# the total "N passed, N failed, N skipped" over all tests of all tiers. A
# skip is never a pass, and a tier that runs nothing counts as a failure.
#   unit, integration   cmocka programs and daemon tests (build/)
#   sanitizers          the same under ASan+UBSan (build-asan/)
#   fuzz                corpus replay + bounded libFuzzer run per target
#   e2e                 real QEMU + real guest kernel (tests/e2e/run.sh)
#   mmc                 Debian's mmc-utils through the RPMB shim (tests/mmc/run.sh)
# TIERS="unit asan" limits the run to the named tiers.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
TIERS=${TIERS:-"unit sanitizers fuzz e2e mmc"}
passed=0
failed=0
skipped=0
failed_tiers=""

count_meson() {
    # add the results of the last `meson test` run in $1 to the totals
    python3 - "$1/meson-logs/testlog.json" <<'PY' > "$root/build/.counts" 2>/dev/null || echo "0 1 0" > "$root/build/.counts"
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
if p == 0:
    f += 1  # a tier that runs nothing has failed
print(p, f, s)
PY
    read -r p f s < "$root/build/.counts"
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
}

note_fail() {
    failed_tiers="$failed_tiers $1"
}

want() {
    case " $TIERS " in *" $1 "*) return 0 ;; esac
    return 1
}

echo "=== formatting (clang-format, .clang-format)"
unformatted=""
for f in $(git ls-files '*.c' '*.h' 2>/dev/null); do
    if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
        unformatted="$unformatted $f"
    fi
done
if [ -n "$unformatted" ]; then
    echo "not clang-formatted (run 'make format'):$unformatted"
    failed=$((failed + 1))
    note_fail format
else
    echo "all sources formatted"
    passed=$((passed + 1))
fi

echo "=== build (warnings are errors)"
if [ ! -f build/build.ninja ]; then
    meson setup build -Dwerror=true >/dev/null || exit 1
fi
ninja -C build || { echo "build failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

if want unit; then
    echo "=== tier: unit + integration tests"
    meson test -C build --print-errorlogs --num-processes 2 || note_fail unit
    count_meson build
fi

if want sanitizers; then
    echo "=== tier: unit + integration tests under ASan+UBSan"
    if [ ! -f build-asan/build.ninja ]; then
        meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined \
            -Db_lundef=false -Dbuildtype=debug >/dev/null || exit 1
    fi
    if ninja -C build-asan; then
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            meson test -C build-asan --print-errorlogs --num-processes 2 \
            --timeout-multiplier 3 || note_fail sanitizers
        count_meson build-asan
    else
        failed=$((failed + 1))
        note_fail sanitizers
    fi
fi

run_script_tier() {
    name=$1
    script=$2
    echo "=== tier: $name"
    if [ ! -f "$script" ]; then
        echo "$script missing"
        failed=$((failed + 1))
        note_fail "$name"
        return
    fi
    out=$(mktemp)
    sh "$script" 2>&1 | tee "$out"
    # each script ends with its own "N passed, N failed[, N skipped]" line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
    rm -f "$out"
    if [ -z "$line" ]; then
        failed=$((failed + 1))
        note_fail "$name"
        return
    fi
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=0
    case "$line" in
    *skipped*) s=$(echo "$line" | sed -E 's/.* ([0-9]+) skipped.*/\1/') ;;
    esac
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    if [ "$p" -eq 0 ]; then
        echo "tier $name ran nothing"
        failed=$((failed + 1))
    fi
    [ "$f" -eq 0 ] && [ "$p" -gt 0 ] || note_fail "$name"
}

want fuzz && run_script_tier fuzz scripts/fuzz.sh
want e2e && run_script_tier e2e tests/e2e/run.sh
want mmc && run_script_tier mmc tests/mmc/run.sh

echo
[ -n "$failed_tiers" ] && echo "failed tiers:$failed_tiers"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
