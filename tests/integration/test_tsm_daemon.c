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
 * and is dropped after --io-timeout; sockets 0600, READY=1, peers of
 * another uid refused; SIGTERM ends the daemon with exit 0, sockets gone.
 * Env: TRUSTVIO_TSM, TRUSTVIO_DSM (the programs). Exit 77 without them.
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
#define FLOW_LIMIT_MS 500

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

static pid_t spawn(const char *const argv[], const char *log, bool notify)
{
    pid_t pid = fork();

    if (pid == 0) {
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

static bool log_has(const char *log, const char *s)
{
    static char buf[65536];
    FILE *f = fopen(log, "r");
    size_t n;

    if (f == NULL) {
        return false;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, s) != NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
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
    for (int i = 0; i < 100 && !log_has(tsm_log, "syscall filter on"); i++) {
        sleep_ms(20);
    }
    assert_true(log_has(tsm_log, "syscall filter on"));
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
    r = call(&tvm1, TSM_EID_COVT, 1024, 0, 0, NULL);
    assert_int_equal(r.error, SBI_ERR_NOT_SUPPORTED);
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
    /* the figure: both daemons and the sockets (limit FLOW_LIMIT_MS) */
    printf("connect_device + bind_interface through trustvio-tsm and "
           "trustvio-dsm: %llu ms, %d relayed messages (limit %d ms, ratio "
           "%.2f)\n",
           (unsigned long long)ms, total, FLOW_LIMIT_MS,
           (double)ms / FLOW_LIMIT_MS);
    assert_true(ms <= FLOW_LIMIT_MS);

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
    assert_true(log_has(tsm_log, "TVM 2 endpoint: connection"));
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
    assert_true(log_has(tsm_log, "refused a frame (unsupported frame "
                                 "version or non-zero reserved field): "
                                 "dropping the connection"));
    assert_true(log_has(tsm_log, "refused a frame (not a TSM frame (bad "
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
    assert_true(log_has(tsm_log, "dropped: stalled inside a frame"));
    /* the others still are served */
    r = call(&tvm2, TSM_EID_COVG, TSM_COVG_GET_INTERFACE_STATE, IF_1, 0, NULL);
    assert_int_equal(r.error, SBI_ERR_INVALID_PARAM);
    close_all();
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
    for (int i = 0; i < 200 && !exists(path); i++) {
        sleep_ms(50);
    }
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
    assert_true(log_has(log, want));
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
    assert_true(log_has(tsm_log, "session keys wiped"));
    close_all();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(sockets_and_ready),
    cmocka_unit_test(endpoint_rules),
    cmocka_unit_test(connect_bind_locked),
    cmocka_unit_test(malformed_frame),
    cmocka_unit_test(stalled_peer),
    cmocka_unit_test(peer_credentials),
    cmocka_unit_test(sigterm),
};

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
