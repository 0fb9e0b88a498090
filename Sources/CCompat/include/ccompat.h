// What the self-contained release binary needs from C (see compat.c).
#pragma once
#include <stdint.h>

/// argc and argv as glibc gave them to the executable's constructors (0 and NULL before that).
int linkscope_argc(void);
char *const *linkscope_argv(void);

// Stand-ins for three glibc >= 2.35 functions, linked in by scripts/package's --wrap flags; never called
// by Swift code.

struct dl_find_object;

float __wrap_hypotf(float x, float y);
uint32_t __wrap_arc4random(void);
int __wrap__dl_find_object(void *pc, struct dl_find_object *result);
