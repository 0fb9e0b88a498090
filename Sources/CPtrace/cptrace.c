#define _GNU_SOURCE
#include "cptrace.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/ptrace.h>
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

pid_t cptrace_spawn_seized(const char *path, char *const argv[], char *const envp[], unsigned long options,
                           const struct cptrace_credentials *credentials, int *stage, int *child_errno) {
    *stage = CPTRACE_SPAWN_SYSTEM;
    *child_errno = 0;
    int go[2], fds[2];
    if (pipe2(go, O_CLOEXEC) != 0) return -1;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        close_pair(go);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close_pair(go);
        close_pair(fds);
        return -1;
    }
    if (pid == 0) {
        close(go[1]);
        close(fds[0]);
        // The tracer may have blocked or ignored signals; the program must start with the defaults.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        // The tracer ignores SIGINT and SIGQUIT while it traces (the program decides what ^C does; we report
        // it), and an ignored disposition would survive exec.
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        char byte;
        ssize_t got;
        do { got = read(go[0], &byte, 1); } while (got < 0 && errno == EINTR);
        if (got != 1) _exit(127);  // the parent could not attach and let us go
        if (credentials && (setgroups(credentials->group_count, credentials->groups) != 0 ||
                            setgid(credentials->gid) != 0 || setuid(credentials->uid) != 0)) {
            int code = errno;
            (void)!write(fds[1], &code, sizeof code);
            _exit(127);
        }
        execve(path, argv, envp);
        int code = errno;
        (void)!write(fds[1], &code, sizeof code);
        _exit(127);
    }
    close(go[0]);
    close(fds[1]);
    if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)options) != 0) {
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
    int code = 0;
    ssize_t got;
    do { got = read(fds[0], &code, sizeof code); } while (got < 0 && errno == EINTR);
    close(fds[0]);
    if (got == (ssize_t)sizeof code) {
        // It is traced now: wait for its exit itself (__WALL), passing on any signal that stops it first.
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
