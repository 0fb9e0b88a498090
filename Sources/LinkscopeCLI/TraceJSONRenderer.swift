import Foundation
import Prototypes
import TraceModel
import Tracer

/// `--json`: one JSON object per event and line, for tools. Schema (every object has `type`, `tid`, `pid`,
/// `time` = `{"wall": "SECONDS.NANOSECONDS", "monotonic_ns": N}`):
///
/// - `{"type":"call", "id", "function", "caller" (null: main program), "call_site", "depth",
///    "args": ["rendered", …], "arg_values": [typed value, …], "prototype": bool}`
/// - `{"type":"return", "id", "function", "caller", "depth", "return": "rendered", "return_value": typed,
///    "out": […], "out_values": […], "duration_ns", "unwound": false, "unfinished": false}` — or, for a frame
///    unwound past (longjmp, exceptions), `"unwound": true` and no return fields; for a call its process
///    ended in (exit, exec or a fatal signal while a thread was in it), `"unfinished": true` and no return
///    fields, on every thread, before the process's `exited`/`killed`. Every call has a return object.
///   A fork child (`-f`) returns from the calls open at the fork with their ids: `fork` has one call and two
///   returns, told apart by `pid`.
/// - `{"type":"signal", "signal": "SIGUSR1", "number": 10}`: `tid` the thread it was delivered to, `pid` its
///   process.
/// - `-S`: `{"type":"syscall", "name": "SYS_openat", "number": 257, "args": ["AT_FDCWD", "\"/etc/x\"", "O_RDONLY"],
///    "arg_values": […], "duration_ns", "result": -1, "errno": "ENOENT"}` at the call's return (`result`
///    null for exit_group, which does not return).
/// - `{"type":"exited", "status": N}` and `{"type":"killed", "signal": "SIGTERM", "number": 15, "core_dumped": bool}`
///
/// A typed value is `{"kind": K, …}` with K one of signed, unsigned, char, bool, pointer, null, string
/// (`value`, `truncated`), float, enum (`name`, `value`), flags (`names`, `remainder`), array (`elements`,
/// `truncated`), struct (`fields`), void, unreadable (`address`).
public final class JSONLinesRenderer: TraceRenderer {
    private let output: TraceTextWriter
    /// Each thread's process, as the calls said (a signal event names the thread only).
    private var processOf: [ThreadID: ThreadID] = [:]
    /// False with `-b`: signal events are left out.
    private let showSignals: Bool

    public init(output: TraceTextWriter, showSignals: Bool = true) {
        self.output = output
        self.showSignals = showSignals
    }

    public func render(_ event: TraceEvent) {
        // One String per line, appended in place: this runs twice per traced call.
        var line = ""
        line.reserveCapacity(384)
        func field(_ name: String, _ json: String) {
            line += line.isEmpty ? "{\"" : ",\""
            line += name
            line += "\":"
            line += json
        }
        func list(_ values: [Value], _ render: (Value) -> String) -> String {
            var text = "["
            for (i, value) in values.enumerated() {
                if i > 0 { text += "," }
                text += render(value)
            }
            return text + "]"
        }
        func common(_ type: String, _ thread: ThreadID, _ process: ThreadID, _ time: Timestamp) {
            let nanos = String(max(0, time.wallNanoseconds))
            field("type", "\"" + type + "\"")
            field("tid", String(thread.rawValue))
            field("pid", String(process.rawValue))
            field("time", "{\"wall\":\"\(time.wallSeconds)." + String(repeating: "0", count: max(0, 9 - nanos.count)) + nanos
                  + "\",\"monotonic_ns\":\(time.monotonicNanoseconds)}")
        }
        var flush = true
        switch event {
        case .call(let c):
            flush = false
            if processOf[c.thread] == nil { processOf[c.thread] = c.process }
            common("call", c.thread, c.process, c.time)
            field("id", String(c.callID))
            field("function", str(c.function))
            field("caller", c.caller.map(str) ?? "null")
            if let program = c.program { field("program", str(program)) }
            field("call_site", String(c.callSite))
            field("depth", String(c.depth))
            field("args", list(c.decoded.arguments) { self.str($0.ltraceText) })
            field("arg_values", list(c.decoded.arguments) { $0.jsonText })
            field("prototype", c.decoded.hasPrototype ? "true" : "false")
        case .callReturn(let r):
            flush = false
            common("return", r.thread, r.process, r.time)
            field("id", String(r.callID))
            field("function", str(r.function))
            field("caller", r.caller.map(str) ?? "null")
            field("depth", String(r.depth))
            field("duration_ns", String(r.time.monotonicNanoseconds &- r.entryTime.monotonicNanoseconds))
            field("unwound", r.unwound ? "true" : "false")
            field("unfinished", r.processEnded ? "true" : "false")
            if let d = r.decoded {
                field("return", str(d.value.ltraceText))
                field("return_value", d.value.jsonText)
                field("out", list(d.outArguments) { self.str($0.ltraceText) })
                field("out_values", list(d.outArguments) { $0.jsonText })
            }
        case .signal(let thread, let signal, let time):
            guard showSignals else { return }
            common("signal", thread, process(of: thread), time)
            field("signal", str(SignalName.name(signal)))
            field("number", String(signal))
        case .exited(let process, let status, let time):
            forget(process)
            common("exited", process, process, time)
            field("status", String(status))
        case .killed(let process, let signal, let core, let time):
            forget(process)
            common("killed", process, process, time)
            field("signal", str(SignalName.name(signal)))
            field("number", String(signal))
            field("core_dumped", core ? "true" : "false")
        case .exec(let process, let program, let time):
            common("exec", process, process, time)
            field("program", str(program))
        case .detached(let process, let time):
            common("detached", process, process, time)
        case .systemCall(let call):
            flush = false
            common("syscall", call.thread, call.process, call.time)
            field("name", str(call.name))
            field("number", String(call.number))
            field("args", list(call.arguments) { self.str($0.ltraceText) })
            field("arg_values", list(call.arguments) { $0.jsonText })
            field("duration_ns", String(call.time.monotonicNanoseconds &- call.entryTime.monotonicNanoseconds))
            if let result = call.result {
                field("result", String(call.failed ? -1 : result))
                if call.failed {
                    field("errno", str(ErrnoNames.name(Int32(truncatingIfNeeded: -result)) ?? String(-result)))
                }
            } else {
                field("result", "null")
            }
        }
        line += "}\n"
        output.write(line)
        if flush { output.flush() }
    }

    public func finish() { output.flush() }

    /// A process ended: its thread ids may be reused by another.
    private func forget(_ process: ThreadID) {
        processOf = processOf.filter { $0.value != process }
    }

    /// The process of a thread: known from its calls, else its Tgid now (the engine reports a signal while the
    /// thread is stopped at its delivery, so /proc still has it), else the thread's own id.
    private func process(of thread: ThreadID) -> ThreadID {
        if let known = processOf[thread] { return known }
        var process = thread
        if let status = try? String(contentsOfFile: "/proc/\(thread.rawValue)/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Tgid:") }),
           let tgid = Int32(line.dropFirst(5).trimmingCharacters(in: .whitespaces)) {
            process = ThreadID(rawValue: tgid)
        }
        processOf[thread] = process
        return process
    }

    private func str(_ s: String) -> String { Value.jsonString(Array(s.utf8)) }
}
