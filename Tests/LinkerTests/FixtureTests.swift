import Foundation
import Linker
import TestSupport
import Testing

/// One scenario per loader rule (TestBinaries/deps/build.sh), each checked two ways: against the real loader
/// run on our own fixture (`LD_TRACE_LOADED_OBJECTS=1 prog`, which is what ldd does, but started by the
/// kernel so `$ORIGIN` is the real one), and against the rule we expect to have found each object.
@Suite struct FixtureTests {
    static func fixtures() throws -> String { try TestSupport.testBinaries.appendingPathComponent("deps").path }

    static func resolve(_ path: String, libraryPath: String? = nil) throws -> DependencyGraph {
        var environment = LoaderEnvironment.host(environment: [:])
        environment.libraryPath = libraryPath
        return try DependencyResolver(environment: environment).resolve(path)
    }

    /// "name => path" / "path" / "name => not found" lines, as a set, from the real loader.
    static func realLoader(_ path: String, libraryPath: String? = nil, preload: String? = nil) -> Set<String> {
        let output = TestSupport.run([path], environment: ["LD_TRACE_LOADED_OBJECTS": "1", "LD_LIBRARY_PATH": libraryPath,
                                                           "LD_PRELOAD": preload])
        return Set(output.stdout.split(separator: "\n").compactMap { line -> String? in
            var text = line.trimmingCharacters(in: .whitespaces)
            if let range = text.range(of: #" \(0x[0-9a-f]+\)$"#, options: .regularExpression) { text.removeSubrange(range) }
            return text.isEmpty || text.hasPrefix("linux-vdso") ? nil : text
        })
    }

    static func lddLines(_ graph: DependencyGraph) -> Set<String> {
        var lines = Set<String>()
        // rtld lists its own map only when an object names it, not for PT_INTERP alone.
        for need in graph.dependencies where !(need.needer == 0 && need.rule == .interpreter && need.name == graph.interpreter) {
            switch need.outcome {
            case .found(let target, _):
                let object = graph.objects[target]
                lines.insert(object.name == object.path ? object.path : "\(object.name) => \(object.path)")
            case .notFound:
                lines.insert("\(need.name) => not found")
            }
        }
        return lines
    }

    static func rule(of name: String, in graph: DependencyGraph, neededBy needer: Int? = nil) -> SearchRule? {
        graph.dependencies.first { $0.name == name && (needer == nil || $0.needer == needer) }?.rule
    }

    @Test("the resolver agrees with the real loader on every fixture",
          arguments: ["rpath/prog", "runpath/prog", "origin/link/deeper/prog", "env/prog-rpath", "env/prog-runpath",
                      "hwcaps/prog", "missing/prog", "cycle/prog", "nodeflib/prog", "wrongclass/prog"])
    func agreesWithRealLoader(_ program: String) throws {
        let path = try Self.fixtures() + "/" + program
        let libraryPath = program.hasPrefix("env/") ? try Self.fixtures() + "/env/envdir" : nil
        let graph = try Self.resolve(path, libraryPath: libraryPath)
        #expect(Self.lddLines(graph) == Self.realLoader(path, libraryPath: libraryPath))
    }

    @Test func rpathIsInheritedByTheLibrariesItLoads() throws {
        let dir = try Self.fixtures() + "/rpath"
        let graph = try Self.resolve(dir + "/prog")
        #expect(Self.rule(of: "libdep.so", in: graph) == .rpath(of: dir + "/prog"))
        #expect(Self.rule(of: "libleaf.so", in: graph) == .rpath(of: dir + "/prog"))
        #expect(graph.isComplete)
    }

    @Test func runpathServesOnlyDirectNeeds() throws {
        let dir = try Self.fixtures() + "/runpath"
        let graph = try Self.resolve(dir + "/prog")
        #expect(Self.rule(of: "libdep.so", in: graph) == .runpath(of: dir + "/prog"))
        let leaf = try #require(graph.missing.first)
        #expect(leaf.name == "libleaf.so")
        #expect(graph.objects[leaf.needer].name == "libdep.so")
    }

    @Test func originOfAProgramIsItsRealDirectory() throws {
        let dir = try Self.fixtures() + "/origin"
        let graph = try Self.resolve(dir + "/link/deeper/prog")
        let dep = try #require(graph.objects.first { $0.name == "libdep.so" })
        // $ORIGIN/../lib from real/bin, not from link/deeper (libtree and lddtree get this wrong).
        #expect(dep.path == dir + "/real/bin/../lib/libdep.so")
    }

    @Test func rpathBeatsLibraryPathWhichBeatsRunpath() throws {
        let dir = try Self.fixtures() + "/env"
        let env = dir + "/envdir"
        let viaRPath = try Self.resolve(dir + "/prog-rpath", libraryPath: env)
        #expect(viaRPath.objects.first { $0.name == "libx.so" }?.path == dir + "/rpath/libx.so")
        let viaRunpath = try Self.resolve(dir + "/prog-runpath", libraryPath: env)
        #expect(viaRunpath.objects.first { $0.name == "libx.so" }?.path == env + "/libx.so")
        #expect(Self.rule(of: "libx.so", in: viaRunpath) == .ldLibraryPath)
        let withoutEnv = try Self.resolve(dir + "/prog-runpath")
        #expect(Self.rule(of: "libx.so", in: withoutEnv) == .runpath(of: dir + "/prog-runpath"))
    }

    @Test func hwcapsSubdirectoryIsPreferred() throws {
        let dir = try Self.fixtures() + "/hwcaps"
        let environment = LoaderEnvironment.host(environment: [:])
        try #require(environment.hwcapsSubdirectories.contains("x86-64-v2"), "this CPU lacks x86-64-v2")
        let graph = try Self.resolve(dir + "/prog")
        let lib = try #require(graph.objects.first { $0.name == "libh.so" })
        #expect(lib.path == dir + "/lib/glibc-hwcaps/x86-64-v2/libh.so")
        #expect(lib.subdirectory == "glibc-hwcaps/x86-64-v2")
    }

    @Test func aCycleTerminatesAndReusesLoadedObjects() throws {
        let dir = try Self.fixtures() + "/cycle"
        let graph = try Self.resolve(dir + "/prog")
        #expect(graph.objects.filter { $0.name.hasPrefix("libcyc") }.count == 2)
        #expect(Self.rule(of: "libcyc1.so", in: graph, neededBy: graph.objects.firstIndex { $0.name == "libcyc2.so" })
                == .alreadyLoaded(name: "libcyc1.so"))
    }

