import Foundation
import Testing
@testable import Check
import TestSupport

/// In-root path resolution: what `chroot` would see, never the host.
@Suite struct RootFilesystemTests {
    /// A root with merged /usr, an absolute link, a relative link climbing with `..`, a loop and a
    /// link pointing above the root.
    func makeRoot() throws -> (URL, RootFilesystem) {
        let dir = try TestSupport.temporaryDirectory("check-rootfs")
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("usr/lib/x86_64-linux-gnu"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("usr/lib64"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: dir.appendingPathComponent("usr/lib/x86_64-linux-gnu/ld.so"))
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("lib").path, withDestinationPath: "usr/lib")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("lib64").path, withDestinationPath: "usr/lib64")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("usr/lib64/ld-linux.so").path,
                                  withDestinationPath: "/lib/x86_64-linux-gnu/ld.so")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("usr/lib64/climb").path,
                                  withDestinationPath: "../../../../../../usr/lib/x86_64-linux-gnu/ld.so")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("loop-a").path, withDestinationPath: "/loop-b")
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("loop-b").path, withDestinationPath: "loop-a")
        // On the host /etc/passwd exists; inside this root it must not.
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("escape").path, withDestinationPath: "/etc/passwd")
        return (dir, RootFilesystem(hostRoot: dir.path))
    }

    @Test func absoluteLinksResolveInsideTheRoot() throws {
        let (dir, root) = try makeRoot()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try root.resolve("/lib64/ld-linux.so") == "/usr/lib/x86_64-linux-gnu/ld.so")
        #expect(root.hostPath("/usr/lib/x86_64-linux-gnu/ld.so") == dir.path + "/usr/lib/x86_64-linux-gnu/ld.so")
    }

    @Test func dotDotStopsAtTheRoot() throws {
        let (dir, root) = try makeRoot()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try root.resolve("/lib64/climb") == "/usr/lib/x86_64-linux-gnu/ld.so")
        #expect(try root.resolve("/../../lib/./x86_64-linux-gnu//ld.so") == "/usr/lib/x86_64-linux-gnu/ld.so")
    }

    @Test func loopsAndEscapesAreErrorsNotHostFiles() throws {
        let (dir, root) = try makeRoot()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: RootFilesystem.ResolveError.loop) { try root.resolve("/loop-a") }
        #expect(throws: RootFilesystem.ResolveError.missing(at: "/etc")) { try root.resolve("/escape") }
    }

    @Test func hostRootIsRealpath() throws {
        let root = RootFilesystem.host
        #expect(root.hostPath("/usr/bin") == "/usr/bin")
        #expect(try root.resolve("/usr/bin/../bin") == "/usr/bin")
        #expect(RootFilesystem.normalized("a/./b/../../..//c") == "/c")
    }
}
