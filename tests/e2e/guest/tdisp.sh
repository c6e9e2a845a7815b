# tdisp over the NVMe function's DOE mailbox inside the e2e guest; sourced
# by /init (busybox sh) for e2etest=tdisp. The initramfs carries the
# project's tdisp CLI (with its shared libraries), the device CA to pin
# (/tdisp/ca.pem) and an unrelated CA (/tdisp/other.pem).
#
#   tdisp_main flow   the whole flow with --json and --chain-out, the chain
#                     as PEM between markers, the refusals
#   tdisp_main cc     lock report wait state report: while tdisp waits on
#                     /dev/ttyS1 the host writes the TDI's configuration
#                     through the DSM's admin socket, then sends a line
#
# Kernel command-line words: e2e.tstage=flow|cc, e2e.func=BB:DD.F (the TDI
# function id the DSM was given). Output for the host: E2E-STEP lines,
# E2E-TDISP-JSON <object> (flow), E2E-CC <object> (cc), E2E-CHAIN-BEGIN N /
# E2E-CHAIN-END around each certificate, E2E-FIGURE.

# tdisp_step PASS|FAIL NAME [DETAIL...]
tdisp_step() {
    sv=$1
    sn=$2
    shift 2
    echo "E2E-STEP $sv $sn${*:+ $*}"
}

# centiseconds since boot (/proc/uptime has two decimals)
tdisp_cs() {
    read -r up _ < /proc/uptime
    echo "${up%.*}${up#*.}"
}

# tdisp_find: set bdf to the first NVMe function (class 0x010802)
tdisp_find() {
    bdf=
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/class")" = 0x010802 ] || continue
        bdf=${d##*/}
        break
    done
    if [ -z "$bdf" ]; then
        tdisp_step FAIL "nvme_found:" "no class 0x010802 function"
        return 1
    fi
    d=/sys/bus/pci/devices/$bdf
    tdisp_step PASS nvme_found "$bdf $(cat "$d/vendor"):$(cat "$d/device")" \
        "BAR0 $(head -n 1 "$d/resource" | cut -d' ' -f1-2)"
    # 7.x lists the mailbox's protocols (one file per VID:TYPE) after its
    # own discovery at enumeration; 6.12 has no such directory
    if [ -d "$d/doe_features" ]; then
        feats=$(ls "$d/doe_features" | tr '\n' ' ')
        feats=${feats% }
        case " $feats " in
        *" 0001:01 "*) ;;
        *) feats_bad=1 ;;
        esac
        case " $feats " in
        *" 0001:02 "*) ;;
        *) feats_bad=1 ;;
        esac
        if [ -z "${feats_bad:-}" ]; then
            tdisp_step PASS kernel_doe_features "$feats"
        else
            tdisp_step FAIL "kernel_doe_features:" "'$feats' lacks" \
                "0001:01 (CMA/SPDM) or 0001:02 (secured CMA/SPDM)"
            return 1
        fi
    fi
    return 0
}

# tdisp_refuse NAME PATTERN ARGS...: tdisp must exit 1 with PATTERN on
# standard error
tdisp_refuse() {
    rname=$1
    rpat=$2
    shift 2
    /bin/tdisp --doe="$bdf" --root=/tdisp/ca.pem --function="$func" "$@" \
        > /tmp/r.out 2> /tmp/r.err < /dev/null
    rst=$?
    if [ $rst -eq 1 ] && grep -q -- "$rpat" /tmp/r.err; then
        tdisp_step PASS "$rname" "$(head -n 1 /tmp/r.err | cut -c 1-100)"
    else
        tdisp_step FAIL "$rname:" "exit $rst, stderr lacks '$rpat'"
        sed 's/^/  /' /tmp/r.out /tmp/r.err | head -n 10
        return 1
    fi
}

