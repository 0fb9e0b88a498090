import Foundation
import Testing
@testable import Check
import TestSupport

/// The verdicts of `check` on the fixture root against the real glibc loader run inside it
/// (`chroot ROOT /usr/bin/PROG`): the loader must refuse exactly the programs check flags, for the
/// reason check gives. The fixture programs print "ok" when they load.
@Suite(.serialized) struct GroundTruthTests {
    static let programs = ["prog-ok", "prog-newver", "prog-weakver", "prog-midver", "prog-missing", "prog-origin", "prog-abslink",
                           "prog-shadow", "prog-wrongonly", "prog-undef", "prog-dangling", "prog-nointerp", "truncated"]

    static func fixtureRoot() throws -> String {
        try TestSupport.testBinaries.appendingPathComponent("check/root").path
    }

    /// Runs `/usr/bin/NAME` under chroot. The main program's `$ORIGIN` comes from /proc/self/exe, so when
    /// unshare is allowed a private /proc is mounted inside the root first, as a container would have.
    static func runInRoot(_ root: String, _ name: String) -> TestSupport.Output {
        let withProc = TestSupport.run(["/usr/bin/unshare", "--mount", "--pid", "--fork", "/bin/sh", "-c",
                                        "mount -t proc proc \"$0/proc\" && exec chroot \"$0\" \"/usr/bin/$1\"", root, name])
        if withProc.stderr.contains("unshare:") || withProc.stderr.contains("mount:") {
            return TestSupport.run(["/usr/sbin/chroot", root, "/usr/bin/\(name)"])
        }
        return withProc
    }

    static func refusedByLoader(_ output: TestSupport.Output) -> Bool {
        output.status != 0 || !output.stdout.hasPrefix("ok")
    }

    func check(symbols: Bool) throws -> CheckReport {
        var options = CheckOptions(root: try Self.fixtureRoot(), paths: [])
        options.symbols = symbols
        options.jobs = 2
        return try Checker(options: options).run()
    }

    @Test(arguments: [false, true])
    func checkFlagsExactlyWhatTheLoaderRefuses(symbols: Bool) throws {
        let root = try Self.fixtureRoot()
        let report = try check(symbols: symbols)
        let flagged = Set(report.filesWithErrors.filter { $0.hasPrefix("/usr/bin/") }.map { String($0.dropFirst(9)) })
        var refused = Set<String>()
        for name in Self.programs where Self.refusedByLoader(Self.runInRoot(root, name)) { refused.insert(name) }
        // Only an undefined symbol needs --symbols to be seen without running anything.
        let expected = symbols ? refused : refused.subtracting(["prog-undef"])
        #expect(flagged == expected, "check flagged \(flagged.sorted()), the loader refused \(refused.sorted())")
        #expect(refused.contains("prog-newver") && !refused.contains("prog-ok"), "fixture root is not what build.sh says")
    }

    @Test func versionMessagesAreTheLoaders() throws {
        let root = try Self.fixtureRoot()
        let report = try check(symbols: false)
        for name in ["prog-newver", "prog-midver"] {
            let loader = Self.runInRoot(root, name).stderr
            let ours = report.problems.filter { $0.file == "/usr/bin/\(name)" && $0.kind == .versionNotFound }
            #expect(ours.count == 1, "\(name): \(ours)")
            for problem in ours {
                #expect(loader.contains(problem.detail), "loader said \(loader), check said \(problem.detail)")
            }
        }
    }

    @Test func aMissingWeakVersionOnlyWarnsAsTheLoaderDoes() throws {
        let root = try Self.fixtureRoot()
        let run = Self.runInRoot(root, "prog-weakver")
        #expect(!Self.refusedByLoader(run), "the loader runs it: \(run.stderr)")
        let report = try check(symbols: true)
        let ours = report.problems.filter { $0.file == "/usr/bin/prog-weakver" }
        #expect(ours.map(\.severity) == [.warning], "\(ours)")
        #expect(ours.first.map { run.stderr.contains($0.detail) } == true, "loader: \(run.stderr) check: \(ours)")
    }

    @Test func missingLibrariesNameWhatTheLoaderCannotOpen() throws {
        let root = try Self.fixtureRoot()
        let report = try check(symbols: false)
        for (name, library) in [("prog-missing", "libgone.so.1"), ("prog-dangling", "libdangling.so.1"),
                                ("prog-wrongonly", "libwrongonly.so.1")] {
            let loader = Self.runInRoot(root, name).stderr
            #expect(loader.contains("\(library): cannot open shared object file"), "\(name): \(loader)")
            let ours = report.problems.filter { $0.file == "/usr/bin/\(name)" && $0.kind == .notFound }
            #expect(ours.map(\.subject) == [library], "\(name): \(ours)")
        }
    }

    @Test func undefinedSymbolIsTheLoadersSymbolLookupError() throws {
        let root = try Self.fixtureRoot()
        let report = try check(symbols: true)
        let loader = Self.runInRoot(root, "prog-undef").stderr
        #expect(loader.contains("undefined symbol: sym_extra"))
        let ours = report.problems.filter { $0.file == "/usr/bin/prog-undef" }
        #expect(ours.map(\.kind) == [.undefinedSymbol])
        #expect(ours.first.map { loader.contains($0.detail) } == true, "loader: \(loader) check: \(ours)")
        // A program missing a library is not also charged with each symbol that library would define.
        #expect(!report.problems.contains { $0.kind == .undefinedSymbol && $0.file == "/usr/bin/prog-missing" })
    }

    @Test func wrongArchShadowIsAWarningAndTheRightLibraryLoads() throws {
        let root = try Self.fixtureRoot()
        #expect(!Self.refusedByLoader(Self.runInRoot(root, "prog-shadow")), "glibc skips the AArch64 copy")
        let report = try check(symbols: false)
        let shadow = report.problems.filter { $0.file == "/usr/bin/prog-shadow" }
        #expect(!shadow.contains { $0.severity == .error }, "the loader accepts prog-shadow")
        #expect(shadow.map(\.kind) == [.wrongArch])
        #expect(shadow.first?.severity == .warning)
        #expect(shadow.first?.detail.hasPrefix("/opt/fix/shadow/libshadow.so.1 (wrong machine: AArch64") == true, "\(shadow)")
        #expect(shadow.first?.detail.contains("/opt/fix/lib/libshadow.so.1, which is loaded instead") == true, "\(shadow)")
    }

    @Test func onlyAWrongArchCandidateIsNotFoundAndSaysWhy() throws {
        let report = try check(symbols: false)
        let problems = report.problems.filter { $0.file == "/usr/bin/prog-wrongonly" }
        #expect(problems.count == 1)
        #expect(problems.first?.detail.contains("refused /opt/fix/shadow/libwrongonly.so.1 (wrong machine: AArch64)") == true,
                "\(problems)")
    }

    @Test func theRestOfTheRootIsClean() throws {
        let report = try check(symbols: true)
        let clean = ["/usr/bin/prog-ok", "/usr/bin/prog-origin", "/usr/bin/prog-abslink",
                     "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                     "/opt/fix/lib/libver.so.1", "/opt/fix/real/libalink.so.1.0"]
        for file in clean {
            #expect(!report.problems.contains { $0.file == file }, "\(file): \(report.problems.filter { $0.file == file })")
        }
        #expect(report.problems.contains { $0.kind == .badELF && $0.file == "/usr/bin/truncated" })
        #expect(!report.problems.contains { $0.file.hasPrefix("/proc/") })
    }
}
