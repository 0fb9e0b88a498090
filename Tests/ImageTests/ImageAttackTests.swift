import Foundation
import Testing
import TestSupport

/// The attacks that worked on `check` while it unpacked archives with the system tar, as tests: each runs
/// the built executable under strace and asserts it executed nothing (one execve, its own), created no
/// device (no mknod), wrote nothing (no open for writing, no mkdir/unlink/rename) and, once the archive
/// is open, opened nothing but the archive and the kernel's /proc and /sys.
@Suite struct ImageAttackTests {
    struct Trace {
        var lines: [String]
        var output: TestSupport.Output

        var execs: [String] { lines.filter { $0.contains("execve(") || $0.contains("execveat(") } }
        var deviceNodes: [String] { lines.filter { $0.contains("mknod") } }
        var writes: [String] {
            lines.filter { line in
                (line.contains("open") && (line.contains("O_WRONLY") || line.contains("O_RDWR") || line.contains("O_CREAT")))
                    || line.contains("mkdir") || line.contains("unlink") || line.contains("rename") || line.contains("creat(")
            }
        }

        /// Opens after the first open of `archive`, other than the archive, /proc, /sys, and names inside
        /// the image's own name space (`ARCHIVE!/…`), which no host file has and which must all fail.
        func opensOutside(_ archive: String) -> [String] {
            guard let first = lines.firstIndex(where: { $0.contains("\"\(archive)\"") && $0.contains("open") }) else {
                return ["the archive was never opened"]
            }
            return lines[first...].filter { $0.contains("open(") || $0.contains("openat(") }.filter { line in
                guard let start = line.firstIndex(of: "\""), let end = line[line.index(after: start)...].firstIndex(of: "\"") else { return true }
                let path = String(line[line.index(after: start)..<end])
                if path == archive || path.hasPrefix("/proc/") || path.hasPrefix("/sys/") { return false }
                if path.hasPrefix(archive + "!") { return !line.contains("= -1 E") }
                return true
            }
        }
    }

    static func traced(_ arguments: [String], environment: [String: String?] = [:], directory: URL? = nil) throws -> Trace {
        let dir = try TestSupport.temporaryDirectory("attack-trace")
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("strace.log").path
        let output = TestSupport.run(["/usr/bin/strace", "-f", "-qq", "-s", "256", "-o", log,
                                      "-e", "trace=execve,execveat,mknod,mknodat,open,openat,openat2,creat,mkdir,mkdirat,unlink,unlinkat,rename,renameat,renameat2",
                                      TestSupport.linkscopeExecutable] + arguments, environment: environment, directory: directory?.path)
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return Trace(lines: text.split(separator: "\n").map(String.init), output: output)
    }

