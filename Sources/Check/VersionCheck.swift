import ELF

/// What the version and symbol checks need to know of one object the loader would map, whatever
/// resolver produced it.
public struct LoadedObject: Sendable {
    /// In-root path, as the loader would name it in messages (`l_name`).
    public var path: String
    public var hostPath: String
    public var soname: String?
    public var versionNeeds: [VersionNeed]
    public var versionDefinitions: [VersionDefinition]
    /// For each DT_NEEDED name of this object, the index in load order of the object that satisfies it;
    /// missing when the need was not found.
    public var dependencies: [String: Int]

    public init(path: String, hostPath: String, soname: String?, versionNeeds: [VersionNeed],
                versionDefinitions: [VersionDefinition], dependencies: [String: Int]) {
        self.path = path
        self.hostPath = hostPath
        self.soname = soname
        self.versionNeeds = versionNeeds
        self.versionDefinitions = versionDefinitions
        self.dependencies = dependencies
    }

    /// glibc's `_dl_name_match_p`: a need matches an object by its path or its soname.
    func answers(to name: String) -> Bool {
        name == soname || name == path || (!name.contains("/") && path.hasSuffix("/" + name))
    }
}

/// glibc's `_dl_check_map_versions` (elf/dl-version.c) over a load order, statically: every version an
/// object needs must be defined (by hash and name) in `.gnu.version_d` of the object the loader picked
/// for that file. A missing weak version, or a provider without any version definitions, only warns.
public enum VersionCheck {
    /// `objects[0]` is the checked file; problems are reported against `file`.
    public static func problems(file: String, objects: [LoadedObject]) -> [Problem] {
        var result: [Problem] = []
        for object in objects {
            for need in object.versionNeeds {
                guard let provider = provider(of: need.file, for: object, in: objects) else {
                    // Not loaded at all: the not-found problem already says so.
                    continue
                }
                let defined = provider.versionDefinitions
                if defined.isEmpty {
                    if need.versions.isEmpty { continue }
                    result.append(Problem(
                        kind: .versionNotFound, severity: .warning, file: file, neededBy: object.path,
                        subject: "\(need.file) (unversioned)",
                        detail: "\(provider.path): no version information available (required by \(object.path))"))
                    continue
                }
                for version in need.versions {
                    // The loader compares hash and name (match_symbol); a corrupt hash counts as missing.
                    if defined.contains(where: { $0.hash == version.hash && $0.name == version.name }) { continue }
                    let weak = version.isWeak
                    let detail = "\(provider.path): \(weak ? "weak " : "")version `\(version.name)' not found (required by \(object.path))"
                    result.append(Problem(
                        kind: .versionNotFound, severity: weak ? .warning : .error, file: file,
                        neededBy: object.path, subject: "\(version.name) in \(provider.path)", detail: detail))
                }
            }
        }
        return result
    }

    /// glibc's `find_needed`: the object's own dependency of that name, else any loaded object of that
    /// name (a version need may name a file reached through another object).
    static func provider(of name: String, for object: LoadedObject, in objects: [LoadedObject]) -> LoadedObject? {
        if let index = object.dependencies[name], objects.indices.contains(index) { return objects[index] }
        return objects.first { $0.answers(to: name) }
    }
}
