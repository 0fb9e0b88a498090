// free's address taken in code (a GOT load) and free called in one object: the linker sends the call through
// a .plt.got slot, whose GOT word (GLOB_DAT) the loader fills with free's canonical address. When the
// program is a non-PIE that takes free's address too, that canonical address is the program's own PLT stub.
#include <stdlib.h>

typedef void (*freer)(void *);

freer canonlib_freer(void) { return free; }

void canonlib_release(void *p) { free(p); }
