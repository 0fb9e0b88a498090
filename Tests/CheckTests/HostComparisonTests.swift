import Foundation
import Synchronization
import Testing
@testable import Check
import Linker
import TestSupport

/// On this machine's own root, over /usr/bin, /usr/sbin and /usr/lib/x86_64-linux-gnu (recursively):
/// the files check refuses must be exactly those for which glibc's ldd prints "not found" (a missing
/// library, or `version ... not found`). ldd runs each file's loader, so this is the real loader's word.
@Suite struct HostComparisonTests {
    static let directories = ["/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu"]

    /// Every ELF program and library under `directories`, as check would find them.
    static func elfFiles() throws -> [String] {
        let walk = try RootWalker(root: .host).walk(directories)
        return walk.files.map(\.path).filter { path in
            guard let prefix = try? SystemCalls.readPrefix(path, count: 4) else { return false }
            return prefix == FoundFile.magic
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func flaggedFilesAreExactlyLddsNotFound() throws {
        let files = try Self.elfFiles()
        #expect(files.count > 500, "expected a Debian /usr, found \(files.count) ELF files")
        let lddNotFound = Mutex<Set<String>>([])
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < files.count else { break }
                let output = TestSupport.run(["/usr/bin/ldd", files[index]])
                if (output.stdout + output.stderr).contains("not found") {
                    lddNotFound.withLock { _ = $0.insert(files[index]) }
                }
            }
        }
        var options = CheckOptions(root: nil, paths: Self.directories)
        options.jobs = 2
        let report = try Checker(options: options).run()
        let flagged = Set(report.errors.filter { $0.kind == .notFound || $0.kind == .versionNotFound }.map(\.file))
        let expected = lddNotFound.withLock { $0 }
        #expect(flagged == expected,
                "only check: \(flagged.subtracting(expected).sorted()); only ldd: \(expected.subtracting(flagged).sorted())")
        // Any other error kind on a healthy system would be a false alarm of ours.
        let others = report.errors.filter { $0.kind != .notFound && $0.kind != .versionNotFound }
        #expect(others.isEmpty, "\(others.prefix(10))")
    }
}
