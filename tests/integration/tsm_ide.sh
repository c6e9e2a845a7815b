#!/bin/sh
# IDE streams through real processes: trustvio-dsm (the device and its
# IDE_KM responder), trustvio-tsm (the TSM and its root-port model),
# tsm-host (connect with an IDE stream, ide-refresh, a hostile relay) and
# tsm-guest (get_device_link, the accept flow). The device's key slots are
# read from its admin socket (tdisp admin ide): programmed and going after
# connect, the other key set going after each refresh, wiped when the
# session ends or the connection drops. A tampered KP_ACK fails the connect;
# the root port's stream is cleared (the same stream connects again) and
# the device's keys go with the session. The accept flow runs on an
# IDE-connected device.
# Usage: tsm_ide.sh DSM TSMD TSM_HOST TSM_GUEST TDISP
set -u

# shellcheck source=SCRIPTDIR/tee_lib.sh
. "$(dirname "$0")/tee_lib.sh"
STREAM=3
K0_GOING="stream 0:$STREAM K0=AAAAAA K1=------"
K1_GOING="stream 0:$STREAM K0=------ K1=AAAAAA"

stop_all() {
    relay_stop
}

show_failure() {
    show_relay
}
tee_relay_init tsmide "$@"

start_dsm() {
    for try in 1 2 3 4 5 6 7 8; do
        port=$(tee_port "$try" 4057)
        "$DSM" --port "$port" --pki "$T/pki" --admin-socket "$T/admin" \
            --tdi "$FUNC=0xfe000000+16k/0,0xfe004000+4k/1" \
            --measurement "1:firmware=$T/fw.bin" \
            > /dev/null 2>> "$T/dsm.log" &
        dsm_pid=$!
        if wait_ready "$dsm_pid" 0.1 dsm_admin_up "$T/admin"; then
            DSM_PORT=$port
            return 0
        fi
        stop_pid "$dsm_pid"
    done
    gave_up trustvio-dsm "$T/dsm.log"
}

# fresh [tsm-host options]: a new device, TSM and relay
fresh() {
    stop_all
    start_dsm
    start_tsm 1
    host_start "$@"
}

# slots: the device's IDE key slots, from its admin socket
slots() {
    "$TDISP" admin --admin-socket "$T/admin" ide 2> /dev/null
}

# slots_are DESCRIPTION EXPECTED
slots_are() {
    got=$(slots)
    if [ "$got" = "$2" ]; then
        ok "$1: $got"
    else
        bad "$1: device key slots '$got', expected '$2'"
    fi
}

# link_is DESCRIPTION EXPECTED-LINE-SUFFIX
link_is() {
    if "$GUEST" --tsm="$T/tvm1.sock" link "$IF" > "$T/gout" 2> "$T/gerr" &&
        grep -qx "link $IF: $2" "$T/gout"; then
        ok "$1: $2"
    else
        bad "$1: link not '$2'"
    fi
}

relays_of() {
    echo "$1" | sed -n 's/.*, \([0-9]*\) relay(s), .*/\1/p'
}

ms_of() {
    echo "$1" | sed -n 's/.* relay(s), \([0-9.]*\) ms.*/\1/p'
}

head -c 4096 /dev/urandom > "$T/fw.bin"

# --- usage: exit 2 before any connection
usage2 "connect: --rid without --ide-stream" \
    "$HOST" --tsm=/nonexistent connect 1 --rid=0-7
usage2 "connect: Stream ID over 255" \
    "$HOST" --tsm=/nonexistent connect 1 --ide-stream=256
usage2 "connect: a range not 1 MiB aligned" \
    "$HOST" --tsm=/nonexistent connect 1 --ide-stream=1 --addr=0xfe000000+4k
usage2 "connect: a reversed RID range" \
    "$HOST" --tsm=/nonexistent connect 1 --ide-stream=1 --rid=01:00.1-01:00.0
usage2 "ide-refresh: Stream ID over 255" \
    "$HOST" --tsm=/nonexistent ide-refresh 1 256
usage2 "tsm-guest link: a malformed interface" \
    "$GUEST" --tsm=/nonexistent link 1/zz
"$HOST" --help | grep -q -- "--ide-stream=ID" &&
    "$GUEST" --help | grep -q "^  link IF" &&
    ok "--help names connect --ide-stream and link" || bad "--help"

