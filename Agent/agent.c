// linkscope's in-process trace agent: an rtld-audit module (LD_AUDIT) loaded into a program that
// `linkscope trace --engine inproc` launches. It runs inside someone else's process, so it is C with an
// assembly file for the stubs, not Swift: no runtime to load, no allocator or lock shared with the program,
// and nothing on the hot path but stores into shared memory (no libc call, no lock, no allocation, no vector
// register: built -mgeneral-regs-only). Every decision — which calls to hook, what bytes to copy — is
// linkscope's, answered over the control block of the shared memfd (linkscope_agent.h); the agent follows.
//
// Binding: the loader calls la_symbind64 for every PLT binding (lazy and -z now alike, dlopen'd objects too,
// IFUNCs already resolved); for a hooked one we return a stub of ours, which records the entry, replaces the
// return address with a return site inside the calling object (so dlsym(RTLD_NEXT) still sees its caller),
// keeps the real one on a per-thread shadow stack, and jumps to the function. The return site records the
// result and returns to the real address.
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <asm/unistd.h>
#include "linkscope_agent.h"

#define HIDDEN __attribute__((visibility("hidden")))
#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

// ---- raw system calls (no libc: errno, cancellation points and locks stay the program's) ----

static inline long sys6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

static void *sys_mmap(size_t length, int prot) {
    long p = sys6(__NR_mmap, 0, (long)length, prot, 0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */, -1, 0);
    return (p < 0 && p > -4096) ? 0 : (void *)p;
}

static int gettid_raw(void) { return (int)sys3(__NR_gettid, 0, 0, 0); }

static void futex_wait(uint32_t *word, uint32_t value, long nanoseconds) {
    struct { long sec, nsec; } timeout = { nanoseconds / 1000000000L, nanoseconds % 1000000000L };
    sys6(__NR_futex, (long)word, FUTEX_WAIT, value, (long)&timeout, 0, 0);
}

static void futex_wake(uint32_t *word) { sys6(__NR_futex, (long)word, FUTEX_WAKE, 1 << 30, 0, 0, 0); }

static void copy_bytes(void *to, const void *from, size_t n) {
    unsigned char *d = to;
    const unsigned char *s = from;
    while (n--) *d++ = *s++;
}

static size_t string_length(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static int has_prefix(const char *s, const char *prefix) {
    while (*prefix) if (*s++ != *prefix++) return 0;
    return 1;
}

// ---- state ----

typedef struct binding {
    uint64_t target;      // the function the slot binds
    uint64_t return_site; // where hijacked returns go (inside the calling object when it has room)
    uint32_t id;
    uint32_t entry_bound;  // the most bytes an entry / a return record of this binding takes (from its plan)
    uint32_t return_bound;
    ls_plan plan;
} binding;

typedef struct {
    uint64_t slot;        // where the return address lives on the stack
    uint64_t site;        // what we wrote there (our return site)
    uint64_t real_return;
    uint64_t call;
    binding *bound;
    uint64_t args[6];     // for out-parameters captured at return
} frame;

typedef struct {
    ls_ring_header *ring;
    uint8_t *data;
    frame *frames;
    uint32_t depth, capacity;
    uint64_t calls;
    int32_t tid;
    int32_t quiet;        // this thread records nothing (a fork child without -f, no ring left, linkscope gone)
    int32_t vforked;      // it called vfork: the child borrows this thread (and this state) until it execs or exits
    int32_t vfork_child;  // -f: the vfork child recording into a ring of its own (0: none)
    ls_ring_header *parent_ring;  // the ring the parent gets back when it runs again
} thread_state;

// Initial-exec TLS: the static TLS block glibc reserves for audit modules, read at a fixed %fs offset.
// The general-dynamic model would call __tls_get_addr, whose first use in a thread allocates the block with
// malloc — the program's, when its executable makes malloc canonical — and a hooked malloc would recurse.
static __thread thread_state self __attribute__((tls_model("initial-exec")));

static ls_control *control;
static uint8_t *rings_base;
static int agent_ready;
static int process_quiet;  // the whole process records nothing (fork child without -f)
static int32_t process_pid;
static int objects_seen;
static uint64_t heartbeat_seen, heartbeat_checked_at;
static int started;               // la_preinit has run: objects opened from now on are dlopen'd
static uint32_t pending_patches;  // dlopen'd objects whose .plt.got words wait for their relocation
static void patch_relocated(int now);

HIDDEN extern char ls_entry_common[];
HIDDEN extern char ls_return_common[];

// glibc's struct pthread keeps the kernel thread id at this offset from the thread pointer (x86-64,
// glibc 2.26 through 2.40): a fork child's threads have new ids there, so a copied ring is never reused.
#define TID_OFFSET 0x2d0
static inline int32_t current_tid(void) {
    int32_t tid;
    __asm__("movl %%fs:%c1, %0" : "=r"(tid) : "i"(TID_OFFSET));
    return tid;
}

// ---- readable memory: a cache of /proc/self/maps, so a bad pointer argument is a value, never a fault ----

#define MAX_RANGES 8192
static struct { uint64_t start, end; } ranges[2][MAX_RANGES];
static uint32_t range_count[2];
static uint32_t range_generation;  // odd while a refresh writes
static uint32_t range_active;
static uint32_t refresh_lock;

static int parse_hex(const char **p, uint64_t *out) {
    uint64_t v = 0;
    int any = 0;
    for (;; (*p)++) {
        char c = **p;
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0) break;
        v = v * 16 + (uint64_t)d;
        any = 1;
    }
    *out = v;
    return any;
}

