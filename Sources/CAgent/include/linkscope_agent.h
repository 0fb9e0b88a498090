// The shared-memory protocol between linkscope and its in-process agent (Agent/agent.c): one home for the
// layout, included by the agent's C and imported by Swift (the InProcess module). Everything here is plain
// fixed-size C so both sides agree byte for byte; the agent is built from Agent/ by the system C compiler.
#ifndef LINKSCOPE_AGENT_H
#define LINKSCOPE_AGENT_H

#include <stdint.h>

#define LS_MAGIC 0x4c534147u /* "LSAG" */
#define LS_VERSION 1u

// Sizes of the shared file (a memfd both sides map): the control block, then LS_MAX_RINGS rings.
#define LS_CONTROL_BYTES (256u * 1024u)
#define LS_RING_HEADER_BYTES 256u
#define LS_RING_DATA_BYTES (1024u * 1024u)
#define LS_RING_BYTES (LS_RING_HEADER_BYTES + LS_RING_DATA_BYTES)
#define LS_MAX_RINGS 512u

// Capture kinds of one argument (a plan computed in Swift from the prototype; the agent only follows it).
#define LS_CAP_NONE 0u
#define LS_CAP_CSTRING 1u   /* bytes up to and including the NUL, at most `bytes` */
#define LS_CAP_BYTES 2u     /* exactly `bytes` bytes (fewer when the memory ends) */
#define LS_CAP_BYTES_ARG 3u /* `bytes` x the value of integer argument `arg` bytes, at most LS_MAX_CAPTURE */
#define LS_CAP_FORMAT 4u    /* a printf format (at most `bytes`) and the %s strings it consumes */
#define LS_CAP_POINTER_STRING 5u /* the pointer stored at the address, and the string it points to (char **) */
#define LS_MAX_CAPTURE 4096u
#define LS_MAX_PARAMS 6u     /* integer-register arguments with a plan */

// Binding flags.
#define LS_BIND_REPORTED 1u     /* report entry and return */
#define LS_BIND_NO_RETURN 2u    /* never hijack the return address (exit, longjmp, setjmp, vfork...) */
#define LS_BIND_UNWINDS 4u      /* starts an unwind: put every hijacked return address back first */
#define LS_BIND_VECTORS_IN 8u   /* record xmm0-7 at entry */
#define LS_BIND_VECTORS_OUT 16u /* record xmm0 at return */
#define LS_BIND_VFORK 32u       /* vfork: until the parent runs again, calls are the child's (not reported) */
#define LS_BIND_DLOPEN 64u      /* dlopen, dlmopen: once it returns, patch the .plt.got words of what it loaded */

typedef struct {
    uint8_t kind;
    uint8_t arg;      /* LS_CAP_BYTES_ARG: which integer argument holds the count */
    uint8_t at_return; /* captured when the call returns (an out-parameter) */
    uint8_t reserved;
    uint32_t bytes;
} ls_capture;

typedef struct {
    uint32_t flags;
    uint32_t stack_words;  /* words above the return address to record (arguments past the sixth) */
    uint32_t string_bytes; /* LS_CAP_FORMAT, LS_CAP_POINTER_STRING: how much of each string to copy */
    uint32_t reserved;
    ls_capture captures[LS_MAX_PARAMS];
    ls_capture result;     /* what the returned pointer points to (at_return is implied) */
} ls_plan;

#define LS_MAX_FORMAT_STRINGS 16u

// The answer to a symbind request that hooks the call (at the start of the response area).
typedef struct {
    uint32_t binding;     /* linkscope's id for (calling object, symbol) */
    uint32_t reserved;
    ls_plan plan;
} ls_hook;

// A .plt.got slot to hook (calls through a GOT word the loader fills with GLOB_DAT, which never reach
// la_symbind): the agent writes a stub's address into the word once the object is relocated.
typedef struct {
    uint64_t got_offset;  /* file address of the GOT word (add the object's base) */
    uint32_t relro;       /* the word lies in PT_GNU_RELRO: read-only again after the write */
    uint32_t reserved;
    ls_hook hook;
} ls_got_hook;

#define LS_REQUEST_PATH_BYTES 4096u
#define LS_RESPONSE_BYTES (192u * 1024u)

