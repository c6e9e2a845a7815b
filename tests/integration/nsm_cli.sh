#!/bin/sh
# The nsm CLI against a vhost-user-nsm backend (run under
# nsm_with_daemon.sh, which sets TRUSTVIO_NSM_SOCKET): every command, text
# and --json output, and the exit status classes.
# Usage: nsm_cli.sh NSM_EXE
set -u

NSM=$1
# Debian's interpreter: it has python3-cbor2
PY=${NSM_TEST_PYTHON:-/usr/bin/python3}
passed=0
failed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/tv-nsm-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT

pass() {
    echo "PASS: $1"
    passed=$((passed + 1))
}

fail() {
    echo "FAIL: $1"
    for f in "$T/out" "$T/err"; do
        [ -s "$f" ] && head -c 2000 "$f" | sed 's/^/    | /'
    done
    failed=$((failed + 1))
}

# r ARGS...: run the CLI; stdout in $T/out, stderr in $T/err, status in $rc
r() {
    echo "+ nsm $*"
    "$NSM" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
}

# expect NAME STATUS [GREP-PATTERN [FILE]]
expect() {
    name=$1
    want=$2
    if [ "$rc" -ne "$want" ]; then
        fail "$name (exit $rc, want $want)"
        return
    fi
    if [ $# -ge 3 ] && ! grep -qi -- "$3" "${4:-$T/err}"; then
        fail "$name (no '$3' in ${4:-stderr})"
        return
    fi
    pass "$name"
}

json_check() {
    "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

expect_json() {
    if [ "$rc" -eq "$2" ] && json_check "$T/out" "$3"; then
        pass "$1"
    else
        fail "$1 (exit $rc)"
    fi
}

V1=b33da05a0fdb71627c8c68fc4232281fc440edd6f0ac7467fa497bbb907db32d957b5fd393845fa02c264ad5ea233888
V2=022db9572e340c6fe4ae1ea55fc665226932209b42dd8c42556000e913aea3ffec9e55c2cfa7efcc5dc52b0ebf03eb5b

# ---- usage
r --help
expect "--help documents the exit status" 0 "device refused" "$T/out"
r
expect "no command: usage" 2 "missing COMMAND"
r frobnicate
expect "unknown command: usage" 2 "unknown command"
r describe-pcr
expect "missing N: usage" 2 "missing argument"
r describe-pcr 65536
expect "N out of range: usage" 2 "0 to 65535"
r extend-pcr 16
expect "extend without data: usage" 2 "--data"
r extend-pcr 16 --data zz
expect "bad hex: usage" 2 "not hex"
r --device /dev/null --vhost-user /x describe
expect "--device and --vhost-user: usage" 2 "not both"
r --vhost-user "$T/absent.sock" describe
expect "absent backend: transport" 4 "cannot connect"
r --device "$T/absent" describe
expect "absent device: transport" 4 "cannot open"
r --device /dev/null describe
expect "not an NSM device: transport" 4 "transport failure"

# ---- commands
r describe
expect "describe" 0 "max_pcrs: *32" "$T/out"
r --json describe
expect_json "describe --json" 0 \
    'j["max_pcrs"]==32 and j["locked_pcrs"]==list(range(16)) and j["digest"]=="SHA384" and j["version_major"]==1'
r extend-pcr 16 --data 0b00374863ff5c65
expect "extend-pcr prints the new value" 0 "^$V1\$" "$T/out"
printf '\145\146\377\000\027\054\115' >"$T/d2"
r extend-pcr 16 --data-file "$T/d2" --json
expect_json "extend-pcr --data-file --json" 0 \
    "j['index']==16 and j['data']=='$V2'"
r describe-pcr 16 --json
expect_json "describe-pcr --json" 0 "j['lock'] is False and j['data']=='$V2'"
r describe-pcr 0
expect "describe-pcr 0: locked" 0 "locked: yes" "$T/out"
r lock-pcr 16
expect "lock-pcr 16" 0 "PCR 16 locked" "$T/out"
r lock-pcr 16
expect "lock-pcr 16 again: device error" 3 "ReadOnlyIndex"
r --json lock-pcr 16
expect_json "device error with --json" 3 'j["error"]=="ReadOnlyIndex"'
r extend-pcr 16 --data 00
expect "extend locked PCR: device error" 3 "ReadOnlyIndex"
r describe-pcr 40
expect "describe-pcr 40: InvalidIndex" 3 "InvalidIndex"
r lock-pcrs 33
expect "lock-pcrs 33: InvalidIndex" 3 "InvalidIndex"
r lock-pcrs 20
expect "lock-pcrs 20" 0 "0..19" "$T/out"
r random
if [ "$rc" -eq 0 ] && [ "$(tr -d '\n' <"$T/out" | wc -c)" -eq 512 ]; then
    pass "random: 256 bytes as hex"
else
    fail "random"
fi
r random --bytes 1000 -o "$T/rnd"
if [ "$rc" -eq 0 ] && [ "$(wc -c <"$T/rnd")" -eq 1000 ]; then
    pass "random --bytes 1000 -o FILE (several requests)"
else
    fail "random --bytes 1000"
fi
r random --bytes 0
expect "random --bytes 0: usage" 2 "--bytes"

head -c 1024 /dev/urandom >"$T/nonce"
r attest --nonce @"$T/nonce" --user-data 68656c6c6f -o "$T/doc"
if [ "$rc" -eq 0 ] && "$PY" - "$T/doc" "$T/nonce" <<'PY'
import sys, cbor2
doc = open(sys.argv[1], "rb").read()
nonce = open(sys.argv[2], "rb").read()
cose = cbor2.loads(doc)
p = cbor2.loads(cose[2])
assert doc[:6] == bytes.fromhex("8444a1013822"), doc[:6].hex()
assert p["nonce"] == nonce and p["user_data"] == b"hello"
assert p["public_key"] is None
assert sorted(p["pcrs"]) == list(range(20))  # after lock-pcrs 20
PY
then
    pass "attest -o FILE: document with nonce, user_data, 20 locked PCRs"
else
    fail "attest -o FILE"
fi
# the document verifies against the backend's PKI (when nsm has verify)
if "$NSM" verify --help >/dev/null 2>&1 && [ -n "${NSM_TEST_TMPDIR:-}" ]; then
    NONCE_HEX=$(od -An -tx1 -v "$T/nonce" | tr -d ' \n')
    r verify --root "$NSM_TEST_TMPDIR/pki" --nonce "$NONCE_HEX" \
        --user-data 68656c6c6f --pcr "16=$V2" "$T/doc"
    expect "nsm verify: signature, chain, nonce, user_data, PCR 16" 0
    r verify --root "$NSM_TEST_TMPDIR/pki" --nonce 00 "$T/doc"
    expect "nsm verify: a wrong nonce fails" 1
fi
r attest --nonce ''
if [ "$rc" -eq 0 ] && "$PY" - "$T/out" <<'PY'
import sys, cbor2
doc = bytes.fromhex(open(sys.argv[1]).read().strip())
p = cbor2.loads(cbor2.loads(doc)[2])
assert p["nonce"] == b"" and p["user_data"] is None
PY
then
    pass "attest: hex on stdout, empty nonce is an empty bstr"
else
    fail "attest hex"
fi
r attest --json --public-key 0102
expect_json "attest --json: base64" 0 \
    '__import__("base64").b64decode(j["document"])[:2]==b"\x84\x44" and j["encoding"]=="base64" and j["size"]>1000'
r attest --json --hex
expect_json "attest --json --hex" 0 \
    'bytes.fromhex(j["document"])[:2]==b"\x84\x44" and j["encoding"]=="hex"'
head -c 4090 /dev/zero >"$T/big"
r attest --user-data @"$T/big"
expect "attest with a request over 4096 bytes: usage" 2 "InputTooLarge"

# ---- raw
printf '\151GetRandom' >"$T/req"
"$NSM" raw <"$T/req" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ] && [ "$(head -c 19 "$T/out" | od -An -tx1 | tr -d ' \n')" = \
    "a16947657452616e646f6da16672616e646f6d" ]; then
    pass "raw GetRandom"
else
    fail "raw GetRandom (exit $rc)"
fi
printf '\377\377\377\377' | "$NSM" raw >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ] && "$PY" -c '
import sys, cbor2
assert cbor2.loads(open(sys.argv[1], "rb").read()) == {"Error": "InvalidOperation"}
' "$T/out"; then
    pass "raw garbage: the device's InvalidOperation"
else
    fail "raw garbage (exit $rc)"
fi
head -c 4097 /dev/zero | "$NSM" raw >"$T/out" 2>"$T/err"
rc=$?
expect "raw over 4096 bytes: usage" 2 "InputTooLarge"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