// Calls `each` with every mapping of /proc/self/maps (start, end, its permissions "rwxp"), read through
// `buffer`, until `each` returns nonzero.
typedef int (*maps_line)(uint64_t start, uint64_t end, const char *permissions, void *context);
static void scan_maps(char *buffer, size_t size, maps_line each, void *context) {
    long fd = sys3(__NR_open, "/proc/self/maps", 0 /* O_RDONLY */, 0);
    if (fd < 0) return;
    char line[512];
    size_t used = 0;
    long n;
    int stop = 0;
    while (!stop && (n = sys3(__NR_read, fd, buffer, size)) > 0) {
        for (long i = 0; i < n && !stop; i++) {
            char c = buffer[i];
            if (c != '\n') { if (used < sizeof line - 1) line[used++] = c; continue; }
            line[used] = 0;
            used = 0;
            const char *p = line;
            uint64_t start, end;
            if (!parse_hex(&p, &start) || *p++ != '-' || !parse_hex(&p, &end) || *p++ != ' ') continue;
            stop = each(start, end, p, context);
        }
    }
    sys3(__NR_close, fd, 0, 0);
}

typedef struct { uint32_t table, count; } range_fill;

static int add_readable(uint64_t start, uint64_t end, const char *permissions, void *context) {
    range_fill *fill = context;
    uint32_t count = fill->count;
    if (*permissions != 'r' || count >= MAX_RANGES) return 0;
    if (count > 0 && ranges[fill->table][count - 1].end == start) ranges[fill->table][count - 1].end = end;
    else { ranges[fill->table][count].start = start; ranges[fill->table][count].end = end; fill->count = count + 1; }
    return 0;
}

static void refresh_ranges(void) {
    if (__atomic_exchange_n(&refresh_lock, 1, __ATOMIC_ACQUIRE)) return;  // another thread refreshes
    static char buffer[8192];
    range_fill fill = { range_active ^ 1, 0 };
    scan_maps(buffer, sizeof buffer, add_readable, &fill);
    __atomic_add_fetch(&range_generation, 1, __ATOMIC_RELEASE);
    range_count[fill.table] = fill.count;
    __atomic_store_n(&range_active, fill.table, __ATOMIC_RELEASE);
    __atomic_add_fetch(&range_generation, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&refresh_lock, 0, __ATOMIC_RELEASE);
}

// How many bytes from `address` (at most `want`) lie in readable memory.
static uint64_t lookup_readable(uint64_t address, uint64_t want) {
    for (int attempt = 0; attempt < 4; attempt++) {
        uint32_t generation = __atomic_load_n(&range_generation, __ATOMIC_ACQUIRE);
        uint32_t active = __atomic_load_n(&range_active, __ATOMIC_ACQUIRE);
        uint32_t lo = 0, hi = range_count[active];
        uint64_t found = 0;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (ranges[active][mid].end <= address) lo = mid + 1;
            else if (ranges[active][mid].start > address) hi = mid;
            else {
                uint64_t room = ranges[active][mid].end - address;
                found = room < want ? room : want;
                break;
            }
        }
        if ((generation & 1) == 0 && __atomic_load_n(&range_generation, __ATOMIC_ACQUIRE) == generation)
            return found;
    }
    return 0;
}

static uint64_t readable(uint64_t address, uint64_t want) {
    if (address < 4096 || want == 0) return 0;
    uint64_t n = lookup_readable(address, want);
    if (n == 0) {  // a mapping made since the last look (heap growth, mmap): look again, once
        refresh_ranges();
        n = lookup_readable(address, want);
    }
    return n;
}

// ---- the control channel: one request at a time, answered by linkscope ----

// Whether linkscope's process is gone or a zombie (killed, not yet reaped): its /proc/PID/stat state.
static int tracer_dead(int32_t pid) {
    if (sys3(__NR_kill, pid, 0, 0) == -3 /* ESRCH */) return 1;
    char path[32] = "/proc/", digits[12];
    int n = 0, at = 6;
    for (int32_t v = pid; v > 0 && n < 11; v /= 10) digits[n++] = (char)('0' + v % 10);
    while (n > 0) path[at++] = digits[--n];
    const char *tail = "/stat";
    while (*tail) path[at++] = *tail++;
    path[at] = 0;
    long fd = sys3(__NR_open, path, 0, 0);
    if (fd < 0) return 1;
    char text[512];
    long got = sys3(__NR_read, fd, text, sizeof text - 1);
    sys3(__NR_close, fd, 0, 0);
    if (got <= 0) return 1;
    for (long i = got - 1; i > 0; i--) {
        if (text[i] == ')') return i + 2 < got && (text[i + 2] == 'Z' || text[i + 2] == 'X');
    }
    return 0;
}

// linkscope beats the heartbeat every few milliseconds while it runs; after a second of silence the agent
// looks whether it is still there. Once it is gone the agent records nothing more and the program runs on.
static int tracer_alive(void) {
    if (__atomic_load_n(&control->disabled, __ATOMIC_ACQUIRE)) return 0;
    uint64_t beat = __atomic_load_n(&control->heartbeat, __ATOMIC_ACQUIRE);
    uint64_t now = ls_rdtsc();
    if (beat != heartbeat_seen) { heartbeat_seen = beat; heartbeat_checked_at = now; return 1; }
    if (now - heartbeat_checked_at < 1000000000ull) return 1;
    if (tracer_dead(control->tracer_pid)) {
        __atomic_store_n(&control->disabled, 1, __ATOMIC_RELEASE);
        return 0;
    }
    heartbeat_checked_at = now;
    return 1;
}

