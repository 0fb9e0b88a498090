import Prototypes

/// What the engine reports, in the order it happened. Renderers (ltrace text, JSON lines, the `-c` summary)
/// are functions over these; the engine never formats text (shared/DESIGN.md, decision 6).
public enum TraceEvent: Hashable, Sendable {
    /// A traced call was entered.
    case call(CallEntryEvent)
    /// A traced call returned (or its frame was unwound past: see `CallReturnEvent.unwound`).
    case callReturn(CallReturnEvent)
    /// A signal was delivered to a thread of the traced program (ltrace's `--- SIGUSR1 ... ---`).
    case signal(thread: ThreadID, signal: Int32, time: Timestamp)
    /// A traced process exited (`+++ exited (status N) +++`).
    case exited(process: ThreadID, status: Int32, time: Timestamp)
    /// A traced process was killed by a signal (`+++ killed by SIGTERM +++`).
    case killed(process: ThreadID, signal: Int32, coreDumped: Bool, time: Timestamp)
    /// A traced process exec'd `program` (its file name), whose calls follow (ltrace's `--- Called exec() ---`).
    case exec(process: ThreadID, program: String, time: Timestamp)
    /// The trace let go of a process it had attached to; the process runs on untraced (`+++ detached +++`).
    case detached(process: ThreadID, time: Timestamp)
    /// `-S`: a system call, reported when it returned (or at entry for one that never does: exit_group).
    case systemCall(SystemCallEvent)
}

public struct SystemCallEvent: Hashable, Sendable {
    public var thread: ThreadID
    public var process: ThreadID
    public var number: UInt64
    /// `SYS_openat`, as ltrace -S names it.
    public var name: String
    /// Decoded at entry (strings and buffers read then).
    public var arguments: [Value]
    /// The raw result (`-errno` on failure); nil for a call that does not return.
    public var result: Int64?
    /// Whether the kernel reported the result as an error (then `-result` is the errno).
    public var failed: Bool
    /// The result is an address (mmap, brk): shown in hex.
    public var returnsAddress: Bool
    public var entryTime: Timestamp
    public var time: Timestamp

    public init(thread: ThreadID, process: ThreadID, number: UInt64, name: String, arguments: [Value], result: Int64?,
                failed: Bool, returnsAddress: Bool, entryTime: Timestamp, time: Timestamp) {
        self.thread = thread
        self.process = process
        self.number = number
        self.name = name
        self.arguments = arguments
        self.result = result
        self.failed = failed
        self.returnsAddress = returnsAddress
        self.entryTime = entryTime
        self.time = time
    }
}

/// A kernel thread id (a pid for the main thread).
public struct ThreadID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static func < (a: ThreadID, b: ThreadID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// Wall-clock time of a stop (CLOCK_REALTIME, for -t/-tt/-ttt) and monotonic time (for -r, -T and -c).
public struct Timestamp: Hashable, Sendable {
    /// Seconds since the epoch, with nanoseconds.
    public var wallSeconds: Int64
    public var wallNanoseconds: Int32
    /// CLOCK_MONOTONIC in nanoseconds.
    public var monotonicNanoseconds: UInt64

    public init(wallSeconds: Int64, wallNanoseconds: Int32, monotonicNanoseconds: UInt64) {
        self.wallSeconds = wallSeconds
        self.wallNanoseconds = wallNanoseconds
        self.monotonicNanoseconds = monotonicNanoseconds
    }
}

public struct CallEntryEvent: Hashable, Sendable {
    public var thread: ThreadID
    /// The thread-group id of the process the thread belongs to.
    public var process: ThreadID
    /// Unique per traced call within a trace; the matching `CallReturnEvent` carries the same id.
    public var callID: UInt64
    /// The symbol the PLT slot binds (`malloc`), without version.
    public var function: String
    /// The object whose PLT the call went through: nil for the main program, else its soname or file name
    /// (ltrace prints `libfoo.so->malloc(...)` for those).
    public var caller: String?
    /// The program's name when it is not the command the trace launched (after an exec, or for a process
    /// attached to); nil for the launched command, whose name the renderer knows as the user typed it.
    public var program: String?
    /// The return address of the call (what `-i` prints).
    public var callSite: UInt64
    /// How many traced calls of this thread are open around this one (0 for an outermost call).
    public var depth: Int
    public var decoded: DecodedEntry
    public var time: Timestamp

    public init(thread: ThreadID, process: ThreadID, callID: UInt64, function: String, caller: String?,
                program: String? = nil, callSite: UInt64, depth: Int, decoded: DecodedEntry, time: Timestamp) {
        self.thread = thread
        self.process = process
        self.callID = callID
        self.function = function
        self.caller = caller
        self.program = program
        self.callSite = callSite
        self.depth = depth
        self.decoded = decoded
        self.time = time
    }
}

public struct CallReturnEvent: Hashable, Sendable {
    public var thread: ThreadID
    public var process: ThreadID
    public var callID: UInt64
    public var function: String
    public var caller: String?
    public var depth: Int
    /// nil when the call did not return: its frame was unwound past (longjmp, an exception), or its process
    /// ended (exit, exec, a fatal signal) while it was still in it (`processEnded`).
    public var decoded: DecodedReturn?
    public var entryTime: Timestamp
    public var time: Timestamp
    /// The call was still open when its process ended: every thread's open calls are closed so, innermost
    /// first, before the process's end is reported.
    public var processEnded: Bool

    public var unwound: Bool { decoded == nil && !processEnded }

    public init(thread: ThreadID, process: ThreadID, callID: UInt64, function: String, caller: String?,
                depth: Int, decoded: DecodedReturn?, entryTime: Timestamp, time: Timestamp, processEnded: Bool = false) {
        self.processEnded = processEnded
        self.thread = thread
        self.process = process
        self.callID = callID
        self.function = function
        self.caller = caller
        self.depth = depth
        self.decoded = decoded
        self.entryTime = entryTime
        self.time = time
    }
}
