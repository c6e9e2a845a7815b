#!/bin/sh
# Install the Debian packages the build and the test tiers need, only those
# that are missing. Runs as root on Debian 12; idempotent.
set -eu

PKGS="build-essential pkg-config meson ninja-build
libssl-dev openssl libcbor-dev libsqlite3-dev sqlite3 libcmocka-dev libseccomp-dev
clang libclang-rt-14-dev clang-format valgrind
python3 python3-cbor2 mmc-utils
debootstrap busybox-static cpio xz-utils gzip ca-certificates
dwarves perl"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing (run as root to install)" >&2
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