// The request lock lives in the shared block: threads of this process and of its fork children take turns.
static void lock_requests(void) {
    uint64_t since = ls_rdtsc();
    for (;;) {
        uint32_t free = 0;
        if (__atomic_compare_exchange_n(&control->request_lock, &free, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            control->request_owner = process_pid;
            return;
        }
        futex_wait(&control->request_lock, 1, 10000000);
        // A holder that died mid-request (a child killed) would hold it forever: take it over.
        int32_t owner = control->request_owner;
        if (ls_rdtsc() - since > 1000000000ull && owner > 0 && sys3(__NR_kill, owner, 0, 0) == -3 /* ESRCH */) {
            __atomic_store_n(&control->request_lock, 0, __ATOMIC_RELEASE);
            since = ls_rdtsc();
        }
    }
}

static void unlock_requests(void) {
    control->request_owner = 0;
    __atomic_store_n(&control->request_lock, 0, __ATOMIC_RELEASE);
    futex_wake(&control->request_lock);
}

// Whether this process is a fork child that has not noticed yet (a lazy binding or a dlopen can come before
// its first traced call): without -f it goes quiet and asks nothing.
static int process_is_quiet(void) {
    if (process_quiet) return 1;
    int32_t pid = (int32_t)sys3(__NR_getpid, 0, 0, 0);
    // A vfork child runs in its parent's memory and binds for it (the GOT is the parent's): it asks as the
    // parent, changes nothing here, and its own calls are not reported (in_vfork_child).
    if (pid != process_pid && self.vforked) return 0;
    if (pid != process_pid) {
        process_pid = pid;
        if (!control->follow_forks) process_quiet = 1;
    }
    return process_quiet;
}

// Sends the request already written into the control block and waits for the answer. 0 when linkscope is gone.
static int transact(void) {
    uint32_t seq = control->request_seq + 1;
    __atomic_store_n(&control->request_seq, seq, __ATOMIC_RELEASE);
    futex_wake(&control->request_seq);
    while (__atomic_load_n(&control->response_seq, __ATOMIC_ACQUIRE) != seq) {
        if (!tracer_alive()) return 0;
        futex_wait(&control->response_seq, __atomic_load_n(&control->response_seq, __ATOMIC_ACQUIRE), 20000000);
    }
    return 1;
}

static void set_request_path(const char *path) {
    size_t n = path ? string_length(path) : 0;
    if (n >= LS_REQUEST_PATH_BYTES) n = LS_REQUEST_PATH_BYTES - 1;
    copy_bytes(control->request_path, path ? path : "", n);
    control->request_path[n] = 0;
}

// ---- rings ----

// A ring of its own for thread `tid` of process `pid`; 0 when every ring is taken (counted by linkscope).
static ls_ring_header *new_ring(int32_t tid, int32_t pid) {
    ls_ring_header *ring = 0;
    uint32_t index = __atomic_load_n(&control->rings_claimed, __ATOMIC_ACQUIRE);
    if (index < control->ring_count) index = __atomic_fetch_add(&control->rings_claimed, 1, __ATOMIC_ACQ_REL);
    if (index < control->ring_count) {
        ring = (ls_ring_header *)(rings_base + (uint64_t)index * LS_RING_BYTES);
    } else {
        // Every ring has been used once: take one whose thread has ended and been drained. linkscope frees
        // a ring when it sees its thread end, which may be a moment after a new thread starts: wake it and
        // give it up to ~100 ms.
        for (int attempt = 0; attempt < 20 && !ring; attempt++) {
            uint32_t freed = __atomic_load_n(&control->rings_freed, __ATOMIC_ACQUIRE);
            for (uint32_t i = 0; i < control->ring_count && !ring; i++) {
                ls_ring_header *candidate = (ls_ring_header *)(rings_base + (uint64_t)i * LS_RING_BYTES);
                uint32_t expected = LS_RING_FREE;
                if (__atomic_compare_exchange_n(&candidate->state, &expected, LS_RING_TAKING, 0, __ATOMIC_ACQ_REL,
                                                __ATOMIC_RELAXED))
                    ring = candidate;
            }
            if (ring || !tracer_alive()) break;
            futex_wake(&control->request_seq);  // linkscope sleeps on it when idle
            futex_wait(&control->rings_freed, freed, 5000000);
        }
        if (!ring) {
            __atomic_add_fetch(&control->rings_refused, 1, __ATOMIC_ACQ_REL);
            return 0;
        }
    }
    ring->tid = tid;
    ring->pid = pid;
    __atomic_add_fetch(&ring->generation, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&ring->state, LS_RING_IN_USE, __ATOMIC_RELEASE);
    return ring;
}

static void claim_ring(void) {
    self.quiet = 1;
    self.ring = 0;
    int32_t tid = gettid_raw();
    self.tid = current_tid();
    if (!agent_ready || tid != self.tid) return;  // not the glibc layout we know: record nothing
    int32_t pid = (int32_t)sys3(__NR_getpid, 0, 0, 0);
    if (pid != process_pid) {
        // A fork child (its threads have new ids): it records into rings of its own with -f, else nothing.
        // Its shadow stack is the parent's copy, and its stack holds the same return addresses: keep both.
        process_pid = pid;
        if (!control->follow_forks) process_quiet = 1;
    }
    if (process_quiet) return;
    ls_ring_header *ring = new_ring(tid, process_pid);
    if (!ring) return;
    self.ring = ring;
    self.data = (uint8_t *)ring + LS_RING_HEADER_BYTES;
    if (!self.frames) {
        self.capacity = 4096;
        self.frames = sys_mmap(sizeof(frame) * self.capacity, 3);
        if (!self.frames) return;
    }
    self.quiet = 0;
}

static int grow_frames(void) {
    uint32_t capacity = self.capacity * 2;
    frame *bigger = sys_mmap(sizeof(frame) * capacity, 3);
    if (!bigger) return 0;
    copy_bytes(bigger, self.frames, sizeof(frame) * self.depth);
    sys3(__NR_munmap, self.frames, sizeof(frame) * self.capacity, 0);
    self.frames = bigger;
    self.capacity = capacity;
    return 1;
}

// Room for `size` bytes at the ring's head (contiguous: a filler record skips the end of the buffer).
static uint8_t *reserve(uint32_t size) {
    ls_ring_header *ring = self.ring;
    uint64_t length = LS_RING_DATA_BYTES;
    uint64_t head = ring->head;
    uint64_t offset = head % length;
    uint64_t need = size + ((offset + size > length) ? length - offset : 0);
    while (head + need - __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) > length) {
        __atomic_store_n(&ring->waiting, 1, __ATOMIC_SEQ_CST);
        if (head + need - __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) <= length) break;
        ring->full_waits++;
        futex_wait(&ring->waiting, 1, 50000000);
        if (!tracer_alive()) { self.quiet = 1; ring->dropped++; return 0; }
    }
    if (offset + size > length) {
        ls_record *filler = (ls_record *)(self.data + offset);
        filler->size = (uint32_t)(length - offset);
        filler->type = 0;
        head += length - offset;
        offset = 0;
    }
    __atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
    return self.data + offset;
}

