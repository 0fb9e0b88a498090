// A library whose constructor makes library calls. The loader runs it before the program's entry point, so
// a trace armed at AT_ENTRY misses them (issue 10: curl --version lost libtasn1's constructor's 4,325 calls).
#include <stdlib.h>
#include <string.h>

static size_t seen;

__attribute__((constructor)) static void ctorlib_start(void) {
    const char *word = getenv("CTORLIB_WORD");
    seen = strlen(word ? word : "constructor");
}

size_t ctorlib_seen(void) { return seen; }
