#include "cptrace.h"
#include <sys/ptrace.h>

long cptrace_request(int request, pid_t pid, void *addr, void *data) {
    return ptrace((enum __ptrace_request)request, pid, addr, data);
}
