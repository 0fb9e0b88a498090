// A non-PIE program that takes free's address in its code (an absolute address, which the linker can only
// give as its own PLT stub: the stub becomes free's canonical address, the program's dynamic symbol free is
// defined there) and calls it, as python3.11 does. A library's call to free through its .plt.got slot
// (libcanonlib, or libc's own) goes on through that stub, and must still be one call, one line (issue 10).
#include <stdio.h>
#include <stdlib.h>

void canonlib_release(void *p);
void (*canonlib_freer(void))(void *);

void (*volatile program_freer)(void *);

int main(void) {
    program_freer = free;
    free(malloc(8));
    canonlib_release(malloc(16));
    printf("same canonical address: %d\n", canonlib_freer() == program_freer);
    return 0;
}
