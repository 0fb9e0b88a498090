import CLibELF

public struct Relocation: Hashable, Sendable {
    /// r_offset: the address the relocation writes (a GOT word for JUMP_SLOT/GLOB_DAT).
    public var offset: UInt64
    public var type: RelocationType
    /// Index into `.dynsym`; 0 for relocations without a symbol (RELATIVE, IRELATIVE).
    public var symbolIndex: Int
    public var addend: Int64
    /// The section the relocation came from (`.rela.plt`, `.rela.dyn`).
    public var sectionName: String
}

extension ELFFile {
    /// Every SHT_RELA and SHT_REL entry in the file's section headers.
    public func relocations() throws(ELFError) -> [Relocation] {
        var result: [Relocation] = []
        for section in try sections() where section.type == .rela || section.type == .rel {
            guard let data = try sectionData(index: section.index) else { continue }
            let isRela = section.type == .rela
            let entrySize = UInt64(gelf_fsize(elf, isRela ? ELF_T_RELA : ELF_T_REL, 1, UInt32(EV_CURRENT)))
            guard entrySize > 0 else { continue }
            let count = Int(UInt64(data.pointee.d_size) / entrySize)
            for index in 0..<count {
                var offset: UInt64 = 0, info: UInt64 = 0, addend: Int64 = 0
                if isRela {
                    var rela = GElf_Rela()
                    guard gelf_getrela(data, Int32(clamping: index), &rela) != nil else { break }
                    (offset, info, addend) = (rela.r_offset, rela.r_info, rela.r_addend)
                } else {
                    var rel = GElf_Rel()
                    guard gelf_getrel(data, Int32(clamping: index), &rel) != nil else { break }
                    (offset, info) = (rel.r_offset, rel.r_info)
                }
                // GELF_R_SYM/GELF_R_TYPE, restated: gelf widens ELF32 r_info to the 64-bit layout.
                result.append(Relocation(
                    offset: offset, type: RelocationType(rawValue: UInt32(truncatingIfNeeded: info & 0xffff_ffff)),
                    symbolIndex: Int(info >> 32), addend: addend, sectionName: section.name))
            }
        }
        return result
    }
}
