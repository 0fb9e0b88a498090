// qsort is traced and calls back into the program, whose comparator calls strcmp: nested traced calls.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int compare(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
int main(void) {
    const char *words[] = {"pear", "apple", "fig"};
    qsort(words, 3, sizeof words[0], compare);
    printf("%s %s %s\n", words[0], words[1], words[2]);
    return 0;
}
