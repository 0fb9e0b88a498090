// A traced library function that tail-calls another traced function through its own PLT (`jmp strlen@plt`,
// as glibc's strcoll does to strcmp in the C locale): at the inner slot stop the return address on the
// stack is already our return site, and both calls return through it at once.
#include <string.h>
size_t tail_length(const char *text) { return strlen(text); }
