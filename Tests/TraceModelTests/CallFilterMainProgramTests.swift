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
}
