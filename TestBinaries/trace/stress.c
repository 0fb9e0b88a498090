// THREADS threads (argv[1], default 4) x CALLS strlen calls each (argv[2], default 10000), all at once: no
// call lost or misattributed under load. Exactly THREADS*CALLS strlen calls are made, all from the threads
// through the program's PLT; main makes none (its printf has no %s, so not even libc's own strlen runs).
// Thread i measures a string of i+1 copies of 'a'+i%26, so a traced line says which thread made it.
// stdout: `threads=T calls=T*CALLS total=CALLS*T*(T+1)/2 ok`, exit 0 (`BAD ...`, exit 1, on a wrong total).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct worker {
    pthread_t thread;
    char *text;  // i+1 letters, built without strlen
    long calls;
    long total;
};
static pthread_barrier_t start;  // every thread calls at once, not one after another as they are created
static void *work(void *arg) {
    struct worker *w = arg;
    // volatile: strlen is pure, and the compiler would hoist a call on an unchanging pointer out of the loop.
    const char *volatile text = w->text;
    long total = 0;
    pthread_barrier_wait(&start);
    for (long i = 0; i < w->calls; i++) total += (long)strlen(text);
    w->total = total;
    return NULL;
}
int main(int argc, char **argv) {
    long threads = argc > 1 ? atol(argv[1]) : 4, calls = argc > 2 ? atol(argv[2]) : 10000;
    if (threads < 1 || threads > 1000 || calls < 0) {
        fprintf(stderr, "usage: stress [THREADS 1-1000] [CALLS]\n");
        return 2;
    }
    struct worker *workers = calloc((size_t)threads, sizeof *workers);
    if (!workers || pthread_barrier_init(&start, NULL, (unsigned)threads) != 0) return 2;
    for (long i = 0; i < threads; i++) {
        workers[i].text = calloc((size_t)i + 2, 1);
        if (!workers[i].text) return 2;
        for (long j = 0; j <= i; j++) workers[i].text[j] = (char)('a' + i % 26);
        workers[i].calls = calls;
    }
    for (long i = 0; i < threads; i++) {
        if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0) {
            printf("BAD pthread_create %ld\n", i);
            return 1;
        }
    }
    long total = 0;
    for (long i = 0; i < threads; i++) {
        pthread_join(workers[i].thread, NULL);
        total += workers[i].total;
    }
    long expected = calls * threads * (threads + 1) / 2;
    if (total != expected) {
        printf("BAD threads=%ld calls=%ld total=%ld expected=%ld\n", threads, threads * calls, total, expected);
        return 1;
    }
    printf("threads=%ld calls=%ld total=%ld ok\n", threads, threads * calls, total);
    return 0;
}
