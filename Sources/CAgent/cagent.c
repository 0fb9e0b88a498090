// linkscope's side of the agent protocol: the futex calls (syscall(2) is variadic, which Swift cannot call)
// and memfd_create (Swift's Glibc module does not declare it).
// The layout itself lives in include/linkscope_agent.h, shared with Agent/agent.c.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "linkscope_agent.h"

void ls_futex_wait(uint32_t *word, uint32_t value, long nanoseconds) {
    struct timespec timeout = { nanoseconds / 1000000000L, nanoseconds % 1000000000L };
    syscall(SYS_futex, word, FUTEX_WAIT, value, &timeout, 0, 0);
}

void ls_futex_wake(uint32_t *word) { syscall(SYS_futex, word, FUTEX_WAKE, 1 << 30, 0, 0, 0); }

int ls_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }
