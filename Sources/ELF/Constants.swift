/// Named ELF constants. Each wraps the raw integer a file stores and says which `<elf.h>` constant it is,
/// so no bare number travels through the code.

public struct ELFClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// ELFCLASS32
    public static let class32 = ELFClass(rawValue: 1)
    /// ELFCLASS64
    public static let class64 = ELFClass(rawValue: 2)
    public var description: String {
        switch self {
        case .class32: return "ELF32"
        case .class64: return "ELF64"
        default: return "ELFCLASS\(rawValue)"
        }
    }
}

public struct ELFData: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// ELFDATA2LSB
    public static let littleEndian = ELFData(rawValue: 1)
    /// ELFDATA2MSB
    public static let bigEndian = ELFData(rawValue: 2)
}

public struct ELFMachine: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// EM_386
    public static let i386 = ELFMachine(rawValue: 3)
    /// EM_ARM
    public static let arm = ELFMachine(rawValue: 40)
    /// EM_X86_64
    public static let x86_64 = ELFMachine(rawValue: 62)
    /// EM_AARCH64
    public static let aarch64 = ELFMachine(rawValue: 183)
    /// EM_RISCV
    public static let riscv = ELFMachine(rawValue: 243)
    public var description: String {
        switch self {
        case .i386: return "i386"
        case .arm: return "ARM"
        case .x86_64: return "x86-64"
        case .aarch64: return "AArch64"
        case .riscv: return "RISC-V"
        default: return "machine \(rawValue)"
        }
    }
}

public struct ELFObjectType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// ET_REL
    public static let relocatable = ELFObjectType(rawValue: 1)
    /// ET_EXEC
    public static let executable = ELFObjectType(rawValue: 2)
    /// ET_DYN
    public static let sharedObject = ELFObjectType(rawValue: 3)
    /// ET_CORE
    public static let core = ELFObjectType(rawValue: 4)
}

public struct SegmentType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// PT_LOAD
    public static let load = SegmentType(rawValue: 1)
    /// PT_DYNAMIC
    public static let dynamic = SegmentType(rawValue: 2)
    /// PT_INTERP
    public static let interpreter = SegmentType(rawValue: 3)
    /// PT_TLS
    public static let tls = SegmentType(rawValue: 7)
    /// PT_GNU_STACK
    public static let gnuStack = SegmentType(rawValue: 0x6474_e551)
    /// PT_GNU_RELRO: made read-only once relocated
    public static let gnuRelro = SegmentType(rawValue: 0x6474_e552)
    /// PT_GNU_PROPERTY
    public static let gnuProperty = SegmentType(rawValue: 0x6474_e553)
}

public struct SegmentFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// PF_X
    public static let execute = SegmentFlags(rawValue: 1)
    /// PF_W
    public static let write = SegmentFlags(rawValue: 2)
    /// PF_R
    public static let read = SegmentFlags(rawValue: 4)
}

public struct SectionType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// SHT_PROGBITS
    public static let progbits = SectionType(rawValue: 1)
    /// SHT_SYMTAB
    public static let symbolTable = SectionType(rawValue: 2)
    /// SHT_STRTAB
    public static let stringTable = SectionType(rawValue: 3)
    /// SHT_RELA
    public static let rela = SectionType(rawValue: 4)
    /// SHT_DYNAMIC
    public static let dynamic = SectionType(rawValue: 6)
    /// SHT_NOBITS
    public static let nobits = SectionType(rawValue: 8)
    /// SHT_REL
    public static let rel = SectionType(rawValue: 9)
    /// SHT_DYNSYM
    public static let dynamicSymbols = SectionType(rawValue: 11)
    /// SHT_GNU_verdef
    public static let gnuVersionDefinitions = SectionType(rawValue: 0x6fff_fffd)
    /// SHT_GNU_verneed
    public static let gnuVersionNeeds = SectionType(rawValue: 0x6fff_fffe)
    /// SHT_GNU_versym
    public static let gnuVersionSymbols = SectionType(rawValue: 0x6fff_ffff)
}

