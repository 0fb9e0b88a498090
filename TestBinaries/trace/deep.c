// N nested traced calls (argv[1]) open at once: the shadow stack has no fixed depth.
#include <stdio.h>
#include <stdlib.h>
int descend(int n, int (*back)(int));
static int level(int n) { return n ? descend(n - 1, level) + 1 : 0; }
int main(int argc, char **argv) {
    printf("%d\n", level(argc > 1 ? atoi(argv[1]) : 1000));
    return 0;
}
