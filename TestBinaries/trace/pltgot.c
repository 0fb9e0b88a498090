// malloc and free have their address taken AND are called: the linker binds them through GLOB_DAT words
// and calls them through .plt.got, as coreutils do (ltrace 0.7.3 misses these calls). The address must be
// taken in code (a GOTPCREL load): a pointer initialised in data gets an R_X86_64_64 relocation instead
// and leaves the calls in .plt.
#include <stdio.h>
#include <stdlib.h>
void *(*volatile take_malloc)(size_t);
void (*volatile take_free)(void *);
int main(void) {
    take_malloc = malloc;
    take_free = free;
    void *p = malloc(24);
    free(p);
    printf("%d\n", take_malloc != 0 && take_free != 0);
    return 0;
}
