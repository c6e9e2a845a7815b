# The TEE-IO part of the e2e tier; sourced by run.sh (uses its boot, pass,
# fail, stop_daemon, end_daemon and variables).
#
# trustvio-dsm listens on a free loopback port with a fresh device PKI, two
# measurements and one TDI; QEMU (-machine q35, qboot firmware) attaches
# its NVMe function to it with spdm_port=PORT,spdm_trans=doe, and the guest
# drives the function's DOE mailbox with the project's tdisp CLI through
# /sys/bus/pci/devices/BDF/config (guest/tdisp.sh). One DSM process serves
# every boot: QEMU connects once per boot and leaves without SHUTDOWN.
#
#   tdisp-6.12-flow  the whole flow (authenticate ... stop) and refusals; the
#                    host verifies the chain the guest printed with openssl
#                    verify under the pinned CA and checks the JSON:
#                    measurement digests are the files' SHA-384, the report's
#                    MMIO range is the --tdi range (and the function's BAR0)
#   tdisp-6.12-cc    lock report wait state report: while the guest's tdisp
#                    waits, the host sends config-write on the admin socket,
#                    then a line on the guest's ttyS1; the guest sees ERROR
#   tdisp-7-flow     the flow again on the 7.x kernel of the kmod part, when
#                    that kernel is cached (kmod-setup.sh)
#   tdisp-K-tsm      when trustvio-tsm, tsm-host and tsm-guest are built, on
#                    each kernel K: trustvio-tsm's host and TVM 1 endpoints
#                    reach the guest as virtio-serial ports tsm.host and
#                    tsm.tvm1; in the guest tsm-host relays the TSM's
#                    SPDM/TDISP over the DOE mailbox (connect, bind,
#                    add-region, action) and tsm-guest accepts the interface
#                    (chain under the pinned CA, measurements = the policy,
#                    MMIO = the TDI range); then the host's config-write on
#                    the admin socket (after the guest's E2E-TSM-CC-READY,
#                    answered by a line on ttyS1) and the TVM's state Error
#                    once the relay's tee_io_action carried the state read;
#                    then a second relay process tampers with bind's first
#                    answer and the TVM's accept refuses
#
# TDISP_KERNELS (default "6.12 7") selects the kernels of the flow and TSM
# boots; TSM_BUILD (default BUILD) is where the TSM programs are looked for.

TDSM=$BUILD/src/dsm/trustvio-dsm
TDISPCLI=$BUILD/tools/tdisp
TSM_BUILD=${TSM_BUILD:-$BUILD}
TSMD=$TSM_BUILD/src/tsmd/trustvio-tsm
TSMHOST=$TSM_BUILD/tools/tsm-host
TSMGUEST=$TSM_BUILD/tools/tsm-guest
tsm_pid=
TD=$SHARE/tdisp
# q35 slot 4: the function id the DSM's TDI carries and the guest finds
TD_FUNC=00:04.0
TD_ADDR=0x4
# the NVMe function's 64-bit BAR0 (16 KiB) as qboot and Linux place it on
# this machine: the TDI reports exactly that range
TD_RANGE_ADDR=0x100000000
TD_RANGE_SIZE=0x4000
td_port=

