import Foundation
import Linker
import TestSupport
import Testing

/// In-root path resolution, shared by `deps --root` and `check`: what `chroot` would see, never the host.
@Suite struct LoaderRootTests {
    /// A root with merged /usr, an absolute link, a relative link climbing with `..`, a loop, a link
    /// pointing above the root and links through a regular file.
    func makeRoot() throws -> (URL, LoaderRoot) {
        let dir = try TestSupport.temporaryDirectory("loader-root")
        let fm = FileManager.default
        func link(_ path: String, to target: String) throws {
            try fm.createSymbolicLink(atPath: dir.appendingPathComponent(path).path, withDestinationPath: target)
        }
        try fm.createDirectory(at: dir.appendingPathComponent("usr/lib/x86_64-linux-gnu"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("usr/lib64"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: dir.appendingPathComponent("usr/lib/x86_64-linux-gnu/ld.so"))
        try link("lib", to: "usr/lib")
        try link("lib64", to: "usr/lib64")
        try link("usr/lib64/ld-linux.so", to: "/lib/x86_64-linux-gnu/ld.so")
        try link("usr/lib64/climb", to: "../../../../../../usr/lib/x86_64-linux-gnu/ld.so")
        try link("loop-a", to: "/loop-b")
        try link("loop-b", to: "loop-a")
        // On the host /etc/passwd exists; inside this root it must not.
        try link("escape", to: "/etc/passwd")
        // A regular file used as a directory: the kernel says ENOTDIR, even for `file/..`.
        try link("through-file", to: "/lib/x86_64-linux-gnu/ld.so/..")
        try link("file-as-dir", to: "lib/x86_64-linux-gnu/ld.so/")
        return (dir, LoaderRoot(hostRoot: dir.path))
    }

    @Test func absoluteLinksResolveInsideTheRoot() throws {
        let (dir, root) = try makeRoot()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try root.realPath("/lib64/ld-linux.so") == "/usr/lib/x86_64-linux-gnu/ld.so")
        #expect(root.hostPath("/usr/lib/x86_64-linux-gnu/ld.so") == dir.path + "/usr/lib/x86_64-linux-gnu/ld.so")
        #expect(root.hostPath("/") == dir.path)
        #expect(try root.realPath("/") == "/")
        #expect(try root.realPath("/lib/") == "/usr/lib")
    }

    @Test func dotDotStopsAtTheRoot() throws {
        let (dir, root) = try makeRoot()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try root.realPath("/lib64/climb") == "/usr/lib/x86_64-linux-gnu/ld.so")
        #expect(try root.realPath("/../../lib/./x86_64-linux-gnu//ld.so") == "/usr/lib/x86_64-linux-gnu/ld.so")
        // `..` after a symlink is taken from where the link led (/usr/lib), as the kernel takes it.
        #expect(try root.realPath("/lib/../lib64") == "/usr/lib64")
        // Host paths are clamped too, lexically: nothing built from an in-root path leaves the root.
        #expect(root.hostPath("/etc/../../../x") == dir.path + "/x")
        #expect(root.inRootPath(ofHostPath: dir.path + "/etc/../x") == "/x")
        #expect(root.inRootPath(ofHostPath: dir.path + "/../x") == nil)
    }

    @Test func loopsAndEscapesAreErrorsNotHostFiles() throws {
        let (dir, root) = try makeRoot()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: LoaderRoot.LookupError.loop) { try root.realPath("/loop-a") }
        #expect(throws: LoaderRoot.LookupError.missing(at: "/etc")) { try root.realPath("/escape") }
    }

    /// `file/..`, `file/.` and `file/` are ENOTDIR to the kernel, not the file's directory or the file.
    @Test func aFileIsNotADirectory() throws {
        let (dir, root) = try makeRoot()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = "/usr/lib/x86_64-linux-gnu/ld.so"
        for path in [file + "/..", file + "/.", file + "/", file + "/x", "/through-file", "/file-as-dir"] {
            #expect(throws: LoaderRoot.LookupError.notADirectory(at: file), "\(path)") { try root.realPath(path) }
        }
    }

    /// On the running system the walk is realpath(3), and it says where a lookup failed.
    @Test func hostRootIsRealpath() throws {
        let root = LoaderRoot.host
        #expect(root.hostPath("/usr/bin") == "/usr/bin")
        #expect(try root.realPath("/usr/bin/../bin") == "/usr/bin")
        for path in ["/usr/bin/../bin", "/etc/passwd", "/lib64/ld-linux-x86-64.so.2", "/"] {
            let expected = try #require(realpath(path, nil).map { pointer in
                defer { free(pointer) }
                return String(cString: pointer)
            })
            #expect(try root.realPath(path) == expected)
        }
        #expect(throws: LoaderRoot.LookupError.missing(at: "/no-such-dir")) { try root.realPath("/no-such-dir/x") }
        #expect(throws: LoaderRoot.LookupError.notADirectory(at: "/etc/passwd")) { try root.realPath("/etc/passwd/") }
        #expect(throws: LoaderRoot.LookupError.missing(at: "")) { try root.realPath("") }
        // A relative path starts at the working directory, as realpath(3) starts it.
        let cwd = FileManager.default.currentDirectoryPath
        #expect(try root.realPath(".") == (realpath(cwd, nil).map { p in defer { free(p) }; return String(cString: p) }))
        #expect(LoaderRoot.normalized("a/./b/../../..//c") == "/c")
    }
}
