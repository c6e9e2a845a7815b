#!/bin/sh
# libnsm.so.0's ABI as AWS's: soname libnsm.so.0 and exactly the nine
# nsm.h functions exported (nothing of the client, CBOR or frontend code).
# Usage: libnsm_abi.sh LIBNSM_SO
set -u
SO=$1
want="nsm_describe_pcr nsm_extend_pcr nsm_get_attestation_doc
nsm_get_description nsm_get_random nsm_lib_exit nsm_lib_init nsm_lock_pcr
nsm_lock_pcrs"
soname=$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "libnsm.so.0" ]; then
    echo "FAIL: soname '$soname', want libnsm.so.0"
    exit 1
fi
got=$(nm -D --defined-only "$SO" | awk '$2 == "T" || $2 == "D" || $2 == "B" {print $3}' | sort | tr '\n' ' ')
exp=$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')
if [ "$got" != "$exp" ]; then
    echo "FAIL: exported symbols differ"
    echo "  got:  $got"
    echo "  want: $exp"
    exit 1
fi
echo "PASS: soname libnsm.so.0, exports exactly the nsm.h API"
