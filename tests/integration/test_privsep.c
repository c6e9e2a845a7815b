/* SPDX-License-Identifier: MIT */
/*
 * Least privilege of the real daemons, as processes:
 *  - the socket file is 0600 whatever the umask, --socket-mode and
 *    --socket-group set it, and it appears only once the daemon can serve
 *    (the PKI written, the store open); no temporary name is left behind;
 *  - READY=1 and STOPPING=1 arrive on $NOTIFY_SOCKET;
 *  - peers are logged with their credentials, and refused unless they have
 *    the daemon's uid or --socket-group (a child that switches to nobody);
 *  - --user/--group: root binds, then the daemon serves as nobody;
 *  - a daemon refuses to start on a private key file others can read;
 *  - a forbidden system call in the serve loop kills the daemon (SIGSYS),
 *    and the same call with --sandbox=none does not;
 *  - the intermediate key's private scalar is in the signer's memory and
 *    not in the serving process's.
 *
 * Daemon paths and the preload library come from the environment
 * (VHOST_USER_NSM, VHOST_USER_RPMB, FORBIDDEN_PRELOAD).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#include "common/bug.h"
#include "common/hex.h"

#define MODULE_ID "i-0123456789abcdef0-enc0123456789abcdef"
#define NOBODY    65534
#define TEST_GID  4242

static char dir[64];
static char sock_path[128];
static char log_path[128];
static pid_t daemon_pid;

static const char *env_path(const char *name)
{
    const char *p = getenv(name);

    if (p == NULL || p[0] == '\0') {
        fail_msg("%s is not set (run through meson test)", name);
    }
    return p;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tv-priv-XXXXXX");
    assert_non_null(mkdtemp(dir));
    /* others must reach the socket for the peer checks to be reached */
    assert_int_equal(chmod(dir, 0755), 0);
    snprintf(sock_path, sizeof(sock_path), "%s/vhu.sock", dir);
    snprintf(log_path, sizeof(log_path), "%s/log", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGKILL);
        waitpid(daemon_pid, NULL, 0);
        daemon_pid = 0;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

/*
 * Start @exe --socket-path=sock_path @args..., stderr into log_path, with
 * umask @mask and, when @preload, the forbidden-call library preloaded.
 */
static void start(const char *exe, const char *const *args, mode_t mask,
                  bool preload)
{
    char sock_arg[160];
    const char *argv[24];
    unsigned n = 0;
    int fd;

    snprintf(sock_arg, sizeof(sock_arg), "--socket-path=%s", sock_path);
    argv[n++] = exe;
    argv[n++] = sock_arg;
    for (; args != NULL && *args != NULL && n < 23; args++) {
        argv[n++] = *args;
    }
    argv[n] = NULL;
    daemon_pid = fork();
    assert_true(daemon_pid >= 0);
    if (daemon_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || dup2(fd, 2) < 0) {
            _exit(126);
        }
        umask(mask);
        if (preload) {
            /* ASan wants to come first; the preload only wraps accept4 */
            harness_preload(env_path("FORBIDDEN_PRELOAD"));
        }
        execv(exe, (char *const *)argv);
        _exit(127);
    }
}

/* Wait up to 10 s for the socket file; fail if the daemon exits first. */
static void wait_socket(void)
{
    struct stat st;
    int status;

    for (int i = 0; i < 10000; i++) {
        if (lstat(sock_path, &st) == 0) {
            return;
        }
        if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
            daemon_pid = 0;
            fail_msg("daemon exited (status 0x%x) before its socket appeared",
                     status);
        }
        usleep(1000);
    }
    fail_msg("no socket at %s after 10 s", sock_path);
}

/* Wait up to 10 s for the daemon to end; its wait status. */
static int wait_exit(void)
{
    int status = 0;
    pid_t r = 0;

    for (int i = 0; i < 10000 && r == 0; i++) {
        r = waitpid(daemon_pid, &status, WNOHANG);
        if (r == 0) {
            usleep(1000);
        }
    }
    if (r == 0) {
        fail_msg("daemon still running after 10 s");
    }
    daemon_pid = 0;
    return status;
}

