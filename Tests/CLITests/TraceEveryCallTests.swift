import Foundation
import Testing
import TestSupport

/// Every call is seen, and seen once (issue 10): library constructors that run before the program's entry
/// point, a PLT stub that is a function's canonical address. Each test runs both engines and expects the
/// same lines from each.
@Suite struct TraceEveryCallTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("trace") }

    private func program(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// A trace line with its pointers (which differ between runs) masked, and so its alignment padding.
    static func masked(_ line: String) -> String {
        line.replacing(/0x[0-9a-f]+/, with: "0x?").replacing(/\ {2,}/, with: " ")
    }

    /// The trace of `command` by each engine, masked, the exit line included.
    private func bothEngines(_ options: [String], _ command: [String]) throws -> [String: Traced] {
        var runs: [String: Traced] = [:]
        for engine in ["ptrace", "inproc"] {
            runs[engine] = try Traced.run(["--engine", engine] + options, command)
        }
        return runs
    }

    /// The loader runs a library's constructor before the program's entry point: its calls are traced (the
    /// ptrace engine arms at the loader's first consistent r_brk notification, not at AT_ENTRY).
    @Test func constructorsOfStartUpLibrariesAreTraced() throws {
        let runs = try bothEngines(["-e", "@libctorlib.so", "-e", "ctorlib_seen"], [program("ctormain")])
        for (engine, run) in runs {
            #expect(run.status == 0, "\(engine): \(run.stderr)")
            #expect(run.stdout == "seen 11\n", "\(engine)")
            #expect(Array(run.functions.prefix(3)) == ["getenv", "strlen", "ctorlib_seen"], "\(engine): \(run.lines)")
            #expect(run.lines.first == "libctorlib.so->getenv(\"CTORLIB_WORD\")            = nil", "\(engine)")
            #expect(run.lines.contains("libctorlib.so->strlen(\"constructor\")             = 11"), "\(engine)")
        }
        #expect(runs["ptrace"]!.lines.map(Self.masked) == runs["inproc"]!.lines.map(Self.masked))
    }

    /// A non-PIE program whose PLT stub is free's canonical address (it takes free's address, as python3.11
    /// does): a library's call to free goes through its .plt.got slot and on through that stub, and is one
    /// call, shown once, counted once by -c; the program sees free's address as untraced.
    @Test(arguments: ["ptrace", "inproc"])
    func aCanonicalPLTStubIsOneCall(engine: String) throws {
        let run = try Traced.run(["--engine", engine, "-e", "free+malloc+canonlib_release"], [program("canonical")])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "same canonical address: 1\n", "\(run.stdout)")
        let frees = run.lines.filter { $0.contains("free(0x") }.map(Self.masked)
        #expect(frees.count == 2 && frees.allSatisfy { $0.hasSuffix(") = <void>") }, "\(run.lines)")
        let summary = try Traced.run(["--engine", engine, "-c", "-e", "free"], [program("canonical")])
        let freeRow = summary.lines.first { $0.hasSuffix(" free") }
        #expect(freeRow?.split(separator: " ").dropLast().last == "2", "\(summary.lines)")
        let expected = ["canonical->free(0x?) = <void>", "libcanonlib.so->free(0x?) = <void>"]
        if engine == "inproc" {
            // The library's .plt.got word is left alone (hooking it would change the address the library
            // sees for free), so its call is recorded by the program's binding, named as the program's.
            withKnownIssue { #expect(frees == expected) }
        } else {
            #expect(frees == expected)
        }
    }

    /// A call still open when its process ends is closed the same way on every thread: in JSON a return
    /// object with `"unfinished": true` before the process's end, for the thread still in sleep as for any;
    /// in text the open line ends with `<no return ...>`, an earlier `<unfinished ...>` line is left so.
    @Test(arguments: ["ptrace", "inproc"])
    func callsOpenAtTheEndAreClosedOnEveryThread(engine: String) throws {
        let json = try Traced.run(["--engine", engine, "--json", "-e", "sleep+usleep+exit+pthread_create"], [program("openthreads")])
        #expect(json.status == 0, "\(json.stderr)")
        let records = json.lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let calls = records.filter { $0["type"] as? String == "call" && $0["function"] as? String != "exit" }
        let returns = records.filter { $0["type"] as? String == "return" }
        #expect(Set(calls.compactMap { $0["id"] as? Int }) == Set(returns.compactMap { $0["id"] as? Int }), "\(json.lines)")
        let sleep = returns.first { $0["function"] as? String == "sleep" }
        #expect(sleep?["unfinished"] as? Bool == true && sleep?["unwound"] as? Bool == false && sleep?["return"] == nil)
        #expect(sleep?["tid"] as? Int != sleep?["pid"] as? Int, "the sleeping thread's own")
        #expect(returns.filter { $0["unfinished"] as? Bool == true }.count == 1)
        let sleepIndex = records.firstIndex { $0["type"] as? String == "return" && $0["function"] as? String == "sleep" }
        let exitedIndex = records.firstIndex { $0["type"] as? String == "exited" }
        #expect(sleepIndex != nil && exitedIndex != nil && sleepIndex! < exitedIndex!)

        let text = try Traced.run(["--engine", engine, "-e", "sleep+usleep+exit+pthread_create"], [program("openthreads")])
        #expect(text.lines.contains { $0.contains("sleep(30 <unfinished ...>") }, "\(text.lines)")
        #expect(text.lines.contains { $0.contains("exit(0 <no return ...>") }, "\(text.lines)")
        #expect(text.lines.last?.hasSuffix("+++ exited (status 0) +++") == true)
    }

    /// `-c`: a function shown at entry only (setjmp, longjmp: no return is waited for) claims no time, not
    /// the time until the program's end.
    @Test(arguments: ["ptrace", "inproc"])
    func entryOnlyFunctionsClaimNoTime(engine: String) throws {
        let run = try Traced.run(["--engine", engine, "-c"], [program("jump")])
        #expect(run.status == 5, "\(run.stderr)")
        for function in ["_setjmp", "longjmp"] {
            let row = run.lines.first { $0.hasSuffix(" \(function)") }?.split(separator: " ")
            #expect(row?[1] == "0.000000" && row?[3] == "1", "\(function): \(run.lines)")
        }
        #expect(run.lines.contains { $0.hasSuffix(" qsort") && !$0.contains(" 0.000000 ") }, "\(run.lines)")
    }

    /// A filter's library pattern names the program by the name it was launched by and by its real file's,
    /// as ltrace does (`-e 'getenv@python3'` when python3 is a symlink to python3.11).
    @Test(arguments: ["ptrace", "inproc"])
    func filtersNameTheProgramByItsLaunchNameAndItsFile(engine: String) throws {
        let directory = try TestSupport.temporaryDirectory("trace-alias")
        defer { try? FileManager.default.removeItem(at: directory) }
        let alias = directory.appendingPathComponent("alias").path
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: program("ctormain"))
        // `-` is an operator in a filter expression: a path's dashes are matched with `?`.
        for pattern in ["alias", "ctormain", alias.replacing("-", with: "?"), program("ctormain").replacing("-", with: "?")] {
            let run = try Traced.run(["--engine", engine, "-e", "ctorlib_seen@\(pattern)"], [alias])
            #expect(run.functions == ["ctorlib_seen"], "\(pattern): \(run.lines) \(run.stderr)")
        }
        let other = try Traced.run(["--engine", engine, "-e", "ctorlib_seen@calls*"], [alias])
        #expect(other.functions.isEmpty, "\(other.lines)")
    }
}
