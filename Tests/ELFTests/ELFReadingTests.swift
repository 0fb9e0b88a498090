import ELF
import Foundation
import Testing
import TestSupport

/// The file is read into private memory as views need it, never mapped: a file that shrinks under us is
/// an error, and what is read is exactly what a whole in-memory copy gives.
@Suite struct ELFReadingTests {
    /// A mapped library truncated between open and use killed the process with SIGBUS inside libelf.
    @Test func truncatedWhileOpenIsFileChangedWhileReading() throws {
        let dir = try TestSupport.temporaryDirectory("elf-truncate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("libc.so.6").path
        try FileManager.default.copyItem(atPath: "/lib/x86_64-linux-gnu/libc.so.6", toPath: path)
        let file = try ELFFile(path: path)
        #expect(truncate(path, 4096) == 0)
        #expect(throws: ELFError.changedWhileReading(path: path)) { try file.dynamicSymbols() }
        // Once changed, every view says so (no half-read answers).
        #expect(throws: ELFError.changedWhileReading(path: path)) { try file.dynamicInfo() }
        #expect(throws: ELFError.changedWhileReading(path: path)) { try file.sections() }
        #expect(ELFError.changedWhileReading(path: path).description == "\(path): file changed while reading")
    }

    /// Short and odd files read as before the change: too short, not ELF, a FIFO (opened without waiting).
    @Test func shortFilesAreStillTooShort() throws {
        let dir = try TestSupport.temporaryDirectory("elf-short")
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        #expect(throws: ELFError.tooShort(path: empty, size: 0)) { try ELFFile(path: empty) }
        let text = dir.appendingPathComponent("text").path
        #expect(FileManager.default.createFile(atPath: text, contents: Data("#!/bin/sh\necho hi\n".utf8)))
        #expect(throws: ELFError.notELF(path: text)) { try ELFFile(path: text) }
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: ELFError.tooShort(path: fifo, size: 0)) { try ELFFile(path: fifo) }
    }

    /// Reading page by page gives what a whole copy gives, on real files of every kind.
    @Test func lazyReadingEqualsAWholeCopy() throws {
        let files = ["/bin/ls", "/bin/bash", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libm.so.6",
                     "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libelf.so.1",
                     "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libz.so.1"]
        let fixtures = try TestSupport.testBinaries.appendingPathComponent("elf").path
        let fixtureFiles = try FileManager.default.contentsOfDirectory(atPath: fixtures).sorted().map { fixtures + "/" + $0 }
        for path in files + fixtureFiles where FileManager.default.fileExists(atPath: path) {
            guard let lazy = try? ELFFile(path: path) else { continue }
            let whole = try ELFFile(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), name: path)
            #expect(lazy.header == whole.header, "\(path)")
            #expect(lazy.programHeaders == whole.programHeaders, "\(path)")
            #expect(try lazy.sections() == whole.sections(), "\(path)")
            #expect(try lazy.interpreter() == whole.interpreter(), "\(path)")
            #expect(try lazy.dynamicInfo() == whole.dynamicInfo(), "\(path)")
            #expect(try lazy.dynamicSymbols() == whole.dynamicSymbols(), "\(path)")
            #expect(try lazy.versionNeeds() == whole.versionNeeds(), "\(path)")
            #expect(try lazy.versionDefinitions() == whole.versionDefinitions(), "\(path)")
            #expect(try lazy.relocations() == whole.relocations(), "\(path)")
            #expect(try lazy.pltSlots() == whole.pltSlots(), "\(path)")
        }
    }
}