    /// The fixture root of TestBinaries/check as a tar written by TarWriter, with `replace` members
    /// swapped in (and `extra` added) where the walk meets them.
    static func archive(of root: String, replacing replace: [String: TarWriter.Kind], extra: [(String, TarWriter.Kind)] = []) throws -> [UInt8] {
        var writer = TarWriter()
        let fm = FileManager.default
        let enumerator = fm.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            if let replacement = replace[relative] { writer.add(relative, replacement); continue }
            let host = root + "/" + relative
            let attributes = try fm.attributesOfItem(atPath: host)
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?: writer.add(relative + "/", .directory)
            case .typeSymbolicLink?: writer.add(relative, .symlink(try fm.destinationOfSymbolicLink(atPath: host)))
            case .typeRegular?: writer.add(relative, .file([UInt8](try Data(contentsOf: URL(fileURLWithPath: host)))))
            default: break
            }
        }
        for (name, kind) in extra { writer.add(name, kind) }
        return writer.finished()
    }

    static func fixtureRoot() throws -> String { try TestSupport.testBinaries.appendingPathComponent("check/root").path }

    @Test func deviceNodesNamedLikeLibrariesAreNeverCreatedNorOpened() throws {
        let dir = try TestSupport.temporaryDirectory("attack-devices")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = dir.appendingPathComponent("devices.tar").path
        // /dev/loop0 is block 7:0, /dev/mem character 1:1: a tar that extracted them would hand check the
        // host's disk and memory under a library's name.
        try Data(try Self.archive(of: try Self.fixtureRoot(), replacing: [
            "opt/fix/lib/libver.so.1": .blockDevice(major: 7, minor: 0),
        ], extra: [
            ("usr/lib/x86_64-linux-gnu/libmem.so.1", .characterDevice(major: 1, minor: 1)),
            ("usr/lib/x86_64-linux-gnu/libfifo.so.1", .fifo),
            ("usr/bin/devnode", .characterDevice(major: 1, minor: 1)),
        ])).write(to: URL(fileURLWithPath: tar))
        let trace = try Self.traced(["check", "--json", "--root", tar])
        #expect(trace.output.status == 1, "\(trace.output.stderr)")
        #expect(trace.execs.count == 1, "\(trace.execs)")
        #expect(trace.deviceNodes.isEmpty, "\(trace.deviceNodes)")
        #expect(trace.writes.isEmpty, "\(trace.writes)")
        #expect(trace.opensOutside(tar).isEmpty, "\(trace.opensOutside(tar))")
        #expect(!trace.lines.contains { $0.contains("/dev/loop0") || $0.contains("/dev/mem") })
        // The loader would find a block device where libver.so.1 should be: prog-ok is refused, and the
        // report says why in the loader's words.
        #expect(trace.output.stdout.contains("/opt/fix/lib/libver.so.1: file too short"), "\(trace.output.stdout)")
    }

    @Test func aRootNamedHostColonFileIsAFileNotARemoteTape() throws {
        let dir = try TestSupport.temporaryDirectory("attack-rsh")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(try Self.archive(of: try Self.fixtureRoot(), replacing: [:])).write(to: dir.appendingPathComponent("host:image.tar"))
        let trace = try Self.traced(["check", "--root", "host:image.tar", "/usr/bin/prog-ok"], directory: dir)
        #expect(trace.output.status == 0, "\(trace.output.stdout)\(trace.output.stderr)")
        #expect(trace.execs.count == 1, "rsh or rmt was started: \(trace.execs)")
        let missing = try Self.traced(["check", "--root", "nohost:none.tar"], directory: dir)
        #expect(missing.output.status == 2)
        #expect(missing.output.stderr == "linkscope check: root nohost:none.tar: No such file or directory\n")
        #expect(missing.execs.count == 1)
    }

    @Test func noTarIsLookedUpAndTarOptionsMeanNothing() throws {
        let dir = try TestSupport.temporaryDirectory("attack-path")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bin = dir.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let marker = dir.appendingPathComponent("ran").path
        for name in ["tar", "gzip", "zstd", "rsh"] {
            let fake = bin.appendingPathComponent(name)
            try Data("#!/bin/sh\ntouch \(marker)\n".utf8).write(to: fake)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)
        }
        let tar = dir.appendingPathComponent("root.tar.gz").path
        #expect(TestSupport.run(["/usr/bin/tar", "-czf", tar, "-C", try Self.fixtureRoot(), "."]).status == 0)
        let trace = try Self.traced(["check", "--root", tar, "/usr/bin/prog-ok"], environment: [
            "PATH": bin.path + ":/usr/bin:/bin", "TAR_OPTIONS": "--to-command=touch\\ \(marker)",
        ])
        #expect(trace.output.status == 0, "\(trace.output.stdout)\(trace.output.stderr)")
        #expect(trace.execs.count == 1, "\(trace.execs)")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    /// Nothing is written, so nothing can be left behind: a check interrupted by SIGINT, SIGTERM or SIGHUP
    /// leaves its TMPDIR as it found it.
    @Test(arguments: [SIGINT, SIGTERM, SIGHUP])
    func anInterruptedCheckLeavesNothingBehind(signal: Int32) throws {
        let dir = try TestSupport.temporaryDirectory("attack-signal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let temporary = dir.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        // A root big enough to be mid-check when the signal comes: the fixture root many times over.
        let tar = dir.appendingPathComponent("big.tar").path
        let root = try Self.fixtureRoot()
        var extra: [(String, TarWriter.Kind)] = []
        let program = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/usr/bin/prog-ok")))
        for index in 0..<3000 { extra.append(("usr/bin/copy-\(index)", .file(program))) }
        try Data(try Self.archive(of: root, replacing: [:], extra: extra)).write(to: URL(fileURLWithPath: tar))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.linkscopeExecutable)
        process.arguments = ["check", "--root", tar]
        process.environment = ["TMPDIR": temporary.path, "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(150_000)
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path).isEmpty)
        // And a whole run, traced: no file opened for writing, no directory made, nothing removed.
        let trace = try Self.traced(["check", "--root", tar, "/usr/bin/prog-ok"], environment: ["TMPDIR": temporary.path])
        #expect(trace.writes.isEmpty, "\(trace.writes)")
        #expect(trace.output.status == 0)
    }
}

