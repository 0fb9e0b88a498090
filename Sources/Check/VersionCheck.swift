import ELF
import Linker

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
    /// The names the loader knows this object by (`l_name`, `l_libname`, soname); by default its path and soname.
    public var names: Set<String>

    public init(path: String, hostPath: String, soname: String?, versionNeeds: [VersionNeed],
                versionDefinitions: [VersionDefinition], dependencies: [String: Int], names: Set<String>? = nil) {
        self.path = path
        self.hostPath = hostPath
        self.soname = soname
        self.versionNeeds = versionNeeds
        self.versionDefinitions = versionDefinitions
        self.dependencies = dependencies
        self.names = names ?? Set([path] + (soname.map { [$0] } ?? []))
    }

    /// glibc's `_dl_name_match_p`, through the Linker's one rule.
    func answers(to name: String) -> Bool { LoaderNames.matches(name, names) }
}

/// `check`'s wording of the Linker's version rules (`VersionRules`, glibc elf/dl-version.c) over a load
/// order: every version an object needs must be defined in `.gnu.version_d` of the object the loader
/// picked for that file. A missing weak version, or a provider without any version definitions, only warns.
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
                var reportedUnversioned = false
                for failure in VersionRules.failures(of: need, against: provider.versionDefinitions) {
                    switch failure.kind {
                    case .noVersionInformation:
                        // The loader says it once per version; one line per needed file is enough here.
                        guard !reportedUnversioned else { continue }
                        reportedUnversioned = true
                        result.append(Problem(
                            kind: .versionNotFound, severity: .warning, file: file, neededBy: object.path,
                            subject: "\(need.file) (unversioned)",
                            detail: "\(provider.path): \(failure.message(requiredBy: object.path))"))
                    case .missing, .missingWeak:
                        result.append(Problem(
                            kind: .versionNotFound, severity: failure.isError ? .error : .warning, file: file,
                            neededBy: object.path, subject: "\(failure.version.name) in \(provider.path)",
                            detail: "\(provider.path): \(failure.message(requiredBy: object.path))"))
                    }
                }
            }
        }
        return result
    }

    /// The object's own dependency of that name, else any loaded object answering to it (a version need
    /// may name a file reached through another object).
    static func provider(of name: String, for object: LoadedObject, in objects: [LoadedObject]) -> LoadedObject? {
        if let index = object.dependencies[name], objects.indices.contains(index) { return objects[index] }
        return objects.first { $0.answers(to: name) }
    }
}
