import Foundation
import Glibc
import Testing
import TestSupport

/// Issue #4: threads, fork/vfork/exec with and without -f, and attaching to running programs with -p. Each
/// test checks the trace *and* that the traced program computed and exited exactly as it does untraced.
@Suite struct TraceProcessTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("trace") }

    private func program(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    // MARK: Threads

    /// 4 threads × 10,000 strlen calls at once, five runs in a row: every call seen, two stops each, and the
    /// program's own total right.
    @Test func threadStressCountsEveryCallExactly() throws {
        for _ in 0..<5 {
            let result = try Traced.run(["-e", "strlen"], [program("stress"), "4", "10000"])
            #expect(result.status == 0)
            #expect(result.stdout == "threads=4 calls=40000 total=100000 ok\n")
            #expect(result.calls == 40000 && result.callStops(ptrace: 80000), "\(result.stderr)")
            let strlenLines = result.lines.filter { Traced.callee(of: $0) == "strlen" }
            #expect(strlenLines.count == 40000)
            // Thread i measures i+1 letters: a result reported on the wrong thread shows here.
            var expected: [Int32: Int] = [:]
            var misattributed = 0
            for line in strlenLines + result.lines.filter({ Traced.body(of: $0).hasPrefix("<... strlen resumed>") }) {
                let pid = Traced.pid(of: line) ?? 0
                let body = Traced.body(of: line)
                if let open = body.range(of: "strlen(\"") {
                    expected[pid] = body[open.upperBound...].prefix { $0 != "\"" }.count
                }
                if let equals = body.range(of: " = ", options: .backwards), let value = Int(body[equals.upperBound...]),
                   value != expected[pid] { misattributed += 1 }
            }
            #expect(misattributed == 0)
        }
    }

    @Test func summaryCountsAreExactUnderContention() throws {
        let result = try Traced.run(["-c", "-e", "strlen"], [program("stress"), "4", "2500"])
        #expect(result.stdout == "threads=4 calls=10000 total=25000 ok\n")
        #expect(result.lines.contains { $0.hasSuffix(" 10000 strlen") }, "\(result.lines)")
    }

    // MARK: Children without -f

    @Test func childrenRunUntracedAndUnharmedWithoutFollow() throws {
        let plain = TestSupport.run([program("spawn")])
        #expect(plain.status == 0)
        let result = try Traced.run(["-e", "strlen"], [program("spawn")], directory: fixtures.path)
        #expect(result.status == plain.status)
        #expect(result.stdout == plain.stdout)
        // The parent's six through its own PLT (libc.so.6->strlen lines are printf's), none of its children's,
        // and no [pid] prefix: only one thread printed.
        #expect(result.lines.filter { $0.hasPrefix("spawn->strlen(") }.count == 6, "\(result.lines)")
        #expect(!result.lines.contains { $0.contains("strlen(\"child\")") || $0.contains("strlen(\"forker-child\")") })
        #expect(result.lines.allSatisfy { !$0.hasPrefix("[pid ") })
        #expect(result.lines.last == "+++ exited (status 0) +++")
    }

    @Test func vforkChildrenRunUnharmedWithoutFollow() throws {
        let plain = TestSupport.run([program("vforker")])
        #expect(plain.stdout == "start 7\nvfork-execve exited 0\nvfork-exit exited 5\nparent 6\n")
        let result = try Traced.run(["-e", "strlen"], [program("vforker")])
        #expect(result.stdout == plain.stdout)
        #expect(result.status == 0)
        #expect(result.lines.filter { $0.hasPrefix("vforker->strlen(") }.count == 2, "\(result.lines)")
        #expect(!result.lines.contains { $0.contains("vfork-child") })
    }

    // MARK: -f

    @Test func followTracesEveryChildAndExec() throws {
        let plain = TestSupport.run([program("spawn")])
        let result = try Traced.run(["-f", "-e", "strlen+forker_fork+fputs_unlocked"], [program("spawn")])
        #expect(result.stdout == plain.stdout)
        #expect(result.status == 0, "the first process's status, not a child's")
        #expect(result.lines.allSatisfy { $0.hasPrefix("[pid ") }, "ltrace -f prefixes every line")
        // The parent makes no selected call before its first fork: its pid is the last line's.
        let parent = try #require(result.lines.last.flatMap(Traced.pid(of:)))
        let parentStrlen = result.lines.filter { Traced.pid(of: $0) == parent && $0.contains("] spawn->strlen(") }
        #expect(parentStrlen.count == 6)
        // The fork children's own calls, under their own pids.
        // (An entry line another process interrupts ends `<unfinished ...>`: match the entry's left half.)
        let child = try #require(result.lines.first { $0.contains("spawn->strlen(\"child\"") })
        #expect(Traced.pid(of: child) != parent)
        let forkerChild = try #require(result.lines.first { $0.contains("spawn->strlen(\"forker-child\"") })
        let forkerPid = try #require(Traced.pid(of: forkerChild))
        #expect(forkerPid != parent)
        // forker_fork returns in both processes: the child returns through the copy of the hijacked address.
        #expect(result.lines.contains { Traced.pid(of: $0) == forkerPid && $0.contains("<... forker_fork resumed> )") && $0.hasSuffix(" = 0") },
                "\(result.lines)")
        #expect(result.lines.contains("[pid \(forkerPid)] +++ exited (status 9) +++"))
        #expect(result.lines.contains { $0.hasSuffix("+++ exited (status 7) +++") })
        // After exec the new image is armed, and its lines carry its own name.
        #expect(result.lines.contains { $0.contains("] echo->fputs_unlocked(\"exec-child\", ") }, "\(result.lines)")
        #expect(result.lines.contains { $0.contains("] echo->fputs_unlocked(\"spawned\", ") })
        #expect(result.lines.last == "[pid \(parent)] +++ exited (status 0) +++")
    }

    @Test func followTracesVforkChildren() throws {
        let result = try Traced.run(["-f", "-e", "strlen"], [program("vforker")])
        #expect(result.stdout == "start 7\nvfork-execve exited 0\nvfork-exit exited 5\nparent 6\n")
        #expect(result.status == 0)
        let children = result.lines.filter { $0.contains("strlen(\"vfork-child\")") && $0.hasSuffix(" = 11") }
        #expect(children.count == 2, "\(result.lines)")
        #expect(Set(children.compactMap(Traced.pid(of:))).count == 2)
        #expect(result.lines.contains { $0.hasSuffix("+++ exited (status 5) +++") })
    }

    @Test func unwindingAcrossTracedCallsUnderFollow() throws {
        let jump = try Traced.run(["-f"], [program("jump")])
        #expect(jump.stdout == "after 4\n" && jump.status == 5)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/g++") {
            let thrown = try Traced.run(["-f"], [program("exception")])
            #expect(thrown.stdout == "caught boom 4\nsecond 0\n" && thrown.status == 4)
        }
    }

    // MARK: -p

    /// A program attached to and detached from six times (--duration, SIGINT, SIGTERM), with signals sent in
    /// between, finishes exactly as it would untraced.
    @Test func attachAndDetachLeaveTheProgramUnharmed() throws {
        // Long enough for six rounds on a loaded machine; SIGUSR2 ends it once they are done.
        let target = try Background([program("attachme"), "120", "4"])
        defer { target.stop() }
        let pid = try target.waitForReady()
        var traces: [Traced] = []
        for round in 0..<6 {
            let way = ["duration", "SIGINT", "SIGTERM"][round % 3]
            var options = ["-e", "strlen+usleep"]
            if way == "duration" { options += ["--duration", "0.3"] }
            let trace = try Background.linkscopeTrace(options + ["-p", String(pid)])
            if way != "duration" {
                Background.waitUntil(pid, isTracedBy: trace.pid)
                usleep(300_000)
                kill(trace.pid, way == "SIGINT" ? SIGINT : SIGTERM)
            }
            let result = trace.finish()
            #expect(result.status == 0, "\(way): \(result.stderr)")
            #expect(!result.stderr.split(separator: "\n").contains { !$0.hasPrefix("linkscope: engine:") },
                    "\(way): \(result.stderr)")
            traces.append(result)
            kill(pid, SIGUSR1)
            usleep(50_000)
        }
        kill(pid, SIGUSR2)
        let end = target.finish()
        #expect(end.status == 0)
        #expect(end.stdout.contains("mismatches=0\nusr1=6\nexit 0\n"), "\(end.stdout)")
        for trace in traces {
            #expect(trace.lines.last == "[pid \(pid)] +++ detached +++", "\(trace.lines.suffix(3))")
            // Threads were running when it attached: every line names its thread, from the first.
            #expect(trace.lines.allSatisfy { $0.hasPrefix("[pid ") })
            #expect(trace.lines.contains { $0.contains("attachme->strlen(\"attachme\")") && $0.hasSuffix(" = 8") }
                    || trace.lines.contains { $0.contains("<... strlen resumed> )") && $0.hasSuffix(" = 8") })
            // Every thread is traced: the workers' calls come from more than one thread.
            #expect(Set(trace.lines.compactMap(Traced.pid(of:))).count >= 2)
        }
    }

    /// Threads and children created and ending all the time while linkscope attaches and detaches (with and
    /// without -f) at arbitrary moments: every detach ends, and no thread or child of churn is harmed.
    @Test func attachAndDetachWhileThreadsAndChildrenComeAndGo() throws {
        let target = try Background([program("churn"), "120"])
        defer { target.stop() }
        let pid = try target.waitForReady()
        for round in 0..<10 {
            let follow = round % 2 == 1 ? ["-f"] : []
            let trace = try Background.linkscopeTrace(follow + ["-e", "strlen", "-p", String(pid)])
            // A signal before linkscope has started would find SIGINT as the test runner left it.
            Background.waitUntil(pid, isTracedBy: trace.pid)
            usleep(UInt32(100_000 + 70_000 * (round % 4)))
            kill(trace.pid, SIGINT)
            let result = trace.finish(onHang: { Background.threadStates(pid) })
            #expect(result.status == 0, "round \(round): \(result.stderr)")
            #expect(result.lines.last?.hasSuffix("+++ detached +++") == true, "round \(round): \(result.lines.suffix(3))")
        }
        kill(pid, SIGUSR2)
        let end = target.finish()
        #expect(end.status == 0)
        #expect(end.stdout.contains("\nbad=0\n"), "\(end.stdout)")
    }

    /// -f from the start: every fork and vfork child of every round is followed to its exit.
    @Test func followEveryChildOfAChurningProgram() throws {
        let result = try Traced.run(["-f", "-e", "strlen"], [program("churn"), "1"])
        #expect(result.status == 0)
        let rounds = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("rounds=") }.flatMap { Int($0.dropFirst(7)) })
        #expect(result.stdout.hasSuffix("bad=0\n"))
        // Two children per round, and the program itself.
        #expect(result.lines.filter { $0.contains("+++ exited (status ") }.count == 2 * rounds + 1)
        // 2 threads x 50 calls and the fork child's one, per round.
        #expect(result.lines.filter { $0.contains("churn->strlen(\"churn\"") }.count == 101 * rounds)
    }

    @Test func aStoppedProgramStaysStoppedAfterDetach() throws {
        let target = try Background([program("attachme"), "60", "2"])
        defer { target.stop() }
        let pid = try target.waitForReady()
        kill(pid, SIGSTOP)
        usleep(100_000)
        let trace = try Background.linkscopeTrace(["-e", "strlen", "--duration", "0.3", "-p", String(pid)])
        let result = trace.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Background.state(of: pid) == "T", "job-control stop kept")
        #expect(!result.lines.contains { Traced.callee(of: $0) == "strlen" }, "nothing ran while stopped")
        kill(pid, SIGCONT)
        kill(pid, SIGUSR2)
        let end = target.finish()
        #expect(end.status == 0 && end.stdout.contains("mismatches=0"))
    }

    /// A launched program is seized too, so SIGSTOP (^Z) stops it under trace until SIGCONT, as without.
    /// Both engines see the stop and the continue as signals (the in-process one through its supervisor).
    @Test func jobControlStopsHoldForALaunchedProgram() throws {
        let trace = try Background.linkscopeTrace(["-e", "strlen", "--", program("attachme"), "60", "1"])
        defer { trace.stop() }
        let pid = try trace.waitForReady()
        kill(pid, SIGSTOP)
        usleep(200_000)
        let before = try String(contentsOf: trace.directory.appendingPathComponent("out"), encoding: .utf8)
        let stoppedAt = Background.lines(ofTraceFile: trace)
        usleep(500_000)
        #expect(Background.lines(ofTraceFile: trace) == stoppedAt, "no call while stopped")
        #expect(["T", "t"].contains(Background.state(of: pid)))
        kill(pid, SIGCONT)
        kill(pid, SIGUSR2)
        let result = trace.finish()
        #expect(before == "ready \(pid)\n")
        #expect(result.status == 0)
        #expect(result.stdout.contains("mismatches=0"))
        #expect(result.lines.contains { $0.hasSuffix("--- SIGSTOP (Stopped (signal)) ---") })
        #expect(result.lines.contains { $0.hasSuffix("--- SIGCONT (Continued) ---") })
    }

    /// A process attached to that is linkscope's own child (the shell forks it, then becomes linkscope; the
    /// same as linkscope being PID 1 of a namespace, where orphans are its children): after the detach
    /// linkscope exits, rather than waiting for a child that is no longer traced (issue 14).
    @Test func detachFromOurOwnChildEnds() throws {
        let dir = try TestSupport.temporaryDirectory("trace-own-child")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("trace.txt").path
        // attachme gets no descriptor but 0-2: Foundation's Process sees its child end when the last copy of a
        // socket it handed down closes, and attachme outlives linkscope.
        let script = """
            (for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec "$0" 8 1) \
            >/dev/null 2>&1 </dev/null &
            exec "$1" trace -o "$2" -e strlen --duration 0.3 -p $!
            """
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/bash")
        shell.arguments = ["-c", script, program("attachme"), TestSupport.linkscopeExecutable, file]
        shell.standardOutput = FileHandle.nullDevice
        shell.standardError = FileHandle.nullDevice
        let started = Date()
        try TestSupport.start(shell)
        shell.waitUntilExit()
        #expect(shell.terminationReason == .exit && shell.terminationStatus == 0, "status \(shell.terminationStatus)")
        #expect(Date().timeIntervalSince(started) < 4, "linkscope waited for its detached child")
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        #expect(text.hasSuffix("+++ detached +++\n"), "\(text.suffix(200))")
    }

    @Test func attachToMissingProcessIsOneLine() throws {
        let result = TestSupport.linkscope(["trace", "-p", "999999999"])
        #expect(result.status == 126)
        #expect(result.stderr == "linkscope: cannot attach to 999999999: no such process\n")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace")))
    func attachToAnAlreadyTracedProcessSaysWho() throws {
        let target = try Background(["/usr/bin/strace", "-o", "/dev/null", program("attachme"), "60", "1"])
        defer { target.stop() }
        let pid = try target.waitForReady()
        defer { kill(pid, SIGUSR2) }
        let result = TestSupport.linkscope(["trace", "-p", String(pid)])
        #expect(result.status == 126)
        #expect(result.stderr.hasPrefix("linkscope: cannot attach to \(pid): already traced by process "))
        #expect(result.stderr.hasSuffix(" (strace)\n"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test(arguments: [
        ["-p", "1", "--", "/bin/true"], ["--duration", "1", "--", "/bin/true"], ["-p", "0"], ["-p", "1", "--duration", "-1"],
    ])
    func attachUsageErrors(arguments: [String]) {
        let result = TestSupport.linkscope(["trace"] + arguments)
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
    }

    /// PTRACE_O_EXITKILL: a launched program does not outlive a SIGKILLed linkscope, stopped forever.
    /// The ptrace engine's guarantee (PTRACE_O_EXITKILL); the in-process engine's is the opposite, below.
    @Test func launchedProgramDiesWithLinkscope() throws {
        let trace = try Background([TestSupport.linkscopeExecutable, "trace", "--engine", "ptrace", "-e", "strlen",
                                    "-o", "/dev/null", "--", program("attachme"), "30", "1"])
        defer { trace.stop() }
        let pid = try trace.waitForReady()
        kill(trace.pid, SIGKILL)
        _ = trace.finish()
        let gone = Background.waitUntilGone(pid, seconds: 5)
        #expect(gone, "the traced program is still alive: \(Background.state(of: pid) ?? "-")")
    }
}

