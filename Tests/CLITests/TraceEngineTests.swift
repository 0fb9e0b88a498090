import Foundation
import Testing
import TestSupport

/// The trace engine end to end, through the built executable (the engine reaps with waitpid(-1), so it must
/// not run inside the test process). Each test builds on a TestBinaries/trace program and checks the exact
/// calls, that the program's own output and exit status are what an untraced run gives, and the engine's
/// stop counters.
@Suite struct TraceEngineTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("trace") }

    private func program(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    private func trace(_ options: [String], _ command: [String], directory: String? = nil) throws -> Traced {
        try Traced.run(options, command, directory: directory)
    }

    private func untraced(_ command: [String]) -> TestSupport.Output { TestSupport.run(command) }

    // MARK: PLT kinds

    @Test(arguments: ["calls-lazy", "calls-now", "calls-ibt", "calls-ibt-now", "calls-nopie"])
    func tracesEveryPLTKindWithDecodedCalls(fixture: String) throws {
        let result = try trace([], [program(fixture)])
        #expect(result.status == 3)
        #expect(result.stdout == "hello 5\ndone\n")
        let expected = ["malloc", "strcpy", "strlen", "printf", "free", "puts"]
        #expect(Array(result.functions.prefix(6)) == expected, "\(result.lines)")
        #expect(result.lines.contains { $0.hasPrefix("malloc(16) ") })
        #expect(result.lines.contains { $0.hasPrefix("strcpy(0x") && $0.contains(", \"hello\")") })
        #expect(result.lines.contains { $0.hasPrefix("strlen(\"hello\") ") && $0.hasSuffix(" = 5") })
        #expect(result.lines.contains { $0.hasPrefix("printf(\"%s %zu\\n\", \"hello\", 5) ") && $0.hasSuffix(" = 8") })
        #expect(result.lines.contains { $0.hasPrefix("free(0x") && $0.hasSuffix(" = <void>") })
        #expect(result.lines.contains { $0.hasPrefix("puts(\"done\") ") && $0.hasSuffix(" = 5") })
        #expect(result.lines.last == "+++ exited (status 3) +++")
        #expect(result.calls != nil && result.callStops(ptrace: 2 * result.calls!), "two stops per call: \(result.stderr)")
    }

    @Test func tracesCallsThroughPLTGot() throws {
        let result = try trace(["-e", "malloc+free"], [program("pltgot")])
        #expect(result.status == 0)
        // -e malloc+free selects every caller; the program's own two calls go through its .plt.got.
        let own = result.lines.filter { $0.hasPrefix("pltgot->") }
        #expect(own.count == 2, "\(result.lines)")
        #expect(own.first?.hasPrefix("pltgot->malloc(24) ") == true)
        #expect(own.last?.hasPrefix("pltgot->free(0x") == true)
    }

    /// A dlopen'd object's .plt.got calls (GLOB_DAT words filled when the loader relocates it, after the
    /// agent heard of it) are traced, on each of two dlopens.
    @Test func tracesCallsThroughADlopenedObjectsPLTGot() throws {
        let result = try trace(["-e", "malloc+free"], [program("dlmain"), program("libpltgotplugin.so")])
        #expect(result.status == 0 && result.stdout == "round 0: 5\nround 1: 6\n", "\(result.stderr)")
        let plugin = result.lines.filter { $0.hasPrefix("libpltgotplugin.so->") }
        #expect(plugin.count == 4, "\(result.lines)")
        #expect(plugin.first?.hasPrefix("libpltgotplugin.so->malloc(6) ") == true, "\(result.lines)")
        #expect(plugin.last?.hasPrefix("libpltgotplugin.so->free(0x") == true, "\(result.lines)")
    }

    // MARK: Nesting, filters

    @Test func nestedCallbackCallsAreUnfinishedAndResumed() throws {
        let result = try trace([], [program("nested")])
        #expect(result.stdout == "apple fig pear\n")
        #expect(result.lines.first?.hasPrefix("qsort(0x") == true)
        #expect(result.lines.first?.hasSuffix(" <unfinished ...>") == true)
        #expect(result.functions.prefix(4) == ["qsort", "strcmp", "strcmp", "strcmp"])
        #expect(result.lines.contains { $0.hasPrefix("<... qsort resumed> )") && $0.hasSuffix(" = <void>") })
    }

    @Test func deeplyNestedCallsHaveNoDepthLimit() throws {
        let result = try trace(["-e", "descend"], [program("deep"), "5000"])
        #expect(result.stdout == "5000\n")
        #expect(result.calls == 5000 && result.callStops(ptrace: 10000))
        #expect(result.lines.filter { $0.hasPrefix("<... descend resumed> )") }.count == 4999)
        #expect(result.lines.contains { $0.hasPrefix("deep->descend(0, ") && $0.hasSuffix(" = 0") })
    }

    @Test func filteredOutCallsGetNoBreakpoint() throws {
        let all = try trace([], [program("loop"), "300"])
        let one = try trace(["-e", "strlen"], [program("loop"), "300"])
        #expect(one.functions == Array(repeating: "strlen", count: 300))
        #expect(one.calls == 300 && one.callStops(ptrace: 600))
        #expect(one.stdout == all.stdout)
        let none = try trace(["-e", "nosuchfunction"], [program("loop"), "10"])
        #expect(none.functions.isEmpty)
        #expect(none.stderr.contains("filter rule 'nosuchfunction' matched no PLT slot"))
        #expect(none.stdout == untraced([program("loop"), "10"]).stdout)
    }

    // MARK: Signals and exit

    /// Both engines see a signal as the thread takes it (the in-process engine's supervisor stops there).
    @Test func signalsAreDeliveredIncludingTheProgramsOwnSIGTRAP() throws {
        let result = try trace([], [program("signals")])
        #expect(result.status == 0)
        #expect(result.stdout == "usr1=1 traps=2\n")
        #expect(result.lines.contains("--- SIGUSR1 (User defined signal 1) ---"))
        #expect(result.lines.filter { $0 == "--- SIGTRAP (Trace/breakpoint trap) ---" }.count == 2)
    }

    @Test func killedProgramExitsWith128PlusSignal() throws {
        let result = try trace([], [program("signals"), "die"])
        #expect(result.status == 128 + 15)
        #expect(result.lines.last == "+++ killed by SIGTERM +++")
        // (No untraced comparison here: the test runner's threads block SIGUSR1/SIGTERM and Foundation's
        // Process passes that mask on; the engine's spawn resets the mask, as a shell would.)
    }

    @Test func staticProgramRunsWithAMessage() throws {
        let result = try trace([], [program("static")])
        #expect(result.status == 6)
        #expect(result.stdout == "static\n")
        #expect(result.stderr.contains("linkscope: \(program("static")) is statically linked: no library calls to trace"))
    }

    // MARK: Unwinding

    @Test func longjmpOutOfATracedCall() throws {
        let plain = untraced([program("jump")])
        let result = try trace([], [program("jump")])
        #expect(result.stdout == plain.stdout)
        #expect(result.stdout == "after 4\n")
        #expect(result.status == 5)
        #expect(result.functions.contains("longjmp"))
        #expect(result.lines.contains { $0.hasPrefix("strlen(\"jump\") ") && $0.hasSuffix(" = 4") })
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/g++")))
    func cppExceptionThroughATracedCall() throws {
        let plain = untraced([program("exception")])
        let result = try trace([], [program("exception")])
        #expect(plain.stdout == "caught boom 4\nsecond 0\n")
        #expect(result.stdout == plain.stdout)
        #expect(result.status == plain.status)
        #expect(result.status == 4)
        #expect(result.lines.first?.hasPrefix("_Z7throweri(1") == true)
        #expect(result.lines.first?.hasSuffix("<no return ...>") == true, "\(result.lines)")
    }

    // MARK: Libraries

    @Test func dlopenDlcloseDlopenAgain() throws {
        let result = try trace(["-e", "strlen@libplugin.so"], [program("dlmain"), program("libplugin.so")])
        #expect(result.status == 0)
        #expect(result.stdout == "round 0: 5\nround 1: 6\n")
        #expect(result.lines.filter { $0.hasPrefix("libplugin.so->strlen(") }.count == 2, "\(result.lines)")
        #expect(result.lines.contains { $0.hasPrefix("libplugin.so->strlen(\"second\") ") && $0.hasSuffix(" = 6") })
        #expect(result.callStops(ptrace: 4))
    }

    @Test func dlopenWithARelativePath() throws {
        let result = try trace(["-e", "strlen@libplugin.so"], [program("dlmain"), "./libplugin.so"],
                               directory: fixtures.path)
        #expect(result.stdout == "round 0: 5\nround 1: 6\n")
        #expect(result.functions == ["strlen", "strlen"])
    }

    @Test func dashLSelectsCallsIntoALibrary() throws {
        let into = try trace(["-l", "libnext1.so"], [program("nextmain")])
        #expect(into.stdout == "next 2\n")
        #expect(into.functions == ["lookup_next"], "\(into.lines)")
        #expect(into.lines.first?.hasPrefix("nextmain->lookup_next(") == true)
        #expect(into.lines.first?.hasSuffix(" = 2") == true)
        // Nothing calls into libnext2 through a PLT (its which_one is reached through dlsym).
        let none = try trace(["-l", "libnext2.so"], [program("nextmain")])
        #expect(none.functions.isEmpty)
        #expect(none.stderr.contains("filter rule '-l libnext2.so' matched no PLT slot"))
    }

    @Test func execOfTheTracedProgramIsFollowed() throws {
        let result = try trace(["-e", "strlen"], ["/bin/sh", "-c", "exec \(program("loop")) 3"])
        #expect(result.status == 0)
        #expect(result.stdout == "\(3 * program("loop").utf8.count)\n")
        // After the exec the new image's three strlen calls are armed and traced.
        #expect(result.functions.suffix(3) == ["strlen", "strlen", "strlen"])
        #expect(result.lines.suffix(4).first?.hasSuffix(" = \(program("loop").utf8.count)") == true, "\(result.lines)")
        // The new image's calls carry its own name, after ltrace's exec line.
        #expect(result.lines.suffix(5).first == "--- Called exec() ---", "\(result.lines)")
        #expect(result.lines.suffix(2).first?.hasPrefix("loop->strlen(") == true, "\(result.lines)")
    }

    /// An exec'd image sees the environment it was given: the agent's LD_AUDIT entry, added for the new
    /// image, is gone again before its code runs (and a user's own is kept).
    @Test func anExecdProgramSeesItsOwnEnvironment() throws {
        let script = "LD_AUDIT=/no/such/audit.so; export LD_AUDIT; exec /usr/bin/env"
        let result = try trace(["-e", "setlocale"], ["/bin/sh", "-c", script])
        #expect(result.status == 0, "\(result.stderr)")
        let audit = result.stdout.split(separator: "\n").filter { $0.hasPrefix("LD_AUDIT=") }
        #expect(audit == ["LD_AUDIT=/no/such/audit.so"], "\(audit)")
        #expect(result.lines.contains("--- Called exec() ---"))
        #expect(result.lines.contains { $0.hasPrefix("env->setlocale(") }, "the new image is traced: \(result.lines)")
    }

    @Test func dlsymRTLDNextFromATracedLibraryCallSeesItsRealCaller() throws {
        #expect(untraced([program("nextmain")]).stdout == "next 2\n")
        let result = try trace(["-e", "dlsym@libnext1.so"], [program("nextmain")])
        #expect(result.stdout == "next 2\n", "the return site must lie inside libnext1.so")
        #expect(result.lines.first?.hasPrefix("libnext1.so->dlsym(") == true, "\(result.lines)")
        let fromMain = try trace([], [program("nextmain")])
        #expect(fromMain.stdout == "next 2\n")
        #expect(fromMain.functions.prefix(2) == ["lookup_next", "printf"])
    }

    // MARK: Threads and processes

    @Test func everyThreadIsTraced() throws {
        let result = try trace(["-e", "strlen"], [program("threads")])
        #expect(result.stdout == "14000\n")
        #expect(result.functions.filter { $0 == "strlen" }.count == 2000)
        #expect(result.calls == 2000 && result.callStops(ptrace: 4000))
    }

    /// More threads over the run than the in-process engine has rings: an ended thread's ring is taken
    /// again, so every thread's call is traced.
    @Test func threadsBeyondTheRingCountAreTraced() throws {
        let result = try trace(["-e", "strlen"], [program("manythreads"), "1000"])
        #expect(result.stdout == "threads 1000 total 6000\n")
        #expect(result.functions.filter { $0 == "strlen" }.count == 1000, "\(result.stderr)")
        if result.inProcess { #expect(result.stderr.contains(" 0 threads without a ring"), "\(result.stderr)") }
    }

    @Test func forkAndSystemChildrenRunUntraced() throws {
        let plain = untraced([program("forks")])
        let result = try trace([], [program("forks")])
        #expect(result.status == 0)
        #expect(Set(result.stdout.split(separator: "\n")) == Set(plain.stdout.split(separator: "\n")))
        #expect(result.stdout.contains("child exited 7"))
        #expect(result.stdout.contains("from-system"))
        #expect(result.functions.contains("fork") && result.functions.contains("system"))
        // The child's strlen ran untraced: only the parent's calls are shown.
        #expect(!result.functions.contains("strlen"))
    }

    // MARK: Bad input

    @Test func missingProgramExits127() throws {
        let result = TestSupport.linkscope(["trace", "--", "/nonexistent/program"])
        #expect(result.status == 127)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.hasPrefix("linkscope: cannot execute /nonexistent/program"))
    }

    @Test func nonExecutableFileExits126() throws {
        let source = TestSupport.packageRoot.appendingPathComponent("TestBinaries/trace/calls.c").path
        let result = TestSupport.linkscope(["trace", "--", source])
        #expect(result.status == 126)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    /// Under `strace -f` the child is already traced, so the ptrace engine's PTRACE_SEIZE is refused. The
    /// in-process engine needs ptrace only for its supervisor: it traces the calls and says what it cannot see.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace")))
    func ptraceRefusedIsOneLineAnd126() throws {
        let result = TestSupport.run(["/usr/bin/strace", "-f", "-o", "/dev/null", TestSupport.linkscopeExecutable,
                                      "trace", "--engine", "ptrace", "--", program("calls-lazy")])
        #expect(result.status == 126)
        #expect(result.stderr == "linkscope: cannot trace \(program("calls-lazy")): Operation not permitted\n")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace")))
    func anUnsupervisedInProcessTraceSaysWhatItCannotSee() throws {
        let result = TestSupport.run(["/usr/bin/strace", "-f", "-o", "/dev/null", TestSupport.linkscopeExecutable,
                                      "trace", "--engine", "inproc", "-e", "strlen", "--", program("loop"), "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("loop->strlen(") && result.stderr.contains("+++ exited (status 0) +++"), "\(result.stderr)")
        #expect(result.stderr.contains("linkscope: cannot supervise \(program("loop")) (PTRACE_SEIZE: Operation not permitted): its signals and execs are not traced"),
                "\(result.stderr)")
    }

    @Test func missingCommandIsUsageError() throws {
        let result = TestSupport.linkscope(["trace"])
        #expect(result.status == 2)
    }
}
