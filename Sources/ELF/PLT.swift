import CLibELF

/// One PLT slot: the few bytes a call to an imported function jumps to, and the GOT word it jumps through.
/// Addresses are link-time virtual addresses; add the load base for a PIE or a shared object.
public struct PLTSlot: Hashable, Sendable {
    /// Which PLT section the slot lives in.
    public struct Section: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// `.plt`: lazy slots (or, with `-z now`, slots whose GOT is filled before start).
        public static let plt = Section(rawValue: ".plt")
        /// `.plt.sec`: the second PLT of IBT-enabled objects (`-fcf-protection`, `-z ibtplt`); `.plt` then
        /// holds only the lazy-binding stubs.
        public static let pltSec = Section(rawValue: ".plt.sec")
        /// `.plt.got`: slots of functions whose address is also taken, bound through a GLOB_DAT GOT word.
        public static let pltGot = Section(rawValue: ".plt.got")
        public var description: String { rawValue }
    }

    /// The slot's first byte (an `endbr64` or the `jmp`): where a breakpoint goes.
    public var address: UInt64
    /// The GOT word the slot's `jmp *disp(%rip)` reads.
    public var gotAddress: UInt64
    /// The symbol the relocation of the GOT word names (without version); for an IRELATIVE slot, the local
    /// symbol at the resolver's address.
    public var symbol: String
    public var section: Section
    /// JUMP_SLOT, GLOB_DAT or IRELATIVE.
    public var relocation: RelocationType
}

/// A `jmp *disp32(%rip)` decoded from a slot's first bytes.
struct IndirectJump: Equatable {
    /// Offset of the jmp's first byte (after any endbr64) from the slot start.
    var instructionOffset: Int
    /// The address the jmp reads its target from, relative to the slot start.
    var targetOffset: Int64

    /// Decodes `[endbr64] [bnd] jmp *disp32(%rip)` at the start of `bytes`, or nil for anything else (the
    /// lazy stubs of an IBT `.plt`, PLT0). Reads only within `bytes`.
    init?(decoding bytes: some Collection<UInt8>) {
        var code = Array(bytes.prefix(16))
        var skipped = 0
        if code.starts(with: [0xf3, 0x0f, 0x1e, 0xfa]) { code.removeFirst(4); skipped = 4 }  // endbr64
        var prefix = 0
        if code.first == 0xf2 { prefix = 1 }  // bnd (MPX) prefix of IBT and -z bndplt slots
        guard code.count >= prefix + 6, code[prefix] == 0xff, code[prefix + 1] == 0x25 else { return nil }
        let d = code[(prefix + 2)..<(prefix + 6)]
        let raw = UInt32(d[d.startIndex]) | UInt32(d[d.startIndex + 1]) << 8
            | UInt32(d[d.startIndex + 2]) << 16 | UInt32(d[d.startIndex + 3]) << 24
        let displacement = Int64(Int32(bitPattern: raw))
        instructionOffset = skipped
        // rip-relative: from the end of the instruction.
        targetOffset = Int64(skipped + prefix + 6) + displacement
    }
}

extension ELFFile {
    /// Every PLT slot of `.plt`, `.plt.sec` and `.plt.got`, mapped to its symbol by decoding the slot's jump
    /// and looking up the relocation of the GOT word it reads — never by the order of slots. Slots whose
    /// jump cannot be decoded or whose GOT word has no relocation are left out (they are not calls to an
    /// imported function). Empty for a file without section headers.
    public func pltSlots() throws(ELFError) -> [PLTSlot] {
        let all = try sections()
        let pltSections = all.filter { [".plt", ".plt.sec", ".plt.got"].contains($0.name) && $0.size > 0 }
        guard !pltSections.isEmpty else { return [] }

        var relocationsByWord: [UInt64: Relocation] = [:]
        for relocation in try relocations()
        where [.x86_64_jumpSlot, .x86_64_globalData, .x86_64_irelative].contains(relocation.type) {
            relocationsByWord[relocation.offset] = relocation
        }
        let symbols = try dynamicSymbols()
        var localNames: [UInt64: String]? = nil

        var slots: [PLTSlot] = []
        for section in pltSections {
            guard section.type == .progbits, let raw = bytes(at: section.offset, count: section.size) else {
                if let readProblem { throw readProblem }
                continue
            }
            let kind = PLTSlot.Section(rawValue: section.name)
            var step = section.entrySize
            if step == 0 || step > 64 {
                step = 16
                if kind == .pltGot && !raw.starts(with: [0xf3, 0x0f, 0x1e, 0xfa]) { step = 8 }
            }
            var offset: UInt64 = 0
            while offset < section.size {
                defer { offset += step }
                let entry = raw[Int(offset)..<Int(min(offset + step, section.size))]
                guard let jump = IndirectJump(decoding: entry) else { continue }
                let slotAddress = section.address &+ offset
                let (word, overflow) = slotAddress.addingReportingOverflow(UInt64(bitPattern: jump.targetOffset))
                guard !overflow, let relocation = relocationsByWord[word] else { continue }
                var name: String
                if relocation.type == .x86_64_irelative {
                    if localNames == nil { localNames = try functionNamesByAddress(dynamic: symbols) }
                    let target = UInt64(bitPattern: relocation.addend)
                    name = localNames?[target] ?? "ifunc@0x\(String(target, radix: 16))"
                } else {
                    guard relocation.symbolIndex > 0, relocation.symbolIndex < symbols.count else { continue }
                    name = symbols[relocation.symbolIndex].name
                }
                if name.isEmpty { continue }
                slots.append(PLTSlot(address: slotAddress, gotAddress: word, symbol: name, section: kind,
                                     relocation: relocation.type))
            }
        }
        return slots
    }

    /// Names of function and IFUNC symbols by address, from `.symtab` when present and `.dynsym` otherwise;
    /// global names win over local ones at the same address.
    func functionNamesByAddress(dynamic: [DynamicSymbol]) throws(ELFError) -> [UInt64: String] {
        var names: [UInt64: String] = [:]
        func add(_ name: String, _ value: UInt64, _ type: SymbolType, _ binding: SymbolBinding) {
            guard !name.isEmpty, value != 0, type == .function || type == .indirectFunction else { return }
            if names[value] == nil || binding != .local { names[value] = name }
        }
        let all = try sections()
        if let symtab = all.first(where: { $0.type == .symbolTable }),
           let strings = all.first(where: { $0.index == Int(symtab.link) }),
           let data = try sectionData(index: symtab.index) {
            let entrySize = UInt64(gelf_fsize(elf, ELF_T_SYM, 1, UInt32(EV_CURRENT)))
            if entrySize > 0 {
                let count = Int(UInt64(data.pointee.d_size) / entrySize)
                for index in 0..<count {
                    var sym = GElf_Sym()
                    guard gelf_getsym(data, Int32(clamping: index), &sym) != nil else { break }
                    let name = string(inTableAt: strings.offset, size: strings.size, offset: UInt64(sym.st_name)) ?? ""
                    add(name, sym.st_value, SymbolType(info: sym.st_info), SymbolBinding(info: sym.st_info))
                }
            }
        }
        for symbol in dynamic where symbol.isDefined {
            add(symbol.name, symbol.value, symbol.type, symbol.binding)
        }
        return names
    }
}
