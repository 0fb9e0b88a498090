// A signal of the program's own (SIGUSR1 with a handler), its own SIGTRAP (raise and a bare int3, both
// handled), then a fatal SIGTERM when asked: the tracer must deliver each, not swallow it.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static volatile sig_atomic_t usr1, traps;
static void on_usr1(int s) { (void)s; usr1++; }
static void on_trap(int s) { (void)s; traps++; }
int main(int argc, char **argv) {
    signal(SIGUSR1, on_usr1);
    signal(SIGTRAP, on_trap);
    raise(SIGUSR1);
    raise(SIGTRAP);
    __asm__ volatile("int3");
    printf("usr1=%d traps=%d\n", (int)usr1, (int)traps);
    fflush(stdout);
    if (argc > 1 && strcmp(argv[1], "die") == 0) raise(SIGTERM);
    return 0;
}
