# Shared helpers of the end-to-end tier; sourced by setup.sh and run.sh,
# which must set E2E (the cache directory, normally var/e2e) first.
#
# Layout of $E2E:
#   apt/            private apt state for the bookworm-backports kernel
#   kernel/         the unpacked linux-image .deb
#   debs/           debootstrap's package cache (makes a rebuild cheap)
#   trixie/         debootstrap'd trixie (minbase) + qemu-system-x86 from
#                   trixie-backports
#   share/          vmlinuz, nsm.ko, initramfs, sockets, daemon state
#   guest/          guest programs and the initramfs tree (rebuilt per run)
#   logs/           console logs, daemon logs, setup logs
#   *.stamp         a step finished completely; without its stamp the step's
#                   output is treated as garbage and rebuilt

e2e_say() {
    echo "e2e: $*"
}

e2e_die() {
    echo "e2e: ERROR: $*" >&2
    exit 1
}

# e2e_wait_line LOG PATTERN: wait up to $TIMEOUT s (0.1 s apart) for a line
# of LOG matching PATTERN (grep); 1 when none came
e2e_wait_line() {
    wl_i=0
    while [ $wl_i -lt $((TIMEOUT * 10)) ]; do
        if grep -q "$2" "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
        wl_i=$((wl_i + 1))
    done
    return 1
}

# Print the Debian archive URL the host itself uses, taken from the host's
# apt sources (one-line .list and deb822 .sources). The security archive is
# skipped: it carries no backports. E2E_MIRROR overrides the detection;
# E2E_APT_ETC (default /etc/apt) is where the sources are read.
e2e_mirror() {
    if [ -n "${E2E_MIRROR:-}" ]; then
        echo "$E2E_MIRROR"
        return 0
    fi
    m=$(
        etc=${E2E_APT_ETC:-/etc/apt}
        for f in "$etc/sources.list" "$etc"/sources.list.d/*.list; do
            [ -r "$f" ] || continue
            # deb [opts] URI suite components...
            sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
                awk '$1 == "deb" && $3 !~ /-security/ &&
                     $3 ~ /^(bookworm|trixie|stable|testing|sid)/ { print $2 }'
        done
        for f in "$etc"/sources.list.d/*.sources; do
            [ -r "$f" ] || continue
            # deb822: stanzas separated by blank lines
            awk '
                function flush() {
                    if (types ~ /(^| )deb( |$)/ && suites !~ /-security/ &&
                        suites ~ /(bookworm|trixie|stable|testing|sid)/ &&
                        enabled != "no") {
                        n = split(uris, u, " ")
                        for (i = 1; i <= n; i++) print u[i]
                    }
                    types = ""; uris = ""; suites = ""; enabled = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                {
                    key = tolower($1); sub(/:$/, "", key)
                    val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                    if (key == "types") types = val
                    else if (key == "uris") uris = val
                    else if (key == "suites") suites = val
                    else if (key == "enabled") enabled = tolower(val)
                }
                END { flush() }
            ' "$f"
        done
    )
    m=$(echo "$m" | grep -E '^(https?|file)://' | head -n 1)
    if [ -z "$m" ]; then
        return 1
    fi
    echo "${m%/}"
}

# Unmount everything still mounted below $1 (deepest first). Setup and the
# chroot fallback mount inside a private mount namespace, so this only
# matters after a crash of an older layout; it keeps `rm -rf` of a clone
# from walking into the host's /dev.
e2e_umount_below() {
    dir=$(readlink -f "$1" 2>/dev/null) || return 0
    awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' \
        /proc/mounts | sort -r | while read -r mnt; do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    done
}

# Remove a directory tree without crossing into other file systems (a bind
# mount left behind must never take host files with it).
e2e_rm_tree() {
    [ -e "$1" ] || return 0
    e2e_umount_below "$1"
    rm -rf --one-file-system "$1"
}

# Run the trixie tree's QEMU without chroot or mounts: through that tree's
# own dynamic loader and libraries, with its firmware directories.
e2e_qemu() {
    lib=$E2E/trixie/usr/lib/x86_64-linux-gnu
    QEMU_MODULE_DIR=$lib/qemu "$lib/ld-linux-x86-64.so.2" \
        --library-path "$lib" "$E2E/trixie/usr/bin/qemu-system-x86_64" \
        -L "$E2E/trixie/usr/share/qemu" -L "$E2E/trixie/usr/share/seabios" \
        "$@"
}

# Serialise runs that share $E2E (two checkouts of CI jobs, a developer and
# check.sh): hold an exclusive lock on $E2E/lock for the life of the
# calling shell (fd 9). Children inherit it and see E2E_LOCKED=1.
e2e_lock() {
    [ "${E2E_LOCKED:-0}" = 1 ] && return 0
    mkdir -p "$E2E"
    exec 9> "$E2E/lock"
    if ! flock -n 9; then
        e2e_say "waiting for another e2e run using $E2E"
        flock -w 1800 9 || e2e_die "no lock on $E2E/lock after 30 min"
    fi
    E2E_LOCKED=1
    export E2E_LOCKED
}
