#!/bin/sh
# The real-VMM end-to-end tier: a real Linux guest (Debian's 6.12 kernel and
# nsm.ko) in a real QEMU (>= 10.2 from trixie-backports, TCG, -machine pc;
# q35 for the DOE part)
# talks to our vhost-user daemons through vhost-user-test-device-pci.
#
#   boot          the guest boots and powers off (QEMU + kernel sanity)
#   nsm           vhost-user-nsm; the guest runs every NSM operation through
#                 nsm.ko's /dev/nsm and its hwrng; the host verifies the
#                 attestation document with `build/tools/nsm verify`
#   rpmb fresh    vhost-user-rpmb; a user-space virtio-pci driver in the guest
#                 programs the key, reads the counter, writes and reads
#   rpmb persist  the same store after a daemon restart and a new boot
#   tdisp-*       trustvio-dsm behind QEMU's NVMe function (q35, DOE); the
#                 guest runs tdisp over the DOE mailbox (tests/e2e/tdisp.sh)
#
# Run from anywhere as root after `ninja -C build`; prints every host and
# guest step and ends with "N passed, M failed". Exit 0 only if all passed.
# Caches under var/e2e (tests/e2e/setup.sh); logs in var/e2e/logs.
#
# Environment: BUILD (default build), E2E_DIR (default var/e2e),
# E2E_MIRROR (Debian mirror URL, default from the host's apt sources),
# TV_VECTORS_DIR (default <repo>/tests/vectors),
# E2E_TIMEOUT (seconds per QEMU run, default 180), GUEST_CC (compiler for
# the static guest programs, default gcc; clang works too), E2E_KMOD=0
# (skip the trustvio_nsm.ko boots), KMOD_KERNELS (default "6.12 7"),
# E2E_TDISP=0 (skip the trustvio-dsm boots), TDISP_KERNELS (default
# "6.12 7"; 7 only when the kmod part's 7.x kernel is cached), TSM_BUILD
# (where trustvio-tsm, tsm-host and tsm-guest are looked for; default BUILD).
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo" || exit 1
E2E=${E2E_DIR:-$repo/var/e2e}
BUILD=${BUILD:-$repo/build}
TIMEOUT=${E2E_TIMEOUT:-180}
. "$here/lib.sh"

LOGS=$E2E/logs
SHARE=$E2E/share
T=$E2E/trixie
NSMD=$BUILD/src/daemon/vhost-user-nsm
RPMBD=$BUILD/src/daemon/vhost-user-rpmb
NSMCLI=$BUILD/tools/nsm
# the vectors kept in the repository (tests/vectors/PROVENANCE.md)
VECTORS=${TV_VECTORS_DIR:-$repo/tests/vectors}

# RPMB geometry given to the daemon and expected in the guest's config space
RPMB_CAPACITY=2    # 128 KiB units (the daemon takes bytes)
RPMB_MAX_WR=4      # blocks per write request
RPMB_MAX_RD=8      # blocks per read request

passed=0
failed=0
daemon_pid=
qemu_pid=
setup_pid=
t_start=$(date +%s)

pass() {
    passed=$((passed + 1))
    echo "  PASS $*"
}

fail() {
    failed=$((failed + 1))
    echo "  FAIL $*"
}

finish() {
    echo "e2e: total $(($(date +%s) - t_start)) s; logs in $LOGS"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}

# End only what this script started, by pid. The daemon runs under
# timeout(1) so that even a SIGKILLed run.sh cannot leave it behind for
# long; timeout relays our SIGTERM to it and exits with its status.
stop_daemon() {
    [ -n "$daemon_pid" ] || return 0
    daemon_status=0
    if kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null
        i=0
        while kill -0 "$daemon_pid" 2>/dev/null && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        if kill -0 "$daemon_pid" 2>/dev/null; then
            echo "e2e: daemon ignored SIGTERM for 5 s; killing it"
            for child in $(cat "/proc/$daemon_pid/task/$daemon_pid/children" \
                2>/dev/null); do
                kill -KILL "$child" 2>/dev/null
            done
            kill -KILL "$daemon_pid" 2>/dev/null
            wait "$daemon_pid" 2>/dev/null
            daemon_pid=
            return 1
        fi
    fi
    wait "$daemon_pid" 2>/dev/null
    daemon_status=$?
    daemon_pid=
    return 0
}