# td_start_dsm: trustvio-dsm on a free port (retried if another process
# takes the port first); sets daemon_pid and td_port
td_start_dsm() {
    for _ in 1 2 3 4 5; do
        td_port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
        rm -f "$TD/admin.sock"
        # it serves every boot of the part (up to four): its bound is theirs
        timeout -k 5 $((TIMEOUT * 5 + 120)) "$TDSM" --port "$td_port" \
            --pki "$TD/pki" --admin-socket "$TD/admin.sock" \
            --tdi "$TD_FUNC=$TD_RANGE_ADDR+$TD_RANGE_SIZE/0" \
            --measurement "1:firmware=$TD/fw.bin" \
            --measurement "2:fw-config=$TD/conf.txt" --verbose \
            > "$LOGS/tdisp-daemon.log" 2>&1 &
        daemon_pid=$!
        # the admin socket is opened after the TCP listen: once it answers,
        # QEMU can connect
        i=0
        while [ $i -lt 100 ] && kill -0 "$daemon_pid" 2>/dev/null; do
            if "$TDISPCLI" admin --admin-socket "$TD/admin.sock" list \
                > "$TD/list.out" 2>&1; then
                pass "tdisp: trustvio-dsm listening on 127.0.0.1:$td_port" \
                    "(pid $daemon_pid; TDIs: $(cat "$TD/list.out"))"
                return 0
            fi
            sleep 0.1
            i=$((i + 1))
        done
        stop_daemon
        grep -q 'in use' "$LOGS/tdisp-daemon.log" || break
    done
    fail "tdisp: trustvio-dsm did not start"
    sed 's/^/    daemon: /' "$LOGS/tdisp-daemon.log" | tail -n 20
    return 1
}

# td_copy_bin EXE NAME: EXE as /bin/NAME with the host libraries it links
# (same paths, the host's own loader)
td_copy_bin() {
    cp "$1" "$tr/bin/$2" || return 1
    for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
        $1 ~ /^\// { print $1 }'); do
        mkdir -p "$tr$(dirname "$lib")"
        cp -L "$lib" "$tr$lib" || return 1
    done
}

td_have_tsm() {
    [ -x "$TSMD" ] && [ -x "$TSMHOST" ] && [ -x "$TSMGUEST" ]
}

# the guest's initramfs: the common tree, guest/tdisp.sh, the tdisp CLI with
# the host libraries it links (same paths, the host's own loader), the CAs
td_initramfs() {
    tr=$GUEST/tdisp-root
    rm -rf "$tr"
    cp -a "$GUEST/root" "$tr" || return 1
    mkdir -p "$tr/tdisp" "$tr/tmp"
    cp "$here/guest/tdisp.sh" "$tr/tdisp.sh"
    cp "$TD/pki/ca.pem" "$TD/other.pem" "$tr/tdisp/"
    td_copy_bin "$TDISPCLI" tdisp || return 1
    if td_have_tsm; then
        td_copy_bin "$TSMHOST" tsm-host || return 1
        td_copy_bin "$TSMGUEST" tsm-guest || return 1
        printf '1=%s\n2=%s\n' \
            "$(openssl dgst -sha384 -r "$TD/fw.bin" | cut -d' ' -f1)" \
            "$(openssl dgst -sha384 -r "$TD/conf.txt" | cut -d' ' -f1)" \
            > "$tr/tdisp/policy"
    fi
    (cd "$tr" && find . | cpio -o -H newc --quiet | gzip -1) \
        > "$SHARE/initramfs-tdisp.cpio.gz"
}

td_qemu_args() {
    echo "-bios $T/usr/share/qemu/qboot.rom
        -drive file=$TD/nvme.img,if=none,id=nv0,format=raw
        -device nvme,serial=tv0,drive=nv0,addr=$TD_ADDR,spdm_port=$td_port,spdm_trans=doe"
}