/// A process run in the background with its output in files, for tests that act on it while it runs.
final class Background {
    let process = Process()
    let directory: URL
    var pid: Int32 { process.processIdentifier }
    private var traceFile: String?

    init(_ arguments: [String]) throws {
        directory = try TestSupport.temporaryDirectory("background")
        FileManager.default.createFile(atPath: directory.appendingPathComponent("out").path, contents: nil)
        FileManager.default.createFile(atPath: directory.appendingPathComponent("err").path, contents: nil)
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = try FileHandle(forWritingTo: directory.appendingPathComponent("out"))
        process.standardError = try FileHandle(forWritingTo: directory.appendingPathComponent("err"))
        process.standardInput = FileHandle.nullDevice
        try TestSupport.start(process)
    }

    /// `linkscope trace --engine-stats -o FILE ARGS` in the background.
    /// Whether process `pid` ends (is gone or a zombie) within `seconds`, looked at every 100 ms.
    static func waitUntilGone(_ pid: Int32, seconds: Double) -> Bool {
        for _ in 0..<max(1, Int(seconds * 10)) {
            let state = state(of: pid)
            if state == nil || state == "Z" { return true }
            usleep(100_000)
        }
        let state = state(of: pid)
        return state == nil || state == "Z"
    }

    static func linkscopeTrace(_ arguments: [String]) throws -> Background {
        let directory = try TestSupport.temporaryDirectory("background-trace")
        let file = directory.appendingPathComponent("trace.txt").path
        let trace = try Background([TestSupport.linkscopeExecutable, "trace", "--engine-stats", "-o", file] + arguments)
        trace.traceFile = file
        return trace
    }

