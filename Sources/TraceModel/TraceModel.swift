import Glibc
import Prototypes

// What every trace engine shares (shared/DESIGN.md): the configuration of a trace, how it ended, how it failed,
// the engine interface the command chooses an implementation of, and the function lists both engines treat
// specially. Neither the ptrace engine nor the in-process engine owns these.

/// An errno value with its message; the currency of the syscall layer.
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// The calling thread's current errno.
    public static var current: Errno { Errno(rawValue: Glibc.errno) }
    public static let interrupted = Errno(rawValue: EINTR)
    public static let noChild = Errno(rawValue: ECHILD)
    public static let noSuchProcess = Errno(rawValue: ESRCH)
    public static let notPermitted = Errno(rawValue: EPERM)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public var description: String { String(cString: strerror(rawValue)) }
}

/// What to trace and how to decode it.
public struct TraceConfiguration: Sendable {
    public enum Target: Hashable, Sendable {
        /// Start a program, exactly as the shell gave it to linkscope.
        case launch(LaunchCommand)
        /// Attach to running processes (any thread id names its whole process), every thread of each.
        case attach(pids: [Int32])
    }

    public var target: Target
    /// `-f`: trace the children of fork, vfork and non-thread clones too (without it they run untraced).
    public var followForks: Bool
    /// `--duration`: detach after this many seconds (attach only).
    public var duration: Double?
    public var filter: CallFilter
    public var decoder: CallDecoder
    /// `-S`: also report the system calls (the ptrace engine only).
    public var traceSystemCalls = false

    public init(target: Target, followForks: Bool = false, duration: Double? = nil, filter: CallFilter,
                decoder: CallDecoder = CallDecoder()) {
        self.target = target
        self.followForks = followForks
        self.duration = duration
        self.filter = filter
        self.decoder = decoder
    }

}

/// How the traced program ended: a result, not an error.
public enum ProgramOutcome: Hashable, Sendable {
    case exited(status: Int32)
    case killed(signal: Int32, coreDumped: Bool)
    /// The trace let go of a process it had attached to (^C, SIGTERM, --duration); the process runs on.
    case detached

    /// The event that says `process` ended so (nil for a detach, which each engine says itself).
    public func event(process: ThreadID, time: Timestamp) -> TraceEvent? {
        switch self {
        case .exited(let status): return .exited(process: process, status: status, time: time)
        case .killed(let signal, let core): return .killed(process: process, signal: signal, coreDumped: core, time: time)
        case .detached: return nil
        }
    }

    /// What a shell would report: the exit status, or 128 + the signal number; 0 after a detach.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let status): return status
        case .killed(let signal, _): return 128 + signal
        case .detached: return 0
        }
    }
}

public enum TraceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// exec failed in the child (ENOENT, EACCES, ENOEXEC...).
    case cannotExecute(path: String, errno: Errno)
    /// fork, or PTRACE_SEIZE of the new child, failed.
    case cannotTrace(path: String, errno: Errno)
    /// PTRACE_SEIZE of a running process failed; `reason` says why in words a user can act on.
    case cannotAttach(pid: Int32, reason: String)
    /// A ptrace call on a thread that should have been stopped failed.
    case lostTracee(pid: Int32, operation: String, errno: Errno)

    public var description: String {
        switch self {
        case .cannotExecute(let path, let errno): return "cannot execute \(path): \(errno)"
        case .cannotTrace(let path, let errno): return "cannot trace \(path): \(errno)"
        case .cannotAttach(let pid, let reason): return "cannot attach to \(pid): \(reason)"
        case .lostTracee(let pid, let operation, let errno): return "lost traced process \(pid) (\(operation)): \(errno)"
        }
    }
}

/// A trace engine: runs one configured trace, handing each event to `events` as it happens and each warning
/// to `diagnostics`, and returns how the traced program ended. The ptrace engine (`TraceSession`) and the
/// in-process engine implement it; `linkscope trace` chooses one (`--engine`).
public protocol TraceEngine: AnyObject {
    /// The engine's name as `--engine` spells it (`ptrace`, `inproc`).
    var name: String { get }
    func run(events: @escaping (TraceEvent) -> Void,
             diagnostics: @escaping (String) -> Void) throws(TraceError) -> ProgramOutcome
    /// The engine's own counters in words, for `--engine-stats` (valid once `run` returned).
    var statistics: String { get }
}

extension Timestamp {
    /// Now, on both clocks.
    public static func now() -> Timestamp {
        var wall = timespec(), mono = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        clock_gettime(CLOCK_MONOTONIC, &mono)
        return Timestamp(wallSeconds: Int64(wall.tv_sec), wallNanoseconds: Int32(wall.tv_nsec),
                         monotonicNanoseconds: UInt64(mono.tv_sec) * 1_000_000_000 + UInt64(mono.tv_nsec))
    }
}


/// Calls that do not return to their caller: their return address is never hijacked (a frame that cannot
/// return would only dangle), and their entry is reported alone, as ltrace's `exit(0 <no return ...>`.
public enum NoReturnFunctions {
    public static let names: Set<String> = [
        "exit", "_exit", "_Exit", "quick_exit", "abort", "longjmp", "_longjmp", "siglongjmp", "__longjmp_chk",
        "__cxa_throw", "__cxa_rethrow", "_Unwind_Resume", "pthread_exit", "__stack_chk_fail", "__assert_fail",
        "__assert_perror_fail", "__fortify_fail", "__chk_fail", "err", "errx", "verr", "verrx",
        "__libc_start_main", "_ZSt9terminatev", "__cxa_call_unexpected",
    ]

    /// Functions that save their own return address to come back through it later (setjmp's saved PC,
    /// getcontext, vfork's register copy): a hijacked address would be saved and later "returned" through
    /// without a frame. Never hijacked either; shown at entry only.
    public static let returnsTwice: Set<String> = [
        "setjmp", "_setjmp", "sigsetjmp", "__sigsetjmp", "getcontext", "savectx", "vfork", "__vfork",
    ]

    public static func contains(_ name: String) -> Bool {
        if returnsTwice.contains(name) { return true }
        // libstdc++'s std::__throw_* helpers (_ZSt17__throw_bad_allocv, ...) only ever throw.
        return names.contains(name) || (name.hasPrefix("_ZSt") && name.contains("__throw_"))
    }
}

/// Functions that start an unwind. The unwinder walks return addresses and finds no unwind information for
/// a return site of ours, so before it starts every hijacked return address of the thread is put back.
/// Engine-internal breakpoints go on these slots in every object, whether or not a filter selects them.
public enum UnwindStarters {
    public static let names: Set<String> = [
        "_Unwind_RaiseException", "_Unwind_Resume", "_Unwind_ForcedUnwind", "_Unwind_Resume_or_Rethrow",
    ]
}
