import CLibELF

/// A symbol version as `.gnu.version` names it for one dynamic symbol.
public struct SymbolVersion: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    /// For a required version (undefined symbol), the file that must define it (its DT_NEEDED name).
    public var file: String?
    /// A hidden version (`sym@VER` rather than `sym@@VER`): not the default for unversioned references.
    public var isHidden: Bool

    public var description: String { isHidden ? "@\(name)" : "@@\(name)" }
}

public struct DynamicSymbol: Hashable, Sendable {
    public var index: Int
    public var name: String
    public var value: UInt64
    public var size: UInt64
    public var type: SymbolType
    public var binding: SymbolBinding
    /// st_shndx; 0 (SHN_UNDEF) for a symbol this object needs from elsewhere.
    public var sectionIndex: UInt16
    public var version: SymbolVersion?
    /// The raw `.gnu.version` entry (index in the low 15 bits, 0x8000 the hidden bit); nil without
    /// `.gnu.version`. The loader's lookup rules read the index itself (`do_lookup_x`), not only the name.
    public var versionIndex: UInt16? = nil
    /// st_other: the symbol's visibility (STV_*) in its low two bits.
    public var other: UInt8 = 0

    public var isDefined: Bool { sectionIndex != 0 }
    /// STV_HIDDEN, STV_INTERNAL or STV_PROTECTED: references from its own object bind to it directly,
    /// without a lookup (`dl_symbol_visibility_binds_local_p`).
    public var bindsLocally: Bool { other & 0x3 != 0 }
}

extension SymbolType {
    /// GELF_ST_TYPE, restated because Swift cannot import function-like macros.
    init(info: UInt8) { self.init(rawValue: info & 0xf) }
}

extension SymbolBinding {
    /// GELF_ST_BIND, restated because Swift cannot import function-like macros.
    init(info: UInt8) { self.init(rawValue: info >> 4) }
}

extension ELFFile {
    /// `.dynsym` with each symbol's version from `.gnu.version`, resolved against `.gnu.version_r`
    /// (needs) and `.gnu.version_d` (definitions). Empty when the file has no `.dynsym` section.
    public func dynamicSymbols() throws(ELFError) -> [DynamicSymbol] {
        let all = try sections()
        guard let symtab = all.first(where: { $0.type == .dynamicSymbols }),
              let data = try sectionData(index: symtab.index) else { return [] }
        let entrySize = UInt64(gelf_fsize(elf, ELF_T_SYM, 1, UInt32(EV_CURRENT)))
        guard entrySize > 0 else { return [] }
        let count = Int(UInt64(data.pointee.d_size) / entrySize)
        guard Int(symtab.link) < all.count + 1,
              let strings = all.first(where: { $0.index == Int(symtab.link) }) else {
            throw malformed(".dynsym links to no string table")
        }

        var versionNames: [UInt16: SymbolVersion] = [:]
        for need in try versionNeeds() {
            for version in need.versions {
                versionNames[version.index] = SymbolVersion(name: version.name, file: need.file, isHidden: false)
            }
        }
        for definition in try versionDefinitions() where !definition.isBase {
            versionNames[definition.index] = SymbolVersion(name: definition.name, file: nil, isHidden: false)
        }
        var versionIndices: [UInt16] = []
        if let versym = all.first(where: { $0.type == .gnuVersionSymbols }),
           let raw = bytes(at: versym.offset, count: versym.size) {
            versionIndices = raw.withMemoryRebound(to: UInt8.self) { bytes in
                stride(from: 0, to: bytes.count - 1, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
            }
        }
        if let readProblem { throw readProblem }

        var result: [DynamicSymbol] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            var sym = GElf_Sym()
            guard gelf_getsym(data, Int32(clamping: index), &sym) != nil else { break }
            let name = string(inTableAt: strings.offset, size: strings.size, offset: UInt64(sym.st_name)) ?? ""
            var version: SymbolVersion?
            var rawVersion: UInt16?
            if index < versionIndices.count {
                let raw = versionIndices[index]
                rawVersion = raw
                if var known = versionNames[raw & 0x7fff] {
                    known.isHidden = raw & 0x8000 != 0
                    version = known
                }
            }
            result.append(DynamicSymbol(
                index: index, name: name, value: sym.st_value, size: sym.st_size,
                type: SymbolType(info: sym.st_info), binding: SymbolBinding(info: sym.st_info),
                sectionIndex: sym.st_shndx, version: version, versionIndex: rawVersion, other: sym.st_other))
        }
        return result
    }
}
