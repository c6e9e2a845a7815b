#!/bin/sh
# Cache for the trustvio_nsm.ko part of the e2e tier, after setup.sh:
#   kmod/6.12/   bookworm-backports' linux-headers-VER-amd64, -common and
#                linux-kbuild-VER for the 6.12 guest kernel setup.sh fetched
#                (unpacked, not installed: the host's dpkg is not touched),
#                that kernel's configfs.ko and tsm.ko, and checkpatch.pl
#                (with its data files) from linux-source-6.12
#   trixie tree  linux-headers-7.x-amd64 with binutils, dwarves and make
#                from trixie-backports, golang-go and
#                golang-github-google-go-configfs-tsm-dev installed
#   kmod/7/      vmlinuz of linux-binary-7.x-amd64 and configfs.ko,
#                tsm_report.ko of linux-modules-7.x-amd64
# The 7.x version is the newest linux-headers-7.*-amd64 trixie-backports
# lists. Stamps as in setup.sh; the 7.x stamp also names the trixie stamp it
# was built on, so a rebuilt tree gets its packages again.
#
# Usage: sh tests/e2e/kmod-setup.sh  (root; run.sh calls it under its lock)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
E2E=${E2E_DIR:-$repo/var/e2e}
. "$here/lib.sh"

[ "$(id -u)" -eq 0 ] || e2e_die "kmod setup needs root (chroot)"
[ -f "$E2E/kernel.stamp" ] && [ -f "$E2E/trixie.stamp" ] ||
    e2e_die "run tests/e2e/setup.sh first"
e2e_lock
K=$E2E/kmod
T=$E2E/trixie
mkdir -p "$K" "$E2E/logs"
log=$E2E/logs/setup-kmod.log

ns_pid=
on_signal() {
    if [ -n "$ns_pid" ]; then
        kill -KILL "$ns_pid" 2>/dev/null
        wait "$ns_pid" 2>/dev/null
    fi
    e2e_die "kmod setup interrupted; the next run rebuilds the unfinished step"
}
trap on_signal INT TERM HUP
ns_run() {
    unshare --mount --propagation private --fork --pid --kill-child "$@" &
    ns_pid=$!
    wait "$ns_pid"
    ns_st=$?
    ns_pid=
    return $ns_st
}

apt_opts="-o Dir::Etc::SourceList=$E2E/apt/sources.list
    -o Dir::Etc::SourceParts=/dev/null
    -o Dir::State::Lists=$E2E/apt/lists
    -o Dir::State::status=$E2E/apt/status
    -o Dir::Cache=$E2E/apt/cache
    -o APT::Sandbox::User=root -q"

# --- 6.12: headers, kbuild, the kernel's configfs-tsm modules, checkpatch ----

setup_612() {
    img=$(cat "$E2E/kernel.stamp") # linux-image-VER-amd64-unsigned
    ver=${img#linux-image-}
    ver=${ver%-amd64-unsigned}
    e2e_say "kmod setup: 6.12 headers and modules for $ver"
    rm -f "$K/6.12.stamp"
    e2e_rm_tree "$K/6.12"
    mkdir -p "$K/6.12/debs"
    # shellcheck disable=SC2086
    (cd "$K/6.12/debs" && apt-get $apt_opts download \
        "linux-headers-$ver-amd64" "linux-headers-$ver-common" \
        "linux-kbuild-$ver" "$img" linux-source-6.12) >> "$log" 2>&1 ||
        e2e_die "apt-get download of the 6.12 headers failed, see $log"
    for d in "$K"/6.12/debs/linux-headers-*.deb "$K"/6.12/debs/linux-kbuild-*.deb; do
        dpkg-deb -x "$d" "$K/6.12/root"
    done
    dpkg-deb -x "$K"/6.12/debs/linux-image-*.deb "$K/6.12/image"
    for m in configfs tsm; do
        f=$(find "$K/6.12/image" -name "$m.ko*" | head -n 1)
        [ -n "$f" ] || e2e_die "$m.ko missing from $img"
        case $f in
        *.xz) xz -dc "$f" > "$K/6.12/$m.ko" ;;
        *) cp "$f" "$K/6.12/$m.ko" ;;
        esac
    done
    # checkpatch.pl and the data files it reads, out of the source tarball
    mkdir -p "$K/6.12/src"
    dpkg-deb --fsys-tarfile "$K"/6.12/debs/linux-source-6.12_*.deb |
        tar -x -C "$K/6.12/src" --wildcards '*.tar.xz'
    tar -xJf "$(find "$K/6.12/src" -name '*.tar.xz' | head -n 1)" \
        -C "$K/6.12" --strip-components=1 --wildcards \
        '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
        '*/scripts/const_structs.checkpatch'
    e2e_rm_tree "$K/6.12/src"
    e2e_rm_tree "$K/6.12/image"
    e2e_rm_tree "$K/6.12/debs"
    [ -d "$K/6.12/root/usr/src/linux-headers-$ver-amd64" ] ||
        e2e_die "no linux-headers-$ver-amd64 unpacked"
    echo "$ver" > "$K/6.12.stamp"
}

