// longjmp out of a traced call: the comparator called by qsort (traced) jumps back to main, so the qsort
// frame whose return address we hijacked is unwound past and never returns.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static jmp_buf back;
static int compare(const void *a, const void *b) { (void)a; (void)b; longjmp(back, 1); }
int main(void) {
    int values[] = {3, 1, 2};
    if (setjmp(back) == 0) {
        qsort(values, 3, sizeof values[0], compare);
        puts("not reached");
    }
    printf("after %zu\n", strlen("jump"));
    return 5;
}
