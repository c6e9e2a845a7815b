/* SPDX-License-Identifier: MIT */
/*
 * trustvio-tsm and trustvio-dsm as processes, the test playing the
 * untrusted host relay in C: tsmc on the TSM's sockets, the SPDM socket
 * transport of src/tdispc to the DSM, each relay buffer carried as a DOE
 * object (Secured CMA/SPDM when bit 31 of its function_id says so).
 * connect_device and bind_interface through the relay, then the TVM sees
 * its interface Locked (and the device's TDI is CONFIG_LOCKED); the
 * endpoint rules (COVG on the host socket and COVH on a TVM socket get
 * SBI_ERR_DENIED; another TVM cannot see the interface); a malformed frame
 * drops its connection only; a peer stalled inside a frame blocks nobody
 * and is dropped after --io-timeout, as is a peer that never reads its
 * answers; two frames in one write, the connection cap, --user; sockets
 * 0600, READY=1, peers of another uid refused; SIGTERM ends the daemon
 * with exit 0, sockets gone.
 * A forbidden system call kills the filtered daemon (SIGSYS).
 * Env: TRUSTVIO_TSM, TRUSTVIO_DSM (the programs), FORBIDDEN_PRELOAD (the
 * accept4 wrapper of test_privsep; that test is skipped without it).
 * Exit 77 without the programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#include "common/bug.h"
#include "common/bytes.h"
#include "common/clock.h"
#include "doe/doe.h"
#include "tdisp/tdisp.h"
#include "tdispc/tdispc.h"
#include "tsm/tsm_abi.h"
#include "tsm/tsm_frame.h"
#include "tsmc/tsmc.h"

#define DEV          1u
#define FUNC         0x100u /* 01:00.0 */
#define IF_1         (((uint64_t)DEV << 32) | FUNC)
#define TVM_1        1u
#define TVM_2        2u
#define IO_TIMEOUT_S 2
#define NOBODY       65534
/* connect + bind over both daemons' sockets, about 15 relayed messages:
 * bench_tsm's floor (a longer flow in one process, under 10 ms here) with
 * room for a loaded machine */

static char dir[] = "/tmp/tv-tsmd-XXXXXX";
static char host_path[96], tvm1_path[96], tvm2_path[96], notify_path[96];
static char tsm_log[96], dsm_log[96], admin_path[96];
static pid_t tsm_pid = -1, dsm_pid = -1, open_pid = -1;
static unsigned dsm_port;
static int notify_fd = -1;

static struct tsmc host, tvm1, tvm2;
static struct tdispc_transport device;
static uint8_t out[TSM_FRAME_OUT_MAX];
static uint8_t ans[TSM_RELAY_MAX];
static uint8_t obj[DOE_MAX_OBJECT_SIZE], obj_rsp[DOE_MAX_OBJECT_SIZE];

static bool spawn_preload; /* the next spawn() runs with FORBIDDEN_PRELOAD */