# td_check_flow NAME: the host's checks of one flow boot's console
td_check_flow() {
    tlog=$LOGS/$1-console.log
    grep '^E2E-FIGURE' "$tlog" | sed "s/^E2E-FIGURE/    figure ($1):/"
    # the chain the guest received, root first
    rm -f "$TD/$1"-chain-*.pem
    awk -v pfx="$TD/$1-chain-" '
        /^E2E-CHAIN-BEGIN / { f = pfx $2 ".pem"; next }
        /^E2E-CHAIN-END/ { close(f); f = ""; next }
        f != "" { print > f }' "$tlog"
    n=0
    while [ -s "$TD/$1-chain-$n.pem" ]; do
        n=$((n + 1))
    done
    if [ $n -lt 2 ]; then
        fail "$1: $n certificates on the console"
    else
        leaf=$TD/$1-chain-$((n - 1)).pem
        : > "$TD/$1-inter.pem"
        i=1
        while [ $i -lt $((n - 1)) ]; do
            cat "$TD/$1-chain-$i.pem" >> "$TD/$1-inter.pem"
            i=$((i + 1))
        done
        # -untrusted only with intermediates (openssl refuses an empty file)
        untrusted=
        [ -s "$TD/$1-inter.pem" ] && untrusted="-untrusted $TD/$1-inter.pem"
        # shellcheck disable=SC2086
        if openssl verify -CAfile "$TD/pki/ca.pem" $untrusted "$leaf" \
            > "$LOGS/$1-verify.log" 2>&1; then
            pass "$1: openssl verify: the guest's leaf under the pinned CA" \
                "($n certificates, $((n - 2)) intermediate(s))"
        else
            fail "$1: openssl verify rejects the guest's chain"
            sed 's/^/    /' "$LOGS/$1-verify.log"
        fi
        if [ "$(openssl x509 -in "$TD/$1-chain-0.pem" -outform der |
            sha256sum)" = "$(openssl x509 -in "$TD/pki/ca.pem" -outform der |
            sha256sum)" ]; then
            pass "$1: the chain's root is the pinned ca.pem"
        else
            fail "$1: the chain's root is not the pinned ca.pem"
        fi
        # shellcheck disable=SC2086
        if openssl verify -CAfile "$TD/other.pem" $untrusted "$leaf" \
            > /dev/null 2>&1; then
            fail "$1: the leaf verifies under an unrelated CA"
        else
            pass "$1: the leaf does not verify under an unrelated CA"
        fi
    fi
    # the --json steps: digests, states, the report's range
    python3 - "$tlog" "$TD/fw.bin" "$TD/conf.txt" "$TD_RANGE_ADDR" \
        "$TD_RANGE_SIZE" > "$TD/$1-json.out" 2>&1 << 'EOF'
import hashlib, json, sys
log, fw, conf, addr, size = sys.argv[1:6]
steps = [json.loads(l.split(" ", 1)[1]) for l in open(log, errors="replace")
         if l.startswith("E2E-TDISP-JSON ")]
bar0 = None
for l in open(log, errors="replace"):
    if l.startswith("E2E-STEP PASS nvme_found") and " BAR0 " in l:
        bar0 = int(l.split(" BAR0 ")[1].split()[0], 16)
def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
names = [s["step"] for s in steps]
want = ["authenticate", "measurements", "session", "version", "lock",
        "report", "start", "state", "stop", "state"]
check(names == want and all(s["ok"] for s in steps),
      "JSON: %d steps, all ok, in order" % len(steps))
by = {}
for s in steps:
    by.setdefault(s["step"], []).append(s)
a = by.get("authenticate", [{}])[0]
check(a.get("chain_verified") is True, "JSON: chain verified in the guest")
m = by.get("measurements", [{}])[0]
blocks = {b["index"]: b for b in m.get("blocks", [])}
for idx, path in ((1, fw), (2, conf)):
    d = hashlib.sha384(open(path, "rb").read()).hexdigest()
    b = blocks.get(idx, {})
    check(b.get("raw") is False and b.get("value") == d,
          "JSON: measurement %d is SHA-384(%s) = %s..." % (idx, path.split("/")[-1], d[:16]))
check(m.get("signed") is True and len(blocks) == 2,
      "JSON: 2 measurement blocks, signature verified")
r = by.get("report", [{}])[0]
mult = {"k": 1 << 10, "m": 1 << 20}
pages = int(size[:-1]) * mult[size[-1]] >> 12 if size[-1] in mult else int(size, 0) >> 12
rng = r.get("mmio_ranges", [])
check(len(rng) == 1 and int(rng[0]["first_page"], 16) == int(addr, 0) and
      rng[0]["pages"] == pages and rng[0]["range_id"] == 0,
      "JSON: report MMIO range = --tdi %s+%s/0 (%d pages): %s" % (addr, size, pages, rng))
check(bar0 is not None and bar0 == int(addr, 0),
      "the reported range starts at the function's BAR0 in the guest (%s)" %
      (hex(bar0) if bar0 is not None else "none"))
st = [s["state"] for s in by.get("state", [])]
check(st == ["RUN", "CONFIG_UNLOCKED"], "JSON: states %s after start, stop" % st)
EOF
    td_verdicts "$1"
}