static void stop(void)
{
    int status;

    assert_int_equal(kill(daemon_pid, SIGTERM), 0);
    status = wait_exit();
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Files in dir whose name contains ".tmp". */
static int tmp_leftovers(void)
{
    char cmd[160];
    FILE *p;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls -a '%s' | grep -c '\\.tmp'", dir);
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

/*
 * Connect to the socket and ask GET_FEATURES (vhost-user request 1).
 * Return: 1 when answered, 0 when the daemon closed the connection, -1 when
 * connect() itself failed.
 */
static int ask_features(void)
{
    const uint32_t msg[3] = {1, 1, 0}; /* request, flags (version 1), size */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {5, 0};
    uint8_t reply[32];
    ssize_t r;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (send(fd, msg, sizeof(msg), MSG_NOSIGNAL) != (ssize_t)sizeof(msg)) {
        close(fd);
        return 0;
    }
    r = recv(fd, reply, 20, MSG_WAITALL); /* header + u64 features */
    close(fd);
    return r == 20 ? 1 : 0;
}

/* ask_features() from a child that became @uid / @gid first. */
static int ask_features_as(uid_t uid, gid_t gid)
{
    int status;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        int r;

        if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
            _exit(99);
        }
        r = ask_features();
        _exit(r + 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 99);
    return WEXITSTATUS(status) - 1;
}

static void nsm_args(const char **args, char *pki_arg, size_t cap)
{
    snprintf(pki_arg, cap, "--pki=%s/pki", dir);
    args[0] = "--module-id=" MODULE_ID;
    args[1] = pki_arg;
}

/* 0600 whatever the umask; ready means the PKI is on disk. */
static void socket_mode_and_ready(void **state)
{
    char pki_arg[128], root_pem[128], grp_arg[32];
    const char *args[8] = {NULL};
    struct stat st;

    (void)state;
    nsm_args(args, pki_arg, sizeof(pki_arg));
    snprintf(root_pem, sizeof(root_pem), "%s/pki/root.pem", dir);
    start(env_path("VHOST_USER_NSM"), args, 0, false);
    wait_socket();
    /* the first moment the socket exists, the PKI is complete */
    assert_int_equal(stat(root_pem, &st), 0);
    assert_int_equal(lstat(sock_path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(tmp_leftovers(), 0);
    assert_int_equal(ask_features(), 1);
    stop();
    assert_int_equal(lstat(sock_path, &st), -1);

    if (geteuid() != 0) {
        return; /* chown to another group needs root */
    }
    snprintf(grp_arg, sizeof(grp_arg), "--socket-group=%d", TEST_GID);
    args[2] = grp_arg;
    start(env_path("VHOST_USER_NSM"), args, 0077, false);
    wait_socket();
    assert_int_equal(lstat(sock_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    assert_int_equal(st.st_gid, TEST_GID);
    stop();
    args[3] = "--socket-mode=0666";
    start(env_path("VHOST_USER_NSM"), args, 0077, false);
    wait_socket();
    assert_int_equal(lstat(sock_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666);
    stop();
}

/* READY=1 once the socket is there, STOPPING=1 on SIGTERM. */
static void notify_socket(void **state)
{
    char store_arg[128], notify[128], buf[64];
    const char *args[] = {store_arg, NULL};
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {10, 0};
    struct stat st;
    ssize_t n;
    int fd;

    (void)state;
    snprintf(store_arg, sizeof(store_arg), "--store=%s/rpmb.db", dir);
    snprintf(notify, sizeof(notify), "%s/notify", dir);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memcpy(sa.sun_path, notify, strlen(notify) + 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
                     0);
    setenv("NOTIFY_SOCKET", notify, 1);
    start(env_path("VHOST_USER_RPMB"), args, 022, false);
    unsetenv("NOTIFY_SOCKET");
    n = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "READY=1");
    assert_int_equal(lstat(sock_path, &st), 0);
    assert_int_equal(ask_features(), 1);
    assert_int_equal(kill(daemon_pid, SIGTERM), 0);
    n = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "STOPPING=1");
    assert_true(WIFEXITED(wait_exit()));
    close(fd);
    unlink(notify);
}

/* Peers: logged; our uid served, nobody refused unless in the group. */
static void peer_credentials(void **state)
{
    char store_arg[128], grp_arg[32], want[96];
    const char *args[] = {store_arg, "--socket-mode=0666", NULL, NULL};

    (void)state;
    if (geteuid() != 0) {
        skip(); /* needs a second uid */
    }
    snprintf(store_arg, sizeof(store_arg), "--store=%s/rpmb.db", dir);
    start(env_path("VHOST_USER_RPMB"), args, 022, false);
    wait_socket();
    assert_int_equal(ask_features(), 1);
    snprintf(want, sizeof(want), "front-end connected: pid %ld uid 0 gid 0",
             (long)getpid());
    assert_true(harness_file_has(log_path, want));
    /* the socket is world-writable: only the credential check stops it */
    assert_int_equal(ask_features_as(NOBODY, NOBODY), 0);
    snprintf(want, sizeof(want), "uid %d gid %d is not uid 0", NOBODY, NOBODY);
    assert_true(harness_file_has(log_path, want));
    /* and the daemon serves on */
    assert_int_equal(ask_features(), 1);
    stop();

    snprintf(grp_arg, sizeof(grp_arg), "--socket-group=%d", TEST_GID);
    args[2] = grp_arg;
    start(env_path("VHOST_USER_RPMB"), args, 022, false);
    wait_socket();
    assert_int_equal(ask_features_as(NOBODY, TEST_GID), 1);
    assert_int_equal(ask_features_as(NOBODY, NOBODY), 0);
    snprintf(want, sizeof(want), "is neither uid 0 nor in group %d", TEST_GID);
    assert_true(harness_file_has(log_path, want));
    stop();
}

/* --user/--group: root binds, nobody serves (and owns the socket). */
static void drop_to_user(void **state)
{
    char sub[96], store_arg[128], status_path[64], line[128];
    const char *args[] = {store_arg, "--user=65534", "--group=65534", NULL};
    unsigned uid = 0;
    struct stat st;
    FILE *f;

    (void)state;
    if (geteuid() != 0) {
        skip(); /* switching users needs root */
    }
    snprintf(sub, sizeof(sub), "%s/nobody", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(chown(sub, NOBODY, NOBODY), 0);
    snprintf(sock_path, sizeof(sock_path), "%s/vhu.sock", sub);
    snprintf(store_arg, sizeof(store_arg), "--store=%s/rpmb.db", sub);
    start(env_path("VHOST_USER_RPMB"), args, 022, false);
    wait_socket();
    assert_int_equal(lstat(sock_path, &st), 0);
    assert_int_equal(st.st_uid, NOBODY);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* the store was created by the new user, not by root */
    snprintf(line, sizeof(line), "%s/rpmb.db", sub);
    assert_int_equal(stat(line, &st), 0);
    assert_int_equal(st.st_uid, NOBODY);
    snprintf(status_path, sizeof(status_path), "/proc/%ld/status",
             (long)daemon_pid);
    f = fopen(status_path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Uid: %u", &uid) == 1) {
            break;
        }
    }
    fclose(f);
    assert_int_equal(uid, NOBODY);
    assert_true(harness_file_has(log_path, "running as uid 65534 gid 65534"));
    /* its own uid is now nobody's: root is the stranger */
    assert_int_equal(ask_features_as(NOBODY, NOBODY), 1);
    assert_int_equal(ask_features(), 0);
    stop();
    assert_int_equal(lstat(sock_path, &st), -1);
    snprintf(sock_path, sizeof(sock_path), "%s/vhu.sock", dir);
}

/* A private key others can read: no start, the reason, no socket. */
static void refuses_open_key(void **state)
{
    char pki_arg[128], key[128];
    const char *args[8] = {NULL};
    struct stat st;
    int status;

    (void)state;
    nsm_args(args, pki_arg, sizeof(pki_arg));
    start(env_path("VHOST_USER_NSM"), args, 022, false);
    wait_socket();
    stop();
    snprintf(key, sizeof(key), "%s/pki/intermediate.key", dir);
    assert_int_equal(chmod(key, 0644), 0);
    start(env_path("VHOST_USER_NSM"), args, 022, false);
    status = wait_exit();
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_true(harness_file_has(log_path, "permissions 0644 are too open"));
    assert_int_equal(lstat(sock_path, &st), -1);
    assert_int_equal(tmp_leftovers(), 0);
    assert_int_equal(chmod(key, 0600), 0);
}

/* The forbidden call kills a filtered daemon, and only a filtered one. */
static void forbidden_call(const char *exe, const char *const *args,
                           const char *const *args_none)
{
    int status;

    start(exe, args, 022, true);
    wait_socket();
    (void)ask_features();
    status = wait_exit();
    assert_true(harness_file_has(log_path, "syscall filter on"));
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS) {
        fail_msg("daemon ended with status 0x%x, not killed by SIGSYS", status);
    }
    unlink(sock_path); /* a killed daemon leaves its socket file */

    start(exe, args_none, 022, true);
    wait_socket();
    assert_int_equal(ask_features(), 1);
    assert_int_equal(ask_features(), 1);
    stop();
}

static void seccomp_kills(void **state)
{
    char pki_arg[128], store_arg[128];
    const char *nsm[8] = {NULL}, *nsm_none[8] = {NULL};
    const char *rpmb[] = {store_arg, NULL};
    const char *rpmb_none[] = {store_arg, "--sandbox=none", NULL};

    (void)state;
    nsm_args(nsm, pki_arg, sizeof(pki_arg));
    nsm_args(nsm_none, pki_arg, sizeof(pki_arg));
    nsm_none[2] = "--sandbox=none";
    snprintf(store_arg, sizeof(store_arg), "--store=%s/rpmb.db", dir);
    forbidden_call(env_path("VHOST_USER_NSM"), nsm, nsm_none);
    forbidden_call(env_path("VHOST_USER_RPMB"), rpmb, rpmb_none);
}

/* The intermediate's private scalar, from `openssl pkey -text`. */
static size_t private_scalar(const char *key, uint8_t out[48])
{
    char cmd[256], line[256], hex[256] = "";
    bool in_priv = false;
    FILE *p;
    long n;

    snprintf(cmd, sizeof(cmd), "openssl pkey -in '%s' -noout -text", key);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p) != NULL) {
        if (strncmp(line, "priv:", 5) == 0) {
            in_priv = true;
            continue;
        }
        if (in_priv && line[0] != ' ') {
            break;
        }
        for (char *c = line; in_priv && *c != '\0'; c++) {
            size_t l = strlen(hex);

            if (((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')) &&
                l + 1 < sizeof(hex)) {
                hex[l] = *c;
                hex[l + 1] = '\0';
            }
        }
    }
    pclose(p);
    /* a leading 00 byte keeps the INTEGER positive */
    n = hex_decode(strlen(hex) == 98 ? hex + 2 : hex, out, 48);
    assert_int_equal(n, 48);
    return 48;
}

/* Whether @pid's readable memory holds @pat, in either byte order. */
static bool memory_holds(pid_t pid, const uint8_t *pat, size_t len)
{
    static uint8_t buf[1 << 20];
    uint8_t rev[48];
    char path[64], line[512];
    unsigned long lo, hi;
    char perms[8];
    bool found = false;
    FILE *maps;
    int mem;

    for (size_t i = 0; i < len; i++) {
        rev[i] = pat[len - 1 - i];
    }
    snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
    maps = fopen(path, "r");
    assert_non_null(maps);
    snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
    mem = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(mem >= 0);
    while (!found && fgets(line, sizeof(line), maps) != NULL) {
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
            perms[0] != 'r' || strstr(line, "[vvar]") != NULL ||
            strstr(line, "[vsyscall]") != NULL) {
            continue;
        }
        /*
         * Reservations of a gigabyte or more are AddressSanitizer's shadow
         * (sanitizer builds), never where a key is allocated; reading them
         * whole would take hours. The signer's key is found with the same
         * limit, so nothing that matters is skipped.
         */
        if (hi - lo >= (1ul << 30)) {
            continue;
        }
        for (unsigned long a = lo; a < hi && !found;) {
            size_t want = hi - a < sizeof(buf) ? hi - a : sizeof(buf);
            ssize_t r = pread(mem, buf, want, (off_t)a);

            if (r <= 0) {
                break;
            }
            found = memmem(buf, (size_t)r, pat, len) != NULL ||
                    memmem(buf, (size_t)r, rev, len) != NULL;
            /* overlap so a match across chunks is not missed */
            a += (unsigned long)r > len ? (unsigned long)r - len : 1;
        }
    }
    close(mem);
    fclose(maps);
    return found;
}

static void no_ca_key_in_server(void **state)
{
    char pki_arg[128], key[128], path[96];
    const char *args[8] = {NULL};
    uint8_t scalar[48];
    long signer = 0;
    FILE *f;

    (void)state;
    nsm_args(args, pki_arg, sizeof(pki_arg));
    start(env_path("VHOST_USER_NSM"), args, 022, false);
    wait_socket();
    assert_int_equal(ask_features(), 1);
    snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
             (long)daemon_pid, (long)daemon_pid);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld", &signer), 1);
    fclose(f);
    snprintf(key, sizeof(key), "%s/pki/intermediate.key", dir);
    private_scalar(key, scalar);
    /* the scan finds the key where it is ... */
    assert_true(memory_holds((pid_t)signer, scalar, sizeof(scalar)));
    /* ... and it is not in the process that parses guest input */
    assert_false(memory_holds(daemon_pid, scalar, sizeof(scalar)));
    stop();
    /* the signer went with it */
    assert_int_equal(kill((pid_t)signer, 0), -1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(socket_mode_and_ready, teardown),
    cmocka_unit_test_teardown(notify_socket, teardown),
    cmocka_unit_test_teardown(peer_credentials, teardown),
    cmocka_unit_test_teardown(drop_to_user, teardown),
    cmocka_unit_test_teardown(refuses_open_key, teardown),
    cmocka_unit_test_teardown(seccomp_kills, teardown),
    cmocka_unit_test_teardown(no_ca_key_in_server, teardown),
};

int main(int argc, char **argv)
{
    /* each test gets a fresh directory */
    static struct CMUnitTest t[TV_ARRAY_SIZE(tests)];

    for (size_t i = 0; i < TV_ARRAY_SIZE(tests); i++) {
        t[i] = tests[i];
        t[i].setup_func = setup;
    }
    return harness_run("privsep", t, TV_ARRAY_SIZE(t), argc, argv);
}
