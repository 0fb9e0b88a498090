#ifndef CPTRACE_H
#define CPTRACE_H
// Thin C shims for what Swift cannot call directly. Each says why it is here; none holds logic.
#include <sys/types.h>

// `ptrace` is variadic in glibc's header, and Swift cannot call variadic C functions.
long cptrace_request(int request, pid_t pid, void *addr, void *data);

#endif