cleanup() {
    if [ -n "$setup_pid" ]; then
        kill -TERM "$setup_pid" 2>/dev/null
        wait "$setup_pid" 2>/dev/null
        setup_pid=
    fi
    if [ -n "$qemu_pid" ]; then
        kill -TERM "$qemu_pid" 2>/dev/null
        wait "$qemu_pid" 2>/dev/null
        qemu_pid=
    fi
    stop_daemon
    # the second daemon of the TSM boot (tests/e2e/tdisp.sh)
    if [ -n "${tsm_pid:-}" ]; then
        kill -TERM "$tsm_pid" 2>/dev/null
        wait "$tsm_pid" 2>/dev/null
        tsm_pid=
    fi
}

trap cleanup EXIT
on_signal() {
    trap - EXIT INT TERM HUP
    cleanup
    fail "interrupted by a signal"
    echo "$passed passed, $failed failed"
    exit 130
}
trap on_signal INT TERM HUP

echo "=== e2e: setup (cached in $E2E)"
if [ "$(id -u)" -ne 0 ]; then
    fail "setup: run as root (debootstrap builds the cached QEMU tree)"
    finish
fi
e2e_lock
# in the background so that a signal reaches our trap at once (setup ends
# its own namespaced children when told to)
sh "$here/setup.sh" &
setup_pid=$!
wait "$setup_pid"
setup_st=$?
setup_pid=
if [ $setup_st -eq 0 ]; then
    pass "setup: kernel $(cat "$E2E/kernel.stamp"), QEMU $(cat \
        "$E2E/qemu.version")"
else
    fail "setup (see $LOGS/setup-*.log)"
    finish
fi

# QEMU runs from the trixie tree through that tree's own dynamic loader
# (see boot()): no chroot and no mounts, host paths work as they are.
QEMU_LIBDIR=$T/usr/lib/x86_64-linux-gnu

echo "=== e2e: guest programs and initramfs"
GUEST=$E2E/guest
rm -rf "$GUEST"
mkdir -p "$GUEST/root/bin" "$GUEST/root/proc" "$GUEST/root/sys" \
    "$GUEST/root/dev" "$GUEST/root/tv" "$LOGS"
# the project's warning set; rpmb-test also links the project's RPMB client
# (src/client/rpmbc.c + rpmb_frame.h) over a guest HMAC (guest_crypto.c)
CFLAGS_GUEST="-std=c17 -D_GNU_SOURCE -O2 -static -Wall -Wextra -Wpedantic
    -Wshadow -Wswitch-default -Wimplicit-fallthrough -Wvla -Wstrict-prototypes
    -Wmissing-prototypes -Wformat=2 -Werror -I$repo/src -I$here/guest"
GUEST_CC=${GUEST_CC:-gcc}
guest_ok=1
guest_cc() {
    out=$1
    shift
    blog=$LOGS/build-$(basename "$out").log
    # shellcheck disable=SC2086
    if ! $GUEST_CC $CFLAGS_GUEST -o "$out" "$@" > "$blog" 2>&1; then
        sed 's/^/    /' "$blog"
        guest_ok=0
    fi
}
guest_cc "$GUEST/root/nsm-test" "$here/guest/nsm_test.c"
guest_cc "$GUEST/root/rpmb-test" "$here/guest/rpmb_test.c" \
    "$here/guest/guest_crypto.c" "$repo/src/client/rpmbc.c" \
    "$repo/src/common/ct.c"
if [ $guest_ok -eq 1 ]; then
    pass "guest programs: static nsm-test, rpmb-test"
else
    fail "guest programs do not build"
    finish
fi

# the guest's HMAC-SHA256 against every shared RPMB vector, on the host
vec=$VECTORS/rpmb
n_tv=0
bad_tv=
for key in "$vec"/TV*.key; do
    [ -f "$key" ] || continue
    n=$(basename "$key" .key)
    want=$(grep -A3 "^$n " "$vec/tv.txt" | sed -n 's/.*MAC= *//p' | head -n 1)
    got=$("$GUEST/root/rpmb-test" --hmac "$key" "$vec/$n.msg")
    n_tv=$((n_tv + 1))
    [ -n "$want" ] && [ "$got" = "$want" ] || bad_tv="$bad_tv $n"
done
if [ "$n_tv" -gt 0 ] && [ -z "$bad_tv" ]; then
    pass "guest HMAC-SHA256 matches $n_tv RPMB vectors"
else
    fail "guest HMAC-SHA256 vectors:${bad_tv:- none found in $vec}"
fi