static pid_t spawn(const char *const argv[], const char *log, bool notify)
{
    pid_t pid = fork();

    if (pid == 0) {
        if (spawn_preload) {
            /* ASan wants to come first; the preload only wraps accept4 */
            harness_preload(getenv("FORBIDDEN_PRELOAD"));
        }
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (notify) {
            setenv("NOTIFY_SOCKET", notify_path, 1);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static bool exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static bool proc_status_has(pid_t pid, const char *line)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    return harness_file_has(path, line);
}

/* No supplementary groups: the Groups: line of /proc/PID/status names none. */
static bool proc_no_groups(pid_t pid)
{
    char path[64], line[256];
    bool none = false;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Groups:", 7) == 0) {
            none = strpbrk(line + 7, "0123456789") == NULL;
        }
    }
    fclose(f);
    return none;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Up to 10 s for @path to appear (a daemon's socket); the caller's next
 * step fails if it does not. */
static void wait_for(const char *path)
{
    for (int i = 0; i < 200 && !exists(path); i++) {
        sleep_ms(50);
    }
}

/* A trustvio-dsm on a free port with one TDI; its admin socket is ready. */
static int start_dsm(void)
{
    char port_arg[32], pki_arg[128], admin_arg[128];
    int status;

    snprintf(pki_arg, sizeof(pki_arg), "--pki=%s/pki", dir);
    snprintf(admin_arg, sizeof(admin_arg), "--admin-socket=%s", admin_path);
    for (int tries = 0; tries < 8; tries++) {
        const char *argv[] = {getenv("TRUSTVIO_DSM"),
                              port_arg,
                              pki_arg,
                              admin_arg,
                              "--tdi=01:00.0=0xfe000000+16k/0,0xfe004000+4k/0",
                              NULL};

        dsm_port = 20000 + (unsigned)((getpid() * 31 + tries * 7919) % 30000);
        snprintf(port_arg, sizeof(port_arg), "--port=%u", dsm_port);
        dsm_pid = spawn(argv, dsm_log, false);
        for (int i = 0; i < 200; i++) {
            if (exists(admin_path)) {
                return 0;
            }
            if (waitpid(dsm_pid, &status, WNOHANG) == dsm_pid) {
                dsm_pid = -1;
                break;
            }
            sleep_ms(50);
        }
        if (dsm_pid > 0) {
            return -1; /* running, never ready */
        }
    }
    return -1;
}

/* trustvio-tsm with the host and two TVM endpoints; READY=1 received. */
static int start_tsm(void)
{
    char host_arg[128], tvm1_arg[128], tvm2_arg[128], buf[64];
    const char *argv[] = {getenv("TRUSTVIO_TSM"), host_arg, tvm1_arg, tvm2_arg,
                          "--io-timeout=2",       NULL};
    struct sockaddr_un sa;
    struct pollfd p;
    ssize_t n;

    snprintf(host_arg, sizeof(host_arg), "--host-socket=%s", host_path);
    snprintf(tvm1_arg, sizeof(tvm1_arg), "--tvm=%u:%s", TVM_1, tvm1_path);
    snprintf(tvm2_arg, sizeof(tvm2_arg), "--tvm=%u:%s", TVM_2, tvm2_path);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (notify_fd < 0 ||
        bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        return -1;
    }
    tsm_pid = spawn(argv, tsm_log, true);
    p = (struct pollfd){notify_fd, POLLIN, 0};
    if (poll(&p, 1, 20000) != 1) {
        return -1;
    }
    n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    return strcmp(buf, "READY=1") == 0 ? 0 : -1;
}

static void stop(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        waitpid(*pid, NULL, 0);
        *pid = -1;
    }
}

static void open_all(void)
{
    assert_int_equal(tsmc_open_path(&host, host_path), 0);
    assert_int_equal(tsmc_open_socket(&tvm1, tvm1_path), 0);
    assert_int_equal(tsmc_open_socket(&tvm2, tvm2_path), 0);
}

static void close_all(void)
{
    tsmc_close(&host);
    tsmc_close(&tvm1);
    tsmc_close(&tvm2);
}

static struct sbiret call(struct tsmc *c, uint32_t eid, uint32_t fid,
                          uint64_t a0, uint64_t a1, size_t *n)
{
    const uint64_t a[6] = {a0, a1, 0, 0, 0, 0};
    struct sbiret r = {0, 0};
    size_t dummy;

    if (tsmc_call(c, eid, fid, a, NULL, 0, out, sizeof(out),
                  n != NULL ? n : &dummy, &r) != 0) {
        fail_msg("call %u: %s", (unsigned)fid, tsmc_error(c));
    }
    return r;
}

/* A COVG call that writes up to sizeof(out) bytes (size register a2). */
static struct sbiret call_out(struct tsmc *c, uint32_t fid, uint64_t if_id,
                              size_t *n)
{
    const uint64_t a[6] = {if_id, 0, sizeof(out), 0, 0, 0};
    struct sbiret r = {0, 0};

    if (tsmc_call(c, TSM_EID_COVG, fid, a, NULL, 0, out, sizeof(out), n, &r) !=
        0) {
        fail_msg("call %u: %s", (unsigned)fid, tsmc_error(c));
    }
    return r;
}

/*
 * A host call run to completion: each pending relay buffer goes to the
 * device as one DOE object, its answer comes back in the same layout.
 * Return: the final sbiret; *@rounds the relayed messages.
 */
static struct sbiret host_relay(uint32_t fid, uint64_t a0, uint64_t a1,
                                int *rounds)
{
    const uint64_t a[6] = {a0, a1, 0, 0, 0, 0};
    struct doe_object o;
    struct sbiret r;
    size_t n, in_len = 0, ol, rl;
    char err[256];
    uint32_t rf, len;

    *rounds = 0;
    for (;;) {
        if (tsmc_call(&host, TSM_EID_COVH, fid, a, ans, in_len, out,
                      sizeof(out), &n, &r) != 0) {
            fail_msg("relay of %u: %s", (unsigned)fid, tsmc_error(&host));
        }
        if (r.error != SBI_SUCCESS || r.value != TSM_SPDM_PENDING_REQUEST) {
            return r;
        }
        assert_true(n >= TSM_RELAY_HDR_SIZE);
        rf = load_le32(out);
        len = load_le32(out + 8);
        assert_int_equal(rf & TSM_RELAY_FID_MASK, fid);
        assert_int_equal(load_le32(out + 4), DEV);
        assert_int_equal(len, n - TSM_RELAY_HDR_SIZE);
        ol = doe_build(DOE_VENDOR_PCISIG,
                       (rf & TSM_RELAY_SECURED) ? DOE_TYPE_SECURED
                                                : DOE_TYPE_SPDM,
                       out + TSM_RELAY_HDR_SIZE, len, obj, sizeof(obj));
        assert_true(ol > 0);
        if (device.xfer(device.ctx, obj, ol, obj_rsp, sizeof(obj_rsp), &rl, err,
                        sizeof(err)) != 0) {
            fail_msg("device: %s", err);
        }
        assert_int_equal(doe_parse(obj_rsp, rl, &o), DOE_OK);
        assert_int_equal(o.vendor, DOE_VENDOR_PCISIG);
        assert_int_equal(o.type, (rf & TSM_RELAY_SECURED) ? DOE_TYPE_SECURED
                                                          : DOE_TYPE_SPDM);
        assert_true(o.payload_len <= sizeof(ans) - TSM_RELAY_HDR_SIZE);
        memcpy(ans, out, 8);
        store_le32(ans + 8, (uint32_t)o.payload_len);
        memcpy(ans + TSM_RELAY_HDR_SIZE, o.payload, o.payload_len);
        in_len = TSM_RELAY_HDR_SIZE + o.payload_len;
        assert_true(++*rounds < 64);
    }
}

/* One admin command to the DSM, its one-line answer. */
static void dsm_admin(const char *cmd, char *line, size_t cap)
{
    struct sockaddr_un sa;
    size_t have = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ssize_t n;

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", admin_path);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
    while (have + 1 < cap && (n = read(fd, line + have, cap - 1 - have)) > 0) {
        have += (size_t)n;
    }
    line[have] = '\0';
    close(fd);
}

/* ---- tests ---- */

static void sockets_and_ready(void **state)
{
    const char *paths[] = {host_path, tvm1_path, tvm2_path};
    struct stat st;

    (void)state;
    /* READY=1 came (start_tsm) once every socket was in place, 0600 */
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(lstat(paths[i], &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0600);
    }
    /* the filter goes on right after READY=1 */
    for (int i = 0; i < 100 && !harness_file_has(tsm_log, "syscall filter on");
         i++) {
        sleep_ms(20);
    }
    assert_true(harness_file_has(tsm_log, "syscall filter on"));
    /* and it is the kernel's: filter mode, no_new_privs */
    assert_true(proc_status_has(tsm_pid, "Seccomp:\t2"));
    assert_true(proc_status_has(tsm_pid, "NoNewPrivs:\t1"));
}

/* Bad options: exit 2 and one line saying why. */
static void options(void **state)
{
    static const struct {
        const char *a, *b, *want;
    } cases[] = {
        {"--tvm=1:/tmp/x", NULL, "--host-socket=PATH is required"},
        {"--host-socket=/tmp/x", "--tvm=0:/tmp/y",
         "the TVM id must be a positive integer"},
        {"--host-socket=/tmp/x", "--tvm=3", "expected ID:PATH"},
        {"--host-socket=/tmp/x", "--tvm=3:/tmp/x",
         "is already host endpoint's"},
        {"--host-socket=/tmp/x", "--io-timeout=0", "expected 1..3600"},
        {"--host-socket=/tmp/x", "--sandbox=maybe", "not seccomp or none"},
        {"--host-socket=/tmp/x", "--socket-mode=0400", "needs read and write"},
    };
    char log[96], want[128];
    int status;

    (void)state;
    snprintf(log, sizeof(log), "%s/options.log", dir);
    for (size_t i = 0; i < TV_ARRAY_SIZE(cases); i++) {
        const char *argv[] = {getenv("TRUSTVIO_TSM"), cases[i].a, cases[i].b,
                              NULL};
        pid_t pid;

        unlink(log);
        pid = spawn(argv, log, false);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 2);
        snprintf(want, sizeof(want), "%s", cases[i].want);
        if (!harness_file_has(log, want)) {
            fail_msg("case %zu: no '%s'", i, want);
        }
    }
    {
        const char *argv[] = {getenv("TRUSTVIO_TSM"), "--help", NULL};
        pid_t pid;

        unlink(log);
        pid = spawn(argv, log, false);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_true(harness_file_has(log, "--tvm=ID:PATH"));
    }
}

