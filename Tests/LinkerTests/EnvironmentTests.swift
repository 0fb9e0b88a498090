import Foundation
import Linker
import TestSupport
import Testing

@Suite struct EnvironmentTests {
    /// `ld.so --help` prints the hwcaps levels this CPU supports and the legacy subdirectories; ours agree.
    @Test func hwcapsLevelsMatchTheLoadersOwnDiagnostics() throws {
        let help = TestSupport.run(["/lib64/ld-linux-x86-64.so.2", "--help"])
        let supported = help.stdout.split(separator: "\n")
            .filter { $0.contains("(supported, searched)") && $0.contains("x86-64-v") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(LoaderEnvironment.host(environment: [:]).hwcapsSubdirectories == supported)
    }

    /// The per-directory list LD_DEBUG=libs prints for an RPATH directory.
    @Test func searchSubdirectoriesMatchLDDebug() throws {
        let prog = try TestSupport.testBinaries.appendingPathComponent("deps/missing/prog").path
        let output = TestSupport.run([prog], environment: ["LD_DEBUG": "libs"])
        let line = try #require(output.stderr.split(separator: "\n").first { $0.contains("search path=") && $0.contains("RUNPATH") })
        let list = line.split(separator: "=", maxSplits: 1)[1].split(separator: "\t")[0].split(separator: ":").map(String.init)
        let base = try TestSupport.testBinaries.appendingPathComponent("deps/missing/nowhere").path
        let ours = LoaderEnvironment.host(environment: [:]).searchSubdirectories.map { $0.isEmpty ? base : base + "/" + $0 }
        #expect(list == ours)
    }

    /// glibc derives the legacy `avx512_1` hwcap and the `haswell`/`xeon_phi` platform on Intel CPUs only: the
    /// AMD EPYC of these VMs has AVX-512 and `ld.so --help` lists `avx512_1` as unsupported.
    @Test func legacyHWCapsAndPlatformAreIntelOnly() {
        let skylake: Set<String> = ["cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3", "avx", "avx2", "bmi1",
                                    "bmi2", "f16c", "fma", "abm", "movbe", "xsave", "avx512f", "avx512bw",
                                    "avx512cd", "avx512dq", "avx512vl"]
        let amd = CPUCapabilities(flags: skylake, platform: "x86_64", isIntel: false)
        #expect(amd.legacyHWCaps == ["x86_64"] && amd.platform == "x86_64")
        let intel = CPUCapabilities(flags: skylake, platform: "x86_64", isIntel: true)
        #expect(intel.legacyHWCaps == ["x86_64", "avx512_1"] && intel.platform == "haswell")
        let phi = CPUCapabilities(flags: skylake.union(["avx512er", "avx512pf"]), platform: "x86_64", isIntel: true)
        #expect(phi.legacyHWCaps == ["x86_64"] && phi.platform == "xeon_phi")
        #expect(amd.hwcapsSubdirectories == ["x86-64-v4", "x86-64-v3", "x86-64-v2"])
    }

    @Test func rootEnvironmentReadsTheRootsOwnFiles() throws {
        let root = try TestSupport.temporaryDirectory("deps-root")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc/ld.so.conf.d"), withIntermediateDirectories: true)
        try "include /etc/ld.so.conf.d/*.conf\n/opt/one\n".write(to: root.appendingPathComponent("etc/ld.so.conf"), atomically: true, encoding: .utf8)
        try "/opt/two # comment\n".write(to: root.appendingPathComponent("etc/ld.so.conf.d/a.conf"), atomically: true, encoding: .utf8)
        try "libpre.so\n".write(to: root.appendingPathComponent("etc/ld.so.preload"), atomically: true, encoding: .utf8)
        let environment = try LoaderEnvironment.root(root.path)
        #expect(environment.configuredDirectories == ["/opt/two", "/opt/one"])
        #expect(environment.preload == ["libpre.so"])
        #expect(environment.cache == nil)
        #expect(environment.libraryPath == nil)
        #expect(throws: LoaderEnvironmentError.self) { try LoaderEnvironment.root(root.path + "/nope") }
    }

    @Test func rootFollowsAbsoluteSymlinksInsideTheRoot() throws {
        let root = try TestSupport.temporaryDirectory("deps-root")
        defer { try? FileManager.default.removeItem(at: root) }
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("usr/lib/x86_64-linux-gnu"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("lib64"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("lib").path, withDestinationPath: "usr/lib")
        try fm.copyItem(atPath: "/lib/x86_64-linux-gnu/libc.so.6", toPath: root.appendingPathComponent("usr/lib/x86_64-linux-gnu/libc.so.6").path)
        try fm.copyItem(atPath: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                        toPath: root.appendingPathComponent("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2").path)
        // An absolute link: on the host it would name the host's loader; inside the root, the root's.
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("lib64/ld-linux-x86-64.so.2").path,
                                  withDestinationPath: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        try fm.copyItem(atPath: try TestSupport.testBinaries.appendingPathComponent("deps/nodeflib/prog").path,
                        toPath: root.appendingPathComponent("prog").path)
        let resolver = DependencyResolver(environment: try LoaderEnvironment.root(root.path))
        let info = try resolver.objectInfo(atPath: "/lib64/ld-linux-x86-64.so.2").get()
        #expect(info.realPath == "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        #expect(info.hostPath == root.path + "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        // A program without NODEFLIB finds libc in the root's default directories (no cache in the root).
        let ls = try resolver.resolve("/prog")
        #expect(ls.objects.first?.info.hostPath == root.path + "/prog")
    }
}
