// What a program inherits from whoever starts it, so a test can compare a traced start with an untraced one
// (issue 10, "the launched program exactly as untraced"). Two roles:
//
//   launchstate                      prints its argv bytes, /proc/self/environ, SigBlk/SigIgn, cwd, umask,
//                                    rlimits and open descriptors, one fact a line, bytes outside printable
//                                    ASCII as \xHH;
//   launchstate SETUP... -- HEX...   starts a command in a chosen state, as a shell would: descriptors 0-2
//                                    only, no signal blocked but those of --block, the signals of --ignore ignored and every other at
//                                    its default, the environment made of the --env entries (with any, else
//                                    the inherited one), umask --umask, and execvp of the command whose
//                                    words are given in hex (so tests can pass bytes that are not UTF-8).
//
// SETUP: --block SIG,...  --ignore SIG,...  --env HEX (repeatable; an entry as bytes: duplicates, no `=`...)
//        --umask OCTAL  --nofile N (RLIMIT_NOFILE soft limit)
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static void print_bytes(const char *label, const unsigned char *bytes, size_t length) {
    printf("%s ", label);
    for (size_t i = 0; i < length; i++) {
        if (bytes[i] >= 0x20 && bytes[i] < 0x7f && bytes[i] != '\\') putchar(bytes[i]);
        else printf("\\x%02x", bytes[i]);
    }
    putchar('\n');
}

static void print_status_lines(void) {
    FILE *status = fopen("/proc/self/status", "r");
    if (!status) return;
    char line[256];
    while (fgets(line, sizeof line, status)) {
        if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7)) fputs(line, stdout);
    }
    fclose(status);
}

static void print_environ(void) {
    // The kernel's copy (what exec was given), not `environ`, which the program's own code may have changed.
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    static unsigned char buffer[1 << 20];
    size_t length = 0;
    ssize_t n;
    while (length < sizeof buffer && (n = read(fd, buffer + length, sizeof buffer - length)) > 0) length += (size_t)n;
    close(fd);
    size_t start = 0;
    for (size_t i = 0; i < length; i++) {
        if (buffer[i] != 0) continue;
        print_bytes("env", buffer + start, i - start);
        start = i + 1;
    }
}

static void print_descriptors(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return;
    int own = dirfd(dir);
    struct dirent *entry;
    int fds[1024], count = 0;
    while ((entry = readdir(dir)) && count < 1024) {
        if (!isdigit((unsigned char)entry->d_name[0])) continue;
        int fd = atoi(entry->d_name);
        if (fd != own) fds[count++] = fd;
    }
    for (int i = 0; i < count; i++)  // in order: readdir's order is the kernel's
        for (int j = i + 1; j < count; j++)
            if (fds[j] < fds[i]) { int t = fds[i]; fds[i] = fds[j]; fds[j] = t; }
    for (int i = 0; i < count; i++) {
        char path[64], target[4096];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fds[i]);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = 0;
        // A pipe or socket's inode differs between two runs; its kind does not.
        char *bracket = strstr(target, ":[");
        if (bracket) *bracket = 0;
        int flags = fcntl(fds[i], F_GETFL);
        printf("fd %d %s flags %o%s\n", fds[i], target, flags & ~0100000 /* O_LARGEFILE as the kernel reports it */,
               (fcntl(fds[i], F_GETFD) & FD_CLOEXEC) ? " cloexec" : "");
    }
    closedir(dir);
}

static int print_state(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        char label[32];
        snprintf(label, sizeof label, "argv[%d]", i);
        print_bytes(label, (const unsigned char *)argv[i], strlen(argv[i]));
    }
    print_environ();
    print_status_lines();
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) print_bytes("cwd", (const unsigned char *)cwd, strlen(cwd));
    mode_t mask = umask(0);
    printf("umask %03o\n", mask);
    static const struct { int resource; const char *name; } limits[] = {
        {RLIMIT_AS, "as"}, {RLIMIT_CORE, "core"}, {RLIMIT_CPU, "cpu"}, {RLIMIT_DATA, "data"},
        {RLIMIT_FSIZE, "fsize"}, {RLIMIT_LOCKS, "locks"}, {RLIMIT_MEMLOCK, "memlock"},
        {RLIMIT_MSGQUEUE, "msgqueue"}, {RLIMIT_NICE, "nice"}, {RLIMIT_NOFILE, "nofile"},
        {RLIMIT_NPROC, "nproc"}, {RLIMIT_RSS, "rss"}, {RLIMIT_RTPRIO, "rtprio"},
        {RLIMIT_RTTIME, "rttime"}, {RLIMIT_SIGPENDING, "sigpending"}, {RLIMIT_STACK, "stack"},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        struct rlimit limit;
        if (getrlimit(limits[i].resource, &limit) == 0)
            printf("rlimit %s %llu %llu\n", limits[i].name, (unsigned long long)limit.rlim_cur,
                   (unsigned long long)limit.rlim_max);
    }
    print_descriptors();
    return 0;
}

