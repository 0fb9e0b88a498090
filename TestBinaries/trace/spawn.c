// Every way a program makes a child, one after another, each child waited for before the next (issue #4,
// `-f`): (1) fork, the child calls strlen and _exit(7)s; (2) fork inside libforker.so's forker_fork, which
// returns in both processes (the child's return address is a copy of the parent's, hijacked or not), the
// child calls strlen and exits 9; (3) fork + execl /bin/echo; (4) system(); (5) posix_spawn of /bin/echo;
// (6) vfork + execl /bin/echo, and a vfork child that only _exit(3)s. After each step the parent calls
// strlen on the step's name, so its trace shows it is still traced.
// strlen calls through the program's own PLT (spawn->strlen): 6 in the parent ("fork" "forker" "exec"
// "system" "spawn" "vfork"), 1 in each fork child ("child", "forker-child"); none in the vfork children.
// stdout, exit 0:
//   child 5 / child exited 7 / fork 4 / forker-child 12 / forker-child exited 9 / forker 6 /
//   exec-child / exec-child exited 0 / exec 4 / from-system / system 0 / system 6 / spawned /
//   posix_spawn exited 0 / spawn 5 / vfork-exec / vfork-exec exited 0 / vfork-exit exited 3 / vfork 5
// (one per line, in this order).
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
pid_t forker_fork(void);
extern char **environ;
// volatile: strlen is pure, and the compiler would fold a call on a constant string.
static const char *volatile child_word = "child", *volatile forker_word = "forker-child";
static void step_done(const char *volatile name) {
    printf("%s %zu\n", name, strlen(name));
    fflush(stdout);  // before the next fork: a child must not inherit unflushed lines
}
static int wait_for(pid_t child) {  // the child's exit status, or 128+signal
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
int main(void) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        printf("child %zu\n", strlen(child_word));
        fflush(stdout);
        _exit(7);
    }
    printf("child exited %d\n", wait_for(child));
    step_done("fork");

    child = forker_fork();
    if (child == 0) {
        printf("forker-child %zu\n", strlen(forker_word));
        fflush(stdout);
        _exit(9);
    }
    printf("forker-child exited %d\n", wait_for(child));
    step_done("forker");

    child = fork();
    if (child == 0) {
        execl("/bin/echo", "echo", "exec-child", (char *)NULL);
        _exit(127);
    }
    printf("exec-child exited %d\n", wait_for(child));
    step_done("exec");

    int rc = system("echo from-system");
    printf("system %d\n", WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
    step_done("system");

    char *spawn_argv[] = {"echo", "spawned", NULL};
    if (posix_spawn(&child, "/bin/echo", NULL, NULL, spawn_argv, environ) != 0) child = -1;
    printf("posix_spawn exited %d\n", wait_for(child));
    step_done("spawn");

    child = vfork();
    if (child == 0) {
        execl("/bin/echo", "echo", "vfork-exec", (char *)NULL);
        _exit(127);
    }
    printf("vfork-exec exited %d\n", wait_for(child));
    fflush(stdout);
    child = vfork();
    if (child == 0) _exit(3);
    printf("vfork-exit exited %d\n", wait_for(child));
    step_done("vfork");
    return 0;
}
