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
#   tdisp_main tsm    the CoVE-IO flow through trustvio-tsm: its host and
#                     TVM endpoints are virtio-serial ports (tsm.host,
#                     tsm.tvm1); tsm-host relays over the DOE mailbox,
#                     tsm-guest accepts the interface
#
# Kernel command-line words: e2e.tstage=flow|cc|tsm, e2e.func=BB:DD.F (the
# TDI function id the DSM was given), e2e.mmio=ADDR+LEN (tsm: the TDI's one
# range). Output for the host: E2E-STEP lines,
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

# tdisp_find: set bdf to the first non-volatile memory controller (class
# 0x0108xx; QEMU's NVMe is 0x010802)
tdisp_find() {
    bdf=
    for d in /sys/bus/pci/devices/*; do
        case $(cat "$d/class") in
        0x0108??) ;;
        *) continue ;;
        esac
        bdf=${d##*/}
        break
    done
    if [ -z "$bdf" ]; then
        tdisp_step FAIL "nvme_found:" "no class 0x0108 function"
        return 1
    fi
    d=/sys/bus/pci/devices/$bdf
    tdisp_step PASS nvme_found "$bdf $(cat "$d/vendor"):$(cat "$d/device")" \
        "class $(cat "$d/class")" \
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

# tdisp_vport NAME: the /dev node of the virtio-serial port called NAME
# (no udev here, so no /dev/virtio-ports/NAME links)
tdisp_vport() {
    for p in /sys/class/virtio-ports/*; do
        [ "$(cat "$p/name" 2> /dev/null)" = "$1" ] || continue
        echo "/dev/${p##*/}"
        return 0
    done
    return 1
}

# tdisp_host_wait N: until tsm-host has printed N result lines (30 s)
tdisp_host_wait() {
    i=0
    while [ "$(wc -l < /tmp/host.out)" -lt "$1" ] && [ $i -lt 300 ]; do
        kill -0 "$hp" 2> /dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(wc -l < /tmp/host.out)" -ge "$1" ]
}

tdisp_tsm() {
    trc=0
    # a tsm-host that died must fail our writes, not end /init
    trap '' PIPE
    mmio_addr=${mmio%+*}
    mmio_len=${mmio#*+}
    hdev=$(tdisp_vport tsm.host)
    gdev=$(tdisp_vport tsm.tvm1)
    if [ -c "$hdev" ] && [ -c "$gdev" ]; then
        tdisp_step PASS tsm_ports "tsm.host=$hdev tsm.tvm1=$gdev"
    else
        tdisp_step FAIL "tsm_ports:" "tsm.host='$hdev' tsm.tvm1='$gdev'" \
            "($(cat /sys/class/virtio-ports/*/name 2> /dev/null | tr '\n' ' '))"
        return 1
    fi
    ifc=1/$func
    rm -f /tmp/host.in
    mkfifo /tmp/host.in
    : > /tmp/host.out
    /bin/tsm-host --tsm="$hdev" --doe="$bdf" run < /tmp/host.in \
        > /tmp/host.out 2> /tmp/host.err &
    hp=$!
    exec 3> /tmp/host.in
    t0=$(tdisp_cs)
    printf 'connect 1\nbind 1 %s\nadd-region 1 %s %s %s\n' "$ifc" "$ifc" \
        "$mmio_addr" "$mmio_len" >&3
    if tdisp_host_wait 3 && ! grep -q '^error' /tmp/host.out; then
        tdisp_step PASS tsm_host_bind "connect, bind, add-region relayed" \
            "over DOE"
    else
        tdisp_step FAIL "tsm_host_bind:" "tsm-host did not connect and bind"
        trc=1
    fi
    sed 's/^/  host: /' /tmp/host.out
    if [ $trc -eq 0 ]; then
        /bin/tsm-guest --tsm="$gdev" accept "$ifc" --root=/tdisp/ca.pem \
            --policy=/tdisp/policy --expect-mmio="$mmio_addr+$mmio_len" \
            --timeout=60 --json > /tmp/acc.out 2> /tmp/acc.err &
        gp=$!
        # the host relays what the TVM queued (START, state reads) until
        # the accept ends; tsm-guest's --timeout bounds this
        while kill -0 "$gp" 2> /dev/null; do
            echo "action 1" >&3
            sleep 0.3
        done
        wait "$gp"
        st=$?
        t1=$(tdisp_cs)
        sed 's/^/E2E-TSM-JSON /' /tmp/acc.out
        if [ $st -eq 0 ] && grep -q '"ok":true' /tmp/acc.out; then
            tdisp_step PASS tsm_guest_accept "the interface runs in TVM 1"
            echo "E2E-FIGURE CoVE-IO connect to accepted (tsm-host and" \
                "tsm-guest over virtio-serial, DOE relay): $(((t1 - t0) * 10))" \
                "ms (10 ms resolution)"
        else
            tdisp_step FAIL "tsm_guest_accept:" "exit $st"
            sed 's/^/  /' /tmp/acc.err
            trc=1
        fi
    fi
    n0=$(wc -l < /tmp/host.out)
    printf 'unbind 1 %s\ndisconnect 1\n' "$ifc" >&3
    exec 3>&-
    wait "$hp"
    st=$?
    tail -n +$((n0 + 1)) /tmp/host.out | sed 's/^/  host: /'
    if [ $trc -eq 0 ] && tail -n 2 /tmp/host.out | grep -q '^unbind' &&
        tail -n 1 /tmp/host.out | grep -q '^disconnect'; then
        tdisp_step PASS tsm_host_unbind "unbind and disconnect"
    else
        tdisp_step FAIL "tsm_host_unbind:" "tsm-host exit $st"
        sed 's/^/  /' /tmp/host.err | tail -n 10
        trc=1
    fi
    return $trc
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
    tsm) tdisp_tsm ;;
    *)
        tdisp_step FAIL "tdisp_stage:" "unknown e2e.tstage=$1"
        return 1
        ;;
    esac
}