static int signal_named(const char *name) {
    static const struct { const char *name; int number; } names[] = {
        {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"PIPE", SIGPIPE}, {"TERM", SIGTERM},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"ALRM", SIGALRM}, {"CHLD", SIGCHLD}, {"TSTP", SIGTSTP},
        {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"WINCH", SIGWINCH},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i].name)) return names[i].number;
    if (!strncmp(name, "RTMIN+", 6)) return SIGRTMIN + atoi(name + 6);
    if (isdigit((unsigned char)name[0])) return atoi(name);  // 32 and 33: glibc's own, by number
    fprintf(stderr, "launchstate: unknown signal %s\n", name);
    exit(2);
}

static void each_signal(char *list, void (*apply)(int)) {
    for (char *name = strtok(list, ","); name; name = strtok(NULL, ",")) apply(signal_named(name));
}

static sigset_t blocked;
static void block(int signal) { sigaddset(&blocked, signal); }
// The kernel's call: glibc's sigaction refuses its internal signals 32 and 33, which a parent may still leave
// ignored.
struct kernel_sigaction { void (*handler)(int); unsigned long flags; void (*restorer)(void); unsigned long mask; };
static void set_disposition(int signal, void (*handler)(int)) {
    struct kernel_sigaction action = {handler, 0, 0, 0};
    if (signal != SIGKILL && signal != SIGSTOP) syscall(SYS_rt_sigaction, signal, &action, NULL, sizeof action.mask);
}
static void ignore(int signal) { set_disposition(signal, SIG_IGN); }

static char *unhex(const char *hex) {
    size_t length = strlen(hex) / 2;
    char *bytes = malloc(length + 1);
    for (size_t i = 0; i < length; i++) sscanf(hex + 2 * i, "%2hhx", (unsigned char *)&bytes[i]);
    bytes[length] = 0;
    return bytes;
}

int main(int argc, char **argv) {
    int separator = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--")) { separator = i; break; }
    if (!separator) return print_state(argc, argv);

    sigemptyset(&blocked);
    // Every disposition at its default, glibc's internal 32 and 33 too (its sigaction refuses them; a test
    // runner's spawn may leave them ignored): the kernel's call, with the kernel's struct.
    for (int signal = 1; signal <= 64; signal++) set_disposition(signal, SIG_DFL);
    char **environment = calloc((size_t)argc + 1, sizeof *environment);
    int environment_count = 0;
    for (int i = 1; i < separator; i++) {
        const char *option = argv[i];
        const char *value = i + 1 < separator ? argv[++i] : NULL;
        if (!value) { fprintf(stderr, "launchstate: %s needs a value\n", option); return 2; }
        if (!strcmp(option, "--block")) each_signal(strdup(value), block);
        else if (!strcmp(option, "--ignore")) each_signal(strdup(value), ignore);
        else if (!strcmp(option, "--env")) environment[environment_count++] = unhex(value);
        else if (!strcmp(option, "--umask")) umask((mode_t)strtol(value, NULL, 8));
        else if (!strcmp(option, "--nofile")) {
            struct rlimit limit;
            getrlimit(RLIMIT_NOFILE, &limit);
            limit.rlim_cur = strtoull(value, NULL, 10);
            setrlimit(RLIMIT_NOFILE, &limit);
        } else { fprintf(stderr, "launchstate: unknown option %s\n", option); return 2; }
    }
    // Only the three standard descriptors, as a terminal's shell has: a test runner's own (Foundation's
    // Process leaves some to every child, different ones in each) must not make two starts differ.
    for (int fd = 3; fd < 1024; fd++) close(fd);
    sigprocmask(SIG_SETMASK, &blocked, NULL);
    if (environment_count) environ = environment;
    int count = argc - separator - 1;
    if (count < 1) { fprintf(stderr, "launchstate: no command after --\n"); return 2; }
    char **command = calloc((size_t)count + 1, sizeof *command);
    for (int i = 0; i < count; i++) command[i] = unhex(argv[separator + 1 + i]);
    execvp(command[0], command);
    fprintf(stderr, "launchstate: %s: %s\n", command[0], strerror(errno));
    return errno == ENOENT ? 127 : 126;
}
