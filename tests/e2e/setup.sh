#!/bin/sh
# Build (or check) the cache of the end-to-end tier under var/e2e:
#   1. the guest kernel and nsm.ko from bookworm-backports'
#      linux-image-6.12.*-amd64-unsigned, fetched with a private apt
#      configuration (the host's apt state is not touched);
#   2. a debootstrap'd trixie (minbase) with qemu-system-x86 >= 10.2 from
#      trixie-backports.
# Each step ends with a stamp file; a step without its stamp is rebuilt from
# nothing. Every mount this script makes lives in a private mount namespace
# (unshare -m), so no mount can outlive the script, whatever kills it.
#
# Usage: sh tests/e2e/setup.sh        (root; from anywhere)
# Environment: E2E_DIR (default <repo>/var/e2e), E2E_MIRROR (Debian archive
# URL; default: the one in the host's apt sources).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
E2E=${E2E_DIR:-$repo/var/e2e}
. "$here/lib.sh"

[ "$(id -u)" -eq 0 ] || e2e_die "setup needs root (debootstrap, chroot)"
for tool in debootstrap dpkg-deb apt-get xz unshare chroot; do
    command -v "$tool" >/dev/null 2>&1 ||
        e2e_die "missing $tool (run scripts/install-deps.sh)"
done

e2e_lock
mkdir -p "$E2E/logs" "$E2E/share"
# All mounts happen in private namespaces (unshare -m) and die with them;
# the EXIT trap only sweeps up after an older, crashed setup. A signal ends
# the namespace's whole process tree (ns_run), then this script.
ns_pid=
trap 'e2e_umount_below "$E2E/trixie"' EXIT
on_signal() {
    if [ -n "$ns_pid" ]; then
        # unshare --fork blocks SIGTERM while it waits for its child; its
        # death (SIGKILL) makes the kernel kill the whole namespace
        kill -KILL "$ns_pid" 2>/dev/null
        wait "$ns_pid" 2>/dev/null
    fi
    e2e_die "setup interrupted; the next run rebuilds the unfinished step"
}
trap on_signal INT TERM HUP
e2e_umount_below "$E2E/trixie"

# Run a command in private mount and PID namespaces: its mounts vanish with
# it, and when unshare ends (e.g. killed by on_signal) the kernel kills
# every process of the command's tree (--kill-child on the namespace init).
ns_run() {
    unshare --mount --propagation private --fork --pid --kill-child "$@" &
    ns_pid=$!
    wait "$ns_pid"
    ns_st=$?
    ns_pid=
    return $ns_st
}
MIRROR=$(e2e_mirror) ||
    e2e_die "no Debian mirror in /etc/apt/sources.list*; set E2E_MIRROR"

# --- 1. guest kernel ---------------------------------------------------------

