import Foundation
import Linker
import TestSupport
import Testing

@Suite struct LDSoCacheTests {
    /// Every entry `ldconfig -p` lists is in our parse with the same path, and lookups give ldconfig's first.
    @Test func matchesLdconfigOnThisSystem() throws {
        let cache = try LDSoCache(contentsOf: "/etc/ld.so.cache")
        let listing = TestSupport.run(["/sbin/ldconfig", "-p"])
        try #require(listing.status == 0)
        var expected: [String: [String]] = [:]
        for line in listing.stdout.split(separator: "\n").dropFirst() {
            guard let arrow = line.range(of: " => ") else { continue }
            let left = line[..<arrow.lowerBound].trimmingCharacters(in: .whitespaces)
            guard let name = left.split(separator: " ").first else { continue }
            expected[String(name), default: []].append(String(line[arrow.upperBound...]))
        }
        #expect(cache.entryCount == expected.values.map(\.count).reduce(0, +))
        let environment = LoaderEnvironment.host(environment: [:])
        for (name, paths) in expected {
            #expect(cache.entries(named: name).map(\.path) == paths, "\(name)")
            // The binary search finds every name ldconfig lists (its first entry: this machine's cache has
            // no glibc-hwcaps entries), so our libcmp orders the file as ldconfig sorted it.
            #expect(cache.lookup(name, supportedHWCaps: [], isaLevelMask: 0xf)?.path == paths.first, "\(name)")
        }
        #expect(cache.lookup("libnot-in-any-cache.so.1", supportedHWCaps: [], isaLevelMask: 0xf) == nil)
        #expect(cache.lookup("libc.so.6", supportedHWCaps: environment.hwcapsSubdirectories,
                             isaLevelMask: environment.isaLevelMask)?.path == "/lib/x86_64-linux-gnu/libc.so.6")
    }

    @Test func truncatedAndCorruptCachesThrow() throws {
        let real = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "/etc/ld.so.cache")))
        // Every prefix either parses or throws; none traps (the fuzzer does this at scale).
        for length in stride(from: 0, to: min(real.count, 4096), by: 7) {
            _ = try? LDSoCache(bytes: Array(real[0..<length]))
        }
        #expect(throws: LDSoCache.ParseError.self) { try LDSoCache(bytes: Array(real[0..<40])) }
        #expect(throws: LDSoCache.ParseError.badMagic) { try LDSoCache(bytes: [UInt8](repeating: 0x41, count: 100)) }
        var huge = real
        huge[20] = 0xff; huge[21] = 0xff; huge[22] = 0xff; huge[23] = 0x7f  // nlibs
        #expect(throws: LDSoCache.ParseError.self) { try LDSoCache(bytes: huge) }
        var badString = real
        badString[52] = 0xff; badString[53] = 0xff; badString[54] = 0xff; badString[55] = 0x7f  // entry 0 key
        #expect(throws: LDSoCache.ParseError.self) { try LDSoCache(bytes: badString) }
    }

    @Test func hwcapsEntriesNeedASupportedLevel() throws {
        // A hand-made cache: libq.so with a glibc-hwcaps x86-64-v3 entry, then a plain one.
        var bytes = Array("glibc-ld.so.cache1.1".utf8)
        func u32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }
        let header = 48, entries = 2 * 24, extensionAt = header + entries
        let extensionSize = 8 + 16, hwcapsTable = extensionAt + extensionSize
        let strings = hwcapsTable + 4
        let stringBytes = Array("libq.so\0/v3/libq.so\0/plain/libq.so\0x86-64-v3\0".utf8)
        let name = UInt32(strings), v3Path = name + 8, plainPath = v3Path + 12, level = plainPath + 15
        bytes += u32(2) + u32(UInt32(stringBytes.count)) + [0, 0, 0, 0] + u32(UInt32(extensionAt)) + u32(0) + u32(0) + u32(0)
        bytes += u32(0x0303) + u32(name) + u32(v3Path) + u32(0) + u32(0) + u32(1 << 30)  // hwcap index 0, bit 62
        bytes += u32(0x0303) + u32(name) + u32(plainPath) + u32(0) + u32(0) + u32(0)
        bytes += u32(0xeaa4_2174) + u32(1) + u32(1) + u32(0) + u32(UInt32(hwcapsTable)) + u32(4)
        bytes += u32(level) + stringBytes
        let cache = try LDSoCache(bytes: bytes)
        #expect(cache.hwcapsSubdirectories == ["x86-64-v3"])
        #expect(cache.lookup("libq.so", supportedHWCaps: ["x86-64-v3", "x86-64-v2"], isaLevelMask: 0xf)?.path == "/v3/libq.so")
        #expect(cache.lookup("libq.so", supportedHWCaps: ["x86-64-v2"], isaLevelMask: 0x3)?.path == "/plain/libq.so")
        #expect(cache.lookup("libnone.so", supportedHWCaps: [], isaLevelMask: 1) == nil)
    }

    static func u32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

    /// A cache of `count` entries whose name and path are all one `length`-byte string.
    static func sharedStringCache(count: Int, length: Int) -> [UInt8] {
        let strings = 48 + count * 24
        var bytes = Array("glibc-ld.so.cache1.1".utf8)
        bytes += u32(UInt32(count)) + u32(UInt32(length + 1)) + [UInt8](repeating: 0, count: 20)
        for _ in 0..<count {
            bytes += u32(0x0303) + u32(UInt32(strings)) + u32(UInt32(strings)) + u32(0) + u32(0) + u32(0)
        }
        return bytes + [UInt8](repeating: 0x61, count: length) + [0]
    }

    /// 3,000 entries naming one 1 MiB string took 6 GB (a String per name and path) and aborted; the
    /// cache is now read in place: parsing and lookups copy no string.
    @Test func entriesSharingAHugeStringCostNothing() throws {
        let bytes = Self.sharedStringCache(count: 3_000, length: 1 << 20)
        let start = Date()
        let cache = try LDSoCache(bytes: bytes)
        #expect(cache.entryCount == 3_000)
        #expect(cache.lookup("libc.so.6", supportedHWCaps: ["x86-64-v3"], isaLevelMask: 0xf) == nil)
        let huge = String(repeating: "a", count: 1 << 20)
        #expect(cache.lookup(huge, supportedHWCaps: [], isaLevelMask: 0xf)?.path.utf8.count == 1 << 20)
        #expect(Date().timeIntervalSince(start) < 10)
    }

    /// A sparse 2 GiB etc/ld.so.cache made deps use 4.2 GB: now it is refused, unread, with a message.
    @Test func oversizedCacheInARootIsRefusedUnread() throws {
        let root = try TestSupport.temporaryDirectory("ldcache-huge")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
        let path = root.appendingPathComponent("etc/ld.so.cache").path
        // A real cache's start, then a hole up to 2 GiB.
        try Data(Self.sharedStringCache(count: 1, length: 8)).write(to: URL(fileURLWithPath: path))
        #expect(truncate(path, 2 << 30) == 0)
        var before = rusage()
        getrusage(RUSAGE_SELF.rawValue, &before)
        let environment = try LoaderEnvironment.root(root.path)
        var after = rusage()
        getrusage(RUSAGE_SELF.rawValue, &after)
        #expect(environment.cache == nil)
        #expect(environment.cacheProblem == "\(path): 2147483648 bytes, more than the 64 MiB an ld.so.cache can sensibly hold")
        #expect(after.ru_maxrss - before.ru_maxrss < 100_000, "max RSS grew by \(after.ru_maxrss - before.ru_maxrss) KiB")
        // A cache that is a device or still growing is cut off at the limit too.
        #expect(throws: LDSoCache.ParseError.tooLarge(size: UInt64(LDSoCache.maximumSize) + 1, limit: LDSoCache.maximumSize)) {
            try LDSoCache(contentsOf: "/dev/zero")
        }
    }
}
