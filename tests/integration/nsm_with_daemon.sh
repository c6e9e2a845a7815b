#!/bin/sh
# Run a command against a fresh vhost-user-nsm backend.
# Usage: nsm_with_daemon.sh DAEMON_EXE [--preload SO] [--] CMD [ARGS...]
# Starts DAEMON_EXE --keep-state on a socket in a temporary directory,
# exports TRUSTVIO_NSM_SOCKET, runs CMD (with LD_PRELOAD=SO only for CMD
# when --preload is given) and exits with CMD's status; the daemon is
# stopped and the directory removed afterwards.
set -u

DAEMON=$1
shift
PRELOAD=""
if [ "${1:-}" = "--preload" ]; then
    PRELOAD=$2
    shift 2
fi
if [ "${1:-}" = "--" ]; then
    shift
fi
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

pid=""
T=$(mktemp -d "${TMPDIR:-/tmp}/tv-nsm.XXXXXX")

cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

S=$T/nsm.sock
"$DAEMON" --socket-path="$S" --pki="$T/pki" --keep-state --quiet \
    >"$T/daemon.log" 2>&1 &
pid=$!
i=0
while [ ! -S "$S" ] && [ $i -lt 200 ]; do
    sleep 0.05
    i=$((i + 1))
done
if [ ! -S "$S" ]; then
    echo "vhost-user-nsm did not start:"
    sed 's/^/    | /' "$T/daemon.log"
    exit 1
fi
export TRUSTVIO_NSM_SOCKET="$S"
export NSM_TEST_TMPDIR="$T"
if [ -n "$PRELOAD" ]; then
    preload_env "$PRELOAD"
    LD_PRELOAD="$PRELOAD_VALUE" "$@"
else
    "$@"
fi
rc=$?
if [ $rc -ne 0 ] && [ -s "$T/daemon.log" ]; then
    echo "daemon log:"
    sed 's/^/    | /' "$T/daemon.log"
fi
exit $rc