static void endpoint_rules(void **state)
{
    struct sbiret r;
    size_t n;

    (void)state;
    open_all();
    r = call(&host, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_1, 0, &n);
    assert_int_equal(r.error, SBI_ERR_DENIED);
    assert_int_equal(n, 0);
    r = call(&tvm1, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, DEV, 0, &n);
    assert_int_equal(r.error, SBI_ERR_DENIED);
    assert_int_equal(n, 0);
    r = call(&tvm1, TSM_EID_COVI, 1024, 0, 0, NULL);
    assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
    /* the root-port calls are the TSM's own: no endpoint may make them */
    r = call(&tvm1, TSM_EID_COVT, 1024, 0, 0, NULL);
    assert_int_equal(r.error, SBI_ERR_DENIED);
    r = call(&host, TSM_EID_COVT, 1024, 0, 0, NULL);
    assert_int_equal(r.error, SBI_ERR_DENIED);
    /* nothing is bound yet */
    r = call(&tvm1, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_1, 0, NULL);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    close_all();
}

static void connect_bind_locked(void **state)
{
    char err[256], line[128];
    struct sbiret r;
    int rounds, total;
    uint64_t t0, ms;
    size_t n;

    (void)state;
    if (tdispc_sock_open(&device, dsm_port, err, sizeof(err)) != 0) {
        fail_msg("DSM: %s", err);
    }
    open_all();
    t0 = tv_mono_ms();
    r = host_relay(TSM_COVH_CONNECT_DEVICE, DEV, 0, &rounds);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 0);
    /* VCA, digests, certificate portions, key exchange, finish, meas. */
    assert_true(rounds >= 7);
    total = rounds;
    r = host_relay(TSM_COVH_BIND_INTERFACE, TVM_1, IF_1, &rounds);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 0);
    assert_true(rounds >= 5);
    total += rounds;
    ms = tv_mono_ms() - t0;
    /* for information (figures against limits are bench/'s) */
    printf("connect_device + bind_interface through trustvio-tsm and "
           "trustvio-dsm: %llu ms, %d relayed messages\n",
           (unsigned long long)ms, total);

    /* the TVM sees its interface locked, the device agrees */
    r = call(&tvm1, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_1, 0, NULL);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, TSM_IF_LOCKED);
    dsm_admin("state 01:00.0\n", line, sizeof(line));
    assert_string_equal(line, "CONFIG_LOCKED\n");
    r = call(&tvm1, TSM_EID_COVG, TSM_COVG_GET_DEVICE_LINK, IF_1, 0, NULL);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, 1); /* SECURED_SPDM, no IDE */
    r = call_out(&tvm1, TSM_COVG_GET_INTERFACE_REPORT, IF_1, &n);
    assert_int_equal(r.error, SBI_SUCCESS);
    /* the report's MMIO ranges are the DSM's --tdi ranges */
    /* two ranges, no device-specific data */
    assert_int_equal(n, TDISP_REPORT_FIXED + 2 * TDISP_RANGE_SIZE + 4);
    assert_int_equal(load_le64(out + TDISP_REPORT_FIXED), 0xfe000000u);
    assert_int_equal(load_le32(out + TDISP_REPORT_FIXED + 8), 4);
    assert_int_equal(load_le64(out + TDISP_REPORT_FIXED + 16), 0xfe004000u);
    assert_int_equal(load_le32(out + TDISP_REPORT_FIXED + 24), 1);

    /* another TVM: not its interface */
    r = call(&tvm2, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_1, 0, &n);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    r = call_out(&tvm2, TSM_COVG_GET_INTERFACE_REPORT, IF_1, &n);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    assert_int_equal(n, 0);
    close_all();
    assert_true(harness_file_has(tsm_log, "TVM 2 endpoint: connection"));
}

