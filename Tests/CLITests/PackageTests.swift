import Foundation
import TestSupport
import Testing

/// What `scripts/package` makes (scripts/test runs it and names its folder in LINKSCOPE_PACKAGE): a binary
/// that needs nothing but glibc, a tarball and a Debian package with the drop-in names, man pages,
/// completions, README and licence — installed into a clean Debian root that has no Swift, and run there.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["LINKSCOPE_PACKAGE"] != nil,
                "scripts/test builds the package and sets LINKSCOPE_PACKAGE"), .serialized)
struct PackageTests {
    static let folder = ProcessInfo.processInfo.environment["LINKSCOPE_PACKAGE"] ?? ""
    static var binary: String { folder + "/stage/usr/bin/linkscope" }

    static func file(_ suffix: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(suffix) }
        try #require(names.count == 1, "one *\(suffix) in \(folder): \(names)")
        return folder + "/" + names[0]
    }

    static let expectedFiles = [
        "usr/bin/linkscope", "usr/bin/linkscope-ldd", "usr/bin/linkscope-ltrace",
        "usr/share/man/man1/linkscope.1.gz", "usr/share/man/man1/linkscope.deps.1.gz",
        "usr/share/man/man1/linkscope.trace.1.gz", "usr/share/man/man1/linkscope.check.1.gz",
        "usr/share/bash-completion/completions/linkscope", "usr/share/zsh/vendor-completions/_linkscope",
        "usr/share/fish/vendor_completions.d/linkscope.fish",
        "usr/share/doc/linkscope/README.md", "usr/share/doc/linkscope/copyright",
    ]

    /// The binary's libraries, as the loader on this machine resolves them: glibc's only.
    @Test func theBinaryNeedsOnlyGlibc() throws {
        let ldd = TestSupport.run(["/usr/bin/ldd", Self.binary])
        #expect(ldd.status == 0, "\(ldd.stderr)")
        let names = ldd.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            .map { $0.trimmingCharacters(in: .whitespaces) }
        for name in names {
            #expect(["linux-vdso.so.1", "libc.so.6", "libm.so.6", "/lib64/ld-linux-x86-64.so.2"].contains(name), "\(name)")
        }
        // No RPATH or RUNPATH: nothing next to the binary is loaded in place of glibc.
        let dynamic = TestSupport.run(["/usr/bin/readelf", "-d", Self.binary])
        #expect(dynamic.status == 0 && !dynamic.stdout.contains("RPATH") && !dynamic.stdout.contains("RUNPATH"), "\(dynamic.stdout)")
        // The glibc it needs is what the package's Depends says.
        let requires = TestSupport.linkscope(["deps", "--requires", Self.binary])
        let newest = requires.stdout.split(separator: "\n").first { $0.contains("libc.so.6: GLIBC_") }
            .flatMap { $0.split(separator: " ").dropFirst().first }.map { $0.replacingOccurrences(of: "GLIBC_", with: "") }
        let depends = TestSupport.run(["/usr/bin/dpkg-deb", "-f", try Self.file(".deb"), "Depends"]).stdout
        #expect(newest != nil && depends.contains("libc6 (>= \(newest!))"), "\(depends) vs \(requires.stdout)")
    }

    @Test func theDebAndTheTarballHoldEverything() throws {
        let deb = TestSupport.run(["/usr/bin/dpkg-deb", "-c", try Self.file(".deb")])
        #expect(deb.status == 0)
        let tarball = TestSupport.run(["/bin/tar", "-tzf", try Self.file(".tar.gz")])
        #expect(tarball.status == 0)
        for path in Self.expectedFiles {
            #expect(deb.stdout.contains(" ./\(path)"), "the .deb lacks \(path)")
            #expect(tarball.stdout.contains("/" + path.dropFirst(4)), "the tarball lacks \(path)")
        }
        #expect(deb.stdout.contains("./usr/bin/linkscope-ldd -> linkscope"))
        let completion = try String(contentsOfFile: Self.folder + "/stage/usr/share/bash-completion/completions/linkscope", encoding: .utf8)
        #expect(completion.contains("deps") && completion.contains("--engine"))
    }

    /// A clean Debian 12 root (mmdebstrap minbase + man-db: no Swift, no -dev package): linkscope's own
    /// check says the binary will run there; the .deb installs with dpkg inside it; deps, the ldd drop-in
    /// and the man page work there.
    @Test(.timeLimit(.minutes(10))) func installsAndRunsInACleanDebianRoot() throws {
        let build = TestSupport.run([TestSupport.packageRoot.appendingPathComponent("TestBinaries/package/build-root.sh").path])
        try #require(build.status == 0, "\(build.stderr)")
        let tar = build.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let root = try TestSupport.temporaryDirectory("package-root").appendingPathComponent("root").path
        _ = TestSupport.run(["/bin/rm", "-rf", root])
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { _ = TestSupport.run(["/bin/rm", "-rf", root]) }
        let unpacked = TestSupport.run(["/bin/tar", "-C", root, "-xf", tar])
        try #require(unpacked.status == 0, "\(unpacked.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/opt/swift") && !FileManager.default.fileExists(atPath: root + "/usr/bin/swift"))

        // Will it run there? linkscope's own answer, on the root's image, before installing.
        let check = TestSupport.linkscope(["check", "--root", tar, "--add", Self.binary])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")

        try FileManager.default.copyItem(atPath: try Self.file(".deb"), toPath: root + "/tmp/linkscope.deb")
        let install = TestSupport.run(["/usr/sbin/chroot", root, "dpkg", "-i", "/tmp/linkscope.deb"])
        try #require(install.status == 0, "\(install.stdout)\(install.stderr)")

        let ldd = TestSupport.run(["/usr/sbin/chroot", root, "ldd", "/bin/ls"])
        #expect(ldd.status == 0)
        let deps = TestSupport.run(["/usr/sbin/chroot", root, "linkscope", "deps", "--ldd", "/bin/ls"])
        #expect(deps.status == 0, "\(deps.stderr)")
        #expect(DepsVerdictTests.withoutAddresses(deps.stdout) == DepsVerdictTests.withoutAddresses(ldd.stdout))
        let tree = TestSupport.run(["/usr/sbin/chroot", root, "linkscope", "deps", "/bin/ls"])
        #expect(tree.status == 0 && tree.stdout.contains("libc.so.6"), "\(tree.stdout)\(tree.stderr)")
        let dropIn = TestSupport.run(["/usr/sbin/chroot", root, "linkscope-ldd", "/bin/ls"])
        #expect(DepsVerdictTests.withoutAddresses(dropIn.stdout) == DepsVerdictTests.withoutAddresses(ldd.stdout))

        let man = TestSupport.run(["/usr/sbin/chroot", root, "env", "MANPAGER=cat", "MANWIDTH=100", "man", "-l",
                                   "/usr/share/man/man1/linkscope.deps.1.gz"])
        #expect(man.status == 0, "\(man.stderr)")
        #expect(man.stdout.contains("--ldd") && man.stdout.contains("SYNOPSIS"), "\(man.stdout)")
    }
}
