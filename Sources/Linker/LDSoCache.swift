import Glibc

/// glibc's binary `ld.so.cache` in the "glibc-ld.so.cache1.1" format ldconfig has written since 2.32,
/// including the extension block that names glibc-hwcaps subdirectories (elf/dl-cache.c, sysdeps/generic/dl-cache.h).
///
/// The file is untrusted. It is held as its bytes (at most `maximumSize` of them) and read in place, as
/// ld.so reads its mapping: parsing checks every offset and count against the file size and decodes no
/// string, and a lookup is glibc's own `search_cache` — a binary search comparing names inside the file —
/// so memory is the file's size and a lookup's time its logarithm, whatever counts and offsets it holds.
public struct LDSoCache: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        /// `FLAG_ELF_LIBC6 | FLAG_X8664_LIB64` (0x0303) for an x86_64 glibc library.
        public var flags: Int32
        /// The soname the entry is found under.
        public var name: String
        /// The absolute path ldconfig recorded.
        public var path: String
        /// Raw `hwcap` word: bit 62 marks a glibc-hwcaps entry whose low 32 bits index `hwcapsSubdirectories`;
        /// bits 32..41 hold the x86 ISA level ldconfig read from the library's property note.
        public var hwcap: UInt64
    }

    public enum ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        case badMagic
        case truncated(what: String)
        case outOfBounds(what: String, offset: UInt64)
        /// The file holds more bytes than any real cache could (`maximumSize`).
        case tooLarge(size: UInt64, limit: Int)

        public var description: String {
            switch self {
            case .badMagic: return "not a glibc-ld.so.cache1.1 file"
            case .truncated(let what): return "truncated \(what)"
            case .outOfBounds(let what, let offset): return "\(what) offset \(offset) lies outside the file"
            case .tooLarge(let size, let limit):
                return "\(size) bytes, more than the \(limit >> 20) MiB an ld.so.cache can sensibly hold"
            }
        }
    }

    /// Why the cache of a root could not be used: the file and what was wrong with it.
    public struct LoadError: Error, Hashable, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): \(reason)" }
    }

    /// The file (from its start: a compat-format cache keeps the old table before `base`).
    private let bytes: [UInt8]
    /// Where the new-format header starts; string offsets count from here (`cache_new` in dl-cache.c).
    private let base: Int
    /// The last NUL of the file: a string starting at or before it is terminated inside the file.
    private let lastNUL: Int
    public let entryCount: Int
    /// Where the glibc-hwcaps table of the extension block starts, and its number of uint32 string offsets.
    private var hwcapsTableStart = 0
    private var hwcapsCount = 0
    /// The generator string ldconfig leaves in the extension block ("ldconfig (GNU libc) ...").
    public private(set) var generator: String?

    /// A Debian cache of 2,000 libraries is about 130 KB; 64 MiB is room for a million entries with long
    /// paths. glibc maps any size, but a bigger file in a root is hostile, not a cache.
    public static let maximumSize = 64 << 20
    static let magic = Array("glibc-ld.so.cache1.1".utf8)
    static let oldMagic = Array("ld.so-1.7.0".utf8)
    static let headerSize = 48
    static let entrySize = 24
    static let oldEntrySize = 12
    static let extensionMagic: UInt32 = 0xeaa4_2174
    static let extensionSectionSize = 16
    static let hwcapExtensionBit: UInt64 = 1 << 62
    /// `(FLAG_ELF_LIBC6 | FLAG_X8664_LIB64)`: `_dl_cache_check_flags` on x86_64 accepts only this.
    public static let x86_64Flags: Int32 = 0x0303

    /// The cache at a host path, read whole if it is no larger than `maximumSize`.
    public init(contentsOf path: String) throws {
        let info: Glibc.stat
        do { info = try SystemCalls.status(path) } catch { throw LoadError(path: path, reason: error.reason) }
        if info.st_size > Self.maximumSize { throw ParseError.tooLarge(size: UInt64(info.st_size), limit: Self.maximumSize) }
        let bytes: [UInt8]
        do { bytes = try SystemCalls.readWholeFile(path, limit: Self.maximumSize) } catch {
            if error.errno == EFBIG { throw ParseError.tooLarge(size: UInt64(Self.maximumSize) + 1, limit: Self.maximumSize) }
            throw LoadError(path: path, reason: error.reason)
        }
        try self.init(bytes: bytes)
    }

    /// The `etc/ld.so.cache` of `root` (symlinks followed inside it), nil when there is none; a file that
    /// cannot be read, is too large or is corrupt throws, naming the host path.
    public static func load(in root: LoaderRoot) throws(LoadError) -> LDSoCache? {
        let inRoot = "/etc/ld.so.cache"
        let real: String
        do { real = try root.realPath(inRoot) } catch {
            switch error {
            case .missing, .notADirectory: return nil
            case .loop: throw LoadError(path: root.hostPath(inRoot), reason: "Too many levels of symbolic links")
            case .system(let failure): throw LoadError(path: root.hostPath(inRoot), reason: failure.reason)
            }
        }
        // Read through the root (a directory or an image), bounded: the size first, then at most one byte more.
        let host = root.hostPath(real)
        do {
            let size = try root.linkStatus(real).size
            if size > Int64(Self.maximumSize) { throw ParseError.tooLarge(size: UInt64(size), limit: Self.maximumSize) }
            let bytes = try root.readPrefix(realPath: real, count: Self.maximumSize + 1)
            return try LDSoCache(bytes: bytes)
        } catch let error as LoadError { throw error } catch let error as SystemCallError {
            throw LoadError(path: host, reason: error.reason)
        } catch {
            throw LoadError(path: host, reason: "\(error)")
        }
    }

    public init(bytes: [UInt8]) throws(ParseError) {
        guard bytes.count <= Self.maximumSize else { throw .tooLarge(size: UInt64(bytes.count), limit: Self.maximumSize) }
        var base = 0
        // A cache written in the compat format carries the new one after the old entries (ALIGN_CACHE to 8).
        if bytes.count >= 16, bytes[0..<Self.oldMagic.count].elementsEqual(Self.oldMagic) {
            let count = Int(Self.uint32(bytes, 12) ?? 0)
            // count ≤ 2^32 and the file ≤ 64 MiB: no overflow on 64 bits.
            let end = count * Self.oldEntrySize + 16
            guard end <= bytes.count else { throw .truncated(what: "old-format entries") }
            base = (end + 7) & ~7
        }
        guard bytes.count - base >= Self.headerSize else { throw .truncated(what: "header") }
        guard bytes[base..<(base + Self.magic.count)].elementsEqual(Self.magic) else { throw .badMagic }
        self.bytes = bytes
        self.base = base
        self.lastNUL = bytes.lastIndex(of: 0) ?? -1
        let count = Int(try Self.field(bytes, base + 20))
        let extensionOffset = Int(try Self.field(bytes, base + 32))
        guard base + Self.headerSize + count * Self.entrySize <= bytes.count else {
            throw .truncated(what: "entry table (\(count) entries)")
        }
        entryCount = count
        // Every string offset is checked once here, so entries and lookups can trust them.
        for index in 0..<count {
            let at = base + Self.headerSize + index * Self.entrySize
            try checkString(try Self.field(bytes, at + 4), "entry \(index) name")
            try checkString(try Self.field(bytes, at + 8), "entry \(index) path")
        }
        if extensionOffset != 0 { try parseExtensions(offset: extensionOffset) }
    }

    private mutating func parseExtensions(offset: Int) throws(ParseError) {
        let start = base + offset
        // The extension block is 4-byte aligned by ldconfig; anything else is corrupt.
        guard start % 4 == 0, let magic = Self.uint32(bytes, start), let count = Self.uint32(bytes, start + 4) else {
            throw .outOfBounds(what: "extension block", offset: UInt64(offset))
        }
        guard magic == Self.extensionMagic else { return }  // ldconfig's own readers ignore an unknown block too
        guard Int(count) * Self.extensionSectionSize + start + 8 <= bytes.count else { throw .truncated(what: "extension sections") }
        for index in 0..<Int(count) {
            let at = start + 8 + index * Self.extensionSectionSize
            let tag = try Self.field(bytes, at)
            let sectionStart = base + Int(try Self.field(bytes, at + 8))
            let size = Int(try Self.field(bytes, at + 12))
            guard sectionStart + size <= bytes.count else {
                throw .outOfBounds(what: "extension section \(index)", offset: UInt64(sectionStart - base))
            }
            switch tag {
            case 0:  // cache_extension_tag_generator: a string of `size` bytes, not NUL-terminated
                generator = String(decoding: bytes[sectionStart..<(sectionStart + size)], as: UTF8.self)
            case 1:  // cache_extension_tag_glibc_hwcaps: uint32 string offsets, read by index when used
                guard size % 4 == 0 else { throw .truncated(what: "glibc-hwcaps section") }
                for slot in 0..<(size / 4) {
                    try checkString(try Self.field(bytes, sectionStart + slot * 4), "glibc-hwcaps name \(slot)")
                }
                hwcapsTableStart = sectionStart
                hwcapsCount = size / 4
            default:
                continue
            }
        }
    }

    /// A string offset must lie in the file and have a NUL after it.
    private func checkString(_ relative: UInt32, _ what: String) throws(ParseError) {
        let start = base + Int(relative)
        guard start < bytes.count else { throw .outOfBounds(what: what, offset: UInt64(relative)) }
        guard start <= lastNUL else { throw .truncated(what: "\(what) string") }
    }

    private static func field(_ bytes: [UInt8], _ offset: Int) throws(ParseError) -> UInt32 {
        guard let value = uint32(bytes, offset) else { throw .truncated(what: "field at \(offset)") }
        return value
    }

    static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32? {
        guard offset >= 0, offset <= bytes.count - 4 else { return nil }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    // MARK: Reading entries in place

    private func entryField(_ index: Int, _ field: Int) -> UInt32 {
        // In bounds: the table was checked to lie inside the file.
        Self.uint32(bytes, base + Self.headerSize + index * Self.entrySize + field)!
    }

    private func string(at relative: UInt32) -> String {
        let start = base + Int(relative)
        let end = bytes[start...].firstIndex(of: 0)!  // checked by checkString
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// Entry `index` in file order, its strings decoded now.
    public func entry(at index: Int) -> Entry {
        precondition(index >= 0 && index < entryCount, "cache entry \(index) of \(entryCount)")
        return Entry(flags: Int32(bitPattern: entryField(index, 0)), name: string(at: entryField(index, 4)),
                     path: string(at: entryField(index, 8)),
                     hwcap: UInt64(entryField(index, 16)) | UInt64(entryField(index, 20)) << 32)
    }

    /// Every entry named `name`, in file order (a linear scan, for inspection; lookups use `lookup`).
    public func entries(named name: String) -> [Entry] {
        let key = Array(name.utf8)
        return (0..<entryCount).filter { Self.equal(key, bytes, base + Int(entryField($0, 4))) }.map(entry(at:))
    }

    /// glibc-hwcaps subdirectory `index` of the extension block (`x86-64-v3`), nil when there is none.
    public func hwcapsSubdirectory(_ index: Int) -> String? {
        guard index >= 0, index < hwcapsCount else { return nil }
        return string(at: Self.uint32(bytes, hwcapsTableStart + index * 4)!)
    }

    /// All glibc-hwcaps subdirectory names, indexed by an entry's hwcap.
    public var hwcapsSubdirectories: [String] { (0..<hwcapsCount).compactMap(hwcapsSubdirectory) }

    /// `key` (NUL-terminated implicitly) equals the NUL-terminated string at `start`.
    private static func equal(_ key: [UInt8], _ bytes: [UInt8], _ start: Int) -> Bool {
        guard start + key.count < bytes.count else { return false }
        return bytes[start + key.count] == 0 && bytes[start..<(start + key.count)].elementsEqual(key)
    }

    /// elf/dl-cache.c `_dl_cache_libcmp`: like strcmp, but runs of digits compare as numbers (with C's
    /// `int` wrap-around), so `libfoo.so.10` sorts after `libfoo.so.9`. The file string ends at its NUL
    /// (checkString saw one after it).
    static func libcmp(_ key: [UInt8], _ bytes: [UInt8], _ start: Int) -> Int32 {
        key.withUnsafeBufferPointer { key in
            bytes.withUnsafeBufferPointer { file in
                // Identical bytes are the common match and the costly case: compare them at memcmp speed.
                if start + key.count < file.count, file[start + key.count] == 0,
                   memcmp(key.baseAddress!, file.baseAddress! + start, key.count) == 0 { return 0 }
                func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
                var i = 0, j = start
                func p1() -> UInt8 { i < key.count ? key[i] : 0 }
                func p2() -> UInt8 { j < file.count ? file[j] : 0 }
                while p1() != 0 {
                    if isDigit(p1()) {
                        guard isDigit(p2()) else { return 1 }
                        var value1: Int32 = 0, value2: Int32 = 0
                        while isDigit(p1()) { value1 = value1 &* 10 &+ Int32(p1() - 0x30); i += 1 }
                        while isDigit(p2()) { value2 = value2 &* 10 &+ Int32(p2() - 0x30); j += 1 }
                        if value1 != value2 { return value1 &- value2 }
                    } else if isDigit(p2()) {
                        return -1
                    } else if p1() != p2() {
                        return Int32(p1()) - Int32(p2())
                    } else {
                        i += 1
                        j += 1
                    }
                }
                return Int32(p1()) - Int32(p2())
            }
        }
    }

    // MARK: Lookup

    /// glibc's `search_cache` for `name`: a binary search over the entries (ldconfig sorts them by
    /// `_dl_cache_libcmp`, descending), back to the first entry of that name, then among its x86_64
    /// entries the glibc-hwcaps entry of the best subdirectory this CPU supports (`supportedHWCaps`, best
    /// first), else the first plain entry. Entries with ISA-level bits above what `isaLevelMask` allows,
    /// or with legacy hwcap/platform bits, are skipped. On an unsorted (hostile) file this gives whatever
    /// ld.so's own search gives.
    public func lookup(_ name: String, supportedHWCaps: [String], isaLevelMask: UInt64) -> Entry? {
        let key = Array(name.utf8)
        // Entries sharing a name offset compare alike: each offset is compared once per lookup, so a run
        // of equal entries costs the bytes of its distinct strings, not entries × name length.
        var compared: [UInt32: Int32] = [:]
        func compare(_ index: Int) -> Int32 {
            let offset = entryField(index, 4)
            if let known = compared[offset] { return known }
            let order = Self.libcmp(key, bytes, base + Int(offset))
            compared[offset] = order
            return order
        }
        var left = 0
        var right = entryCount - 1
        while left <= right {
            var middle = (left + right) / 2
            let order = compare(middle)
            if order == 0 {
                left = middle
                while middle > 0, compare(middle - 1) == 0 { middle -= 1 }
                return bestEntry(from: middle, knownEqualThrough: left, through: right,
                                 compare: compare, supportedHWCaps: supportedHWCaps, isaLevelMask: isaLevelMask)
            }
            if order < 0 { left = middle + 1 } else { right = middle - 1 }
        }
        return nil
    }

    /// The `do … while (++middle <= right)` walk of `search_cache` over the entries of one name.
    private func bestEntry(from first: Int, knownEqualThrough known: Int, through last: Int,
                           compare: (Int) -> Int32, supportedHWCaps: [String], isaLevelMask: UInt64) -> Entry? {
        var best: Int?
        var bestRank = Int.max
        for index in first...last {
            if index > known, compare(index) != 0 { break }
            guard Int32(bitPattern: entryField(index, 0)) == Self.x86_64Flags else { continue }
            let hwcap = UInt64(entryField(index, 16)) | UInt64(entryField(index, 20)) << 32
            if hwcap & Self.hwcapExtensionBit != 0 {
                let level = (hwcap >> 32) & 0x3ff
                guard level & ~isaLevelMask == 0,
                      let subdirectory = hwcapsSubdirectory(Int(UInt32(truncatingIfNeeded: hwcap))),
                      let rank = supportedHWCaps.firstIndex(of: subdirectory) else { continue }
                if rank < bestRank { best = index; bestRank = rank }
                continue
            }
            // Named entries come first; the best of them beats every plain entry.
            if best != nil { break }
            if hwcap != 0 { continue }
            return entry(at: index)
        }
        return best.map(entry(at:))
    }
}