/* A frame that breaks a rule drops that connection; the rest go on. */
static void malformed_frame(void **state)
{
    uint8_t bad[TSM_FRAME_REQ_HDR_SIZE];
    struct sbiret r;
    char c;

    (void)state;
    open_all();
    memset(bad, 0, sizeof(bad));
    store_le32(bad, TSM_FRAME_REQ_MAGIC);
    store_le16(bad + 4, 2); /* an unknown version */
    assert_int_equal(write(host.fd, bad, sizeof(bad)), (ssize_t)sizeof(bad));
    /* no answer: the connection ends */
    assert_int_equal(read(host.fd, &c, 1), 0);
    /* the TVM's connection, and the state, are untouched */
    r = call(&tvm1, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_1, 0, NULL);
    assert_int_equal(r.value, TSM_IF_LOCKED);
    /* a TVM's malformed frame drops only the TVM's connection */
    memset(bad, 0xee, sizeof(bad));
    assert_int_equal(write(tvm2.fd, bad, sizeof(bad)), (ssize_t)sizeof(bad));
    assert_int_equal(read(tvm2.fd, &c, 1), 0);
    r = call(&tvm1, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_1, 0, NULL);
    assert_int_equal(r.value, TSM_IF_LOCKED);
    /* and the host comes back on a new connection */
    tsmc_close(&host);
    assert_int_equal(tsmc_open_socket(&host, host_path), 0);
    r = call(&host, TSM_EID_COVH, TSM_COVH_BIND_INTERFACE, TVM_1, IF_1, NULL);
    assert_int_equal(r.error, SBI_ERR_ALREADY_AVAILABLE);
    close_all();
    assert_true(harness_file_has(tsm_log,
                                 "refused a frame (unsupported frame "
                                 "version or non-zero reserved field): "
                                 "dropping the connection"));
    assert_true(harness_file_has(tsm_log,
                                 "refused a frame (not a TSM frame (bad "
                                 "magic))"));
}