# --- connect with an IDE stream, the keys on both sides, refresh
fresh
slots_are "a new device holds no key" "none"
host connect 1 || bad "plain connect: $last"
plain_relays=$(relays_of "$last")
plain_ms=$(ms_of "$last")
host disconnect 1 || bad "plain disconnect: $last"
if host connect 1 --ide-stream=$STREAM --rid=01:00.0-01:00.7; then
    ide_relays=$(relays_of "$last")
    ide_ms=$(ms_of "$last")
    echo "$last" | grep -q "(IDE stream $STREAM, a RID association, 0 address block(s))$" &&
        ok "connect --ide-stream=$STREAM: $last" || bad "connect result: $last"
    # QUERY, six KEY_PROG, six K_SET_GO inside the session
    [ "$ide_relays" -eq $((plain_relays + 13)) ] &&
        ok "IDE connect: $ide_relays relays, $plain_relays + QUERY + 6 KEY_PROG + 6 K_SET_GO" ||
        bad "IDE connect relays: $ide_relays, plain $plain_relays"
    echo "time of connect: $plain_ms ms without IDE, $ide_ms ms with an IDE stream (as tsm-host measures them)"
    slots_are "after connect key set 0 goes" "$K0_GOING"
    host bind 1 "$IF" || bad "bind: $last"
    link_is "get_device_link after an IDE connect" "0x3 SECURED_SPDM PCIE_IDE"
    "$GUEST" --tsm="$T/tvm1.sock" --json link "$IF" > "$T/gout" 2> "$T/gerr" &&
        grep -qx '{"command":"link","ok":true,"link":3,"secured_spdm":true,"pcie_ide":true}' "$T/gout" &&
        ok "tsm-guest --json link" || bad "tsm-guest --json link"
    if host ide-refresh 1 $STREAM; then
        r1_relays=$(relays_of "$last")
        r1_ms=$(ms_of "$last")
        [ "$r1_relays" -eq 18 ] &&
            ok "ide-refresh: 18 relays (6 KEY_PROG, 6 K_SET_GO, 6 K_SET_STOP)" ||
            bad "ide-refresh relays: $last"
        # for information; bench_tsm times the refresh against its limit
        echo "ide-refresh: $r1_ms ms for $r1_relays relays"
        slots_are "after a refresh key set 1 goes, set 0 wiped" "$K1_GOING"
        link_is "get_device_link after the refresh" "0x3 SECURED_SPDM PCIE_IDE"
    else
        bad "ide-refresh: $last"
    fi
    host ide-refresh 1 $STREAM && slots_are "a second refresh: back to key set 0" "$K0_GOING" ||
        bad "second ide-refresh: $last"
    host ide-refresh 1 $((STREAM + 1))
    case "$last" in
    error:*SBI_ERR_INVALID_PARAM*) ok "ide-refresh of another stream: SBI_ERR_INVALID_PARAM" ;;
    *) bad "ide-refresh of another stream: $last" ;;
    esac
    slots_are "... and the keys stay" "$K0_GOING"
    # the accept flow on the IDE-connected device
    host add-region 1 "$IF" 0xfe000000 0x4000 &&
        host add-region 1 "$IF" 0xfe004000 0x1000 || bad "add-region: $last"
    printf '1=%s\n' "$(openssl dgst -sha384 -r "$T/fw.bin" | cut -d' ' -f1)" > "$T/policy"
    accept
    [ "$grc" -eq 0 ] && grep -q "^accept $IF: Running" "$T/gout" &&
        ok "accept on the IDE-connected device: Running" ||
        bad "accept on the IDE-connected device (exit $grc)"
    link_is "get_device_link while running" "0x3 SECURED_SPDM PCIE_IDE"
    slots_are "the keys while running" "$K0_GOING"
    "$GUEST" --tsm="$T/tvm1.sock" stop "$IF" > "$T/gout" 2> "$T/gerr" &&
        host action 1 && host unbind 1 "$IF" || bad "stop, unbind: $last"
    if host disconnect 1; then
        d_relays=$(relays_of "$last")
        [ "$d_relays" -eq 7 ] &&
            ok "disconnect: 7 relays (6 K_SET_STOP, END_SESSION)" ||
            bad "disconnect relays: $last"
        slots_are "disconnect clears the device's keys" "none"
    else
        bad "disconnect: $last"
    fi
    # the root port's stream was cleared: the same stream connects again
    host connect 1 --ide-stream=$STREAM &&
        slots_are "the same stream connects again" "$K0_GOING" ||
        bad "connect again: $last"
    host bind 1 "$IF" || bad "bind again: $last"
    # the connection drops with keys going: the device wipes them; the TSM
    # sees it at its next relayed call
    host_end
    slots_are "the relay's connection drops: the device wipes its keys" "none"
    link_is "the TSM has not relayed since" "0x3 SECURED_SPDM PCIE_IDE"
    host_start
    host heartbeat 1
    case "$last" in
    error:*SBI_ERR_FAILED*) ok "the next relayed call fails: the session is gone" ;;
    *) bad "heartbeat after the device reset: $last" ;;
    esac
    link_is "... and the link is down" "0x0 (none)"
    host_end
