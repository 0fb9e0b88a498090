import Foundation

/// glibc's binary `ld.so.cache` in the "glibc-ld.so.cache1.1" format ldconfig has written since 2.32,
/// including the extension block that names glibc-hwcaps subdirectories (elf/dl-cache.c, sysdeps/generic/dl-cache.h).
///
/// The file is untrusted: every offset and count is checked against the file size before use, and a bad
/// one makes `init(bytes:)` throw rather than read out of bounds. Entries are kept in file order per name,
/// which is the order `search_cache` walks equal keys in, so lookups give the loader's answer without its
/// binary search (which on a well-formed, sorted cache lands on the same first entry).
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

        public var description: String {
            switch self {
            case .badMagic: return "not a glibc-ld.so.cache1.1 file"
            case .truncated(let what): return "truncated \(what)"
            case .outOfBounds(let what, let offset): return "\(what) offset \(offset) lies outside the file"
            }
        }
    }

    /// Entries grouped by name, each group in file order.
    public private(set) var entriesByName: [String: [Entry]] = [:]
    public private(set) var entryCount = 0
    /// glibc-hwcaps subdirectory names of the extension block (`x86-64-v3`), indexed by an entry's hwcap.
    public private(set) var hwcapsSubdirectories: [String] = []
    /// The generator string ldconfig leaves in the extension block ("ldconfig (GNU libc) ...").
    public private(set) var generator: String?

    static let magic = Array("glibc-ld.so.cache1.1".utf8)
    static let oldMagic = Array("ld.so-1.7.0".utf8)
    static let headerSize = 48
    static let entrySize = 24
    static let extensionMagic: UInt32 = 0xeaa4_2174
    static let hwcapExtensionBit: UInt64 = 1 << 62
    /// `(FLAG_ELF_LIBC6 | FLAG_X8664_LIB64)`: `_dl_cache_check_flags` on x86_64 accepts only this.
    public static let x86_64Flags: Int32 = 0x0303

    public init(contentsOf path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        try self.init(bytes: [UInt8](data))
    }

    public init(bytes: [UInt8]) throws(ParseError) {
        var base = 0
        // A cache written in the compat format carries the new one after the old entries (ALIGN_CACHE to 8).
        if bytes.count >= 16, Array(bytes[0..<Self.oldMagic.count]) == Self.oldMagic {
            let count = UInt64(Self.uint32(bytes, 12) ?? 0)
            let (end, overflow) = count.multipliedReportingOverflow(by: 12)
            guard !overflow, end + 16 <= UInt64(bytes.count) else { throw .truncated(what: "old-format entries") }
            base = Int((end + 16 + 7) & ~7)
        }
        guard bytes.count - base >= Self.headerSize else { throw .truncated(what: "header") }
        guard Array(bytes[base..<(base + Self.magic.count)]) == Self.magic else { throw .badMagic }
        func u32(_ offset: Int) throws(ParseError) -> UInt32 {
            guard let value = Self.uint32(bytes, offset) else { throw .truncated(what: "field at \(offset)") }
            return value
        }
        func string(_ relative: UInt32, _ what: String) throws(ParseError) -> String {
            let start = base + Int(relative)
            guard start < bytes.count else { throw .outOfBounds(what: what, offset: UInt64(relative)) }
            guard let nul = bytes[start...].firstIndex(of: 0) else { throw .truncated(what: "\(what) string") }
            return String(decoding: bytes[start..<nul], as: UTF8.self)
        }
        let count = Int(try u32(base + 20))
        let extensionOffset = try u32(base + 32)
        let (tableSize, overflow) = count.multipliedReportingOverflow(by: Self.entrySize)
        guard !overflow, base + Self.headerSize + tableSize <= bytes.count else {
            throw .truncated(what: "entry table (\(count) entries)")
        }
        for index in 0..<count {
            let at = base + Self.headerSize + index * Self.entrySize
            let flags = Int32(bitPattern: try u32(at))
            let name = try string(try u32(at + 4), "entry \(index) name")
            let path = try string(try u32(at + 8), "entry \(index) path")
            let hwcap = UInt64(try u32(at + 16)) | (UInt64(try u32(at + 20)) << 32)
            entriesByName[name, default: []].append(Entry(flags: flags, name: name, path: path, hwcap: hwcap))
        }
        entryCount = count
        if extensionOffset != 0 { try parseExtensions(bytes, base: base, offset: Int(extensionOffset), string: string) }
    }

    private mutating func parseExtensions(_ bytes: [UInt8], base: Int, offset: Int,
                                          string: (UInt32, String) throws(ParseError) -> String) throws(ParseError) {
        let start = base + offset
        // The extension block is 4-byte aligned by ldconfig; anything else is corrupt.
        guard start % 4 == 0, let magic = Self.uint32(bytes, start), let count = Self.uint32(bytes, start + 4) else {
            throw .outOfBounds(what: "extension block", offset: UInt64(offset))
        }
        guard magic == Self.extensionMagic else { return }  // ldconfig's own readers ignore an unknown block too
        guard UInt64(count) * 16 + UInt64(start) + 8 <= UInt64(bytes.count) else { throw .truncated(what: "extension sections") }
        for index in 0..<Int(count) {
            let at = start + 8 + index * 16
            guard let tag = Self.uint32(bytes, at), let sectionOffset = Self.uint32(bytes, at + 8),
                  let size = Self.uint32(bytes, at + 12) else { throw .truncated(what: "extension section") }
            let sectionStart = base + Int(sectionOffset)
            guard UInt64(sectionStart) + UInt64(size) <= UInt64(bytes.count) else {
                throw .outOfBounds(what: "extension section \(index)", offset: UInt64(sectionOffset))
            }
            switch tag {
            case 0:  // cache_extension_tag_generator: a string of `size` bytes, not NUL-terminated
                generator = String(decoding: bytes[sectionStart..<(sectionStart + Int(size))], as: UTF8.self)
            case 1:  // cache_extension_tag_glibc_hwcaps: uint32 string offsets
                guard size % 4 == 0 else { throw .truncated(what: "glibc-hwcaps section") }
                var names: [String] = []
                for slot in 0..<Int(size / 4) {
                    guard let relative = Self.uint32(bytes, sectionStart + slot * 4) else { throw .truncated(what: "glibc-hwcaps section") }
                    names.append(try string(relative, "glibc-hwcaps name \(slot)"))
                }
                hwcapsSubdirectories = names
            default:
                continue
            }
        }
    }

    static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32? {
        guard offset >= 0, offset <= bytes.count - 4 else { return nil }
        return UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    /// glibc's `search_cache` for `name`: among x86_64 entries of that name, the glibc-hwcaps entry of the best
    /// subdirectory this CPU supports (`supportedHWCaps`, best first), else the first plain entry.
    /// Entries with ISA-level bits above what `isaLevelMask` allows, or with legacy hwcap/platform bits, are skipped.
    public func lookup(_ name: String, supportedHWCaps: [String], isaLevelMask: UInt64) -> Entry? {
        guard let entries = entriesByName[name] else { return nil }
        var best: Entry?
        var bestRank = Int.max
        for entry in entries where entry.flags == Self.x86_64Flags {
            let named = entry.hwcap & Self.hwcapExtensionBit != 0
            if named {
                let level = (entry.hwcap >> 32) & 0x3ff
                guard level & ~isaLevelMask == 0 else { continue }
                let index = Int(UInt32(truncatingIfNeeded: entry.hwcap))
                guard hwcapsSubdirectories.indices.contains(index),
                      let rank = supportedHWCaps.firstIndex(of: hwcapsSubdirectories[index]) else { continue }
                if rank < bestRank { best = entry; bestRank = rank }
                continue
            }
            // Named entries come first; the best of them beats every plain entry.
            if best != nil { break }
            if entry.hwcap != 0 { continue }
            return entry
        }
        return best
    }
}