public struct DynamicTag: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    /// DT_NULL
    public static let null = DynamicTag(rawValue: 0)
    /// DT_NEEDED
    public static let needed = DynamicTag(rawValue: 1)
    /// DT_PLTRELSZ
    public static let pltRelocationsSize = DynamicTag(rawValue: 2)
    /// DT_PLTGOT
    public static let pltGOT = DynamicTag(rawValue: 3)
    /// DT_STRTAB
    public static let stringTable = DynamicTag(rawValue: 5)
    /// DT_SYMTAB
    public static let symbolTable = DynamicTag(rawValue: 6)
    /// DT_RELA
    public static let rela = DynamicTag(rawValue: 7)
    /// DT_STRSZ
    public static let stringTableSize = DynamicTag(rawValue: 10)
    /// DT_SONAME
    public static let soname = DynamicTag(rawValue: 14)
    /// DT_RPATH
    public static let rpath = DynamicTag(rawValue: 15)
    /// DT_SYMBOLIC
    public static let symbolic = DynamicTag(rawValue: 16)
    /// DT_PLTREL
    public static let pltRelocationType = DynamicTag(rawValue: 20)
    /// DT_DEBUG
    public static let debug = DynamicTag(rawValue: 21)
    /// DT_JMPREL
    public static let jumpRelocations = DynamicTag(rawValue: 23)
    /// DT_BIND_NOW
    public static let bindNow = DynamicTag(rawValue: 24)
    /// DT_RUNPATH
    public static let runpath = DynamicTag(rawValue: 29)
    /// DT_FLAGS
    public static let flags = DynamicTag(rawValue: 30)
    /// DT_GNU_HASH
    public static let gnuHash = DynamicTag(rawValue: 0x6fff_fef5)
    /// DT_VERSYM
    public static let versionSymbols = DynamicTag(rawValue: 0x6fff_fff0)
    /// DT_FLAGS_1
    public static let flags1 = DynamicTag(rawValue: 0x6fff_fffb)
    /// DT_VERDEF
    public static let versionDefinitions = DynamicTag(rawValue: 0x6fff_fffc)
    /// DT_VERDEFNUM
    public static let versionDefinitionCount = DynamicTag(rawValue: 0x6fff_fffd)
    /// DT_VERNEED
    public static let versionNeeds = DynamicTag(rawValue: 0x6fff_fffe)
    /// DT_VERNEEDNUM
    public static let versionNeedCount = DynamicTag(rawValue: 0x6fff_ffff)
    /// DT_AUXILIARY
    public static let auxiliary = DynamicTag(rawValue: 0x7fff_fffd)
    /// DT_FILTER
    public static let filter = DynamicTag(rawValue: 0x7fff_ffff)
}

/// DT_FLAGS bits.
public struct DynamicFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// DF_ORIGIN
    public static let origin = DynamicFlags(rawValue: 0x1)
    /// DF_SYMBOLIC
    public static let symbolic = DynamicFlags(rawValue: 0x2)
    /// DF_TEXTREL
    public static let textRelocations = DynamicFlags(rawValue: 0x4)
    /// DF_BIND_NOW
    public static let bindNow = DynamicFlags(rawValue: 0x8)
    /// DF_STATIC_TLS
    public static let staticTLS = DynamicFlags(rawValue: 0x10)
}

/// DT_FLAGS_1 bits.
public struct DynamicFlags1: OptionSet, Hashable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    /// DF_1_NOW
    public static let now = DynamicFlags1(rawValue: 0x1)
    /// DF_1_GLOBAL
    public static let global = DynamicFlags1(rawValue: 0x2)
    /// DF_1_NODELETE
    public static let noDelete = DynamicFlags1(rawValue: 0x8)
    /// DF_1_ORIGIN
    public static let origin = DynamicFlags1(rawValue: 0x80)
    /// DF_1_NODEFLIB: skip ld.so.cache and the default directories for this object's dependencies.
    public static let noDefaultLibraries = DynamicFlags1(rawValue: 0x800)
    /// DF_1_PIE
    public static let pie = DynamicFlags1(rawValue: 0x0800_0000)
}

public struct SymbolType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// STT_NOTYPE
    public static let none = SymbolType(rawValue: 0)
    /// STT_OBJECT
    public static let object = SymbolType(rawValue: 1)
    /// STT_FUNC
    public static let function = SymbolType(rawValue: 2)
    /// STT_SECTION
    public static let section = SymbolType(rawValue: 3)
    /// STT_FILE
    public static let file = SymbolType(rawValue: 4)
    /// STT_TLS
    public static let tls = SymbolType(rawValue: 6)
    /// STT_GNU_IFUNC
    public static let indirectFunction = SymbolType(rawValue: 10)
}

public struct SymbolBinding: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// STB_LOCAL
    public static let local = SymbolBinding(rawValue: 0)
    /// STB_GLOBAL
    public static let global = SymbolBinding(rawValue: 1)
    /// STB_WEAK
    public static let weak = SymbolBinding(rawValue: 2)
    /// STB_GNU_UNIQUE
    public static let unique = SymbolBinding(rawValue: 10)
}

/// x86_64 relocation types the PLT map and the checker care about.
public struct RelocationType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// R_X86_64_64
    public static let x86_64_64 = RelocationType(rawValue: 1)
    /// R_X86_64_COPY
    public static let x86_64_copy = RelocationType(rawValue: 5)
    /// R_X86_64_GLOB_DAT
    public static let x86_64_globalData = RelocationType(rawValue: 6)
    /// R_X86_64_JUMP_SLOT
    public static let x86_64_jumpSlot = RelocationType(rawValue: 7)
    /// R_X86_64_RELATIVE
    public static let x86_64_relative = RelocationType(rawValue: 8)
    /// R_X86_64_IRELATIVE
    public static let x86_64_irelative = RelocationType(rawValue: 37)
}