/// An OCI layout written by hand, with a gzip layer, to pin what the config does to a check.
@Suite struct HandMadeLayoutTests {
    /// A layout of one gzip layer holding `members`, with `config` as the image config's `config` object.
    static func layout(_ members: [(String, TarWriter.Kind)], config: String) throws -> URL {
        let dir = try TestSupport.temporaryDirectory("hand-layout")
        let blobs = dir.appendingPathComponent("blobs/sha256")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        var writer = TarWriter()
        for (name, kind) in members { writer.add(name, kind) }
        let plain = dir.appendingPathComponent("layer.tar")
        try writer.write(to: plain)
        // Digests are names here (check does not verify them); they only need the digest grammar.
        let layer = String(repeating: "1", count: 64), configDigest = String(repeating: "2", count: 64), manifest = String(repeating: "3", count: 64)
        #expect(TestSupport.run(["/bin/sh", "-c", "gzip -c \"$0\" > \"$1\"", plain.path, blobs.appendingPathComponent(layer).path]).status == 0)
        try FileManager.default.removeItem(at: plain)
        try Data("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":\(config)}".utf8).write(to: blobs.appendingPathComponent(configDigest))
        try Data("""
            {"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\(configDigest)","size":1},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:\(layer)","size":1}]}
            """.utf8).write(to: blobs.appendingPathComponent(manifest))
        try Data("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:\(manifest)\",\"size\":1}]}".utf8)
            .write(to: dir.appendingPathComponent("index.json"))
        try Data("{\"imageLayoutVersion\":\"1.0.0\"}".utf8).write(to: dir.appendingPathComponent("oci-layout"))
        return dir
    }

    /// A script entry point from a compressed layer: its `#!` interpreter is what must be in the image.
    @Test func aScriptEntryPointNeedsItsInterpreter() throws {
        let script = Array("#!/bin/missing-sh -e\n# a long script body, longer than the 64 bytes kept of data files\n\(String(repeating: "echo hi\n", count: 40))".utf8)
        let dir = try Self.layout([("app/", .directory), ("app/run.sh", .file(script))],
                                  config: "{\"Entrypoint\":[\"/app/run.sh\"],\"Cmd\":[\"serve\"]}")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = TestSupport.linkscope(["check", "--root", dir.path])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("entry point: /app/run.sh serve (#! /bin/missing-sh): refused, 1 problem\n"), "\(result.stdout)")
        #expect(result.stdout.contains("entrypoint-not-found: entry point /app/run.sh: its #! interpreter /bin/missing-sh is not in the image"), "\(result.stdout)")
    }

    /// A program the config's PATH does not reach is the runtime's "executable file not found in $PATH".
    @Test func anEntryPointOutsideThePathIsNotFound() throws {
        let dir = try Self.layout([("opt/tool/bin/tool", .file(Array("#!/bin/sh\n".utf8)))],
                                  config: "{\"Env\":[\"PATH=/usr/bin:/bin\"],\"Entrypoint\":[\"tool\"]}")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = TestSupport.linkscope(["check", "--json", "--root", dir.path])
        #expect(result.status == 1)
        #expect(result.stdout.contains("\"detail\" : \"entry point tool: executable file not found in the image's PATH (/usr/bin:/bin)\""), "\(result.stdout)")
    }
}

