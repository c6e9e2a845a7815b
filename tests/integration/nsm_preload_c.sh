#!/bin/sh
# An unmodified C enclave program (the guest test, which drives /dev/nsm
# with NSM_IOCTL_RAW) run on the host under the preload shim (run under
# nsm_with_daemon.sh). Every step must pass except the guest kernel's hwrng
# check, which has no meaning on the host.
# Usage: nsm_preload_c.sh PRELOAD_SO PROGRAM
set -u
# preload_env SO: set PRELOAD_VALUE to the LD_PRELOAD value for SO. A
# sanitizer build of the shim needs its runtime loaded ahead of it (and the
# host program's own leaks, e.g. Python's, are not ours to report).
preload_env() {
    rt=$(ldd "$1" 2>/dev/null | awk '/lib(asan|ubsan)/ {printf "%s ", $3}')
    if [ -n "$rt" ]; then
        export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
    fi
    PRELOAD_VALUE="$rt$1"
}
preload_env "$1"
P=$PRELOAD_VALUE
out=$(mktemp)
trap 'rm -f "$out"' EXIT
LD_PRELOAD="$P" "$2" >"$out" 2>&1
grep '^E2E-STEP' "$out"
n_pass=$(grep -c '^E2E-STEP PASS' "$out")
n_fail=$(grep '^E2E-STEP FAIL' "$out" | grep -vc '^E2E-STEP FAIL hwrng')
if [ "$n_pass" -lt 10 ] || [ "$n_fail" -ne 0 ]; then
    echo "FAIL: $n_pass steps passed, $n_fail failed"
    exit 1
fi
echo "PASS: $n_pass steps of the C program passed under the shim"
