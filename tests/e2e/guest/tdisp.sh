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
#                     tsm-guest accepts the interface; then, on the host's
#                     line on ttyS1 after its config-write, the TVM's state
#                     goes Error once the relay carries the state read; then
#                     a second relay tampers with bind and the TVM refuses
#
# Kernel command-line words: e2e.tstage=flow|cc|tsm, e2e.func=BB:DD.F (the
# TDI function id the DSM was given), e2e.mmio=ADDR+LEN (tsm: the TDI's one
# range). Output for the host: E2E-STEP lines,
# E2E-TDISP-JSON <object> (flow), E2E-CC <object> (cc), E2E-CHAIN-BEGIN N /
# E2E-CHAIN-END around each certificate, E2E-FIGURE; for tsm E2E-TSM-JSON
# <accept>, E2E-TSM-CC-READY (the host may write the configuration now),
# E2E-TSM-STATE before-action|after-action <state>, E2E-TSM-ATTACK-JSON
# <accept after the tampered bind>.

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

# tdisp_relay_start OUT [OPTION...]: a tsm-host run process (the host's
# relay) reading commands on fd 3, one result line each in OUT; its
# standard error in OUT.err
tdisp_relay_start() {
    hout=$1
    shift
    rm -f /tmp/host.in
    mkfifo /tmp/host.in
    : > "$hout"
    /bin/tsm-host --tsm="$hdev" --doe="$bdf" "$@" run < /tmp/host.in \
        > "$hout" 2> "$hout.err" &
    hp=$!
    exec 3> /tmp/host.in
    hl=0
}

# tdisp_host_wait N: until the relay has printed N result lines (30 s)
tdisp_host_wait() {
    i=0
    while [ "$(wc -l < "$hout")" -lt "$1" ] && [ $i -lt 300 ]; do
        kill -0 "$hp" 2> /dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    [ "$(wc -l < "$hout")" -ge "$1" ]
}

# tdisp_host COMMAND...: one command through the relay; its result line in
# $hres; fails when it is an error or does not come
tdisp_host() {
    hl=$((hl + 1))
    echo "$*" >&3
    if ! tdisp_host_wait "$hl"; then
        hres="no answer to '$*'"
        return 1
    fi
    hres=$(sed -n "${hl}p" "$hout")
    echo "  host: $hres"
    case $hres in
    error:*) return 1 ;;
    esac
    return 0
}

# tdisp_accept OUT [OPTION...]: tsm-guest's accept (the TVM) while the
# host's relay sends tee_io_action every 20 ms; its exit status in $gst,
# its JSON in OUT, its standard error in OUT.err
tdisp_accept() {
    aout=$1
    shift
    /bin/tsm-guest --tsm="$gdev" accept "$ifc" --root=/tdisp/ca.pem \
        --policy=/tdisp/policy --expect-mmio="$mmio_addr+$mmio_len" \
        --timeout=60 --json "$@" > "$aout" 2> "$aout.err" &
    gp=$!
    # the host relays what the TVM queued (START, state reads) until the
    # accept ends; tsm-guest's --timeout bounds this
    while kill -0 "$gp" 2> /dev/null; do
        echo "action 1" >&3
        hl=$((hl + 1))
        sleep 0.02
    done
    wait "$gp"
    gst=$?
    # every action sent has its answer before the next step
    tdisp_host_wait "$hl"
}

# the N and the X of a result line "CMD: SBI_... value V, N relay(s), X ms
# [(what)]"
tdisp_relays() {
    echo "$1" | sed -n 's/.*, \([0-9]*\) relay(s), [0-9.]* ms.*/\1/p'
}
tdisp_ms() {
    echo "$1" | sed -n 's/.* relay(s), \([0-9.]*\) ms.*/\1/p'
}

# tdisp_tsm_state WHEN: tsm-guest's --json state, printed as
# E2E-TSM-STATE WHEN <object>; the state's name in $tvm_state
tdisp_tsm_state() {
    /bin/tsm-guest --tsm="$gdev" --json state "$ifc" > /tmp/state.out \
        2> /tmp/state.err
    sst=$?
    sed "s/^/E2E-TSM-STATE $1 /" /tmp/state.out
    sed 's/^/  /' /tmp/state.err
    tvm_state=$(sed -n 's/.*"state":"\([A-Za-z]*\)".*/\1/p' /tmp/state.out)
    [ $sst -eq 0 ]
}

# tdisp_tsm_cc: the interface runs in the TVM; the host changes its
# configuration through the DSM's admin socket (the guest says when with
# E2E-TSM-CC-READY, the host answers with a line on ttyS1); the TVM's next
# state read, relayed by the host's tee_io_action, gives Error
tdisp_tsm_cc() {
    if [ ! -c /dev/ttyS1 ]; then
        tdisp_step FAIL "tsm_cc_ttyS1:" "no /dev/ttyS1 for the host's line"
        return 1
    fi
    # opened before the marker, so the host's line cannot come before it
    exec 4< /dev/ttyS1
    stty -F /dev/ttyS1 icanon -echo 2> /dev/null
    echo "E2E-TSM-CC-READY"
    go=
    # busybox ash has read -t
    # shellcheck disable=SC3045
    read -t 60 -r go <&4
    exec 4<&-
    if [ "$go" != go ]; then
        tdisp_step FAIL "tsm_cc_go:" "no line from the host on ttyS1 ('$go')"
        return 1
    fi
    # the TSM knows only what the relay carried: still Running; this read
    # queues a state read for the next tee_io_action
    if tdisp_tsm_state before-action && [ "$tvm_state" = Running ]; then
        tdisp_step PASS tsm_cc_state_cached "Running until the host relays" \
            "the queued state read"
    else
        tdisp_step FAIL "tsm_cc_state_cached:" "'$tvm_state', want Running"
        return 1
    fi
    if tdisp_host action 1 && [ "$(tdisp_relays "$hres")" -ge 1 ]; then
        tdisp_step PASS tsm_cc_action "the host relayed the TVM's state read"
    else
        tdisp_step FAIL "tsm_cc_action:" "$hres"
        return 1
    fi
    if tdisp_tsm_state after-action && [ "$tvm_state" = Error ]; then
        tdisp_step PASS tsm_cc_state_error "the TVM sees Error after the" \
            "host's config-write"
    else
        tdisp_step FAIL "tsm_cc_state_error:" "'$tvm_state', want Error"
        return 1
    fi
}

