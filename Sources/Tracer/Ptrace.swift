import TraceModel
import CPtrace
import Glibc

/// A ptrace(2) request (`PTRACE_*` of <sys/ptrace.h>).
public struct PtraceRequest: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// PTRACE_PEEKDATA
    public static let peekData = PtraceRequest(rawValue: 2)
    /// PTRACE_POKEDATA
    public static let pokeData = PtraceRequest(rawValue: 5)
    /// PTRACE_CONT
    public static let cont = PtraceRequest(rawValue: 7)
    /// PTRACE_SYSCALL
    public static let syscall = PtraceRequest(rawValue: 24)
    /// PTRACE_GET_SYSCALL_INFO (Linux 5.3)
    public static let getSyscallInfo = PtraceRequest(rawValue: 0x420e)
    /// PTRACE_KILL
    public static let kill = PtraceRequest(rawValue: 8)
    /// PTRACE_DETACH
    public static let detach = PtraceRequest(rawValue: 17)
    /// PTRACE_SETOPTIONS
    public static let setOptions = PtraceRequest(rawValue: 0x4200)
    /// PTRACE_GETEVENTMSG
    public static let getEventMessage = PtraceRequest(rawValue: 0x4201)
    /// PTRACE_GETSIGINFO
    public static let getSignalInfo = PtraceRequest(rawValue: 0x4202)
    /// PTRACE_SEIZE: attach without stopping the thread; group-stops become PTRACE_EVENT_STOP.
    public static let seize = PtraceRequest(rawValue: 0x4206)
    /// PTRACE_INTERRUPT: stop a seized thread (it reports PTRACE_EVENT_STOP).
    public static let interrupt = PtraceRequest(rawValue: 0x4207)
    /// PTRACE_LISTEN: leave a seized thread in its group-stop, but let it report the end of it.
    public static let listen = PtraceRequest(rawValue: 0x4208)
}

/// PTRACE_O_* options.
public struct PtraceOptions: OptionSet, Hashable, Sendable {
    public var rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
    /// PTRACE_O_TRACESYSGOOD
    public static let traceSysGood = PtraceOptions(rawValue: 0x01)
    /// PTRACE_O_TRACEFORK
    public static let traceFork = PtraceOptions(rawValue: 0x02)
    /// PTRACE_O_TRACEVFORK
    public static let traceVfork = PtraceOptions(rawValue: 0x04)
    /// PTRACE_O_TRACECLONE
    public static let traceClone = PtraceOptions(rawValue: 0x08)
    /// PTRACE_O_TRACEEXEC
    public static let traceExec = PtraceOptions(rawValue: 0x10)
    /// PTRACE_O_EXITKILL
    public static let exitKill = PtraceOptions(rawValue: 0x10_0000)
}

extension PtraceOptions {
    /// The stop signal of a system-call stop under PTRACE_O_TRACESYSGOOD: SIGTRAP | 0x80.
    static let systemCallStopSignal = SIGTRAP | 0x80
}

/// PTRACE_EVENT_*: the event of a `SIGTRAP | event << 8` stop.
public struct PtraceEvent: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// PTRACE_EVENT_FORK
    public static let fork = PtraceEvent(rawValue: 1)
    /// PTRACE_EVENT_VFORK
    public static let vfork = PtraceEvent(rawValue: 2)
    /// PTRACE_EVENT_CLONE
    public static let clone = PtraceEvent(rawValue: 3)
    /// PTRACE_EVENT_EXEC
    public static let exec = PtraceEvent(rawValue: 4)
    /// PTRACE_EVENT_VFORK_DONE
    public static let vforkDone = PtraceEvent(rawValue: 5)
    /// PTRACE_EVENT_EXIT
    public static let exit = PtraceEvent(rawValue: 6)
    /// PTRACE_EVENT_STOP
    public static let stop = PtraceEvent(rawValue: 128)
}

/// What waitpid(2) reported for one thread.
public enum WaitStatus: Hashable, Sendable {
    case exited(code: Int32)
    case killed(signal: Int32, coreDumped: Bool)
    /// A signal-delivery-stop or group-stop (`signal` is the stop signal), or a ptrace event stop.
    case stopped(signal: Int32, event: PtraceEvent?)

    public init(raw: Int32) {
        if cptrace_wifexited(raw) != 0 {
            self = .exited(code: cptrace_wexitstatus(raw))
        } else if cptrace_wifsignaled(raw) != 0 {
            self = .killed(signal: cptrace_wtermsig(raw), coreDumped: cptrace_wcoredump(raw) != 0)
        } else {
            let event = (raw >> 16) & 0xffff
            self = .stopped(signal: cptrace_wstopsig(raw), event: event == 0 ? nil : PtraceEvent(rawValue: event))
        }
    }
}

/// The raw calls, each retried on EINTR and turned into `throws(Errno)`. Nothing here knows about
/// breakpoints; the engine is built on these, and so is the in-process engine's supervisor.
public enum Ptrace {
    @inline(__always)
    private static func request(_ request: PtraceRequest, _ pid: pid_t, _ address: UInt64, _ data: UInt) throws(Errno) -> Int {
        while true {
            let result = cptrace_request(request.rawValue, pid, UnsafeMutableRawPointer(bitPattern: UInt(address)),
                                         UnsafeMutableRawPointer(bitPattern: data))
            if result != -1 { return result }
            let code = Errno.current
            if code == .interrupted { continue }
            throw code
        }
    }

    private static func request(_ request: PtraceRequest, _ pid: pid_t, pointer: UnsafeMutableRawPointer) throws(Errno) {
        while true {
            if cptrace_request(request.rawValue, pid, nil, pointer) != -1 { return }
            let code = Errno.current
            if code == .interrupted { continue }
            throw code
        }
    }