# the guest's shell and tools: Debian's busybox-static
busybox=$(command -v busybox || echo /bin/busybox)
if [ ! -x "$busybox" ] || ldd "$busybox" > /dev/null 2>&1; then
    fail "no static busybox at $busybox (install busybox-static)"
    finish
fi
cp "$busybox" "$GUEST/root/bin/busybox"
cp "$here/guest/init" "$GUEST/root/init"
chmod 755 "$GUEST/root/init"
cp "$SHARE/nsm.ko" "$GUEST/root/nsm.ko"
cp "$vec/TV2.key" "$vec/TV2.msg" "$GUEST/root/tv/" 2>/dev/null
# the project's CLI inside the guest: a static build if there is one, else
# the dynamic binary with the host libraries it needs (same paths)
if [ -x "$BUILD/tools/nsm-static" ]; then
    cp "$BUILD/tools/nsm-static" "$GUEST/root/bin/nsm"
    echo "e2e: static nsm CLI included in the guest"
elif [ -x "$NSMCLI" ]; then
    cp "$NSMCLI" "$GUEST/root/bin/nsm"
    for lib in $(ldd "$NSMCLI" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
        $1 ~ /^\// { print $1 }'); do
        mkdir -p "$GUEST/root$(dirname "$lib")"
        cp -L "$lib" "$GUEST/root$lib"
    done
    echo "e2e: nsm CLI included in the guest with its shared libraries"
else
    echo "e2e: note: no $NSMCLI; the guest runs the NSM test program only"
fi
if (cd "$GUEST/root" && find . | cpio -o -H newc --quiet | gzip -1) \
    > "$SHARE/initramfs.cpio.gz"; then
    pass "initramfs $(du -k "$SHARE/initramfs.cpio.gz" | cut -f1) KiB"
else
    fail "initramfs"
    finish
fi

# boot NAME APPEND [QEMU device args...]: one guest run, console to
# $LOGS/NAME-console.log. Sets boot_ok=1 if the guest reached its end marker.
# BOOT_MACHINE (default pc), BOOT_VMLINUZ and BOOT_INITRD override the
# machine type, kernel and initramfs.
boot() {
    name=$1
    append=$2
    shift 2
    log=$LOGS/$name-console.log
    t0=$(date +%s.%N)
    timeout -k 5 "$TIMEOUT" sh -c '
        lib=$1 tree=$2
        shift 2
        QEMU_MODULE_DIR=$lib/qemu exec "$lib/ld-linux-x86-64.so.2" \
            --library-path "$lib" "$tree/usr/bin/qemu-system-x86_64" \
            -L "$tree/usr/share/qemu" -L "$tree/usr/share/seabios" "$@"' sh \
        "$QEMU_LIBDIR" "$T" \
        -machine "${BOOT_MACHINE:-pc},memory-backend=mem" -accel tcg \
        -cpu max -smp 2 -m 512M \
        -nographic -nic none -no-reboot -monitor none -serial stdio \
        -object memory-backend-memfd,id=mem,size=512M,share=on \
        -kernel "${BOOT_VMLINUZ:-$SHARE/vmlinuz}" \
        -initrd "${BOOT_INITRD:-$SHARE/initramfs.cpio.gz}" \
        -append "console=ttyS0 panic=-1 quiet $append" "$@" \
        < /dev/null > "$log" 2>&1 &
    qemu_pid=$!
    wait "$qemu_pid"
    rc=$?
    qemu_pid=
    t1=$(date +%s.%N)
    secs=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
    # strip terminal escapes and CRs so the log greps cleanly
    sed -i -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' -e 's/\r$//' \
        "$log"
    boot_ok=0
    if grep -q '^E2E-GUEST-END' "$log"; then
        boot_ok=1
        pass "$name: guest ran to the end and powered off ($secs s)"
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        fail "$name: QEMU timed out after $TIMEOUT s"
    else
        fail "$name: guest did not finish (QEMU exit $rc)"
    fi
    # the guest's steps, and kernel lines worth seeing
    grep -E '^(E2E-STEP|  )' "$log" | grep -v '^E2E-DOC' | sed 's/^/    /'
    n_fail_steps=$(grep -c '^E2E-STEP FAIL' "$log")
    n_pass_steps=$(grep -c '^E2E-STEP PASS' "$log")
    passed=$((passed + n_pass_steps))
    failed=$((failed + n_fail_steps))
    grep -E 'nsm|virtio|vhost|Invalid response|BUG|Oops|Call Trace|panic' \
        "$log" | grep -v '^E2E' | grep -v '^  ' | head -n 20 |
        sed 's/^/    console: /'
    if [ $boot_ok -eq 0 ] || [ "$n_fail_steps" -gt 0 ]; then
        echo "    --- last console lines ($log):"
        tail -n 25 "$log" | sed 's/^/    | /'
    fi
}

# start_daemon NAME SOCKET BINARY ARGS...: listen before QEMU starts
start_daemon() {
    name=$1
    sock=$2
    bin=$3
    shift 3
    rm -f "$sock"
    if [ ! -x "$bin" ]; then
        fail "$name: $bin missing (build/ not built, or daemon not ready)"
        return 1
    fi
    timeout -k 5 $((TIMEOUT + 120)) "$bin" "$@" \
        > "$LOGS/$name-daemon.log" 2>&1 &
    daemon_pid=$!
    i=0
    while [ ! -S "$sock" ] && [ $i -lt 100 ]; do
        if ! kill -0 "$daemon_pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
        i=$((i + 1))
    done
    if [ ! -S "$sock" ]; then
        fail "$name: daemon did not listen on $sock"
        sed 's/^/    daemon: /' "$LOGS/$name-daemon.log" | tail -n 20
        stop_daemon
        return 1
    fi
    pass "$name: $(basename "$bin") listening (pid $daemon_pid)"
    return 0
}

# end_daemon NAME: SIGTERM must end it promptly (vhost-user.rst)
end_daemon() {
    if stop_daemon; then
        if [ "$daemon_status" -eq 0 ]; then
            pass "$1: daemon exited on SIGTERM"
        else
            fail "$1: daemon exited with status $daemon_status"
            tail -n 10 "$LOGS/$1-daemon.log" | sed 's/^/    daemon: /'
        fi
    else
        fail "$1: daemon had to be killed"
    fi
    if grep -qiE 'sanitizer|runtime error' "$LOGS/$1-daemon.log"; then
        fail "$1: sanitizer report in the daemon log"
        grep -iE -A5 'sanitizer|runtime error' "$LOGS/$1-daemon.log" |
            head -n 20 | sed 's/^/    daemon: /'
    fi
}

# ---- boot ----------------------------------------------------------------
echo "=== e2e: boot (no device)"
boot boot "e2etest=boot"

# ---- NSM -----------------------------------------------------------------
echo "=== e2e: NSM over vhost-user-nsm"
rm -rf "$SHARE/nsm-pki"
mkdir -p "$SHARE/nsm-pki"
module_id=i-0e2e0e2e0e2e0e2e0-enc0e2e0e2e0e2e0e2e
nsm_q=num_vqs=1,vq_size=64
if start_daemon nsm "$SHARE/nsm.sock" "$NSMD" \
    --socket-path "$SHARE/nsm.sock" --pki "$SHARE/nsm-pki" \
    --module-id "$module_id"; then
    boot nsm "e2etest=nsm e2e.module_id=$module_id" \
        -chardev "socket,id=vu0,path=$SHARE/nsm.sock" \
        -device "vhost-user-test-device-pci,chardev=vu0,virtio-id=33,$nsm_q"
    end_daemon nsm
    log=$LOGS/nsm-console.log
    if grep -q 'Invalid response for GetRandom' "$log"; then
        fail "nsm: kernel logged 'Invalid response for GetRandom'"
    else
        pass "nsm: no hwrng errors in the kernel log"
    fi
    if grep -q '^E2E-RESULT' "$log"; then
        pass "nsm: guest test completed ($(grep '^E2E-RESULT' "$log" |
            cut -d' ' -f2-))"
    else
        fail "nsm: guest test did not complete"
    fi

    echo "=== e2e: host verifies the guest's attestation document"
    doc=$LOGS/nsm-attestation.cose
    sed -n '/^E2E-DOC-BEGIN/,/^E2E-DOC-END/p' "$log" | grep -v '^E2E-DOC' |
        tr -d ' \n' | perl -ne 'print pack("H*", $_)' > "$doc"
    nonce=$(sed -n 's/^E2E-DOC-NONCE //p' "$log")
    root=$SHARE/nsm-pki/root.pem
    [ -f "$root" ] || root=''
    if [ ! -s "$doc" ]; then
        fail "verify: no document in the console log"
    elif [ -z "$root" ]; then
        fail "verify: no root certificate (root*.pem) in $SHARE/nsm-pki"
    elif [ ! -x "$NSMCLI" ]; then
        fail "verify: $NSMCLI missing"
    else
        verified=0
        pcr16=$(sed -n 's/^E2E-DOC-PCR16 //p' "$log")
        # chain to the daemon's root, now and at the document's time, plus
        # the policy: the guest's nonce, PCR16 as extended, freshness
        if "$NSMCLI" verify "$doc" --root "$root" --nonce "$nonce" \
            --pcr "16=$pcr16" --max-age 900 \
            > "$LOGS/nsm-verify.log" 2>&1 &&
            "$NSMCLI" verify "$doc" --root "$root" --at document -q \
            >> "$LOGS/nsm-verify.log" 2>&1; then
            verified=1
            pass "verify: nsm verify accepts the document ($(wc -c \
                < "$doc") bytes) under $(basename "$root")"
        else
            fail "verify: nsm verify rejected the document"
        fi
        sed 's/^/    /' "$LOGS/nsm-verify.log" | head -n 6
        # a flipped signature byte must be refused (only meaningful once
        # the intact document verifies)
        if [ $verified -eq 1 ]; then
            cp "$doc" "$doc.bad"
            size=$(wc -c < "$doc")
            printf '\377' | dd of="$doc.bad" bs=1 seek=$((size - 10)) \
                conv=notrunc 2>/dev/null
            if "$NSMCLI" verify "$doc.bad" --root "$root" --nonce "$nonce" \
                > "$LOGS/nsm-verify-bad.log" 2>&1; then
                fail "verify: a document with a flipped signature byte passed"
            else
                pass "verify: a flipped signature byte is rejected"
            fi
            # and so is the right document under another root (AWS's)
            aws=$VECTORS/nsm/aws-nitro-enclaves-root-g1.pem
            if [ -f "$aws" ]; then
                if "$NSMCLI" verify "$doc" --root "$aws" --nonce "$nonce" \
                    > "$LOGS/nsm-verify-aws.log" 2>&1; then
                    fail "verify: accepted under the AWS root"
                else
                    pass "verify: refused under a different pinned root"
                fi
            fi
            # a wrong nonce policy must fail
            if "$NSMCLI" verify "$doc" --root "$root" --nonce 00 -q \
                > /dev/null 2>&1; then
                fail "verify: a wrong --nonce policy passed"
            else
                pass "verify: a wrong --nonce policy is refused"
            fi
        fi
    fi
