import CLibELF

public struct DynamicEntry: Hashable, Sendable {
    public var tag: DynamicTag
    public var value: UInt64
}

/// What PT_DYNAMIC tells the loader: the objects this one needs, where to look for them, and how it wants
/// to be bound. Strings are already resolved through DT_STRTAB; search paths are kept as written
/// (`$ORIGIN` unexpanded) because expanding them is the loader model's job.
public struct DynamicInfo: Hashable, Sendable {
    public var entries: [DynamicEntry]
    public var needed: [String]
    public var soname: String?
    /// DT_RPATH as written (colon-separated), nil when absent.
    public var rpath: String?
    /// DT_RUNPATH as written (colon-separated), nil when absent.
    public var runpath: String?
    public var flags: DynamicFlags
    public var flags1: DynamicFlags1

    public init(entries: [DynamicEntry] = [], needed: [String] = [], soname: String? = nil,
                rpath: String? = nil, runpath: String? = nil, flags: DynamicFlags = [],
                flags1: DynamicFlags1 = []) {
        self.entries = entries
        self.needed = needed
        self.soname = soname
        self.rpath = rpath
        self.runpath = runpath
        self.flags = flags
        self.flags1 = flags1
    }

    /// The first value of `tag`, if present.
    public func value(of tag: DynamicTag) -> UInt64? {
        entries.first { $0.tag == tag }?.value
    }

    /// DF_BIND_NOW or DF_1_NOW or DT_BIND_NOW: every PLT slot is bound before the program starts.
    public var bindsNow: Bool {
        flags.contains(.bindNow) || flags1.contains(.now) || value(of: .bindNow) != nil
    }
}

extension ELFFile {
    /// The raw entries of PT_DYNAMIC up to DT_NULL. Empty for objects without PT_DYNAMIC (static programs).
    public func dynamicEntries() throws(ELFError) -> [DynamicEntry] {
        guard let segment = programHeaders.first(where: { $0.type == .dynamic }) else { return [] }
        let entrySize = UInt64(gelf_fsize(elf, ELF_T_DYN, 1, UInt32(EV_CURRENT)))
        guard entrySize > 0 else { throw malformed("unknown dynamic entry size") }
        guard bytes(at: segment.offset, count: segment.fileSize) != nil else {
            throw malformed("PT_DYNAMIC lies outside the file")
        }
        let count = segment.fileSize / entrySize
        guard count > 0 else { return [] }
        guard let data = elf_getdata_rawchunk(elf, Int64(segment.offset), Int(count * entrySize), ELF_T_DYN) else {
            throw malformed("PT_DYNAMIC: \(Self.libelfMessage())")
        }
        var entries: [DynamicEntry] = []
        for index in 0..<Int32(clamping: count) {
            var dyn = GElf_Dyn()
            guard gelf_getdyn(data, index, &dyn) != nil else { break }
            if dyn.d_tag == DynamicTag.null.rawValue { break }
            entries.append(DynamicEntry(tag: DynamicTag(rawValue: dyn.d_tag), value: dyn.d_un.d_val))
        }
        return entries
    }

    /// NEEDED, SONAME, RPATH, RUNPATH and flags, with strings read through DT_STRTAB/DT_STRSZ.
    public func dynamicInfo() throws(ELFError) -> DynamicInfo {
        let entries = try dynamicEntries()
        var info = DynamicInfo(entries: entries)
        guard !entries.isEmpty else { return info }
        let strtab = info.value(of: .stringTable)
        let strsz = info.value(of: .stringTableSize)
        let needsStrings = entries.contains {
            [.needed, .soname, .rpath, .runpath].contains($0.tag)
        }
        var tableOffset: UInt64 = 0
        var tableSize: UInt64 = 0
        if needsStrings {
            guard let strtab, let strsz else { throw malformed("PT_DYNAMIC names strings but has no DT_STRTAB/DT_STRSZ") }
            guard let offset = fileOffset(ofVirtualAddress: strtab) else {
                throw malformed("DT_STRTAB 0x\(String(strtab, radix: 16)) is in no loadable segment")
            }
            tableOffset = offset
            tableSize = min(strsz, UInt64(fileSize) &- min(offset, UInt64(fileSize)))
        }
        func string(_ value: UInt64, _ what: String) throws(ELFError) -> String {
            guard let text = self.string(inTableAt: tableOffset, size: tableSize, offset: value) else {
                throw malformed("\(what) string offset \(value) is outside DT_STRTAB")
            }
            return text
        }
        for entry in entries {
            switch entry.tag {
            case .needed: info.needed.append(try string(entry.value, "DT_NEEDED"))
            case .soname: info.soname = try string(entry.value, "DT_SONAME")
            case .rpath: info.rpath = try string(entry.value, "DT_RPATH")
            case .runpath: info.runpath = try string(entry.value, "DT_RUNPATH")
            case .flags: info.flags = DynamicFlags(rawValue: entry.value)
            case .flags1: info.flags1 = DynamicFlags1(rawValue: entry.value)
            default: break
            }
        }
        return info
    }
}
