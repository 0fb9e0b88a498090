#include <stdio.h>
#include <stddef.h>
size_t tail_length(const char *text);
int main(void) {
    size_t a = tail_length("tail");
    size_t b = tail_length("called");
    printf("%zu %zu\n", a, b);
    return 0;
}
