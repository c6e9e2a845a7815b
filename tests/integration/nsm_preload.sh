#!/bin/sh
# The preload shim against a vhost-user-nsm backend (run under
# nsm_with_daemon.sh, which sets TRUSTVIO_NSM_SOCKET and --keep-state):
# the Python fcntl.ioctl program, then two processes sharing one enclave
# (A extends PCR 20, B reads it), then bad pointers (EFAULT, and a fault
# of the program's own must still kill it with SIGSEGV), then a C
# program's plain ioctl through the shim with the socket variable unset
# (pass-through: no /dev/nsm).
# Usage: nsm_preload.sh PRELOAD_SO PYTHON SCRIPT
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
SO=$1
PY=$2
SCRIPT=$3
preload_env "$SO"
P=$PRELOAD_VALUE

LD_PRELOAD="$P" "$PY" "$SCRIPT" all || exit 1
LD_PRELOAD="$P" "$PY" "$SCRIPT" extend-pcr20 || exit 1
LD_PRELOAD="$P" "$PY" "$SCRIPT" check-pcr20 || exit 1
LD_PRELOAD="$P" "$PY" "$SCRIPT" own-handler || exit 1
out=$(LD_PRELOAD="$P" "$PY" "$SCRIPT" fault 2>&1)
rc=$?
echo "$out"
if ! echo "$out" | grep -q '^4 passed, 0 failed'; then
    echo "FAIL: bad pointers under default signal handlers"
    exit 1
fi
# 128 + SIGSEGV from the shell; a sanitizer runtime reports it instead
if [ "$rc" -eq 139 ] || { [ -n "$rt" ] && echo "$out" | grep -q SEGV; }; then
    echo "PASS: a fault outside the shim's copies still ends the program"
else
    echo "FAIL: touching address 8 ended with status $rc, not SIGSEGV"
    exit 1
fi
if [ ! -e /dev/nsm ]; then
    # without the variable the shim passes open() through: ENOENT as usual
    if env -u TRUSTVIO_NSM_SOCKET LD_PRELOAD="$P" "$PY" -c \
        'import os; os.open("/dev/nsm", os.O_RDWR)' 2>/dev/null; then
        echo "FAIL: /dev/nsm opened without TRUSTVIO_NSM_SOCKET"
        exit 1
    fi
    echo "PASS: without TRUSTVIO_NSM_SOCKET open(/dev/nsm) passes through"
fi
