import Glibc
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

    /// The event's line, reused: one write of bytes per event. Only the rendering thread touches these, one
    /// access at a time (no runtime exclusivity check per append: see `LtraceTextRenderer`).
    private let text = TextBuffer()
    /// One value's ltrace text, before it is escaped into `text`.
    private let scratch = TextBuffer(capacity: 256)

    public init(output: TraceTextWriter, showSignals: Bool = true) {
        self.output = output
        self.showSignals = showSignals
    }

    public func render(_ event: TraceEvent) {
        text.removeAll()
        var flush = true
        switch event {
        case .call(let c):
            flush = false
            if processOf[c.thread] == nil { processOf[c.thread] = c.process }
            common("call", c.thread, c.process, c.time)
            key("id"); text.append(decimal: c.callID)
            key("function"); string(c.function)
            key("caller"); optionalString(c.caller)
            if let program = c.program { key("program"); string(program) }
            key("call_site"); text.append(decimal: c.callSite)
            key("depth"); text.append(decimal: Int64(c.depth))
            key("args"); renderedList(c.decoded.arguments)
            key("arg_values"); typedList(c.decoded.arguments)
            key("prototype"); boolean(c.decoded.hasPrototype)
        case .callReturn(let r):
            flush = false
            common("return", r.thread, r.process, r.time)
            key("id"); text.append(decimal: r.callID)
            key("function"); string(r.function)
            key("caller"); optionalString(r.caller)
            key("depth"); text.append(decimal: Int64(r.depth))
            key("duration_ns"); text.append(decimal: r.time.monotonicNanoseconds &- r.entryTime.monotonicNanoseconds)
            key("unwound"); boolean(r.unwound)
            key("unfinished"); boolean(r.processEnded)
            if let d = r.decoded {
                key("return"); rendered(d.value)
                key("return_value"); d.value.appendJSON(to: text)
                key("out"); renderedList(d.outArguments)
                key("out_values"); typedList(d.outArguments)
            }
        case .signal(let thread, let signal, let time):
            guard showSignals else { return }
            common("signal", thread, process(of: thread), time)
            key("signal"); string(SignalName.name(signal))
            key("number"); text.append(decimal: Int64(signal))
        case .exited(let process, let status, let time):
            forget(process)
            common("exited", process, process, time)
            key("status"); text.append(decimal: Int64(status))
        case .killed(let process, let signal, let core, let time):
            forget(process)
            common("killed", process, process, time)
            key("signal"); string(SignalName.name(signal))
            key("number"); text.append(decimal: Int64(signal))
            key("core_dumped"); boolean(core)
        case .exec(let process, let program, let time):
            common("exec", process, process, time)
            key("program"); string(program)
        case .detached(let process, let time):
            common("detached", process, process, time)
        case .systemCall(let call):
            flush = false
            common("syscall", call.thread, call.process, call.time)
            key("name"); string(call.name)
            key("number"); text.append(decimal: call.number)
            key("args"); renderedList(call.arguments)
            key("arg_values"); typedList(call.arguments)
            key("duration_ns"); text.append(decimal: call.time.monotonicNanoseconds &- call.entryTime.monotonicNanoseconds)
            key("result")
            if let result = call.result {
                text.append(decimal: call.failed ? -1 : result)
                if call.failed {
                    key("errno"); string(ErrnoNames.name(Int32(truncatingIfNeeded: -result)) ?? String(-result))
                }
            } else {
                text.append(text: "null")
            }
        }
        text.append(ascii: "}")
        text.append(ascii: "\n")
        output.write(text)
        if flush { output.flush() }
    }

    /// `{"type":…,"tid":…,"pid":…,"time":{…}`: what every line starts with.
    private func common(_ type: StaticString, _ thread: ThreadID, _ process: ThreadID, _ time: Timestamp) {
        text.append(text: "{\"type\":\"")
        text.append(literal: type)
        text.append(ascii: "\"")
        key("tid"); text.append(decimal: Int64(thread.rawValue))
        key("pid"); text.append(decimal: Int64(process.rawValue))
        key("time"); text.append(text: "{\"wall\":\"")
        text.append(decimal: time.wallSeconds)
        text.append(ascii: ".")
        text.append(decimal: UInt64(max(0, time.wallNanoseconds)), width: 9)
        text.append(text: "\",\"monotonic_ns\":")
        text.append(decimal: time.monotonicNanoseconds)
        text.append(ascii: "}")
    }

    private func key(_ name: StaticString) {
        text.append(text: ",\"")
        text.append(literal: name)
        text.append(text: "\":")
    }

    private func string(_ s: String) {
        var s = s
        s.withUTF8 { Value.appendJSONString($0, to: text) }
    }

    private func optionalString(_ s: String?) {
        if let s { string(s) } else { text.append(text: "null") }
    }

    private func boolean(_ value: Bool) { text.append(text: value ? "true" : "false") }

    /// A value's ltrace text as a JSON string.
    private func rendered(_ value: Value) {
        scratch.removeAll()
        value.appendLtraceText(to: scratch)
        Value.appendJSONString(scratch.bytes, to: text)
    }

    private func renderedList(_ values: [Value]) {
        text.append(ascii: "[")
        for (i, value) in values.enumerated() {
            if i > 0 { text.append(ascii: ",") }
            rendered(value)
        }
        text.append(ascii: "]")
    }

    private func typedList(_ values: [Value]) {
        text.append(ascii: "[")
        for (i, value) in values.enumerated() {
            if i > 0 { text.append(ascii: ",") }
            value.appendJSON(to: text)
        }
        text.append(ascii: "]")
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
           let tgid = Int32(line.dropFirst(5).filter { $0 != " " && $0 != "\t" }) {
            process = ThreadID(rawValue: tgid)
        }
        processOf[thread] = process
        return process
    }

}
