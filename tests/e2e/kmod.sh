# The trustvio_nsm.ko part of the e2e tier; sourced by run.sh (uses its
# boot, start_daemon, end_daemon, pass, fail and variables).
#
#   kmod setup     6.12 headers (host) and 7.x headers + kernel (trixie
#                  tree), cached by kmod-setup.sh
#   kmod build     checkpatch.pl --strict clean; trustvio_nsm.ko for both
#                  kernels from the one source; the Go consumer built
#                  against Debian's go-configfs-tsm in the trixie tree
#   per kernel K in 6.12, 7.x, each boot with a fresh vhost-user-nsm:
#     kmod-K-nsm     the /dev/nsm guest suite and the nsm CLI, unchanged,
#                    on trustvio_nsm.ko; the host verifies the document
#     kmod-K-tsm     configfs-tsm and tsm-mr checks (guest/tsm_test.c),
#                    nsm tsm-report, the Go consumer, unload and reload,
#                    dmesg; the host verifies every report and recomputes
#                    the extend; then, in the same boot, device_del on
#                    QEMU's monitor while /dev/nsm, hwrng and report
#                    requests are in flight; dmesg stays clean
#
# KMOD_KERNELS (default "6.12 7") selects the kernels.

KM=$E2E/kmod

kmod_hex_of() {
    # kmod_hex_of TAG LOG: the hex after "TAG " on the console
    sed -n "s/^$1 //p" "$2" | head -n 1 | tr -d ' \r\n'
}

kmod_unhex() {
    perl -ne 'chomp; print pack("H*", $_)'
}

# kmod_verify NAME DOCTAG NONCETAG LOG [extra nsm verify args]
kmod_verify() {
    vname=$1
    vdoc=$LOGS/$vname.cose
    vlog=$2
    shift 2
    dtag=$1
    ntag=$2
    shift 2
    kmod_hex_of "$dtag" "$vlog" | kmod_unhex > "$vdoc"
    vnonce=$(kmod_hex_of "$ntag" "$vlog")
    if [ ! -s "$vdoc" ] || [ -z "$vnonce" ]; then
        fail "$vname: no document on the console"
        return 1
    fi
    if "$NSMCLI" verify "$vdoc" --root "$SHARE/nsm-pki/root.pem" \
        --nonce "$vnonce" "$@" > "$LOGS/$vname-verify.log" 2>&1; then
        pass "$vname: nsm verify --root --nonce accepts the $(wc -c \
            < "$vdoc")-byte outblob${*:+ ($*)}"
    else
        fail "$vname: nsm verify rejected the document"
        sed 's/^/    /' "$LOGS/$vname-verify.log" | head -n 6
        return 1
    fi
}

