// libforker.so for spawn.c: a library function that forks and returns in both processes, so a tracer that
// hijacked forker_fork's return address must repair it (or follow it) in the child, whose stack is a copy.
#include <stdio.h>
#include <unistd.h>
pid_t forker_fork(void) {
    fflush(stdout);  // the child's copy of an unflushed buffer would print the parent's lines twice
    return fork();
}