static void commit(uint32_t size) {
    __atomic_store_n(&self.ring->head, self.ring->head + size, __ATOMIC_RELEASE);
}

// One capture block at `out`; returns the bytes it takes.
static uint32_t capture(uint8_t *out, uint64_t address, const ls_capture *how, const uint64_t *args) {
    ls_capture_block *block = (ls_capture_block *)out;
    uint8_t *bytes = out + sizeof *block;
    uint64_t want = how->bytes;
    if (how->kind == LS_CAP_BYTES_ARG) {
        uint64_t count = how->arg < 6 ? args[how->arg] : 0;
        want = count > LS_MAX_CAPTURE / (how->bytes ? how->bytes : 1) ? LS_MAX_CAPTURE : count * how->bytes;
    }
    if (want > LS_MAX_CAPTURE) want = LS_MAX_CAPTURE;
    uint64_t room = readable(address, want);
    uint32_t length = 0;
    if (how->kind == LS_CAP_CSTRING || how->kind == LS_CAP_FORMAT) {
        const uint8_t *s = (const uint8_t *)address;
        while (length < room) {
            bytes[length] = s[length];
            if (s[length++] == 0) break;
        }
    } else {
        copy_bytes(bytes, (const void *)address, room);
        length = (uint32_t)room;
    }
    block->address = address;
    block->length = length;
    block->readable = room > 0;
    return (uint32_t)(sizeof *block + ((length + 7) & ~7u));
}

// LS_CAP_POINTER_STRING: two blocks, the pointer word and the string it points to.
static uint32_t capture_pointer_string(uint8_t *out, uint64_t address, const ls_plan *plan, uint16_t *captures) {
    ls_capture word = { LS_CAP_BYTES, 0, 0, 0, 8 };
    ls_capture text = { LS_CAP_CSTRING, 0, 0, 0, plan->string_bytes };
    uint32_t size = capture(out, address, &word, 0);
    (*captures)++;
    ls_capture_block *block = (ls_capture_block *)out;
    if (block->length == 8) {
        uint64_t pointer;
        copy_bytes(&pointer, out + sizeof *block, 8);
        size += capture(out + size, pointer, &text, 0);
        (*captures)++;
    }
    return size;
}

static uint32_t capture_bound(const ls_plan *plan, int at_return) {
    uint32_t total = 0;
    if (at_return && plan->result.kind != LS_CAP_NONE) total += sizeof(ls_capture_block) + LS_MAX_CAPTURE + 8;
    for (unsigned i = 0; i < LS_MAX_PARAMS; i++) {
        const ls_capture *c = &plan->captures[i];
        if (c->kind == LS_CAP_NONE || c->at_return != at_return) continue;
        total += sizeof(ls_capture_block) + LS_MAX_CAPTURE + 8;
        if (c->kind == LS_CAP_FORMAT)
            total += LS_MAX_FORMAT_STRINGS * (sizeof(ls_capture_block) + plan->string_bytes + 8);
        if (c->kind == LS_CAP_POINTER_STRING) total += sizeof(ls_capture_block) + plan->string_bytes + 8;
    }
    return total;
}

// The strings a printf format's %s conversions consume, copied so the decoder can show them: integer
// arguments after the format come from the registers left, then from the stack words recorded.
static uint32_t capture_format_strings(uint8_t *out, const uint8_t *format, uint32_t length, unsigned next,
                                       const uint64_t *args, const uint64_t *stack, uint32_t stack_words,
                                       const ls_plan *plan, uint16_t *captures) {
    uint32_t size = 0, strings = 0;
    ls_capture how = { LS_CAP_CSTRING, 0, 0, 0, plan->string_bytes };
    for (uint32_t i = 0; i < length && format[i]; i++) {
        if (format[i] != '%') continue;
        if (format[++i] == '%') continue;
        int is_string = 0, consumes = 1;
        for (; i < length && format[i]; i++) {
            uint8_t c = format[i];
            if (c == '*') {  // a width or precision argument
                next++;
                continue;
            }
            if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == ' ' || c == '#' || c == '.' || c == '\'' ||
                c == 'h' || c == 'l' || c == 'L' || c == 'q' || c == 'j' || c == 'z' || c == 'Z' || c == 't' || c == 'I')
                continue;
            if (c == 'e' || c == 'E' || c == 'f' || c == 'F' || c == 'g' || c == 'G' || c == 'a' || c == 'A' || c == 'm')
                consumes = 0;  // a vector register (or nothing, for %m)
            is_string = c == 's';
            break;
        }
        if (!consumes) continue;
        uint64_t word;
        if (next < 6) word = args[next];
        else if (next - 6 < stack_words) word = stack[next - 6];
        else break;
        next++;
        if (is_string && strings < LS_MAX_FORMAT_STRINGS) {
            size += capture(out + size, word, &how, args);
            strings++;
            (*captures)++;
        }
    }
    return size;
}

// A binding's plan, with the record sizes it implies worked out once (not on every call).
static void set_plan(binding *b, const ls_plan *plan) {
    b->plan = *plan;
    b->entry_bound = sizeof(ls_entry_record) + plan->stack_words * 8 + capture_bound(plan, 0);
    b->return_bound = sizeof(ls_return_record) + capture_bound(plan, 1);
}

// ---- the hot path ----

