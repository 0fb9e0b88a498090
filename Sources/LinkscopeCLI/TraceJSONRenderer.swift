import Prototypes
import Tracer

/// `--json`: one JSON object per event and line, for tools. Schema (every object has `type`, `tid`, `pid`,
/// `time` = `{"wall": "SECONDS.NANOSECONDS", "monotonic_ns": N}`):
///
/// - `{"type":"call", "id", "function", "caller" (null: main program), "call_site", "depth",
///    "args": ["rendered", …], "arg_values": [typed value, …], "prototype": bool}`
/// - `{"type":"return", "id", "function", "caller", "depth", "return": "rendered", "return_value": typed,
///    "out": […], "out_values": […], "duration_ns", "unwound": false}` — or, for a frame unwound past
///    (longjmp, exceptions), `"unwound": true` and no return fields.
/// - `{"type":"signal", "signal": "SIGUSR1", "number": 10}`
/// - `{"type":"exited", "status": N}` and `{"type":"killed", "signal": "SIGTERM", "number": 15, "core_dumped": bool}`
///
/// A typed value is `{"kind": K, …}` with K one of signed, unsigned, char, bool, pointer, null, string
/// (`value`, `truncated`), float, enum (`name`, `value`), flags (`names`, `remainder`), array (`elements`,
/// `truncated`), struct (`fields`), void, unreadable (`address`).
public final class JSONLinesRenderer: TraceRenderer {
    private let output: TraceTextWriter

    public init(output: TraceTextWriter) { self.output = output }

    public func render(_ event: TraceEvent) {
        var fields: [(String, String)]
        switch event {
        case .call(let c):
            fields = common("call", c.thread, c.process, c.time) + [
                ("id", String(c.callID)), ("function", str(c.function)), ("caller", c.caller.map(str) ?? "null"),
                ("call_site", String(c.callSite)), ("depth", String(c.depth)),
                ("args", "[" + c.decoded.arguments.map { str($0.ltraceText) }.joined(separator: ",") + "]"),
                ("arg_values", "[" + c.decoded.arguments.map(\.jsonText).joined(separator: ",") + "]"),
                ("prototype", c.decoded.hasPrototype ? "true" : "false"),
            ]
        case .callReturn(let r):
            fields = common("return", r.thread, r.process, r.time) + [
                ("id", String(r.callID)), ("function", str(r.function)), ("caller", r.caller.map(str) ?? "null"),
                ("depth", String(r.depth)),
                ("duration_ns", String(r.time.monotonicNanoseconds &- r.entryTime.monotonicNanoseconds)),
                ("unwound", r.unwound ? "true" : "false"),
            ]
            if let d = r.decoded {
                fields += [
                    ("return", str(d.value.ltraceText)), ("return_value", d.value.jsonText),
                    ("out", "[" + d.outArguments.map { str($0.ltraceText) }.joined(separator: ",") + "]"),
                    ("out_values", "[" + d.outArguments.map(\.jsonText).joined(separator: ",") + "]"),
                ]
            }
        case .signal(let thread, let signal, let time):
            fields = common("signal", thread, thread, time) + [("signal", str(SignalName.name(signal))), ("number", String(signal))]
        case .exited(let process, let status, let time):
            fields = common("exited", process, process, time) + [("status", String(status))]
        case .killed(let process, let signal, let core, let time):
            fields = common("killed", process, process, time) + [
                ("signal", str(SignalName.name(signal))), ("number", String(signal)), ("core_dumped", core ? "true" : "false"),
            ]
        }
        output.write("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}\n")
        if case .call = event {} else if case .callReturn = event {} else { output.flush() }
    }

    public func finish() { output.flush() }

    private func str(_ s: String) -> String { Value.jsonString(Array(s.utf8)) }

    private func common(_ type: String, _ thread: ThreadID, _ process: ThreadID, _ time: Timestamp) -> [(String, String)] {
        let nanos = String(max(0, time.wallNanoseconds))
        let wall = "\(time.wallSeconds)." + String(repeating: "0", count: max(0, 9 - nanos.count)) + nanos
        return [("type", str(type)), ("tid", String(thread.rawValue)), ("pid", String(process.rawValue)),
                ("time", "{\"wall\":\"\(wall)\",\"monotonic_ns\":\(time.monotonicNanoseconds)}")]
    }
}
