# Shared by the TEE-IO integration scripts (tdisp_dsm.sh, dsm_privsep.sh,
# tsm_flow.sh, tsm_ide.sh), sourced from the directory of the script:
#     . "$(dirname "$0")/tee_lib.sh"
# The script then defines stop_all (stop what it started) and show_failure
# (what a FAIL prints after its line) and calls tee_init NAME. The relay
# helpers at the end (tee_relay_init sets all but DSM_PORT) want HOST,
# GUEST, TSMD, IF, RANGES and DSM_PORT.

passed=0
failed=0

# tee_init NAME: a fresh directory in $T, removed (and every process the
# script started stopped) on exit
tee_init() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/tv-$1.XXXXXX")
    trap tee_cleanup EXIT
    # a reader that went away must fail a write, not kill the script (and
    # skip the cleanup)
    trap "" PIPE
}

tee_cleanup() {
    stop_all
    rm -rf "$T"
}

ok() {
    echo "PASS: $1"
    passed=$((passed + 1))
}

bad() {
    echo "FAIL: $1"
    show_failure
    failed=$((failed + 1))
}

# stop_pid [PID]: kill it and reap it; nothing when PID is empty
stop_pid() {
    if [ -n "$1" ]; then
        kill "$1" 2>/dev/null
        wait "$1" 2>/dev/null
    fi
}

# tee_port TRY [SALT]: a port in 20000..49999 for start-up attempt TRY, the
# same for the same script process, TRY and SALT
tee_port() {
    echo $(( (($$ + $1 * 7919 + ${2:-0}) % 30000) + 20000 ))
}

# wait_ready PID PAUSE COMMAND...: run COMMAND up to 20 times, PAUSE
# seconds apart, until it succeeds (0) or PID is gone (1); 1 when it never
# succeeded
wait_ready() {
    wr_pid=$1
    wr_pause=$2
    shift 2
    for wr_i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        if "$@"; then
            return 0
        fi
        kill -0 "$wr_pid" 2>/dev/null || return 1
        sleep "$wr_pause"
    done
    return 1
}

# dsm_admin_up SOCKET: trustvio-dsm answers on its admin socket
dsm_admin_up() {
    "$TDISP" admin --admin-socket "$1" list > /dev/null 2>&1
}

# gave_up WHAT LOG: a daemon that did not start ends the script
gave_up() {
    echo "cannot start $1:"
    cat "$2"
    exit 1
}

# wait_gone PID TIMES PAUSE: wait up to TIMES x PAUSE seconds for PID to end
wait_gone() {
    wg_i=0
    while kill -0 "$1" 2>/dev/null && [ $wg_i -lt "$2" ]; do
        sleep "$3"
        wg_i=$((wg_i + 1))
    done
}

# reap PID: wait up to 5 s for PID to end by itself, its exit status in $rc
reap() {
    wait_gone "$1" 25 0.2
    wait "$1"
    rc=$?
}

# --- trustvio-tsm and the tsm-host relay (tsm_flow.sh, tsm_ide.sh)

# tee_relay_init NAME DSM TSMD TSM_HOST TSM_GUEST TDISP: the arguments of
# the relay scripts (exit 77 when TSMD is not built), the device interface
# they use, then tee_init NAME
tee_relay_init() {
    DSM=$2
    TSMD=$3
    HOST=$4
    GUEST=$5
    TDISP=$6
    if [ ! -x "$TSMD" ]; then
        echo "SKIP: $TSMD is not built"
        exit 77
    fi
    dsm_pid=""
    tsm_pid=""
    host_pid=""
    FUNC=01:00.0
    IF=1/$FUNC
    RANGES=0xfe000000+16k,0xfe004000+4k
    tee_init "$1"
}

# relay_stop: the relay, trustvio-tsm and trustvio-dsm
relay_stop() {
    host_end
    stop_pid "$tsm_pid"
    tsm_pid=""
    stop_pid "$dsm_pid"
    dsm_pid=""
}