typedef struct {
    uint32_t magic;
    uint32_t version;
    uint32_t ring_count;
    int32_t tracer_pid;
    uint32_t follow_forks;
    uint32_t disabled;          /* set by linkscope: record nothing (e.g. it is going away) */
    uint32_t rings_claimed;     /* atomic: the next never-used ring */
    uint32_t rings_refused;     /* atomic: threads that found no ring (every one in use) */
    uint32_t rings_freed;       /* futex word: linkscope increments it each time it frees a ring */
    uint64_t heartbeat;         /* linkscope increments it while it runs */
    // One request at a time across every process sharing this block (a fork child shares it): the lock word
    // is 0 when free, and its holder's pid is beside it, so a holder that died can be found.
    uint32_t request_lock;
    int32_t request_owner;
    uint32_t request_seq;       /* the agent increments it once the request is written */
    uint32_t response_seq;      /* linkscope sets it to request_seq once the answer is written */
    int32_t request_pid;
    uint64_t request_base;      /* l_addr */
    uint64_t request_map;       /* the link_map (identifies the object while loaded) */
    uint32_t request_kind;      /* LS_REQ_* */
    uint32_t response_count;    /* objopen: 1 when calls from the object may be traced; symbind: 1 = hook */
    uint32_t reserved;
    uint64_t response_padding;  /* objopen: file address of the padding after the object's code, 0 = none */
    uint32_t response_pltgot;   /* objopen: how many .plt.got slots the object has (patched once relocated) */
    uint32_t reserved2;
    uint64_t response_relro_start; /* objopen: file addresses of its PT_GNU_RELRO (end 0: none); a dlopen'd */
    uint64_t response_relro_end;   /* object is relocated once the loader has made that range read-only */
    char request_path[LS_REQUEST_PATH_BYTES];
    uint8_t response[LS_RESPONSE_BYTES];
} ls_control;

#define LS_REQ_OBJOPEN 1u
#define LS_REQ_OBJCLOSE 2u
#define LS_REQ_SYMBIND 5u   /* request_map: caller, request_base: definer (~0 unknown), path: the symbol */
#define LS_REQ_PLTGOT 6u    /* request_map: an object now relocated; the answer: ls_got_hook[response_count] */

typedef struct {
    uint64_t head;     /* bytes written (producer) */
    uint64_t pad0[7];
    uint64_t tail;     /* bytes consumed (linkscope) */
    uint64_t pad1[7];
    uint32_t waiting;  /* futex word: the producer sleeps on it when the ring is full */
    int32_t tid;
    int32_t pid;
    uint32_t state;    /* LS_RING_* */
    uint64_t full_waits; /* times the producer waited for space */
    uint64_t dropped;    /* records not written (linkscope gone) */
    uint32_t generation; /* incremented each time the ring is taken again, once tid and pid are set */
    uint32_t reserved;
} ls_ring_header;

// Ring states. A ring whose thread has ended and whose records linkscope has all read is free again: a new
// thread takes it (free -> taking -> in use), so a run is bounded by the threads alive at once, not by all
// it ever had. Only linkscope frees a ring; only an agent takes one.
#define LS_RING_UNUSED 0u
#define LS_RING_IN_USE 1u
#define LS_RING_FREE 2u
#define LS_RING_TAKING 3u

// Records: 8-byte aligned, `size` includes the header and any capture data.
#define LS_REC_ENTRY 1u
#define LS_REC_RETURN 2u
#define LS_REC_UNWOUND 3u

typedef struct {
    uint32_t size;
    uint16_t type;
    uint16_t captures; /* how many capture blocks follow the fixed part */
    uint32_t binding;
    uint32_t depth;
    uint64_t tsc;
    uint64_t call; /* per-thread call number: entry and return carry the same */
} ls_record;

typedef struct {
    ls_record header;
    uint64_t call_site;   /* the real return address */
    uint64_t stack_pointer;
    uint64_t args[6];
    uint64_t rax;
    uint64_t vectors[8];  /* low 64 bits of xmm0-7 (when the plan asks) */
    // then stack_words words, then capture blocks
} ls_entry_record;

typedef struct {
    ls_record header;
    uint64_t rax;
    uint64_t rdx;
    uint64_t xmm0;
    // then capture blocks
} ls_return_record;

typedef struct {
    uint64_t address;
    uint32_t length;   /* bytes that follow, padded to 8 */
    uint32_t readable; /* 0: the address was not readable */
} ls_capture_block;

static inline uint64_t ls_load_acquire(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline uint32_t ls_load_acquire32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void ls_store_release(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void ls_store_release32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline uint32_t ls_exchange32(uint32_t *p, uint32_t v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }

void ls_futex_wait(uint32_t *word, uint32_t value, long nanoseconds);
void ls_futex_wake(uint32_t *word);
int ls_memfd(const char *name);

// Fields Swift does not import (arrays this large), and the futex calls, for linkscope's side.
static inline uint8_t *ls_response(ls_control *c) { return c->response; }
static inline char *ls_request_path(ls_control *c) { return c->request_path; }

static inline uint64_t ls_rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

#endif
