// dlopen / dlclose / dlopen again: the plugin's PLT is armed, forgotten, and armed again.
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv) {
    for (int round = 0; round < 2; round++) {
        void *handle = dlopen(argv[1], RTLD_NOW);
        if (!handle) { fprintf(stderr, "%s\n", dlerror()); return 1; }
        int (*length)(const char *) = (int (*)(const char *))dlsym(handle, "plugin_length");
        printf("round %d: %d\n", round, length(round ? "second" : "first"));
        dlclose(handle);
    }
    return 0;
}
