#include <cstdio>
#include <cstring>
#include <stdexcept>
int thrower(int value);
int main() {
    try {
        thrower(1);
        std::puts("not reached");
    } catch (const std::exception &e) {
        std::printf("caught %s %zu\n", e.what(), std::strlen(e.what()));
    }
    std::printf("second %d\n", thrower(0));
    return 4;
}
