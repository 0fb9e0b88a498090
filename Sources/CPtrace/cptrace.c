#define _GNU_SOURCE
#include "cptrace.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

long cptrace_request(int request, pid_t pid, void *addr, void *data) {
    return ptrace((enum __ptrace_request)request, pid, addr, data);
}

pid_t cptrace_spawn_traced(const char *path, char *const argv[], char *const envp[], int *child_errno) {
    *child_errno = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(fds[0]);
        close(fds[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
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
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
            int code = errno;
            (void)!write(fds[1], &code, sizeof code);
            _exit(127);
        }
        execve(path, argv, envp);
        int code = errno;
        (void)!write(fds[1], &code, sizeof code);
        _exit(127);
    }
    close(fds[1]);
    int code = 0;
    ssize_t got;
    do { got = read(fds[0], &code, sizeof code); } while (got < 0 && errno == EINTR);
    close(fds[0]);
    if (got == (ssize_t)sizeof code) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
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
