// 4 threads x 500 strlen calls each, plus the main thread's own: every call traced, none lost.
#include <pthread.h>
#include <stdio.h>
#include <string.h>
// volatile: strlen is pure, and the compiler would hoist a call on an unchanging pointer out of the loop.
static const char *volatile word = "threads";
static void *work(void *arg) {
    size_t total = 0;
    for (int i = 0; i < 500; i++) total += strlen(word);
    *(size_t *)arg = total;
    return NULL;
}
int main(void) {
    pthread_t t[4];
    size_t totals[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, work, &totals[i]);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    printf("%zu\n", totals[0] + totals[1] + totals[2] + totals[3]);
    return 0;
}
