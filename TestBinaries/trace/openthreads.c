// A thread still inside a call (sleep) when the program exits from another (issue 10): the trace closes the
// call on that thread as it closes the exiting thread's, in text and JSON.
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
static void *sleeper(void *arg) { (void)arg; sleep(30); return 0; }
int main(void) {
    pthread_t t;
    pthread_create(&t, 0, sleeper, 0);
    usleep(100000);
    exit(0);
}
