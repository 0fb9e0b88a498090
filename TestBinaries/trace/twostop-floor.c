// The floor scripts/bench-trace compares the engine with: the least a two-stop PLT tracer can do per call.
// One breakpoint on one slot, one on a return site; at the slot stop read the GOT word and the return
// address, hijack it, jump; at the return stop jump back. No decoding, no output, no bookkeeping beyond a
// stack of return addresses. Not a test fixture: a measuring stick, so it trusts its arguments.
//   twostop-floor SLOT GOT RETURN_SITE PROGRAM [ARGS...]   (hex link-time addresses of PROGRAM, a PIE)
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void plant(pid_t pid, unsigned long address) {
    long word = ptrace(PTRACE_PEEKDATA, pid, (void *)address, 0);
    ptrace(PTRACE_POKEDATA, pid, (void *)address, (void *)((word & ~0xffL) | 0xcc));
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: twostop-floor SLOT GOT RETURN_SITE PROGRAM [ARGS...]\n"); return 2; }
    unsigned long slot = strtoul(argv[1], 0, 16), got = strtoul(argv[2], 0, 16), site = strtoul(argv[3], 0, 16);
    pid_t pid = fork();
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execv(argv[4], argv + 4);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    char maps[64];
    snprintf(maps, sizeof maps, "/proc/%d/maps", (int)pid);
    FILE *file = fopen(maps, "r");
    unsigned long base = 0;
    if (!file || fscanf(file, "%lx", &base) != 1) return 2;
    fclose(file);
    slot += base; got += base; site += base;
    plant(pid, slot);
    plant(pid, site);
    static unsigned long returns[1 << 16];
    int depth = 0;
    long calls = 0, stops = 0;
    ptrace(PTRACE_CONT, pid, 0, 0);
    for (;;) {
        if (waitpid(pid, &status, 0) < 0 || WIFEXITED(status) || WIFSIGNALED(status)) break;
        if (WSTOPSIG(status) != SIGTRAP) { ptrace(PTRACE_CONT, pid, 0, (void *)(long)WSTOPSIG(status)); continue; }
        struct user_regs_struct regs;
        ptrace(PTRACE_GETREGS, pid, 0, &regs);
        stops++;
        if (regs.rip - 1 == slot && depth < (1 << 16)) {
            returns[depth++] = ptrace(PTRACE_PEEKDATA, pid, (void *)regs.rsp, 0);
            ptrace(PTRACE_POKEDATA, pid, (void *)regs.rsp, (void *)site);
            regs.rip = ptrace(PTRACE_PEEKDATA, pid, (void *)got, 0);
            calls++;
        } else if (regs.rip - 1 == site && depth > 0) {
            regs.rip = returns[--depth];
        }
        ptrace(PTRACE_SETREGS, pid, 0, &regs);
        ptrace(PTRACE_CONT, pid, 0, 0);
    }
    fprintf(stderr, "twostop-floor: %ld calls, %ld stops\n", calls, stops);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
