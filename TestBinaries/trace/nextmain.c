#include <stdio.h>
int lookup_next(void);
int main(void) {
    printf("next %d\n", lookup_next());
    return 0;
}
