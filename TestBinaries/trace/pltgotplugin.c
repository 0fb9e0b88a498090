// Loaded with dlopen (dlmain): malloc and free have their address taken in code AND are called, so the
// linker calls them through .plt.got (GLOB_DAT words the loader fills when it relocates the object, never
// through la_symbind). The in-process engine patches those words once the dlopen'd object is relocated.
#include <stdlib.h>
#include <string.h>
void *(*volatile plugin_take_malloc)(size_t);
void (*volatile plugin_take_free)(void *);
int plugin_length(const char *text) {
    plugin_take_malloc = malloc;
    plugin_take_free = free;
    char *copy = malloc(strlen(text) + 1);
    strcpy(copy, text);
    int n = (int)strlen(copy);
    free(copy);
    return n;
}