tdisp_flow() {
    frc=0
    t0=$(tdisp_cs)
    /bin/tdisp --doe="$bdf" --root=/tdisp/ca.pem --function="$func" \
        --chain-out=/tmp/chain- --json authenticate measurements session \
        version lock report start state stop state \
        > /tmp/flow.out 2> /tmp/flow.err < /dev/null
    st=$?
    t1=$(tdisp_cs)
    sed 's/^/E2E-TDISP-JSON /' /tmp/flow.out
    if [ $st -eq 0 ]; then
        tdisp_step PASS tdisp_flow "$(wc -l < /tmp/flow.out) steps over DOE"
        echo "E2E-FIGURE tdisp whole flow over DOE (10 steps, one" \
            "process): $(((t1 - t0) * 10)) ms (10 ms resolution)"
    else
        tdisp_step FAIL "tdisp_flow:" "exit $st"
        sed 's/^/  /' /tmp/flow.err
        frc=1
    fi
    n=0
    while [ -f "/tmp/chain-$n.pem" ]; do
        echo "E2E-CHAIN-BEGIN $n"
        cat "/tmp/chain-$n.pem"
        echo "E2E-CHAIN-END"
        n=$((n + 1))
    done
    if [ $n -ge 2 ]; then
        tdisp_step PASS chain_out "$n certificates written"
    else
        tdisp_step FAIL "chain_out:" "$n certificates written"
        frc=1
    fi

    # the refusals, each in its own process (a new SPDM connection on the
    # same mailbox: GET_VERSION starts over)
    tdisp_refuse refuse_report_before_lock INVALID_INTERFACE_STATE \
        report || frc=1
    tdisp_refuse refuse_start_wrong_nonce INVALID_NONCE \
        --nonce="$(printf '%064d' 0)" lock start || frc=1
    /bin/tdisp --doe="$bdf" --root=/tdisp/ca.pem --function="$func" \
        state stop state > /tmp/s.out 2>&1 < /dev/null
    st=$?
    if [ $st -eq 0 ] && grep -q '^state: ERROR' /tmp/s.out &&
        tail -n 1 /tmp/s.out | grep -q '^state: CONFIG_UNLOCKED'; then
        tdisp_step PASS stop_after_refused_start "ERROR, then CONFIG_UNLOCKED"
    else
        tdisp_step FAIL "stop_after_refused_start:" "exit $st"
        sed 's/^/  /' /tmp/s.out
        frc=1
    fi
    tdisp_refuse refuse_tdisp_without_session INVALID_REQUEST \
        --no-session state || frc=1
    /bin/tdisp --doe="$bdf" --root=/tdisp/other.pem authenticate \
        > /tmp/r.out 2> /tmp/r.err < /dev/null
    st=$?
    if [ $st -eq 1 ] && grep -q 'does not verify' /tmp/r.err; then
        tdisp_step PASS refuse_other_root "$(head -n 1 /tmp/r.err |
            cut -c 1-100)"
    else
        tdisp_step FAIL "refuse_other_root:" "exit $st"
        sed 's/^/  /' /tmp/r.out /tmp/r.err
        frc=1
    fi
    tdisp_refuse refuse_unknown_function "INVALID_INTERFACE (" \
        --function=0x1ffff state || frc=1
    return $frc
}

tdisp_cc() {
    crc=0
    if [ ! -c /dev/ttyS1 ]; then
        tdisp_step FAIL "cc_ttyS1:" "no /dev/ttyS1 for the host's go-ahead"
        return 1
    fi
    # canonical mode: tdisp's wait step reads one line ("go")
    stty -F /dev/ttyS1 icanon -echo 2> /dev/null
    : > /tmp/cc.out
    echo "E2E-CC-BEGIN"
    {
        /bin/tdisp --doe="$bdf" --root=/tdisp/ca.pem --function="$func" \
            --json lock report wait state report 2> /tmp/cc.err < /dev/ttyS1
        echo "$?" > /tmp/cc.rc
    } | while read -r line; do
        echo "E2E-CC $line"
        echo "$line" >> /tmp/cc.out
    done
    st=$(cat /tmp/cc.rc)
    sed 's/^/  /' /tmp/cc.err
    # the step after the host's write: the TDI is in ERROR
    if sed -n '/"step":"report","ok":true/,$p' /tmp/cc.out |
        grep -q '"step":"state","ok":true,"state":"ERROR"'; then
        tdisp_step PASS cc_state_error "state after the host's config-write"
    else
        tdisp_step FAIL "cc_state_error:" "no ERROR state after the report"
        crc=1
    fi
    if [ "$st" = 1 ] && grep -q 'INVALID_INTERFACE_STATE' /tmp/cc.err; then
        tdisp_step PASS cc_report_refused "after the configuration change" \
            "(exit 1, INVALID_INTERFACE_STATE)"
    else
        tdisp_step FAIL "cc_report_refused:" "exit $st"
        crc=1
    fi
    /bin/tdisp --doe="$bdf" --root=/tdisp/ca.pem --function="$func" \
        stop state > /tmp/s.out 2>&1 < /dev/null
    st=$?
    if [ $st -eq 0 ] && grep -q '^state: CONFIG_UNLOCKED' /tmp/s.out; then
        tdisp_step PASS cc_stop "ERROR left by STOP: CONFIG_UNLOCKED"
    else
        tdisp_step FAIL "cc_stop:" "exit $st"
        sed 's/^/  /' /tmp/s.out
        crc=1
    fi
    return $crc
}

tdisp_main() {
    tdisp_find || return 1
    if [ -z "$func" ] || [ "$bdf" != "0000:$func" ]; then
        tdisp_step FAIL "tdi_function:" "the DSM's TDI is '$func', the" \
            "NVMe function $bdf"
        return 1
    fi
    case $1 in
    flow) tdisp_flow ;;
    cc) tdisp_cc ;;
    *)
        tdisp_step FAIL "tdisp_stage:" "unknown e2e.tstage=$1"
        return 1
        ;;
    esac
}
