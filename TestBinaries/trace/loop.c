// N calls of strlen (argv[1], default 100000): the benchmark's workload and the stop-count check.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    size_t total = 0;
    // volatile: strlen is pure, and the compiler would hoist a call on an unchanging pointer out of the loop.
    const char *volatile text = argv[0];
    for (long i = 0; i < n; i++) total += strlen(text);
    printf("%zu\n", total);
    return 0;
}
