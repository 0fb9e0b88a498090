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

    /// A trace line with its pointers (which differ between runs) masked.
    static func masked(_ line: String) -> String {
        line.replacing(/0x[0-9a-f]+/, with: "0x?")
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
}
