#!/bin/sh
# tdisp against trustvio-dsm over the SPDM socket on loopback: the whole
# flow authenticate -> measurements -> session -> lock -> report -> start ->
# stop, and the refusals: report before lock, start with a wrong nonce,
# TDISP outside a session, a chain under another root, a configuration
# change after lock, a session that ends while locked; the daemon serving
# the next connection after garbage, refusing a readable key, exiting on
# SIGTERM, ending a session that sends no heartbeat.
# Usage: tdisp_dsm.sh DSM_EXE TDISP_EXE
set -u

DSM=$1
TDISP=$2
# shellcheck source=SCRIPTDIR/tee_lib.sh
. "$(dirname "$0")/tee_lib.sh"
pid=""
FUNC=01:00.0

stop_all() {
    stop_pid "$pid"
    pid=""
}

show_failure() {
    [ -f "$T/out" ] && cat "$T/out"
    [ -f "$T/err" ] && cat "$T/err"
}
tee_init tdisp

check() {
    # check DESCRIPTION COMMAND...: the command must succeed
    d=$1
    shift
    if "$@" > "$T/out" 2> "$T/err"; then ok "$d"; else bad "$d"; fi
}

refuse() {
    # refuse DESCRIPTION PATTERN COMMAND...: must fail, output matching
    d=$1
    pat=$2
    shift 2
    if "$@" > "$T/out" 2> "$T/err"; then
        bad "$d (succeeded)"
    elif grep -q -- "$pat" "$T/out" "$T/err"; then
        ok "$d"
    else
        bad "$d (no '$pat')"
    fi
}

start_dsm() {
    # start_dsm: a daemon on a free port; sets pid and PORT
    for try in 1 2 3 4 5 6 7 8; do
        PORT=$(tee_port "$try")
        "$DSM" --port "$PORT" --pki "$T/pki" --admin-socket "$T/admin" \
            --tdi "$FUNC=0xfe000000+16k/0,0xfe004000+4k/0" \
            --tdi 01:00.1 \
            --measurement "1:firmware=$T/fw.bin" \
            --measurement "2:fw-config=$T/conf.txt" \
            --measurement "3:rom=sha384:$(printf '%096d' 7)" \
            "$@" 2> "$T/dsm.log" &
        pid=$!
        wait_ready "$pid" 0.2 dsm_admin_up "$T/admin" && return 0
        stop_pid "$pid"
        pid=""
    done
    gave_up trustvio-dsm "$T/dsm.log"
}

head -c 4096 /dev/urandom > "$T/fw.bin"
echo "queues=4" > "$T/conf.txt"
start_dsm
R="--port $PORT --root $T/pki/ca.pem --function $FUNC"

# --- the whole flow
check "whole flow: authenticate measurements session lock report start stop" \
    "$TDISP" $R authenticate measurements session lock report start state \
    stop state
grep -q "range 0: 0xfe000000, 4 page(s)" "$T/out" &&
    grep -q "state: RUN" "$T/out" &&
    grep -q "state: CONFIG_UNLOCKED" "$T/out" &&
    grep -q "signature over L1/L2 verified" "$T/out" &&
    ok "flow output: report ranges, RUN, then CONFIG_UNLOCKED" ||
    bad "flow output"
fw_digest=$(openssl dgst -sha384 -r "$T/fw.bin" | cut -d' ' -f1)
grep -q "measurement 1: type 1 digest $fw_digest" "$T/out" &&
    ok "measurement 1 is the SHA-384 of the firmware file" ||
    bad "measurement 1 digest"

check "--json flow with heartbeat, key update and the MMIO offset" \
    "$TDISP" $R --json --mmio-offset 0x100000000 session heartbeat \
    key-update version lock report start stop
grep -q '"step":"report","ok":true' "$T/out" &&
    grep -q '"first_page":"0x1fe000000"' "$T/out" &&
    ok "--json report with the reporting offset added" || bad "--json report"

# --- the chain, checked by openssl verify like the e2e host does
check "chain written with --chain-out" "$TDISP" $R --chain-out "$T/chain-" \
    authenticate
check "openssl verify: the leaf under the pinned CA" \
    openssl verify -CAfile "$T/pki/ca.pem" "$T/chain-1.pem"

# --- refusals
refuse "report before lock" "INVALID_INTERFACE_STATE" \
    "$TDISP" $R report
refuse "start with a wrong nonce" "INVALID_NONCE" \
    "$TDISP" $R --nonce "$(printf '%064d' 0)" lock start
