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
    /// The call whose left half is on the current line, not yet ended.
    private var openCall: UInt64?
    private var openThread: ThreadID?
    /// The process of the open line's thread: another process's exit leaves it merely unfinished.
    private var openProcess: ThreadID?
    private var threadsSeen: Set<ThreadID> = []
    private var showPID: Bool
    private var lastLineTime: UInt64?

    public init(output: TraceTextWriter, options: TraceRenderOptions = TraceRenderOptions()) {
        self.output = output
        self.options = options
        self.showPID = options.processPrefix == .always
    }

    public func render(_ event: TraceEvent) {
        switch event {
        case .call(let call):
            closeOpenLine(" <unfinished ...>")
            var line = beginLine(thread: call.thread, time: call.time, depth: call.depth, callSite: call.callSite)
            line += callerPrefix(call.caller, program: call.program) + displayName(call.function) + "("
            line += call.decoded.arguments.map(\.ltraceText).joined(separator: ", ")
            if call.decoded.defersArguments && !call.decoded.arguments.isEmpty { line += ", " }
            output.write(line)
            openCall = call.callID
            openThread = call.thread
            openProcess = call.process
            pendingColumn = line.utf8.count

        case .callReturn(let ret):
            guard let decoded = ret.decoded else {
                // Unwound past: only a line still open needs an ending; ltrace prints nothing either.
                if openCall == ret.callID && openThread == ret.thread { closeOpenLine(" <no return ...>") }
                return
            }
            var column: Int
            let rest = decoded.outArguments.map(\.ltraceText).joined(separator: ", ") + ")"
            if openCall == ret.callID && openThread == ret.thread {
                output.write(rest)
                column = pendingColumn + rest.utf8.count
                openCall = nil
                openThread = nil
            } else {
                closeOpenLine(" <unfinished ...>")
                let line = beginLine(thread: ret.thread, time: ret.time, depth: ret.depth, callSite: nil)
                    + "<... \(displayName(ret.function)) resumed> " + rest
                output.write(line)
                column = line.utf8.count
            }
            var tail = column < options.alignColumn ? String(repeating: " ", count: options.alignColumn - column) : ""
            tail += " = " + decoded.value.ltraceText
            if options.showCallDuration {
                tail += " <" + LtraceTextRenderer.seconds(nanoseconds: elapsed(from: ret.entryTime, to: ret.time)) + ">"
            }
            output.write(tail + "\n")

        case .signal(let thread, let signal, let time):
            guard options.showSignals else { return }
            closeOpenLine(" <unfinished ...>")
            output.write(beginLine(thread: thread, time: time, depth: 0, callSite: nil)
                         + "--- \(SignalName.name(signal)) (\(SignalName.description(signal))) ---\n")
            output.flush()

        case .exited(let process, let status, let time):
            closeOpenLine(openProcess == process ? " <no return ...>" : " <unfinished ...>")
            output.write(beginLine(thread: process, time: time, depth: 0, callSite: nil) + "+++ exited (status \(status)) +++\n")
            output.flush()

        case .killed(let process, let signal, let coreDumped, let time):
            closeOpenLine(openProcess == process ? " <no return ...>" : " <unfinished ...>")
            output.write(beginLine(thread: process, time: time, depth: 0, callSite: nil)
                         + "+++ killed by \(SignalName.name(signal))\(coreDumped ? " (core dumped)" : "") +++\n")
            output.flush()

        case .exec(let process, _, let time):
            // The exec call of this process never returns; another process's open call goes on.
            closeOpenLine(openProcess == process ? " <no return ...>" : " <unfinished ...>")
            output.write(beginLine(thread: process, time: time, depth: 0, callSite: nil) + "--- Called exec() ---\n")

        case .detached(let process, let time):
            closeOpenLine(" <unfinished ...>")
            output.write(beginLine(thread: process, time: time, depth: 0, callSite: nil) + "+++ detached +++\n")
            output.flush()

        case .systemCall(let call):
            // One line at the return, as strace: `SYS_openat(AT_FDCWD, "/x", O_RDONLY) = -1 ENOENT (No such file
            // or directory)`; `= ?` for a call that does not return.
            closeOpenLine(" <unfinished ...>")
            let line = beginLine(thread: call.thread, time: call.entryTime, depth: 0, callSite: nil) + call.name + "("
                + call.arguments.map(\.ltraceText).joined(separator: ", ") + ")"
            let column = line.utf8.count
            var tail = column < options.alignColumn ? String(repeating: " ", count: options.alignColumn - column) : ""
            tail += " = " + LtraceTextRenderer.systemCallResult(call)
            if options.showCallDuration {
                tail += " <" + LtraceTextRenderer.seconds(nanoseconds: elapsed(from: call.entryTime, to: call.time)) + ">"
            }
            output.write(line + tail + "\n")
        }
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
        closeOpenLine(" <no return ...>")
        output.flush()
    }

    private var pendingColumn = 0

    private func closeOpenLine(_ ending: String) {
        guard openCall != nil else { return }
        output.write(ending + "\n")
        openCall = nil
        openThread = nil
    }

    /// `-C`: C++ names demangled.
    private func displayName(_ function: String) -> String {
        options.demangle ? Demangler.demangle(function) : function
    }

    private func callerPrefix(_ caller: String?, program: String?) -> String {
        if let caller { return caller + "->" }
        let name = program ?? options.mainProgramName
        if options.showCallerOfMainProgram && !name.isEmpty { return name + "->" }
        return ""
    }

    /// `[pid N] `, the timestamp, `[0x…] `, then the indent: ltrace's order.
    private func beginLine(thread: ThreadID, time: Timestamp, depth: Int, callSite: UInt64?) -> String {
        threadsSeen.insert(thread)
        if options.processPrefix == .automatic && threadsSeen.count > 1 { showPID = true }
        var line = showPID ? "[pid \(thread.rawValue)] " : ""
        if options.relativeTimestamps {
            let delta = lastLineTime.map { time.monotonicNanoseconds &- $0 } ?? 0
            let seconds = String(delta / 1_000_000_000)
            line += String(repeating: " ", count: max(0, 3 - seconds.count)) + seconds + "."
                + LtraceTextRenderer.pad6((delta % 1_000_000_000) / 1000) + " "
            lastLineTime = time.monotonicNanoseconds
        } else {
            switch options.timestamps {
            case .none: break
            case .time: line += LtraceTextRenderer.clock(time, micro: false) + " "
            case .timeMicroseconds: line += LtraceTextRenderer.clock(time, micro: true) + " "
            case .epochMicroseconds:
                line += "\(time.wallSeconds)." + LtraceTextRenderer.pad6(UInt64(max(0, time.wallNanoseconds)) / 1000) + " "
            }
        }
        if options.showCallSite, let callSite { line += "[0x" + String(callSite, radix: 16) + "] " }
        if options.indent > 0 && depth > 0 { line += String(repeating: " ", count: depth * options.indent) }
        return line
    }

    private func elapsed(from start: Timestamp, to end: Timestamp) -> UInt64 {
        end.monotonicNanoseconds >= start.monotonicNanoseconds ? end.monotonicNanoseconds - start.monotonicNanoseconds : 0
    }

    static func pad6(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// `0.000580`: seconds with microseconds, as `-T` and `-c` print them.
    static func seconds(nanoseconds: UInt64) -> String {
        "\(nanoseconds / 1_000_000_000)." + pad6((nanoseconds % 1_000_000_000) / 1000)
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
