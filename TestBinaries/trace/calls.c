// The basic scenario, built lazy, -z now, IBT (.plt.sec), non-PIE: a fixed sequence of libc calls.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    char *p = malloc(16);
    strcpy(p, "hello");
    size_t n = strlen(p);
    printf("%s %zu\n", p, n);
    free(p);
    puts("done");
    return 3;
}
