#!/bin/sh
# Least privilege of trustvio-dsm.
#   seccomp: with the filter on (the default) a system call outside the
#            serve loop's allow-list (an IPv4 socket() made by a preloaded
#            accept4 wrapper once a connection is accepted) kills the
#            daemon with SIGSYS; the same daemon with --sandbox=none serves
#            on. A clean run under the filter serves the whole flow.
#   user:    started as root with --user nobody, the daemon serves as uid
#            and gid 65534 with no supplementary groups, its admin socket
#            handed over and removed on exit (needs root: skipped
#            otherwise).
# Usage: dsm_privsep.sh seccomp|user DSM_EXE TDISP_EXE [FORBIDDEN_PRELOAD]
set -u

MODE=$1
DSM=$2
TDISP=$3
PRELOAD=${4:-}
# shellcheck source=SCRIPTDIR/tee_lib.sh
. "$(dirname "$0")/tee_lib.sh"
pid=""

stop_all() {
    stop_pid "$pid"
    pid=""
}

show_failure() {
    [ -f "$T/dsm.log" ] && sed 's/^/  dsm: /' "$T/dsm.log"
    [ -f "$T/out" ] && cat "$T/out"
}
tee_init dsmpriv
chmod 0755 "$T"

start_dsm() {
    # start_dsm [ENV=VALUE...] -- [DSM OPTIONS...]: sets pid and PORT once
    # the daemon says it listens (the log line follows the filter's set-up;
    # probing a socket would make the preload fire)
    envs=""
    while [ "$1" != "--" ]; do
        envs="$envs $1"
        shift
    done
    shift
    for try in 1 2 3 4 5 6 7 8; do
        PORT=$(tee_port "$try")
        # emptied here, not only by the redirection below: the background
        # job opens the file after this shell has gone on, and the first
        # poll would otherwise read the previous daemon's log, which names
        # the same port
        : > "$T/dsm.log"
        # shellcheck disable=SC2086
        env $envs "$DSM" --port "$PORT" --pki "$T/pki" \
            --admin-socket "$T/run/admin" --tdi 01:00.0 --verbose "$@" \
            2> "$T/dsm.log" &
        pid=$!
        wait_ready "$pid" 0.2 \
            grep -q "listening on 127.0.0.1:$PORT" "$T/dsm.log" && return 0
        stop_pid "$pid"
        pid=""
        grep -q "Address already in use" "$T/dsm.log" || break
    done
    gave_up trustvio-dsm "$T/dsm.log"
}

stop_dsm() {
    kill -TERM "$pid"
    wait "$pid"
    rc=$?
    pid=""
}

mkdir -p "$T/run"
R() {
    "$TDISP" --port "$PORT" --root "$T/pki/ca.pem" --function 01:00.0 "$@"
}

case $MODE in
seccomp)
    [ -n "$PRELOAD" ] || { echo "usage: $0 seccomp DSM TDISP PRELOAD"; exit 2; }
    asan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

    # the filter on, no preload: the whole flow, then a clean exit
    start_dsm --
    grep -q "syscall filter on" "$T/dsm.log" && ok "filter on by default" ||
        bad "no 'syscall filter on' in the log"
    if R authenticate measurements session heartbeat key-update lock \
        report start stop > "$T/out" 2>&1; then
        ok "the whole flow under the filter"
    else
        bad "the whole flow under the filter"
    fi
    stop_dsm
    [ "$rc" = 0 ] && [ ! -e "$T/run/admin" ] &&
        ok "SIGTERM under the filter: exit 0, admin socket removed" ||
        bad "SIGTERM under the filter (rc $rc)"

    # a forbidden call in the loop: killed by SIGSYS
    start_dsm "LD_PRELOAD=$PRELOAD" "ASAN_OPTIONS=$asan" --
    R authenticate > "$T/out" 2>&1
    reap "$pid"
    pid=""
    # a shell reports death by signal N as 128 + N; SIGSYS is 31 on Linux
    [ "$rc" = $((128 + 31)) ] && ok "a forbidden call kills it with SIGSYS" ||
        bad "forbidden call: exit status $rc, not SIGSYS"
    rm -f "$T/run/admin" # a killed daemon leaves its socket file

    # the same preload without the filter: served, twice
    start_dsm "LD_PRELOAD=$PRELOAD" "ASAN_OPTIONS=$asan" -- --sandbox=none
    grep -q "serving without a syscall filter" "$T/dsm.log" &&
        ok "--sandbox=none says so" || bad "--sandbox=none not logged"
    R authenticate > "$T/out" 2>&1 && R authenticate > "$T/out" 2>&1 &&
        kill -0 "$pid" && ok "--sandbox=none: the same call is harmless" ||
        bad "--sandbox=none with the preload"
    stop_dsm
    [ "$rc" = 0 ] && ok "--sandbox=none: exit 0" || bad "exit (rc $rc)"
    if "$DSM" --sandbox=bpf --port 1 > "$T/out" 2>&1; then
        bad "--sandbox=bpf accepted"
    else
        grep -q "not seccomp or none" "$T/out" && ok "--sandbox=bpf refused" ||
            bad "--sandbox=bpf message"
    fi
    ;;
user)
    if [ "$(id -u)" != 0 ]; then
        echo "SKIP: --user needs root"
        exit 77
    fi
    nobody=$(id -un 65534 2>/dev/null) || { echo "SKIP: no uid 65534"; exit 77; }
    # the identity is created by (and readable for) the user it runs as
    mkdir -p "$T/pki"
    chown 65534:65534 "$T/pki" "$T/run"
    start_dsm -- --user "$nobody"
    uid=$(awk '/^Uid:/ {print $2 "," $3 "," $4 "," $5}' "/proc/$pid/status")
    gid=$(awk '/^Gid:/ {print $2 "," $3 "," $4 "," $5}' "/proc/$pid/status")
    groups=$(awk '/^Groups:/ {print $2}' "/proc/$pid/status")
    [ "$uid" = "65534,65534,65534,65534" ] &&
        [ "$gid" = "65534,65534,65534,65534" ] && [ -z "$groups" ] &&
        ok "serving as uid/gid 65534, no supplementary groups" ||
        bad "ids: uid $uid gid $gid groups '$groups'"
    grep -q "running as uid 65534 gid 65534" "$T/dsm.log" &&
        ok "the switch is logged" || bad "no 'running as' line"
    [ "$(stat -c %u "$T/pki/device.key")" = 65534 ] &&
        ok "the new identity belongs to the user" || bad "device.key owner"
    [ "$(stat -c %u "$T/run/admin")" = 65534 ] &&
        ok "the admin socket was handed over" || bad "admin socket owner"
    R authenticate session lock stop > "$T/out" 2>&1 &&
        ok "serves as nobody" || bad "serving as nobody"
    stop_dsm
    [ "$rc" = 0 ] && [ ! -e "$T/run/admin" ] &&
        ok "exit 0, admin socket removed" || bad "exit as nobody (rc $rc)"
    if "$DSM" --user no-such-user-here --port 1 > "$T/out" 2>&1; then
        bad "an unknown user accepted"
    else
        grep -q "no user" "$T/out" && ok "an unknown --user refused" ||
            bad "unknown --user message"
    fi
    ;;
*)
    echo "usage: $0 seccomp|user DSM_EXE TDISP_EXE [FORBIDDEN_PRELOAD]"
    exit 2
    ;;
esac

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
