// A long-running target for `-p PID` (issue #4): attach and detach at any moment must leave it running as
// if never traced. THREADS threads (argv[2], default 3) loop for SECONDS (argv[1], fractions allowed) of
// CLOCK_MONOTONIC: strlen("attachme") through the PLT, checked (a wrong result is counted), then
// usleep(1000), a blocking PLT call, so at a detach some thread is very likely inside a traced call with
// its return address hijacked. SIGUSR1 is counted, so a test can check signals still arrive after a detach;
// SIGUSR2 ends the run early (a test on a loaded machine gives a long SECONDS and ends it when done).
// stdout: `ready PID` (flushed once every thread has made its first call), then at the end
// `done threads=T iterations=N` (N varies), `mismatches=0`, `usr1=K` (SIGUSR1s received), `exit 0`;
// exit 0, or 1 (`mismatches=M`, `exit 1`) when some strlen returned a wrong value.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
struct worker {
    pthread_t thread;
    long iterations, mismatches;
};
static volatile sig_atomic_t usr1;
static void on_usr1(int s) { (void)s; usr1++; }
static volatile sig_atomic_t stop_early;
static void on_usr2(int s) { (void)s; stop_early = 1; }
static double seconds;
static struct timespec started;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_running = PTHREAD_COND_INITIALIZER;
static long running;
// volatile: strlen is pure, and the compiler would hoist a call on an unchanging pointer out of the loop.
static const char *volatile word = "attachme";
static double elapsed(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - started.tv_sec) + (double)(now.tv_nsec - started.tv_nsec) / 1e9;
}
static void *work(void *arg) {
    struct worker *w = arg;
    do {
        if (strlen(word) != 8) w->mismatches++;
        if (w->iterations++ == 0) {
            pthread_mutex_lock(&lock);
            running++;
            pthread_cond_signal(&all_running);
            pthread_mutex_unlock(&lock);
        }
        usleep(1000);  // EINTR from SIGUSR1 or an attach is harmless: the loop goes on
    } while (elapsed() < seconds && !stop_early);
    return NULL;
}
int main(int argc, char **argv) {
    seconds = argc > 1 ? atof(argv[1]) : 10;
    long threads = argc > 2 ? atol(argv[2]) : 3;
    if (threads < 1 || threads > 1000) {
        fprintf(stderr, "usage: attachme [SECONDS] [THREADS 1-1000]\n");
        return 2;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigaction(SIGUSR1, &action, NULL);
    action.sa_handler = on_usr2;
    sigaction(SIGUSR2, &action, NULL);
    // A test runner may start us with SIGUSR1 blocked (the mask survives exec): counting needs it delivered.
    sigset_t usr1_only;
    sigemptyset(&usr1_only);
    sigaddset(&usr1_only, SIGUSR1);
    sigaddset(&usr1_only, SIGUSR2);
    sigprocmask(SIG_UNBLOCK, &usr1_only, NULL);
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    if (!workers) return 2;
    clock_gettime(CLOCK_MONOTONIC, &started);
    for (long i = 0; i < threads; i++) {
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0) {
            printf("BAD pthread_create %ld\n", i);
            return 1;
        }
    }
    pthread_mutex_lock(&lock);
    while (running < threads) pthread_cond_wait(&all_running, &lock);
    pthread_mutex_unlock(&lock);
    printf("ready %ld\n", (long)getpid());
    fflush(stdout);
    long iterations = 0, mismatches = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join(workers[i].thread, NULL);
        iterations += workers[i].iterations;
        mismatches += workers[i].mismatches;
    }
    printf("done threads=%ld iterations=%ld\nmismatches=%ld\nusr1=%d\nexit %d\n", threads, iterations,
           mismatches, (int)usr1, mismatches ? 1 : 0);
    return mismatches ? 1 : 0;
}
