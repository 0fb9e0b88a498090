import ELF
import Synchronization

/// The dynamic symbols and symbol-bearing relocations of one object, held the way glibc's lookup
/// (`do_lookup_x` / `check_match` in elf/dl-lookup.c) reads them. One home for the lookup rules: `deps -u`,
/// `deps -r`/`-d` and `check --symbols` all ask `SymbolScope`, which asks these tables.
public struct SymbolTable: Sendable {
    /// One symbol that can answer a lookup, with the facts `check_match` tests.
    public struct Definition: Hashable, Sendable {
        /// The version name of its `.gnu.version` index; nil for index 0 or 1 (whose `l_versions` hash
        /// is 0) or an index no version section names.
        public var version: String?
        /// The hidden bit (0x8000) of its `.gnu.version` entry: `sym@VER` rather than `sym@@VER`.
        public var isHidden: Bool
        /// Its `.gnu.version` index without the hidden bit; nil without `.gnu.version`.
        public var versionIndex: UInt16?
        /// SHN_UNDEF with a value: a non-PIE program's canonical PLT address, which answers every lookup
        /// but those of PLT-class relocations.
        public var isUndefined: Bool
    }

    /// A reference a lookup must satisfy.
    public struct Reference: Hashable, Sendable {
        public var name: String
        public var version: String?
        /// The file the reference's version is expected from (its Verneed), for messages.
        public var versionFile: String?
        public init(name: String, version: String?, versionFile: String?) {
            self.name = name
            self.version = version
            self.versionFile = versionFile
        }
    }

    /// `elf_machine_type_class` on x86_64: which lookups a relocation makes.
    public enum LookupClass: Hashable, Sendable {
        case plain
        /// JUMP_SLOT and the TLS relocations: an undefined symbol never answers.
        case plt
        /// R_X86_64_COPY: the program itself is skipped.
        case copy
    }

    /// A relocation that makes the loader look a symbol up (`RESOLVE_MAP`), in file order.
    public struct SymbolRelocation: Hashable, Sendable {
        public var reference: Reference
        /// Its `.dynsym` index (the loader's one-entry lookup cache compares it).
        public var symbolIndex: Int
        public var lookupClass: LookupClass
        /// In the PLT relocations (DT_JMPREL): resolved lazily unless the object binds now.
        public var isLazy: Bool
        /// STB_WEAK: a failed lookup is no error.
        public var isWeak: Bool
        /// STT_FUNC or STT_GNU_IFUNC (else data, or untyped).
        public var isFunction: Bool
    }

    /// Exported definitions by name.
    public var definitions: [String: [Definition]] = [:]
    /// Undefined, non-weak references: the ones the loader must satisfy.
    public var strongReferences: [Reference] = []
    /// Undefined weak references: bound when something defines them, else left 0.
    public var weakReferences: [Reference] = []
    /// Global data objects the object defines (in a program, the targets of COPY relocations and the like).
    public var definedData: [Reference] = []
    /// Every symbol bound to a needed version (a Verneed's), defined or not: undefined references, and the
    /// program's COPY-relocated data, which is defined in the program but versioned by its library.
    public var neededVersionSymbols: [Reference] = []
    /// The relocations that look a symbol up: against an undefined symbol, or COPY.
    public var symbolRelocations: [SymbolRelocation] = []
    /// `.gnu.version` present (`l_versyms`): without it every definition satisfies every versioned reference.
    public var hasVersionTable = false
    /// `.gnu.version_d` present.
    public var hasVersionDefinitions = false

    public init() {}

    /// SHN_ABS: absolute symbols may have the value 0.
    static let absoluteSection: UInt16 = 0xfff1
    /// STT_COMMON, which glibc's ALLOWED_STT admits with the types `SymbolType` names.
    static let commonType = SymbolType(rawValue: 5)
    static let allowedTypes: Set<SymbolType> = [.none, .object, .function, commonType, .tls, .indirectFunction]
    /// R_X86_64_DTPMOD64, DTPOFF64, TPOFF64, TLSDESC: PLT class with JUMP_SLOT.
    static let tlsRelocationTypes: Set<UInt32> = [16, 17, 18, 36]

