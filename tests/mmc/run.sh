#!/bin/sh
# The mmc tier: Debian's unmodified `mmc rpmb` (mmc-utils) against a
# vhost-user-rpmb backend through librpmb-mmc-preload.so. Every step prints
# what it runs and PASS/FAIL; the last line is "N passed, M failed".
#
# Run from the repository root after build/ is built:  sh tests/mmc/run.sh
# BUILD=<dir> selects another build directory, MMC=<path> another mmc.
set -u

BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$(pwd)/$BUILD ;;
esac
MMC=${MMC:-/usr/bin/mmc}
DAEMON=$BUILD/src/daemon/vhost-user-rpmb
SHIM=$BUILD/src/preload/librpmb-mmc-preload.so
DEV=/dev/mmcblk0rpmb

passed=0
failed=0
pid=""
T=$(mktemp -d "${TMPDIR:-/tmp}/tv-mmc.XXXXXX")

cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() {
    echo "PASS: $1"
    passed=$((passed + 1))
}

fail() {
    echo "FAIL: $1"
    [ -s "$T/out" ] && sed 's/^/    | /' "$T/out"
    failed=$((failed + 1))
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# mmc_run ARGS...: run mmc through the shim; output in $T/out, status in $rc
mmc_run() {
    echo "+ mmc $*"
    LD_PRELOAD="$PRELOAD" TRUSTVIO_RPMB_SOCKET=$T/rpmb.sock "$MMC" "$@" \
        >"$T/out" 2>&1
    rc=$?
}

# expect_ok NAME: last mmc succeeded
expect_ok() {
    if [ "$rc" -eq 0 ]; then pass "$1"; else fail "$1 (exit $rc)"; fi
}

# expect_retcode NAME CODE: last mmc failed with "retcode CODE"
expect_retcode() {
    if [ "$rc" -ne 0 ] && grep -q "retcode $2" "$T/out"; then
        pass "$1"
    else
        fail "$1 (exit $rc, want retcode $2)"
    fi
}

# expect_out NAME TEXT: last mmc succeeded and printed TEXT
expect_out() {
    if [ "$rc" -eq 0 ] && grep -qF "$2" "$T/out"; then
        pass "$1"
    else
        fail "$1 (exit $rc, want '$2')"
    fi
}

echo "=== mmc-utils through librpmb-mmc-preload.so"
for f in "$MMC" "$DAEMON" "$SHIM"; do
    if [ ! -e "$f" ]; then
        echo "missing: $f"
        failed=$((failed + 1))
    fi
done
[ "$failed" -eq 0 ] || finish
# a sanitizer build of the shim (BUILD=build-asan) needs its runtime first
PRELOAD="$(ldd "$SHIM" 2>/dev/null |
    awk '/lib(asan|ubsan)/ {printf "%s ", $3}')$SHIM"

echo "+ $DAEMON --socket-path $T/rpmb.sock --store $T/rpmb.db --capacity 128K"
"$DAEMON" --socket-path "$T/rpmb.sock" --store "$T/rpmb.db" \
    --capacity 128K >"$T/daemon.log" 2>&1 &
pid=$!
i=0
while [ ! -S "$T/rpmb.sock" ] && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
done
if [ -S "$T/rpmb.sock" ]; then
    pass "daemon listening"
else
    cp "$T/daemon.log" "$T/out"
    fail "daemon listening"
    finish
fi

printf 'AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH' >"$T/key"
printf 'ZZZZBBBBCCCCDDDDEEEEFFFFGGGGHHHH' >"$T/wrong.key"
head -c 256 /dev/urandom >"$T/d0"
head -c 256 /dev/urandom >"$T/d1"
head -c 256 /dev/urandom >"$T/d2"

mmc_run rpmb read-counter "$DEV"
expect_retcode "read-counter before a key: NO_AUTH_KEY" 0x0007

mmc_run rpmb read-block "$DEV" 0 1 "$T/r"
expect_retcode "read-block before a key: NO_AUTH_KEY" 0x0007

mmc_run rpmb write-key "$DEV" "$T/key"
expect_ok "write-key"

mmc_run rpmb read-counter "$DEV"
expect_out "read-counter after write-key is 0" "Counter value: 0x00000000"

mmc_run rpmb write-block "$DEV" 0 "$T/d0" "$T/key"
expect_ok "write-block at 0"

mmc_run rpmb read-counter "$DEV"
expect_out "read-counter after one write is 1" "Counter value: 0x00000001"

