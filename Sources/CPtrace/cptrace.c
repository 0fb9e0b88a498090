#define _GNU_SOURCE
#include "cptrace.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

long cptrace_request(int request, pid_t pid, void *addr, void *data) {
    return ptrace((enum __ptrace_request)request, pid, addr, data);
}

static void close_pair(int fds[2]) {
    int saved = errno;
    close(fds[0]);
    close(fds[1]);
    errno = saved;
}

// The child: every signal stays blocked until exec (a signal must not end or stop it half-way), the
// dispositions and descriptors are set, and the mask the program inherits is put in place just before exec.
// The kernel's struct sigaction (rt_sigaction's), not glibc's: glibc refuses to touch its internal signals
// 32 and 33 (SIGCANCEL, SIGSETXID), and a program must get those as linkscope got them too.
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

static void spawned_child(const struct cptrace_launch *launch, int go, int report) {
    for (int signal = 1; signal <= 64; signal++) {
        if (signal == SIGKILL || signal == SIGSTOP) continue;
        // The caller's own handlers would be reset by exec anyway; its SIG_IGN would not.
        struct kernel_sigaction action = {.handler = (launch->ignored >> (signal - 1)) & 1 ? SIG_IGN : SIG_DFL};
        syscall(SYS_rt_sigaction, signal, &action, NULL, sizeof action.mask);
    }
    for (size_t i = 0; i < launch->inherited_count; i++) fcntl(launch->inherited[i], F_SETFD, 0);
    if (go >= 0) {
        char byte;
        ssize_t got;
        do { got = read(go, &byte, 1); } while (got < 0 && errno == EINTR);
        if (got != 1) _exit(127);  // the parent could not attach and let us go
    }
    const struct cptrace_credentials *credentials = launch->credentials;
    if (credentials && (setgroups(credentials->group_count, credentials->groups) != 0 ||
                        setgid(credentials->gid) != 0 || setuid(credentials->uid) != 0)) {
        int code = errno;
        (void)!write(report, &code, sizeof code);
        _exit(127);
    }
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &launch->blocked, NULL, sizeof(unsigned long));
    execve(launch->path, launch->argv, launch->envp);
    int code = errno;
    (void)!write(report, &code, sizeof code);
    _exit(127);
}

// A traced child that takes a signal before exec stops for it; the parent, waiting for the report pipe,
// must pass such a signal on or wait forever. The exec stop itself (SIGTRAP) is left for the caller: it is
// only peeked at (WNOWAIT). Returns once the pipe has something (an errno) or EOF (exec, or the child died).
static void await_report(pid_t pid, int report, int seized) {
    for (;;) {
        struct pollfd ready = {.fd = report, .events = POLLIN};
        int n = poll(&ready, 1, seized ? 50 : -1);
        if (n > 0 || (n < 0 && errno != EINTR)) return;
        if (n < 0) continue;
        siginfo_t info = {0};
        if (waitid(P_PID, (id_t)pid, &info, WSTOPPED | WEXITED | WNOHANG | WNOWAIT | __WALL) != 0) return;
        if (info.si_pid != pid || info.si_code != CLD_TRAPPED || info.si_status == SIGTRAP) continue;
        int status;
        if (waitpid(pid, &status, __WALL) == pid && WIFSTOPPED(status)) {
            int signal = WSTOPSIG(status);
            // A group-stop of a seized child (PTRACE_EVENT_STOP) is resumed: the program has not started yet.
            int event = (status >> 16) & 0xff;
            ptrace(PTRACE_CONT, pid, NULL, (void *)(long)(event ? 0 : signal));
        }
    }
}

pid_t cptrace_spawn(const struct cptrace_launch *launch, int *stage, int *child_errno) {
    *stage = CPTRACE_SPAWN_SYSTEM;
    *child_errno = 0;
    int go[2] = {-1, -1}, fds[2];
    if (launch->seize && pipe2(go, O_CLOEXEC) != 0) return -1;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        if (launch->seize) close_pair(go);
        return -1;
    }
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid == 0) {
        if (launch->seize) close(go[1]);
        close(fds[0]);
        spawned_child(launch, go[0], fds[1]);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    errno = saved;
    if (pid < 0) {
        if (launch->seize) close_pair(go);
        close_pair(fds);
        return -1;
    }
    if (launch->seize) close(go[0]);
    close(fds[1]);
    if (launch->seize) {
        if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)launch->seize_options) != 0) {
            *stage = CPTRACE_SPAWN_SEIZE;
            *child_errno = errno;
            close(go[1]);  // the child reads EOF and leaves
            close(fds[0]);
            int status;
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            return -1;
        }
        char go_byte = 1;
        ssize_t sent;
        do { sent = write(go[1], &go_byte, 1); } while (sent < 0 && errno == EINTR);
        close(go[1]);
    }
    await_report(pid, fds[0], launch->seize);
    int code = 0;
    ssize_t got;
    do { got = read(fds[0], &code, sizeof code); } while (got < 0 && errno == EINTR);
    close(fds[0]);
    if (got == (ssize_t)sizeof code) {
        // Traced, it is waited for with __WALL, passing on any signal that stops it before it exits.
        int status;
        for (;;) {
            pid_t r = waitpid(pid, &status, __WALL);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status)) break;
            ptrace(PTRACE_CONT, pid, NULL, (void *)(long)(WSTOPSIG(status) == SIGTRAP ? 0 : WSTOPSIG(status)));
        }
        *stage = CPTRACE_SPAWN_EXEC;
        *child_errno = code;
        return -1;
    }
    return pid;
}

ssize_t cptrace_process_vm_readv(pid_t pid, const struct iovec *local, unsigned long local_count,
                                 const struct iovec *remote, unsigned long remote_count) {
    return process_vm_readv(pid, local, local_count, remote, remote_count, 0);
}

int cptrace_wifexited(int status) { return WIFEXITED(status); }
int cptrace_wexitstatus(int status) { return WEXITSTATUS(status); }
int cptrace_wifsignaled(int status) { return WIFSIGNALED(status); }
int cptrace_wtermsig(int status) { return WTERMSIG(status); }
int cptrace_wcoredump(int status) { return WCOREDUMP(status); }
int cptrace_wifstopped(int status) { return WIFSTOPPED(status); }
int cptrace_wstopsig(int status) { return WSTOPSIG(status); }
