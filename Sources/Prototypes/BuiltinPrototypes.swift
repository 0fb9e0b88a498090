// The prototypes linkscope knows without any config file: the libc functions people trace most, written in
// ltrace.conf syntax (so the one parser serves both) over a few named types whose constants are the real
// Linux x86_64 values (glibc 2.36 headers: fcntl.h, unistd.h, signal.h, dlfcn.h, time.h, locale.h).

enum BuiltinTypes {
    static let openFlags = ValueType.flags(FlagSet(
        accessMask: 3,
        accessModes: NamedConstants([("O_RDONLY", 0), ("O_WRONLY", 1), ("O_RDWR", 2)]),
        flags: NamedConstants([
            ("O_CREAT", 0o100), ("O_EXCL", 0o200), ("O_NOCTTY", 0o400), ("O_TRUNC", 0o1000), ("O_APPEND", 0o2000),
            ("O_NONBLOCK", 0o4000), ("O_DSYNC", 0o10000), ("O_ASYNC", 0o20000), ("O_DIRECT", 0o40000),
            ("O_DIRECTORY", 0o200000), ("O_NOFOLLOW", 0o400000), ("O_NOATIME", 0o1000000),
            ("O_CLOEXEC", 0o2000000), ("O_SYNC", 0o4010000), ("O_PATH", 0o10000000), ("O_TMPFILE", 0o20200000),
        ])), bytes: 4)

    static let signals: [(String, Int64)] = [
        ("SIGHUP", 1), ("SIGINT", 2), ("SIGQUIT", 3), ("SIGILL", 4), ("SIGTRAP", 5), ("SIGABRT", 6), ("SIGBUS", 7),
        ("SIGFPE", 8), ("SIGKILL", 9), ("SIGUSR1", 10), ("SIGSEGV", 11), ("SIGUSR2", 12), ("SIGPIPE", 13),
        ("SIGALRM", 14), ("SIGTERM", 15), ("SIGSTKFLT", 16), ("SIGCHLD", 17), ("SIGCONT", 18), ("SIGSTOP", 19),
        ("SIGTSTP", 20), ("SIGTTIN", 21), ("SIGTTOU", 22), ("SIGURG", 23), ("SIGXCPU", 24), ("SIGXFSZ", 25),
        ("SIGVTALRM", 26), ("SIGPROF", 27), ("SIGWINCH", 28), ("SIGIO", 29), ("SIGPWR", 30), ("SIGSYS", 31),
    ]

    static let typedefs: [String: ValueType] = [
        "oflags": openFlags,
        "signum": .enumeration(NamedConstants(signals), bytes: 4),
        "whence": .enumeration(NamedConstants([("SEEK_SET", 0), ("SEEK_CUR", 1), ("SEEK_END", 2), ("SEEK_DATA", 3), ("SEEK_HOLE", 4)]), bytes: 4),
        "clockid": .enumeration(NamedConstants([
            ("CLOCK_REALTIME", 0), ("CLOCK_MONOTONIC", 1), ("CLOCK_PROCESS_CPUTIME_ID", 2), ("CLOCK_THREAD_CPUTIME_ID", 3),
            ("CLOCK_MONOTONIC_RAW", 4), ("CLOCK_REALTIME_COARSE", 5), ("CLOCK_MONOTONIC_COARSE", 6), ("CLOCK_BOOTTIME", 7),
            ("CLOCK_REALTIME_ALARM", 8), ("CLOCK_BOOTTIME_ALARM", 9), ("CLOCK_TAI", 11),
        ]), bytes: 4),
        "rtld": .flags(FlagSet(accessMask: 3,
                               accessModes: NamedConstants([("RTLD_LAZY", 1), ("RTLD_NOW", 2)]),
                               flags: NamedConstants([("RTLD_NOLOAD", 4), ("RTLD_DEEPBIND", 8), ("RTLD_GLOBAL", 0x100),
                                                      ("RTLD_NODELETE", 0x1000)])), bytes: 4),
        "dlhandle": .enumeration(NamedConstants([("RTLD_DEFAULT", 0), ("RTLD_NEXT", -1)]), bytes: 8),
        "accessmode": .flags(FlagSet(flags: NamedConstants([("R_OK", 4), ("W_OK", 2), ("X_OK", 1)])), bytes: 4),
        "lccategory": .enumeration(NamedConstants([
            ("LC_CTYPE", 0), ("LC_NUMERIC", 1), ("LC_TIME", 2), ("LC_COLLATE", 3), ("LC_MONETARY", 4), ("LC_MESSAGES", 5),
            ("LC_ALL", 6), ("LC_PAPER", 7), ("LC_NAME", 8), ("LC_ADDRESS", 9), ("LC_TELEPHONE", 10),
            ("LC_MEASUREMENT", 11), ("LC_IDENTIFICATION", 12),
        ]), bytes: 4),
        "bufmode": .enumeration(NamedConstants([("_IOFBF", 0), ("_IOLBF", 1), ("_IONBF", 2)]), bytes: 4),
        "sighow": .enumeration(NamedConstants([("SIG_BLOCK", 0), ("SIG_UNBLOCK", 1), ("SIG_SETMASK", 2)]), bytes: 4),
        "timespec": .structure([.long, .long]),
        "timeval": .structure([.long, .long]),
        "in_addr": .structure([.hex(bytes: 4)]),
        "fdpair": .array(.int, .constant(2)),
    ]