/* Half a frame, then silence: others are served; then it completes. */
static void stalled_peer(void **state)
{
    const uint64_t a[6] = {IF_1};
    uint8_t frame[TSM_FRAME_REQ_MAX], rsp[TSM_FRAME_RSP_MAX];
    struct tsm_frame_req q;
    struct sbiret r;
    const uint8_t *o;
    size_t len, ol, got = 0;
    uint64_t t0;
    ssize_t n;
    char c;

    (void)state;
    open_all();
    memset(&q, 0, sizeof(q));
    q.eid = TSM_EID_COVG;
    q.call.fid = TSM_COVG_GET_INTERFACE_STATE;
    memcpy(q.call.a, a, sizeof(q.call.a));
    assert_int_equal(tsm_frame_req_encode(&q, frame, sizeof(frame), &len),
                     TSM_FRAME_OK);
    /* TVM 1's first connection stops in the middle of its header */
    assert_int_equal(write(tvm1.fd, frame, 30), 30);
    t0 = tv_mono_ms();
    for (int i = 0; i < 20; i++) {
        r = call(&host, TSM_EID_COVH, TSM_COVH_BIND_INTERFACE, TVM_1, IF_1,
                 NULL);
        assert_int_equal(r.error, SBI_ERR_ALREADY_AVAILABLE);
        r = call(&tvm2, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_1, 0,
                 NULL);
        assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    }
    /* forty answers well inside the stall timeout */
    assert_true(tv_mono_ms() - t0 < 1000);
    /* the stalled peer finishes its frame and gets its answer */
    assert_int_equal(write(tvm1.fd, frame + 30, len - 30), (ssize_t)(len - 30));
    while (got < TSM_FRAME_RSP_HDR_SIZE &&
           (n = read(tvm1.fd, rsp + got, sizeof(rsp) - got)) > 0) {
        got += (size_t)n;
    }
    assert_int_equal(tsm_frame_rsp_decode(rsp, got, &r, &o, &ol), TSM_FRAME_OK);
    assert_int_equal(r.error, SBI_SUCCESS);
    assert_int_equal(r.value, TSM_IF_LOCKED);

    /* a peer that stays inside a frame past --io-timeout is dropped */
    assert_int_equal(write(tvm1.fd, frame, 40), 40);
    t0 = tv_mono_ms();
    assert_int_equal(read(tvm1.fd, &c, 1), 0);
    assert_true(tv_mono_ms() - t0 >= IO_TIMEOUT_S * 1000 - 100);
    assert_true(tv_mono_ms() - t0 < IO_TIMEOUT_S * 1000 + 2000);
    assert_true(harness_file_has(tsm_log, "dropped: stalled inside a frame"));
    /* the others still are served */
    r = call(&tvm2, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_1, 0, NULL);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    close_all();
}

/* Two frames in one write: two answers, in order. */
static void pipelined(void **state)
{
    uint8_t frames[2 * TSM_FRAME_REQ_HDR_SIZE], rsp[2 * TSM_FRAME_RSP_HDR_SIZE];
    struct tsm_frame_req q;
    const uint8_t *o;
    struct sbiret r;
    size_t len, ol, got = 0;
    ssize_t n;

    (void)state;
    open_all();
    memset(&q, 0, sizeof(q));
    q.eid = TSM_EID_COVG;
    q.call.fid = TSM_COVG_GET_INTERFACE_STATE;
    q.call.a[0] = IF_1;
    assert_int_equal(tsm_frame_req_encode(&q, frames, sizeof(frames), &len),
                     TSM_FRAME_OK);
    q.call.fid = TSM_COVG_GET_DEVICE_LINK;
    assert_int_equal(
        tsm_frame_req_encode(&q, frames + len, sizeof(frames) - len, &len),
        TSM_FRAME_OK);
    assert_int_equal(write(tvm1.fd, frames, sizeof(frames)),
                     (ssize_t)sizeof(frames));
    while (got < sizeof(rsp) &&
           (n = read(tvm1.fd, rsp + got, sizeof(rsp) - got)) > 0) {
        got += (size_t)n;
    }
    assert_int_equal(got, sizeof(rsp));
    assert_int_equal(
        tsm_frame_rsp_decode(rsp, TSM_FRAME_RSP_HDR_SIZE, &r, &o, &ol),
        TSM_FRAME_OK);
    assert_int_equal(r.value, TSM_IF_LOCKED);
    assert_int_equal(tsm_frame_rsp_decode(rsp + TSM_FRAME_RSP_HDR_SIZE,
                                          TSM_FRAME_RSP_HDR_SIZE, &r, &o, &ol),
                     TSM_FRAME_OK);
    assert_int_equal(r.value, 1);
    close_all();
}

