// A slow, steady program for output-as-it-happens and signal tests (issues 10 and 14): every 20 ms, for
// SECONDS (argv[1], default 10), strlen("tick") through the PLT, then `tick N` on stdout (flushed), so a test
// can match every call to a line the program printed. With argv[2] = "catch", SIGTERM and SIGHUP end the
// loop: it prints `caught SIGNAL after N` and exits 7; without it they kill it (their default action).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static volatile sig_atomic_t caught;
static void on_signal(int s) { caught = s; }
// volatile: strlen is pure, and the compiler would hoist a call on an unchanging pointer out of the loop.
static const char *volatile word = "tick";
int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 10;
    if (argc > 2 && strcmp(argv[2], "catch") == 0) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_signal;
        sigaction(SIGTERM, &action, NULL);
        sigaction(SIGHUP, &action, NULL);
    }
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long n = 0;
    do {
        if (strlen(word) != 4) return 1;
        printf("tick %ld\n", ++n);
        fflush(stdout);
        usleep(20000);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (!caught && (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 < seconds);
    if (caught) {
        printf("caught %d after %ld\n", (int)caught, n);
        return 7;
    }
    return 0;
}
