import ELF
import Foundation
import Linker
import TestSupport
import Testing

/// The Linker's one home for dl-version.c and dl-lookup.c rules, on the `version/` and `undef/` fixtures
/// (TestBinaries/deps/build.sh); the CLI tests compare the same fixtures with the real loader and ldd.
@Suite struct VersionRulesTests {
    static func resolve(_ path: String) throws -> (DependencyResolver, DependencyGraph) {
        let resolver = DependencyResolver(environment: LoaderEnvironment.host(environment: [:]))
        let graph = try resolver.resolve(try TestSupport.testBinaries.appendingPathComponent("deps/" + path).path)
        return (resolver, graph)
    }

    @Test func theNeedIsCheckedAgainstTheObjectThatIsLoaded() throws {
        let (_, graph) = try Self.resolve("version/prog-rp")
        let problems = graph.versionProblems
        #expect(problems.count == 1)
        let problem = try #require(problems.first)
        #expect(problem.needer == 0 && problem.file == "libver.so.1")
        #expect(graph.objects[problem.provider].path.hasSuffix("/version/v1/libver.so.1"))
        #expect(problem.failure.kind == .missing && problem.failure.version.name == "LIB_2.0")
        #expect(!graph.loads && graph.isComplete)
        #expect(problem.failure.message(requiredBy: "p") == "version `LIB_2.0' not found (required by p)")
        let (_, ok) = try Self.resolve("version/prog-ok")
        #expect(ok.versionProblems.isEmpty && ok.loads)
    }

    @Test func weakAndUnversionedProvidersAreWarnings() throws {
        let (_, weak) = try Self.resolve("version/prog-weak")
        #expect(weak.versionProblems.map(\.failure.kind) == [.missingWeak])
        #expect(weak.loads)
        let (_, noinfo) = try Self.resolve("version/prog-noinfo")
        #expect(noinfo.versionProblems.map(\.failure.kind) == [.noVersionInformation, .noVersionInformation])
        #expect(noinfo.loads)
    }

    @Test func relocationsAreLookedUpAsLddDAndR() throws {
        let (resolver, fn) = try Self.resolve("undef/prog-fn")
        #expect(resolver.undefinedSymbols(in: fn, mode: .data).isEmpty)
        let all = resolver.undefinedSymbols(in: fn, mode: .all)
        #expect(all.map(\.name) == ["fn_extra"] && all.allSatisfy(\.isFunction))
        let (_, data) = try Self.resolve("undef/prog-data")
        #expect(resolver.undefinedSymbols(in: data, mode: .data).map(\.name) == ["data_extra"])
        // The version a reference names is part of the lookup: ver_two@LIB_2.0 is not in v1.
        let (_, rp) = try Self.resolve("version/prog-rp")
        #expect(Set(resolver.undefinedSymbols(in: rp, mode: .all).map(\.message))
                == ["undefined symbol: ver_two, version LIB_2.0", "undefined symbol: data_two, version LIB_2.0"])
    }

    /// `check_match`: an unversioned reference takes the one non-hidden version of a name, a versioned
    /// one only its version (or an unversioned, non-hidden definition).
    @Test func lookupHonoursVersions() throws {
        let (resolver, graph) = try Self.resolve("version/prog-ok")
        let lib = try #require(graph.objects.first { $0.path.hasSuffix("/v2/libver.so.1") })
        let table = resolver.symbolTable(of: lib.info)
        #expect(table.hasVersionTable && table.hasVersionDefinitions)
        #expect(table.satisfies(.init(name: "ver_two", version: "LIB_2.0", versionFile: nil)))
        #expect(!table.satisfies(.init(name: "ver_two", version: "LIB_1.0", versionFile: nil)))
        #expect(table.satisfies(.init(name: "ver_two", version: nil, versionFile: nil)))
        #expect(!table.satisfies(.init(name: "nothing_here", version: nil, versionFile: nil)))
        let scope = SymbolScope(tables: graph.objects.map { resolver.symbolTable(of: $0.info) })
        #expect(scope.definer(of: .init(name: "ver_two", version: "LIB_2.0", versionFile: nil)).map { graph.objects[$0].path } == lib.path)
        #expect(scope.definer(of: .init(name: "printf", version: "GLIBC_2.2.5", versionFile: nil)) != nil)
    }

    @Test func theIdentitySniffNamesScriptsAndELF() {
        #expect(ELFIdentity.kind(of: Array("#!/bin/sh\necho\n".utf8)) == .script(interpreter: "/bin/sh", argument: nil))
        #expect(ELFIdentity.kind(of: Array("#! /usr/bin/env  python3 -u \r\n".utf8)) == .script(interpreter: "/usr/bin/env", argument: "python3 -u"))
        #expect(ELFIdentity.kind(of: Array("#!\n".utf8)) == .script(interpreter: nil, argument: nil))
        #expect(ELFIdentity.kind(of: Array("text".utf8)) == .other)
        let header: [UInt8] = ELFIdentity.magic + [2, 1, 1, 0] + Array(repeating: 0, count: 8) + [3, 0, 62, 0]
        guard case .elf(let identity) = ELFIdentity.kind(of: header) else { Issue.record("not ELF"); return }
        #expect(identity.elfClass == .class64 && identity.type == .sharedObject && identity.machine == .x86_64)
    }
}