"$TDISP" admin --admin-socket "$T/admin" state "$FUNC" > "$T/adm"
grep -q "^ERROR" "$T/adm" && ok "the refused start's session ended: ERROR" ||
    bad "state after the refused start"
check "STOP after the refused start" "$TDISP" $R stop
refuse "TDISP outside a session" "INVALID_REQUEST" \
    "$TDISP" $R --no-session state
refuse "start without a lock" "INVALID_INTERFACE_STATE" \
    "$TDISP" $R --nonce "$(printf '%064d' 0)" start
refuse "an unknown function" "INVALID_INTERFACE" \
    "$TDISP" --port "$PORT" --root "$T/pki/ca.pem" --function 0x999 state
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes \
    -keyout "$T/other.key" -out "$T/other.pem" -days 2 -subj "/CN=other" \
    > /dev/null 2>&1
refuse "a certificate chain under another root" "does not verify" \
    "$TDISP" --port "$PORT" --root "$T/other.pem" authenticate

# --- configuration change after LOCK -> ERROR
mkfifo "$T/fifo"
"$TDISP" $R lock state wait state report < "$T/fifo" > "$T/cc.out" \
    2> "$T/cc.err" &
tp=$!
exec 3> "$T/fifo"
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    grep -q "state: CONFIG_LOCKED" "$T/cc.out" 2>/dev/null && break
    sleep 0.2
done
"$TDISP" admin --admin-socket "$T/admin" config-write "$FUNC" > "$T/adm"
echo go >&3 2> /dev/null
exec 3>&-
wait "$tp"
rc=$?
grep -q "^ERROR" "$T/adm" && [ "$rc" = 1 ] &&
    grep -q "state: ERROR" "$T/cc.out" &&
    grep -q "INVALID_INTERFACE_STATE" "$T/cc.err" &&
    ok "a config-space write after LOCK sends the TDI to ERROR, no report" ||
    { cat "$T/adm" "$T/cc.out" "$T/cc.err"; bad "config change after lock"; }
refuse "LOCK in ERROR" "INVALID_INTERFACE_STATE" "$TDISP" $R lock
check "STOP leaves ERROR" "$TDISP" $R stop state
grep -q "state: CONFIG_UNLOCKED" "$T/out" && ok "back to CONFIG_UNLOCKED" ||
    bad "STOP from ERROR"

# --- firmware update: allowed unless NO_FW_UPDATE
"$TDISP" admin --admin-socket "$T/admin" firmware-update "$FUNC" > "$T/adm"
grep -q "^CONFIG_UNLOCKED" "$T/adm" && ok "firmware update while unlocked" ||
    bad "firmware update while unlocked"

# --- the session ends while locked -> ERROR, seen by the next connection
check "lock, then disconnect" "$TDISP" $R lock
"$TDISP" admin --admin-socket "$T/admin" state "$FUNC" > "$T/adm"
grep -q "^ERROR" "$T/adm" && ok "the locking session ended: ERROR" ||
    { cat "$T/adm"; bad "session end while locked"; }
check "the other TDI is untouched" \
    "$TDISP" --port "$PORT" --root "$T/pki/ca.pem" --function 01:00.1 state
grep -q "state: CONFIG_UNLOCKED" "$T/out" && ok "01:00.1 CONFIG_UNLOCKED" ||
    bad "01:00.1 state"
check "stop" "$TDISP" $R stop

# --- a BAR move while unlocked shows in the next report
"$TDISP" admin --admin-socket "$T/admin" move-range "$FUNC" 1 0xfd000000 \
    > "$T/adm"
check "report after a BAR move" "$TDISP" $R lock report stop
grep -q "range 0: 0xfd000000, 1 page(s)" "$T/out" &&
    ok "the moved range is reported" || bad "moved range"
refuse "admin: unknown TDI" "error" \
    "$TDISP" admin --admin-socket "$T/admin" state 0x77

# --- garbage on the socket: the daemon closes that connection, serves on
python3 - "$PORT" << 'EOF'
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(struct.pack(">III", 1, 2, 0x7fffffff) + b"x" * 64)
s.settimeout(5)
try:
    s.recv(16)
except OSError:
    pass
s.close()
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
# a NORMAL message that is no DOE object: answered, empty
s.sendall(struct.pack(">III", 1, 2, 5) + b"hello")
h = s.recv(12)
assert len(h) == 12 and struct.unpack(">III", h) == (1, 2, 0), h
# an unknown command: UNKNOWN
s.sendall(struct.pack(">III", 0x1234, 2, 0))
h = s.recv(12)
assert struct.unpack(">III", h)[0] == 0xFFFF, h
s.close()
EOF
[ $? = 0 ] && ok "malformed socket messages answered or dropped" ||
    bad "malformed socket messages"
