import Foundation
import Glibc
import TestSupport
import Testing

/// What only the in-process engine promises (issue 9): call counts equal to a counting LD_PRELOAD interposer
/// on real programs of this machine, the program's own environment and descriptors, and a program that runs on
/// to its own end when linkscope is killed. The rest of the trace tests run on both engines (scripts/test runs
/// them a second time with LINKSCOPE_TRACE_ENGINE=inproc).
@Suite struct InProcessEngineTests {
    private func program(_ name: String) -> String {
        (try? TestSupport.testBinaries.appendingPathComponent("trace/\(name)").path) ?? name
    }

    /// Per calling object, the strlen and getenv calls the interposer counts, untraced.
    private func interposerCounts(_ command: [String], stdin: String? = nil) throws -> [String: Int] {
        let dir = try TestSupport.temporaryDirectory("counter")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("counts").path
        let shell = (stdin.map { "exec < \($0); " } ?? "") + "exec \"$@\""
        let result = TestSupport.run(["/bin/sh", "-c", shell, "sh"] + command,
                                     environment: ["LD_PRELOAD": program("libcounter.so"), "COUNTER_OUT": out])
        #expect(result.status == 0, "\(command): \(result.stderr)")
        var counts: [String: Int] = [:]
        for line in try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: "\t").map(String.init)
            guard fields.count == 3, let n = Int(fields[2]), n > 0 else { continue }
            let object = fields[0].split(separator: "/").last.map(String.init) ?? fields[0]
            counts["\(object) \(fields[1])", default: 0] += n
        }
        return counts
    }

    /// The same, from `trace --engine inproc --json`: the caller's name (main program: its file name).
    private func tracedCounts(_ command: [String], stdin: String? = nil) throws -> [String: Int] {
        let dir = try TestSupport.temporaryDirectory("inproc-count")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("trace.json").path
        let shell = (stdin.map { "exec < \($0); " } ?? "") + "exec \"$@\""
        // The same number of variables of the same sizes as the interposer's run: programs that walk their
        // environment (perl, python) call strlen per variable.
        let result = TestSupport.run(["/bin/sh", "-c", shell, "sh", TestSupport.linkscopeExecutable, "trace",
                                      "--engine", "inproc", "--json", "-e", "strlen+getenv", "-o", file, "--"] + command,
                                     environment: ["XX_PRELOAD": program("libcounter.so"),
                                                   "COUNTER_OUT": dir.appendingPathComponent("counts").path])
        #expect(result.status == 0, "\(command): \(result.stderr)")
        let main = URL(fileURLWithPath: command[0]).lastPathComponent
        var counts: [String: Int] = [:]
        for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["type"] as? String == "call", let function = object["function"] as? String else { continue }
            let caller = object["caller"] as? String ?? main
            counts["\(caller) \(function)", default: 0] += 1
        }
        return counts
    }

    static let realPrograms: [[String]] = [
        ["/usr/bin/python3", "-c", "import json, os; print(len(json.dumps(dict(os.environ))) > 0)"],
        ["/usr/bin/perl", "-e", "print length($ENV{HOME}), qq{\\n}"],
        ["/usr/bin/git", "--version"],
        ["/usr/bin/tar", "--version"],
        ["/usr/bin/find", "/usr/share/doc", "-maxdepth", "1", "-name", "lib*"],
        ["/usr/bin/gzip", "-c", "/etc/services"],
        ["/usr/bin/xz", "-T2", "-c", "/etc/services"],
    ]

    /// Every strlen and getenv call through a PLT, per calling object, as the interposer counts it.
    @Test(arguments: realPrograms)
    func countsEqualACountingInterposer(command: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: command[0]) else { return }
        let truth = try interposerCounts(command)
        // libc's calls to its own IFUNCs (strlen through IRELATIVE slots) cannot be interposed, so the
        // interposer never sees them; both engines trace them, as ltrace does.
        let traced = try tracedCounts(command).filter { !$0.key.hasPrefix("libc.so.6 ") }
        #expect(traced == truth, "\(command)")
        #expect(!truth.isEmpty, "the interposer counted nothing: the comparison would prove nothing")
    }

    /// The program sees its own environment and descriptors: no LD_AUDIT, no memfd.
    @Test func theProgramSeesItsOwnEnvironmentAndDescriptors() throws {
        let script = #"env | LC_ALL=C sort; ls -l /proc/$$/fd | sed 's/.*[0-9] \([0-9]* ->\)/\1/' | LC_ALL=C sort; echo "audit=${LD_AUDIT-unset}""#
        let plain = TestSupport.run(["/bin/sh", "-c", script], environment: ["LD_AUDIT": nil])
        let traced = TestSupport.linkscope(["trace", "--engine", "inproc", "-o", "/dev/null", "--", "/bin/sh", "-c", script],
                                           environment: ["LD_AUDIT": nil])
        #expect(traced.status == 0, "\(traced.stderr)")
        let normalise = { (text: String) in
            // `_` is the shell's; pipes and the test runner's sockets are inherited with new numbers; a
            // descriptor another test thread closed while ls listed it shows as `l?????????`.
            text.split(separator: "\n").filter { !$0.hasPrefix("_=") && !$0.contains("pipe:") && !$0.contains("socket:")
                && !$0.hasPrefix("l?????????") }
                .joined(separator: "\n")
        }
        #expect(normalise(traced.stdout) == normalise(plain.stdout))
        #expect(traced.stdout.contains("audit=unset"))
    }

    /// A user's own LD_AUDIT is kept (the agent removes only its own entry).
    @Test func aUsersOwnLDAuditIsKept() throws {
        let result = TestSupport.linkscope(["trace", "--engine", "inproc", "-o", "/dev/null", "--", "/bin/sh", "-c",
                                            "echo \"$LD_AUDIT\""], environment: ["LD_AUDIT": "/nonexistent-audit.so"])
        #expect(result.stdout == "/nonexistent-audit.so\n", "\(result.stderr)")
    }

    /// linkscope SIGKILLed mid-trace: the agent notices and stops recording, and the program runs on to its
    /// own end, every result right (the ptrace engine's EXITKILL does the opposite).
    @Test func programRunsOnWhenLinkscopeIsKilled() throws {
        let trace = try Background([TestSupport.linkscopeExecutable, "trace", "--engine", "inproc", "-e", "strlen",
                                    "-o", "/dev/null", "--", program("attachme"), "4", "2"])
        defer { trace.stop() }
        let pid = try trace.waitForReady()
        kill(trace.pid, SIGKILL)
        _ = trace.finish()
        #expect(Background.waitUntilGone(pid, seconds: 30), "the program did not finish")
        let out = trace.stdout
        #expect(out.contains("mismatches=0") && out.contains("exit 0"), "\(out)")
    }

    /// python3.11 is not PIE and takes malloc's address, so its PLT stub is malloc's canonical address and the
    /// loader's own malloc goes through it: the agent's thread state must not need malloc (it did through
    /// __tls_get_addr, and the hooked malloc recursed until the stack overflowed).
    @Test func hookingACanonicalMallocDoesNotRecurse() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { return }
        let plain = TestSupport.run(["/usr/bin/python3", "-c", "import json; print(json.dumps([1]))"])
        let result = try Traced.run(["--engine", "inproc", "-e", "malloc@MAIN+free@MAIN"],
                                    ["/usr/bin/python3", "-c", "import json; print(json.dumps([1]))"])
        #expect(result.status == 0 && result.stdout == plain.stdout, "\(result.stderr)")
        #expect(result.functions.filter { $0 == "malloc" }.count > 100)
    }

    /// A `#!` script is its interpreter's start (the kernel execs that with the environment): the in-process
    /// engine serves it, through `#!/usr/bin/env sh` too (env execs sh: followed, the agent given again).
    @Test func aScriptIsTracedInProcess() throws {
        let dir = try TestSupport.temporaryDirectory("inproc-script")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = dir.appendingPathComponent("greet").path
        try "#!/usr/bin/env sh\necho \"hi ${0##*/}\"\n".write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let result = TestSupport.linkscope(["trace", "--engine-stats", "-e", "strlen", "-o", "/dev/null", "--", script],
                                           environment: ["LINKSCOPE_TRACE_ENGINE": nil])
        #expect(result.status == 0 && result.stdout == "hi greet\n", "\(result.stderr)")
        #expect(result.stderr.contains("[inproc]") && !result.stderr.contains(" 0 calls,"), "\(result.stderr)")
    }

    /// A program set-uid to another user starts in secure-execution mode, where the loader ignores LD_AUDIT:
    /// the in-process engine says it cannot serve (auto takes ptrace) instead of tracing nothing.
    @Test(.enabled(if: geteuid() == 0))
    func aSetuidProgramIsNotForTheInProcessEngine() throws {
        let dir = try TestSupport.temporaryDirectory("inproc-setuid")
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("id").path
        #expect(TestSupport.run(["/bin/sh", "-c", "cp /usr/bin/id \(copy) && chown 65534 \(copy) && chmod 4755 \(copy)"]).status == 0)
        let forced = TestSupport.linkscope(["trace", "--engine", "inproc", "--", copy])
        #expect(forced.status == 126)
        #expect(forced.stderr.contains("is setuid or setgid: the loader ignores LD_AUDIT for it"), "\(forced.stderr)")
        let auto = TestSupport.linkscope(["trace", "--engine-stats", "--", copy], environment: ["LINKSCOPE_TRACE_ENGINE": "inproc"])
        #expect(auto.status == 0 && auto.stderr.contains("[ptrace]"), "\(auto.stderr)")
    }

    /// A forced --engine inproc that cannot serve is one line and exit 126.
    @Test func forcedInProcessThatCannotServeExits126() throws {
        let result = TestSupport.linkscope(["trace", "--engine", "inproc", "--", program("static")])
        #expect(result.status == 126)
        #expect(result.stderr.hasPrefix("linkscope: the in-process engine cannot trace this: "))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