    var stdout: String { (try? String(contentsOf: directory.appendingPathComponent("out"), encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: directory.appendingPathComponent("err"), encoding: .utf8)) ?? "" }

    /// The PID of an attachme fixture's `ready PID` line (waits up to 20 s).
    func waitForReady() throws -> Int32 {
        for _ in 0..<400 {
            if let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("ready ") }),
               let pid = Int32(line.dropFirst(6)) { return pid }
            if !process.isRunning { break }
            usleep(50_000)
        }
        throw TestSupportError("no 'ready' line from \(process.executableURL?.path ?? "?"): \(stdout) \(stderr)")
    }

    /// Waits for the end (at most 60 s, then SIGKILL) and returns what it did.
    func finish(onHang: () -> String = { "" }) -> Traced {
        for _ in 0..<1200 where process.isRunning { usleep(50_000) }
        var hung = ""
        if process.isRunning {
            hung = "still running after 60 s, in " + ((try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? "?")
                + "; " + onHang()
            kill(pid, SIGKILL)
        }
        process.waitUntilExit()
        let trace = traceFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
        return Traced(status: process.terminationStatus, stdout: stdout, stderr: stderr + hung, trace: trace)
    }

    func stop() {
        if process.isRunning { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
        if let traceFile { try? FileManager.default.removeItem(atPath: (traceFile as NSString).deletingLastPathComponent) }
    }

    /// Each thread of `pid` with its State and TracerPid, for a failure message.
    static func threadStates(_ pid: Int32) -> String {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.sorted().map { tid in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/status", encoding: .utf8)) ?? ""
            let fields = text.split(separator: "\n").filter { $0.hasPrefix("State:") || $0.hasPrefix("TracerPid:") || $0.hasPrefix("SigPnd:") }
            return tid + " " + fields.joined(separator: " ")
        }.joined(separator: "; ")
    }

    /// Waits (up to 20 s) until `pid` is traced by `tracer`.
    static func waitUntil(_ pid: Int32, isTracedBy tracer: Int32) {
        for _ in 0..<1000 {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return }
            if text.split(separator: "\n").contains(where: { $0.hasPrefix("TracerPid:") && $0.hasSuffix("\t\(tracer)") }) { return }
            usleep(20_000)
        }
    }

    /// How many lines the trace file of a `linkscopeTrace` holds so far.
    static func lines(ofTraceFile trace: Background) -> Int {
        guard let file = trace.traceFile, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").count
    }

    /// The one-letter State of /proc/PID/status (R, S, T, t, Z…), nil when the process is gone.
    static func state(of pid: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("State:") }) else { return nil }
        return line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
    }
}
