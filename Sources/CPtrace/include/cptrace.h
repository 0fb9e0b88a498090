#ifndef CPTRACE_H
#define CPTRACE_H
// Thin C shims for what Swift cannot call directly. Each says why it is here; none holds logic.
#include <sys/types.h>
#include <sys/user.h>
#include <sys/uio.h>

// `ptrace` is variadic in glibc's header, and Swift cannot call variadic C functions.
long cptrace_request(int request, pid_t pid, void *addr, void *data);

// The child's path from fork to exec cannot be Swift: between fork and exec only async-signal-safe calls are
// allowed, and Swift code may allocate or take locks. `cptrace_spawn` starts `launch->path` with `argv` and
// `envp` as given, the signal mask `blocked` and the signals of `ignored` ignored (every other at its
// default, whatever the caller does with its own), and the close-on-exec flag of the `inherited`
// descriptors cleared. With `seize`, the child waits on a pipe until the parent has attached to it with
// PTRACE_SEIZE and `seize_options` (so group-stops can be kept with PTRACE_LISTEN, and PTRACE_INTERRUPT
// works); it stops at PTRACE_EVENT_EXEC, the first stop the caller sees (a signal that reaches it before exec
// is passed on here). If exec fails the child writes its errno to a close-on-exec pipe and _exits 127; the
// parent reads EOF (exec happened) or an errno.
// Returns the child's pid, or -1 with `*stage` saying what failed: CPTRACE_SPAWN_SYSTEM (pipe or fork; errno
// is set), CPTRACE_SPAWN_SEIZE or CPTRACE_SPAWN_EXEC (the errno is in `*child_errno`; the child has been
// reaped).
// `credentials` (NULL: unchanged) are the ids the child takes before exec (`trace -u USER`): its groups, gid
// and uid are set in that order, as login does; a failure is reported like a failed exec.
enum { CPTRACE_SPAWN_SYSTEM = 1, CPTRACE_SPAWN_SEIZE = 2, CPTRACE_SPAWN_EXEC = 3 };
struct cptrace_credentials {
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t group_count;
};
struct cptrace_launch {
    const char *path;
    char *const *argv;
    char *const *envp;
    unsigned long blocked;  // bit N-1: signal N, as the kernel's masks (glibc's sigset_t calls refuse 32 and 33)
    unsigned long ignored;
    const int *inherited;
    size_t inherited_count;
    const struct cptrace_credentials *credentials;
    int seize;
    unsigned long seize_options;
};
pid_t cptrace_spawn(const struct cptrace_launch *launch, int *stage, int *child_errno);

// glibc declares process_vm_readv only under _GNU_SOURCE, which Swift's Glibc module is not built with.
ssize_t cptrace_process_vm_readv(pid_t pid, const struct iovec *local, unsigned long local_count,
                                 const struct iovec *remote, unsigned long remote_count);

// The W* status macros are function-like macros, which Swift cannot import.
int cptrace_wifexited(int status);
int cptrace_wexitstatus(int status);
int cptrace_wifsignaled(int status);
int cptrace_wtermsig(int status);
int cptrace_wcoredump(int status);
int cptrace_wifstopped(int status);
int cptrace_wstopsig(int status);

#endif
