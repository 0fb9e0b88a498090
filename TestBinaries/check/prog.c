/* One program, several links: which library functions it calls is chosen with -D, so each fixture
 * program needs exactly the symbols (and symbol versions) its scenario is about. */
#include <stdio.h>
#ifdef USE_VER_ONE
int ver_one(void);
#endif
#ifdef USE_VER_TWO
int ver_two(void);
#endif
#ifdef USE_GONE
int gone(void);
#endif
#ifdef USE_PRIV
int priv(void);
#endif
#ifdef USE_ALINK
int alink(void);
#endif
#ifdef USE_SHADOW
int shadow(void);
#endif
#ifdef USE_SYM_EXTRA
int sym_extra(void);
#endif
#ifdef USE_DANGLING
int dangling(void);
#endif

int main(void) {
    int sum = 0;
#ifdef USE_VER_ONE
    sum += ver_one();
#endif
#ifdef USE_VER_TWO
    sum += ver_two();
#endif
#ifdef USE_GONE
    sum += gone();
#endif
#ifdef USE_PRIV
    sum += priv();
#endif
#ifdef USE_ALINK
    sum += alink();
#endif
#ifdef USE_SHADOW
    sum += shadow();
#endif
#ifdef USE_SYM_EXTRA
    sum += sym_extra();
#endif
#ifdef USE_DANGLING
    sum += dangling();
#endif
    printf("ok %d\n", sum);
    return 0;
}
