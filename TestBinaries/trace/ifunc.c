// A function of the program's own chosen by an IFUNC resolver: the call goes through a PLT slot whose GOT
// word has an R_X86_64_IRELATIVE relocation and no symbol. The slot map names it from the relocation's
// addend (the resolver's address) through .symtab.
#include <stdio.h>
static int twice_impl(int x) { return 2 * x; }
static int (*resolve_twice(void))(int) { return twice_impl; }
int twice(int x) __attribute__((ifunc("resolve_twice")));
int main(void) {
    printf("%d\n", twice(21));
    return 0;
}
