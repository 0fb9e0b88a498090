import Foundation
import Testing
import TestSupport

/// `linkscope check` end to end: the built executable on the fixture root of TestBinaries/check.
@Suite struct CheckCommandTests {
    static func fixtureRoot() throws -> String {
        try TestSupport.testBinaries.appendingPathComponent("check/root").path
    }

    @Test func helpNamesEveryFlag() {
        let result = TestSupport.linkscope(["check", "--help"])
        #expect(result.status == 0)
        for flag in ["--root", "--json", "--junit", "--symbols", "--strict", "--cross-mounts", "--jobs",
                     "--no-progress", "--verbose", "--image", "--platform", "--add", "--provided", "--runtime", "--sarif"] {
            #expect(result.stdout.contains(flag), "help lacks \(flag)")
        }
    }

    @Test func aMissingRootCannotBeChecked() {
        let result = TestSupport.linkscope(["check", "--root", "/no/such/root"])
        #expect(result.status == 2)
        #expect(result.stderr == "linkscope check: root /no/such/root: No such file or directory\n")
        #expect(result.stdout.isEmpty)
    }

    @Test func aFileThatIsNotATarCannotBeChecked() throws {
        let dir = try TestSupport.temporaryDirectory("check-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let notTar = dir.appendingPathComponent("root.tar")
        try Data("this is not a tar archive\n".utf8).write(to: notTar)
        let result = TestSupport.linkscope(["check", "--root", notTar.path])
        #expect(result.status == 2)
        #expect(result.stderr == "linkscope check: image \(notTar.path): not a tar archive: 26 bytes, shorter than one 512-byte header\n")
        // As long as a header, but not one.
        try Data(repeating: UInt8(ascii: "x"), count: 4096).write(to: notTar)
        let long = TestSupport.linkscope(["check", "--root", notTar.path])
        #expect(long.status == 2)
        #expect(long.stderr == "linkscope check: image \(notTar.path): not a tar archive: bad checksum field in header at offset 0\n")
        #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
    }

    @Test func aMissingPathInsideTheRootCannotBeChecked() throws {
        let result = TestSupport.linkscope(["check", "--root", try Self.fixtureRoot(), "/usr/nothing"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("/usr/nothing"))
    }

    @Test func badUsageExitsTwo() {
        #expect(TestSupport.linkscope(["check", "--jobs", "0"]).status == 2)
        #expect(TestSupport.linkscope(["check", "--frobnicate"]).status == 2)
    }

    @Test func problemsExitOneAndTheSummaryGroupsThem() throws {
        let result = TestSupport.linkscope(["check", "--root", try Self.fixtureRoot()])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("bad-elf (1 file):"))
        #expect(result.stdout.contains("program interpreter /lib/ld-musl-x86_64.so.1 not found"))
        #expect(result.stderr.isEmpty, "no progress line when stderr is not a terminal: \(result.stderr)")
    }

    /// On a terminal (here a pseudo-terminal made by script(1)) a progress line is drawn on stderr and
    /// erased at the end, so the summary starts on a clean line.
    @Test func progressLineOnATerminalOnly() throws {
        let root = try Self.fixtureRoot()
        let command = "\(TestSupport.linkscopeExecutable) check --root \(root) /usr/bin >/dev/null"
        let tty = TestSupport.run(["/usr/bin/script", "-qec", command, "/dev/null"])
        #expect(tty.stdout.contains("\r\u{1b}[Kchecking "), "no progress line: \(tty.stdout.debugDescription)")
        #expect(tty.stdout.hasSuffix("\r\u{1b}[K"), "progress line not erased: \(tty.stdout.debugDescription)")
        let quiet = TestSupport.run(["/usr/bin/script", "-qec", command.replacingOccurrences(of: " check ", with: " check --no-progress "), "/dev/null"])
        #expect(!quiet.stdout.contains("checking "))
    }

    @Test func warningsFailOnlyWithStrict() throws {
        let root = try Self.fixtureRoot()
        let plain = TestSupport.linkscope(["check", "--root", root, "/usr/bin/prog-weakver"])
        #expect(plain.status == 0, "\(plain.stdout)")
        #expect(plain.stdout.contains("warning: /opt/fix/lib/libver.so.1: weak version `LIB_2.0' not found"))
        #expect(TestSupport.linkscope(["check", "--strict", "--root", root, "/usr/bin/prog-weakver"]).status == 1)
    }

    /// Hostile files in a root: copies of a fixture program with bytes overwritten in their headers and
    /// dynamic data (a fixed pseudo-random sequence, so a failure reproduces). check must finish with a
    /// verdict for each, never crash or hang.
    @Test(.timeLimit(.minutes(2)))
    func corruptObjectsAreVerdictsNotCrashes() throws {
        let root = try Self.fixtureRoot()
        let dir = try TestSupport.temporaryDirectory("check-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bin = dir.appendingPathComponent("usr/bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/usr/bin/prog-midver")))
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        for index in 0..<60 {
            var bytes = original
            for _ in 0..<(1 + index % 8) {
                // Keep the magic so every copy reaches the parser.
                let at = 4 + next() % min(bytes.count - 4, 16_384)
                bytes[at] = UInt8(truncatingIfNeeded: next())
            }
            try Data(bytes).write(to: bin.appendingPathComponent("mutant-\(index)"))
        }
        let result = TestSupport.linkscope(["check", "--json", "--symbols", "--root", dir.path])
        #expect(!result.killedBySignal, "check crashed: \(result.stderr)")
        #expect(result.status == 0 || result.status == 1, "status \(result.status): \(result.stderr)")
        #expect(result.stdout.contains("\"schema\" : \"linkscope-check\""))
    }

    @Test func aCleanSubsetExitsZero() throws {
        let result = TestSupport.linkscope(["check", "--root", try Self.fixtureRoot(), "/usr/bin/prog-ok",
                                            "/opt/fix/lib/libver.so.1"])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("clean"))
    }

    struct Report: Decodable {
        struct Totals: Decodable { var errors: Int; var warnings: Int; var filesWithErrors: Int; var byKind: [String: Int] }
        struct Item: Decodable { var kind: String; var severity: String; var file: String; var neededBy: String?
                                 var subject: String; var detail: String }
        var schema: String
        var version: Int
        var root: String
        var totals: Totals
        var problems: [Item]
    }

    @Test func jsonFollowsTheDocumentedSchema() throws {
        let root = try Self.fixtureRoot()
        let result = TestSupport.linkscope(["check", "--json", "--root", root])
        #expect(result.status == 1)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        #expect(report.schema == "linkscope-check")
        #expect(report.version == 1)
        #expect(report.root == root)
        #expect(report.totals.errors == report.problems.filter { $0.severity == "error" }.count)
        #expect(report.totals.filesWithErrors == Set(report.problems.filter { $0.severity == "error" }.map(\.file)).count)
        #expect(report.problems.contains { $0.kind == "bad-elf" && $0.file == "/usr/bin/truncated" })
    }

    @Test func junitReportIsWritten() throws {
        let dir = try TestSupport.temporaryDirectory("check-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let junit = dir.appendingPathComponent("check.xml")
        let result = TestSupport.linkscope(["check", "--root", try Self.fixtureRoot(), "--junit", junit.path])
        #expect(result.status == 1)
        let xml = try String(contentsOf: junit, encoding: .utf8)
        #expect(xml.hasPrefix("<?xml"))
        #expect(xml.contains("<testcase classname=\"linkscope.check\" name=\"/usr/bin/truncated\">"))
        #expect(xml.contains("<failure type=\"bad-elf\""))
    }

    @Test func aTarOfTheRootGivesTheSameVerdicts() throws {
        let root = try Self.fixtureRoot()
        let dir = try TestSupport.temporaryDirectory("check-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = dir.appendingPathComponent("root.tar.gz").path
        // As `docker export` writes it: paths relative to the root, symlinks kept as symlinks.
        let packed = TestSupport.run(["/usr/bin/tar", "-czf", tar, "-C", root, "."])
        #expect(packed.status == 0, "\(packed.stderr)")
        let fromDirectory = TestSupport.linkscope(["check", "--json", "--root", root])
        let fromTar = TestSupport.linkscope(["check", "--json", "--root", tar])
        #expect(fromTar.status == fromDirectory.status)
        let a = try JSONDecoder().decode(Report.self, from: Data(fromDirectory.stdout.utf8))
        let b = try JSONDecoder().decode(Report.self, from: Data(fromTar.stdout.utf8))
        #expect(a.problems.map(\.detail) == b.problems.map(\.detail))
        #expect(b.root == tar)
    }

    /// The fixture root as a tar, the shape `--add` needs (an image to copy files into).
    static func fixtureTar(in dir: URL) throws -> String {
        let tar = dir.appendingPathComponent("root.tar").path
        let packed = TestSupport.run(["/usr/bin/tar", "-cf", tar, "-C", try fixtureRoot(), "."])
        #expect(packed.status == 0, "\(packed.stderr)")
        return tar
    }

    @Test func addChecksHostFilesAsIfCopiedIntoTheImage() throws {
        let root = try Self.fixtureRoot()
        let dir = try TestSupport.temporaryDirectory("check-add")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = try Self.fixtureTar(in: dir)
        // A build output that needs LIB_2.0 of libver, which the image's libver lacks.
        let app = dir.appendingPathComponent("myapp").path
        try FileManager.default.copyItem(atPath: root + "/usr/bin/prog-newver", toPath: app)
        let refused = TestSupport.linkscope(["check", "--json", "--root", tar, "--add", app + ":/srv/bin/myapp"])
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(refused.stdout.utf8))
        #expect(report.problems.map(\.file) == ["/srv/bin/myapp"], "only the added file is checked: \(report.problems)")
        #expect(report.problems.first?.detail == "/opt/fix/lib/libver.so.1: version `LIB_2.0' not found (required by /srv/bin/myapp)")
        // Without a PATH it lands in /usr/local/bin, and a program the image can run is clean.
        let good = dir.appendingPathComponent("okapp").path
        try FileManager.default.copyItem(atPath: root + "/usr/bin/prog-ok", toPath: good)
        let clean = TestSupport.linkscope(["check", "--root", tar, "--add", good])
        #expect(clean.status == 0, "\(clean.stdout)")
        #expect(clean.stdout.contains("added: \(good) as /usr/local/bin/okapp\n"), "\(clean.stdout)")
        #expect(clean.stdout.contains("1 ELF file (1 program, 0 shared objects)"), "\(clean.stdout)")
        // A directory root has nowhere to copy to; a missing host file is bad input.
        let onDirectory = TestSupport.linkscope(["check", "--root", root, "--add", good])
        #expect(onDirectory.status == 2)
        #expect(onDirectory.stderr == "linkscope check: --add needs an image (a tar, docker or OCI archive, or an OCI layout), not the directory \(root)\n")
        let choosing = TestSupport.linkscope(["check", "--root", root, "--image", "app:1"])
        #expect(choosing.status == 2)
        #expect(choosing.stderr == "linkscope check: --image chooses an image of an archive or layout, not of the directory \(root)\n")
        #expect(TestSupport.linkscope(["check", "--platform", "linux/arm64"]).stderr == "linkscope check: --platform needs --root IMAGE (an archive or layout to choose from)\n")
        #expect(TestSupport.linkscope(["check", "--root", tar, "--platform", "linux"]).stderr.contains("--platform must be OS/ARCH or OS/ARCH/VARIANT, not 'linux'"))
        let missing = TestSupport.linkscope(["check", "--root", tar, "--add", dir.path + "/nothing"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "linkscope check: image \(tar): \(dir.path)/nothing: cannot open: No such file or directory\n")
    }

    @Test func providedLibrariesAreNotProblemsButAreNamed() throws {
        let root = try Self.fixtureRoot()
        let without = TestSupport.linkscope(["check", "--root", root, "/usr/bin/prog-missing"])
        #expect(without.status == 1)
        let with = TestSupport.linkscope(["check", "--root", root, "--provided", "libgone.so", "/usr/bin/prog-missing"])
        #expect(with.status == 0, "\(with.stdout)")
        #expect(with.stdout.contains("provided by the runtime: libgone.so.1 (needed by 1 file)\n"), "\(with.stdout)")
        let json = TestSupport.linkscope(["check", "--json", "--root", root, "--provided", "libgone.so.1", "/usr/bin/prog-missing"])
        #expect(json.stdout.contains("\"provided\" : {\n    \"libgone.so.1\" : [\n      \"/usr/bin/prog-missing\""), "\(json.stdout)")
    }

    @Test func theNvidiaRuntimeProvidesTheDriverLibraries() throws {
        let dir = try TestSupport.temporaryDirectory("check-nvidia")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tar = try Self.fixtureTar(in: dir)
        // A CUDA-style program: it needs libcuda.so.1 and libnvidia-ml.so.1, which the image never ships.
        for (name, symbol) in [("libcuda.so.1", "cuInit"), ("libnvidia-ml.so.1", "nvmlInit")] {
            let built = TestSupport.run(["/bin/sh", "-c", "printf 'int \(symbol)(void){return 0;}' | gcc -shared -fPIC -x c - -o \"$0\" -Wl,-soname,\(name)",
                                         dir.appendingPathComponent(name).path])
            #expect(built.status == 0, "\(built.stderr)")
        }
        let program = dir.appendingPathComponent("gpuapp").path
        let linked = TestSupport.run(["/bin/sh", "-c", "printf 'int cuInit(void); int nvmlInit(void); int main(void){return cuInit()+nvmlInit();}' | gcc -x c - -x none -o \"$0\" \"$1/libcuda.so.1\" \"$1/libnvidia-ml.so.1\"",
                                      program, dir.path])
        #expect(linked.status == 0, "\(linked.stderr)")
        let plain = TestSupport.linkscope(["check", "--root", tar, "--add", program])
        #expect(plain.status == 1)
        #expect(plain.stdout.contains("libcuda.so.1: cannot open shared object file"), "\(plain.stdout)")
        let nvidia = TestSupport.linkscope(["check", "--root", tar, "--add", program, "--runtime", "nvidia"])
        #expect(nvidia.status == 0, "\(nvidia.stdout)")
        #expect(nvidia.stdout.contains("provided by the runtime: libcuda.so.1 (needed by 1 file)"))
        #expect(nvidia.stdout.contains("provided by the runtime: libnvidia-ml.so.1 (needed by 1 file)"))
        let unknown = TestSupport.linkscope(["check", "--runtime", "amd"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("unknown --runtime 'amd' (known: nvidia)"), "\(unknown.stderr)")
    }

    @Test func sarifHasOneResultPerProblem() throws {
        let dir = try TestSupport.temporaryDirectory("check-sarif")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sarif = dir.appendingPathComponent("check.sarif")
        let result = TestSupport.linkscope(["check", "--json", "--root", try Self.fixtureRoot(), "--sarif", sarif.path])
        #expect(result.status == 1)
        let report = try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: sarif)) as? [String: Any]
        #expect(document?["version"] as? String == "2.1.0")
        #expect((document?["$schema"] as? String)?.hasSuffix("sarif-2.1.0.json") == true)
        let run = (document?["runs"] as? [[String: Any]])?.first
        let results = run?["results"] as? [[String: Any]] ?? []
        #expect(results.count == report.problems.count)
        let rules = ((run?["tool"] as? [String: Any])?["driver"] as? [String: Any])?["rules"] as? [[String: Any]] ?? []
        #expect(Set(rules.compactMap { $0["id"] as? String }) == Set(report.problems.map(\.kind)))
        for (result, problem) in zip(results, report.problems) {
            #expect(result["ruleId"] as? String == problem.kind)
            #expect(result["level"] as? String == problem.severity)
            #expect((result["message"] as? [String: Any])?["text"] as? String == problem.detail)
            let location = ((result["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["artifactLocation"] as? [String: Any]
            #expect(location?["uri"] as? String == String(problem.file.dropFirst()), "relative to the root: \(String(describing: location))")
            #expect(location?["uriBaseId"] as? String == "%SRCROOT%")
        }
    }
}
