// The release binary's stand-ins for three glibc ≥ 2.35 functions (see compat.c): linked in by
// scripts/package's --wrap flags, never called by Swift code.
#pragma once
#include <stdint.h>

struct dl_find_object;

float __wrap_hypotf(float x, float y);
uint32_t __wrap_arc4random(void);
int __wrap__dl_find_object(void *pc, struct dl_find_object *result);
