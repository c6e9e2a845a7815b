#!/bin/sh
# The main job on defaults: start vhost-user-nsm and vhost-user-rpmb, walk
# through every operation with the project's own CLIs over vhost-user (the
# in-project frontend plays VMM and virtio driver), verify an attestation
# document against the PKI root, and read an RPMB write back after a daemon
# restart. State lives under var/demo (ignored by git). Leaves no process.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
NSMD=$B/src/daemon/vhost-user-nsm
RPMBD=$B/src/daemon/vhost-user-rpmb
NSM=$B/tools/nsm
RPMB=$B/tools/rpmb
for f in "$NSMD" "$RPMBD" "$NSM" "$RPMB"; do
    [ -x "$f" ] || { echo "demo: $f missing: run 'make build' first" >&2; exit 1; }
done

D=$(pwd)/var/demo
mkdir -p "$D"
chmod 700 "$D"
NSM_SOCK=$D/nsm.sock
RPMB_SOCK=$D/rpmb.sock
nsm_pid=""
rpmb_pid=""

stop() {
    # $1: pid variable name
    eval "pid=\${$1}"
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    eval "$1=''"
}
cleanup() {
    stop nsm_pid
    stop rpmb_pid
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
    printf '\n\033[1m==> %s\033[0m\n' "$*"
}
run() {
    printf '  $ %s\n' "$*"
    "$@" 2>&1 | sed 's/^/    /'
}
wait_socket() {
    i=0
    while [ ! -S "$1" ]; do
        i=$((i + 1))
        [ $i -lt 200 ] || { echo "demo: daemon did not create $1" >&2; exit 1; }
        sleep 0.05
    done
}

start_nsm() {
    "$NSMD" --socket-path="$NSM_SOCK" --pki="$D/pki" --keep-state --quiet \
        --module-id=i-0123456789abcdef0-enc0123456789abcdef \
        --parent-id=i-0123456789abcdef0 &
    nsm_pid=$!
    wait_socket "$NSM_SOCK"
}
start_rpmb() {
    "$RPMBD" --socket-path="$RPMB_SOCK" --store="$D/rpmb.db" \
        --capacity=1M --max-wr-cnt=4 --max-rd-cnt=8 --quiet &
    rpmb_pid=$!
    wait_socket "$RPMB_SOCK"
}

step "NSM: start vhost-user-nsm (PKI in var/demo/pki, created on first use)"
start_nsm
echo "  listening on $NSM_SOCK (pid $nsm_pid)"
export TRUSTVIO_NSM_SOCKET="$NSM_SOCK"

step "NSM: DescribeNSM"
run "$NSM" describe
step "NSM: DescribePCR 4 (parent instance id, locked at boot) and 16 (zero)"
run "$NSM" describe-pcr 4
run "$NSM" describe-pcr 16
step "NSM: ExtendPCR 16 with 0b00374863ff5c65 (a real-hardware vector)"
run "$NSM" extend-pcr 16 --data 0b00374863ff5c65
step "NSM: LockPCR 16, then ExtendPCR 16 is refused (ReadOnlyIndex)"
run "$NSM" lock-pcr 16
printf '  $ %s\n' "$NSM extend-pcr 16 --data 00"
if "$NSM" extend-pcr 16 --data 00 2>&1 | sed 's/^/    /'; then :; fi
step "NSM: LockPCRs 20 (locks 0..19)"
run "$NSM" lock-pcrs 20
step "NSM: GetRandom, 32 bytes"
run "$NSM" random --bytes 32
step "NSM: Attestation with a nonce and user data"
nonce=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
run "$NSM" attest --nonce "$nonce" --user-data 68656c6c6f -o "$D/doc.cose"
echo "  document: $(wc -c < "$D/doc.cose") bytes in var/demo/doc.cose"
step "NSM: verify the document against the PKI root"
run "$NSM" verify "$D/doc.cose" --root "$D/pki/root.pem" --nonce "$nonce" \
    --max-age 60
step "NSM: restart the daemon: the next connection finds a fresh device"
stop nsm_pid
start_nsm
run "$NSM" describe-pcr 16

step "RPMB: start vhost-user-rpmb (1 MiB, store var/demo/rpmb.db)"
fresh=0
[ -f "$D/rpmb.db" ] || fresh=1
start_rpmb
echo "  listening on $RPMB_SOCK (pid $rpmb_pid)"
export TRUSTVIO_RPMB_SOCKET="$RPMB_SOCK"
run "$RPMB" info
if [ $fresh -eq 1 ]; then
    step "RPMB: program the one-time key (kept in var/demo/rpmb.key, 0600)"
    (umask 077 && head -c 32 /dev/urandom > "$D/rpmb.key")
    run "$RPMB" program-key "$D/rpmb.key"
else
    step "RPMB: the store from an earlier run already holds its key"
fi
step "RPMB: read the write counter (MAC and nonce checked)"
run "$RPMB" read-counter --key "$D/rpmb.key"
step "RPMB: authenticated write of 3 blocks at block 8"
{ date -u; i=0; while [ $i -lt 24 ]; do
    printf 'trustvio demo data, line %02d\n' $i; i=$((i + 1)); done; } > "$D/data.txt"
run "$RPMB" write 8 "$D/data.txt" --key "$D/rpmb.key" --pad
step "RPMB: restart the daemon (state is in the store)"
stop rpmb_pid
start_rpmb
step "RPMB: read the 3 blocks back and compare"
run "$RPMB" read 8 3 --key "$D/rpmb.key" -o "$D/readback.bin"
n=$(wc -c < "$D/data.txt")
if head -c "$n" "$D/readback.bin" | cmp -s - "$D/data.txt"; then
    echo "  read back: identical ($n bytes): $(head -n1 "$D/data.txt")"
else
    echo "demo: read-back differs" >&2
    exit 1
fi
run "$RPMB" read-counter --key "$D/rpmb.key"
step "RPMB: a read with the wrong key is reported as tampering/wrong key"
(umask 077 && head -c 32 /dev/urandom > "$D/wrong.key")
printf '  $ %s\n' "$RPMB read 8 1 --key wrong.key -o /dev/null"
if "$RPMB" read 8 1 --key "$D/wrong.key" -o /dev/null 2>&1 | sed 's/^/    /'; then :; fi

step "done: daemons stopped, state kept in var/demo"