# --- 7.x in the trixie tree ---------------------------------------------------

chroot_7='
    set -e
    t=$1 ver=$2
    mount --bind /proc "$t/proc"
    mount --bind /dev "$t/dev"
    chroot "$t" sh -c "export DEBIAN_FRONTEND=noninteractive &&
        apt-get -q install -y --no-install-recommends -t trixie-backports \
            linux-headers-$ver-amd64 binutils dwarves make &&
        apt-get -q install -y --no-install-recommends golang-go \
            golang-github-google-go-configfs-tsm-dev &&
        mkdir -p /tmp/kmod-debs && cd /tmp/kmod-debs &&
        apt-get -q download linux-binary-$ver-amd64 linux-modules-$ver-amd64 &&
        apt-get clean"
'

setup_7() {
    ver=$(chroot "$T" apt-cache search --names-only \
        '^linux-headers-7\.[0-9.]*\+deb13-amd64$' 2>/dev/null |
        awk '{ print $1 }' | sed -e 's/^linux-headers-//' -e 's/-amd64$//' |
        sort -V | tail -n 1)
    [ -n "$ver" ] || e2e_die "trixie-backports lists no linux-headers-7.*-amd64"
    e2e_say "kmod setup: Linux $ver in the trixie tree"
    rm -f "$K/7.stamp"
    e2e_rm_tree "$K/7"
    mkdir -p "$K/7"
    ns_run sh -c "$chroot_7" sh "$T" "$ver" >> "$log" 2>&1 ||
        e2e_die "installing the $ver headers failed, see $log"
    dpkg-deb -x "$T"/tmp/kmod-debs/linux-binary-*.deb "$K/7/root"
    dpkg-deb -x "$T"/tmp/kmod-debs/linux-modules-*.deb "$K/7/root"
    vmlinuz=$(find "$K/7/root" -name 'vmlinuz*' | head -n 1)
    [ -n "$vmlinuz" ] || e2e_die "no vmlinuz in linux-binary-$ver-amd64"
    cp "$vmlinuz" "$K/7/vmlinuz"
    for m in configfs tsm_report; do
        f=$(find "$K/7/root" -name "$m.ko*" | head -n 1)
        [ -n "$f" ] || e2e_die "$m.ko missing from linux-modules-$ver-amd64"
        case $f in
        *.xz) xz -dc "$f" > "$K/7/$m.ko" ;;
        *) cp "$f" "$K/7/$m.ko" ;;
        esac
    done
    e2e_rm_tree "$K/7/root"
    rm -rf "$T/tmp/kmod-debs"
    echo "$ver $(cat "$E2E/trixie.stamp")" > "$K/7.stamp"
}

if [ -f "$K/6.12.stamp" ] &&
    [ "$(cat "$K/6.12.stamp")" = "$(sed -e 's/^linux-image-//' \
        -e 's/-amd64-unsigned$//' "$E2E/kernel.stamp")" ]; then
    e2e_say "kmod setup: 6.12 headers cached ($(cat "$K/6.12.stamp"))"
else
    setup_612
fi

v7=$(cut -d' ' -f1 "$K/7.stamp" 2>/dev/null || true)
if [ -n "$v7" ] && [ "$(cut -d' ' -f2- "$K/7.stamp")" = \
    "$(cat "$E2E/trixie.stamp")" ] &&
    [ -d "$T/usr/src/linux-headers-$v7-amd64" ] &&
    [ -f "$K/7/vmlinuz" ]; then
    e2e_say "kmod setup: Linux $v7 cached"
else
    setup_7
fi
