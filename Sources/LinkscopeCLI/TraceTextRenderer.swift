import Glibc
import Prototypes
import TraceModel
import Tracer

/// ltrace 0.7.3's text, line shape for line shape (checked against `ltrace` on this machine):
///
///     malloc(10)                                       = 0x557b777c62a0
///     qsort(0x7fffe7001350, 3, 8, 0x557b55beb229 <unfinished ...>
///     strcmp("a", "c")                                 = -2
///     <... qsort resumed> )                            = <void>
///     libl.so.7->malloc(4)                             = 0x5630963012b0
///     --- SIGUSR1 (User defined signal 1) ---
///     +++ exited (status 3) +++
///
/// A call's left half is written at entry and left open; the return completes it, or, when another event
/// comes first, the open line ends with ` <unfinished ...>` and the return later prints `<... f resumed> `.
/// Differences from ltrace, on purpose: a signal that interrupts an open call ends it with
/// `<unfinished ...>` (ltrace says `<no return ...>` although the call does return), and a call still open
/// when its process ends (exit, a fatal signal) or whose frame was unwound past (longjmp, an exception) ends
/// with ` <no return ...>`. Output parameters are printed where ltrace prints them: the entry line stops
/// before the first (`read(3, `) and the return completes the list (`"ab\n", 8) = 3`).
public final class LtraceTextRenderer: TraceRenderer {
    private let output: TraceTextWriter
    private let options: TraceRenderOptions
    // The state below is touched a dozen times per event, twice per traced call, and only ever from the one
    // thread that renders, one access at a time: `@exclusivity(unchecked)` spares each access the runtime's
    // exclusivity check (a class's stored properties get one by default; with the text buffer's, it cost
    // about 5% of a traced call).

    /// The call whose left half is on the current line, not yet ended.
    @exclusivity(unchecked) private var openCall: UInt64?
    @exclusivity(unchecked) private var openThread: ThreadID?
    /// The process of the open line's thread: another process's exit leaves it merely unfinished.
    @exclusivity(unchecked) private var openProcess: ThreadID?
    /// Columns on the open line so far (where ` = ` is aligned from).
    @exclusivity(unchecked) private var pendingColumn = 0
    @exclusivity(unchecked) private var threadsSeen: Set<ThreadID> = []
    @exclusivity(unchecked) private var lastThread: ThreadID?
    @exclusivity(unchecked) private var showPID: Bool
    @exclusivity(unchecked) private var lastLineTime: UInt64?
    /// The text of the event being rendered, reused: each event is one write of bytes, no String per line.
    private let text = TextBuffer()

    public init(output: TraceTextWriter, options: TraceRenderOptions = TraceRenderOptions()) {
        self.output = output
        self.options = options
        self.showPID = options.processPrefix == .always
    }

