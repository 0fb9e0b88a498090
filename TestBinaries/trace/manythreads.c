// N threads (argument, default 1000), one after another, each making one strlen call through the PLT: more
// threads over a run than the in-process engine has rings (512), never more than two alive at once.
// stdout: `threads N total T` (T = N * strlen("thread")).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static const char *volatile word = "thread";
static void *run(void *out) {
    *(size_t *)out = strlen(word);
    return NULL;
}
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t length = 0;
        pthread_t thread;
        if (pthread_create(&thread, NULL, run, &length) != 0) return 1;
        pthread_join(thread, NULL);
        total += length;
    }
    printf("threads %d total %zu\n", n, total);
    return 0;
}
