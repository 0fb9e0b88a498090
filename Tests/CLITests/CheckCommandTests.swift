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
}
