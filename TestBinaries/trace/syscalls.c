// `-S`: a few system calls between library calls: an openat that fails (ENOENT), a write of known bytes, a
// close of a bad descriptor (EBADF), and the program's exit.
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
    int fd = open("/nonexistent/linkscope.conf", O_RDONLY | O_CLOEXEC);
    write(1, "hello\n", 6);
    close(-1);
    printf("fd %d\n", fd);
    return 0;
}
