// The agent's two hot-path entries (agent.c says why this is C and assembly). Both keep every register the
// ABI gives the traced function or its caller: the argument registers (and %al, the vector count of a
// variadic call) on the way in, the result registers (%rax, %rdx, %xmm0, %xmm1) on the way out. The C they
// call is built -mgeneral-regs-only, so vector registers are read here and never written.
    .text
    .hidden ls_enter
    .hidden ls_exit

// Reached from a binding's stub with %r11 = its binding and (%rsp) = the caller's return address.
    .globl ls_entry_common
    .hidden ls_entry_common
    .type ls_entry_common, @function
ls_entry_common:
    endbr64
    subq $136, %rsp              // 8 words of integer registers + 8 of xmm; keeps %rsp 16-byte aligned
    movq %rdi, 0(%rsp)
    movq %rsi, 8(%rsp)
    movq %rdx, 16(%rsp)
    movq %rcx, 24(%rsp)
    movq %r8, 32(%rsp)
    movq %r9, 40(%rsp)
    movq %rax, 48(%rsp)
    movq %r11, 56(%rsp)
    movq %xmm0, 64(%rsp)
    movq %xmm1, 72(%rsp)
    movq %xmm2, 80(%rsp)
    movq %xmm3, 88(%rsp)
    movq %xmm4, 96(%rsp)
    movq %xmm5, 104(%rsp)
    movq %xmm6, 112(%rsp)
    movq %xmm7, 120(%rsp)
    movq %rsp, %rdi              // entry_registers *
    movq %r11, %rsi              // binding *
    leaq 136(%rsp), %rdx         // the return-address slot
    call ls_enter
    movq %rax, %r11              // the function to run
    movq 0(%rsp), %rdi
    movq 8(%rsp), %rsi
    movq 16(%rsp), %rdx
    movq 24(%rsp), %rcx
    movq 32(%rsp), %r8
    movq 40(%rsp), %r9
    movq 48(%rsp), %rax
    addq $136, %rsp
    jmp *%r11
    .size ls_entry_common, .-ls_entry_common

// Reached by the traced function's `ret` into a hijacked return address: %rsp is one word above the slot.
    .globl ls_return_common
    .hidden ls_return_common
    .type ls_return_common, @function
ls_return_common:
    endbr64
    pushq $0                     // becomes the real return address
    pushq %rax
    pushq %rdx
    subq $16, %rsp               // xmm0 and a pad word: return_registers, 16-byte aligned for the call
    movq %xmm0, 0(%rsp)
    movq %rsp, %rdi              // return_registers *
    leaq 40(%rsp), %rsi          // %rsp as the callee's ret left it
    call ls_exit
    movq %rax, 32(%rsp)
    addq $16, %rsp
    popq %rdx
    popq %rax
    ret
    .size ls_return_common, .-ls_return_common

    .section .note.GNU-stack,"",@progbits
