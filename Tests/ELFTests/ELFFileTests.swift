import ELF
import Foundation
import Testing
import TestSupport

@Suite struct ELFFileTests {
    let fixtures: URL

    init() throws { fixtures = try TestSupport.testBinaries.appendingPathComponent("elf") }

    @Test func readsHeaderInterpreterAndRPath() throws {
        let file = try ELFFile(path: fixtures.appendingPathComponent("hello-rpath").path)
        #expect(file.header.elfClass == .class64)
        #expect(file.header.machine == .x86_64)
        #expect(file.header.type == .sharedObject)  // a PIE
        #expect(try file.interpreter() == "/lib64/ld-linux-x86-64.so.2")
        let info = try file.dynamicInfo()
        #expect(info.needed == ["libm.so.6", "libc.so.6"])
        #expect(info.rpath == "$ORIGIN/lib:/opt/x")
        #expect(info.runpath == nil)
        #expect(info.flags1.contains(.pie))
        #expect(!info.bindsNow)
    }

    @Test func readsRunPathAndBindNow() throws {
        let info = try ELFFile(path: fixtures.appendingPathComponent("hello-runpath").path).dynamicInfo()
        #expect(info.runpath == "/opt/y")
        #expect(info.rpath == nil)
        #expect(info.bindsNow)
    }

    @Test func readsSonameFlagsAndVersionDefinitions() throws {
        let file = try ELFFile(path: fixtures.appendingPathComponent("libvers.so.1").path)
        let info = try file.dynamicInfo()
        #expect(info.soname == "libvers.so.1")
        #expect(info.flags1.contains(.noDefaultLibraries))
        #expect(try file.interpreter() == nil)
        let definitions = try file.versionDefinitions()
        #expect(definitions.map(\.name) == ["libvers.so.1", "VERS_1", "VERS_2"])
        #expect(definitions.first?.isBase == true)
        #expect(definitions.last?.parents == ["VERS_1"])
        let symbols = try file.dynamicSymbols()
        let two = try #require(symbols.first { $0.name == "lib_two" })
        #expect(two.isDefined)
        #expect(two.type == .function)
        #expect(two.version?.name == "VERS_2")
    }

    @Test func readsVersionNeedsAndVersionedImports() throws {
        let file = try ELFFile(path: fixtures.appendingPathComponent("hello-rpath").path)
        let needs = try file.versionNeeds()
        let libc = try #require(needs.first { $0.file == "libc.so.6" })
        #expect(libc.versions.contains { $0.name == "GLIBC_2.2.5" })
        let libm = try #require(needs.first { $0.file == "libm.so.6" })
        #expect(!libm.versions.isEmpty)
        let cosine = try #require(try file.dynamicSymbols().first { $0.name == "cos" })
        #expect(!cosine.isDefined)
        #expect(cosine.version?.file == "libm.so.6")
        let slots = try file.relocations().filter { $0.type == .x86_64_jumpSlot }
        #expect(!slots.isEmpty)
    }

    @Test func staticProgramHasNoDynamicSection() throws {
        let file = try ELFFile(path: fixtures.appendingPathComponent("hello-static").path)
        #expect(try file.interpreter() == nil)
        #expect(try file.dynamicInfo().needed.isEmpty)
    }

    @Test func rejectsNonELFTruncatedAndMissingFiles() throws {
        #expect(throws: ELFError.notELF(path: "text")) { try ELFFile(bytes: Array("#!/bin/sh\necho hi\n".utf8), name: "text") }
        #expect(throws: ELFError.tooShort(path: "tiny", size: 3)) { try ELFFile(bytes: [0x7f, 0x45, 0x4c], name: "tiny") }
        #expect(throws: ELFError.cannotOpen(path: "/nonexistent/x", errno: ENOENT)) { try ELFFile(path: "/nonexistent/x") }
        #expect(throws: ELFError.isDirectory(path: "/tmp")) { try ELFFile(path: "/tmp") }
        let whole = try Data(contentsOf: fixtures.appendingPathComponent("hello-rpath"))
        // Every prefix of a real program either parses or throws; none crashes.
        for length in stride(from: 0, to: whole.count, by: 97) {
            let file = try? ELFFile(bytes: whole.prefix(length), name: "cut")
            _ = try? file?.dynamicInfo()
            _ = try? file?.dynamicSymbols()
            _ = try? file?.versionNeeds()
        }
    }
}
