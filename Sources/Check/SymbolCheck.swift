import ELF
import Synchronization

/// The dynamic symbols of one object, indexed the way the loader's lookup uses them.
public struct SymbolTable: Sendable {
    public struct Definition: Hashable, Sendable {
        /// The version name from `.gnu.version_d`; nil for an unversioned (VER_NDX_GLOBAL) definition.
        public var version: String?
        /// `sym@VER` rather than `sym@@VER`: only a reference naming VER may bind to it.
        public var isHidden: Bool
    }

    public struct Reference: Hashable, Sendable {
        public var name: String
        public var version: String?
        /// The file the reference's version is expected from (its Verneed), for messages.
        public var versionFile: String?
    }

    /// Exported definitions by name.
    public var definitions: [String: [Definition]] = [:]
    /// Undefined, non-weak references: the ones the loader must satisfy.
    public var strongReferences: [Reference] = []
    /// `.gnu.version` present: without it every definition satisfies every versioned reference.
    public var hasVersionTable = false
    /// `.gnu.version_d` present: an unversioned definition then carries the base version, which a
    /// versioned reference does not accept.
    public var hasVersionDefinitions = false

    public init() {}

    /// Reads `.dynsym` and the version sections of `file`.
    public init(file: ELFFile) throws(ELFError) {
        let sections = try file.sections()
        hasVersionTable = sections.contains { $0.type == .gnuVersionSymbols }
        hasVersionDefinitions = sections.contains { $0.type == .gnuVersionDefinitions }
        for symbol in try file.dynamicSymbols() where symbol.index > 0 && !symbol.name.isEmpty {
            if symbol.isDefined {
                guard Self.canSatisfyLookups(symbol) else { continue }
                definitions[symbol.name, default: []].append(
                    Definition(version: symbol.version?.name, isHidden: symbol.version?.isHidden ?? false))
            } else if symbol.binding == .global {
                strongReferences.append(Reference(name: symbol.name, version: symbol.version?.name,
                                                  versionFile: symbol.version?.file))
            }
        }
    }

    /// glibc's `do_lookup_x` skips locals, symbols of other types and undefined-looking zero values.
    static func canSatisfyLookups(_ symbol: DynamicSymbol) -> Bool {
        guard [.global, .weak, .unique].contains(symbol.binding) else { return false }
        let allowed: Set<SymbolType> = [.none, .object, .function, SymbolType(rawValue: 5), .tls, .indirectFunction]
        guard allowed.contains(symbol.type) else { return false }
        // SHN_ABS symbols may have the value 0; others with value 0 are not definitions to the loader.
        return symbol.value != 0 || symbol.type == .tls || symbol.sectionIndex == 0xfff1
    }

    /// glibc's `check_match` for one candidate definition.
    func satisfies(_ reference: Reference) -> Bool {
        guard let candidates = definitions[reference.name] else { return false }
        guard hasVersionTable else { return true }
        for definition in candidates {
            if let wanted = reference.version {
                if definition.version == wanted { return true }
                // A versioned reference takes an unversioned definition only from an object whose
                // version index 1 is unnamed, that is without version definitions.
                if definition.version == nil, !definition.isHidden, !hasVersionDefinitions { return true }
            } else {
                // An unversioned reference takes the default (non-hidden) definition.
                if !definition.isHidden { return true }
            }
        }
        return false
    }
}

/// A static `ldd -r`: every strong undefined symbol of every object in the load order must be defined by
/// some object of the global scope (the load order itself), honouring symbol versions.
public enum SymbolCheck {
    /// `tables[i]` belongs to `objects[i]`. References whose version is already reported missing are left
    /// to that version problem, and objects in `skipped` (paths) to their not-found problem, as the loader
    /// stops there first.
    public static func problems(file: String, objects: [LoadedObject], tables: [SymbolTable],
                                missingVersions: Set<String>, skipping skipped: Set<String> = []) -> [Problem] {
        precondition(objects.count == tables.count, "one symbol table per loaded object")
        var result: [Problem] = []
        for (index, object) in objects.enumerated() where !skipped.contains(object.path) {
            for reference in tables[index].strongReferences {
                if let version = reference.version, missingVersions.contains("\(object.path)\u{0}\(version)") {
                    continue
                }
                if tables.contains(where: { $0.satisfies(reference) }) { continue }
                let versionText = reference.version.map { ", version \($0)" } ?? ""
                let subject = reference.name + (reference.version.map { "@\($0)" } ?? "")
                result.append(Problem(
                    kind: .undefinedSymbol, file: file, neededBy: object.path, subject: subject,
                    detail: "\(object.path): undefined symbol: \(reference.name)\(versionText)"))
            }
        }
        return result
    }
}

/// Values computed once per host path and shared by every worker thread (symbol tables, ELF headers).
/// Two threads may compute the same value at once; the first stored wins, which is harmless because
/// the computation is a pure function of the file.
final class SharedCache<Value: Sendable>: Sendable {
    private let storage = Mutex<[String: Value]>([:])

    func value(for key: String, compute: () -> Value) -> Value {
        if let cached = storage.withLock({ $0[key] }) { return cached }
        let computed = compute()
        return storage.withLock { table in
            if let existing = table[key] { return existing }
            table[key] = computed
            return computed
        }
    }
}
