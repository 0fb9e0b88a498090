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
        func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var strings: [UInt8] = [0]
        var offsets: [UInt64] = []
        for index in 0..<count {
            offsets.append(UInt64(strings.count))
            strings += Array("libmissing-\(index).so".utf8) + [0]
        }
        let dynamicAt: UInt64 = 64 + 2 * 56
        let dynamicSize = UInt64(count + 4) * 16
        let stringsAt = dynamicAt + dynamicSize
        let total = stringsAt + UInt64(strings.count)
        var bytes: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        bytes += u16(3) + u16(62) + u32(1) + u64(0) + u64(64) + u64(0) + u32(0) + u16(64) + u16(56) + u16(2) + u16(64) + u16(0) + u16(0)
        bytes += u32(1) + u32(4) + u64(0) + u64(0) + u64(0) + u64(total) + u64(total) + u64(0x1000)  // PT_LOAD
        bytes += u32(2) + u32(6) + u64(dynamicAt) + u64(dynamicAt) + u64(dynamicAt) + u64(dynamicSize) + u64(dynamicSize) + u64(8)
        for offset in offsets { bytes += u64(1) + u64(offset) }
        bytes += u64(5) + u64(stringsAt) + u64(10) + u64(UInt64(strings.count)) + u64(0x6fff_fffb) + u64(0x800) + u64(0) + u64(0)
        return bytes + strings
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