/*
 * A host that asks and asks but never reads its answers: once the socket
 * holds what it can, the daemon stops reading that connection, drops it
 * after --io-timeout, and the others are served meanwhile.
 */
static void unread_answers(void **state)
{
    enum { CALLS = 400 };
    static uint8_t frames[CALLS * TSM_FRAME_REQ_HDR_SIZE];
    static uint8_t rsp[TSM_FRAME_RSP_MAX];
    struct tsm_frame_req q;
    const uint8_t *o;
    struct sbiret r;
    size_t len, ol, got, answers = 0;
    uint64_t t0;
    ssize_t n;

    (void)state;
    open_all();
    memset(&q, 0, sizeof(q));
    q.eid = TSM_EID_COVH;
    q.call.fid = TSM_COVH_GET_CONN_TRANSCRIPT;
    q.call.a[0] = DEV;
    q.call.a[1] = 0; /* FULL */
    q.call.a[4] = TSM_FRAME_OUT_MAX;
    q.out_cap = TSM_FRAME_OUT_MAX;
    for (size_t i = 0; i < CALLS; i++) {
        assert_int_equal(
            tsm_frame_req_encode(&q, frames + i * TSM_FRAME_REQ_HDR_SIZE,
                                 TSM_FRAME_REQ_HDR_SIZE, &len),
            TSM_FRAME_OK);
    }
    assert_int_equal(write(host.fd, frames, sizeof(frames)),
                     (ssize_t)sizeof(frames));
    t0 = tv_mono_ms();
    /* the TVM is served while the host's answers pile up */
    r = call(&tvm1, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_1, 0, NULL);
    assert_int_equal(r.value, TSM_IF_LOCKED);
    assert_true(tv_mono_ms() - t0 < 1000);
    for (int i = 0;
         i < 200 && !harness_file_has(tsm_log, "its answer was not taken");
         i++) {
        sleep_ms(50);
    }
    assert_true(harness_file_has(tsm_log, "dropped: its answer was not taken"));
    assert_true(tv_mono_ms() - t0 >= IO_TIMEOUT_S * 1000 - 100);
    /* what was sent is whole answers, then the end: fewer than asked */
    for (;;) {
        got = 0;
        while (got < TSM_FRAME_RSP_HDR_SIZE &&
               (n = read(host.fd, rsp + got, TSM_FRAME_RSP_HDR_SIZE - got)) >
                   0) {
            got += (size_t)n;
        }
        if (got == 0) {
            break;
        }
        assert_int_equal(got, TSM_FRAME_RSP_HDR_SIZE);
        len = TSM_FRAME_RSP_HDR_SIZE + load_le32(rsp + 24);
        while (got < len && (n = read(host.fd, rsp + got, len - got)) > 0) {
            got += (size_t)n;
        }
        if (got < len) {
            break; /* the last answer, cut where the daemon gave up */
        }
        assert_int_equal(tsm_frame_rsp_decode(rsp, got, &r, &o, &ol),
                         TSM_FRAME_OK);
        assert_int_equal(r.error, SBI_SUCCESS);
        assert_true(ol > 1000);
        answers++;
    }
    assert_true(answers > 0);
    assert_true(answers < CALLS);
    close_all();
}