else
    bad "connect --ide-stream=$STREAM: $last"
    ide_relays=0
fi

# --- descriptors refused: by the root port (no relay), by the device
fresh
host connect 1 --ide-stream=$STREAM --addr=0x100000+1m --addr=0x200000+1m --addr=0x300000+1m
case "$last" in
error:*SBI_ERR_INVALID_PARAM\ value\ 0,\ 0\ relay*) ok "3 address blocks: the root port refuses, no relay" ;;
*) bad "3 address blocks: $last" ;;
esac
host connect 1 --ide-stream=$STREAM --addr=0xfe000000+1m
case "$last" in
error:*SBI_ERR_DENIED*) ok "an address block the device lacks: SBI_ERR_DENIED" ;;
*) bad "an address block the device lacks: $last" ;;
esac
host disconnect 1 && host connect 1 --ide-stream=$STREAM &&
    slots_are "after the refusal the stream connects" "$K0_GOING" ||
    bad "connect after a refusal: $last"
host_end

# --- a tampered KP_ACK: the fourth KEY_PROG's answer (QUERY is relay
# ide_relays - 12, the first KEY_PROG the next one)
if [ "$ide_relays" -gt 13 ]; then
    nt=$((ide_relays - 12 + 4))
    fresh --tamper=$nt
    if host connect 1 --ide-stream=$STREAM; then
        bad "tampered KP_ACK: connect succeeded"
    else
        grep -q "relay $nt: connect_device (1024) secured.*tampered" "$T/herr" &&
            echo "$last" | grep -q "SBI_ERR_FAILED" &&
            ok "tampered KP_ACK: connect fails with SBI_ERR_FAILED" ||
            bad "tampered KP_ACK: $last"
        # the device acknowledged four keys; the TSM trusts none of them
        slots_are "tampered KP_ACK: the device holds the four keys it acknowledged" \
            "stream 0:$STREAM K0=PPPP-- K1=------"
        host disconnect 1 || bad "tampered KP_ACK: disconnect: $last"
        # a new connect ends the device's old session: its keys go
        host connect 1 && slots_are "tampered KP_ACK: the next session starts with no key" "none" ||
            bad "tampered KP_ACK: plain connect: $last"
        host disconnect 1 || bad "disconnect: $last"
        # the root port kept nothing: the same stream is programmed again
        host connect 1 --ide-stream=$STREAM &&
            slots_are "tampered KP_ACK: the root port's stream was cleared, it connects again" \
                "$K0_GOING" || bad "tampered KP_ACK: connect again: $last"
    fi
else
    bad "tampered KP_ACK: no IDE connect relay count"
fi

# --- tsm-host --json connect with an IDE stream (one process, one call):
# the descriptor with a RID range and an address block, which this device
# refuses (its QUERY_RESP has no address association block)
host_end
"$HOST" --tsm="$T/host.sock" --dsm-port="$DSM_PORT" --json connect 2 \
    --ide-stream=5 --rid=0x100-0x107 --addr=0x1fe000000+2m > "$T/gout" 2> "$T/gerr"
rc=$?
# Stream 5, one block; RID 1: limit 0x107 << 8; RID 2: base 0x100 << 8 | V;
# address 1: limit 0x1fe1fffff bits 31:20 (0xfe1) << 20 | base bits 31:20
# (0xfe0) << 8 | V; address 2 and 3: the upper halves, 1
[ "$rc" -eq 1 ] &&
    grep -q '^{"command":"connect","args":\["2","--ide-stream=5","--rid=0x100-0x107","--addr=0x1fe000000+2m"\],"ok":false,"error":"SBI_ERR_DENIED".*,"ide":{"stream":5,"rid":"01:00.0-01:00.7","addr_blocks":1,"desc":"050100000007010001000100'"01e01ffe"'0100000001000000"}}$' "$T/gout" &&
    ok "tsm-host --json connect: the descriptor as the TSM got it, refused by the device" ||
    bad "tsm-host --json connect (exit $rc): $(cat "$T/gout")"
sleep 0.2
slots_are "the one-shot relay exited: the device wiped its keys" "none"
stop_all

echo "passed: $passed, failed: $failed"
[ "$failed" -eq 0 ]
