// Calls into libctorlib.so, whose constructor made calls of its own before this program's entry point.
#include <stdio.h>
#include <stddef.h>

size_t ctorlib_seen(void);

int main(void) {
    printf("seen %zu\n", ctorlib_seen());
    return 0;
}
