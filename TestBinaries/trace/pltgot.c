// malloc and free have their address taken AND are called: the linker binds them through GLOB_DAT words
// and calls them through .plt.got, as coreutils do (ltrace 0.7.3 misses these calls).
#include <stdio.h>
#include <stdlib.h>
void *(*volatile take_malloc)(size_t) = malloc;
void (*volatile take_free)(void *) = free;
int main(void) {
    void *p = malloc(24);
    free(p);
    printf("%d\n", take_malloc != 0 && take_free != 0);
    return 0;
}
