#ifndef CPTRACE_H
#define CPTRACE_H
// Thin C shims for what Swift cannot call directly. Each says why it is here; none holds logic.
#include <sys/types.h>
#include <sys/user.h>
#include <sys/uio.h>

// `ptrace` is variadic in glibc's header, and Swift cannot call variadic C functions.
long cptrace_request(int request, pid_t pid, void *addr, void *data);

// The child's path from fork to exec cannot be Swift: between fork and exec only async-signal-safe calls are
// allowed, and Swift code may allocate or take locks. The child asks to be traced (PTRACE_TRACEME) and execs
// `path`; if exec fails it writes its errno to a close-on-exec pipe and _exits 127. The parent reads EOF
// (exec happened: the child is now stopped with SIGTRAP at its first instruction) or an errno.
// Returns the child's pid, or -1 with `*child_errno` set (the child has then been reaped) or errno set
// (fork or pipe failed, `*child_errno` = 0).
pid_t cptrace_spawn_traced(const char *path, char *const argv[], char *const envp[], int *child_errno);

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
