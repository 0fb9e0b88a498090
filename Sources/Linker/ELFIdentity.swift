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
        /// `#!`, the interpreter named on that line (nil when the line names none) and the one optional
        /// argument the kernel passes with it (the rest of the line, trimmed).
        case script(interpreter: String?, argument: String?)
        /// Anything else (text, data, too short).
        case other
    }

    /// Sniffs the first bytes of a file: ELF, a `#!` script (with its interpreter), or other.
    public static func kind(of prefix: [UInt8]) -> FileKind {
        if let identity = ELFIdentity(prefix) { return .elf(identity) }
        guard prefix.starts(with: [0x23, 0x21]) else { return .other }  // "#!"
        // The kernel (binfmt_script) reads the first line: spaces and tabs, then the interpreter up to the
        // next space or tab, then the rest of the line as one argument.
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        let line = prefix.dropFirst(2).prefix { $0 != 0x0a && $0 != 0x00 }
        let afterBlanks = line.drop(while: isBlank)
        let name = afterBlanks.prefix { !isBlank($0) }
        let rest = afterBlanks.dropFirst(name.count).drop(while: isBlank)
        var argument = Array(rest)
        while let last = argument.last, isBlank(last) || last == 0x0d { argument.removeLast() }
        return .script(interpreter: name.isEmpty ? nil : String(decoding: name, as: UTF8.self),
                       argument: argument.isEmpty ? nil : String(decoding: argument, as: UTF8.self))
    }
}

extension DependencyResolver {
    /// binfmt_script's nesting limit (BINPRM_MAX_RECURSION): a script's interpreter may itself be a script.
    public static let maximumScriptDepth = 4
    /// The PATH `env` searches inside a root (the root's own environment is unknown): Debian's default.
    public static let defaultSearchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// The program the kernel would run for a `#!` script's line: the interpreter itself, or for
    /// `/usr/bin/env NAME` (and `env -S "NAME …"`) the first NAME found in `searchPath` inside the root.
    /// nil when the line names nothing runnable.
    public func scriptProgram(interpreter: String?, argument: String?, searchPath: [String]) -> String? {
        guard let interpreter else { return nil }
        let base = interpreter.split(separator: "/").last.map(String.init) ?? interpreter
        guard base == "env", let argument else { return interpreter }
        // env's first operand that is neither an option nor an assignment names the program.
        guard let name = argument.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            .first(where: { !$0.hasPrefix("-") && !$0.contains("=") }) else { return interpreter }
        if name.contains("/") { return name }
        for directory in searchPath where directory.hasPrefix("/") {
            let candidate = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            if case .missing = probeForScript(candidate) { continue }
            return candidate
        }
        return nil
    }

    private func probeForScript(_ path: String) -> Rejection? {
        if case .rejected(let rejection) = probe(path) { return rejection }
        return nil
    }
}
