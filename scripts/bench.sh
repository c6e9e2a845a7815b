#!/bin/sh
# Every benchmark, one after the other, in one run; each prints its figures
# as ratios against its stated limit. Usage: scripts/bench.sh [BUILD_DIR]
# Environment:
#   BENCH_DIR=DIR      where bench_rpmb and bench_load keep their stores
#                      (default /var/tmp)
#   BENCH_PIN=MODE     placement of the round-trip benchmarks (bench_vhost,
#                      bench_dsm, bench_spdm's loopback round trips): same
#                      (default) runs every process taking part on one CPU,
#                      so a round trip is plain context switches; none
#                      leaves them to the scheduler (on a VM a wake-up on
#                      another, idle vCPU then costs tens of microseconds);
#                      N pins them to CPU N. Each bench prints its mode.
set -u
cd "$(dirname "$0")/.."
B=${1:-build}
status=0
for b in bench_nsm bench_verify bench_rpmb bench_vhost bench_transport \
    bench_load bench_spdm bench_dsm bench_tsm; do
    echo "=== $b"
    case $b in
    bench_vhost) "$B/bench/$b" "$B/src/daemon/vhost-user-nsm" || status=1 ;;
    bench_dsm) "$B/bench/$b" "$B/src/dsm/trustvio-dsm" || status=1 ;;
    bench_rpmb) "$B/bench/$b" --dir "${BENCH_DIR:-/var/tmp}" || status=1 ;;
    bench_load) "$B/bench/$b" --dir "${BENCH_DIR:-/var/tmp}" || status=1 ;;
    *) "$B/bench/$b" || status=1 ;;
    esac
    echo
done
exit $status