    public func render(_ event: TraceEvent) {
        text.removeAll()
        var flush = false
        switch event {
        case .call(let call):
            closeOpenLine(" <unfinished ...>")
            let start = text.count
            beginLine(thread: call.thread, time: call.time, depth: call.depth, callSite: call.callSite)
            appendCallerPrefix(call.caller, program: call.program)
            appendName(call.function)
            text.append(ascii: "(")
            appendList(call.decoded.arguments)
            if call.decoded.defersArguments && !call.decoded.arguments.isEmpty { text.append(text: ", ") }
            openCall = call.callID
            openThread = call.thread
            openProcess = call.process
            pendingColumn = text.count - start

        case .callReturn(let ret):
            guard let decoded = ret.decoded else {
                // Unwound past: only a line still open needs an ending; ltrace prints nothing either.
                if openCall == ret.callID && openThread == ret.thread { closeOpenLine(" <no return ...>") }
                break
            }
            let start: Int
            if openCall == ret.callID && openThread == ret.thread {
                start = text.count - pendingColumn
                openCall = nil
                openThread = nil
            } else {
                closeOpenLine(" <unfinished ...>")
                start = text.count
                beginLine(thread: ret.thread, time: ret.time, depth: ret.depth, callSite: nil)
                text.append(text: "<... ")
                appendName(ret.function)
                text.append(text: " resumed> ")
            }
            appendList(decoded.outArguments)
            text.append(ascii: ")")
            text.append(spaces: options.alignColumn - (text.count - start))
            text.append(text: " = ")
            decoded.value.appendLtraceText(to: text)
            if options.showCallDuration {
                text.append(text: " <")
                appendSeconds(nanoseconds: elapsed(from: ret.entryTime, to: ret.time))
                text.append(ascii: ">")
            }
            text.append(ascii: "\n")

        case .signal(let thread, let signal, let time):
            guard options.showSignals else { return }
            closeOpenLine(" <unfinished ...>")
            beginLine(thread: thread, time: time, depth: 0, callSite: nil)
            text.append(text: "--- \(SignalName.name(signal)) (\(SignalName.description(signal))) ---\n")
            flush = true

        case .exited(let process, let status, let time):
            closeOpenLine(openProcess == process ? " <no return ...>" : " <unfinished ...>")
            beginLine(thread: process, time: time, depth: 0, callSite: nil)
            text.append(text: "+++ exited (status \(status)) +++\n")
            flush = true

        case .killed(let process, let signal, let coreDumped, let time):
            closeOpenLine(openProcess == process ? " <no return ...>" : " <unfinished ...>")
            beginLine(thread: process, time: time, depth: 0, callSite: nil)
            text.append(text: "+++ killed by \(SignalName.name(signal))\(coreDumped ? " (core dumped)" : "") +++\n")
            flush = true

        case .exec(let process, _, let time):
            // The exec call of this process never returns; another process's open call goes on.
            closeOpenLine(openProcess == process ? " <no return ...>" : " <unfinished ...>")
            beginLine(thread: process, time: time, depth: 0, callSite: nil)
            text.append(text: "--- Called exec() ---\n")

        case .detached(let process, let time):
            closeOpenLine(" <unfinished ...>")
            beginLine(thread: process, time: time, depth: 0, callSite: nil)
            text.append(text: "+++ detached +++\n")
            flush = true

        case .systemCall(let call):
            // One line at the return, as strace: `SYS_openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file
            // or directory)`; `= ?` for a call that does not return.
            closeOpenLine(" <unfinished ...>")
            let start = text.count
            beginLine(thread: call.thread, time: call.entryTime, depth: 0, callSite: nil)
            text.append(text: call.name)
            text.append(ascii: "(")
            appendList(call.arguments)
            text.append(ascii: ")")
            text.append(spaces: options.alignColumn - (text.count - start))
            text.append(text: " = ")
            text.append(text: LtraceTextRenderer.systemCallResult(call))
            if options.showCallDuration {
                text.append(text: " <")
                appendSeconds(nanoseconds: elapsed(from: call.entryTime, to: call.time))
                text.append(ascii: ">")
            }
            text.append(ascii: "\n")
        }
        if !text.isEmpty { output.write(text) }
        if flush { output.flush() }
    }

    /// `0`, `0x7f…` for an address, `-1 ENOENT (No such file or directory)` for a failure, `?` without one.
    static func systemCallResult(_ call: SystemCallEvent) -> String {
        guard let result = call.result else { return "?" }
        if call.failed {
            let code = Int32(truncatingIfNeeded: -result)
            return "-1 " + (ErrnoNames.name(code) ?? String(code)) + " (" + String(cString: strerror(code)) + ")"
        }
        return call.returnsAddress ? "0x" + String(UInt64(bitPattern: result), radix: 16) : String(result)
    }

    public func finish() {
        text.removeAll()
        closeOpenLine(" <no return ...>")
        if !text.isEmpty { output.write(text) }
        output.flush()
    }

    private func closeOpenLine(_ ending: String) {
        guard openCall != nil else { return }
        text.append(text: ending)
        text.append(ascii: "\n")
        openCall = nil
        openThread = nil
    }

    private func appendList(_ values: [Value]) {
        for (i, value) in values.enumerated() {
            if i > 0 { text.append(text: ", ") }
            value.appendLtraceText(to: text)
        }
    }

