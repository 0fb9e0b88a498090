import Foundation
import Testing
@testable import Check
import Linker
import TestSupport

/// The walk over the fixture root built by TestBinaries/check/build.sh.
@Suite struct RootWalkerTests {
    static func fixtureRoot() throws -> URL {
        try TestSupport.testBinaries.appendingPathComponent("check/root")
    }

    @Test func eachRealFileOnceSkippingProc() throws {
        let root = LoaderRoot(hostRoot: try Self.fixtureRoot().path)
        let walk = try RootWalker(root: root).walk()
        let paths = walk.files.map(\.path)
        #expect(Set(paths).count == paths.count, "a file was listed twice: \(paths)")
        // The loader is reached through lib64 -> usr/lib64 and an absolute link; it must be listed by
        // its real path only.
        #expect(paths.contains("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"))
        #expect(!paths.contains { $0.hasPrefix("/lib/") || $0.hasPrefix("/lib64/") || $0.hasPrefix("/bin/") })
        #expect(!paths.contains { $0.hasPrefix("/proc/") }, "walked into /proc")
        #expect(walk.skippedDirectories.contains("/proc"))
        #expect(paths.contains("/opt/fix/real/libalink.so.1.0"))
        #expect(!paths.contains("/usr/bin/script.sh"), "a .sh file is never opened")
        #expect(paths.contains("/usr/bin/truncated"), "files without an extension are candidates")
    }

    @Test func dataFilesAreSkippedByNameLibrariesAreNot() {
        #expect(RootWalker.isNeverLoadable("/usr/lib/python3/x.pyc"))
        #expect(RootWalker.isNeverLoadable("/usr/share/doc/a/changelog.gz"))
        #expect(!RootWalker.isNeverLoadable("/usr/lib/x86_64-linux-gnu/libz.so.1.2.13"))
        #expect(!RootWalker.isNeverLoadable("/usr/lib/python3/dist-packages/_x.cpython-311-x86_64-linux-gnu.so"))
        #expect(!RootWalker.isNeverLoadable("/usr/bin/python3.11"))
        #expect(!RootWalker.isNeverLoadable("/usr/lib/x.d/prog"))
    }

    @Test func brokenLibrarySymlinkIsReported() throws {
        let root = LoaderRoot(hostRoot: try Self.fixtureRoot().path)
        let walk = try RootWalker(root: root).walk()
        let broken = walk.problems.filter { $0.kind == .brokenSymlink }
        #expect(broken.map(\.file).sorted() == ["/usr/lib/x86_64-linux-gnu/libdangling.so.1",
                                                 "/usr/lib/x86_64-linux-gnu/libloop.so.1"])
        #expect(broken.contains { $0.detail.hasPrefix("symlink loop") })
    }

    @Test func startPathsAreInterpretedInsideTheRoot() throws {
        let root = LoaderRoot(hostRoot: try Self.fixtureRoot().path)
        // /bin is a symlink to usr/bin inside the root.
        let walk = try RootWalker(root: root).walk(["/bin"])
        #expect(walk.files.map(\.path).contains("/usr/bin/prog-ok"))
        #expect(!walk.files.map(\.path).contains { $0.hasPrefix("/opt/") && !$0.hasPrefix("/opt/fix/") })
        #expect(throws: SystemCallError.self) { try RootWalker(root: root).walk(["/no/such/dir"]) }
    }
}