typedef struct {
    uint64_t rdi, rsi, rdx, rcx, r8, r9, rax, binding;
    uint64_t xmm[8];
} entry_registers;

static void emit_unwound(const frame *f) {
    if (self.quiet || !(f->bound->plan.flags & LS_BIND_REPORTED)) return;
    ls_record *r = (ls_record *)reserve(sizeof *r);
    if (!r) return;
    r->size = sizeof *r;
    r->type = LS_REC_UNWOUND;
    r->captures = 0;
    r->binding = f->bound->id;
    r->depth = 0;
    r->tsc = ls_rdtsc();
    r->call = f->call;
    commit(sizeof *r);
}

// A thread's first call, or the first after a fork (glibc wrote the child's new id into its thread block).
static inline void check_thread(void) {
    if (UNLIKELY(self.tid != current_tid() || (self.ring == 0 && !self.quiet))) claim_ring();
}

// After vfork, the child runs on the parent's thread (same thread block, same id there): its calls are told
// from the parent's by the process id, asked only while a vfork is outstanding. Without -f they are not
// reported (1); with -f the child records into a ring of its own while the parent, suspended until the
// child execs or exits, lends it the rest of its state; the parent takes its ring back when it runs again.
static int in_vfork_child(void) {
    if (LIKELY(!self.vforked)) return 0;
    int32_t pid = (int32_t)sys3(__NR_getpid, 0, 0, 0);
    if (pid != process_pid) {
        if (!control->follow_forks) return 1;
        if (self.vfork_child != pid) {
            ls_ring_header *ring = new_ring(pid, pid);
            if (!ring) return 1;
            if (!self.vfork_child) self.parent_ring = self.ring;
            self.vfork_child = pid;
            self.ring = ring;
            self.data = (uint8_t *)ring + LS_RING_HEADER_BYTES;
        }
        return 0;
    }
    if (self.vfork_child) {
        self.ring = self.parent_ring;
        self.data = (uint8_t *)self.ring + LS_RING_HEADER_BYTES;
        self.vfork_child = 0;
    }
    self.vforked = 0;
    return 0;
}

// The call returns through our return site: its frame on the shadow stack (a tail call shares the frame it
// came from's slot and real return address).
static void push_frame(binding *b, uint64_t slot, uint64_t real_return, int tail_call, uint64_t call,
                       const uint64_t *args, uint64_t *return_slot) {
    if (UNLIKELY(self.depth == self.capacity) && !grow_frames()) return;
    frame *f = &self.frames[self.depth++];
    f->slot = slot;
    f->real_return = tail_call ? self.frames[self.depth - 2].real_return : real_return;
    f->site = b->return_site;
    if (tail_call) f->site = self.frames[self.depth - 2].site;
    f->call = call;
    f->bound = b;
    for (int i = 0; i < 6; i++) f->args[i] = args[i];
    if (!tail_call) *return_slot = b->return_site;
}

HIDDEN uint64_t ls_enter(entry_registers *regs, binding *b, uint64_t *return_slot) {
    check_thread();
    if (UNLIKELY(__atomic_load_n(&pending_patches, __ATOMIC_RELAXED))) patch_relocated(0);
    if (UNLIKELY(self.quiet) || UNLIKELY(in_vfork_child())) return b->target;
    uint64_t slot = (uint64_t)return_slot;
    uint64_t real_return = *return_slot;
    // A traced function tail-calling another through its PLT leaves our return site in the open frame's slot.
    int tail_call = self.depth > 0 && self.frames[self.depth - 1].slot == slot &&
                    self.frames[self.depth - 1].site == real_return;
    // Frames whose slot the stack has left behind were unwound past (longjmp, a signal handler's exit).
    while (self.depth > 0 && (self.frames[self.depth - 1].slot < slot ||
                              (!tail_call && self.frames[self.depth - 1].slot == slot))) {
        emit_unwound(&self.frames[--self.depth]);
    }
    uint32_t flags = b->plan.flags;
    if (UNLIKELY(flags & LS_BIND_UNWINDS)) {
        // The unwinder walks return addresses: give it the real ones.
        while (self.depth > 0) {
            frame *f = &self.frames[--self.depth];
            *(uint64_t *)f->slot = f->real_return;
            emit_unwound(f);
        }
    }
    if (UNLIKELY(flags & LS_BIND_VFORK)) self.vforked = 1;
    if (UNLIKELY(flags & LS_BIND_DLOPEN) && !(flags & LS_BIND_REPORTED) && !self.quiet) {
        // Not reported, but its return is where what it loaded is relocated: watched like a call.
        push_frame(b, slot, real_return, tail_call, 0, &regs->rdi, return_slot);
        return b->target;
    }
    if (!(flags & LS_BIND_REPORTED) || self.quiet) return b->target;
    uint64_t call = ++self.calls;
    uint32_t words = b->plan.stack_words;
    uint32_t bound = b->entry_bound;
    uint8_t *out = reserve(bound);
    if (!out) return b->target;
    ls_entry_record *r = (ls_entry_record *)out;
    r->header.type = LS_REC_ENTRY;
    r->header.binding = b->id;
    r->header.depth = self.depth;
    r->header.tsc = ls_rdtsc();
    r->header.call = call;
    r->call_site = real_return;
    r->stack_pointer = slot;
    r->args[0] = regs->rdi; r->args[1] = regs->rsi; r->args[2] = regs->rdx;
    r->args[3] = regs->rcx; r->args[4] = regs->r8; r->args[5] = regs->r9;
    r->rax = regs->rax;
    if (flags & LS_BIND_VECTORS_IN) for (int i = 0; i < 8; i++) r->vectors[i] = regs->xmm[i];
    uint32_t size = sizeof *r;
    uint64_t *stack = (uint64_t *)(out + size);
    uint64_t stack_room = readable(slot + 8, (uint64_t)words * 8) / 8;
    for (uint32_t i = 0; i < words; i++) stack[i] = i < stack_room ? ((uint64_t *)(slot + 8))[i] : 0;
    size += words * 8;
    uint16_t captures = 0;
    for (unsigned i = 0; i < LS_MAX_PARAMS; i++) {
        const ls_capture *c = &b->plan.captures[i];
        if (c->kind == LS_CAP_NONE || c->at_return) continue;
        if (c->kind == LS_CAP_POINTER_STRING) {
            size += capture_pointer_string(out + size, r->args[i], &b->plan, &captures);
            continue;
        }
        uint32_t taken = capture(out + size, r->args[i], c, r->args);
        captures++;
        if (c->kind == LS_CAP_FORMAT) {
            ls_capture_block *block = (ls_capture_block *)(out + size);
            size += taken;
            size += capture_format_strings(out + size, out + (size - taken) + sizeof *block, block->length, i + 1,
                                           r->args, stack, words, &b->plan, &captures);
        } else {
            size += taken;
        }
    }
    r->header.captures = captures;
    r->header.size = size;
    commit(size);
    if (flags & LS_BIND_NO_RETURN) return b->target;
    push_frame(b, slot, real_return, tail_call, call, r->args, return_slot);
    return b->target;
}

