import ELF

/// A symbol version name split the way toolchains spell them: `GLIBC_2.34` is family `GLIBC` at 2.34,
/// `CXXABI_TM_1` and `GLIBC_ABI_DT_RELR` are non-numeric names of their family.
public struct VersionName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var name: String
    public var family: String
    /// The dotted numbers after the family (`[2, 34]`), empty for a non-numeric name.
    public var numbers: [Int]

    public init(_ name: String) {
        self.name = name
        // The family is everything before the first "_"; what follows is numeric when it is dotted numbers.
        if let underscore = name.firstIndex(of: "_") {
            family = String(name[..<underscore])
            let tail = name[name.index(after: underscore)...]
            let parts = tail.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
            numbers = tail.isEmpty || parts.contains(nil) ? [] : parts.compactMap { $0 }
        } else {
            family = name
            numbers = []
        }
    }

    public var isNumeric: Bool { !numbers.isEmpty }
    public var description: String { name }

    /// Numeric names by their numbers (2.9 < 2.10), then non-numeric by name.
    public static func < (left: VersionName, right: VersionName) -> Bool {
        if left.isNumeric != right.isNumeric { return left.isNumeric }
        if left.numbers != right.numbers { return left.numbers.lexicographicallyPrecedes(right.numbers) }
        return left.name < right.name
    }
}

/// What one object requires of one library: every version name its Verneed lists, the newest numeric
/// one of each family with the symbols bound to it (the ones to change to need less), and the rest.
public struct LibraryRequirement: Hashable, Sendable {
    public struct Highest: Hashable, Sendable {
        public var version: VersionName
        /// Undefined symbols of the object that name this version (sorted).
        public var symbols: [String]
    }
    /// The Verneed file name (`libc.so.6`).
    public var file: String
    /// Every needed version, as `readelf -V` lists them (sorted).
    public var versions: [VersionName]
    /// Per family, the newest numeric version.
    public var highest: [Highest]
    /// Non-numeric names (`GLIBC_PRIVATE`, `GLIBC_ABI_DT_RELR`, `CXXABI_TM_1`).
    public var nonNumeric: [VersionName]
}

public enum Requirements {
    /// The requirements of one object, from its Verneed entries and the versions of its undefined symbols.
    public static func of(_ info: ObjectInfo, symbols: SymbolTable) -> [LibraryRequirement] {
        var pinnedBy: [String: Set<String>] = [:]
        for reference in symbols.neededVersionSymbols {
            guard let version = reference.version else { continue }
            pinnedBy[(reference.versionFile ?? "") + "\u{0}" + version, default: []].insert(reference.name)
        }
        var result: [LibraryRequirement] = []
        for need in info.versionNeeds {
            let versions = Set(need.versions.map { VersionName($0.name) }).sorted()
            var newest: [String: VersionName] = [:]
            for version in versions where version.isNumeric {
                if let known = newest[version.family], !(known < version) { continue }
                newest[version.family] = version
            }
            let highest = newest.values.sorted { $0.family < $1.family }.map { version in
                LibraryRequirement.Highest(version: version,
                                           symbols: (pinnedBy[need.file + "\u{0}" + version.name] ?? []).sorted())
            }
            result.append(LibraryRequirement(file: need.file, versions: versions, highest: highest,
                                             nonNumeric: versions.filter { !$0.isNumeric }))
        }
        return result
    }

    /// The version names of `requirements` that the GNU C library answers for (every glibc library gives
    /// GLIBC_ names), and those of libstdc++ (GLIBCXX_, CXXABI_).
    public static func names(_ requirements: [LibraryRequirement], families: Set<String>) -> Set<String> {
        Set(requirements.flatMap { $0.versions }.filter { families.contains($0.family) }.map(\.name))
    }
}
