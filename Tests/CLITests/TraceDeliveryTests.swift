import Foundation
import Testing
import TestSupport

/// The trace arrives as it happens (issue 10), and a trace that cannot be written says so (issue 14).
@Suite struct TraceDeliveryTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("trace") }

    private func program(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// Seconds since the epoch, as `-ttt` prints them.
    private static func now() -> Double { Date().timeIntervalSince1970 }

    /// `-ttt`'s timestamp at the start of a trace line (after a `[pid N] ` prefix).
    private static func timestamp(of line: Substring) -> Double? {
        Traced.body(of: String(line)).split(separator: " ").first.flatMap { Double($0) }
    }

    /// How long after its `-ttt` stamp each of the first `count` traced strlen lines came through `pipe`
    /// (fewer when the pipe ends first, or a minute passes).
    private static func strlenLineLatencies(_ pipe: Pipe, count: Int) -> [Double] {
        var latencies: [Double] = []
        var pending = Data()
        let deadline = now() + 60
        while latencies.count < count && now() < deadline {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            let arrived = now()
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                if line.contains("strlen("), let time = timestamp(of: Substring(line)) {
                    latencies.append(arrived - time)
                }
            }
        }
        return latencies
    }

    /// Starts `attachme` with one thread and returns it with its pid, once it printed `ready PID`.
    private func startAttachme() throws -> (Process, Int32) {
        let target = Process()
        target.executableURL = URL(fileURLWithPath: program("attachme"))
        target.arguments = ["120", "1"]
        let out = Pipe()
        target.standardOutput = out
        try TestSupport.start(target)
        var seen = Data()
        while !seen.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        let words = String(decoding: seen, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.first == "ready", words.count > 1, let pid = Int32(words[1]) else {
            target.terminate()
            throw TestSupportError("attachme did not say ready: \(String(decoding: seen, as: UTF8.self))")
        }
        return (target, pid)
    }

    /// `-p` on a loop: each line reaches a pipe within 100 ms of its event (ltrace's unbuffered stderr);
    /// before, nothing came until the detach.
    @Test func attachedTraceLinesArriveAsTheyHappen() throws {
        let (target, pid) = try startAttachme()
        defer { kill(target.processIdentifier, SIGUSR2); target.waitUntilExit() }
        let tracer = Process()
        tracer.executableURL = URL(fileURLWithPath: TestSupport.linkscopeExecutable)
        tracer.arguments = ["trace", "-ttt", "-e", "strlen", "--duration", "5", "-p", String(pid)]
        let err = Pipe()
        tracer.standardError = err
        tracer.standardOutput = FileHandle.nullDevice
        try TestSupport.start(tracer)
        defer { tracer.interrupt(); tracer.waitUntilExit() }
        let latencies = Self.strlenLineLatencies(err, count: 20)
        #expect(latencies.count >= 20, "lines seen: \(latencies.count)")  // one read may bring several lines
        // The first lines matter most: a user watching a loop sees them at once.
        #expect(latencies.prefix(5).allSatisfy { $0 < 0.1 }, "latencies (s): \(latencies)")
        #expect(latencies.sorted()[latencies.count / 2] < 0.1, "median latency over 100 ms: \(latencies)")
    }

    /// A launched program's calls reach a pipe while it runs, each within 100 ms of its `-ttt` stamp: at once
    /// under ptrace (the program is stopped at each call), coalesced for at most a few ms in-process.
    @Test(arguments: ["ptrace", "inproc"])
    func launchedTraceLinesArriveWhileTheProgramRuns(engine: String) throws {
        let tracer = Process()
        tracer.executableURL = URL(fileURLWithPath: TestSupport.linkscopeExecutable)
        tracer.arguments = ["trace", "--engine", engine, "-ttt", "-e", "strlen@MAIN", program("ticker"), "3"]
        let err = Pipe()
        tracer.standardError = err
        tracer.standardOutput = FileHandle.nullDevice
        try TestSupport.start(tracer)
        defer { _ = err.fileHandleForReading.readDataToEndOfFile(); tracer.waitUntilExit() }
        let latencies = Self.strlenLineLatencies(err, count: 10)
        // The ticker runs 3 s: ten lines seen (200 ms of ticks) means they came while it ran.
        #expect(tracer.isRunning, "the lines came only at the end")
        #expect(latencies.count == 10, "lines seen: \(latencies.count)")
        #expect(latencies.allSatisfy { $0 < 0.1 }, "latencies (s): \(latencies)")
    }

    /// `-o FILE` (a regular file) may buffer, but not for long: while the program runs, the file is no more
    /// than a fraction of a second behind it.
    @Test func outputFileIsWrittenWithinAFractionOfASecond() throws {
        let dir = try TestSupport.temporaryDirectory("trace-delivery")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("trace.txt").path
        let tracer = Process()
        tracer.executableURL = URL(fileURLWithPath: TestSupport.linkscopeExecutable)
        tracer.arguments = ["trace", "-ttt", "-o", file, "-e", "strlen@MAIN", program("ticker"), "2"]
        let out = Pipe()
        tracer.standardOutput = out
        try TestSupport.start(tracer)
        // It ends by itself (2 s): a killed linkscope would leave an in-process-traced ticker running.
        defer { _ = out.fileHandleForReading.readDataToEndOfFile(); tracer.waitUntilExit() }
        // Wait for the program's tenth tick, then see how far behind the file is.
        var ticks = 0
        while ticks < 10 {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            ticks += chunk.filter { $0 == UInt8(ascii: "\n") }.count
        }
        #expect(ticks >= 10)
        usleep(400_000)
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let complete = text.hasSuffix("\n") ? lines : lines.dropLast()
        let last = complete.last.flatMap(Self.timestamp(of:))
        #expect(complete.count >= 10, "\(text)")
        #expect(last != nil && Self.now() - last! < 0.3, "the file is behind by \(last.map { Self.now() - $0 } ?? -1) s")
    }

    /// A full disk, or a file that takes no writes: one line on stderr, the program runs to its end, and the
    /// status (125) says the trace was not written.
    @Test(arguments: ["/dev/full", "/proc/version"])
    func writeErrorsAreReported(destination: String) throws {
        let result = TestSupport.linkscope(["trace", "-o", destination, program("calls-lazy")])
        #expect(result.stdout == "hello 5\ndone\n")
        #expect(result.status != 0 && result.status != 3 && !result.killedBySignal, "status \(result.status)")
        if access(destination, W_OK) == 0 {
            #expect(result.status == 125)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.filter { $0.hasPrefix("linkscope: cannot write the trace to \(destination): ") }.count == 1,
                    "\(result.stderr)")
        } else {
            // Not root: /proc/version cannot even be opened for writing.
            #expect(result.stderr.contains("cannot open output file '\(destination)'"), "\(result.stderr)")
        }
    }

    /// A closed pipe on stderr: no SIGPIPE death (which would take a launched program with it); the program
    /// runs to its end and the status is 125.
    @Test func closedPipeIsAWriteErrorNotADeath() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        close(fds[0])
        defer { close(fds[1]) }
        let tracer = Process()
        tracer.executableURL = URL(fileURLWithPath: TestSupport.linkscopeExecutable)
        tracer.arguments = ["trace", program("calls-lazy")]
        let out = Pipe()
        tracer.standardOutput = out
        tracer.standardError = FileHandle(fileDescriptor: fds[1], closeOnDealloc: false)
        try TestSupport.start(tracer)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        tracer.waitUntilExit()
        #expect(tracer.terminationReason == .exit, "killed by signal \(tracer.terminationStatus)")
        #expect(tracer.terminationStatus == 125)
        #expect(String(decoding: stdout, as: UTF8.self) == "hello 5\ndone\n")
    }
}
