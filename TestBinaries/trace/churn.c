// Threads and processes coming and going while a tracer attaches and detaches (issue #4, -p and -f): for
// SECONDS (argv[1], default 3) of CLOCK_MONOTONIC, each round starts 2 threads that call strlen 50 times
// each, joins them, then forks a child that calls strlen and exits 3 (checked), and vforks one that
// _exit(4)s. A thread or child that hits a breakpoint left behind, or returns through a return address
// nobody repaired, dies of SIGTRAP or SIGSEGV and the round counts as bad.
// SIGUSR2 ends the run early (a test on a loaded machine gives a long SECONDS and ends it when done).
// stdout: `ready PID` (flushed after the first round), then `rounds=N` (varies), `bad=0`, exit 0; exit 1
// when some round went wrong.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
// volatile: strlen is pure, and the compiler would fold or hoist a call on a constant string.
static const char *volatile word = "churn";
static volatile sig_atomic_t stop_early;
static void on_usr2(int s) { (void)s; stop_early = 1; }
static void *work(void *arg) {
    long *bad = arg;
    for (int i = 0; i < 50; i++)
        if (strlen(word) != 5) (*bad)++;
    return NULL;
}
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}
int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 3;
    signal(SIGUSR2, on_usr2);
    sigset_t usr2;  // a test runner may start us with it blocked (the mask survives exec)
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_UNBLOCK, &usr2, NULL);
    double start = now();
    long rounds = 0, bad = 0;
    while (rounds == 0 || (now() - start < seconds && !stop_early)) {
        pthread_t t[2];
        long thread_bad[2] = {0, 0};
        for (int i = 0; i < 2; i++)
            if (pthread_create(&t[i], NULL, work, &thread_bad[i]) != 0) bad++;
        for (int i = 0; i < 2; i++) {
            pthread_join(t[i], NULL);
            bad += thread_bad[i];
        }
        fflush(stdout);
        pid_t child = fork();
        if (child == 0) _exit(strlen(word) == 5 ? 3 : 1);
        int status = 0;
        if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 3) bad++;
        child = vfork();
        if (child == 0) _exit(4);
        if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 4) bad++;
        if (rounds++ == 0) {
            printf("ready %d\n", (int)getpid());
            fflush(stdout);
        }
    }
    printf("rounds=%ld\nbad=%ld\n", rounds, bad);
    return bad == 0 ? 0 : 1;
}