# td_verdicts NAME: a pass or a fail per "PASS what" / "FAIL what" line of
# $TD/NAME-json.out (the host-side JSON checks); a fail when there is none
td_verdicts() {
    while read -r verdict what; do
        if [ "$verdict" = PASS ]; then
            pass "$1: $what"
        else
            fail "$1: $what"
        fi
    done < "$TD/$1-json.out"
    [ -s "$TD/$1-json.out" ] || fail "$1: the JSON checks did not run"
}

# td_cc_watch LOG PATTERN ADMIN_OUT CTL_SOCK: once a line of the guest's
# console matches PATTERN (the guest has what it needs and waits), write
# the TDI's configuration through the admin socket (its answer in
# ADMIN_OUT), then let the guest go on with one line on its ttyS1 (QEMU's
# server socket CTL_SOCK)
td_cc_watch() {
    e2e_wait_line "$1" "$2" || return 1
    "$TDISPCLI" admin --admin-socket "$TD/admin.sock" \
        config-write "$TD_FUNC" > "$3" 2>&1
    python3 - "$4" << 'EOF' > "$3.ctl" 2>&1
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"go\n")
time.sleep(0.5)
s.close()
EOF
    return 0
}

# td_booted: after a boot of the DSM's function, boot's defaults back and
# the boot counted (one DSM connection each)
td_booted() {
    BOOT_MACHINE=
    BOOT_VMLINUZ=
    BOOT_INITRD=
    td_boots=$((td_boots + 1))
}

td_boot_flow() {
    k=$1
    if [ "$k" = 6.12 ]; then
        BOOT_VMLINUZ=$SHARE/vmlinuz
    elif [ -f "$E2E/kmod/7/vmlinuz" ]; then
        BOOT_VMLINUZ=$E2E/kmod/7/vmlinuz
    else
        echo "  note: tdisp-$k-flow not run: no 7.x kernel cached" \
            "(E2E_KMOD=0, or kmod-setup.sh did not run)"
        return 0
    fi
    BOOT_MACHINE=q35
    BOOT_INITRD=$SHARE/initramfs-tdisp.cpio.gz
    # shellcheck disable=SC2046
    boot "tdisp-$k-flow" "e2etest=tdisp e2e.tstage=flow e2e.func=$TD_FUNC" \
        $(td_qemu_args)
    td_booted
    [ "$boot_ok" -eq 1 ] && td_check_flow "tdisp-$k-flow"
    td_state_is "after tdisp-$k-flow" CONFIG_UNLOCKED
}

# td_state_is WHEN STATE: the TDI's state as the DSM's admin socket tells
td_state_is() {
    got=$("$TDISPCLI" admin --admin-socket "$TD/admin.sock" state "$TD_FUNC")
    if [ "$got" = "$2" ]; then
        pass "tdisp: $1 the DSM is still up and the TDI is $2"
    else
        fail "tdisp: $1 the TDI is '$got', want $2"
    fi
}

