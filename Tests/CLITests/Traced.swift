import Foundation
import TestSupport

/// One run of `linkscope trace --engine-stats -o FILE …` and what it produced: the program's own output
/// and status, the trace lines, the called functions in order, and the engine's counters.
struct Traced {
    var status: Int32
    var stdout: String
    var stderr: String
    /// The trace itself (written with -o to its own file).
    var lines: [String]
    /// The function names of the trace's call lines, in order.
    var functions: [String]
    var calls: Int?
    var callStops: Int?
    /// The run used the in-process engine (`--engine-stats` names it), which stops at no call.
    var inProcess = false

    /// The stops the run took for its calls are what its engine takes: `ptrace` for the ptrace engine (two per
    /// call), none in-process.
    func callStops(ptrace expected: Int) -> Bool { callStops == (inProcess ? 0 : expected) }

    /// Traces `command` (after `--`) with `options`.
    static func run(_ options: [String], _ command: [String], directory: String? = nil) throws -> Traced {
        let dir = try TestSupport.temporaryDirectory("trace-engine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("trace.txt").path
        let result = TestSupport.linkscope(["trace", "--engine-stats", "-o", file] + options + ["--"] + command,
                                           directory: directory)
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return Traced(status: result.status, stdout: result.stdout, stderr: result.stderr, trace: text)
    }

    init(status: Int32, stdout: String, stderr: String, trace text: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
        lines = text.split(separator: "\n").map(String.init)
        functions = lines.compactMap { Traced.callee(of: $0) }
        if let stats = stderr.split(separator: "\n").first(where: { $0.contains("linkscope: engine:") }) {
            let words = stats.split(separator: " ")
            if let i = words.firstIndex(of: "calls,") { calls = Int(words[i - 1]) }
            if let i = words.firstIndex(of: "call"), i + 1 < words.count, words[i + 1] == "stops," { callStops = Int(words[i - 1]) }
            inProcess = stats.hasSuffix("[inproc]")
        }
    }

    /// The function a call line enters (`[pid 7] prog->strlen("x") = 1` → `strlen`); nil for other lines.
    static func callee(of line: String) -> String? {
        let body = Traced.body(of: line)
        if body.hasPrefix("<... ") || body.hasPrefix("---") || body.hasPrefix("+++") { return nil }
        guard let paren = body.firstIndex(of: "(") else { return nil }
        var name = body[..<paren]
        if let arrow = name.range(of: "->") { name = name[arrow.upperBound...] }
        return String(name)
    }

    /// The line without its `[pid N] ` prefix.
    static func body(of line: String) -> Substring {
        var body = Substring(line)
        if body.hasPrefix("[pid ") { body = body.drop { $0 != "]" }.dropFirst(2) }
        return body
    }

    /// N of a `[pid N] ` prefix.
    static func pid(of line: String) -> Int32? {
        guard line.hasPrefix("[pid "), let end = line.firstIndex(of: "]") else { return nil }
        return Int32(line[line.index(line.startIndex, offsetBy: 5)..<end])
    }
}