setup_kernel() {
    e2e_say "setup: guest kernel from bookworm-backports ($MIRROR)"
    rm -f "$E2E/kernel.stamp" "$E2E/share/vmlinuz" "$E2E/share/nsm.ko"
    e2e_rm_tree "$E2E/kernel"
    mkdir -p "$E2E/apt/lists/partial" "$E2E/apt/cache/archives/partial" \
        "$E2E/kernel"
    echo "deb $MIRROR bookworm-backports main" > "$E2E/apt/sources.list"
    : > "$E2E/apt/status"
    apt_opts="-o Dir::Etc::SourceList=$E2E/apt/sources.list
        -o Dir::Etc::SourceParts=/dev/null
        -o Dir::State::Lists=$E2E/apt/lists
        -o Dir::State::status=$E2E/apt/status
        -o Dir::Cache=$E2E/apt/cache
        -o APT::Sandbox::User=root -q"
    # shellcheck disable=SC2086
    apt-get $apt_opts update > "$E2E/logs/setup-kernel.log" 2>&1 ||
        e2e_die "apt-get update (bookworm-backports) failed, see" \
            "$E2E/logs/setup-kernel.log"
    # shellcheck disable=SC2086
    pkg=$(apt-cache $apt_opts search --names-only \
        '^linux-image-6\.12\.[^-]*-amd64-unsigned$' | awk '{ print $1 }' |
        sort -V | tail -n 1)
    [ -n "$pkg" ] || e2e_die "no linux-image-6.12.*-amd64-unsigned found"
    e2e_say "setup: downloading $pkg"
    # shellcheck disable=SC2086
    (cd "$E2E/kernel" && apt-get $apt_opts download "$pkg") \
        >> "$E2E/logs/setup-kernel.log" 2>&1 ||
        e2e_die "apt-get download $pkg failed"
    dpkg-deb -x "$E2E"/kernel/linux-image-*.deb "$E2E/kernel/root"
    grep -q '^CONFIG_NSM=m' "$E2E"/kernel/root/boot/config-* ||
        e2e_die "$pkg does not build nsm.ko (CONFIG_NSM)"
    cp "$E2E"/kernel/root/boot/vmlinuz-* "$E2E/share/vmlinuz"
    ko=$(find "$E2E/kernel/root" -name 'nsm.ko*' | head -n 1)
    [ -n "$ko" ] || e2e_die "nsm.ko missing from $pkg"
    case $ko in
    *.xz) xz -dc "$ko" > "$E2E/share/nsm.ko" ;;
    *) cp "$ko" "$E2E/share/nsm.ko" ;;
    esac
    cp "$E2E"/kernel/root/boot/config-* "$E2E/share/kernel.config"
    # only vmlinuz and nsm.ko are needed; drop the other ~100 MB
    rm -f "$E2E"/kernel/*.deb
    e2e_rm_tree "$E2E/kernel/root"
    echo "$pkg" > "$E2E/kernel.stamp"
}

# --- 2. trixie chroot with QEMU from trixie-backports ------------------------

# Bind-mount /proc and /dev into the chroot and install QEMU there. Runs as
# the body of ns_run: the mounts vanish with that namespace.
chroot_install='
    set -e
    t=$1
    mount --bind /proc "$t/proc"
    mount --bind /dev "$t/dev"
    chroot "$t" sh -c "export DEBIAN_FRONTEND=noninteractive &&
        apt-get -q update &&
        apt-get -q install -y --no-install-recommends -t trixie-backports \
            qemu-system-x86 &&
        apt-get clean"
'

qemu_version_ok() {
    # major.minor >= 10.2
    v=$(dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Version}' \
        qemu-system-x86 2>/dev/null) || return 1
    v=${v#*:}
    major=${v%%.*}
    rest=${v#*.}
    minor=${rest%%[!0-9]*}
    echo "$v" > "$E2E/qemu.version"
    [ "$major" -gt 10 ] || { [ "$major" -eq 10 ] && [ "$minor" -ge 2 ]; }
}

setup_trixie() {
    t=$E2E/trixie
    e2e_say "setup: debootstrap trixie (minbase) into $t"
    rm -f "$E2E/trixie.stamp"
    e2e_rm_tree "$t"
    mkdir -p "$E2E/debs"
    log=$E2E/logs/setup-trixie.log
    : > "$log"
    # a throw-away tree: dpkg in debootstrap's second stage reads this too,
    # so it skips the fsync per unpacked file
    mkdir -p "$t/etc/dpkg/dpkg.cfg.d"
    echo force-unsafe-io > "$t/etc/dpkg/dpkg.cfg.d/e2e-unsafe-io"
    # debootstrap mounts proc/sys in the target itself: keep those mounts in
    # a namespace of their own too
    ns_run debootstrap --variant=minbase --include=ca-certificates \
        --cache-dir="$E2E/debs" trixie "$t" "$MIRROR" >> "$log" 2>&1 ||
        e2e_die "debootstrap failed, see $log"
    took "debootstrap"
    printf 'deb %s trixie main\ndeb %s trixie-backports main\n' \
        "$MIRROR" "$MIRROR" > "$t/etc/apt/sources.list"
    cp /etc/resolv.conf "$t/etc/resolv.conf" 2>/dev/null || true
    echo 'Acquire::Languages "none";' > "$t/etc/apt/apt.conf.d/99e2e"
    e2e_say "setup: installing qemu-system-x86 from trixie-backports"
    ns_run sh -c "$chroot_install" sh "$t" >> "$log" 2>&1 ||
        e2e_die "qemu install failed, see $log"
    qemu_version_ok "$t" ||
        e2e_die "QEMU $(cat "$E2E/qemu.version" 2>/dev/null) < 10.2"
    e2e_qemu -device help 2>/dev/null |
        grep -q '"vhost-user-test-device-pci"' ||
        e2e_die "QEMU lacks vhost-user-test-device-pci"
    e2e_say "setup: QEMU $(cat "$E2E/qemu.version")"
    echo "trixie $(cat "$E2E/qemu.version")" > "$E2E/trixie.stamp"
}

t_step=$(date +%s)
took() {
    now=$(date +%s)
    e2e_say "setup: $1 took $((now - t_step)) s"
    t_step=$now
}

if [ -f "$E2E/kernel.stamp" ] && [ -f "$E2E/share/vmlinuz" ] &&
    [ -f "$E2E/share/nsm.ko" ]; then
    e2e_say "setup: kernel cached ($(cat "$E2E/kernel.stamp"))"
else
    setup_kernel
    took "kernel"
fi

# the cached tree must still run QEMU and offer the generic vhost-user
# device; anything else (a damaged or foreign tree) is rebuilt
qemu_usable() {
    [ -f "$E2E/trixie.stamp" ] || return 1
    [ -x "$E2E/trixie/usr/bin/qemu-system-x86_64" ] || return 1
    e2e_qemu -device help 2>/dev/null |
        grep -q '"vhost-user-test-device-pci"'
}

if qemu_usable; then
    e2e_say "setup: QEMU cached ($(cat "$E2E/trixie.stamp"))"
else
    setup_trixie
    took "QEMU install"
fi