td_boot_cc() {
    BOOT_MACHINE=q35
    BOOT_VMLINUZ=$SHARE/vmlinuz
    BOOT_INITRD=$SHARE/initramfs-tdisp.cpio.gz
    rm -f "$TD/cc-admin.out" "$TD/cc-admin.out.ctl" "$TD/ctl.sock"
    clog=$LOGS/tdisp-6.12-cc-console.log
    : > "$clog"
    td_cc_watch "$clog" '^E2E-CC {"step":"report","ok":true' \
        "$TD/cc-admin.out" "$TD/ctl.sock" &
    watch_pid=$!
    # shellcheck disable=SC2046
    boot tdisp-6.12-cc "e2etest=tdisp e2e.tstage=cc e2e.func=$TD_FUNC" \
        $(td_qemu_args) \
        -chardev "socket,id=ctl,path=$TD/ctl.sock,server=on,wait=off" \
        -serial chardev:ctl
    td_booted
    kill "$watch_pid" 2>/dev/null
    wait "$watch_pid" 2>/dev/null
    if [ "$(cat "$TD/cc-admin.out" 2>/dev/null)" = ERROR ]; then
        pass "tdisp-6.12-cc: config-write on the admin socket while the" \
            "guest's tdisp waited: ERROR"
    else
        fail "tdisp-6.12-cc: config-write answered" \
            "'$(cat "$TD/cc-admin.out" 2>/dev/null)', want ERROR"
    fi
    # the guest's next step after the write: GET_DEVICE_INTERFACE_STATE
    if sed -n '/^E2E-CC {"step":"report","ok":true/,$p' "$clog" |
        grep -q '^E2E-CC {"step":"state","ok":true,"state":"ERROR"}'; then
        pass "tdisp-6.12-cc: the guest's state step after the write: ERROR"
    else
        fail "tdisp-6.12-cc: the guest did not see ERROR after the write"
    fi
    td_state_is "after tdisp-6.12-cc" CONFIG_UNLOCKED
}