/* Up to 16 connections; the next is refused at once, and logged. */
static void connection_cap(void **state)
{
    static struct tsmc many[17];
    struct sbiret r;
    size_t i;
    char c;

    (void)state;
    for (i = 0; i < 16; i++) {
        assert_int_equal(
            tsmc_open_socket(&many[i], i % 2 ? tvm2_path : host_path), 0);
        r = call(&many[i], TSM_EID_COVI, 1024, 0, 0, NULL);
        assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
    }
    assert_int_equal(tsmc_open_socket(&many[16], tvm1_path), 0);
    assert_int_equal(read(many[16].fd, &c, 1), 0);
    tsmc_close(&many[16]);
    assert_true(harness_file_has(tsm_log,
                                 "TVM 1 endpoint: refusing a connection: 16 "
                                 "connections open already"));
    /* one leaves, the next comes in */
    tsmc_close(&many[0]);
    for (int tries = 0; tries < 50; tries++) {
        assert_int_equal(tsmc_open_socket(&many[16], tvm1_path), 0);
        if (tsmc_call(&many[16], TSM_EID_COVI, 1024, NULL, NULL, 0, NULL, 0, &i,
                      &r) == 0) {
            break;
        }
        tsmc_close(&many[16]); /* the daemon had not seen the close yet */
        sleep_ms(20);
    }
    assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
    for (i = 1; i < 17; i++) {
        tsmc_close(&many[i]);
    }
}

/* --user/--group: root binds, nobody serves (and owns the socket). */
static void drop_to_user(void **state)
{
    char sub[96], path[128], arg[160], log[96], want[64];
    const char *argv[] = {getenv("TRUSTVIO_TSM"), arg, "--user=65534",
                          "--group=65534", NULL};
    struct stat st;
    pid_t child;
    int status;

    (void)state;
    if (geteuid() != 0) {
        skip(); /* switching users needs root */
    }
    assert_int_equal(chmod(dir, 0711), 0);
    snprintf(sub, sizeof(sub), "%s/nobody", dir);
    snprintf(path, sizeof(path), "%s/host.sock", sub);
    snprintf(log, sizeof(log), "%s/nobody.log", dir);
    snprintf(arg, sizeof(arg), "--host-socket=%s", path);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(chown(sub, NOBODY, NOBODY), 0);
    open_pid = spawn(argv, log, false);
    wait_for(path);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_uid, NOBODY);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(want, sizeof(want), "Uid:\t%d\t%d\t%d\t%d", NOBODY, NOBODY, NOBODY,
             NOBODY);
    assert_true(proc_status_has(open_pid, want));
    assert_true(proc_no_groups(open_pid));
    /* the daemon's uid is served */
    child = fork();
    if (child == 0) {
        struct tsmc c;
        struct sbiret r;
        size_t n;

        if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0 ||
            tsmc_open_socket(&c, path) != 0 ||
            tsmc_call(&c, TSM_EID_COVI, 1024, NULL, NULL, 0, NULL, 0, &n, &r) !=
                0) {
            _exit(3);
        }
        _exit(r.error == SBI_ERR_NOT_SUPPORTED ? 0 : 4);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(harness_file_has(log, "running as uid 65534 gid 65534"));
    stop(&open_pid);
    assert_false(exists(path));
}

/*
 * A system call the loop does not need (the preload opens an IPv4 socket
 * after accept4) kills the filtered daemon, and only a filtered one.
 */
static void forbidden_call(void **state)
{
    char path[96], arg[128], log[96];
    const char *argv[] = {getenv("TRUSTVIO_TSM"), arg, NULL, NULL};
    struct sbiret r;
    int status;
    size_t n;

    (void)state;
    if (getenv("FORBIDDEN_PRELOAD") == NULL) {
        skip();
    }
    snprintf(path, sizeof(path), "%s/filtered.sock", dir);
    snprintf(log, sizeof(log), "%s/filtered.log", dir);
    snprintf(arg, sizeof(arg), "--host-socket=%s", path);
    for (int none = 0; none < 2; none++) {
        argv[2] = none ? "--sandbox=none" : NULL;
        unlink(path);
        spawn_preload = true;
        open_pid = spawn(argv, log, false);
        spawn_preload = false;
        wait_for(path);
        assert_int_equal(tsmc_open_socket(&host, path), 0);
        if (!none) {
            /* no answer: the daemon is gone */
            assert_int_equal(tsmc_call(&host, TSM_EID_COVI, 1024, NULL, NULL, 0,
                                       NULL, 0, &n, &r),
                             -1);
            assert_int_equal(waitpid(open_pid, &status, 0), open_pid);
            open_pid = -1;
            if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS) {
                fail_msg("trustvio-tsm ended with status 0x%x, not killed by "
                         "SIGSYS",
                         status);
            }
        } else {
            r = call(&host, TSM_EID_COVI, 1024, 0, 0, NULL);
            assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
            stop(&open_pid);
        }
        tsmc_close(&host);
    }
}

