#include <stdio.h>
#include <math.h>
// Needs libm and libc, with versioned symbols from both.
int main(int argc, char **argv) {
    printf("%f\n", cos((double)argc));
    return 0;
}
