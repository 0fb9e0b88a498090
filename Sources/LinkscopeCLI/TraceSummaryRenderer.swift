import Foundation
import TraceModel
import Tracer

/// ltrace's `-c`: per function, time spent inside it (entry stop to return stop, so callbacks it made are
/// included, as ltrace counts), calls, and the share of the total; sorted by time, longest first, then by
/// name. Printed once, by `finish`. A call still open when the program ended counts up to the last event;
/// one shown at entry only (`NoReturnFunctions`) counts no time.
public final class SummaryRenderer: TraceRenderer {
    private struct Totals { var nanoseconds: UInt64 = 0; var calls = 0 }
    private let output: TraceTextWriter
    private var totals: [String: Totals] = [:]
    private var open: [UInt64: (function: String, start: UInt64)] = [:]
    private var lastTime: UInt64 = 0

    public init(output: TraceTextWriter) { self.output = output }

    public func render(_ event: TraceEvent) {
        switch event {
        case .call(let call):
            totals[call.function, default: Totals()].calls += 1
            // A function shown at entry only (exit, longjmp, setjmp, vfork...: no engine waits for its return)
            // has no time of its own to claim, not the time until whatever stop comes next or the end.
            if !NoReturnFunctions.contains(call.function) {
                open[call.callID] = (call.function, call.time.monotonicNanoseconds)
            }
            lastTime = max(lastTime, call.time.monotonicNanoseconds)
        case .callReturn(let ret):
            lastTime = max(lastTime, ret.time.monotonicNanoseconds)
            guard let entry = open.removeValue(forKey: ret.callID) else { return }
            add(entry.function, from: entry.start, to: ret.time.monotonicNanoseconds)
        case .systemCall(let call):
            // A row per system call (`-S`), by its SYS_ name.
            totals[call.name, default: Totals()].calls += 1
            add(call.name, from: call.entryTime.monotonicNanoseconds, to: call.time.monotonicNanoseconds)
            lastTime = max(lastTime, call.time.monotonicNanoseconds)
        case .signal(_, _, let time), .exited(_, _, let time), .killed(_, _, _, let time), .detached(_, let time),
             .exec(_, _, let time):
            lastTime = max(lastTime, time.monotonicNanoseconds)
        }
    }

    private func add(_ function: String, from start: UInt64, to end: UInt64) {
        totals[function, default: Totals()].nanoseconds += end >= start ? end - start : 0
    }

    public func finish() {
        for (_, entry) in open { add(entry.function, from: entry.start, to: lastTime) }
        open.removeAll()
        output.write(SummaryRenderer.table(totals.map { ($0.key, $0.value.nanoseconds, $0.value.calls) }))
        output.flush()
    }

    /// The table itself, from (function, nanoseconds inside, calls) rows.
    public static func table(_ rows: [(function: String, nanoseconds: UInt64, calls: Int)]) -> String {
        let sorted = rows.sorted { $0.nanoseconds != $1.nanoseconds ? $0.nanoseconds > $1.nanoseconds : $0.function < $1.function }
        let totalNanoseconds = rows.reduce(UInt64(0)) { $0 + $1.nanoseconds }
        let totalCalls = rows.reduce(0) { $0 + $1.calls }
        let rule = "------ ----------- ----------- --------- --------------------\n"
        var text = "% time     seconds  usecs/call     calls      function\n" + rule
        for row in sorted {
            let micros = row.nanoseconds / 1000
            let percent = totalNanoseconds == 0 ? 0 : Double(row.nanoseconds) * 100 / Double(totalNanoseconds)
            let perCall = row.calls == 0 ? 0 : Double(micros) / Double(row.calls)
            text += String(format: "%6.2f %4llu.%06llu %11.0f %9d ", percent, micros / 1_000_000, micros % 1_000_000,
                           perCall, row.calls) + row.function + "\n"
        }
        text += rule
        let micros = totalNanoseconds / 1000
        text += String(format: "100.00 %4llu.%06llu ", micros / 1_000_000, micros % 1_000_000)
            + String(repeating: " ", count: 11) + String(format: " %9d total\n", totalCalls)
        return text
    }
}