typedef struct {
    uint64_t xmm0, pad, rdx, rax, return_address;
} return_registers;

HIDDEN uint64_t ls_exit(return_registers *regs, uint64_t stack_pointer) {
    check_thread();
    int borrowed = UNLIKELY(self.vforked) && in_vfork_child();  // a vfork child's return, not reported
    int opened = 0;
    uint64_t slot = stack_pointer - 8;
    uint64_t real_return = 0;
    // The frame returning through this slot, with the frames that tail-called into it; frames inside it
    // that never returned were unwound past.
    while (self.depth > 0 && self.frames[self.depth - 1].slot < slot) emit_unwound(&self.frames[--self.depth]);
    while (self.depth > 0 && self.frames[self.depth - 1].slot == slot) {
        frame *f = &self.frames[--self.depth];
        real_return = f->real_return;
        binding *b = f->bound;
        if (UNLIKELY(b->plan.flags & LS_BIND_DLOPEN)) opened = 1;
        if (self.quiet || borrowed || !(b->plan.flags & LS_BIND_REPORTED)) continue;
        uint32_t bound = b->return_bound;
        uint8_t *out = reserve(bound);
        if (!out) continue;
        ls_return_record *r = (ls_return_record *)out;
        r->header.type = LS_REC_RETURN;
        r->header.binding = b->id;
        r->header.depth = self.depth;
        r->header.tsc = ls_rdtsc();
        r->header.call = f->call;
        r->rax = regs->rax;
        r->rdx = regs->rdx;
        r->xmm0 = regs->xmm0;
        uint32_t size = sizeof *r;
        uint16_t captures = 0;
        for (unsigned i = 0; i < LS_MAX_PARAMS; i++) {
            const ls_capture *c = &b->plan.captures[i];
            if (c->kind == LS_CAP_NONE || !c->at_return) continue;
            if (c->kind == LS_CAP_POINTER_STRING) {
                size += capture_pointer_string(out + size, f->args[i], &b->plan, &captures);
                continue;
            }
            size += capture(out + size, f->args[i], c, f->args);
            captures++;
        }
        if (b->plan.result.kind != LS_CAP_NONE) {
            size += capture(out + size, regs->rax, &b->plan.result, f->args);
            captures++;
        }
        r->header.captures = captures;
        r->header.size = size;
        commit(size);
    }
    if (UNLIKELY(opened) && __atomic_load_n(&pending_patches, __ATOMIC_RELAXED)) patch_relocated(1);
    if (UNLIKELY(real_return == 0)) {
        // No frame owns this return: nothing sane to return to. Stop the program loudly rather than jump
        // anywhere (never seen; it would be an agent bug).
        sys3(__NR_kill, process_pid, 6 /* SIGABRT */, 0);
        for (;;) sys3(__NR_pause, 0, 0, 0);
    }
    return real_return;
}

// ---- stubs: one per binding, in executable pages of our own ----

// endbr64; movabs $binding, %r11; jmp *0(%rip); .quad ls_entry_common
#define STUB_BYTES 32
static uint8_t *stub_page;
static uint32_t stub_used;

static uint64_t make_stub(binding *b) {
    if (!stub_page || stub_used + STUB_BYTES > 65536) {
        stub_page = sys_mmap(65536, 7 /* RWX: written once here, then only executed */);
        stub_used = 0;
        if (!stub_page) return 0;
    }
    uint8_t *p = stub_page + stub_used;
    stub_used += STUB_BYTES;
    const uint8_t head[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x49, 0xbb };
    copy_bytes(p, head, sizeof head);
    uint64_t value = (uint64_t)b;
    copy_bytes(p + 6, &value, 8);
    const uint8_t jump[] = { 0xff, 0x25, 0, 0, 0, 0 };
    copy_bytes(p + 14, jump, sizeof jump);
    value = (uint64_t)ls_entry_common;
    copy_bytes(p + 20, &value, 8);
    return (uint64_t)p;
}

static binding *new_binding(void) {
    static binding *pool;
    static uint32_t left;
    if (left == 0) {
        pool = sys_mmap(sizeof(binding) * 1024, 3);
        if (!pool) return 0;
        left = 1024;
    }
    left--;
    return pool++;
}

// ---- objects ----

typedef struct {
    struct link_map *map;
    uint64_t return_site;  // 0 until first needed
    uint64_t padding;      // file address of the room after the object's code (0: none)
    uint32_t index;
    uint32_t traced;       // calls from it may be reported (else only unwind starters are bound)
    uint32_t pltgot;       // .plt.got slots to patch once it is relocated
    uint32_t patched;
    uint64_t relro_start, relro_end;  // file addresses of its PT_GNU_RELRO (end 0: none)
    uint32_t awaiting_relocation;     // dlopen'd: patched once the loader has made its RELRO read-only
} object;