rm -f "$T/r"
mmc_run rpmb read-block "$DEV" 0 1 "$T/r" "$T/key"
if [ "$rc" -eq 0 ] && ! grep -qi "mac" "$T/out" && cmp -s "$T/r" "$T/d0"; then
    pass "read-block 0 1 with the key: same data, MAC verified"
else
    fail "read-block 0 1 with the key (exit $rc)"
fi

mmc_run rpmb write-block "$DEV" 1 "$T/d1" "$T/wrong.key"
expect_retcode "write-block with a wrong key: AUTH_FAILURE" 0x0002

mmc_run rpmb read-counter "$DEV"
expect_out "a refused write leaves the counter at 1" "Counter value: 0x00000001"

rm -f "$T/r"
mmc_run rpmb read-block "$DEV" 0 1 "$T/r" "$T/wrong.key"
if [ "$rc" -ne 0 ] && grep -qi "mac missmatch\|mac mismatch" "$T/out"; then
    pass "read-block with a wrong key: mmc reports a MAC mismatch"
else
    fail "read-block with a wrong key (exit $rc)"
fi

# A second key programming is refused with the device's documented code,
# WRITE_FAILURE 0x0005 (src/rpmb/rpmb.h; the virtio text, Trusty, QEMU).
mmc_run rpmb write-key "$DEV" "$T/wrong.key"
if [ "$rc" -ne 0 ] && grep -q "retcode 0x0005" "$T/out"; then
    pass "second write-key refused ($(grep -o 'retcode 0x[0-9a-f]*' "$T/out"))"
else
    fail "second write-key refused (exit $rc)"
fi

mmc_run rpmb write-block "$DEV" 0 "$T/d1" "$T/key"
rm -f "$T/r"
if [ "$rc" -eq 0 ]; then
    mmc_run rpmb read-block "$DEV" 0 1 "$T/r" "$T/key"
fi
if [ "$rc" -eq 0 ] && cmp -s "$T/r" "$T/d1"; then
    pass "the original key still works after the refused write-key"
else
    fail "the original key still works after the refused write-key"
fi

# 128 KiB = 512 blocks: 511 is the last address, 512 is out of range
mmc_run rpmb write-block "$DEV" 512 "$T/d0" "$T/key"
expect_retcode "write-block at 512 (out of range): ADDR_FAILURE" 0x0004

mmc_run rpmb read-block "$DEV" 511 2 "$T/r" "$T/key"
expect_retcode "read-block 511 2 (crosses the end): ADDR_FAILURE" 0x0004

mmc_run rpmb write-block "$DEV" 511 "$T/d2" "$T/key"
expect_ok "write-block at the last address 511"

mmc_run rpmb write-block "$DEV" 1 "$T/d1" "$T/key"
expect_ok "write-block at 1"
mmc_run rpmb write-block "$DEV" 2 "$T/d2" "$T/key"
expect_ok "write-block at 2"

rm -f "$T/r"
cat "$T/d1" "$T/d1" "$T/d2" >"$T/want"
mmc_run rpmb read-block "$DEV" 0 3 "$T/r" "$T/key"
if [ "$rc" -eq 0 ] && cmp -s "$T/r" "$T/want"; then
    pass "read-block 0 3: three blocks, MAC over all frames verified"
else
    fail "read-block 0 3 (exit $rc)"
fi

rm -f "$T/r"
mmc_run rpmb read-block "$DEV" 1 2 "$T/r"
if [ "$rc" -eq 0 ] && [ "$(cat "$T/d1" "$T/d2" | od -An -tx1)" = \
    "$(od -An -tx1 "$T/r")" ]; then
    pass "read-block 1 2 without a key"
else
    fail "read-block 1 2 without a key (exit $rc)"
fi

mmc_run rpmb read-counter "$DEV"
expect_out "read-counter counts every accepted write (5)" \
    "Counter value: 0x00000005"

# Without TRUSTVIO_RPMB_SOCKET the shim passes the open through to the
# real node, which does not exist here: a clean failure, no backend used.
echo "+ mmc rpmb read-counter $DEV (no TRUSTVIO_RPMB_SOCKET)"
env -u TRUSTVIO_RPMB_SOCKET LD_PRELOAD="$PRELOAD" "$MMC" rpmb read-counter \
    "$DEV" >"$T/out" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
    pass "without a socket the shim passes the open through (no node)"
else
    fail "without a socket the shim passes the open through (no node)"
fi

echo "+ stopping the daemon"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=""
finish
