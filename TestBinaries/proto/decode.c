// Calls whose decoded arguments and results the prototype tests check, against ltrace 0.7.3 where ltrace
// decodes them right. Built lazy, without IBT, so ltrace's .plt support sees every call.
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int compare(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char *p = malloc(10);
    printf("%d %s %f %c\n", 42, "str", 1.5, 'z');
    puts("a very long string that exceeds thirty two characters for sure");
    printf("%s|%5.2f|%ld|%x|%c|%%|%lu %d %d %d\n", "ab", 2.5, -7L, 255, 'c', 5UL, 6, 7, 8);
    const char *words[] = {"b", "a", "c"};
    qsort(words, 3, sizeof words[0], compare);
    double d = atof("3.25");
    char *end = NULL;
    long v = strtol("123abc", &end, 10);
    char path[256];
    snprintf(path, sizeof path, "%s/linkscope-decode-%d", dir, (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "ab\n", 3);
    close(fd);
    fd = open(path, O_RDONLY);
    char buf[8];
    read(fd, buf, sizeof buf);
    lseek(fd, 0, SEEK_SET);
    close(fd);
    unlink(path);
    getenv("LINKSCOPE_DECODE_UNSET");
    setlocale(LC_ALL, "C");
    strlen("hello\tworld\n\001");
    free(p);
    return (int)(d + v) == 126 ? 0 : 1;
}
