import Foundation
import TestSupport
import Testing

/// `linkscope deps` end to end: the built executable against glibc ldd, the real loader and the contract.
@Suite struct DepsCommandTests {
    static func fixture(_ path: String) throws -> String {
        try TestSupport.testBinaries.appendingPathComponent("deps/" + path).path
    }

    /// ldd's lines without load addresses and the vDSO, as a set.
    static func lineSet(_ text: Substring) -> Set<String> {
        Set(text.split(separator: "\n").compactMap { line -> String? in
            var text = line.trimmingCharacters(in: .whitespaces)
            if let range = text.range(of: #" \(0x[0-9a-f]+\)$"#, options: .regularExpression) { text.removeSubrange(range) }
            return text.isEmpty || text.hasPrefix("linux-vdso") ? nil : text
        })
    }

    /// Every dynamically linked ELF file in the system directories of the issue.
    static func systemFiles() -> [String] {
        var files: [String] = []
        for directory in ["/usr/bin", "/usr/sbin", "/usr/lib/x86_64-linux-gnu"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names.sorted() {
                let path = directory + "/" + name
                guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                      attributes[.type] as? FileAttributeType == .typeRegular,
                      let handle = FileHandle(forReadingAtPath: path) else { continue }
                let header = handle.readData(ofLength: 64)
                try? handle.close()
                // 64-bit ELF programs and shared objects with a PT_DYNAMIC-bearing type.
                guard header.count == 64, header.starts(with: [0x7f, 0x45, 0x4c, 0x46]), header[4] == 2,
                      header[16] == 2 || header[16] == 3 else { continue }
                files.append(path)
            }
        }
        return files
    }

    /// The issue's acceptance test: name→path pairs equal glibc ldd's for every file, and so do the
    /// undefined symbols of `ldd -r` (deps `-r`, read from the JSON, which names each file's objects). One
    /// linkscope run per shape over all files; `ldd -r` file by file on both cores.
    @Test(.timeLimit(.minutes(5))) func lddPairsEqualGlibcLddOnTheWholeSystem() throws {
        let files = Self.systemFiles()
        try #require(files.count > 500)
        let ours = TestSupport.linkscope(["deps", "--ldd"] + files)
        #expect(ours.status == 0 || ours.status == 1, "\(ours.stderr.prefix(500))")
        var perFile: [String: Substring] = [:]
        var current: String?
        var start = ours.stdout.startIndex
        for line in ours.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix("\t"), line.hasSuffix(":") {
                if let current { perFile[current] = ours.stdout[start..<line.startIndex] }
                current = String(line.dropLast())
                start = line.endIndex
            }
        }
        if let current { perFile[current] = ours.stdout[start...] }
        let undefined = try Self.undefinedLinesFromJSON(TestSupport.linkscope(["deps", "--json", "-r"] + files).stdout)
        let results = LockedArray(count: files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            results.set(index, TestSupport.run(["/usr/bin/ldd", "-r", files[index]]).stdout)
        }
        var differing: [String] = []
        var withUndefined = 0
        for (index, file) in files.enumerated() {
            let ldd = results.get(index)
            if ldd.contains("not a dynamic executable") || ldd.contains("statically linked") { continue }
            let expected = Self.lineSet(Substring(ldd)).filter { !$0.hasPrefix("undefined symbol: ") }
            let got = Self.lineSet(perFile[file] ?? "")
            if expected != got {
                differing.append("\(file): ldd only \(expected.subtracting(got).sorted()), ours only \(got.subtracting(expected).sorted())")
            }
            let lddUndefined = Set(ldd.split(separator: "\n").map(String.init).filter { $0.hasPrefix("undefined symbol: ") })
            if !lddUndefined.isEmpty { withUndefined += 1 }
            if lddUndefined != undefined[file, default: []] {
                differing.append("\(file) -r: ldd only \(lddUndefined.subtracting(undefined[file, default: []]).sorted()), ours only \(undefined[file, default: []].subtracting(lddUndefined).sorted())")
            }
        }
        #expect(withUndefined > 0, "no file with undefined symbols: the -r comparison proves nothing")
        #expect(differing.isEmpty, "\(differing.count) files differ:\n\(differing.prefix(10).joined(separator: "\n"))")
    }