    public static func setOptions(_ pid: pid_t, _ options: PtraceOptions) throws(Errno) {
        _ = try request(.setOptions, pid, 0, options.rawValue)
    }

    /// Resumes a stopped thread, delivering `signal` (0 for none).
    public static func cont(_ pid: pid_t, signal: Int32 = 0) throws(Errno) {
        _ = try request(.cont, pid, 0, UInt(signal))
    }

    /// PTRACE_SYSCALL: resumes to the next system-call entry or exit stop (`-S`).
    static func continueToSystemCall(_ pid: pid_t, signal: Int32 = 0) throws(Errno) {
        _ = try request(.syscall, pid, 0, UInt(signal))
    }

    /// What a system-call stop is (struct ptrace_syscall_info of <linux/ptrace.h>): its entry with the
    /// number and six arguments, or its exit with the result.
    enum SystemCallStop {
        case entry(number: UInt64, arguments: [UInt64])
        case exit(result: Int64, failed: Bool)
        case other
    }

    static func systemCallStop(_ pid: pid_t) throws(Errno) -> SystemCallStop {
        // op (u8) at 0, then arch, instruction and stack pointers; the union at 24: entry {nr, args[6]},
        // exit {s64 rval, u8 is_error}.
        var info = [UInt64](repeating: 0, count: 12)
        let result: Result<Int, Errno> = info.withUnsafeMutableBytes { raw in
            Result { () throws(Errno) in try request(.getSyscallInfo, pid, UInt64(raw.count), UInt(bitPattern: raw.baseAddress)) }
        }
        let size = try result.get()
        guard size >= 32 else { return .other }
        switch info[0] & 0xff {
        case 1: return .entry(number: info[3], arguments: Array(info[4..<10]))
        case 2: return .exit(result: Int64(bitPattern: info[3]), failed: info[4] & 0xff != 0)
        default: return .other
        }
    }

    /// Attaches to a running thread without stopping it, with `options` set at once.
    public static func seize(_ pid: pid_t, options: PtraceOptions) throws(Errno) {
        _ = try request(.seize, pid, 0, options.rawValue)
    }

    public static func interrupt(_ pid: pid_t) throws(Errno) {
        _ = try request(.interrupt, pid, 0, 0)
    }

    public static func listen(_ pid: pid_t) throws(Errno) {
        _ = try request(.listen, pid, 0, 0)
    }

    public static func detach(_ pid: pid_t, signal: Int32 = 0) throws(Errno) {
        _ = try request(.detach, pid, 0, UInt(signal))
    }

    public static func kill(_ pid: pid_t) throws(Errno) {
        _ = try request(.kill, pid, 0, 0)
    }

    public static func eventMessage(_ pid: pid_t) throws(Errno) -> UInt {
        var message: UInt = 0
        try withUnsafeMutableBytes(of: &message) { (raw) throws(Errno) in
            try request(.getEventMessage, pid, pointer: raw.baseAddress!)
        }
        return message
    }

    /// A request that fills a structure of the tracee's state (PTRACE_GETREGS, PTRACE_GETFPREGS): which
    /// structure is the architecture's business (Registers+x86_64.swift).
    static func fetch<State>(_ request: PtraceRequest, _ pid: pid_t, into state: inout State) throws(Errno) {
        try withUnsafeMutableBytes(of: &state) { (raw) throws(Errno) in
            try Self.request(request, pid, pointer: raw.baseAddress!)
        }
    }

    /// A request that sets the tracee's state from a structure (PTRACE_SETREGS).
    static func store<State>(_ request: PtraceRequest, _ pid: pid_t, _ state: State) throws(Errno) {
        var copy = state
        try withUnsafeMutableBytes(of: &copy) { (raw) throws(Errno) in
            try Self.request(request, pid, pointer: raw.baseAddress!)
        }
    }

    /// One word of the tracee's memory. PEEKDATA's -1 is valid data, so errno is cleared before the call.
    static func peek(_ pid: pid_t, _ address: UInt64) throws(Errno) -> UInt64 {
        while true {
            Glibc.errno = 0
            let value = cptrace_request(PtraceRequest.peekData.rawValue, pid,
                                        UnsafeMutableRawPointer(bitPattern: UInt(address)), nil)
            if value == -1, Glibc.errno != 0 {
                let code = Errno.current
                if code == .interrupted { continue }
                throw code
            }
            return UInt64(bitPattern: Int64(value))
        }
    }

    /// Writes one word. Goes through ptrace (not process_vm_writev) because it may write read-only code pages.
    static func poke(_ pid: pid_t, _ address: UInt64, _ value: UInt64) throws(Errno) {
        _ = try request(.pokeData, pid, address, UInt(value))
    }

    /// waitpid(-1 or pid, __WALL), retried on EINTR.
    public static func wait(_ pid: pid_t = -1) throws(Errno) -> (pid_t, WaitStatus) {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, Int32(bitPattern: 0x4000_0000))  // __WALL
            if result > 0 { return (result, WaitStatus(raw: status)) }
            let code = Errno.current
            if code == .interrupted { continue }
            throw code
        }
    }

    /// waitpid(-1, __WALL | WNOHANG): nil when no traced thread has anything to report yet.
    public static func poll() throws(Errno) -> (pid_t, WaitStatus)? {
        var status: Int32 = 0
        while true {
            let result = waitpid(-1, &status, Int32(bitPattern: 0x4000_0000) | WNOHANG)
            if result > 0 { return (result, WaitStatus(raw: status)) }
            if result == 0 { return nil }
            let code = Errno.current
            if code == .interrupted { continue }
            throw code
        }
    }
}
