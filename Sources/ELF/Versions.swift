import CLibELF

/// One `Elf_Verneed`: the versions this object needs from one file.
public struct VersionNeed: Hashable, Sendable {
    /// The needed file as DT_NEEDED names it (`libc.so.6`).
    public var file: String
    public var versions: [NeededVersion]
}

public struct NeededVersion: Hashable, Sendable {
    public var name: String
    public var hash: UInt32
    /// vna_other: the index `.gnu.version` uses for symbols bound to this version.
    public var index: UInt16
    /// VER_FLG_WEAK: a missing weak version is a warning to the loader, not an error.
    public var isWeak: Bool
}

/// One `Elf_Verdef`: a version this object defines.
public struct VersionDefinition: Hashable, Sendable {
    public var name: String
    public var index: UInt16
    public var hash: UInt32
    /// VER_FLG_BASE: the entry naming the file itself, not a real version.
    public var isBase: Bool
    /// Names of the versions this one inherits from (the verdaux entries after the first).
    public var parents: [String]
}

extension ELFFile {
    /// The version needs from `.gnu.version_r`, in file order.
    public func versionNeeds() throws(ELFError) -> [VersionNeed] {
        guard let section = try sections().first(where: { $0.type == .gnuVersionNeeds }),
              let data = try sectionData(index: section.index) else { return [] }
        let strings = try linkedStrings(of: section)
        var result: [VersionNeed] = []
        var offset: Int32 = 0
        // Entries chain by relative offsets; bound the walk by the section's own count and size.
        let limit = min(Int(section.info == 0 ? UInt32.max : section.info), data.pointee.d_size / 16 + 1)
        while result.count < limit {
            var need = GElf_Verneed()
            guard gelf_getverneed(data, offset, &need) != nil else {
                throw malformed(".gnu.version_r entry at \(offset) lies outside the section")
            }
            guard let file = string(inTableAt: strings.offset, size: strings.size, offset: UInt64(need.vn_file)) else {
                throw malformed(".gnu.version_r file name outside its string table")
            }
            var versions: [NeededVersion] = []
            var auxOffset = Int64(offset) + Int64(need.vn_aux)
            for _ in 0..<need.vn_cnt {
                var aux = GElf_Vernaux()
                guard auxOffset <= Int64(Int32.max), gelf_getvernaux(data, Int32(auxOffset), &aux) != nil else {
                    throw malformed(".gnu.version_r auxiliary entry at \(auxOffset) lies outside the section")
                }
                guard let name = string(inTableAt: strings.offset, size: strings.size, offset: UInt64(aux.vna_name)) else {
                    throw malformed(".gnu.version_r version name outside its string table")
                }
                versions.append(NeededVersion(name: name, hash: aux.vna_hash, index: aux.vna_other & 0x7fff,
                                              isWeak: aux.vna_flags & 0x2 != 0))
                if aux.vna_next == 0 { break }
                auxOffset += Int64(aux.vna_next)
            }
            result.append(VersionNeed(file: file, versions: versions))
            if need.vn_next == 0 { break }
            let next = Int64(offset) + Int64(need.vn_next)
            guard next <= Int64(Int32.max) else { throw malformed(".gnu.version_r chain runs past the section") }
            offset = Int32(next)
        }
        return result
    }

    /// The version definitions from `.gnu.version_d`, in file order (the base entry first).
    public func versionDefinitions() throws(ELFError) -> [VersionDefinition] {
        guard let section = try sections().first(where: { $0.type == .gnuVersionDefinitions }),
              let data = try sectionData(index: section.index) else { return [] }
        let strings = try linkedStrings(of: section)
        var result: [VersionDefinition] = []
        var offset: Int32 = 0
        let limit = min(Int(section.info == 0 ? UInt32.max : section.info), data.pointee.d_size / 20 + 1)
        while result.count < limit {
            var def = GElf_Verdef()
            guard gelf_getverdef(data, offset, &def) != nil else {
                throw malformed(".gnu.version_d entry at \(offset) lies outside the section")
            }
            var names: [String] = []
            var auxOffset = Int64(offset) + Int64(def.vd_aux)
            for _ in 0..<def.vd_cnt {
                var aux = GElf_Verdaux()
                guard auxOffset <= Int64(Int32.max), gelf_getverdaux(data, Int32(auxOffset), &aux) != nil else {
                    throw malformed(".gnu.version_d auxiliary entry at \(auxOffset) lies outside the section")
                }
                guard let name = string(inTableAt: strings.offset, size: strings.size, offset: UInt64(aux.vda_name)) else {
                    throw malformed(".gnu.version_d version name outside its string table")
                }
                names.append(name)
                if aux.vda_next == 0 { break }
                auxOffset += Int64(aux.vda_next)
            }
            guard let name = names.first else { throw malformed(".gnu.version_d entry without a name") }
            result.append(VersionDefinition(name: name, index: def.vd_ndx & 0x7fff, hash: def.vd_hash,
                                            isBase: def.vd_flags & 0x1 != 0, parents: Array(names.dropFirst())))
            if def.vd_next == 0 { break }
            let next = Int64(offset) + Int64(def.vd_next)
            guard next <= Int64(Int32.max) else { throw malformed(".gnu.version_d chain runs past the section") }
            offset = Int32(next)
        }
        return result
    }

    func linkedStrings(of section: SectionHeader) throws(ELFError) -> SectionHeader {
        guard let strings = try sections().first(where: { $0.index == Int(section.link) }),
              strings.type == .stringTable else {
            throw malformed("section \(section.name) links to no string table")
        }
        return strings
    }
}
