// fork and system without -f: the children must run normally (no SIGTRAP from inherited breakpoints or
// hijacked return addresses) while the parent stays traced.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        printf("child %zu\n", strlen("child"));
        fflush(stdout);
        _exit(7);
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("child exited %d\n", WEXITSTATUS(status));
    fflush(stdout);
    int rc = system("echo from-system");
    printf("system %d\n", WEXITSTATUS(rc));
    return 0;
}
