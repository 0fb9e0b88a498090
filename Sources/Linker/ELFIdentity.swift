import ELF

/// The first bytes of a file, read without libelf: enough to tell ELF from not-ELF and, for ELF, which
/// class, byte order, type and machine it claims. The one sniff shared by the resolver (`open_verify`),
/// `check` (which skips what the loader never maps before parsing anything) and deps (which names a
/// script's interpreter).
public struct ELFIdentity: Hashable, Sendable {
    /// `\x7fELF`.
    public static let magic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]
    /// e_ident (16 bytes), e_type and e_machine.
    public static let size = 20
    /// EI_CLASS, EI_DATA, EI_VERSION, EI_OSABI.
    static let classOffset = 4, dataOffset = 5, versionOffset = 6, osABIOffset = 7
    static let typeOffset = 16, machineOffset = 18
    /// EV_CURRENT, the only ELF version there is.
    static let currentVersion: UInt8 = 1
    /// ELFOSABI_SYSV and ELFOSABI_GNU: the OS ABIs glibc's loader accepts.
    static let acceptedOSABIs: Set<UInt8> = [0, 3]

    public var elfClass: ELFClass
    public var data: ELFData
    public var version: UInt8
    public var osABI: UInt8
    public var type: ELFObjectType
    public var machine: ELFMachine

    /// True when `bytes` starts with the ELF magic (a file of 4 bytes or more).
    public static func hasMagic(_ bytes: some Collection<UInt8>) -> Bool { bytes.starts(with: magic) }

    /// nil unless `bytes` holds the magic and at least `size` bytes.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= Self.size, Self.hasMagic(bytes) else { return nil }
        elfClass = ELFClass(rawValue: bytes[Self.classOffset])
        data = ELFData(rawValue: bytes[Self.dataOffset])
        version = bytes[Self.versionOffset]
        osABI = bytes[Self.osABIOffset]
        let little = data == .littleEndian
        func half(_ at: Int) -> UInt16 {
            little ? UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 : UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1])
        }
        type = ELFObjectType(rawValue: half(Self.typeOffset))
        machine = ELFMachine(rawValue: half(Self.machineOffset))
    }

    /// What kind of file, in the words `ldd` and `file` use for the files a user hands to deps by mistake.
    public enum FileKind: Hashable, Sendable {
        case elf(ELFIdentity)
        /// `#!` and the interpreter named on that line (nil when the line names none).
        case script(interpreter: String?)
        /// Anything else (text, data, too short).
        case other
    }

    /// Sniffs the first bytes of a file: ELF, a `#!` script (with its interpreter), or other.
    public static func kind(of prefix: [UInt8]) -> FileKind {
        if let identity = ELFIdentity(prefix) { return .elf(identity) }
        guard prefix.starts(with: [0x23, 0x21]) else { return .other }  // "#!"
        // The kernel (binfmt_script) reads the first line: spaces and tabs, then the interpreter up to the
        // next space, tab or newline.
        let line = prefix.dropFirst(2).prefix { $0 != 0x0a }
        let name = line.drop { $0 == 0x20 || $0 == 0x09 }.prefix { $0 != 0x20 && $0 != 0x09 && $0 != 0x00 }
        return .script(interpreter: name.isEmpty ? nil : String(decoding: name, as: UTF8.self))
    }
}