# td_boot_tsm K: trustvio-tsm beside the DSM, its endpoints as virtio-serial
# ports; the CoVE-IO flow in the guest on kernel K, then the configuration
# change (the guest's E2E-TSM-CC-READY, the host's config-write and line on
# ttyS1) and one tampered bind
td_boot_tsm() {
    k=$1
    tsmn=tdisp-$k-tsm
    if [ "$k" = 6.12 ]; then
        BOOT_VMLINUZ=$SHARE/vmlinuz
    elif [ -f "$E2E/kmod/7/vmlinuz" ]; then
        BOOT_VMLINUZ=$E2E/kmod/7/vmlinuz
    else
        echo "  note: $tsmn not run: no 7.x kernel cached" \
            "(E2E_KMOD=0, or kmod-setup.sh did not run)"
        BOOT_VMLINUZ=
        return 0
    fi
    rm -f "$TD/tsm-host.sock" "$TD/tsm-tvm1.sock" "$TD/tsm-ctl.sock" \
        "$TD/$tsmn-admin.out" "$TD/$tsmn-admin.out.ctl"
    tsmlog=$LOGS/$tsmn-daemon.log
    timeout -k 5 $((TIMEOUT + 60)) "$TSMD" --host-socket "$TD/tsm-host.sock" \
        --tvm "1:$TD/tsm-tvm1.sock" > "$tsmlog" 2>&1 &
    tsm_pid=$!
    i=0
    while [ $i -lt 100 ] && { [ ! -S "$TD/tsm-host.sock" ] ||
        [ ! -S "$TD/tsm-tvm1.sock" ]; }; do
        kill -0 "$tsm_pid" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
    if [ ! -S "$TD/tsm-host.sock" ] || [ ! -S "$TD/tsm-tvm1.sock" ]; then
        fail "$tsmn: trustvio-tsm did not listen"
        sed 's/^/    tsm: /' "$tsmlog" | tail -n 10
        kill -TERM "$tsm_pid" 2>/dev/null
        wait "$tsm_pid" 2>/dev/null
        tsm_pid=
        BOOT_VMLINUZ=
        return
    fi
    pass "$tsmn: trustvio-tsm listening (pid $tsm_pid)"
    tlog=$LOGS/$tsmn-console.log
    : > "$tlog"
    td_cc_watch "$tlog" '^E2E-TSM-CC-READY' "$TD/$tsmn-admin.out" \
        "$TD/tsm-ctl.sock" &
    watch_pid=$!
    BOOT_MACHINE=q35
    BOOT_INITRD=$SHARE/initramfs-tdisp.cpio.gz
    # shellcheck disable=SC2046
    boot "$tsmn" "e2etest=tdisp e2e.tstage=tsm e2e.func=$TD_FUNC \
e2e.mmio=$TD_RANGE_ADDR+$TD_RANGE_SIZE" $(td_qemu_args) \
        -device virtio-serial-pci,id=vser0,addr=0x5 \
        -chardev "socket,id=th,path=$TD/tsm-host.sock" \
        -device virtserialport,bus=vser0.0,chardev=th,name=tsm.host \
        -chardev "socket,id=tv1,path=$TD/tsm-tvm1.sock" \
        -device virtserialport,bus=vser0.0,chardev=tv1,name=tsm.tvm1 \
        -chardev "socket,id=ctl,path=$TD/tsm-ctl.sock,server=on,wait=off" \
        -serial chardev:ctl
    td_booted
    kill "$watch_pid" 2>/dev/null
    wait "$watch_pid" 2>/dev/null
    grep '^E2E-FIGURE' "$tlog" | sed "s/^E2E-FIGURE/    figure ($tsmn):/"
    # what tsm-guest reported, against what the DSM was given: the accept,
    # the two state reads around the host's tee_io_action after the
    # config-write, the accept after the tampered bind
    python3 - "$tlog" "$TD_FUNC" > "$TD/$tsmn-json.out" 2>&1 << 'EOF'
import json, sys
log, func = sys.argv[1:3]
def objs(prefix):
    out = []
    for l in open(log, errors="replace"):
        if l.startswith(prefix):
            try:
                out.append(json.loads(l[len(prefix):]))
            except ValueError:
                out.append({"unparsed": l.strip()})
    return out
def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
acc = objs("E2E-TSM-JSON ")
a = acc[0] if len(acc) == 1 else {}
check(a.get("ok") is True and a.get("state") == "Running" and
      a.get("interface") == "1/" + func and a.get("certificates") == 2 and
      a.get("measurement_blocks") == 2 and a.get("mmio_ranges") == 1,
      "accept JSON: Running, 2 certificates, 2 measurement blocks, 1 MMIO "
      "range: %s" % ("ok" if a else acc))
st = [(w, o.get("ok"), o.get("state")) for w, o in
      [(p, o) for p in ("before-action", "after-action")
       for o in objs("E2E-TSM-STATE %s " % p)]]
check(st == [("before-action", True, "Running"),
             ("after-action", True, "Error")],
      "after the host's config-write: the TVM's state Running until the "
      "host's tee_io_action relays the read, then Error: %s" % st)
att = objs("E2E-TSM-ATTACK-JSON ")
t = att[0] if len(att) == 1 else {}
check(t.get("command") == "accept" and t.get("ok") is False and
      t.get("step") == "link" and
      "no secure SPDM session" in t.get("reason", ""),
      "tampered bind: the TVM's accept refused at step link: %s" %
      t.get("reason", att))
EOF
    td_verdicts "$tsmn"
    if [ "$(cat "$TD/$tsmn-admin.out" 2>/dev/null)" = ERROR ]; then
        pass "$tsmn: config-write on the admin socket while the TVM ran" \
            "the interface: ERROR"
    else
        fail "$tsmn: config-write answered" \
            "'$(cat "$TD/$tsmn-admin.out" 2>/dev/null)', want ERROR"
    fi
    # QEMU's two chardevs: one connection on each endpoint for the boot
    n_h=$(grep -c 'host endpoint: connection .* open' "$tsmlog")
    n_g=$(grep -c 'TVM 1 endpoint: connection .* open' "$tsmlog")
    if [ "$n_h" = 1 ] && [ "$n_g" = 1 ]; then
        pass "$tsmn: one connection per endpoint (QEMU's virtio-serial" \
            "chardevs) for every guest process"
    else
        fail "$tsmn: $n_h host and $n_g TVM connections, want 1 each"
    fi
    kill -TERM "$tsm_pid" 2>/dev/null
    wait "$tsm_pid"
    tsm_st=$?
    tsm_pid=
    if [ $tsm_st -eq 0 ]; then
        pass "$tsmn: trustvio-tsm exited on SIGTERM"
    else
        fail "$tsmn: trustvio-tsm exit status $tsm_st"
        tail -n 10 "$tsmlog" | sed 's/^/    tsm: /'
    fi
    td_state_is "after $tsmn" CONFIG_UNLOCKED
}

