import Testing
import TraceModel

/// `-L` (excludingMainProgram): the main program's PLT is never selected, whatever the rules; libraries' are.
@Suite struct CallFilterMainProgramTests {
    static let main = TracedObject(isMainProgram: true, path: "/tmp/pl/b", soname: nil)
    static let libc = TracedObject(isMainProgram: false, path: "/lib/x86_64-linux-gnu/libc.so.6", soname: "libc.so.6")

    @Test func excludesTheMainProgramOnly() throws {
        let filter = try CallFilter(expressions: ["malloc", "*@MAIN"], libraries: ["libc.so*"], excludingMainProgram: true)
        #expect(!filter.mayTraceCalls(from: Self.main))
        #expect(filter.mayTraceCalls(from: Self.libc))
        #expect(!filter.selects(symbol: "malloc", caller: Self.main, definingLibrary: Self.libc))
        #expect(filter.selects(symbol: "malloc", caller: Self.libc, definingLibrary: Self.libc))
        // Without -L the same rules select the main program's call.
        let plain = try CallFilter(expressions: ["malloc"])
        #expect(plain.selects(symbol: "malloc", caller: Self.main, definingLibrary: Self.libc))
    }

    @Test func aloneItSelectsNothingAndRulesOnlyTheProgramMatchedAreReported() throws {
        let alone = try CallFilter(expressions: [], excludingMainProgram: true)
        #expect(!alone.mayTraceCalls(from: Self.main))
        #expect(!alone.selects(symbol: "puts", caller: Self.main, definingLibrary: Self.libc))
        #expect(!alone.mayTraceCalls(from: Self.libc))
        let filter = try CallFilter(expressions: ["puts+strlen"], excludingMainProgram: true)
        let seen = [FilterCandidate(symbol: "puts", caller: Self.main), FilterCandidate(symbol: "strlen", caller: Self.libc)]
        #expect(filter.unmatchedRules(afterSeeing: seen) == ["puts"])
    }

    /// The main program answers to each of its paths' base names (its launch name, its real file's), and
    /// a `/` pattern to each path; a library to its soname only.
    @Test func theProgramAnswersToEveryNameItHas() throws {
        let program = TracedObject(isMainProgram: true, path: "/usr/bin/python3.11", soname: nil, otherPaths: ["/usr/bin/python3"])
        for expression in ["getenv@python3", "getenv@python3.11", "getenv@/usr/bin/python3", "getenv@python3*"] {
            #expect(try CallFilter(expressions: [expression]).selects(symbol: "getenv", caller: program, definingLibrary: Self.libc), "\(expression)")
        }
        #expect(!(try CallFilter(expressions: ["getenv@python"]).selects(symbol: "getenv", caller: program, definingLibrary: Self.libc)))
        #expect(!(try CallFilter(expressions: ["getenv@python3"]).selects(symbol: "getenv", caller: Self.libc, definingLibrary: Self.libc)))
    }
}
