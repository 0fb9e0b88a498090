// A signal delivered to a thread that is not the main one (pthread_kill on itself, handled): the trace must
// name the thread and its process apart (issue 10, --json: a signal event's pid is the process).
// stdout: `handled 1`; exit 0.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
static volatile sig_atomic_t handled;
static void on_usr1(int s) { (void)s; handled++; }
static void *work(void *arg) {
    (void)arg;
    pthread_kill(pthread_self(), SIGUSR1);
    return NULL;
}
int main(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_usr1;
    sigaction(SIGUSR1, &action, NULL);
    pthread_t thread;
    if (pthread_create(&thread, NULL, work, NULL) != 0) return 1;
    pthread_join(thread, NULL);
    printf("handled %d\n", (int)handled);
    return 0;
}