    /// `undefined symbol: NAME[, version V]\t(OBJECT)` lines per file, from `deps --json -r`.
    static func undefinedLinesFromJSON(_ text: String) throws -> [String: Set<String>] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var result: [String: Set<String>] = [:]
        for file in document["files"] as? [[String: Any]] ?? [] {
            guard let name = file["file"] as? String, let objects = file["objects"] as? [[String: Any]] else { continue }
            for symbol in file["undefined"] as? [[String: Any]] ?? [] {
                guard let object = symbol["object"] as? Int, let symbolName = symbol["symbol"] as? String else { continue }
                let path = object == 0 ? name : (objects[object]["path"] as? String ?? "?")
                let version = (symbol["version"] as? String).map { ", version \($0)" } ?? ""
                result[name, default: []].insert("undefined symbol: \(symbolName)\(version)\t(\(path))")
            }
        }
        return result
    }

    /// ldd runs `ld.so --list PATH`, which takes $ORIGIN of the program from the path as given; the kernel
    /// gives the real loader the resolved path. Through a symlink in another directory ldd is wrong; we follow
    /// the loader, and the program really starts.
    @Test func followsTheRealLoaderWhereLddIsWrong() throws {
        let prog = try Self.fixture("origin/link/deeper/prog")
        #expect(TestSupport.run(["/usr/bin/ldd", prog]).stdout.contains("libdep.so => not found"))
        let ours = TestSupport.linkscope(["deps", "--ldd", prog])
        #expect(ours.status == 0)
        #expect(ours.stdout.contains("libdep.so => \(try Self.fixture("origin/real/bin/../lib/libdep.so"))"))
        #expect(TestSupport.run([prog]).status == 0)
    }

    /// `-u` equals `ldd -u` (unused direct dependencies) for every dynamically linked program of /usr/bin.
    @Test(.timeLimit(.minutes(5))) func unusedLikeLddU() throws {
        let files = Self.systemFiles().filter { $0.hasPrefix("/usr/bin/") }
        try #require(files.count > 100)
        func unusedBlocks(_ text: String) -> [String: Set<String>] {
            var result: [String: Set<String>] = [:]
            var file: String?
            var inBlock = false
            for line in text.split(separator: "\n") {
                if !line.hasPrefix("\t"), line.hasSuffix(":"), !line.hasPrefix("Unused") {
                    file = String(line.dropLast()); inBlock = false
                } else if line.hasPrefix("Unused direct dependencies:") {
                    inBlock = true
                } else if inBlock, let file, line.hasPrefix("\t") {
                    result[file, default: []].insert(line.trimmingCharacters(in: .whitespaces))
                }
            }
            return result
        }
        let ours = unusedBlocks(TestSupport.linkscope(["deps", "--ldd", "-u"] + files).stdout)
        let results = LockedArray(count: files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            results.set(index, "\(files[index]):\n" + TestSupport.run(["/usr/bin/ldd", "-u", files[index]]).stdout)
        }
        var differing: [String] = []
        var withUnused = 0
        for (index, file) in files.enumerated() {
            let expected = unusedBlocks(results.get(index))[file] ?? []
            if !expected.isEmpty { withUnused += 1 }
            if expected != (ours[file] ?? []) { differing.append("\(file): ldd \(expected.sorted()), ours \((ours[file] ?? []).sorted())") }
        }
        #expect(withUnused > 0)
        #expect(differing.isEmpty, "\(differing.prefix(10).joined(separator: "\n"))")
    }

    /// `--root`: inside the check fixture's merged-/usr root (real glibc loader and libc copied in), our
    /// answer equals the root's own loader run under chroot (`ld.so --list`); for a missing library the
    /// loader stops with an error that names the library we report as not found.
    @Test(arguments: ["prog-ok", "prog-origin", "prog-abslink", "prog-shadow", "prog-missing", "prog-wrongonly", "prog-dangling"])
    func rootAgreesWithTheRootsOwnLoader(_ program: String) throws {
        let root = try TestSupport.testBinaries.appendingPathComponent("check/root").path
        try #require(FileManager.default.fileExists(atPath: root + "/usr/bin/" + program))
        let real = TestSupport.run(["/usr/sbin/chroot", root, "/lib64/ld-linux-x86-64.so.2", "--list", "/usr/bin/" + program])
        let ours = TestSupport.linkscope(["deps", "--ldd", "--root", root, "/usr/bin/" + program])
        // The same root as an image (a root tar, as `docker export` writes it), read in place: the same answer.
        let dir = try TestSupport.temporaryDirectory("deps-image")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = dir.appendingPathComponent("root.tar").path
        #expect(TestSupport.run(["/usr/bin/tar", "-cf", tar, "-C", root, "."]).status == 0)
        let fromImage = TestSupport.linkscope(["deps", "--ldd", "--root", tar, "/usr/bin/" + program])
        #expect(fromImage.stdout == ours.stdout && fromImage.status == ours.status, "\(fromImage.stderr)")
        if real.status == 0 {
            #expect(ours.status == 0)
            #expect(Self.lineSet(Substring(ours.stdout)) == Self.lineSet(Substring(real.stdout)))
        } else {
            #expect(ours.status == 1)
            let missing = ours.stdout.split(separator: "\n").filter { $0.hasSuffix("=> not found") }
            #expect(missing.count == 1)
            let name = missing.first.map { $0.trimmingCharacters(in: .whitespaces).components(separatedBy: " ")[0] } ?? "?"
            #expect(real.stderr.contains("\(name): cannot open shared object file"))
        }
    }

    /// The help is part of the contract: ldd's flags (short and long) and ours are all there.
    @Test func helpNamesEveryFlag() throws {
        let help = TestSupport.linkscope(["deps", "--help"])
        #expect(help.status == 0)
        for flag in ["--ldd", "--json", "--dot", "--root <DIR>", "-v, --verbose", "-u, --unused", "-r, --function-relocs",
                     "-d, --data-relocs", "--requires", "--follow-script"] {
            #expect(help.stdout.contains(flag), "deps --help lacks \(flag)")
        }
        #expect(TestSupport.linkscope(["deps", "--verbose", "--unused", "--ldd", "/bin/true"]).status == 0)
    }

    @Test func exitStatusesFollowTheContract() throws {
        #expect(TestSupport.linkscope(["deps", "/bin/ls"]).status == 0)
        let missing = TestSupport.linkscope(["deps", try Self.fixture("missing/prog")])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("libgone.so not found"))
        let text = try TestSupport.temporaryDirectory("deps-cli").appendingPathComponent("notes.txt")
        try String(repeating: "just text\n", count: 20).write(to: text, atomically: true, encoding: .utf8)
        // A file that cannot be analysed: one line naming it, exit 2, and the other files still printed.
        let mixed = TestSupport.linkscope(["deps", "--ldd", text.path, "/bin/ls"])
        #expect(mixed.status == 2)
        #expect(mixed.stderr == "linkscope: \(text.path): not a dynamic executable\n")
        #expect(mixed.stdout.hasPrefix("\(text.path):\n/bin/ls:\n"))
        #expect(mixed.stdout.contains("libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6"))
        let absent = TestSupport.linkscope(["deps", "/nonexistent/file"])
        #expect(absent.status == 2)
        #expect(absent.stderr == "linkscope: /nonexistent/file: No such file or directory\n")
        #expect(TestSupport.linkscope(["deps", "--ldd", "--json", "/bin/ls"]).status == 2)
        #expect(TestSupport.linkscope(["deps"]).status == 2)
    }

    /// Nothing is executed: one execve (linkscope itself) under strace, and the script PT_INTERP names
    /// would leave a mark file if it ran.
    @Test func nothingIsExecuted() throws {
        let prog = try Self.fixture("mark/prog")
        let trace = try TestSupport.temporaryDirectory("deps-strace").appendingPathComponent("trace").path
        let run = TestSupport.run(["/usr/bin/strace", "-f", "-qq", "-e", "trace=execve,execveat", "-o", trace,
                                   TestSupport.linkscopeExecutable, "deps", prog, "/bin/ls", try Self.fixture("rpath/prog")])
        #expect(run.status == 1)
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { $0.contains("execve") }
        #expect(lines.count == 1, "\(lines)")
        #expect(!FileManager.default.fileExists(atPath: try Self.fixture("mark/ran")))
    }

    @Test func jsonFollowsTheDocumentedSchema() throws {
        let run = TestSupport.linkscope(["deps", "--json", try Self.fixture("runpath/prog")])
        #expect(run.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let file = try #require((document["files"] as? [[String: Any]])?.first)
        #expect(file["complete"] as? Bool == false)
        let objects = try #require(file["objects"] as? [[String: Any]])
        #expect(objects.first?["rule"] as? String == "main")
        let dep = try #require(objects.first { $0["name"] as? String == "libdep.so" })
        #expect(dep["rule"] as? String == "runpath")
        #expect(dep["parent"] as? Int == 0)
        let needs = try #require(file["needs"] as? [[String: Any]])
        let leaf = try #require(needs.first { $0["name"] as? String == "libleaf.so" })
        #expect(leaf["path"] is NSNull)
        #expect(leaf["rule"] as? String == "not_found")
    }

    /// File names are bytes a user does not choose: the JSON escapes them exactly as `trace --json` does
    /// (one escaper, pinned in PrototypesTests), and stays parseable.
    @Test func jsonEscapesControlCharactersQuotesAndBackslashes() throws {
        let odd = "/nonexistent/q\"b\\s\u{1}\u{1f}\n\r\tdir é😀/x"
        let run = TestSupport.linkscope(["deps", "--json", odd])
        #expect(run.status == 2)
        #expect(run.stdout.contains(#"{"file":"/nonexistent/q\"b\\s\u0001\u001f\n\r\tdir é😀/x","error":"#), "\(run.stdout)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect((document["files"] as? [[String: Any]])?.first?["file"] as? String == odd)
    }

    @Test func treeSaysWhyAndUsesNoColourWhenPiped() throws {
        let prog = try Self.fixture("rpath/prog")
        let run = TestSupport.linkscope(["deps", prog])
        #expect(run.status == 0)
        #expect(!run.stdout.contains("\u{1b}["))
        #expect(run.stdout.contains("libleaf.so => \(try Self.fixture("rpath/lib/libleaf.so")) [rpath of \(prog)]"))
        #expect(run.stdout.contains("libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 [ld.so.cache]"))
        let shadowed = TestSupport.linkscope(["deps", try Self.fixture("wrongclass/prog")])
        #expect(shadowed.stdout.contains("skipped \(try Self.fixture("wrongclass/bad/libw.so")): wrong ELF class: ELFCLASS32"))
        let dot = TestSupport.linkscope(["deps", "--dot", try Self.fixture("missing/prog")])
        #expect(dot.stdout.hasPrefix("digraph deps {"))
        #expect(dot.stdout.contains("libgone.so\\nnot found"))
    }

    @Test func versionInformationLikeLddV() throws {
        let ours = TestSupport.linkscope(["deps", "--ldd", "-v", "/bin/ls"])
        let ldd = TestSupport.run(["/usr/bin/ldd", "-v", "/bin/ls"])
        func versions(_ text: String) -> Set<String> {
            let block = text.components(separatedBy: "Version information:").last ?? ""
            return Self.lineSet(Substring(block))
        }
        #expect(versions(ours.stdout) == versions(ldd.stdout))
    }
}

private final class LockedArray: @unchecked Sendable {
    private var values: [String]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: "", count: count) }
    func set(_ index: Int, _ value: String) { lock.lock(); values[index] = value; lock.unlock() }
    func get(_ index: Int) -> String { lock.lock(); defer { lock.unlock() }; return values[index] }
}