fi

# ---- trustvio_nsm.ko (tests/e2e/kmod.sh) ---------------------------------
if [ "${E2E_KMOD:-1}" = 1 ]; then
    . "$here/kmod.sh"
    kmod_tier
fi

# ---- TEE-IO: trustvio-dsm behind QEMU's NVMe DOE (tests/e2e/tdisp.sh) ---
if [ "${E2E_TDISP:-1}" = 1 ]; then
    . "$here/tdisp.sh"
    tdisp_tier
fi

# ---- RPMB ----------------------------------------------------------------
rpmb_dev="vhost-user-test-device-pci,chardev=vu1,virtio-id=28"
rpmb_dev="$rpmb_dev,num_vqs=1,vq_size=64,config_size=3"
rpmb_cfg="$RPMB_CAPACITY,$RPMB_MAX_WR,$RPMB_MAX_RD"
rm -f "$SHARE/rpmb.store" "$SHARE"/rpmb.store-*
for phase in fresh persist; do
    echo "=== e2e: RPMB over vhost-user-rpmb ($phase)"
    if start_daemon "rpmb-$phase" "$SHARE/rpmb.sock" "$RPMBD" \
        --socket-path "$SHARE/rpmb.sock" --store "$SHARE/rpmb.store" \
        --capacity "$((RPMB_CAPACITY * 131072))" \
        --max-wr-cnt "$RPMB_MAX_WR" --max-rd-cnt "$RPMB_MAX_RD"; then
        boot "rpmb-$phase" "e2etest=rpmb e2e.phase=$phase e2e.cfg=$rpmb_cfg" \
            -chardev "socket,id=vu1,path=$SHARE/rpmb.sock" \
            -device "$rpmb_dev"
        end_daemon "rpmb-$phase"
        if grep -q '^E2E-RESULT' "$LOGS/rpmb-$phase-console.log"; then
            pass "rpmb-$phase: guest test completed ($(grep '^E2E-RESULT' \
                "$LOGS/rpmb-$phase-console.log" | cut -d' ' -f2-))"
        else
            fail "rpmb-$phase: guest test did not complete"
        fi
    fi
done

finish
