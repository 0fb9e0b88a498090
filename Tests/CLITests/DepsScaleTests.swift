import Foundation
import TestSupport
import Testing

/// deps and check on inputs far larger than real ones: chains of thousands of libraries.
@Suite struct DepsScaleTests {
    /// A 20,000-deep chain: the tree is drawn without recursion (the walk used to recurse per level) and
    /// its text stays linear: past 64 levels the prefix stops growing and each line names its depth.
    @Test func twentyThousandDeepTreeIsDrawn() throws {
        let dir = try TestSupport.temporaryDirectory("deps-chain")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try TinyELF.writeChain(20_000, in: dir.path)
        let run = TestSupport.linkscope(["deps", first])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 20_000, "the file and 19,999 needs")
        #expect(lines.last?.contains("[depth 19999] libchain-19999.so => \(dir.path)/libchain-19999.so [runpath of") == true)
        #expect(lines[64].hasPrefix(String(repeating: "    ", count: 63) + "└── libchain-64.so"))
        #expect(lines[100].hasPrefix(String(repeating: "    ", count: 63) + "└── [depth 100] libchain-100.so"))
        #expect(run.stdout.utf8.count < 20_000 * 400, "linear text: \(run.stdout.utf8.count) bytes")
        let ldd = TestSupport.linkscope(["deps", "--ldd", first])
        #expect(ldd.status == 0)
        #expect(ldd.stdout.split(separator: "\n").count == 19_999)
    }

    /// check over a root holding a 2,000-library chain: every library is checked and clean (check indexed
    /// each object's needs by scanning every edge, cubic over the root: 1,000 took 85 s).
    @Test func checkOfAChainRootIsClean() throws {
        let root = try TestSupport.temporaryDirectory("check-chain")
        defer { try? FileManager.default.removeItem(at: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root.path + "/lib64", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root.path + "/opt/chain", withIntermediateDirectories: true)
        try Data(TinyELF.sharedObject(soname: "ld-linux-x86-64.so.2"))
            .write(to: URL(fileURLWithPath: root.path + "/lib64/ld-linux-x86-64.so.2"))
        try TinyELF.writeChain(2_000, in: root.path + "/opt/chain")
        let run = TestSupport.linkscope(["check", "--root", root.path, "--json"])
        #expect(run.status == 0, "\(run.stdout.prefix(2_000)) \(run.stderr)")
        #expect(run.stdout.contains("\"sharedObjects\" : 2001"), "\(run.stdout.prefix(400))")
    }

    /// File names reach the terminal escaped, and bytes that are not UTF-8 reach the system call: a
    /// program copied to `prog\xff` and to `prog<ESC>[31m<newline>x` is resolved under its own name.
    @Test func fileNamesAreBytesAndPrintEscaped() throws {
        let dir = try TestSupport.temporaryDirectory("deps-names")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rawName = Array((dir.path + "/prog").utf8) + [0xff]
        let escapeName = dir.path + "/prog\u{1b}[31m\nx"
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: escapeName)
        let source = open("/bin/true", O_RDONLY)
        defer { close(source) }
        let target = rawName.withUnsafeBufferPointer { buffer in
            (Array(buffer) + [0]).withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_WRONLY | O_CREAT, 0o755) }
        }
        #expect(target >= 0)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while case let got = read(source, &buffer, buffer.count), got > 0 { _ = write(target, buffer, got) }
        close(target)
        // The executable gets the raw byte through a shell, as a user's argv would carry it.
        let raw = TestSupport.run(["/bin/sh", "-c", "exec \"$0\" deps \"$1\"$(printf '\\377')", TestSupport.linkscopeExecutable,
                                   dir.path + "/prog"])
        #expect(raw.status == 0, "\(raw.stderr)")
        #expect(raw.stdout.hasPrefix(dir.path + "/prog\\xff\n"), "\(raw.stdout)")
        let escaped = TestSupport.linkscope(["deps", escapeName])
        #expect(escaped.status == 0, "\(escaped.stderr)")
        #expect(escaped.stdout.hasPrefix(dir.path + "/prog\\x1b[31m\\x0ax\n"), "\(escaped.stdout)")
        #expect(!escaped.stdout.contains("\u{1b}"))
        let check = TestSupport.run(["/bin/sh", "-c", "exec \"$0\" check \"$1\"$(printf '\\377')", TestSupport.linkscopeExecutable,
                                     dir.path + "/prog"])
        #expect(check.status == 0, "\(check.stdout) \(check.stderr)")
        #expect(check.stdout.hasPrefix("linkscope check \(dir.path)/prog\\xff: 1 ELF file (1 program"), "\(check.stdout)")
    }

    /// check's text report escapes the names in its problem lines too.
    @Test func checkReportEscapesNames() throws {
        let root = try TestSupport.temporaryDirectory("check-names")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(atPath: root.path + "/lib64", withIntermediateDirectories: true)
        try Data(TinyELF.sharedObject(soname: "ld-linux-x86-64.so.2"))
            .write(to: URL(fileURLWithPath: root.path + "/lib64/ld-linux-x86-64.so.2"))
        try Data(TinyELF.sharedObject(needed: ["libgone\u{1b}[2J.so"]))
            .write(to: URL(fileURLWithPath: root.path + "/lib64/evil\u{1b}[31m\nFORGED.so"))
        let run = TestSupport.linkscope(["check", "--root", root.path])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(!run.stdout.contains("\u{1b}"), "\(run.stdout)")
        #expect(!run.stdout.contains("\nFORGED"))
        #expect(run.stdout.contains("libgone\\x1b[2J.so"), "\(run.stdout)")
        #expect(run.stdout.contains("/lib64/evil\\x1b[31m\\x0aFORGED.so"), "\(run.stdout)")
    }

    /// An unreadable directory's line names it (it said only "cannot read directory: Permission denied").
    /// Run as nobody, since root reads every directory.
    @Test func unreadableDirectoryIsNamed() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") else { return }
        let root = try TestSupport.temporaryDirectory("check-unreadable")
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path + "/locked")
            try? FileManager.default.removeItem(at: root)
        }
        let fm = FileManager.default
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.path)
        try fm.createDirectory(atPath: root.path + "/lib64", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root.path + "/locked", withIntermediateDirectories: true)
        try Data(TinyELF.sharedObject(soname: "ld-linux-x86-64.so.2"))
            .write(to: URL(fileURLWithPath: root.path + "/lib64/ld-linux-x86-64.so.2"))
        try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: root.path + "/lib64/ld-linux-x86-64.so.2")
        try fm.setAttributes([.posixPermissions: 0], ofItemAtPath: root.path + "/locked")
        let run = TestSupport.run(["/usr/sbin/runuser", "-u", "nobody", "--", TestSupport.linkscopeExecutable, "check", "--root", root.path])
        #expect(run.status == 1, "\(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("unreadable (1 file):\n  /locked: cannot read directory: Permission denied\n"), "\(run.stdout)")
    }

    /// `deps ''` is a file that does not exist, as open("") says (it was the working directory).
    @Test func emptyFileNameDoesNotExist() {
        let run = TestSupport.linkscope(["deps", ""])
        #expect(run.status == 2)
        #expect(run.stderr == "linkscope: : No such file or directory\n")
    }

    /// FILE operands are taken out of the command line before ArgumentParser (whose array argument was
    /// quadratic): options still go anywhere, `--` ends them, and no FILE is still bad usage.
    @Test func operandsAndOptionsMix() {
        let run = TestSupport.linkscope(["deps", "/bin/true", "--ldd", "--root", "/", "/bin/ls"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("/bin/true:\n"), "\(run.stdout)")
        #expect(run.stdout.contains("/bin/ls:\n"))
        let dashed = TestSupport.linkscope(["deps", "--ldd", "--", "-v"])
        #expect(dashed.status == 2)
        #expect(dashed.stderr == "linkscope: -v: No such file or directory\n")
        let none = TestSupport.linkscope(["deps", "--ldd"])
        #expect(none.status == 2)
        #expect(none.stderr.contains("give at least one FILE"))
        #expect(none.stderr.contains("Usage: linkscope deps"), "\(none.stderr)")
    }
}
