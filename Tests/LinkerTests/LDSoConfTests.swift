import Foundation
@testable import Linker
import TestSupport
import Testing

/// ld.so.conf `include` globs are expanded inside the root, never on the host.
@Suite struct LDSoConfTests {
    let fm = FileManager.default

    func makeRoot(_ label: String) throws -> URL {
        let root = try TestSupport.temporaryDirectory(label)
        try fm.createDirectory(at: root.appendingPathComponent("etc/ld.so.conf.d"), withIntermediateDirectories: true)
        return root
    }

    func write(_ text: String, _ path: String, in root: URL) throws {
        try text.write(to: root.appendingPathComponent(path), atomically: true, encoding: .utf8)
    }

    /// `etc/ld.so.conf.d -> /etc` listed the host's /etc (glob(3) ran on the host path); now the link is
    /// followed inside the root, so the root's own etc/*.conf is read.
    @Test func includeThroughAnAbsoluteLinkStaysInTheRoot() throws {
        let root = try makeRoot("ldconf-link")
        defer { try? fm.removeItem(at: root) }
        try fm.removeItem(at: root.appendingPathComponent("etc/ld.so.conf.d"))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("etc/ld.so.conf.d").path, withDestinationPath: "/etc")
        try write("include ld.so.conf.d/*.conf\n", "etc/ld.so.conf", in: root)
        try write("/opt/mine\n", "etc/only-in-this-root.conf", in: root)
        let environment = try LoaderEnvironment.root(root.path)
        #expect(environment.configuredDirectories == ["/opt/mine"])
    }

    /// `x -> /` with `include /x/e*/ld.so.conf.d/*.conf` matched the host's /etc/ld.so.conf.d.
    @Test func includeThroughALinkToSlashIsTheRootsSlash() throws {
        let root = try makeRoot("ldconf-slash")
        defer { try? fm.removeItem(at: root) }
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("x").path, withDestinationPath: "/")
        try write("include /x/e*/ld.so.conf.d/*.conf\n", "etc/ld.so.conf", in: root)
        try write("/opt/root-only\n", "etc/ld.so.conf.d/only-in-this-root.conf", in: root)
        try write("/opt/hidden\n", "etc/ld.so.conf.d/.hidden.conf", in: root)
        let environment = try LoaderEnvironment.root(root.path)
        #expect(environment.configuredDirectories == ["/opt/root-only"])
    }

    /// What a glob matches is exactly the root's own tree (the host has thousands of /*/* paths).
    @Test func globListsOnlyTheRoot() throws {
        let root = try makeRoot("ldconf-glob")
        defer { try? fm.removeItem(at: root) }
        try fm.removeItem(at: root.appendingPathComponent("etc"))
        for directory in ["a/b", "a/c", "a/.dot"] {
            try fm.createDirectory(at: root.appendingPathComponent(directory), withIntermediateDirectories: true)
        }
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("x").path, withDestinationPath: "/")
        let inRoot = LoaderRoot(hostRoot: root.path)
        #expect(LDSoConf.glob(root: inRoot, pattern: "/x/*/*") == ["/x/a/b", "/x/a/c", "/x/x/a", "/x/x/x"])
        #expect(LDSoConf.glob(root: inRoot, pattern: "/x/a/.d[o]t") == ["/x/a/.dot"])
        #expect(LDSoConf.glob(root: inRoot, pattern: "/a/b") == ["/a/b"])
        #expect(LDSoConf.glob(root: inRoot, pattern: "/a/nope") == [])
        // Matches are the paths as written, as glob(3) gives them; `..` stops at the root's top.
        #expect(LDSoConf.glob(root: inRoot, pattern: "/../../a/?") == ["/../../a/b", "/../../a/c"])
    }

    /// A link loop multiplies matches by the entries of every level; the expansion is cut off, quickly.
    @Test func globOverALinkLoopIsBounded() throws {
        let root = try makeRoot("ldconf-loop")
        defer { try? fm.removeItem(at: root) }
        for name in ["l1", "l2", "l3", "l4", "l5"] {
            try fm.createSymbolicLink(atPath: root.appendingPathComponent(name).path, withDestinationPath: ".")
        }
        // The budget is shared by all lines: 50 copies cost what one does (the fuzzer's timeout was two lines).
        let line = "include /l1/" + Array(repeating: "*", count: 12).joined(separator: "/") + "\n"
        try write(String(repeating: line, count: 50) + "/opt/after\n", "etc/ld.so.conf", in: root)
        let start = Date()
        let environment = try LoaderEnvironment.root(root.path)
        #expect(environment.configuredDirectories == ["/opt/after"])
        #expect(Date().timeIntervalSince(start) < 10)
    }

    /// A conf file that never ends (a character device in the root) was read until memory ran out; it is
    /// now read up to a limit and skipped. Needs mknod (root, as in CI's container); elsewhere the
    /// device cannot be made and the test checks only the rest of the file.
    @Test func endlessConfFileIsCutOff() throws {
        let root = try makeRoot("ldconf-endless")
        defer { try? fm.removeItem(at: root) }
        try write("include /dev/zero\n/opt/kept\n", "etc/ld.so.conf", in: root)
        try fm.createDirectory(at: root.appendingPathComponent("dev"), withIntermediateDirectories: true)
        _ = mknod(root.appendingPathComponent("dev/zero").path, S_IFCHR | 0o644, (1 << 8) | 5)  // makedev(1, 5) is a macro
        let start = Date()
        #expect(try LoaderEnvironment.root(root.path).configuredDirectories == ["/opt/kept"])
        #expect(Date().timeIntervalSince(start) < 10)
    }
}
