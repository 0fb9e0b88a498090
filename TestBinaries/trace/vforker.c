// vfork from a function two calls below main (the child borrows the parent's stack and memory until it
// execs or exits, so a tracer must not leave a hijacked return address or a lifted breakpoint behind in
// either): (1) vfork + execve of /bin/true; (2) vfork + _exit(5). Each vfork child first calls strlen
// through the PLT (a call that returns, made in the shared memory) and exits 6 instead of 5 (or 126 instead
// of exec'ing) when it returns a wrong value.
// strlen calls through the program's PLT (vforker->strlen): 1 in the parent ("vforker", before the first
// vfork), 1 in each vfork child ("vfork-child"), 1 in the parent at the end ("parent").
// stdout, exit 0: `start 7` / `vfork-execve exited 0` / `vfork-exit exited 5` / `parent 6`.
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
// volatile: strlen is pure, and the compiler would fold a call on a constant string.
static const char *volatile start_word = "vforker", *volatile child_word = "vfork-child",
                            *volatile end_word = "parent";
static int wait_for(pid_t child) {  // the child's exit status, or 128+signal
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
__attribute__((noinline)) static int vfork_execve(const char *path) {
    char *child_argv[] = {(char *)path, NULL};
    pid_t child = vfork();
    if (child == 0) {
        if (strlen(child_word) != 11) _exit(126);
        execve(path, child_argv, environ);
        _exit(127);
    }
    return wait_for(child);
}
__attribute__((noinline)) static int vfork_exit(int code) {
    pid_t child = vfork();
    if (child == 0) _exit(strlen(child_word) == 11 ? code : 6);
    return wait_for(child);
}
__attribute__((noinline)) static void run(void) {
    printf("vfork-execve exited %d\n", vfork_execve("/bin/true"));
    printf("vfork-exit exited %d\n", vfork_exit(5));
}
int main(void) {
    printf("start %zu\n", strlen(start_word));
    fflush(stdout);
    run();
    printf("parent %zu\n", strlen(end_word));
    return 0;
}