    @Test func nodeflibSkipsCacheAndDefaultDirectories() throws {
        let graph = try Self.resolve(try Self.fixtures() + "/nodeflib/prog")
        #expect(graph.missing.map(\.name) == ["libc.so.6"])
    }

    @Test func wrongClassCandidateIsSkipped() throws {
        let dir = try Self.fixtures() + "/wrongclass"
        let graph = try Self.resolve(dir + "/prog")
        #expect(graph.objects.first { $0.name == "libw.so" }?.path == dir + "/good/libw.so")
    }

    @Test func nonELFCandidateStopsTheSearchLikeGlibc() throws {
        let dir = try Self.fixtures() + "/notelf"
        let graph = try Self.resolve(dir + "/prog")
        let need = try #require(graph.missing.first)
        #expect(need.name == "libn.so")
        guard case .notFound(let candidates, let error) = need.outcome else { Issue.record("found"); return }
        #expect(candidates.last?.path == dir + "/bad/libn.so")
        #expect(error == dir + "/bad/libn.so: file too short")
        // The real loader refuses to start with the same reason.
        let run = TestSupport.run([dir + "/prog"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("\(dir)/bad/libn.so: file too short"))
    }

    /// LD_PRELOAD objects come right after the program; one that cannot be opened is ignored, as rtld does.
    @Test func preloadsComeFirstAndMissingOnesAreIgnored() throws {
        let prog = try Self.fixtures() + "/rpath/prog"
        let preload = try Self.fixtures() + "/env/envdir/libx.so"
        var environment = LoaderEnvironment.host(environment: [:])
        environment.preload = [preload, "libnothere-at-all.so"]
        let graph = try DependencyResolver(environment: environment).resolve(prog)
        #expect(graph.objects[1].path == preload)
        #expect(graph.objects[1].rule == .preload(found: .directPath))
        #expect(graph.isComplete)
        #expect(graph.ignoredPreloads.map(\.name) == ["libnothere-at-all.so"])
        let real = TestSupport.run([prog], environment: ["LD_TRACE_LOADED_OBJECTS": "1", "LD_PRELOAD": "\(preload) libnothere-at-all.so"])
        #expect(real.stdout.contains(preload))
        #expect(Self.lddLines(graph) == Self.realLoader(prog, preload: "\(preload) libnothere-at-all.so"))
    }

    @Test func resolvingNeverRunsTheInterpreter() throws {
        let dir = try Self.fixtures() + "/mark"
        let graph = try Self.resolve(dir + "/prog")
        #expect(graph.interpreter == dir + "/interp.sh")
        #expect(graph.missing.first?.name == dir + "/interp.sh")
        #expect(!FileManager.default.fileExists(atPath: dir + "/ran"))
    }
}