tdisp_tier() {
    td_t0=$(date +%s)
    tdisp_part
    echo "e2e: trustvio-dsm part took $(($(date +%s) - td_t0)) s"
}

tdisp_part() {
    echo "=== e2e: tdisp over the DOE mailbox of QEMU's NVMe, trustvio-dsm"
    for b in "$TDSM" "$TDISPCLI"; do
        if [ ! -x "$b" ]; then
            fail "tdisp: $b missing (ninja -C build)"
            return
        fi
    done
    if [ ! -f "$T/usr/share/qemu/qboot.rom" ]; then
        fail "tdisp: no qboot.rom in the QEMU tree"
        return
    fi
    rm -rf "$TD"
    mkdir -p "$TD"
    head -c 4096 /dev/urandom > "$TD/fw.bin"
    echo "queues=4 mdts=7" > "$TD/conf.txt"
    truncate -s 1M "$TD/nvme.img"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes \
        -keyout "$TD/other.key" -out "$TD/other.pem" -days 2 \
        -subj "/CN=unrelated CA" > "$LOGS/tdisp-other-ca.log" 2>&1
    td_start_dsm || return
    if td_initramfs; then
        pass "tdisp: initramfs with tdisp and its libraries" \
            "($(du -k "$SHARE/initramfs-tdisp.cpio.gz" | cut -f1) KiB)"
    else
        fail "tdisp: initramfs"
        stop_daemon
        return
    fi
    td_boots=0
    td_boot_flow 6.12
    td_boot_cc
    for k in ${TDISP_KERNELS:-6.12 7}; do
        [ "$k" = 6.12 ] || td_boot_flow "$k"
    done
    if td_have_tsm; then
        for k in ${TDISP_KERNELS:-6.12 7}; do
            td_boot_tsm "$k"
        done
    else
        echo "  note: tdisp-*-tsm not run: trustvio-tsm, tsm-host or" \
            "tsm-guest not built in $TSM_BUILD"
    fi
    # one daemon process, one connection per boot, no SHUTDOWN from QEMU
    n_conn=$(grep -c 'connection accepted' "$LOGS/tdisp-daemon.log")
    n_closed=$(grep -c 'connection closed' "$LOGS/tdisp-daemon.log")
    if [ "$n_conn" = "$td_boots" ] && [ "$n_closed" = "$td_boots" ]; then
        pass "tdisp: one DSM process served $td_boots boots, one" \
            "connection each, closed by QEMU's exit"
    else
        fail "tdisp: $td_boots boots, $n_conn connections accepted," \
            "$n_closed closed"
    fi
    # every object QEMU forwarded was a DOE object the DSM answered
    bad=$(grep -E 'no DOE object|not served|internal failure|SPDM responder:|inside a message|peer:' \
        "$LOGS/tdisp-daemon.log" | head -n 3)
    if [ -z "$bad" ] && [ "$(grep -c 'rx NORMAL transport 2' \
        "$LOGS/tdisp-daemon.log")" -gt 0 ]; then
        pass "tdisp: the DSM answered all $(grep -c 'rx NORMAL transport 2' \
            "$LOGS/tdisp-daemon.log") DOE objects QEMU forwarded, no" \
            "framing or protocol error logged"
    else
        fail "tdisp: the DSM log has: ${bad:-no DOE object at all}"
    fi
    if grep -q 'SHUTDOWN' "$LOGS/tdisp-daemon.log"; then
        echo "  note: QEMU sent SHUTDOWN"
    fi
    end_daemon tdisp
}