/// `docker save` of two images in the legacy layout (`<id>/layer.tar`, `<id>.json` configs), one layer
/// shared through a symlink as old Docker versions wrote it: --image chooses, and without it the check
/// names the choices.
@Suite struct HandMadeDockerArchiveTests {
    @Test func twoImagesNeedImageAndLegacyLayersAreFollowed() throws {
        let root = try TestSupport.testBinaries.appendingPathComponent("check/root").path
        var base = TarWriter()
        let program = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/usr/bin/prog-ok")))
        base.add("usr/", .directory)
        base.add("usr/bin/", .directory)
        base.add("usr/bin/prog-ok", .file(program))
        var top = TarWriter()
        top.add("usr/bin/.wh.prog-ok", .file([]))
        let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)
        let configA = String(repeating: "c", count: 64), configB = String(repeating: "d", count: 64)
        var archive = TarWriter()
        archive.add("\(a)/", .directory)
        archive.add("\(a)/layer.tar", .file(base.finished()))
        archive.add("\(b)/", .directory)
        archive.add("\(b)/layer.tar", .file(top.finished()))
        // The second image repeats the first layer through a symlink to it.
        archive.add("\(configB)-base/", .directory)
        archive.add("\(configB)-base/layer.tar", .symlink("../\(a)/layer.tar"))
        archive.add("\(configA).json", .file(Array("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{}}".utf8)))
        archive.add("\(configB).json", .file(Array("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{}}".utf8)))
        archive.add("manifest.json", .file(Array("""
            [{"Config":"\(configA).json","RepoTags":["app:1"],"Layers":["\(a)/layer.tar"]},
             {"Config":"\(configB).json","RepoTags":["app:2","registry.example/app:2"],"Layers":["\(configB)-base/layer.tar","\(b)/layer.tar"]}]
            """.utf8)))
        let dir = try TestSupport.temporaryDirectory("hand-docker")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = dir.appendingPathComponent("save.tar").path
        try archive.write(to: URL(fileURLWithPath: tar))

        let ambiguous = TestSupport.linkscope(["check", "--root", tar])
        #expect(ambiguous.status == 2)
        #expect(ambiguous.stderr == "linkscope check: image \(tar): the archive holds 2 images (app:1, app:2, registry.example/app:2); choose one with --image\n")
        let first = TestSupport.linkscope(["check", "--json", "--root", tar, "--image", "app:1"])
        #expect(first.stdout.contains("\"digest\" : \"sha256:\(configA)\""), "\(first.stdout)")
        #expect(first.stdout.contains("\"executables\" : 1"), "prog-ok is in app:1: \(first.stdout)")
        // app:2's second layer deletes prog-ok with a whiteout.
        let second = TestSupport.linkscope(["check", "--json", "--root", tar, "--image", "registry.example/app:2"])
        #expect(second.stdout.contains("\"reference\" : \"registry.example/app:2\""), "\(second.stdout)")
        #expect(second.stdout.contains("\"executables\" : 0"), "\(second.stdout)")
        #expect(second.stdout.contains("\"layers\" : 2"))
        let none = TestSupport.linkscope(["check", "--root", tar, "--image", "app:3"])
        #expect(none.status == 2)
        #expect(none.stderr == "linkscope check: image \(tar): no image matches --image app:3 (the archive has app:1, app:2, registry.example/app:2)\n")
    }
}

/// Members that cannot be applied are named in the report, not dropped silently.
@Suite struct UnappliedMemberTests {
    @Test func aHardLinkToNothingIsNamed() throws {
        var writer = TarWriter()
        writer.add("usr/lib/libz.so.1", .hardLink("usr/lib/libz.so.1.2.13"))
        writer.add("loop", .symlink("loop"))
        writer.add("loop/x", .file([1]))
        let dir = try TestSupport.temporaryDirectory("unapplied")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = dir.appendingPathComponent("root.tar")
        try writer.write(to: tar)
        let result = TestSupport.linkscope(["check", "--root", tar.path])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("image: root-tar, 1 layer\n  not applied: usr/lib/libz.so.1: hard link to usr/lib/libz.so.1.2.13, which is not in the image\n  not applied: loop/x: a parent directory is a symlink loop\n"), "\(result.stdout)")
    }
}
