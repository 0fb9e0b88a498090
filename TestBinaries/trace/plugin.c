// Loaded with dlopen: its calls through its own PLT are traced with -e '*@libplugin.so'.
#include <string.h>
int plugin_length(const char *text) { return (int)strlen(text); }
