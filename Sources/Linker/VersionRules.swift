import ELF

/// glibc's `_dl_name_match_p`: an object answers to a name when it is its `l_name` or one of its
/// `l_libname` entries (the names it was loaded under and its soname). The one name rule the resolver,
/// the version check (`find_needed`) and `check` use.
public enum LoaderNames {
    public static func matches(_ name: String, _ names: Set<String>) -> Bool { names.contains(name) }
}

/// One version a loaded object needs that the object giving it does not define: what
/// `_dl_check_map_versions` (elf/dl-version.c) reports at start-up.
public struct VersionFailure: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// `version `X' not found`: the loader refuses to start the program.
        case missing
        /// A VER_FLG_WEAK need: `weak version `X' not found`, a warning.
        case missingWeak
        /// The provider has no `.gnu.version_d` at all: `no version information available`, a warning.
        case noVersionInformation
    }
    public var kind: Kind
    /// The needed version (for `.noVersionInformation`, the one the need named).
    public var version: NeededVersion

    /// Only a missing strong version stops the load.
    public var isError: Bool { kind == .missing }

    /// The loader's words, as `ld.so` prints them after `PROVIDER: `.
    public func message(requiredBy needer: String) -> String {
        switch kind {
        case .missing: return "version `\(version.name)' not found (required by \(needer))"
        case .missingWeak: return "weak version `\(version.name)' not found (required by \(needer))"
        case .noVersionInformation: return "no version information available (required by \(needer))"
        }
    }
}

/// The version rules of glibc 2.36's loader, in one place for `deps` and `check`.
public enum VersionRules {
    /// `match_symbol` for every version of one Verneed entry against the Verdefs of the object the loader
    /// picked for that file: a version is there when a definition has the same hash and the same name.
    public static func failures(of need: VersionNeed, against definitions: [VersionDefinition]) -> [VersionFailure] {
        if definitions.isEmpty {
            return need.versions.map { VersionFailure(kind: .noVersionInformation, version: $0) }
        }
        return need.versions.compactMap { version in
            if definitions.contains(where: { $0.hash == version.hash && $0.name == version.name }) { return nil }
            return VersionFailure(kind: version.isWeak ? .missingWeak : .missing, version: version)
        }
    }

    /// rtld.c's `match_version` for `ldd -v`: by name only, and never in an object without Verdefs.
    public static func listsVersion(_ name: String, in definitions: [VersionDefinition]) -> Bool {
        definitions.contains { $0.name == name }
    }
}

/// A version failure placed in a load: which object needs it, and from which object.
public struct VersionProblem: Hashable, Sendable {
    /// Index in `DependencyGraph.objects` of the object whose Verneed names the version.
    public var needer: Int
    /// The Verneed's file name (`libver.so.1`).
    public var file: String
    /// Index of the object the loader checks the need against.
    public var provider: Int
    public var failure: VersionFailure
}

extension DependencyGraph {
    /// dl-version.c's `find_needed`: the first object of the global list answering to `file`, else one in
    /// the needer's own dependencies (which, at start-up, are in the global list too).
    public func versionProvider(of file: String, for needer: Int) -> Int? {
        versionProvider(of: file, for: needer, firstAnswering: firstAnsweringIndex())
    }

    /// Each name to the first object answering to it (`names` inverted): `_dl_name_match_p` over the
    /// global list as one lookup.
    func firstAnsweringIndex() -> [String: Int] {
        var index: [String: Int] = [:]
        for (position, set) in names.enumerated() {
            for name in set where index[name] == nil { index[name] = position }
        }
        return index
    }

    func versionProvider(of file: String, for needer: Int, firstAnswering: [String: Int]) -> Int? {
        if let index = firstAnswering[file], objects.indices.contains(index) {
            assert(LoaderNames.matches(file, names[index]))
            return index
        }
        return dependencies.first { $0.needer == needer && $0.name == file }?.target
    }

    /// Every version need of every mapped object checked against its provider, in load order, as
    /// `_dl_check_all_versions` does before anything is relocated. Needs of a file that was not found are
    /// left to the not-found need (the loader stops there first).
    public var versionProblems: [VersionProblem] {
        var result: [VersionProblem] = []
        let firstAnswering = firstAnsweringIndex()
        for (index, object) in objects.enumerated() {
            for need in object.info.versionNeeds {
                guard let provider = versionProvider(of: need.file, for: index, firstAnswering: firstAnswering) else { continue }
                for failure in VersionRules.failures(of: need, against: objects[provider].info.versionDefinitions) {
                    result.append(VersionProblem(needer: index, file: need.file, provider: provider, failure: failure))
                }
            }
        }
        return result
    }

    /// The version problems that stop the load.
    public var versionErrors: [VersionProblem] { versionProblems.filter(\.failure.isError) }

    /// Nothing missing: every need found and every strong version need defined.
    public var loads: Bool { isComplete && versionErrors.isEmpty }
}