    /// `-C`: C++ names demangled.
    private func appendName(_ function: String) {
        text.append(text: options.demangle ? Demangler.demangle(function) : function)
    }

    private func appendCallerPrefix(_ caller: String?, program: String?) {
        if let caller {
            text.append(text: caller)
        } else {
            let name = program ?? options.mainProgramName
            guard options.showCallerOfMainProgram && !name.isEmpty else { return }
            text.append(text: name)
        }
        text.append(text: "->")
    }

    /// `[pid N] `, the timestamp, `[0x…] `, then the indent: ltrace's order.
    private func beginLine(thread: ThreadID, time: Timestamp, depth: Int, callSite: UInt64?) {
        if !showPID && thread != lastThread {
            // A set lookup only when the thread changes: one thread's calls in a row cost nothing here.
            lastThread = thread
            threadsSeen.insert(thread)
            if options.processPrefix == .automatic && threadsSeen.count > 1 { showPID = true }
        }
        if showPID {
            text.append(text: "[pid ")
            text.append(decimal: Int64(thread.rawValue))
            text.append(text: "] ")
        }
        if options.relativeTimestamps {
            let delta = lastLineTime.map { time.monotonicNanoseconds &- $0 } ?? 0
            let seconds = delta / 1_000_000_000
            var digits = 1
            var rest = seconds / 10
            while rest > 0 { digits += 1; rest /= 10 }
            text.append(spaces: 3 - digits)
            text.append(decimal: seconds)
            text.append(ascii: ".")
            text.append(decimal: (delta % 1_000_000_000) / 1000, width: 6)
            text.append(ascii: " ")
            lastLineTime = time.monotonicNanoseconds
        } else {
            switch options.timestamps {
            case .none: break
            case .time: text.append(text: LtraceTextRenderer.clock(time, micro: false)); text.append(ascii: " ")
            case .timeMicroseconds: text.append(text: LtraceTextRenderer.clock(time, micro: true)); text.append(ascii: " ")
            case .epochMicroseconds:
                text.append(decimal: time.wallSeconds)
                text.append(ascii: ".")
                text.append(decimal: UInt64(max(0, time.wallNanoseconds)) / 1000, width: 6)
                text.append(ascii: " ")
            }
        }
        if options.showCallSite, let callSite {
            text.append(text: "[0x")
            text.append(hex: callSite)
            text.append(text: "] ")
        }
        if options.indent > 0 && depth > 0 { text.append(spaces: depth * options.indent) }
    }

    private func elapsed(from start: Timestamp, to end: Timestamp) -> UInt64 {
        end.monotonicNanoseconds >= start.monotonicNanoseconds ? end.monotonicNanoseconds - start.monotonicNanoseconds : 0
    }

    /// `0.000580`: seconds with microseconds, as `-T` prints them.
    private func appendSeconds(nanoseconds: UInt64) {
        text.append(decimal: nanoseconds / 1_000_000_000)
        text.append(ascii: ".")
        text.append(decimal: (nanoseconds % 1_000_000_000) / 1000, width: 6)
    }

    static func pad6(_ value: UInt64) -> String {
        let digits = TextBuffer(capacity: 16)
        digits.append(decimal: value, width: 6)
        return digits.string
    }

    /// Local time of day, as ltrace's `-t`/`-tt`.
    static func clock(_ time: Timestamp, micro: Bool) -> String {
        var seconds = time_t(time.wallSeconds)
        var parts = tm()
        localtime_r(&seconds, &parts)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var text = "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        if micro { text += "." + pad6(UInt64(max(0, time.wallNanoseconds)) / 1000) }
        return text
    }
}

/// Signal names as ltrace prints them (`SIGUSR1`) and glibc's descriptions (`User defined signal 1`).
public enum SignalName {
    private static let names: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
        9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
        16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU",
        23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO",
        30: "SIGPWR", 31: "SIGSYS",
    ]

    public static func name(_ signal: Int32) -> String { names[signal] ?? "SIG\(signal)" }

    public static func description(_ signal: Int32) -> String {
        guard let text = strsignal(signal) else { return "Unknown signal \(signal)" }
        return String(cString: text)
    }
}
