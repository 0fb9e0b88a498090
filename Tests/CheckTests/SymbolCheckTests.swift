import ELF
import Linker
import Testing
@testable import Check
import TestSupport

/// Symbol lookup rules on real objects of the fixture root.
@Suite struct SymbolCheckTests {
    func table(_ inRoot: String) throws -> SymbolTable {
        let root = try TestSupport.testBinaries.appendingPathComponent("check/root").path
        return try SymbolTable(file: ELFFile(path: root + inRoot))
    }

    @Test func referencesAndDefinitionsAreRead() throws {
        let program = try table("/usr/bin/prog-undef")
        #expect(program.strongReferences.contains { $0.name == "sym_extra" && $0.version == nil })
        #expect(program.strongReferences.contains { $0.name == "printf" && $0.version == "GLIBC_2.2.5" })
        let libc = try table("/usr/lib/x86_64-linux-gnu/libc.so.6")
        #expect(libc.hasVersionDefinitions)
        #expect(libc.satisfies(.init(name: "printf", version: "GLIBC_2.2.5", versionFile: "libc.so.6")))
        #expect(!libc.satisfies(.init(name: "printf", version: "GLIBC_9.99", versionFile: "libc.so.6")))
        #expect(libc.satisfies(.init(name: "printf", version: nil, versionFile: nil)))
    }

    @Test func theOlderLibraryLacksTheNewSymbol() throws {
        let old = try table("/opt/fix/lib/libsym.so.1")
        #expect(old.satisfies(.init(name: "sym_base", version: nil, versionFile: nil)))
        #expect(!old.satisfies(.init(name: "sym_extra", version: nil, versionFile: nil)))
        // Built without any symbol versioning (it calls nothing): it has no .gnu.version, and the loader
        // then lets any versioned reference bind to its symbols.
        #expect(!old.hasVersionTable && !old.hasVersionDefinitions)
        #expect(old.satisfies(.init(name: "sym_base", version: "WHATEVER_1", versionFile: "libsym.so.1")))
    }

    @Test func versionedReferenceNeedsThatVersion() throws {
        let v1 = try table("/opt/fix/lib/libver.so.1")
        #expect(v1.satisfies(.init(name: "ver_one", version: "LIB_1.0", versionFile: "libver.so.1")))
        #expect(!v1.satisfies(.init(name: "ver_two", version: "LIB_2.0", versionFile: "libver.so.1")))
        #expect(!v1.satisfies(.init(name: "ver_one", version: "LIB_2.0", versionFile: "libver.so.1")))
    }
}
