// dlsym(RTLD_NEXT) picks the object after the CALLER, found from the return address: called from here it
// must find libnext2's which_one (2); a return address pointing into the program would find ours (1).
#define _GNU_SOURCE
#include <dlfcn.h>
int which_one(void) { return 1; }
int lookup_next(void) {
    int (*next)(void) = (int (*)(void))dlsym(RTLD_NEXT, "which_one");
    return next ? next() : -1;
}