static object objects[4096];
static uint32_t object_count;

// The return site of an object: `jmp *0(%rip); .quad ls_return_common` in the padding after its code,
// given to us by linkscope (which read the file's program headers), else our own stub.
static uint64_t return_site_for(object *o) {
    uint64_t padding = o->padding;
    if (o->return_site) return o->return_site;
    o->return_site = (uint64_t)ls_return_common;
    if (padding == 0) return o->return_site;
    uint64_t address = o->map->l_addr + padding;
    uint64_t page = address & ~4095ull;
    uint64_t end = (address + 14 + 4095) & ~4095ull;
    if (sys3(__NR_mprotect, page, end - page, 7) != 0) return o->return_site;
    const uint8_t jump[] = { 0xff, 0x25, 0, 0, 0, 0 };
    copy_bytes((void *)address, jump, sizeof jump);
    uint64_t value = (uint64_t)ls_return_common;
    copy_bytes((void *)(address + 6), &value, 8);
    sys3(__NR_mprotect, page, end - page, 5);
    o->return_site = address;
    return address;
}

EXPORT unsigned int la_version(unsigned int version) { return version >= 1 ? LAV_CURRENT : 0; }

EXPORT unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie) {
    if (!agent_ready || lmid != LM_ID_BASE || object_count >= 4096) return 0;
    object *o = &objects[object_count];
    o->map = map;
    o->index = object_count++;
    o->return_site = 0;
    *cookie = (uintptr_t)o;
    if (process_is_quiet()) return 0;
    lock_requests();
    control->request_kind = LS_REQ_OBJOPEN;
    control->request_pid = process_pid;
    control->request_base = map->l_addr;
    control->request_map = o->index;
    set_request_path(objects_seen++ == 0 ? "" : map->l_name);
    if (transact()) {
        o->traced = control->response_count > 0;
        o->padding = control->response_padding;
        o->pltgot = control->response_pltgot;
        o->relro_start = control->response_relro_start;
        o->relro_end = control->response_relro_end;
    }
    unlock_requests();
    if (started && o->pltgot && o->relro_end > o->relro_start) {
        __atomic_store_n(&o->awaiting_relocation, 1, __ATOMIC_RELEASE);
        __atomic_add_fetch(&pending_patches, 1, __ATOMIC_ACQ_REL);
    }
    return LA_FLG_BINDTO | LA_FLG_BINDFROM;
}

EXPORT unsigned int la_objclose(uintptr_t *cookie) {
    object *o = (object *)*cookie;
    if (o && __atomic_exchange_n(&o->awaiting_relocation, 0, __ATOMIC_ACQ_REL))
        __atomic_sub_fetch(&pending_patches, 1, __ATOMIC_ACQ_REL);
    if (!agent_ready || !o || process_is_quiet()) return 0;
    lock_requests();
    control->request_kind = LS_REQ_OBJCLOSE;
    control->request_pid = process_pid;
    control->request_map = o->index;
    set_request_path("");
    transact();
    unlock_requests();
    return 0;
}

EXPORT uintptr_t la_symbind64(Elf64_Sym *sym, unsigned int index, uintptr_t *from_cookie, uintptr_t *to_cookie,
                       unsigned int *flags, const char *name) {
    (void)index;
    *flags |= LA_SYMB_NOPLTENTER | LA_SYMB_NOPLTEXIT;
    if (!agent_ready || (*flags & LA_SYMB_DLSYM) || process_is_quiet()) return sym->st_value;
    if (UNLIKELY(__atomic_load_n(&pending_patches, __ATOMIC_RELAXED))) patch_relocated(0);
    object *from = (object *)*from_cookie, *to = (object *)*to_cookie;
    if (!from || (!from->traced && !has_prefix(name, "_Unwind_"))) return sym->st_value;
    lock_requests();
    control->request_kind = LS_REQ_SYMBIND;
    control->request_pid = process_pid;
    control->request_map = from->index;
    control->request_base = to ? to->index : ~0ull;
    set_request_path(name);
    uintptr_t result = sym->st_value;
    if (transact() && control->response_count == 1) {
        ls_hook hook;
        copy_bytes(&hook, control->response, sizeof hook);
        binding *b = new_binding();
        if (b) {
            b->target = sym->st_value;
            b->id = hook.binding;
            set_plan(b, &hook.plan);
            b->return_site = return_site_for(from);
            uint64_t stub = make_stub(b);
            if (stub) result = stub;
        }
    }
    unlock_requests();
    return result;
}

// .plt.got calls bind through GOT words the loader filled (GLOB_DAT): hooked by writing a stub's address
// into the word once the object is relocated. Startup objects are relocated when la_preinit runs.
static void patch_pltgot(object *o) {
    if (o->patched || o->pltgot == 0 || process_is_quiet()) return;
    o->patched = 1;
    lock_requests();
    control->request_kind = LS_REQ_PLTGOT;
    control->request_pid = process_pid;
    control->request_map = o->index;
    set_request_path("");
    if (transact()) {
        uint32_t count = control->response_count;
        if (count > LS_RESPONSE_BYTES / sizeof(ls_got_hook)) count = LS_RESPONSE_BYTES / sizeof(ls_got_hook);
        for (uint32_t i = 0; i < count; i++) {
            ls_got_hook hook;
            copy_bytes(&hook, control->response + i * sizeof hook, sizeof hook);
            uint64_t address = o->map->l_addr + hook.got_offset;
            if (readable(address, 8) < 8) continue;
            binding *b = new_binding();
            if (!b) break;
            b->target = *(uint64_t *)address;
            b->id = hook.hook.binding;
            set_plan(b, &hook.hook.plan);
            b->return_site = return_site_for(o);
            uint64_t stub = make_stub(b);
            if (!stub) break;
            uint64_t page = address & ~4095ull;
            if (sys3(__NR_mprotect, page, 4096, 3) != 0) continue;
            *(uint64_t *)address = stub;
            sys3(__NR_mprotect, page, 4096, hook.relro ? 1 : 3);
        }
    }
    unlock_requests();
}