/* A peer of another uid on a world-writable socket is refused. */
static void peer_credentials(void **state)
{
    char path[96], arg[128], log[96], want[128];
    const char *argv[] = {getenv("TRUSTVIO_TSM"), arg, "--socket-mode=0666",
                          NULL};
    struct sbiret r;
    pid_t child;
    int status;

    (void)state;
    if (geteuid() != 0) {
        skip(); /* needs a second uid */
    }
    /* nobody may reach the socket: only the credential check refuses */
    assert_int_equal(chmod(dir, 0711), 0);
    snprintf(path, sizeof(path), "%s/open.sock", dir);
    snprintf(log, sizeof(log), "%s/open.log", dir);
    snprintf(arg, sizeof(arg), "--host-socket=%s", path);
    open_pid = spawn(argv, log, false);
    wait_for(path);
    child = fork();
    if (child == 0) {
        struct tsmc c;
        const uint64_t a[6] = {DEV};
        size_t n;

        if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0 ||
            tsmc_open_socket(&c, path) != 0) {
            _exit(3);
        }
        /* connected (the mode lets it), then refused by SO_PEERCRED */
        _exit(tsmc_call(&c, TSM_EID_COVH, TSM_COVH_CONNECT_DEVICE, a, NULL, 0,
                        out, sizeof(out), &n, &r) == -1
                  ? 0
                  : 4);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    snprintf(want, sizeof(want),
             "refusing a host endpoint: pid %ld uid %d gid %d is not uid 0",
             (long)child, NOBODY, NOBODY);
    assert_true(harness_file_has(log, want));
    /* our own uid is served */
    assert_int_equal(tsmc_open_socket(&host, path), 0);
    r = call(&host, TSM_EID_COVH, TSM_COVH_DISCONNECT_DEVICE, DEV, 0, NULL);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    tsmc_close(&host);
    stop(&open_pid);
}

static void sigterm(void **state)
{
    char buf[32];
    int status;
    ssize_t n;

    (void)state;
    open_all(); /* connections open at exit are closed */
    assert_int_equal(kill(tsm_pid, SIGTERM), 0);
    assert_int_equal(waitpid(tsm_pid, &status, 0), tsm_pid);
    tsm_pid = -1;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    n = recv(notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "STOPPING=1");
    assert_false(exists(host_path));
    assert_false(exists(tvm1_path));
    assert_false(exists(tvm2_path));
    assert_true(harness_file_has(tsm_log, "session keys wiped"));
    close_all();
}

/* clang-format off */
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(sockets_and_ready),
    cmocka_unit_test(options),
    cmocka_unit_test(endpoint_rules),
    cmocka_unit_test(connect_bind_locked),
    cmocka_unit_test(malformed_frame),
    cmocka_unit_test(stalled_peer),
    cmocka_unit_test(pipelined),
    cmocka_unit_test(unread_answers),
    cmocka_unit_test(connection_cap),
    cmocka_unit_test(forbidden_call),
    cmocka_unit_test(peer_credentials),
    cmocka_unit_test(drop_to_user),
    cmocka_unit_test(sigterm),
};
/* clang-format on */

int main(int argc, char **argv)
{
    char cmd[256];
    int rc;

    if (getenv("TRUSTVIO_TSM") == NULL || getenv("TRUSTVIO_DSM") == NULL) {
        fprintf(stderr, "TRUSTVIO_TSM and TRUSTVIO_DSM must name the "
                        "programs\n");
        return 77;
    }
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(host_path, sizeof(host_path), "%s/host.sock", dir);
    snprintf(tvm1_path, sizeof(tvm1_path), "%s/tvm1.sock", dir);
    snprintf(tvm2_path, sizeof(tvm2_path), "%s/tvm2.sock", dir);
    snprintf(notify_path, sizeof(notify_path), "%s/notify", dir);
    snprintf(tsm_log, sizeof(tsm_log), "%s/tsm.log", dir);
    snprintf(dsm_log, sizeof(dsm_log), "%s/dsm.log", dir);
    snprintf(admin_path, sizeof(admin_path), "%s/admin", dir);
    host.fd = tvm1.fd = tvm2.fd = -1;
    signal(SIGPIPE, SIG_IGN);
    if (start_dsm() != 0 || start_tsm() != 0) {
        fprintf(stderr, "the daemons did not start; logs:\n");
        snprintf(cmd, sizeof(cmd), "cat %s %s >&2", dsm_log, tsm_log);
        (void)system(cmd);
        stop(&tsm_pid);
        stop(&dsm_pid);
        return 1;
    }
    rc = harness_run("tsm_daemon", tests, sizeof(tests) / sizeof(tests[0]),
                     argc, argv);
    if (rc != 0) {
        snprintf(cmd, sizeof(cmd), "cat %s >&2", tsm_log);
        (void)system(cmd);
    }
    if (device.close != NULL) {
        device.close(device.ctx);
    }
    stop(&open_pid);
    stop(&tsm_pid);
    stop(&dsm_pid);
    close(notify_fd);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    (void)system(cmd);
    return rc;
}
