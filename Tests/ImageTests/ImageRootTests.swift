import Foundation
import Image
import Linker
import Testing
import TestSupport

/// The Linker's root over an image answers exactly as over the same files in a directory: one set of
/// path rules (absolute links inside, `..` clamped, loops, ENOTDIR), two implementations underneath.
@Suite struct ImageRootTests {
    /// The same tree as a directory and as a tar read into a FileTree.
    func makeRoots() throws -> (URL, LoaderRoot, LoaderRoot) {
        let dir = try TestSupport.temporaryDirectory("image-root")
        let top = dir.appendingPathComponent("root")
        let fm = FileManager.default
        func link(_ path: String, to target: String) throws {
            try fm.createSymbolicLink(atPath: top.appendingPathComponent(path).path, withDestinationPath: target)
        }
        try fm.createDirectory(at: top.appendingPathComponent("usr/lib/x86_64-linux-gnu"), withIntermediateDirectories: true)
        try fm.createDirectory(at: top.appendingPathComponent("usr/lib64"), withIntermediateDirectories: true)
        try fm.createDirectory(at: top.appendingPathComponent("etc/ld.so.conf.d"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: top.appendingPathComponent("usr/lib/x86_64-linux-gnu/ld.so"))
        for name in ["a.conf", "b.conf", ".hidden.conf", "notes.txt"] {
            try Data("/opt/\(name)\n".utf8).write(to: top.appendingPathComponent("etc/ld.so.conf.d/\(name)"))
        }
        try link("lib", to: "usr/lib")
        try link("lib64", to: "usr/lib64")
        try link("confd", to: "/etc/ld.so.conf.d")
        try link("usr/lib64/ld-linux.so", to: "/lib/x86_64-linux-gnu/ld.so")
        try link("usr/lib64/climb", to: "../../../../../../usr/lib/x86_64-linux-gnu/ld.so")
        try link("loop-a", to: "/loop-b")
        try link("loop-b", to: "loop-a")
        try link("escape", to: "/etc/passwd")
        try link("through-file", to: "/lib/x86_64-linux-gnu/ld.so/..")
        let tar = dir.appendingPathComponent("root.tar").path
        #expect(TestSupport.run(["/usr/bin/tar", "-cf", tar, "-C", top.path, "."]).status == 0)
        return (dir, LoaderRoot(hostRoot: top.path), LoaderRoot(image: try ImageReader.open(tar).tree))
    }

    func outcome(_ root: LoaderRoot, _ path: String) -> String {
        do { return try root.realPath(path) } catch { return "\(error)" }
    }

    @Test func realPathIsTheSameOverBoth() throws {
        let (dir, directory, image) = try makeRoots()
        defer { try? FileManager.default.removeItem(at: dir) }
        for path in ["/lib64/ld-linux.so", "/lib64/climb", "/../../lib/./x86_64-linux-gnu//ld.so", "/lib/../lib64", "/lib/",
                     "/loop-a", "/escape", "/through-file", "/usr/lib/x86_64-linux-gnu/ld.so/", "/usr/nothing/x", "/", "/confd/a.conf"] {
            #expect(outcome(image, path) == outcome(directory, path), "\(path)")
        }
        #expect(outcome(image, "/lib64/ld-linux.so") == "/usr/lib/x86_64-linux-gnu/ld.so")
        #expect(image.hostPath("/usr/lib") == dir.appendingPathComponent("root.tar").path + "!/usr/lib")
        #expect(image.inRootPath(ofHostPath: image.hostPath("/usr/../etc")) == "/etc")
    }

    @Test func readsGoThroughTheRoot() throws {
        let (dir, directory, image) = try makeRoots()
        defer { try? FileManager.default.removeItem(at: dir) }
        for root in [directory, image] {
            #expect(try root.readPrefix("/lib64/ld-linux.so", count: 8) == Array("x".utf8))
            #expect(root.contents(of: "/confd/b.conf") == Array("/opt/b.conf\n".utf8))
            #expect(root.contents(of: "/escape") == nil, "the host's /etc/passwd is not in the root")
        }
    }

    @Test func globMatchesInsideTheRootAsGlobDoes() throws {
        let (dir, directory, image) = try makeRoots()
        defer { try? FileManager.default.removeItem(at: dir) }
        let expected = ["/etc/ld.so.conf.d/a.conf", "/etc/ld.so.conf.d/b.conf"]
        for root in [directory, image] {
            #expect(root.glob("/etc/ld.so.conf.d/*.conf") == expected)
            // Through an absolute symlink: inside the root, not the host's /etc.
            #expect(root.glob("/confd/*.conf") == ["/confd/a.conf", "/confd/b.conf"])
            #expect(root.glob("/etc/ld.so.conf.d/.*.conf") == ["/etc/ld.so.conf.d/.hidden.conf"])
            #expect(root.glob("/etc/ld.so.conf.d/?.conf") == expected)
            #expect(root.glob("/etc/ld.so.conf.d/[a].conf") == ["/etc/ld.so.conf.d/a.conf"])
            #expect(root.glob("/etc/nothing/*.conf") == [])
            #expect(root.glob("/etc/ld.so.conf.d/a.conf") == ["/etc/ld.so.conf.d/a.conf"])
        }
        // The directory root's answer is glob(3)'s own.
        var native = glob_t()
        defer { globfree(&native) }
        #expect(Glibc.glob(directory.hostPath("/etc/ld.so.conf.d/*.conf"), 0, nil, &native) == 0)
        let fromLibc = (0..<Int(native.gl_pathc)).compactMap { native.gl_pathv[$0].map { String(cString: $0) } }
            .compactMap { directory.inRootPath(ofHostPath: $0) }
        #expect(directory.glob("/etc/ld.so.conf.d/*.conf") == fromLibc)
    }
}
