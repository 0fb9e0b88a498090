// libFuzzer entry for the -e filter-expression parser and -l patterns: any expression must compile or
// throw a CallFilterError, never crash or hang, and a compiled filter must answer for a few objects and
// symbols. CallFilter.swift is compiled into this binary by scripts/fuzz (it imports only Glibc), so the
// target does not depend on which module holds it. The input is split at NUL bytes: the first part is
// -e expressions (one per line), the second -l patterns, the third symbol names to ask about.

let objects = [
    TracedObject(isMainProgram: true, path: "/usr/bin/prog", soname: nil),
    TracedObject(isMainProgram: false, path: "/lib/x86_64-linux-gnu/libc.so.6", soname: "libc.so.6"),
    TracedObject(isMainProgram: false, path: "/opt/x/libweird [1].so", soname: ""),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCallFilter(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let parts = UnsafeBufferPointer(start: data, count: size).split(separator: 0, omittingEmptySubsequences: false)
        .map { String(decoding: $0, as: UTF8.self) }
    func lines(_ index: Int) -> [String] {
        index < parts.count ? parts[index].split(separator: "\n").map(String.init) : []
    }
    let symbols = lines(2) + ["malloc", "free", "_start", ""]
    // Known and reported (not this target's to fix): glibc's regcomp/regexec grow exponentially with
    // stacked repetitions (`-e '/^str.a+++++++++++++++++++++++++/'` takes 19 GB). Inputs with more than
    // four repetition operators are skipped so the run can find anything else.
    let repetitions = parts.prefix(2).joined().filter { "+*?{".contains($0) }.count
    if repetitions > 4 { return 0 }
    guard let filter = try? CallFilter(expressions: lines(0), libraries: lines(1)) else { return 0 }
    for object in objects {
        _ = filter.mayTraceCalls(from: object)
        for symbol in symbols.prefix(16) {
            for library in objects {
                _ = filter.selects(symbol: symbol, caller: object, definingLibrary: library)
                _ = filter.selects(symbol: symbol, caller: object, definingLibrary: library.soname)
            }
        }
    }
    _ = filter.unmatchedRules(afterSeeing: symbols.prefix(16).map { FilterCandidate(symbol: $0, caller: objects[0]) })
    return 0
}
