#!/bin/sh
# SPDX-License-Identifier: MIT
# `nsm verify` on tsm-report envelopes (what `nsm tsm-report` writes): a real
# AWS document wrapped as JSON (standard and URL-safe base64, with and
# without padding, provider with its configfs newline) and as CBOR verifies
# with the same policy as the bare document; another provider's evidence,
# a damaged outblob and an envelope without outblob are refused.
# `nsm tsm-report` itself runs in the e2e guest against the real configfs.
# Usage: nsm_tsm_envelope.sh NSM VECTORS_DIR
set -u
NSM=$1
V=$2/nsm
GA=$V/evervault-ga-2023-09-18-debug.cose
ROOT=$V/aws-nitro-enclaves-root-g1.pem
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
OUT=$T/out

expect() { # NAME RC FILE [GREP] [verify args...]
    name=$1
    want=$2
    file=$3
    pat=${4:-}
    shift 3
    [ $# -gt 0 ] && shift
    # a stored real document: checked at its own timestamp
    "$NSM" verify "$file" --root "$ROOT" --at document "$@" > "$OUT" 2>&1
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL: $name: exit $rc, expected $want"
        sed 's/^/  | /' "$OUT"
        fails=$((fails + 1))
    elif [ -n "$pat" ] && ! grep -q -- "$pat" "$OUT"; then
        echo "FAIL: $name: output lacks '$pat'"
        sed 's/^/  | /' "$OUT"
        fails=$((fails + 1))
    else
        echo "ok: $name"
    fi
}

b64=$(base64 -w0 "$GA")
printf '{"provider":"nsm","outblob":"%s"}\n' "$b64" > "$T/std.json"
printf ' {\n  "outblob" : "%s",\n  "provider" : "nsm\\n"\n}' \
    "$(printf '%s' "$b64" | tr '+/' '-_' | tr -d '=')" > "$T/url.json"
printf '{"provider":"tdx_guest","outblob":"%s"}' "$b64" > "$T/tdx.json"
printf '{"provider":"nsm"}' > "$T/noout.json"
printf '{"provider":"nsm","outblob":"%s"}' "$(printf '%s' "$b64" |
    sed 's/^..../AAAA/')" > "$T/bad.json"
# CBOR {"outblob": bstr, "provider": bstr}
perl -e '
    local $/; open(my $f, "<", $ARGV[0]) or die; my $d = <$f>;
    my $n = length $d;
    print pack("C", 0xa2), pack("C", 0x67), "outblob",
        pack("CN", 0x5a, $n), $d, pack("C", 0x68), "provider",
        pack("C", 0x43), "nsm";
' "$GA" > "$T/env.cbor"

expect "bare document verifies" 0 "$GA" "^OK$"
expect "JSON envelope verifies" 0 "$T/std.json" "^OK$"
expect "URL-safe base64, no padding, provider newline" 0 "$T/url.json" "^OK$"
expect "CBOR envelope verifies" 0 "$T/env.cbor" "^OK$"
expect "envelope keeps the policy: right PCR0" 0 "$T/std.json" "^OK$" \
    --pcr 0=000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
expect "envelope keeps the policy: wrong nonce" 1 "$T/std.json" "" --nonce 00
expect "another provider is refused" 1 "$T/tdx.json" "provider 'tdx_guest'"
expect "no outblob is refused" 1 "$T/noout.json" "malformed tsm-report"
expect "a damaged outblob is refused" 1 "$T/bad.json"

if "$NSM" tsm-report --help | grep -q 'configfs-tsm'; then
    echo "ok: tsm-report --help"
else
    echo "FAIL: tsm-report --help"
    fails=$((fails + 1))
fi
"$NSM" tsm-report --configfs "$T/none" > "$OUT" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q 'no configfs-tsm' "$OUT"; then
    echo "ok: tsm-report without configfs-tsm says so"
else
    echo "FAIL: tsm-report without configfs-tsm: exit $rc"
    sed 's/^/  | /' "$OUT"
    fails=$((fails + 1))
fi
"$NSM" tsm-report --nonce '' > "$OUT" 2>&1
rc=$?
if [ $rc -eq 2 ]; then
    echo "ok: tsm-report refuses an empty nonce"
else
    echo "FAIL: tsm-report --nonce '': exit $rc"
    fails=$((fails + 1))
fi
[ "$fails" -eq 0 ]
