import TraceModel
import Glibc
import Prototypes

/// A stopped thread's general registers. Everything the engine knows about how x86-64 traps, calls and
/// returns lives in this file: the trap PC of int3, where a call's return address lies, the emulated `jmp
/// *GOT` of a PLT slot and `ret` of r_brk, and which registers carry arguments and results. The rest of the
/// engine speaks of program counters, stack pointers and return slots.
struct Registers {
    var raw: user_regs_struct

    init(_ raw: user_regs_struct) { self.raw = raw }
}

/// The requests whose structures are x86-64's (`user_regs_struct`, `user_fpregs_struct`; other
/// architectures read registers with PTRACE_GETREGSET).
extension PtraceRequest {
    /// PTRACE_GETREGS
    public static let getRegisters = PtraceRequest(rawValue: 12)
    /// PTRACE_SETREGS
    public static let setRegisters = PtraceRequest(rawValue: 13)
    /// PTRACE_GETFPREGS
    public static let getFloatingPointRegisters = PtraceRequest(rawValue: 14)
}

extension Registers {
    /// int3, the one-byte breakpoint instruction.
    static let breakpointInstruction: UInt8 = 0xcc

    /// A return address is one word.
    static let wordSize: UInt64 = 8

    /// PTRACE_GETREGS.
    static func read(of tid: pid_t) throws(Errno) -> Registers {
        var raw = user_regs_struct()
        try Ptrace.fetch(.getRegisters, tid, into: &raw)
        return Registers(raw)
    }

    /// PTRACE_SETREGS.
    func write(to tid: pid_t) throws(Errno) {
        try Ptrace.store(.setRegisters, tid, raw)
    }

    /// The low 64 bits of xmm0 … xmm7 (PTRACE_GETFPREGS, one more system call: taken only when a prototype
    /// needs them), nil when they cannot be read.
    static func vectorLow(of tid: pid_t) -> [UInt64]? {
        var fp = user_fpregs_struct()
        guard (try? Ptrace.fetch(.getFloatingPointRegisters, tid, into: &fp)) != nil else { return nil }
        return vectorLow(fp)
    }

    /// The low 64 bits of xmm0 … xmm7 from an FXSAVE area.
    static func vectorLow(_ fp: user_fpregs_struct) -> [UInt64] {
        withUnsafeBytes(of: fp.xmm_space) { raw in
            (0..<8).map { raw.load(fromByteOffset: $0 * 16, as: UInt64.self) }
        }
    }

    var programCounter: UInt64 {
        get { raw.rip }
        set { raw.rip = newValue }
    }

    var stackPointer: UInt64 {
        get { raw.rsp }
        set { raw.rsp = newValue }
    }

    /// Where the breakpoint of a SIGTRAP stop lies: int3 traps with the program counter just past itself.
    var trapAddress: UInt64 { raw.rip &- 1 }

    /// At a slot stop (the first instruction of the call's PLT slot): where the call's return address lies.
    var returnAddressSlot: UInt64 { raw.rsp }

    /// At a return stop (`ret` popped the return site of ours it jumped to): the stack slot it popped.
    var poppedReturnSlot: UInt64 { raw.rsp &- Self.wordSize }

    /// The slot's `jmp *GOT(%rip)`: continue where its GOT word points.
    mutating func jumpThroughSlot(to target: UInt64) { raw.rip = target }

    /// Run the trapped instruction again (its first byte has been put back).
    mutating func rerunTrappedInstruction() { raw.rip = trapAddress }

    /// `ret`: continue at `returnAddress` (the word at the stack pointer), popping it.
    mutating func emulateReturn(to returnAddress: UInt64) {
        raw.rip = returnAddress
        raw.rsp &+= Self.wordSize
    }

    /// What argument and result decoding sees (System V AMD64: rdi, rsi, rdx, rcx, r8, r9, xmm0-7; rax and
    /// rdx for results). Without `vectorLow` the vector registers read as zero (ltrace's view of a call it has
    /// no prototype for).
    func registerFile(vectorLow: [UInt64]?) -> RegisterFile {
        RegisterFile(
            integerArguments: [raw.rdi, raw.rsi, raw.rdx, raw.rcx, raw.r8, raw.r9],
            vectorLow: vectorLow ?? Array(repeating: 0, count: 8), stackPointer: raw.rsp, rax: raw.rax, rdx: raw.rdx)
    }

    /// Whether decoding a call of `prototype` reads xmm registers at entry / at return: float and double
    /// values travel in them, and a format string's variadic arguments may. PTRACE_GETFPREGS is a system
    /// call per stop, so it is taken only for those. Unknown functions are shown the way ltrace shows them,
    /// from integer registers only.
    static func vectorUse(of prototype: Prototype?) -> (entry: Bool, result: Bool) {
        guard let prototype else { return (false, false) }
        func isVector(_ type: ValueType) -> Bool { type == .float || type == .double }
        let entry = prototype.parameters.contains { isVector($0.type) || $0.type == .format }
        return (entry, isVector(prototype.returnType))
    }
}

/// The one register the in-process engine's supervisor touches: at an exec stop it moves the new image's
/// initial stack (argc, argv, the environment, auxv) down to add the agent's LD_AUDIT entry, and the stack
/// pointer with it.
public enum StackPointer {
    /// PTRACE_GETREGS' rsp.
    public static func read(of tid: pid_t) throws(Errno) -> UInt64 { try Registers.read(of: tid).stackPointer }

    /// PTRACE_SETREGS with rsp changed.
    public static func set(_ value: UInt64, of tid: pid_t) throws(Errno) {
        var registers = try Registers.read(of: tid)
        registers.stackPointer = value
        try registers.write(to: tid)
    }
}