# tdisp_tsm_attack N: a second relay process flips a byte of bind's first
# answer (relay N + 1 after a connect of N relays); bind fails, the TVM
# refuses the interface, disconnect frees the device
tdisp_tsm_attack() {
    arc=0
    tn=$(($1 + 1))
    tdisp_relay_start /tmp/host2.out --trace --tamper=$tn
    if ! tdisp_host connect 1; then
        tdisp_step FAIL "tsm_attack_connect:" "$hres"
        arc=1
    elif tdisp_host bind 1 "$ifc"; then
        tdisp_step FAIL "tsm_attack_bind:" "a tampered bind succeeded"
        arc=1
    elif echo "$hres" | grep -q SBI_ERR_FAILED &&
        grep -q "relay $tn: bind_interface (1028) secured.*tampered" \
            /tmp/host2.out.err; then
        tdisp_step PASS tsm_attack_bind "relay $tn tampered: bind" \
            "SBI_ERR_FAILED"
    else
        tdisp_step FAIL "tsm_attack_bind:" "$hres"
        grep 'relay' /tmp/host2.out.err | sed 's/^/  /' | tail -n 5
        arc=1
    fi
    if [ $arc -eq 0 ]; then
        tdisp_accept /tmp/acc2.out
        sed 's/^/E2E-TSM-ATTACK-JSON /' /tmp/acc2.out
        if [ $gst -eq 1 ] &&
            grep -q 'no secure SPDM session' /tmp/acc2.out.err; then
            tdisp_step PASS tsm_attack_refused "$(head -n 1 /tmp/acc2.out.err |
                cut -c 1-100)"
        else
            tdisp_step FAIL "tsm_attack_refused:" "accept exit $gst"
            sed 's/^/  /' /tmp/acc2.out.err
            arc=1
        fi
    fi
    if tdisp_host disconnect 1; then
        tdisp_step PASS tsm_attack_disconnect "disconnect frees the device"
    else
        tdisp_step FAIL "tsm_attack_disconnect:" "$hres"
        arc=1
    fi
    exec 3>&-
    wait "$hp"
    return $arc
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
    tdisp_relay_start /tmp/host.out
    if tdisp_host connect 1 && conn=$hres && tdisp_host bind 1 "$ifc" &&
        bnd=$hres &&
        tdisp_host add-region 1 "$ifc" "$mmio_addr" "$mmio_len"; then
        tdisp_step PASS tsm_host_bind "connect, bind, add-region relayed" \
            "over DOE"
    else
        tdisp_step FAIL "tsm_host_bind:" "$hres"
        trc=1
    fi
    if [ $trc -eq 0 ]; then
        tdisp_accept /tmp/acc.out
        sed 's/^/E2E-TSM-JSON /' /tmp/acc.out
        if [ $gst -eq 0 ] && grep -q '"ok":true' /tmp/acc.out; then
            tdisp_step PASS tsm_guest_accept "the interface runs in TVM 1"
            # each program's own monotonic clock: connect and bind in
            # tsm-host, the accept in tsm-guest (nothing between them)
            acc_ms=$(sed -n 's/.*"ms":\([0-9.]*\)}.*/\1/p' /tmp/acc.out)
            echo "$(tdisp_ms "$conn") $(tdisp_ms "$bnd") $acc_ms" | awk '{
                printf "E2E-FIGURE CoVE-IO connect + bind + accept in the" \
                    " guest (tsm-host and tsm-guest over virtio-serial, DOE" \
                    " relay, tee_io_action every 20 ms): %.1f + %.1f + %.1f" \
                    " = %.1f ms\n", $1, $2, $3, $1 + $2 + $3 }'
        else
            tdisp_step FAIL "tsm_guest_accept:" "exit $gst"
            sed 's/^/  /' /tmp/acc.out.err
            trc=1
        fi
    fi
    if [ $trc -eq 0 ]; then
        tdisp_tsm_cc || trc=1
    fi
    urc=0
    if tdisp_host unbind 1 "$ifc" && tdisp_host disconnect 1; then
        tdisp_step PASS tsm_host_unbind "unbind and disconnect"
    else
        tdisp_step FAIL "tsm_host_unbind:" "$hres"
        sed 's/^/  /' /tmp/host.out.err | tail -n 10
        urc=1
    fi
    exec 3>&-
    wait "$hp"
    # the attack needs the device free again, whatever the configuration
    # change gave
    n=$(tdisp_relays "${conn:-}")
    if [ $urc -eq 0 ] && [ -n "$n" ]; then
        tdisp_tsm_attack "$n" || trc=1
    else
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