# show_relay: the last lines of the guest's and the relay's output
show_relay() {
    for f in gout gerr hout herr; do
        [ -f "$T/$f" ] && sed "s/^/  $f: /" "$T/$f" | tail -20
    done
}

# usage2 DESCRIPTION COMMAND...: the command exits 2 with a message
usage2() {
    d=$1
    shift
    "$@" > "$T/gout" 2> "$T/gerr"
    rc=$?
    if [ "$rc" -eq 2 ] && [ -s "$T/gerr" ]; then ok "$d"; else bad "$d (exit $rc)"; fi
}

# tsm_up ID: the host socket and TVM ID's socket are there
tsm_up() {
    [ -S "$T/host.sock" ] && [ -S "$T/tvm$1.sock" ]
}

# start_tsm ID...: trustvio-tsm with $T/host.sock and $T/tvmID.sock for
# each TVM ID, in tsm_pid once the sockets are there
start_tsm() {
    rm -f "$T/host.sock"
    st_n=$#
    for st_id; do
        rm -f "$T/tvm$st_id.sock"
        set -- "$@" "--tvm=$st_id:$T/tvm$st_id.sock"
    done
    shift "$st_n"
    "$TSMD" --host-socket="$T/host.sock" "$@" 2>> "$T/tsm.log" &
    tsm_pid=$!
    wait_ready "$tsm_pid" 0.1 tsm_up "$st_id" || gave_up trustvio-tsm "$T/tsm.log"
}

# host_start [tsm-host options]: a relay reading commands from a FIFO
host_start() {
    rm -f "$T/hin"
    mkfifo "$T/hin"
    : > "$T/hout"
    "$HOST" --tsm="$T/host.sock" --dsm-port="$DSM_PORT" --trace "$@" run \
        < "$T/hin" > "$T/hout" 2> "$T/herr" &
    host_pid=$!
    exec 3> "$T/hin"
    host_lines=0
}

# host COMMAND...: one command through the relay; its result line in
# $last; fails when the relay reported an error
host() {
    echo "$*" >&3
    host_lines=$((host_lines + 1))
    i=0
    while [ "$(wc -l < "$T/hout")" -lt "$host_lines" ]; do
        if [ $i -ge 6000 ] || ! kill -0 "$host_pid" 2>/dev/null; then
            last="error: tsm-host gave no answer to '$*'"
            return 1
        fi
        sleep 0.005
        i=$((i + 1))
    done
    last=$(sed -n "${host_lines}p" "$T/hout")
    case "$last" in
    error:*) return 1 ;;
    esac
    return 0
}

# host_sync: wait until the relay has answered every command sent
host_sync() {
    i=0
    while [ "$(wc -l < "$T/hout")" -lt "$host_lines" ] && [ $i -lt 1500 ]; do
        sleep 0.01
        i=$((i + 1))
    done
}

# host_end: close the relay's input and reap it
host_end() {
    if [ -n "$host_pid" ]; then
        exec 3>&-
        # the relay ends at the end of its input; stop it if it hangs
        wait_gone "$host_pid" 100 0.05
        stop_pid "$host_pid"
        host_pid=""
    fi
}

# accept [tsm-guest options]: the TVM's accept flow while the host relays
# queued work with tee_io_action; the guest's exit status in $grc
accept() {
    "$GUEST" --tsm="$T/tvm1.sock" accept "$IF" --root="$T/pki/ca.pem" \
        --policy="$T/policy" --expect-mmio="$RANGES" --timeout=10 "$@" \
        > "$T/gout" 2> "$T/gerr" &
    gpid=$!
    # tee_io_action every few milliseconds, answers collected at the end
    while kill -0 "$gpid" 2>/dev/null; do
        echo "action 1" >&3
        host_lines=$((host_lines + 1))
        sleep 0.002
    done
    wait "$gpid"
    grc=$?
    host_sync
}
