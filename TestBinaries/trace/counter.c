// A counting LD_PRELOAD interposer (ground truth for the in-process engine): every call of a COUNTED
// function through the program's or a library's PLT is counted per calling object (found with
// __builtin_return_address + dladdr) and the totals are written to $COUNTER_OUT at exit as
// `object<TAB>function<TAB>count` lines. The real function comes from dlsym(RTLD_NEXT).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OBJECTS 64
struct tally { const char *object; unsigned long strlen_calls, getenv_calls; };
static struct tally tallies[MAX_OBJECTS];
static int count;
static __thread int inside;

static struct tally *tally_for(void *caller) {
    Dl_info info;
    const char *name = dladdr(caller, &info) && info.dli_fname ? info.dli_fname : "?";
    for (int i = 0; i < count; i++) if (strcmp(tallies[i].object, name) == 0) return &tallies[i];
    if (count == MAX_OBJECTS) return &tallies[MAX_OBJECTS - 1];
    tallies[count].object = name;
    return &tallies[count++];
}

size_t strlen(const char *s) {
    static size_t (*real)(const char *);
    if (!real) real = (size_t (*)(const char *))dlsym(RTLD_NEXT, "strlen");
    if (!inside) {
        inside = 1;
        __atomic_fetch_add(&tally_for(__builtin_return_address(0))->strlen_calls, 1, __ATOMIC_RELAXED);
        inside = 0;
    }
    return real(s);
}

char *getenv(const char *name) {
    static char *(*real)(const char *);
    if (!real) real = (char *(*)(const char *))dlsym(RTLD_NEXT, "getenv");
    if (!inside) {
        inside = 1;
        __atomic_fetch_add(&tally_for(__builtin_return_address(0))->getenv_calls, 1, __ATOMIC_RELAXED);
        inside = 0;
    }
    return real(name);
}

__attribute__((destructor)) static void report(void) {
    inside = 1;
    const char *path = getenv("COUNTER_OUT");
    if (!path) return;
    FILE *out = fopen(path, "w");
    if (!out) return;
    for (int i = 0; i < count; i++) {
        fprintf(out, "%s\tstrlen\t%lu\n", tallies[i].object, tallies[i].strlen_calls);
        fprintf(out, "%s\tgetenv\t%lu\n", tallies[i].object, tallies[i].getenv_calls);
    }
    fclose(out);
}
