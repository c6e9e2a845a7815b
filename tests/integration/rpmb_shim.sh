#!/bin/sh
# Run a program under librpmb-mmc-preload.so against a fresh
# vhost-user-rpmb backend (128 KiB).
# Usage: rpmb_shim.sh DAEMON_EXE PRELOAD_SO PROGRAM [ARGS...]
set -u
DAEMON=$1
SHIM=$2
shift 2
T=$(mktemp -d "${TMPDIR:-/tmp}/tv-rpmb-shim.XXXXXX")
"$DAEMON" --socket-path "$T/rpmb.sock" --store "$T/rpmb.db" \
    --capacity 128K --max-wr-cnt 2 >"$T/daemon.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$T"' EXIT
i=0
while [ ! -S "$T/rpmb.sock" ] && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
done
if [ ! -S "$T/rpmb.sock" ]; then
    echo "vhost-user-rpmb did not start:"
    cat "$T/daemon.log"
    exit 1
fi
# A sanitizer build of the shim needs its runtime loaded ahead of it.
rt=$(ldd "$SHIM" 2>/dev/null | awk '/lib(asan|ubsan)/ {printf "%s ", $3}')
LD_PRELOAD="$rt$SHIM" TRUSTVIO_RPMB_SOCKET=$T/rpmb.sock "$@"
