import Foundation
import Linker
import TestSupport
import Testing

/// Bad input is a clear error or a correct answer, never a crash or a hang.
@Suite struct HostileInputTests {
    static let resolver = DependencyResolver(environment: .host(environment: [:]))

    func write(_ bytes: [UInt8], name: String, in directory: URL) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func unanalysableFilesThrowWithAReason() throws {
        let dir = try TestSupport.temporaryDirectory("deps-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        // What is not a program is said in ldd's words; a cut-short ELF file in the loader's.
        let cases: [(String, [UInt8], DependencyError.Kind, String)] = [
            ("empty", [], .notDynamic, "not a dynamic executable"),
            ("text", Array(String(repeating: "#!/bin/sh\n", count: 10).utf8), .script(interpreter: "/bin/sh", argument: nil),
             "not a dynamic executable (a #! script for /bin/sh)"),
            ("short-elf", [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], .unloadable, "file too short"),
        ]
        for (name, bytes, kind, reason) in cases {
            let path = try write(bytes, name: name, in: dir)
            #expect(throws: DependencyError(path: path, kind: kind, reason: reason)) { try Self.resolver.resolve(path) }
        }
        #expect(throws: DependencyError(path: dir.path, kind: .directory, reason: "is a directory")) { try Self.resolver.resolve(dir.path) }
        #expect(throws: DependencyError(path: dir.path + "/absent", kind: .missing, reason: "No such file or directory")) {
            try Self.resolver.resolve(dir.path + "/absent")
        }
        let loop = dir.appendingPathComponent("loop").path
        try FileManager.default.createSymbolicLink(atPath: loop, withDestinationPath: loop)
        #expect(throws: DependencyError.self) { try Self.resolver.resolve(loop) }
        // A FIFO with no writer: rtld's open would wait forever; we read nothing and say so.
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: DependencyError(path: fifo, kind: .notRegular, reason: "not regular file")) { try Self.resolver.resolve(fifo) }
    }

    @Test func truncatedCopiesOfARealLibraryNeverCrash() throws {
        let dir = try TestSupport.temporaryDirectory("deps-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let real = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "/bin/ls")))
        for length in [64, 100, 512, 4096, 8192, 20000, real.count / 2] {
            let path = try write(Array(real[0..<length]), name: "ls-\(length)", in: dir)
            _ = try? Self.resolver.resolve(path)
        }
        // Corrupt the program-header offset: a clear error.
        var bad = real
        bad[32] = 0xff; bad[33] = 0xff; bad[34] = 0xff; bad[35] = 0x7f
        let path = try write(bad, name: "ls-badphoff", in: dir)
        #expect(throws: DependencyError.self) { try Self.resolver.resolve(path) }
    }

    /// A hand-built ELF with 10,000 distinct DT_NEEDED names and DF_1_NODEFLIB (so each fails fast).
    static func manyNeeded(_ count: Int) -> [UInt8] {
        TinyELF.sharedObject(needed: (0..<count).map { "libmissing-\($0).so" }, flags1: TinyELF.noDefaultLibraries)
    }

    @Test func tenThousandNeededEntries() throws {
        let dir = try TestSupport.temporaryDirectory("deps-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try write(Self.manyNeeded(10_000), name: "many", in: dir)
        let start = Date()
        let graph = try Self.resolver.resolve(path)
        #expect(graph.missing.count == 10_000)
        #expect(Set(graph.missing.map(\.name)).count == 10_000)
        #expect(Date().timeIntervalSince(start) < 30)
    }
}