    /// Reads `.dynsym`, the version sections and (with `relocations`) the relocation sections of `file`.
    public init(file: ELFFile, relocations: Bool = false) throws(ELFError) {
        let sections = try file.sections()
        hasVersionTable = sections.contains { $0.type == .gnuVersionSymbols }
        hasVersionDefinitions = sections.contains { $0.type == .gnuVersionDefinitions }
        let symbols = try file.dynamicSymbols()
        for symbol in symbols where symbol.index > 0 && !symbol.name.isEmpty {
            if let definition = Self.definition(symbol) {
                definitions[symbol.name, default: []].append(definition)
            }
            if !symbol.isDefined, symbol.binding == .global { strongReferences.append(Self.reference(symbol)) }
            if !symbol.isDefined, symbol.binding == .weak { weakReferences.append(Self.reference(symbol)) }
            if symbol.version?.file != nil { neededVersionSymbols.append(Self.reference(symbol)) }
            if symbol.isDefined, symbol.type == .object, symbol.binding == .global { definedData.append(Self.reference(symbol)) }
        }
        guard relocations else { return }
        for relocation in try file.relocations() where relocation.symbolIndex > 0 {
            guard relocation.symbolIndex < symbols.count else { continue }
            let symbol = symbols[relocation.symbolIndex]
            let type = relocation.type
            let lookupClass: LookupClass = type == .x86_64_copy ? .copy
                : (type == .x86_64_jumpSlot || Self.tlsRelocationTypes.contains(type.rawValue)) ? .plt : .plain
            // A local or non-default-visibility symbol binds to its own object without a lookup, and a
            // defined one is found in its own object (which is in the scope) unless it is a COPY.
            guard symbol.binding != .local, !symbol.bindsLocally, !symbol.isDefined || lookupClass == .copy else { continue }
            symbolRelocations.append(SymbolRelocation(
                reference: Self.reference(symbol), symbolIndex: relocation.symbolIndex, lookupClass: lookupClass,
                isLazy: relocation.sectionName.hasSuffix(".plt"), isWeak: symbol.binding == .weak,
                isFunction: symbol.type == .function || symbol.type == .indirectFunction))
        }
    }

    static func reference(_ symbol: DynamicSymbol) -> Reference {
        Reference(name: symbol.name, version: symbol.version?.name, versionFile: symbol.version?.file)
    }

    /// The facts of a symbol that `check_match` could accept, nil for one it never accepts: locals,
    /// other types, and zero values that are not absolute or TLS.
    static func definition(_ symbol: DynamicSymbol) -> Definition? {
        guard [.global, .weak, .unique].contains(symbol.binding), allowedTypes.contains(symbol.type) else { return nil }
        guard symbol.value != 0 || symbol.type == .tls || symbol.sectionIndex == absoluteSection else { return nil }
        let raw = symbol.versionIndex
        return Definition(version: symbol.version?.name, isHidden: (raw ?? 0) & 0x8000 != 0,
                          versionIndex: raw.map { $0 & 0x7fff }, isUndefined: !symbol.isDefined)
    }

    /// Whether this object answers a lookup of `reference` (`do_lookup_x` on one object).
    public func satisfies(_ reference: Reference, lookupClass: LookupClass = .plain) -> Bool {
        guard let candidates = definitions[reference.name] else { return false }
        var versionedAlternatives = 0
        for definition in candidates {
            if lookupClass == .plt, definition.isUndefined { continue }
            guard hasVersionTable else { return true }
            if let wanted = reference.version {
                // The version matches, or the definition has none (index 0/1) and is not hidden.
                if definition.version == wanted { return true }
                if definition.version == nil, !definition.isHidden { return true }
            } else {
                // An unversioned reference takes index 0-2 (the oldest, or none) outright; a later
                // non-hidden version only when it is the one version of the name in this object.
                if (definition.versionIndex ?? 0) < 3 { return true }
                if !definition.isHidden { versionedAlternatives += 1 }
            }
        }
        return versionedAlternatives == 1
    }
}

/// The global scope of a load (the objects in load order) and `_dl_lookup_symbol_x` over it.
public struct SymbolScope: Sendable {
    /// `tables[i]` belongs to `objects[i]` of the load.
    public var tables: [SymbolTable]
    /// Objects a COPY relocation's lookup skips (`l_type == lt_executable`): the program.
    public var executables: Set<Int>

    public init(tables: [SymbolTable], executables: Set<Int> = [0]) {
        self.tables = tables
        self.executables = executables
    }

    /// The first object of the scope, from `start`, that defines `reference`; nil when none does.
    public func definer(of reference: SymbolTable.Reference, lookupClass: SymbolTable.LookupClass = .plain,
                        from start: Int = 0) -> Int? {
        var index = max(start, 0)
        while index < tables.count {
            if !(lookupClass == .copy && executables.contains(index)),
               tables[index].satisfies(reference, lookupClass: lookupClass) {
                return index
            }
            index += 1
        }
        return nil
    }
}

/// Values computed once per key and shared by every worker thread (symbol tables of a root's objects).
/// Two threads may compute the same value at once; the first stored wins, which is harmless because
/// the computation is a pure function of the file.
public final class SharedCache<Value: Sendable>: Sendable {
    private let storage = Mutex<[String: Value]>([:])

    public init() {}

    public func value(for key: String, compute: () -> Value) -> Value {
        if let cached = storage.withLock({ $0[key] }) { return cached }
        let computed = compute()
        return storage.withLock { table in
            if let existing = table[key] { return existing }
            table[key] = computed
            return computed
        }
    }
}
