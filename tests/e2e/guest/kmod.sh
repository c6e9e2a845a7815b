# trustvio_nsm.ko checks inside the e2e guest; sourced by /init (busybox sh).
# The initramfs carries the kernel's own configfs and configfs-tsm modules
# and the freshly built driver under /kmod.
#
#   kmod_load            load configfs, the tsm report core, trustvio_nsm.ko
#   kmod_main tsm,unplug the stages in order, in one boot:
#     tsm      configfs-tsm reports, tsm-mr (or its absence), nsm tsm-report,
#              the Go consumer, unload and reload, dmesg
#     unplug   requests of every kind while the host removes the device
#              (device_del), then dmesg

kmod_step() {
    # kmod_step PASS|FAIL name detail
    echo "E2E-STEP $1 $2${3:+ $3}"
}

# Kernel messages that must never appear: a warning, a BUG, an oops.
kmod_dmesg_clean() {
    bad=$(dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|refcount_t' |
        head -n 5)
    if [ -z "$bad" ]; then
        kmod_step PASS "$1" "no warning, BUG or oops in dmesg"
    else
        kmod_step FAIL "$1:" "kernel log has: $bad"
        dmesg | tail -n 40 | sed 's/^/  dmesg: /'
        return 1
    fi
}

kmod_load() {
    for m in configfs tsm tsm_report; do
        [ -f /kmod/$m.ko ] || continue
        grep -q "^$m " /proc/modules || insmod /kmod/$m.ko || {
            kmod_step FAIL "insmod_$m:" "insmod /kmod/$m.ko failed"
            return 1
        }
    done
    grep -q ' /sys/kernel/config ' /proc/mounts ||
        mount -t configfs configfs /sys/kernel/config
    if ! insmod /kmod/trustvio_nsm.ko; then
        kmod_step FAIL "insmod_trustvio_nsm:" "insmod failed"
        return 1
    fi
    i=0
    while [ ! -c /dev/nsm ] && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if [ -c /dev/nsm ]; then
        kmod_step PASS insmod_trustvio_nsm "/dev/nsm present ($(uname -r))"
    else
        kmod_step FAIL "insmod_trustvio_nsm:" "no /dev/nsm"
        return 1
    fi
}

# kmod_main STAGE[,STAGE...]: the stages in order, in one boot
kmod_main() {
    krc=0
    kmod_load || return 1
    for stage in $(echo "$1" | tr ',' ' '); do
        kmod_stage "$stage"
    done
    return $krc
}

kmod_stage() {
    case $1 in
    tsm)
        /tsm-test reports || krc=1
        # tsm-mr arrived in 6.16: the 7.x kernel must have it, 6.12 not
        if [ "$(uname -r | cut -d. -f1)" -ge 7 ]; then
            /tsm-test mr || krc=1
        else
            /tsm-test no-mr || krc=1
        fi
        # the provider-neutral CLI: a JSON and a CBOR envelope for the host
        if [ -x /bin/nsm ]; then
            n=$(od -An -tx1 -N64 /dev/urandom | tr -d ' \n')
            if env=$(/bin/nsm tsm-report --nonce "$n" 2>&1) &&
                echo "$env" | grep -q '^{"provider":"nsm","outblob":"'; then
                echo "E2E-CLI-TSM-NONCE $n"
                echo "E2E-CLI-TSM-JSON $env"
                kmod_step PASS cli_tsm_report_json "$(echo "$env" | wc -c) bytes"
            else
                kmod_step FAIL "cli_tsm_report_json:" "$(echo "$env" | head -n 2)"
                krc=1
            fi
            if /bin/nsm tsm-report --nonce "$n" --format cbor -o /cli.cbor; then
                echo "E2E-CLI-TSM-CBOR $(od -An -tx1 -v /cli.cbor | tr -d ' \n')"
                kmod_step PASS cli_tsm_report_cbor "$(wc -c < /cli.cbor) bytes"
            else
                kmod_step FAIL "cli_tsm_report_cbor:" "nsm tsm-report --format cbor failed"
                krc=1
            fi
        fi
        if [ -x /go-tsm ]; then
            out=$(/go-tsm 2>&1)
            st=$?
            echo "$out" | grep '^E2E-GO-' | cut -c 1-16000
            if [ $st -eq 0 ]; then
                kmod_step PASS go_configfs_tsm "a report through go-configfs-tsm"
            else
                kmod_step FAIL "go_configfs_tsm:" "exit $st: $(echo "$out" |
                    grep -v '^E2E-GO-' | head -n 3)"
                krc=1
            fi
        fi
        # unload and reload
        rmdir /sys/kernel/config/tsm/report/* 2>/dev/null
        if rmmod trustvio_nsm && [ ! -e /dev/nsm ] &&
            [ ! -e /sys/class/misc/nsm ]; then
            kmod_step PASS rmmod_trustvio_nsm "/dev/nsm gone"
        else
            kmod_step FAIL "rmmod_trustvio_nsm:" "rmmod failed or /dev/nsm left"
            krc=1
        fi
        if mkdir /sys/kernel/config/tsm/report/gone 2>/dev/null; then
            kmod_step FAIL "tsm_without_provider:" "mkdir worked without a provider"
            rmdir /sys/kernel/config/tsm/report/gone
            krc=1
        else
            kmod_step PASS tsm_without_provider "no report without a provider"
        fi
        kmod_load || krc=1
        /tsm-test quick || krc=1
        kmod_dmesg_clean dmesg_after_reload || krc=1
        ;;
    unplug)
        mkdir -p /tmp
        grep -q ' /tmp ' /proc/mounts || mount -t tmpfs tmpfs /tmp
        /tsm-test hammer 90 > /tmp/hammer.log 2>&1 &
        hpid=$!
        i=0
        while ! grep -q E2E-KMOD-HAMMERING /tmp/hammer.log 2>/dev/null &&
            [ $i -lt 100 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        sleep 1
        # the host watches for this line and sends device_del
        echo "E2E-KMOD-UNPLUG-NOW"
        i=0
        while [ -e /dev/nsm ] && [ $i -lt 600 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        if [ -e /dev/nsm ]; then
            kmod_step FAIL "unplug_removed:" "/dev/nsm still there after 60 s"
            krc=1
        else
            kmod_step PASS unplug_removed "/dev/nsm went away under load"
        fi
        i=0
        while kill -0 $hpid 2>/dev/null && [ $i -lt 300 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        if kill -0 $hpid 2>/dev/null; then
            kmod_step FAIL "unplug_callers_return:" "a caller still blocks 30 s later"
            krc=1
        else
            kmod_step PASS unplug_callers_return \
                "$(grep -c . /tmp/hammer.log) lines; $(grep 'failed after' \
                    /tmp/hammer.log | cut -c 10-80)"
        fi
        sed 's/^/  /' /tmp/hammer.log | head -n 5
        if rmmod trustvio_nsm; then
            kmod_step PASS rmmod_after_unplug "module unloads"
        else
            kmod_step FAIL "rmmod_after_unplug:" "rmmod failed"
            krc=1
        fi
        kmod_dmesg_clean dmesg_after_unplug || krc=1
        ;;
    *)
        kmod_step FAIL "kmod_stage:" "unknown e2e.kstage=$1"
        krc=1
        ;;
    esac
}
