import Foundation
import TestSupport
import Testing

/// Installed or linked as `ldd` (or `linkscope-ldd`), linkscope takes ldd's command line and prints what
/// glibc's ldd prints, load addresses aside — without running the file. (The ltrace name is tested with the
/// rest of trace's command line, in TraceCommandLineTests.)
@Suite struct DropInTests {
    static func link(_ name: String) throws -> String {
        let dir = try TestSupport.temporaryDirectory("drop-in-\(name)")
        let link = dir.appendingPathComponent(name).path
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: TestSupport.linkscopeExecutable)
        return link
    }

    /// Real programs of this machine, several at once (ldd's `FILE:` headers), with each of ldd's flags.
    @Test(arguments: ["ldd", "linkscope-ldd"])
    func invokedAsLddPrintsLdd(name: String) throws {
        let ldd = try Self.link(name)
        // FileCheck-14 (llvm-14, a build dependency of Swift's toolchain here) has unused direct dependencies.
        let files = ["/bin/ls", "/usr/bin/python3", "/usr/bin/git", "/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/bin/FileCheck-14"]
            .filter { FileManager.default.fileExists(atPath: $0) }
        for flags in [[], ["-v"], ["-u"], ["-r"], ["-d"], ["--verbose", "--function-relocs"]] {
            for arguments in [files, [files[0]]] {
                let real = TestSupport.run(["/usr/bin/ldd"] + flags + arguments)
                let ours = TestSupport.run([ldd] + flags + arguments)
                #expect(DepsVerdictTests.withoutAddresses(ours.stdout) == DepsVerdictTests.withoutAddresses(real.stdout),
                        "\(name) \(flags) \(arguments)")
                #expect(ours.status == real.status, "\(name) \(flags) \(arguments): \(ours.stderr)")
            }
        }
        let version = TestSupport.run([ldd, "--version"])
        #expect(version.status == 0)
        #expect(version.stdout.hasPrefix("linkscope "), "\(version.stdout)")
    }

    /// A file that is missing or not a program: ldd's words and a failing status, as ldd.
    @Test func invokedAsLddRefusesAsLdd() throws {
        let ldd = try Self.link("ldd")
        let real = TestSupport.run(["/usr/bin/ldd", "/nonexistent/prog"])
        let ours = TestSupport.run([ldd, "/nonexistent/prog"])
        #expect(real.status != 0 && ours.status != 0)
        #expect(ours.stderr.contains("No such file or directory"), "\(ours.stderr)")
    }
}

/// The executable stays free of the full Foundation and its ICU (30 MB, and most of the start-up): its own
/// modules import none of Foundation, and FoundationEssentials comes only with swift-argument-parser.
@Suite struct ExecutableLinkageTests {
    @Test func noFullFoundationNorICU() throws {
        let dynamic = TestSupport.run(["/usr/bin/readelf", "-d", TestSupport.linkscopeExecutable])
        #expect(dynamic.status == 0)
        let needed = dynamic.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }
        #expect(!needed.isEmpty)
        for line in needed {
            #expect(!line.contains("libFoundation.so") && !line.contains("ICU") && !line.contains("Internationalization"),
                    "\(line)")
        }
    }
}
