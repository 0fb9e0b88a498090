// Runs argv[1..] with no signal blocked, as a login shell would start it. Test runners start processes from
// threads that block signals, and a mask survives fork and exec: a test of what SIGTERM does to a program must
// not inherit one. (Dispositions are left alone: a test may ignore a signal on purpose, as nohup does.)
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: cleanmask COMMAND [ARGS...]\n");
        return 2;
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    return 127;
}