check "served again after garbage" "$TDISP" $R authenticate

# --- QEMU's client: Nagle on, each message in four writes (command,
# transport, length, payload); the rest of a message follows only once the
# command word is acknowledged, so a daemon that delays its ACKs (40 ms in
# interactive mode) costs that much per message
python3 - "$PORT" << 'EOF'
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
# a DOE object carrying GET_VERSION
obj = struct.pack("<HBBI", 1, 1, 0, 3) + bytes([0x10, 0x84, 0, 0])
times = []
for i in range(21):
    t0 = time.monotonic()
    for piece in (struct.pack(">I", 1), struct.pack(">I", 2),
                  struct.pack(">I", len(obj)), obj):
        s.sendall(piece)
    h = b""
    while len(h) < 12:
        h += s.recv(12 - len(h))
    cmd, trans, n = struct.unpack(">III", h)
    body = b""
    while len(body) < n:
        body += s.recv(n - len(body))
    assert cmd == 1 and body[8:10] == bytes([0x10, 0x04]), (h, body)
    times.append((time.monotonic() - t0) * 1000)
s.close()
times.sort()
print("GET_VERSION in four writes: median %.2f ms, max %.2f ms" %
      (times[10], times[-1]))
sys.exit(0 if times[10] < 20 else 1)
EOF
[ $? = 0 ] && ok "a message in four writes is answered without a delayed-ACK stall" ||
    bad "a message in four writes waits for a delayed ACK (TCP_QUICKACK)"
kill -0 "$pid" && ok "daemon still running" || bad "daemon died"

# --- SIGTERM
kill -TERM "$pid"
reap "$pid"
pid=""
[ "$rc" = 0 ] && [ ! -e "$T/admin" ] &&
    ok "SIGTERM: exit 0, admin socket removed" || bad "SIGTERM (rc $rc)"

# --- HEARTBEAT: --heartbeat 1 advertises 1 s; a session quiet for more
# than 2 s ends (its lock with it), one that sends heartbeats lives on
start_dsm --heartbeat 1
R="--port $PORT --root $T/pki/ca.pem --function $FUNC"
hb_steps() {
    # hb_steps PAUSE STEPS...: the steps, each "wait" released PAUSE s later
    pause=$1
    shift
    rm -f "$T/hbfifo"
    mkfifo "$T/hbfifo"
    "$TDISP" $R "$@" < "$T/hbfifo" > "$T/out" 2> "$T/err" &
    tp=$!
    exec 4> "$T/hbfifo"
    for w in "$@"; do
        if [ "$w" = wait ]; then
            sleep "$pause"
            echo go >&4 2> /dev/null
        fi
    done
    exec 4>&-
    wait "$tp"
}
if hb_steps 1.2 session lock wait heartbeat wait heartbeat wait state stop; then
    grep -q "state: CONFIG_LOCKED" "$T/out" &&
        ok "heartbeats every 1.2 s keep a 1 s-period session (3.6 s in all)" ||
        bad "heartbeat session output"
else
    bad "a session kept alive by heartbeats"
fi
if hb_steps 3 session lock wait state; then
    bad "a session quiet for 3 s still answered"
else
    "$TDISP" admin --admin-socket "$T/admin" state "$FUNC" > "$T/adm"
    grep -q "^ERROR" "$T/adm" && grep -q "DecryptError" "$T/err" &&
        ok "quiet for 3 s (> 2 x 1 s): the session ended, its lock went to ERROR" ||
        { cat "$T/adm"; bad "state after the heartbeat expiry"; }
fi
check "STOP after the expiry" "$TDISP" $R stop
kill -TERM "$pid"
wait "$pid"
pid=""

# --- a readable key is refused
chmod 0644 "$T/pki/device.key"
refuse "a device key readable by others is refused" "mode 0600" \
    "$DSM" --port "$PORT" --pki "$T/pki"
refuse "bad --tdi range" "multiples of 4 KiB" \
    "$DSM" --port "$PORT" --pki "$T/pki" --tdi "0x100=0x1001+4k"
refuse "tdisp --doe on a function that does not exist" "No such file" \
    "$TDISP" --doe 0000:ff:1f.7 --root "$T/pki/ca.pem" authenticate
check "--help" "$DSM" --help
check "tdisp --help" "$TDISP" --help

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
