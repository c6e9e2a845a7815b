#!/bin/sh
# vhost-user-rpmb --export-image / --import-image: a raw 256-byte-block image
# goes into a fresh store, is served by the daemon, comes back out unchanged;
# import is refused once a key is programmed and while a daemon holds the
# store. Usage: rpmb_image.sh RPMB_EXE DAEMON_EXE
set -u

RPMB=$1
DAEMON=$2
passed=0
failed=0
pid=""
T=$(mktemp -d "${TMPDIR:-/tmp}/tv-rpmb-img.XXXXXX")

cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT

check() {
    # check DESCRIPTION COMMAND...: the command must succeed
    d=$1
    shift
    if "$@" > "$T/out" 2> "$T/err"; then
        echo "PASS: $d"
        passed=$((passed + 1))
    else
        echo "FAIL: $d"
        cat "$T/out" "$T/err"
        failed=$((failed + 1))
    fi
}

refuse() {
    # refuse DESCRIPTION PATTERN COMMAND...: must fail, stderr matching
    d=$1
    pat=$2
    shift 2
    if "$@" > "$T/out" 2> "$T/err"; then
        echo "FAIL: $d (succeeded)"
        failed=$((failed + 1))
    elif grep -q -- "$pat" "$T/err"; then
        echo "PASS: $d"
        passed=$((passed + 1))
    else
        echo "FAIL: $d (message)"
        cat "$T/err"
        failed=$((failed + 1))
    fi
}

S=$T/store.db
# 128 KiB image: block i starts with its number
python3 - "$T/in.img" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    for i in range(512):
        f.write(i.to_bytes(2, "big") + bytes([i % 251]) * 254)
PY
head -c 1000 "$T/in.img" > "$T/short.img"

check "import into a fresh store" \
    "$DAEMON" --store="$S" --capacity=128K --import-image="$T/in.img"
check "export it again" \
    "$DAEMON" --store="$S" --capacity=128K --export-image="$T/out.img"
check "exported image equals the imported one" cmp "$T/in.img" "$T/out.img"
refuse "image of the wrong size refused" "" \
    "$DAEMON" --store="$S" --capacity=128K --import-image="$T/short.img"
refuse "both options at once refused" "exclude" \
    "$DAEMON" --store="$S" --export-image=a --import-image=b
refuse "another capacity refused" "" \
    "$DAEMON" --store="$S" --capacity=256K --export-image="$T/x.img"

"$DAEMON" --socket-path="$T/s" --store="$S" --capacity=128K \
    --max-wr-cnt=4 --quiet &
pid=$!
i=0
while [ ! -S "$T/s" ] && [ $i -lt 100 ]; do
    sleep 0.05
    i=$((i + 1))
done
refuse "export while a daemon serves the store refused" "" \
    "$DAEMON" --store="$S" --capacity=128K --export-image="$T/busy.img"
head -c 32 /dev/urandom > "$T/key"
check "program a key" "$RPMB" --vhost-user "$T/s" program-key "$T/key"
check "read imported block 7 through the device" \
    "$RPMB" --vhost-user "$T/s" read 7 1 --key "$T/key" -o "$T/b7"
dd if="$T/in.img" of="$T/want7" bs=256 skip=7 count=1 2>/dev/null
check "block 7 holds the imported data" cmp "$T/b7" "$T/want7"
head -c 512 /dev/urandom > "$T/new"
check "authenticated write of blocks 2..3" \
    "$RPMB" --vhost-user "$T/s" write 2 "$T/new" --key "$T/key"
kill "$pid"
wait "$pid" 2>/dev/null
pid=""

refuse "import after the key is programmed refused" "" \
    "$DAEMON" --store="$S" --capacity=128K --import-image="$T/in.img"
check "export after writes" \
    "$DAEMON" --store="$S" --capacity=128K --export-image="$T/after.img"
dd if="$T/after.img" of="$T/got23" bs=256 skip=2 count=2 2>/dev/null
check "export holds the authenticated write" cmp "$T/got23" "$T/new"
if [ "$(stat -c %a "$T/after.img")" = 600 ]; then
    echo "PASS: exported image is mode 0600"
    passed=$((passed + 1))
else
    echo "FAIL: exported image mode $(stat -c %a "$T/after.img")"
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
