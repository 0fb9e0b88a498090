import Foundation
@testable import Linker
import TestSupport
import Testing

/// A failed search is cheap: each directory of the search is listed once, and a candidate its directory
/// lacks costs no system call.
@Suite struct FailedSearchTests {
    /// An ET_DYN with `count` missing DT_NEEDED (`libmissing-N.so`) and, if `rpath` > 0, a DT_RPATH of that
    /// many nonexistent directories; the default search applies (no DF_1_NODEFLIB).
    static func missingNeeds(_ count: Int, rpath: Int = 0) -> [UInt8] {
        TinyELF.sharedObject(needed: (0..<count).map { "libmissing-\($0).so" },
                             rpath: rpath > 0 ? (0..<rpath).map { "/nonexistent/rpath-dir-\($0)" }.joined(separator: ":") : nil)
    }

    /// 2,000 missing names searched through 20 RPATH and 4 default directories, each under 11 subdirectories,
    /// were 528,000 probes: strace counted 648,088 stat calls. Now each searched directory is listed once
    /// (438 calls), and the same answer comes back (the JSON's "tried" still counts every candidate).
    @Test func missingNamesCostOneListingPerDirectory() throws {
        let dir = try TestSupport.temporaryDirectory("failed-search")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("many").path
        try Data(Self.missingNeeds(2_000, rpath: 20)).write(to: URL(fileURLWithPath: file))
        let log = dir.appendingPathComponent("strace").path
        let run = TestSupport.run(["/usr/bin/strace", "-f", "-qq", "-o", log, "-e", "trace=newfstatat,lstat,stat,getdents64",
                                   TestSupport.linkscopeExecutable, "deps", "--json", file])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.components(separatedBy: "\"tried\":").count - 1 == 2_000)
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count
        // 2,000 names x (20 rpath + 4 default directories) x the hwcaps/legacy subdirectories were each probed.
        #expect(calls < 5_000, "\(calls) stat/getdents calls")
    }

    @Test func listingsAnswerOnlyWhatIsSure() throws {
        let root = try TestSupport.temporaryDirectory("listings")
        defer { try? FileManager.default.removeItem(at: root) }
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("lib/sub"), withIntermediateDirectories: true)
        try Data([1]).write(to: root.appendingPathComponent("lib/libx.so"))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("link").path, withDestinationPath: "/lib")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("loop").path, withDestinationPath: "/loop")
        let listings = DirectoryListings(root: LoaderRoot(hostRoot: root.path))
        #expect(!listings.certainlyMissing("/lib/libx.so"))
        #expect(listings.certainlyMissing("/lib/liby.so"))
        #expect(!listings.certainlyMissing("/link/libx.so"), "an absolute link is followed inside the root")
        #expect(listings.certainlyMissing("/nonexistent/libx.so"))
        #expect(listings.certainlyMissing("/lib/libx.so/libx.so"), "a file is no directory")
        #expect(!listings.certainlyMissing("/lib/sub/.."))
        #expect(!listings.certainlyMissing("/lib/"))
        #expect(!listings.certainlyMissing("/loop/libx.so"), "a loop is the probe's to report")
        // A directory that cannot be read (mode 0o111) is searched path by path, as the loader does.
        let locked = root.appendingPathComponent("locked")
        try fm.createDirectory(at: locked, withIntermediateDirectories: true)
        try Data([1]).write(to: locked.appendingPathComponent("libz.so"))
        try fm.setAttributes([.posixPermissions: 0o111], ofItemAtPath: locked.path)
        defer { try? fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked.path) }
        if getuid() != 0 { #expect(!listings.certainlyMissing("/locked/libz.so")) }
    }
}