    static let text = """
    ; memory
    addr malloc(ulong);
    addr calloc(ulong, ulong);
    addr realloc(addr, ulong);
    addr reallocarray(addr, ulong, ulong);
    void free(addr);
    addr aligned_alloc(ulong, ulong);
    int posix_memalign(+addr*, ulong, ulong);
    addr memalign(ulong, ulong);
    addr valloc(ulong);
    ; strings
    ulong strlen(string);
    ulong strnlen(string[arg2], ulong);
    int strcmp(string, string);
    int strncmp(string[arg3], string[arg3], ulong);
    int strcasecmp(string, string);
    int strncasecmp(string[arg3], string[arg3], ulong);
    int strcoll(string, string);
    addr strcpy(addr, string);
    addr stpcpy(addr, string);
    addr strncpy(addr, string[arg3], ulong);
    addr strcat(addr, string);
    addr strncat(addr, string[arg3], ulong);
    string strchr(string, char);
    string strrchr(string, char);
    string strchrnul(string, char);
    string strstr(string, string);
    string strcasestr(string, string);
    string strpbrk(string, string);
    ulong strspn(string, string);
    ulong strcspn(string, string);
    string strdup(string);
    string strndup(string[arg2], ulong);
    string strtok(string, string);
    string strtok_r(string, string, addr);
    string strsep(addr, string);
    string strerror(int);
    string strsignal(signum);
    long strtol(string, +string*, int);
    ulong strtoul(string, +string*, int);
    long strtoll(string, +string*, int);
    ulong strtoull(string, +string*, int);
    double strtod(string, +string*);
    float strtof(string, +string*);
    int atoi(string);
    long atol(string);
    long atoll(string);
    double atof(string);
    addr memcpy(addr, addr, ulong);
    addr mempcpy(addr, addr, ulong);
    addr memmove(addr, addr, ulong);
    addr memset(addr, char, ulong);
    int memcmp(addr, addr, ulong);
    addr memchr(addr, char, ulong);
    addr memrchr(addr, char, ulong);
    addr rawmemchr(addr, char);
    int tolower(char);
    int toupper(char);
    ; stdio
    int printf(format);
    int fprintf(file, format);
    int dprintf(int, format);
    int sprintf(+string, format);
    int snprintf(+string, ulong, format);
    int __printf_chk(int, format);
    int __fprintf_chk(file, int, format);
    int __sprintf_chk(+string, int, ulong, format);
    int __snprintf_chk(+string, ulong, int, ulong, format);
    int vprintf(string, addr);
    int vfprintf(file, string, addr);
    int vsnprintf(addr, ulong, string, addr);
    int puts(string);
    int fputs(string, file);
    int fputs_unlocked(string, file);
    int putchar(char);
    int fputc(char, file);
    int putc(char, file);
    int fputc_unlocked(char, file);
    int getchar();
    int fgetc(file);
    int getc(file);
    int ungetc(char, file);
    file fopen(string, string);
    file fopen64(string, string);
    file fdopen(int, string);
    file freopen(string, string, file);
    int fclose(file);
    ulong fread(addr, ulong, ulong, file);
    ulong fread_unlocked(addr, ulong, ulong, file);
    ulong fwrite(string[arg3], ulong, ulong, file);
    ulong fwrite_unlocked(string[arg3], ulong, ulong, file);
    string fgets(+string, int, file);
    int fflush(file);
    int fflush_unlocked(file);
    int fileno(file);
    int feof(file);
    int ferror(file);
    int fseek(file, long, whence);
    long ftell(file);
    void rewind(file);
    int setvbuf(file, addr, bufmode, ulong);
    void setbuf(file, addr);
    void perror(string);
    int remove(string);
    int rename(string, string);
    addr popen(string, string);
    int pclose(addr);
    ; files and descriptors
    int open(string, oflags, octal);
    int open64(string, oflags, octal);
    int openat(int, string, oflags, octal);
    int creat(string, octal);
    int close(int);
    long read(int, +string[retval], ulong);
    long write(int, string[arg3], ulong);
    long pread(int, +string[retval], ulong, long);
    long pwrite(int, string[arg3], ulong, long);
    long lseek(int, long, whence);
    int stat(string, addr);
    int fstat(int, addr);
    int lstat(string, addr);
    int fstatat(int, string, addr, int);
    int access(string, accessmode);
    int faccessat(int, string, accessmode, int);
    int unlink(string);
    int unlinkat(int, string, int);
    int mkdir(string, octal);
    int rmdir(string);
    int chdir(string);
    int fchdir(int);
    string getcwd(addr, ulong);
    int chmod(string, octal);
    int fchmod(int, octal);
    octal umask(octal);
    int dup(int);
    int dup2(int, int);
    int pipe(+fdpair*);
    int pipe2(+fdpair*, oflags);
    long readlink(string, +string[retval], ulong);
    int symlink(string, string);
    int link(string, string);
    int isatty(int);
    int ioctl(int, hex(ulong), addr);
    int fcntl(int, int, addr);
    addr opendir(string);
    addr fdopendir(int);
    addr readdir(addr);
    addr readdir64(addr);
    int closedir(addr);
    int dirfd(addr);
    ; environment
    string getenv(string);
    string secure_getenv(string);
    int setenv(string, string, int);
    int unsetenv(string);
    int putenv(string);
    int clearenv();
    ; process
    void exit(int);
    void _exit(int);
    void _Exit(int);
    void abort();
    int atexit(addr);
    int __cxa_atexit(addr, addr, addr);
    void __cxa_finalize(addr);
    int __libc_start_main(addr, int, addr, addr, addr, addr, addr);
    int fork();
    int vfork();
    int getpid();
    int getppid();
    int gettid();
    int getuid();
    int geteuid();
    int getgid();
    int getegid();
    int system(string);
    int execve(string, addr, addr);
    int execv(string, addr);
    int execvp(string, addr);
    int waitpid(int, addr, int);
    int wait(addr);
    uint sleep(uint);
    int usleep(uint);
    int nanosleep(timespec*, +timespec*);
    ; time
    long time(addr);
    int clock_gettime(clockid, +timespec*);
    int clock_getres(clockid, +timespec*);
    int gettimeofday(+timeval*, addr);
    addr localtime(addr);
    addr localtime_r(addr, addr);
    addr gmtime(addr);
    addr gmtime_r(addr, addr);
    long mktime(addr);
    string ctime(addr);
    ulong strftime(+string[retval], ulong, string, addr);
    long clock();
    ; locale, ctype, gettext
    string setlocale(lccategory, string);
    string bindtextdomain(string, string);
    string textdomain(string);
    string gettext(string);
    string dcgettext(string, string, lccategory);
    string __dcgettext(string, string, lccategory);
    string dgettext(string, string);
    string ngettext(string, string, ulong);
    string nl_langinfo(int);
    addr __ctype_b_loc();
    addr __ctype_tolower_loc();
    addr __ctype_toupper_loc();
    ulong __ctype_get_mb_cur_max();
    addr __errno_location();
    ; signals
    addr signal(signum, addr);
    int sigaction(signum, addr, addr);
    int sigprocmask(sighow, addr, addr);
    int raise(signum);
    int kill(int, signum);
    int sigemptyset(addr);
    int sigaddset(addr, signum);
    uint alarm(uint);
    int pause();
    ; dynamic loading
    addr dlopen(string, rtld);
    addr dlsym(dlhandle, string);
    addr dlvsym(dlhandle, string, string);
    int dlclose(addr);
    string dlerror();
    ; threads
    int pthread_create(addr, addr, addr, addr);
    int pthread_join(addr, addr);
    int pthread_detach(addr);
    addr pthread_self();
    int pthread_mutex_lock(addr);
    int pthread_mutex_unlock(addr);
    int pthread_mutex_trylock(addr);
    int pthread_mutex_init(addr, addr);
    int pthread_mutex_destroy(addr);
    int pthread_cond_wait(addr, addr);
    int pthread_cond_signal(addr);
    int pthread_cond_broadcast(addr);
    int pthread_once(addr, addr);
    ; sorting, searching, misc
    void qsort(addr, ulong, ulong, addr);
    addr bsearch(addr, addr, ulong, ulong, addr);
    int rand();
    void srand(uint);
    long random();
    void srandom(uint);
    int abs(int);
    long labs(long);
    double sqrt(double);
    double sin(double);
    double cos(double);
    double pow(double, double);
    double floor(double);
    double ceil(double);
    int inet_aton(string, +in_addr*);
    string inet_ntoa(in_addr);
    int getopt(int, addr, string);
    int getopt_long(int, addr, string, addr, int*);
    int fnmatch(string, string, int);
    string basename(string);
    string __xpg_basename(string);
    int uname(addr);
    int gethostname(+string[arg2], ulong);
    """
}
