import Foundation
@testable import Linker
import TestSupport
import Testing

/// Cost grows with the input's real size: chains of libraries as deep as anyone can make them, and
/// failed searches through long search paths, resolved without recursion and without a value per
/// candidate that does not exist.
@Suite struct ScaleTests {
    /// 20,000 libraries, each needing the next through RUNPATH $ORIGIN: every one is mapped, in order.
    /// (Each need used to walk the whole loader chain for RPATHs; the walk now visits only objects that
    /// have one.)
    @Test func twentyThousandDeepChainIsResolvedWhole() throws {
        let dir = try TestSupport.temporaryDirectory("chain")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try TinyELF.writeChain(20_000, in: dir.path)
        let graph = try DependencyResolver(environment: .host(environment: [:])).resolve(first)
        #expect(graph.isComplete)
        #expect(graph.objects.count == 20_000)
        #expect(graph.objects.last?.path == dir.path + "/libchain-19999.so")
        #expect(graph.objects.last?.depth == 19_999)
    }

    /// The RPATH walk still takes every RPATH up the loader chain, nearest first, and skips objects
    /// without one (and any object with RUNPATH, whose RPATH does not count).
    @Test func rpathsUpTheLoaderChainAreSearchedNearestFirst() throws {
        let dir = try TestSupport.temporaryDirectory("rpath-chain")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        for sub in ["a", "b", "c"] { try fm.createDirectory(atPath: dir.path + "/" + sub, withIntermediateDirectories: true) }
        func write(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: dir.path + "/" + path)) }
        // main (RPATH a:c) -> liba (no paths) -> libb (RPATH b, but RUNPATH too: ignored) ... found via a.
        try write(TinyELF.sharedObject(needed: ["liba.so"], rpath: "\(dir.path)/a:\(dir.path)/c"), "main")
        try write(TinyELF.sharedObject(needed: ["libb.so"]), "a/liba.so")
        try write(TinyELF.sharedObject(needed: ["libc-like.so"], rpath: "\(dir.path)/b", runpath: "/nonexistent"), "a/libb.so")
        try write(TinyELF.sharedObject(), "b/libc-like.so")
        try write(TinyELF.sharedObject(), "c/libc-like.so")
        let graph = try DependencyResolver(environment: .host(environment: [:])).resolve(dir.path + "/main")
        // libb has RUNPATH: its needs search RUNPATH only (no RPATH of anyone), then the defaults: not found.
        #expect(graph.missing.map(\.name) == ["libc-like.so"])
        try write(TinyELF.sharedObject(needed: ["libc-like.so"], rpath: "\(dir.path)/b"), "a/libb.so")
        let again = try DependencyResolver(environment: .host(environment: [:])).resolve(dir.path + "/main")
        #expect(again.objects.map(\.path).last == dir.path + "/b/libc-like.so", "libb's own RPATH first")
        try write(TinyELF.sharedObject(needed: ["libc-like.so"]), "a/libb.so")
        let third = try DependencyResolver(environment: .host(environment: [:])).resolve(dir.path + "/main")
        #expect(third.objects.map(\.path).last == dir.path + "/c/libc-like.so", "then the program's")
        #expect(third.dependencies.last?.rule == .rpath(of: dir.path + "/main"))
    }

    /// 1,000 missing names through a 1,000-directory RPATH: each need's trail holds a few pieces, not
    /// 11,000 candidates, and still reads back as every file tried, in the loader's order.
    @Test func failedSearchTrailIsCompactAndComplete() throws {
        let dir = try TestSupport.temporaryDirectory("trail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let directories = (0..<1_000).map { "/nonexistent/rpath-dir-\($0)" }
        let file = dir.path + "/many"
        try Data(TinyELF.sharedObject(needed: (0..<1_000).map { "libmissing-\($0).so" },
                                      rpath: directories.joined(separator: ":"))).write(to: URL(fileURLWithPath: file))
        let resolver = DependencyResolver(environment: .host(environment: [:]))
        let graph = try resolver.resolve(file)
        #expect(graph.missing.count == 1_000)
        let subdirectories = resolver.searchSubdirectoriesForPaths.count
        let defaults = resolver.environment.defaultDirectories.count
        for need in graph.missing {
            guard case .notFound(let trail, _) = need.outcome else { continue }
            #expect(trail.count == (1_000 + defaults) * subdirectories)
            #expect(trail.pieceCount <= 2, "one piece per search-path list")
            #expect(trail.refused.isEmpty)
        }
        guard case .notFound(let trail, _)? = graph.missing.last?.outcome else { Issue.record("found"); return }
        #expect(trail.first?.path == LoaderPath.join(LoaderPath.join(directories[0], resolver.searchSubdirectoriesForPaths[0]), "libmissing-999.so"))
        #expect(trail[subdirectories - 1].path == directories[0] + "/libmissing-999.so")
        #expect(trail[subdirectories].directory == directories[1])
        #expect(trail.last?.rule == .defaultPath)
        #expect(Array(trail).count == trail.count)
    }

    /// glibc tries `tls/x86_64` twice (the legacy hwcap and the platform are both x86_64); a file refused
    /// there is tried twice, as LD_DEBUG=libs shows, and named once among the refused.
    @Test func aRefusedFileIsNamedOnce() throws {
        let dir = try TestSupport.temporaryDirectory("refused-once")
        defer { try? FileManager.default.removeItem(at: dir) }
        let resolver = DependencyResolver(environment: .host(environment: [:]))
        guard resolver.searchSubdirectoriesForPaths.filter({ $0 == "tls/x86_64" }).count == 2 else { return }
        try FileManager.default.createDirectory(atPath: dir.path + "/lib/tls/x86_64", withIntermediateDirectories: true)
        var wrongClass = TinyELF.sharedObject(soname: "libx.so")
        wrongClass[4] = 1  // ELFCLASS32: skipped, the search goes on
        try Data(wrongClass).write(to: URL(fileURLWithPath: dir.path + "/lib/tls/x86_64/libx.so"))
        try Data(TinyELF.sharedObject(needed: ["libx.so"], runpath: dir.path + "/lib", flags1: TinyELF.noDefaultLibraries))
            .write(to: URL(fileURLWithPath: dir.path + "/main"))
        let graph = try resolver.resolve(dir.path + "/main")
        guard case .notFound(let trail, _)? = graph.missing.first?.outcome else { Issue.record("found"); return }
        #expect(trail.filter { $0.path == dir.path + "/lib/tls/x86_64/libx.so" }.count == 2)
        #expect(trail.refused.map(\.path) == [dir.path + "/lib/tls/x86_64/libx.so"])
    }

    /// The same file through the executable: `deps` (tree) used 2.9 GB for it (11 million candidates);
    /// now its memory is the file's and the lists'.
    @Test func failedSearchesThroughALongRPathUseLittleMemory() throws {
        let dir = try TestSupport.temporaryDirectory("trail-memory")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.path + "/many"
        try Data(TinyELF.sharedObject(needed: (0..<1_000).map { "libmissing-\($0).so" },
                                      rpath: (0..<1_000).map { "/nonexistent/rpath-dir-\($0)" }.joined(separator: ":")))
            .write(to: URL(fileURLWithPath: file))
        let run = TestSupport.run(["/usr/bin/time", "-f", "maxrss %M", TestSupport.linkscopeExecutable, "deps", file])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.components(separatedBy: " not found").count - 1 == 1_000)
        let kilobytes = run.stderr.split(separator: "\n").last { $0.hasPrefix("maxrss ") }.flatMap { Int($0.dropFirst(7)) } ?? .max
        #expect(kilobytes < 300_000, "max RSS \(kilobytes) KB")
    }
}
