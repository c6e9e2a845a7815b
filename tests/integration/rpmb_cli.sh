#!/bin/sh
# The rpmb CLI against a real vhost-user-rpmb backend: every command, every
# exit status class, and tampered responses (--test-flip) caught as such.
# Usage: rpmb_cli.sh RPMB_EXE DAEMON_EXE
set -u

RPMB=$1
DAEMON=$2
passed=0
failed=0
pid=""
T=$(mktemp -d "${TMPDIR:-/tmp}/tv-rpmb-cli.XXXXXX")

cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT

pass() {
    echo "PASS: $1"
    passed=$((passed + 1))
}

fail() {
    echo "FAIL: $1"
    for f in "$T/out" "$T/err"; do
        [ -s "$f" ] && sed 's/^/    | /' "$f"
    done
    failed=$((failed + 1))
}

# r ARGS...: run the CLI; stdout in $T/out, stderr in $T/err, status in $rc
r() {
    echo "+ rpmb $*"
    "$RPMB" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
}

# expect NAME STATUS [GREP-PATTERN [FILE]]
expect() {
    name=$1
    want=$2
    if [ "$rc" -ne "$want" ]; then
        fail "$name (exit $rc, want $want)"
        return
    fi
    if [ $# -ge 3 ] && ! grep -qi -- "$3" "${4:-$T/err}"; then
        fail "$name (no '$3' in ${4:-stderr})"
        return
    fi
    pass "$name"
}

# json_check FILE EXPR: evaluate a Python expression over the parsed JSON j
json_check() {
    python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$1" "$2"
}

S=$T/rpmb.sock
printf '%s\n' 4141414142424242434343434444444445454545464646464747474748484848 \
    >"$T/key.hex"
printf 'AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH' >"$T/key.raw"
printf 'ZZZZBBBBCCCCDDDDEEEEFFFFGGGGHHHH' >"$T/wrong.key"
printf 'not a key\n' >"$T/bad.key"
head -c 1280 /dev/urandom >"$T/data5"
head -c 300 /dev/urandom >"$T/data300"

# ---- usage, no backend needed
r --help
expect "--help exits 0 and documents the exit codes" 0 "tampering detected" \
    "$T/out"
r
expect "no command is a usage error" 2
r frobnicate --vhost-user "$S"
expect "unknown command is a usage error" 2 "unknown command"
env -u TRUSTVIO_RPMB_SOCKET "$RPMB" info >"$T/out" 2>"$T/err"
rc=$?
expect "no socket is a usage error" 2 "TRUSTVIO_RPMB_SOCKET"
r --vhost-user "$S" read 0
expect "missing COUNT is a usage error" 2 "usage: rpmb read"
r --vhost-user "$S" read 0 0
expect "COUNT 0 is a usage error" 2 "bad COUNT"
r --vhost-user "$S" info
expect "an absent backend is a transport error" 4 "cannot connect"

# ---- with a backend: 128 KiB, 2 blocks per write, 3 per read
"$DAEMON" --socket-path "$S" --store "$T/rpmb.db" --capacity 128K \
    --max-wr-cnt 2 --max-rd-cnt 3 >"$T/daemon.log" 2>&1 &
pid=$!
i=0
while [ ! -S "$S" ] && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
done
if [ ! -S "$S" ]; then
    cp "$T/daemon.log" "$T/err"
    fail "daemon did not start"
    echo "$passed passed, $failed failed"
    exit 1
fi
export TRUSTVIO_RPMB_SOCKET="$S"

r info
expect "info" 0 "max_wr_cnt: 2 (most blocks per write request)" "$T/out"
r info --json
if [ "$rc" -eq 0 ] && json_check "$T/out" \
    'j["capacity_units"] == 1 and j["blocks"] == 512 and
     j["max_wr_cnt"] == 2 and j["max_rd_cnt"] == 3'; then
    pass "info --json"
else
    fail "info --json"
fi

r read-counter
expect "read-counter before a key: device NO_AUTH_KEY" 1 "NO_AUTH_KEY"
r read-counter --json
if [ "$rc" -eq 1 ] && json_check "$T/out" \
    'j["error"] == "device" and j["result"] == 7 and
     j["result_name"] == "NO_AUTH_KEY"'; then
    pass "read-counter --json names the device result"
else
    fail "read-counter --json names the device result"
fi

r program-key "$T/bad.key"
expect "a malformed key file is a usage error" 2 "not a key"
r program-key "$T/key.hex"
expect "program-key (hex key file)" 0 "key programmed" "$T/out"
r program-key "$T/key.raw"
expect "a second program-key is refused by the device" 1 "device result"

r read-counter --key "$T/key.raw"
expect "read-counter with the key (raw key file)" 0 "write counter: 0" \
    "$T/out"
echo "+ rpmb read-counter --key - < key.hex"
"$RPMB" read-counter --key - <"$T/key.hex" >"$T/out" 2>"$T/err"
rc=$?
expect "key from stdin" 0 "MAC verified" "$T/out"

r write 0 "$T/data5" --key "$T/key.hex"
expect "write 5 blocks (split 2+2+1)" 0 "write counter now 3" "$T/out"
r read 0 5 --key "$T/key.hex" -o "$T/back"
if [ "$rc" -eq 0 ] && cmp -s "$T/back" "$T/data5"; then
    pass "read 5 blocks (split 3+2) back, MAC verified"
else
    fail "read 5 blocks back (exit $rc)"
fi
echo "+ rpmb read 1 2 > pipe"
"$RPMB" read 1 2 >"$T/back2" 2>"$T/err"
rc=$?
want=$(dd if="$T/data5" bs=256 skip=1 count=2 2>/dev/null | od -An -tx1)
if [ "$rc" -eq 0 ] && [ "$want" = "$(od -An -tx1 "$T/back2")" ]; then
    pass "read without a key to stdout"
else
    fail "read without a key to stdout (exit $rc)"
fi

r write 10 "$T/data300" --key "$T/key.hex"
expect "write of a non-multiple of 256 is refused" 2 "multiple of 256"
r write 10 "$T/data300" --key "$T/key.hex" --pad --json
if [ "$rc" -eq 0 ] &&
    json_check "$T/out" 'j["blocks"] == 2 and j["counter"] == 4'; then
    pass "write --pad pads to 2 blocks"
else
    fail "write --pad pads to 2 blocks"
fi
r write 0 "$T/data5"
expect "write without --key is a usage error" 2 "--key"

r write 0 "$T/data5" --key "$T/wrong.key"
expect "write with a wrong key: MAC mismatch, nothing written" 3 \
    "response MAC mismatch: tampered or wrong key"
r read-counter --key "$T/key.hex" --json
if [ "$rc" -eq 0 ] && json_check "$T/out" 'j["counter"]==4'; then
    pass "the refused write left the counter at 4"
else
    fail "the refused write left the counter at 4"
fi

r read 511 2 --key "$T/key.hex" -o "$T/x"
expect "read across the end: device ADDR_FAILURE" 1 "ADDR_FAILURE"
r write 512 "$T/data300" --pad --key "$T/key.hex"
expect "write past the end: device ADDR_FAILURE" 1 "ADDR_FAILURE"

# ---- tampering: flip response bytes in transit
r read 0 2 --key "$T/key.hex" -o "$T/x" --test-flip 300
expect "flipped read data: MAC mismatch" 3 "response MAC mismatch"
r read 0 2 --key "$T/key.hex" -o "$T/x" --test-flip 1000:0x80 --json
if [ "$rc" -eq 3 ] && json_check "$T/out" 'j["error"]=="tampering"'; then
    pass "flipped nonce in the 2nd read frame: tampering (json)"
else
    fail "flipped nonce in the 2nd read frame: tampering (json)"
fi
r read-counter --test-flip 490
expect "flipped counter nonce, no key: nonce mismatch" 3 "nonce mismatch"
r read-counter --key "$T/key.hex" --test-flip 503
expect "flipped counter value: MAC mismatch" 3 "MAC mismatch"
r write 0 "$T/data5" --key "$T/key.hex" --test-flip 503:1:1
expect "flipped write-response counter: MAC mismatch" 3 "MAC mismatch"
r read 0 1 -o "$T/x" --test-flip 505
expect "flipped read address, no key: tampering" 3 "address"

r read-counter --key "$T/key.hex" --json
if [ "$rc" -eq 0 ] && json_check "$T/out" 'j["counter"]==5'; then
    pass "counter after the tampered-response write is 5 (the write happened)"
else
    fail "counter after the tampered-response write"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
