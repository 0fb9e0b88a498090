// What the self-contained release binary needs from C. Why C: an ELF constructor that receives argc and
// argv, a reference bound to an older symbol version (.symver) and the loader's own structures (struct
// dl_find_object) have no Swift spelling.
//
// 1. argv without /proc: a Swift executable linked with -static-stdlib reads CommandLine.arguments from
//    /proc/self/cmdline, which a chroot or a minimal container may not have mounted (linkscope then saw no
//    arguments at all). glibc hands argc and argv to every .init_array function; we keep them.
// 2. glibc 2.34 suffices although it is built on Debian 12's 2.36: scripts/package links with
//    --wrap=hypotf,--wrap=arc4random,--wrap=_dl_find_object, which sends the static libstdc++, libgcc and
//    Swift runtime's calls here; in any other build nothing calls the __wrap_ functions.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "ccompat.h"

static int captured_argc;
static char **captured_argv;

static void capture_arguments(int argc, char **argv, char **envp) {
    (void)envp;
    captured_argc = argc;
    captured_argv = argv;
}

__attribute__((section(".init_array"), used)) static void (*const capture_arguments_entry)(int, char **, char **) =
    capture_arguments;

int linkscope_argc(void) { return captured_argc; }
char *const *linkscope_argv(void) { return captured_argv; }

// hypotf@GLIBC_2.35 is the same function as the original hypotf@GLIBC_2.2.5 (glibc 2.35 only made a
// faster one the default).
__asm__(".symver linkscope_hypotf_2_2_5, hypotf@GLIBC_2.2.5");
float linkscope_hypotf_2_2_5(float x, float y);

float __wrap_hypotf(float x, float y) { return linkscope_hypotf_2_2_5(x, y); }

// arc4random (glibc 2.36, used by libstdc++'s random_device): the kernel's getrandom (glibc 2.25), and
// /dev/urandom where the kernel has no getrandom.
uint32_t __wrap_arc4random(void) {
    uint32_t value;
    for (;;) {
        ssize_t n = getrandom(&value, sizeof value, 0);
        if (n == (ssize_t)sizeof value) return value;
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n;
        do { n = read(fd, &value, sizeof value); } while (n < 0 && errno == EINTR);
        close(fd);
        if (n == (ssize_t)sizeof value) return value;
    }
    abort();  // no source of randomness at all: nothing sensible to return
}

// _dl_find_object (glibc 2.35, libgcc's unwinder): the same answer from dl_iterate_phdr (glibc 2.2.5) —
// the object whose PT_LOAD segments hold `pc`, its bounds and its PT_GNU_EH_FRAME.
struct find_request {
    uintptr_t pc;
    struct dl_find_object *result;
    int found;
};

static int find_visit(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct find_request *request = data;
    uintptr_t low = UINTPTR_MAX, high = 0;
    const ElfW(Phdr) *eh_frame = NULL;
    int inside = 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *phdr = &info->dlpi_phdr[i];
        if (phdr->p_type == PT_LOAD) {
            uintptr_t start = info->dlpi_addr + phdr->p_vaddr, end = start + phdr->p_memsz;
            if (start < low) low = start;
            if (end > high) high = end;
            if (request->pc >= start && request->pc < end) inside = 1;
        } else if (phdr->p_type == PT_GNU_EH_FRAME) {
            eh_frame = phdr;
        }
    }
    if (!inside) return 0;
    request->result->dlfo_flags = 0;
    request->result->dlfo_map_start = (void *)low;
    request->result->dlfo_map_end = (void *)high;
    request->result->dlfo_link_map = NULL;
    request->result->dlfo_eh_frame = eh_frame ? (void *)(info->dlpi_addr + eh_frame->p_vaddr) : NULL;
    request->found = 1;
    return 1;
}

int __wrap__dl_find_object(void *pc, struct dl_find_object *result) {
    struct find_request request = {(uintptr_t)pc, result, 0};
    dl_iterate_phdr(find_visit, &request);
    return request.found ? 0 : -1;
}
