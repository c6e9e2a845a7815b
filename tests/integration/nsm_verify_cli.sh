#!/bin/sh
# SPDX-License-Identifier: MIT
# `nsm verify` and `nsm pki` against the real AWS documents: output, JSON,
# every policy option, and the exit classes (0 verified, 1 failed, 2 usage
# or I/O). Usage: nsm_verify_cli.sh NSM VECTORS_DIR
set -u
NSM=$1
V=$2/nsm
GA=$V/evervault-ga-2023-09-18-debug.cose
BETA=$V/evervault-beta-2022-10-12-debug.cose
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
OUT=$T/out

r() {
    "$NSM" "$@" >"$OUT" 2>&1
    rc=$?
}

expect() { # NAME RC [GREP]
    if [ "$rc" -ne "$2" ]; then
        echo "FAIL: $1: exit $rc, expected $2"; sed 's/^/  | /' "$OUT"
        fails=$((fails + 1))
    elif [ $# -ge 3 ] && ! grep -q -- "$3" "$OUT"; then
        echo "FAIL: $1: output lacks '$3'"; sed 's/^/  | /' "$OUT"
        fails=$((fails + 1))
    else
        echo "ok: $1"
    fi
}

PCR4=d0531b1400dd43288c82c226c16bf647c637dd5e4d9b4f7a8aaadc6d6760b854a06c7008cca0d15ca80094dd33a65065

GA_NONCE=$("$NSM" verify "$GA" --at document --json |
    sed 's/.*"nonce":"\([0-9a-f]*\)".*/\1/')

# freshness is never assumed
r verify "$GA"
expect "no freshness requirement is a usage error" 2 "nothing shows that the document is fresh"
r verify "$GA"
expect "... and names the ways out" 2 "--at document"
r verify "$GA" --at now
expect "--at now alone is no freshness either" 2 "--max-age SECONDS"
r verify "$GA" --pcr 4=$PCR4 --user-data ""
expect "PCRs and user_data do not make a document fresh" 2 "fresh"

r verify "$GA" --at document
expect "ga verifies at its timestamp" 0 "^OK$"
r verify "$GA" --at document
expect "check time named" 0 "checked at   2023-09-18T15:03:30.860Z (document timestamp)"
r verify "$GA" --at document
expect "module id printed" 0 "i-0918f6c55e3b61d89-enc018aa8b8e2285d13"
r verify "$GA" --at document
expect "leaf subject printed" 0 "4 leaf .*CN=i-0918f6c55e3b61d89-enc018aa8b8e2285d13.us-east-1.aws"
r verify "$BETA" --at document
expect "beta verifies" 0 "public_key   6d79"
r verify - --at document <"$GA"
expect "document from stdin" 0 "^OK$"
r verify "$GA" --at 2023-09-18T15:00:00Z
expect "historic at a given time" 0 "^OK$"
r verify "$GA" --at 2023-09-18T18:37:12Z
expect "leaf notAfter + 1 h fails" 1 "certificate 4 (leaf) not valid at 2023-09-18T18:37:12Z"
r verify "$GA" --at 1695047828
expect "before notBefore fails (Unix seconds)" 1 "not valid at"
r verify "$GA" --at yesterday
expect "bad --at" 2 "expected document"
r verify "$GA" --at now --max-age 60
expect "now fails for a stored document" 1 "not valid at"
r verify "$GA" --at now --max-age 3600 --now 2023-09-18T16:00:00+01:00
expect "--now drives --at now" 0 "checked at   2023-09-18T15:00:00.000Z"

# the nonce as the freshness proof, checked at the current clock
[ ${#GA_NONCE} -eq 512 ] || { echo "FAIL: ga nonce not found"; fails=$((fails + 1)); }
r verify "$GA" --nonce "$GA_NONCE" --now 2023-09-18T15:04:00Z
expect "right nonce, fresh" 0 "checked at   2023-09-18T15:04:00.000Z (--now)"
r verify "$GA" --nonce "$GA_NONCE"
expect "right nonce, but the chain has expired by now" 1 "not valid at"
r verify "$GA" --nonce 00 --now 2023-09-18T15:04:00Z
expect "wrong nonce" 1 "nonce mismatch"
r verify "$GA" --nonce 00 --at document
expect "wrong nonce, historic" 1 "nonce mismatch"

r verify "$GA" --at document --pcr 4=$PCR4
expect "right PCR 4" 0 "^OK$"
r verify "$GA" --at document --pcr 4=$(echo $PCR4 | sed 's/5$/4/')
expect "wrong PCR 4" 1 "PCR 4 mismatch"
r verify "$GA" --at document --pcr 4=00
expect "short PCR value is a usage error" 2 "48 bytes"
r verify "$BETA" --at document --user-data "$(printf 'hello, world!' | od -An -tx1 | tr -d ' \n')"
expect "right user_data" 0 "^OK$"
r verify "$BETA" --at document --public-key ""
expect "empty public_key expected" 1 "public_key mismatch"
r verify "$GA" --max-age 60 --now 2023-09-18T15:04:00Z
expect "young enough" 0 "^OK$"
r verify "$GA" --max-age 60 --now 2023-09-18T16:04:00Z
expect "too old" 1 "older than the maximum age"
r verify "$GA" --max-age 60 --now 2023-09-18T14:45:00Z
expect "from the future" 1 "in the future"
r verify "$GA" --json --at document
expect "json ok" 0 '^{"ok":true,"status":0,"reason":"OK","root_sha256":"641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b","module_id":"i-0918f6c55e3b61d89-enc018aa8b8e2285d13"'
r verify "$GA" --json --at now --max-age 60
expect "json failure" 1 '"ok":false'
head -c 3000 "$GA" >"$T/trunc"
r verify "$T/trunc" --at document
expect "truncated document" 1 "not a well-formed COSE_Sign1"
r verify "$T/missing" --at document
expect "missing file" 2 "No such file"
r verify
expect "no document" 2 "expected exactly one DOC"
r verify --bogus "$GA"
expect "unknown option" 2 "nsm verify --help"
r verify --help
expect "help" 0 "Exit status"
r verify --help
expect "help explains freshness" 0 "Freshness is never assumed"

# a PKI of our own: init, show, refuse to overwrite, pin it
r pki init "$T/pki"
expect "pki init" 0 "root SHA-256"
r pki show "$T/pki"
expect "pki show" 0 "CN=intermediate.trustvio"
r pki init "$T/pki"
expect "pki init refuses to overwrite" 1 "refusing to overwrite"
r verify "$GA" --at document --root "$T/pki"
expect "AWS document against our root" 1 "cabundle\[0\] is not the pinned root"
r verify "$GA" --at document --root "$V/aws-nitro-enclaves-root-g1.pem"
expect "explicit AWS root" 0 "^OK$"
r verify "$GA" --at document --root "$GA"
expect "root that is not a certificate" 2 "not a certificate"
r pki show "$T/nothing"
expect "pki show without a PKI" 1 "No such file"
r pki
expect "pki usage" 2 "Usage"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
