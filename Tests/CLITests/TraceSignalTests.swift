import Foundation
import Testing
import TestSupport

/// SIGTERM or SIGHUP to `linkscope trace` loses nothing (issue 14): every event before the signal is in the
/// trace, the program gets the signal once (whether it reached linkscope alone or the whole process group),
/// and the exit status is the program's. Run with each engine: both relay the signals themselves
/// (SignalRelayThread), and both see the program take them (ptrace stops, the in-process one's supervisor).
@Suite struct TraceSignalTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("trace") }

    private var ticker: String { fixtures.appendingPathComponent("ticker").path }
    /// Runs its command with no signal blocked: the test runner's threads block them, and the mask survives
    /// exec (the in-process engine's program inherits linkscope's mask, as from a shell).
    private var cleanMask: String { fixtures.appendingPathComponent("cleanmask").path }

    struct Run {
        var status: Int32
        var killedBySignal: Bool
        /// The program's `tick N` lines.
        var ticks: Int
        var stdout: String
        var lines: [String]
        /// Traced strlen calls, by their entries: a call the signal came in the middle of is split over
        /// `strlen("tick" <unfinished ...>` and `<... strlen resumed> )`, and is one call.
        var strlenCalls: Int { lines.filter { $0.contains("strlen(\"tick\"") }.count }
    }

    private func result(_ status: Int32, _ killed: Bool, _ stdout: String, _ file: String) -> Run {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return Run(status: status, killedBySignal: killed,
                   ticks: stdout.split(separator: "\n").filter { $0.hasPrefix("tick ") }.count, stdout: stdout,
                   lines: text.split(separator: "\n").map(String.init))
    }

    /// `timeout -s SIGNAL 1 linkscope trace …`: timeout signals linkscope and then its whole process group.
    private func groupSignal(_ signal: String, engine: String, _ program: [String], file: String) -> Run {
        let out = TestSupport.run([cleanMask, "/usr/bin/timeout", "--preserve-status", "-s", signal, "1",
                                   TestSupport.linkscopeExecutable, "trace", "--engine", engine, "-o", file,
                                   "-e", "strlen@MAIN"] + program, timeout: 60)
        return result(out.status, out.killedBySignal, out.stdout, file)
    }

    /// `kill -SIGNAL PID-of-linkscope` once the program has ticked ten times: linkscope alone gets it.
    private func directSignal(_ signal: Int32, engine: String, _ program: [String], file: String,
                              through wrapper: [String] = []) throws -> Run {
        let tracer = Process()
        let command = [cleanMask] + wrapper + [TestSupport.linkscopeExecutable, "trace", "--engine", engine, "-o", file,
                                 "-e", "strlen@MAIN"] + program
        tracer.executableURL = URL(fileURLWithPath: command[0])
        tracer.arguments = Array(command.dropFirst())
        let out = Pipe()
        tracer.standardOutput = out
        try TestSupport.start(tracer)
        var seen = Data()
        while seen.filter({ $0 == UInt8(ascii: "\n") }).count < 10 {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        kill(tracer.processIdentifier, signal)
        seen.append(out.fileHandleForReading.readDataToEndOfFile())
        tracer.waitUntilExit()
        return result(tracer.terminationStatus, tracer.terminationReason == .uncaughtSignal,
                      String(decoding: seen, as: UTF8.self), file)
    }

    private func withFile(_ body: (String) throws -> Void) throws {
        let dir = try TestSupport.temporaryDirectory("trace-signal")
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(dir.appendingPathComponent("trace.txt").path)
    }

    /// Every call the program made before it died is in the trace: one strlen per tick it printed, and at
    /// most the one it was in when the signal came.
    private func expectNothingLost(_ run: Run, ending: String) {
        #expect(run.ticks >= 10, "\(run.stdout)")
        #expect(run.strlenCalls == run.ticks || run.strlenCalls == run.ticks + 1,
                "\(run.strlenCalls) calls traced for \(run.ticks) ticks: \(run.lines.suffix(5))")
        #expect(run.lines.last == ending, "\(run.lines.suffix(5))")
    }

    @Test(arguments: ["ptrace", "inproc"])
    func groupSigtermLosesNothing(engine: String) throws {
        try withFile { file in
            let run = groupSignal("TERM", engine: engine, [ticker, "30"], file: file)
            #expect(run.status == 128 + SIGTERM && !run.killedBySignal, "status \(run.status)")
            expectNothingLost(run, ending: "+++ killed by SIGTERM +++")
            #expect(run.lines.filter { $0 == "--- SIGTERM (Terminated) ---" }.count == 1, "\(run.lines.suffix(5))")
        }
    }

    /// linkscope alone gets SIGHUP: the program gets it too, once, and dies of it, traced to the end.
    @Test(arguments: ["ptrace", "inproc"])
    func directSighupIsPassedOn(engine: String) throws {
        try withFile { file in
            let run = try directSignal(SIGHUP, engine: engine, [ticker, "30"], file: file)
            #expect(run.status == 128 + SIGHUP && !run.killedBySignal, "status \(run.status)")
            expectNothingLost(run, ending: "+++ killed by SIGHUP +++")
        }
    }

    /// A program that handles SIGTERM gets it exactly once whether it came to the group (timeout) or to
    /// linkscope alone, and its own ending (exit 7) is traced and returned.
    @Test(arguments: ["ptrace", "inproc"])
    func aProgramThatHandlesTheSignalGetsItOnce(engine: String) throws {
        try withFile { file in
            let group = groupSignal("TERM", engine: engine, [ticker, "30", "catch"], file: file)
            #expect(group.status == 7, "status \(group.status)")
            #expect(group.stdout.hasSuffix("caught \(SIGTERM) after \(group.ticks)\n"), "\(group.stdout)")
            expectNothingLost(group, ending: "+++ exited (status 7) +++")
            #expect(group.lines.filter { $0.hasPrefix("--- SIGTERM") }.count == 1, "\(group.lines.suffix(5))")
        }
        try withFile { file in
            let direct = try directSignal(SIGTERM, engine: engine, [ticker, "30", "catch"], file: file)
            #expect(direct.status == 7, "status \(direct.status)")
            expectNothingLost(direct, ending: "+++ exited (status 7) +++")
        }
    }

    /// Under nohup, SIGHUP is ignored by linkscope and by the program (it inherits the disposition): a
    /// hangup changes nothing, and the program runs to its end.
    @Test(arguments: ["ptrace", "inproc"])
    func anIgnoredSignalStaysIgnored(engine: String) throws {
        try withFile { file in
            let run = try directSignal(SIGHUP, engine: engine, [ticker, "1"], file: file, through: ["/usr/bin/nohup"])
            #expect(run.status == 0 && !run.killedBySignal, "status \(run.status)")
            expectNothingLost(run, ending: "+++ exited (status 0) +++")
        }
    }
}
