#!/bin/sh
# The whole TEE-IO flow through real processes: trustvio-dsm (the device),
# trustvio-tsm (the TSM), tsm-host (the untrusted host relaying to the
# device) and tsm-guest (the TVM's accept flow): connect -> bind ->
# add-region -> accept (RUN) -> stop -> unbind -> disconnect, with the time
# of one connect + bind + accept; then the attacks, each one detected and
# the TVM refusing the interface: a tampered record, a replayed record, an
# old interface report replayed, a different device answering after
# connect, a chain under another root, measurements changed between runs,
# a configuration change after LOCK, the host unbinding while the TVM
# runs; and TVM 2 cannot read or start TVM 1's interface.
# Usage: tsm_flow.sh DSM TSMD TSM_HOST TSM_GUEST TDISP
set -u

# shellcheck source=SCRIPTDIR/tee_lib.sh
. "$(dirname "$0")/tee_lib.sh"
dsm2_pid=""

stop_all() {
    relay_stop
    stop_pid "$dsm2_pid"
    dsm2_pid=""
}

show_failure() {
    show_relay
}
tee_relay_init tsmflow "$@"

# start_dsm PKI_DIR ADMIN_SOCKET MEASUREMENT_FILE: prints "PID PORT"
start_dsm() {
    for try in 1 2 3 4 5 6 7 8; do
        port=$(tee_port "$try" $((${#1} * 131)))
        "$DSM" --port "$port" --pki "$1" --admin-socket "$2" \
            --tdi "$FUNC=0xfe000000+16k/0,0xfe004000+4k/1" \
            --measurement "1:firmware=$3" \
            --measurement "2:fw-config=$T/conf.txt" \
            --measurement "3:rom=sha384:$(printf '%096d' 7)" \
            > /dev/null 2>> "$T/dsm.log" &
        p=$!
        if wait_ready "$p" 0.1 dsm_admin_up "$2"; then
            echo "$p $port"
            return 0
        fi
        stop_pid "$p"
    done
    gave_up trustvio-dsm "$T/dsm.log" >&2
}

# fresh [tsm-host options]: a new device, TSM and relay
fresh() {
    stop_all
    set -- $(start_dsm "$T/pki" "$T/admin" "$T/fw.bin") "$@"
    dsm_pid=$1
    DSM_PORT=$2
    shift 2
    start_tsm 1 2
    host_start "$@"
}

# connect and bind TVM 1 to IF, add both regions; fails with the failed
# command's result line in $last
setup() {
    host connect 1 && host bind 1 "$IF" &&
        host add-region 1 "$IF" 0xfe000000 0x4000 &&
        host add-region 1 "$IF" 0xfe004000 0x1000
}

# refused DESCRIPTION PATTERN: the last accept failed naming PATTERN
refused() {
    if [ "$grc" -eq 1 ] && grep -q -- "$2" "$T/gerr"; then
        ok "$1"
    else
        bad "$1 (exit $grc, no '$2')"
    fi
}

hexof() {
    od -An -v -tx1 "$1" | tr -d ' \n'
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

head -c 4096 /dev/urandom > "$T/fw.bin"
head -c 4096 /dev/urandom > "$T/fw2.bin"
printf 'queues=4' > "$T/conf.txt"

# --- usage: exit 2 before any connection
"$HOST" --help > "$T/gout" && grep -q "^  run " "$T/gout" &&
    "$GUEST" --help > "$T/gout" && grep -q "^  accept IF" "$T/gout" &&
    ok "--help of both tools" || bad "--help"
usage2 "tsm-host: unknown command" "$HOST" --tsm=/nonexistent bogus
usage2 "tsm-host: connect without a device id" "$HOST" --tsm=/nonexistent connect x
usage2 "tsm-host: --replay=N@M with M <= N" "$HOST" --replay=5@3 connect 1
usage2 "tsm-host: --dsm-port and --doe" "$HOST" --dsm-port=1 --doe=0000:00:01.0 connect 1
usage2 "tsm-guest: accept without --root" "$GUEST" --tsm=/nonexistent accept "$IF"
usage2 "tsm-guest: a malformed interface" "$GUEST" --tsm=/nonexistent state 1/zz
printf '1=abc\n' > "$T/badpolicy"
usage2 "tsm-guest: a malformed policy" "$GUEST" --tsm=/nonexistent \
    --policy="$T/badpolicy" accept "$IF"
grep -q "policy line 1" "$T/gerr" && ok "the malformed policy's line is named" ||
    bad "malformed policy message"

# --- the whole flow
fresh
# the policy: the reference values the device reports to a direct SPDM
# requester (tdisp), block 1 also checked against the firmware file
"$TDISP" --port "$DSM_PORT" --root "$T/pki/ca.pem" measurements \
    > "$T/meas" 2>&1 || { echo "tdisp measurements failed"; cat "$T/meas"; exit 1; }
{
    echo "# trustvio-dsm of this test"
    sed -n 's/^measurement \([0-9]*\): type [0-9]* [a-z]* \([0-9a-f]*\)$/\1=\2/p' "$T/meas"
} > "$T/policy"
fw_digest=$(openssl dgst -sha384 -r "$T/fw.bin" | cut -d' ' -f1)
grep -qx "1=$fw_digest" "$T/policy" && [ "$(grep -c '=' "$T/policy")" -eq 3 ] &&
    ok "policy: 3 blocks, block 1 the SHA-384 of the firmware" ||
    bad "policy from tdisp measurements"
# tdisp's connection ended: the device resets its SPDM state
# --- the whole flow
fresh
t0=$(now_ms)
if ! setup; then
    bad "setup: $last"
else
    accept
    t1=$(now_ms)
    if [ "$grc" -eq 0 ] && grep -q "^accept $IF: Running" "$T/gout"; then
        ok "connect, bind, add-region, accept: the interface runs"
        c_ms=$(sed -n 's/^connect 1: .*relay(s), \([0-9.]*\) ms$/\1/p' "$T/hout")
        b_ms=$(sed -n "s|^bind 1 $IF: .*relay(s), \([0-9.]*\) ms$|\1|p" "$T/hout")
        a_ms=$(sed -n 's/^accept .* poll(s), \([0-9.]*\) ms$/\1/p' "$T/gout")
        echo "time of one connect + bind + accept: connect $c_ms ms, bind" \
            "$b_ms ms, accept $a_ms ms (as the tools measure them); $((t1 - t0))" \
            "ms wall clock including this script's polling"
    else
        bad "accept (exit $grc)"
    fi
    conn_relays=$(sed -n 's/^connect 1: SBI_SUCCESS value 0, \([0-9]*\) relay.*/\1/p' "$T/hout")
    bind_relays=$(sed -n "s|^bind 1 $IF: SBI_SUCCESS value 0, \([0-9]*\) relay.*|\1|p" "$T/hout")
    [ -n "$conn_relays" ] && [ "$bind_relays" = 6 ] &&
        ok "connect took $conn_relays relays, bind 6" ||
        bad "relay counts: connect '$conn_relays', bind '$bind_relays'"
    grep -q "relay [0-9]*: bind_interface (1028) secured" "$T/herr" &&
        grep -q "relay 1: connect_device (1024), " "$T/herr" &&
        ok "the relay used CMA/SPDM before the session and Secured CMA/SPDM in it" ||
        bad "trace: plain and secured relays"
    "$GUEST" --tsm="$T/tvm1.sock" state "$IF" > "$T/gout" 2> "$T/gerr" &&
        grep -q "state $IF: Running" "$T/gout" &&
        ok "state: Running" || bad "state after accept"
    "$GUEST" --tsm="$T/tvm1.sock" --json report "$IF" > "$T/gout" 2> "$T/gerr" &&
        grep -q '"first_page":"0xfe000000","pages":4' "$T/gout" &&
        ok "report: the device's ranges" || bad "report"
    # TVM 2 can neither read nor start TVM 1's interface
    for c in state report measurements start stop; do
        if "$GUEST" --tsm="$T/tvm2.sock" "$c" "$IF" > "$T/gout" 2> "$T/gerr"; then
            bad "TVM 2 $c on TVM 1's interface succeeded"
        elif grep -q "SBI_ERR_INVALID_PARAM" "$T/gerr"; then
            ok "TVM 2 $c on TVM 1's interface: SBI_ERR_INVALID_PARAM"
        else
            bad "TVM 2 $c: no SBI_ERR_INVALID_PARAM"
        fi
    done
    host heartbeat 1 && host key-update 1 && host heartbeat 1 &&
        ok "heartbeat, key update, heartbeat while running" ||
        bad "heartbeat/key-update: $last"
    host transcript 1 certificate && ok "host transcript: $last" ||
        bad "host transcript: $last"
    # calls that need no relay work from a second host process, in JSON
    "$HOST" --tsm="$T/host.sock" --json --out="$T/chain.der" transcript 1 \
        certificate > "$T/gout" 2> "$T/gerr" &&
        grep -q '^{"command":"transcript","args":\["1","certificate"\],"ok":true,"error":"SBI_SUCCESS"' "$T/gout" &&
        openssl x509 -inform DER -in "$T/chain.der" -noout 2> /dev/null &&
        ok "tsm-host --json transcript, --out: the chain starts with a certificate" ||
        bad "tsm-host --json transcript"
    "$GUEST" --tsm="$T/tvm1.sock" --json state "$IF" > "$T/gout" 2> "$T/gerr" &&
        grep -qx '{"command":"state","ok":true,"state":"Running"}' "$T/gout" &&
        ok "tsm-guest --json state" || bad "tsm-guest --json state"
    # the TVM stops; the host relays it
    "$GUEST" --tsm="$T/tvm1.sock" stop "$IF" > "$T/gout" 2> "$T/gerr" &&
        host action 1 &&
        "$GUEST" --tsm="$T/tvm1.sock" state "$IF" > "$T/gout" 2> "$T/gerr" &&
        grep -q "state $IF: Unlocked" "$T/gout" &&
        ok "TVM stop relayed by tee_io_action: Unlocked" ||
        bad "TVM stop: $last"
    host unbind 1 "$IF" && ok "unbind" || bad "unbind: $last"
    host disconnect 1 && ok "disconnect" || bad "disconnect: $last"
fi

# --- a tampered record: a byte flipped in bind's LOCK answer
fresh
host connect 1
n=$(sed -n 's/^connect 1: SBI_SUCCESS value 0, \([0-9]*\) relay.*/\1/p' "$T/hout")
host_end
fresh --tamper=$((n + 4))
if setup; then
    bad "tampered record: bind succeeded"
else
    grep -q "relay $((n + 4)): bind_interface (1028) secured.*tampered" "$T/herr" &&
        echo "$last" | grep -q "SBI_ERR_FAILED" &&
        ok "tampered record: bind fails with SBI_ERR_FAILED" ||
        bad "tampered record: $last"
    accept
    refused "tampered record: the TVM refuses" "no secure SPDM session"
    host disconnect 1 && ok "tampered record: disconnect frees the device" ||
        bad "disconnect after tamper: $last"
fi

# --- a replayed record: bind's first answer sent again for the second
fresh --replay=$((n + 1))
if setup; then
    bad "replayed record: bind succeeded"
else
    grep -q "relay $((n + 2)): bind_interface (1028) secured.*replayed answer $((n + 1))" "$T/herr" &&
        echo "$last" | grep -q "SBI_ERR_FAILED" &&
        ok "replayed record: bind fails with SBI_ERR_FAILED" ||
        bad "replayed record: $last"
    accept
    refused "replayed record: the TVM refuses" "no secure SPDM session"
fi

# --- an old interface report: the first bind's report answer replayed to
# the second bind (bind: measurements, version, capabilities, lock,
# report, state)
r1=$((n + 5))
r2=$((n + 6 + 1 + 5))
fresh --replay=$r1@$r2
host connect 1 && host bind 1 "$IF" && host unbind 1 "$IF" ||
    bad "old report: first bind: $last"
if host bind 1 "$IF"; then
    bad "old report: the second bind succeeded"
else
    grep -q "relay $r2: bind_interface (1028) secured.*replayed answer $r1" "$T/herr" &&
        ok "old report replayed: bind fails ($last)" ||
        bad "old report: $last"
    accept
    refused "old report replayed: the TVM refuses" "no secure SPDM session"
fi

# --- a different device answering after connect
set -- $(start_dsm "$T/pki2" "$T/admin2" "$T/fw.bin")
fresh
dsm2_pid=$1
dsm2_port=$2
host connect 1 && host device-port "$dsm2_port" ||
    bad "different device: connect: $last"
if host bind 1 "$IF"; then
    bad "different device: bind succeeded"
else
    ok "different device after connect: bind fails ($last)"
    accept
    refused "different device after connect: the TVM refuses" \
        "no secure SPDM session"
fi
host_end
# ... and a device whose chain is under another root
stop_pid "$tsm_pid"
start_tsm 1 2
DSM_SAVE=$DSM_PORT
DSM_PORT=$dsm2_port
host_start
if setup; then
    accept
    refused "chain under another root: the TVM refuses" \
        "does not verify under the pinned root"
    accept --json
    [ "$grc" -eq 1 ] &&
        grep -q '^{"command":"accept","ok":false,"step":"certificate","reason":"certificate: ' "$T/gout" &&
        ok "--json refusal names the step" || bad "--json refusal"
else
    bad "setup on the other device: $last"
fi
DSM_PORT=$DSM_SAVE

# --- measurements changed between runs: the device restarted with
# another firmware
stop_all
set -- $(start_dsm "$T/pki" "$T/admin" "$T/fw2.bin")
dsm_pid=$1
DSM_PORT=$2
start_tsm 1 2
host_start
if setup; then
    accept
    refused "measurements changed: the TVM refuses" \
        "measurements: block 1 differs from the policy"
else
    bad "setup: $last"
fi

# --- a configuration change after LOCK
fresh
if setup; then
    "$TDISP" admin --admin-socket "$T/admin" config-write "$FUNC" \
        > /dev/null 2>&1 || bad "admin config-write"
    accept
    refused "configuration change after LOCK: the TVM sees Error" \
        "went Error"
else
    bad "setup: $last"
fi

# --- the host unbinding while the TVM runs
fresh
if setup; then
    accept
    [ "$grc" -eq 0 ] || bad "accept before unbind (exit $grc)"
    host unbind 1 "$IF" || bad "unbind while running: $last"
    if "$GUEST" --tsm="$T/tvm1.sock" state "$IF" > "$T/gout" 2> "$T/gerr"; then
        bad "the TVM still sees the interface after the host unbound it"
    elif grep -q "SBI_ERR_INVALID_PARAM" "$T/gerr"; then
        ok "host unbind while running: the TVM loses the interface"
    else
        bad "unbind while running: no SBI_ERR_INVALID_PARAM"
    fi
    "$TDISP" admin --admin-socket "$T/admin" state "$FUNC" 2>&1 |
        grep -q "CONFIG_UNLOCKED" &&
        ok "host unbind while running: the device is stopped" ||
        bad "device state after unbind"
else
    bad "setup: $last"
fi

# --- the TSM restarts under a running relay: the next command fails, the
# one after it opens a new connection (to a TSM that knows no device)
fresh
if host connect 1; then
    stop_pid "$tsm_pid"
    start_tsm 1 2
    if host heartbeat 1; then
        bad "heartbeat through a dead TSM connection succeeded"
    else
        host heartbeat 1
        case "$last" in
        *SBI_ERR_INVALID_PARAM*) ok "relay reconnects after the TSM restarts" ;;
        *) bad "after the TSM restart: $last" ;;
        esac
        host connect 1 && ok "connect again on the new TSM" ||
            bad "connect on the new TSM: $last"
    fi
else
    bad "connect: $last"
fi
stop_all

echo "passed: $passed, failed: $failed"
[ "$failed" -eq 0 ]
