import Foundation
import TestSupport
import Testing

/// `deps` refuses what the loader refuses: version needs (TestBinaries/deps `version/`) and undefined
/// symbols (`undef/`), each fixture checked against running it and against glibc `ldd` on the same path.
@Suite struct DepsVerdictTests {
    static func fixture(_ path: String) throws -> String {
        try TestSupport.testBinaries.appendingPathComponent("deps/" + path).path
    }

    /// ldd's `Version information:` block as a set of trimmed lines.
    static func versionBlock(_ text: String) -> Set<String> {
        guard let range = text.range(of: "Version information:") else { return [] }
        return Set(text[range.upperBound...].split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("linux-vdso") })
    }

    /// ldd's stdout without load addresses and the vDSO line.
    static func withoutAddresses(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("linux-vdso") }
            .map { $0.replacingOccurrences(of: #" \(0x[0-9a-f]+\)$"#, with: "", options: .regularExpression) }
            .joined(separator: "\n")
    }

    /// The lines ld.so writes about versions and symbols (ldd's stderr), as a set.
    static func loaderLines(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").map(String.init).filter {
            $0.contains("version `") || $0.contains("no version information") || $0.hasPrefix("undefined symbol: ")
        })
    }

    /// The loader refuses prog-rp (its RUNPATH finds a libver without LIB_2.0); deps says so in every shape
    /// and exits 1, and its --ldd/-v lines are ldd's.
    @Test func aMissingVersionIsRefusedLikeTheLoader() throws {
        let prog = try Self.fixture("version/prog-rp")
        let lib = try Self.fixture("version/v1/libver.so.1")
        let real = TestSupport.run([prog])
        #expect(real.status == 1)
        #expect(real.stderr.contains("\(lib): version `LIB_2.0' not found (required by \(prog))"))

        let tree = TestSupport.linkscope(["deps", prog])
        #expect(tree.status == 1)
        #expect(tree.stdout.contains("libver.so.1 => \(lib) [runpath of \(prog)] version LIB_2.0 not found (defines LIB_1.0)"), "\(tree.stdout)")

        let ldd = TestSupport.run(["/usr/bin/ldd", "-v", prog])
        let ours = TestSupport.linkscope(["deps", "--ldd", "-v", prog])
        #expect(ours.status == 1)
        #expect(ours.stdout.contains("libver.so.1 (LIB_2.0) => not found"))
        #expect(Self.versionBlock(ours.stdout) == Self.versionBlock(ldd.stdout))
        #expect(Self.loaderLines(ours.stdout) == Self.loaderLines(ldd.stdout))
        #expect(!Self.loaderLines(ours.stdout).isEmpty)

        let json = TestSupport.linkscope(["deps", "--json", prog])
        #expect(json.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let file = try #require((document["files"] as? [[String: Any]])?.first)
        #expect(file["complete"] as? Bool == true)
        #expect(file["loads"] as? Bool == false)
        let versions = try #require(file["versions"] as? [[String: Any]])
        #expect(versions.count == 1)
        #expect(versions.first?["version"] as? String == "LIB_2.0")
        #expect(versions.first?["kind"] as? String == "missing")
        #expect(versions.first?["error"] as? Bool == true)
        #expect(versions.first?["needer"] as? Int == 0)
    }

    /// A weak version and a provider without version definitions only warn: the program runs, deps exits 0
    /// and notes it, and ld.so's warnings are ldd's.
    @Test(arguments: ["version/prog-weak", "version/prog-noinfo", "version/prog-ok"])
    func warningsDoNotStopTheLoad(_ program: String) throws {
        let prog = try Self.fixture(program)
        #expect(TestSupport.run([prog]).status == 0)
        let tree = TestSupport.linkscope(["deps", prog])
        #expect(tree.status == 0, "\(tree.stdout)")
        switch program {
        case "version/prog-weak": #expect(tree.stdout.contains("weak version LIB_2.0 not found (defines LIB_1.0)"))
        case "version/prog-noinfo": #expect(tree.stdout.contains("no version information available (needs LIB_1.0, LIB_2.0)"))
        default: #expect(!tree.stdout.contains("version LIB") && !tree.stdout.contains("no version information"))
        }
        let ldd = TestSupport.run(["/usr/bin/ldd", "-v", prog])
        let ours = TestSupport.linkscope(["deps", "--ldd", "-v", prog])
        #expect(ours.status == 0)
        #expect(Self.versionBlock(ours.stdout) == Self.versionBlock(ldd.stdout))
        #expect(Self.loaderLines(ours.stdout) == Self.loaderLines(ldd.stdout))
    }

    /// `-d` reports data relocations only, `-r` functions too, in ldd's words; the real loader agrees (the
    /// function is refused only when bound at start, the data always).
    @Test func undefinedSymbolsLikeLddDAndR() throws {
        let fn = try Self.fixture("undef/prog-fn")
        let data = try Self.fixture("undef/prog-data")
        #expect(TestSupport.run([fn]).status == 0)
        #expect(TestSupport.run([fn], environment: ["LD_BIND_NOW": "1"]).stderr.contains("undefined symbol: fn_extra"))
        #expect(TestSupport.run([data]).stderr.contains("undefined symbol: data_extra"))
        for prog in [fn, data] {
            for flag in ["-d", "-r"] {
                let ldd = Self.loaderLines(TestSupport.run(["/usr/bin/ldd", flag, prog]).stdout)
                let ours = TestSupport.linkscope(["deps", "--ldd", flag, prog])
                #expect(Self.loaderLines(ours.stdout) == ldd, "\(flag) \(prog)")
                #expect(ours.status == (ldd.isEmpty ? 0 : 1))
            }
        }
        #expect(!TestSupport.linkscope(["deps", "--ldd", "-d", fn]).stdout.contains("undefined"))
        #expect(TestSupport.linkscope(["deps", "--ldd", "-r", fn]).stdout.hasSuffix("\t/lib64/ld-linux-x86-64.so.2\nundefined symbol: fn_extra\t(\(fn))\n"))
        // Without -r/-d nothing is looked up: the program loads, exit 0 (as it starts).
        #expect(TestSupport.linkscope(["deps", fn]).status == 0)
        let tree = TestSupport.linkscope(["deps", "-r", data])
        #expect(tree.status == 1)
        #expect(tree.stdout.contains("undefined symbol: data_extra\t(\(data))"))
        let json = TestSupport.linkscope(["deps", "--json", "-r", fn])
        #expect(json.stdout.contains(#""undefined":[{"object":0,"symbol":"fn_extra","version":null,"kind":"function"}]"#), "\(json.stdout)")
    }

    /// A missing version also fails its symbols' lookups under -r, as ldd -r shows.
    @Test func aMissingVersionFailsItsSymbolsUnderR() throws {
        let prog = try Self.fixture("version/prog-rp")
        let ldd = Self.loaderLines(TestSupport.run(["/usr/bin/ldd", "-r", prog]).stdout)
        let ours = TestSupport.linkscope(["deps", "--ldd", "-r", prog])
        #expect(Self.loaderLines(ours.stdout) == ldd)
        #expect(ldd.contains("undefined symbol: ver_two, version LIB_2.0\t(\(prog))"))
    }

    /// Inside a root (the check fixture, through a symlink to it, FILE as a host path under the link), deps
    /// refuses exactly the programs the root's own loader refuses under chroot, and says why as it does.
    @Test(arguments: ["prog-ok", "prog-newver", "prog-midver", "prog-weakver"])
    func versionsInsideARootAgreeWithChroot(_ program: String) throws {
        let root = try TestSupport.testBinaries.appendingPathComponent("check/root").path
        let link = try TestSupport.temporaryDirectory("deps-rootlink").appendingPathComponent("image").path
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: root)
        let real = TestSupport.run(["/usr/sbin/chroot", root, "/usr/bin/" + program])
        let ours = TestSupport.linkscope(["deps", "--ldd", "--root", link, link + "/usr/bin/" + program])
        #expect(ours.status == (real.status == 0 ? 0 : 1), "\(ours.stdout)\n\(real.stderr)")
        for line in real.stderr.split(separator: "\n") where line.contains("version `") {
            // "/usr/bin/prog: /opt/fix/lib/libver.so.1: version `LIB_2.0' not found (required by …)"
            // The main program is named as given (as ldd names it), so compare up to "(required by".
            let tail = (line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "")
                .components(separatedBy: " (required by").first ?? ""
            #expect(ours.stdout.contains(tail), "\(ours.stdout) lacks \(tail)")
        }
    }

    /// What is not a program is said in ldd's words: `not a dynamic executable` for a script or a text file
    /// (stdout with --ldd, as ldd prints it, and one line on stderr), `is a directory`; all exit 2.
    @Test func inputsInLddsWords() throws {
        for name in ["inputs/script.sh", "inputs/notes.txt"] {
            let file = try Self.fixture(name)
            // ldd: the header on stdout, "\tnot a dynamic executable" on stderr; our stdout is ldd's.
            let ldd = TestSupport.run(["/usr/bin/ldd", file, "/bin/true"])
            #expect(ldd.stderr.contains("\tnot a dynamic executable\n"))
            let ours = TestSupport.linkscope(["deps", "--ldd", file, "/bin/true"])
            #expect(Self.withoutAddresses(ours.stdout) == Self.withoutAddresses(ldd.stdout))
            #expect(ours.status == 2)
            #expect(ours.stderr.hasPrefix("linkscope: \(file): not a dynamic executable"))
        }
        let script = TestSupport.linkscope(["deps", try Self.fixture("inputs/script.sh")])
        #expect(script.stderr.contains("not a dynamic executable (a #! script for /bin/sh) (--follow-script resolves what it runs)"))
        let directory = try Self.fixture("inputs/a-directory")
        let ours = TestSupport.linkscope(["deps", directory])
        #expect(ours.status == 2)
        #expect(ours.stderr == "linkscope: \(directory): is a directory\n")
    }

    /// `--follow-script` resolves the program a script's first line runs: the interpreter's own answer,
    /// under the script's name; a missing interpreter names the script.
    @Test func followScriptResolvesTheInterpreter() throws {
        let script = try Self.fixture("inputs/script.sh")
        let followed = TestSupport.linkscope(["deps", "--ldd", "--follow-script", script])
        #expect(followed.status == 0)
        #expect(followed.stdout == TestSupport.linkscope(["deps", "--ldd", "/bin/sh"]).stdout)
        let tree = TestSupport.linkscope(["deps", "--follow-script", script])
        #expect(tree.stdout.hasPrefix("\(script): a #! script run by /bin/sh\n/bin/sh\n"))
        let lost = try Self.fixture("inputs/lost-script")
        let missing = TestSupport.linkscope(["deps", "--follow-script", lost])
        #expect(missing.status == 2)
        #expect(missing.stderr == "linkscope: \(lost): #! interpreter /nonexistent/interp of \(lost): No such file or directory\n")
        // `#!/usr/bin/env NAME` runs NAME from PATH.
        let env = try Self.fixture("inputs/env-script")
        let bin = try TestSupport.temporaryDirectory("deps-envpath")
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("python3").path, withDestinationPath: "/bin/true")
        let viaEnv = TestSupport.run([TestSupport.linkscopeExecutable, "deps", "--follow-script", env], environment: ["PATH": bin.path])
        #expect(viaEnv.status == 0)
        #expect(viaEnv.stdout.hasPrefix("\(env): a #! script run by \(bin.path)/python3\n"), "\(viaEnv.stdout)\(viaEnv.stderr)")
    }

    /// A missing need shows where it was looked for: JSON `tried` is every file the real loader tried, in
    /// its order (`LD_DEBUG=libs` "trying file=" lines), and `-v` names each directory with its rule.
    @Test(arguments: [("missing/prog", "libgone.so"), ("runpath/prog", "libleaf.so")])
    func triedIsWhatTheLoaderTried(_ program: String, _ library: String) throws {
        let prog = try Self.fixture(program)
        let debug = TestSupport.run([prog], environment: ["LD_DEBUG": "libs"]).stderr
        var trying: [String] = []
        var inBlock = false
        for line in debug.split(separator: "\n") {
            if line.contains("find library=") { inBlock = line.contains("find library=\(library) ") }
            else if inBlock, let range = line.range(of: "trying file=") { trying.append(String(line[range.upperBound...])) }
        }
        try #require(!trying.isEmpty)
        let json = TestSupport.linkscope(["deps", "--json", prog])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let needs = try #require((document["files"] as? [[String: Any]])?.first?["needs"] as? [[String: Any]])
        let need = try #require(needs.first { $0["name"] as? String == library })
        let tried = try #require(need["tried"] as? [[String: Any]])
        #expect(tried.compactMap { $0["path"] as? String } == trying)
        let searched = try #require(need["searched"] as? [[String: Any]])
        #expect(searched.contains { $0["cache"] as? Bool == true })
        let tree = TestSupport.linkscope(["deps", "-v", prog]).stdout
        #expect(tree.contains("searched ld.so.cache: no entry [ld.so.cache]"))
        #expect(tree.contains("searched /usr/lib (and "))
        if program == "missing/prog" {
            #expect(tree.contains("searched \(try Self.fixture("missing/nowhere")) (and "))
            #expect(tree.contains("[runpath of \(prog)]"))
        }
    }

    /// `--requires` lists, per library, exactly the versions `readelf -V` shows in the Version needs section,
    /// for every dynamically linked program of /usr/bin (one deps run, readelf on both cores).
    @Test(.timeLimit(.minutes(3))) func requiresAgreesWithReadelf() throws {
        let files = DepsCommandTests.systemFiles().filter { $0.hasPrefix("/usr/bin/") }
        try #require(files.count > 100)
        let json = TestSupport.linkscope(["deps", "--json"] + files)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        var ours: [String: Set<String>] = [:]
        for file in document["files"] as? [[String: Any]] ?? [] {
            guard let name = file["file"] as? String, let requires = file["requires"] as? [String: Any] else { continue }
            for library in requires["libraries"] as? [[String: Any]] ?? [] {
                let needed = library["file"] as? String ?? "?"
                for version in library["versions"] as? [String] ?? [] { ours[name, default: []].insert("\(needed) \(version)") }
            }
        }
        let readelf = LockedTexts(count: files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            readelf.set(index, TestSupport.run(["/usr/bin/readelf", "-V", "--wide", files[index]]).stdout)
        }
        var differing: [String] = []
        for (index, file) in files.enumerated() {
            var expected = Set<String>()
            var needed: String?
            var inNeeds = false
            for line in readelf.get(index).split(separator: "\n") {
                if line.contains("Version needs section") { inNeeds = true; continue }
                if line.contains("section '") { inNeeds = false }
                guard inNeeds else { continue }
                if let range = line.range(of: "File: ") {
                    needed = line[range.upperBound...].split(separator: " ").first.map(String.init)
                } else if let range = line.range(of: "Name: "), let needed {
                    let name = line[range.upperBound...].split(separator: " ").first.map(String.init) ?? ""
                    expected.insert("\(needed) \(name)")
                }
            }
            if expected != ours[file, default: []] { differing.append("\(file): readelf only \(expected.subtracting(ours[file, default: []]).sorted()), ours only \(ours[file, default: []].subtracting(expected).sorted())") }
        }
        #expect(differing.isEmpty, "\(differing.count) differ:\n\(differing.prefix(5).joined(separator: "\n"))")
    }

    /// The text shape: the newest version of each family with the symbols that need it, and the table.
    @Test func requiresNamesThePinningSymbolsAndTheReleases() throws {
        let prog = try Self.fixture("version/prog-ok")
        let run = TestSupport.linkscope(["deps", "--requires", prog])
        #expect(run.status == 0)
        #expect(run.stdout.contains("\tlibver.so.1: LIB_2.0 (newest LIB: data_two, ver_two), LIB_1.0\n"), "\(run.stdout)")
        #expect(run.stdout.contains("\tlibc.so.6: GLIBC_2.34 (newest GLIBC: __libc_start_main), GLIBC_2.2.5\n"))
        #expect(run.stdout.contains("\tno   Debian 11 (bullseye)"))
        #expect(run.stdout.contains("glibc 2.31: lacks GLIBC_2.34\n"))
        #expect(run.stdout.contains("\tyes  Debian 12 (bookworm)"))
    }

    /// do_lookup_x's rule for a versioned reference: an unversioned, non-hidden definition answers it even
    /// in a library with version definitions (its index 1 has no hash). The program (bound at start) runs,
    /// ldd -r reports nothing, and neither does deps -r.
    @Test func aVersionedReferenceBindsAnUnversionedDefinition() throws {
        let prog = try Self.fixture("lookup/prog")
        let real = TestSupport.run([prog])
        #expect(real.status == 0, "\(real.stderr)")
        #expect(real.stderr.contains("weak version `V2' not found"))
        let ldd = Self.loaderLines(TestSupport.run(["/usr/bin/ldd", "-r", prog]).stdout)
        let ours = TestSupport.linkscope(["deps", "--ldd", "-r", prog])
        #expect(Self.loaderLines(ours.stdout) == ldd)
        #expect(!ours.stdout.contains("undefined symbol"))
        #expect(ours.status == 0)
    }
}

final class LockedTexts: @unchecked Sendable {
    private var values: [String]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: "", count: count) }
    func set(_ index: Int, _ value: String) { lock.lock(); values[index] = value; lock.unlock() }
    func get(_ index: Int) -> String { lock.lock(); defer { lock.unlock() }; return values[index] }
}