kmod_build() {
    kb_ok=1
    # checkpatch from linux-source-6.12, as a kernel patch would be checked
    if perl "$KM/6.12/scripts/checkpatch.pl" --strict --no-tree -q \
        --no-summary -f "$repo"/kernel/*.c "$repo"/kernel/*.h \
        > "$LOGS/kmod-checkpatch.log" 2>&1 &&
        [ ! -s "$LOGS/kmod-checkpatch.log" ]; then
        pass "kmod: checkpatch.pl --strict is clean on kernel/"
    else
        fail "kmod: checkpatch.pl --strict complains"
        head -n 20 "$LOGS/kmod-checkpatch.log" | sed 's/^/    /'
    fi
    v612=$(cat "$KM/6.12.stamp")
    hdr=$KM/6.12/root/usr/src/linux-headers-$v612
    rm -rf "$KM/build-6.12"
    cp -r "$repo/kernel" "$KM/build-6.12"
    # Debian's arch headers Makefile only includes the common one by its
    # installed path; naming it directly builds from the unpacked tree
    if make -C "$hdr-amd64" -f "$hdr-common/Makefile" M="$KM/build-6.12" \
        modules > "$LOGS/kmod-build-6.12.log" 2>&1 &&
        [ -f "$KM/build-6.12/trustvio_nsm.ko" ]; then
        pass "kmod: trustvio_nsm.ko builds for $v612 ($(grep -c \
            warning: "$LOGS/kmod-build-6.12.log") warnings)"
    else
        fail "kmod: trustvio_nsm.ko does not build for $v612"
        tail -n 20 "$LOGS/kmod-build-6.12.log" | sed 's/^/    /'
        kb_ok=0
    fi
    v7=$(cut -d' ' -f1 "$KM/7.stamp")
    rm -rf "$T/tmp/trustvio-kmod" "$T/tmp/go-tsm"
    cp -r "$repo/kernel" "$T/tmp/trustvio-kmod"
    cp -r "$here/guest/go-tsm" "$T/tmp/go-tsm"
    # objtool and go need /proc: a private mount namespace that dies with
    # the command
    if unshare --mount --propagation private --fork sh -c '
        mount --bind /proc "$1/proc" &&
        chroot "$1" make -C "/usr/src/linux-headers-$2-amd64" \
            M=/tmp/trustvio-kmod modules' sh "$T" "$v7" \
        > "$LOGS/kmod-build-7.log" 2>&1 &&
        [ -f "$T/tmp/trustvio-kmod/trustvio_nsm.ko" ]; then
        pass "kmod: trustvio_nsm.ko builds for $v7 in the trixie tree" \
            "($(grep -c warning: "$LOGS/kmod-build-7.log") warnings)"
    else
        fail "kmod: trustvio_nsm.ko does not build for $v7"
        tail -n 20 "$LOGS/kmod-build-7.log" | sed 's/^/    /'
        kb_ok=0
    fi
    if unshare --mount --propagation private --fork sh -c '
        mount --bind /proc "$1/proc" &&
        chroot "$1" sh -c "cd /tmp/go-tsm && HOME=/tmp \
            GOCACHE=/var/cache/go-build GOPATH=/usr/share/gocode \
            GO111MODULE=off CGO_ENABLED=0 go build -trimpath -o go-tsm ."' \
        sh "$T" > "$LOGS/kmod-build-go.log" 2>&1; then
        pass "kmod: go-tsm builds against Debian's go-configfs-tsm"
    else
        fail "kmod: go-tsm does not build"
        tail -n 10 "$LOGS/kmod-build-go.log" | sed 's/^/    /'
    fi
    [ $kb_ok -eq 1 ]
}

# kmod_initramfs K: the common guest tree plus K's modules
kmod_initramfs() {
    kr=$GUEST/kmod-root-$1
    rm -rf "$kr"
    cp -a "$GUEST/root" "$kr"
    mkdir -p "$kr/kmod"
    cp "$here/guest/kmod.sh" "$kr/kmod.sh"
    cp "$GUEST/tsm-test" "$kr/tsm-test"
    [ -x "$T/tmp/go-tsm/go-tsm" ] && cp "$T/tmp/go-tsm/go-tsm" "$kr/go-tsm"
    if [ "$1" = 6.12 ]; then
        cp "$KM/6.12/configfs.ko" "$KM/6.12/tsm.ko" \
            "$KM/build-6.12/trustvio_nsm.ko" "$kr/kmod/"
    else
        cp "$KM/7/configfs.ko" "$KM/7/tsm_report.ko" \
            "$T/tmp/trustvio-kmod/trustvio_nsm.ko" "$kr/kmod/"
    fi
    (cd "$kr" && find . | cpio -o -H newc --quiet | gzip -1) \
        > "$SHARE/initramfs-kmod-$1.cpio.gz"
}

# kmod_daemon NAME: a fresh vhost-user-nsm (fresh PCRs) for one boot
kmod_daemon() {
    rm -rf "$SHARE/nsm-pki"
    mkdir -p "$SHARE/nsm-pki"
    start_daemon "$1" "$SHARE/nsm.sock" "$NSMD" \
        --socket-path "$SHARE/nsm.sock" --pki "$SHARE/nsm-pki" \
        --module-id "$module_id"
}

kmod_nsm_dev() {
    echo "-chardev socket,id=vu0,path=$SHARE/nsm.sock
        -device vhost-user-test-device-pci,id=nsm0,chardev=vu0,virtio-id=33,$nsm_q"
}

kmod_check_extend() {
    # SHA-384(old || digest) computed on the host must be the new value
    klog=$1
    kname=$2
    old=$(kmod_hex_of E2E-MR-OLD "$klog")
    dig=$(kmod_hex_of E2E-MR-DIGEST "$klog")
    new=$(kmod_hex_of E2E-MR-NEW "$klog")
    want=$(printf '%s%s' "$old" "$dig" | kmod_unhex |
        openssl dgst -sha384 -r | cut -d' ' -f1)
    if [ -n "$new" ] && [ "$want" = "$new" ]; then
        pass "$kname: pcr16:sha384 after the write = SHA-384(old || digest)"
    else
        fail "$kname: pcr16:sha384 is $new, want SHA-384(old || digest) $want"
    fi
    kmod_verify "$kname-mr" "$klog" E2E-MR-DOC E2E-MR-NONCE --pcr "16=$new"
}

# Send device_del once the guest says its requests are running.
kmod_unplug_watch() {
    e2e_wait_line "$1" '^E2E-KMOD-UNPLUG-NOW' || return 1
    python3 - "$SHARE/kmod-mon.sock" <<'EOF' > "$LOGS/kmod-monitor.log" 2>&1
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(2)
def drain():
    out = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    return out.decode(errors="replace")
print(drain())
s.sendall(b"device_del nsm0\n")
time.sleep(1)
print(drain())
EOF
    return 0
}

kmod_kernel() {
    k=$1
    if [ "$k" = 6.12 ]; then
        kvm=$SHARE/vmlinuz
    else
        kvm=$KM/7/vmlinuz
    fi
    kmod_initramfs "$k" || {
        fail "kmod-$k: initramfs"
        return
    }
    BOOT_VMLINUZ=$kvm
    BOOT_INITRD=$SHARE/initramfs-kmod-$k.cpio.gz

    echo "=== e2e: $k: /dev/nsm suite and nsm CLI on trustvio_nsm.ko"
    if kmod_daemon "kmod-$k-nsm"; then
        # shellcheck disable=SC2046
        boot "kmod-$k-nsm" "e2etest=nsm e2e.driver=trustvio \
e2e.module_id=$module_id" $(kmod_nsm_dev)
        end_daemon "kmod-$k-nsm"
        klog=$LOGS/kmod-$k-nsm-console.log
        if grep -q '^E2E-RESULT' "$klog"; then
            pass "kmod-$k-nsm: guest suite completed ($(grep '^E2E-RESULT' \
                "$klog" | cut -d' ' -f2-))"
        else
            fail "kmod-$k-nsm: guest suite did not complete"
        fi
        if grep -q 'Invalid response for GetRandom' "$klog"; then
            fail "kmod-$k-nsm: 'Invalid response for GetRandom' in the log"
        fi
        echo "E2E-DOC-HEX $(sed -n '/^E2E-DOC-BEGIN/,/^E2E-DOC-END/p' \
            "$klog" | grep -v '^E2E-DOC' | tr -d ' \n')" >> "$klog"
        kmod_verify "kmod-$k-nsm" "$klog" E2E-DOC-HEX E2E-DOC-NONCE \
            --pcr "16=$(sed -n 's/^E2E-DOC-PCR16 //p' "$klog")"
    fi

    echo "=== e2e: $k: configfs-tsm, tsm-mr, reload, then device_del under load"
    if kmod_daemon "kmod-$k-tsm"; then
        rm -f "$SHARE/kmod-mon.sock"
        klog=$LOGS/kmod-$k-tsm-console.log
        rm -f "$klog"
        kmod_unplug_watch "$klog" &
        watch_pid=$!
        # shellcheck disable=SC2046
        boot "kmod-$k-tsm" "e2etest=kmod e2e.kstage=tsm,unplug" \
            -monitor "unix:$SHARE/kmod-mon.sock,server=on,wait=off" \
            $(kmod_nsm_dev)
        kill "$watch_pid" 2>/dev/null
        wait "$watch_pid" 2>/dev/null
        end_daemon "kmod-$k-tsm"
        if grep -q 'E2E-STEP PASS unplug_removed' "$klog"; then
            pass "kmod-$k-tsm: device_del removed the device (monitor log" \
                "$LOGS/kmod-monitor.log)"
        else
            fail "kmod-$k-tsm: device_del did not remove the device"
        fi
        grep '^E2E-FIGURE' "$klog" | sed "s/^E2E-FIGURE/    figure ($k):/"
        kmod_verify "kmod-$k-tsm" "$klog" E2E-TSM-DOC E2E-TSM-NONCE
        if [ "$k" != 6.12 ]; then
            kmod_check_extend "$klog" "kmod-$k-tsm"
        fi
        # nsm tsm-report's envelopes, verified as they are
        sed -n 's/^E2E-CLI-TSM-JSON //p' "$klog" | head -n 1 \
            > "$LOGS/kmod-$k-cli.json"
        kmod_hex_of E2E-CLI-TSM-CBOR "$klog" | kmod_unhex \
            > "$LOGS/kmod-$k-cli.cbor"
        cnonce=$(kmod_hex_of E2E-CLI-TSM-NONCE "$klog")
        for fmt in json cbor; do
            env=$LOGS/kmod-$k-cli.$fmt
            if [ -s "$env" ] && "$NSMCLI" verify "$env" \
                --root "$SHARE/nsm-pki/root.pem" --nonce "$cnonce" \
                > "$LOGS/kmod-$k-cli-$fmt-verify.log" 2>&1; then
                pass "kmod-$k-tsm: nsm verify accepts the $fmt envelope of" \
                    "nsm tsm-report"
            else
                fail "kmod-$k-tsm: the $fmt envelope of nsm tsm-report does" \
                    "not verify"
                head -n 4 "$LOGS/kmod-$k-cli-$fmt-verify.log" 2>/dev/null |
                    sed 's/^/    /'
            fi
        done
        if [ -n "$(kmod_hex_of E2E-GO-DOC "$klog")" ]; then
            kmod_verify "kmod-$k-go" "$klog" E2E-GO-DOC E2E-GO-NONCE
        else
            fail "kmod-$k-tsm: no report from go-tsm on the console"
        fi
    fi
    BOOT_VMLINUZ=
    BOOT_INITRD=
}

kmod_tier() {
    kmod_t0=$(date +%s)
    kmod_part
    echo "e2e: trustvio_nsm.ko part took $(($(date +%s) - kmod_t0)) s"
}

kmod_part() {
    echo "=== e2e: trustvio_nsm.ko setup (cached in $KM)"
    sh "$here/kmod-setup.sh" &
    setup_pid=$!
    wait "$setup_pid"
    ks_st=$?
    setup_pid=
    if [ $ks_st -ne 0 ]; then
        fail "kmod setup (see $LOGS/setup-kmod.log)"
        return
    fi
    pass "kmod setup: headers $(cat "$KM/6.12.stamp"), $(cut -d' ' -f1 \
        "$KM/7.stamp")"
    echo "=== e2e: trustvio_nsm.ko build"
    if ! $GUEST_CC $CFLAGS_GUEST -o "$GUEST/tsm-test" \
        "$here/guest/tsm_test.c" > "$LOGS/build-tsm-test.log" 2>&1; then
        fail "guest program tsm-test does not build"
        sed 's/^/    /' "$LOGS/build-tsm-test.log"
        return
    fi
    pass "guest program: static tsm-test"
    kmod_build || return
    for k in ${KMOD_KERNELS:-6.12 7}; do
        kmod_kernel "$k"
    done
}
