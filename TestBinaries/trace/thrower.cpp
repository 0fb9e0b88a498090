// A library function, called through the program's PLT (so its return address is hijacked), that throws
// through that frame into the program's catch.
#include <stdexcept>
extern "C++" int thrower(int value) {
    if (value > 0) throw std::runtime_error("boom");
    return value;
}