EXPORT void la_preinit(uintptr_t *cookie) {
    (void)cookie;
    if (!agent_ready) return;
    for (uint32_t i = 0; i < object_count; i++) patch_pltgot(&objects[i]);
    started = 1;
}

// A dlopen'd object is reported (la_objopen) before the loader relocates it, and no audit call comes after
// that: its .plt.got and IRELATIVE words are patched at the first traced call or binding, in any thread,
// once its RELRO range is read-only (the loader protects it as the last step of relocating the object):
// when a dlopen called through a PLT returns (`now`), else looked at no more often than every ~0.3 ms while
// an object waits.
static int writable_at(uint64_t start, uint64_t end, const char *permissions, void *context) {
    uint64_t *address = context;
    if (*address < start || *address >= end) return 0;
    *address = permissions[1] == 'w' ? 1 : 0;
    return 1;
}

static void patch_relocated(int now) {
    static uint32_t lock;
    static uint64_t checked_at;
    uint64_t time = ls_rdtsc();
    if ((!now && time - checked_at < 1000000ull) || __atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE)) return;
    checked_at = time;
    char buffer[1024];
    uint32_t count = __atomic_load_n(&object_count, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < count; i++) {
        object *o = &objects[i];
        if (!__atomic_load_n(&o->awaiting_relocation, __ATOMIC_ACQUIRE)) continue;
        uint64_t probe = o->map->l_addr + o->relro_start;
        uint64_t found = probe;
        scan_maps(buffer, sizeof buffer, writable_at, &found);
        if (found != 0) continue;  // still writable (or not mapped yet): not relocated
        if (!__atomic_exchange_n(&o->awaiting_relocation, 0, __ATOMIC_ACQ_REL)) continue;
        __atomic_sub_fetch(&pending_patches, 1, __ATOMIC_ACQ_REL);
        patch_pltgot(o);
    }
    __atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
}

// ---- start-up ----

// Our LD_AUDIT entry: "LD_AUDIT=/proc/self/fd/N" at launch (N and N + 1 are descriptors the program was
// given: the agent and the shared memory), or "LD_AUDIT=/proc/PID/fd/N" after an exec (linkscope, PID, added
// it to the new image's stack: the descriptors are linkscope's own). Returns N, and PID (0 for self).
static long parse_entry(const char *entry, long *pid) {
    const char *p = entry;
    if (!has_prefix(p, "LD_AUDIT=/proc/")) return -1;
    p += 15;
    *pid = 0;
    if (has_prefix(p, "self/")) {
        p += 5;
    } else {
        if (*p < '0' || *p > '9') return -1;
        while (*p >= '0' && *p <= '9') *pid = *pid * 10 + (*p++ - '0');
        if (*p++ != '/') return -1;
    }
    if (!has_prefix(p, "fd/")) return -1;
    p += 3;
    if (*p < '0' || *p > '9') return -1;
    long fd = 0;
    while (*p >= '0' && *p <= '9') fd = fd * 10 + (*p++ - '0');
    return *p == 0 ? fd : -1;
}

// "/proc/PID/fd/N" into `path` (at least 48 bytes).
static void proc_fd_path(char *path, long pid, long fd) {
    const char *head = "/proc/";
    int at = 0;
    while (*head) path[at++] = *head++;
    long values[2] = { pid, fd };
    for (int k = 0; k < 2; k++) {
        char digits[20];
        int n = 0;
        long v = values[k];
        do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v > 0 && n < 19);
        while (n > 0) path[at++] = digits[--n];
        if (k == 0) { const char *mid = "/fd/"; while (*mid) path[at++] = *mid++; }
    }
    path[at] = 0;
}

// Runs when the loader maps us (before the program's libraries): finds the shared memory linkscope left at
// the descriptor after ours (our own, or linkscope's after an exec), closes what was ours, and removes our
// LD_AUDIT entry from the environment so the program sees its own.
__attribute__((constructor)) static void agent_start(int argc, char **argv, char **envp) {
    (void)argc; (void)argv;
    if (!envp) return;
    char **ours = 0;
    long fd = -1, pid = 0;
    for (char **e = envp; *e; e++) {
        long p, n = parse_entry(*e, &p);
        if (n >= 0) { ours = e; fd = n; pid = p; }
    }
    if (!ours) return;
    long shared;
    if (pid == 0) {
        shared = fd + 1;
    } else {
        char path[48];
        proc_fd_path(path, pid, fd + 1);
        shared = sys3(__NR_open, path, 02000002 /* O_RDWR | O_CLOEXEC */, 0);
    }
    void *map = shared < 0 ? (void *)-9L
                           : (void *)sys6(__NR_mmap, 0, LS_CONTROL_BYTES + (long)LS_MAX_RINGS * LS_RING_BYTES,
                                          3, 0x01 /* MAP_SHARED */, shared, 0);
    if (pid == 0) sys3(__NR_close, fd, 0, 0);
    if (shared >= 0) sys3(__NR_close, shared, 0, 0);
    // Drop our entry (the last of ours: after an exec, one the program passed on may come before it) and
    // blank its bytes.
    char *text = *ours;
    size_t length = string_length(text);
    char **e = ours;
    for (; e[1]; e++) e[0] = e[1];
    e[0] = 0;
    for (size_t i = 0; i < length; i++) text[i] = 0;
    if ((long)map < 0 && (long)map > -4096) return;
    control = map;
    if (control->magic != LS_MAGIC || control->version != LS_VERSION) return;
    rings_base = (uint8_t *)map + LS_CONTROL_BYTES;
    process_pid = (int32_t)sys3(__NR_getpid, 0, 0, 0);
    refresh_ranges();
    agent_ready = 1;
}
