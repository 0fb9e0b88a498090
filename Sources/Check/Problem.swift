/// What kind of refusal (or risk) a problem is. The raw values are the `kind` strings of the JSON
/// report, so they are part of the documented schema.
public struct ProblemKind: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A DT_NEEDED library (or the PT_INTERP loader) that no search finds.
    public static let notFound = ProblemKind(rawValue: "not-found")
    /// The library that will be loaded does not define a version an object needs from it.
    public static let versionNotFound = ProblemKind(rawValue: "version-not-found")
    /// (`--symbols`) an undefined, non-weak symbol that no loaded object defines.
    public static let undefinedSymbol = ProblemKind(rawValue: "undefined-symbol")
    /// A library of another machine or class sits earlier in the search path than the one that loads.
    public static let wrongArch = ProblemKind(rawValue: "wrong-arch")
    /// A symlink that looks like a program or library and points nowhere (or into a loop).
    public static let brokenSymlink = ProblemKind(rawValue: "broken-symlink")
    /// A file or directory the check could not read.
    public static let unreadable = ProblemKind(rawValue: "unreadable")
    /// A file that starts like ELF but whose structures are corrupt or truncated.
    public static let badELF = ProblemKind(rawValue: "bad-elf")
    /// The image's Entrypoint/Cmd names a program the image does not have (the runtime's
    /// "executable file not found in $PATH").
    public static let entryPointMissing = ProblemKind(rawValue: "entrypoint-not-found")

    public var description: String { rawValue }
    public static func < (a: ProblemKind, b: ProblemKind) -> Bool { a.rawValue < b.rawValue }
}

public enum Severity: String, Hashable, Comparable, Sendable, Codable {
    /// The loader refuses the program (or would, when the object is loaded).
    case error
    /// The loader goes on, but something is off: a weak version, a shadowing wrong-arch library.
    case warning

    public static func < (a: Severity, b: Severity) -> Bool { a == .error && b == .warning }
}

/// One problem of one checked file. `neededBy` and `subject` say exactly what is missing and for whom,
/// so two files that share a broken dependency share the same (kind, neededBy, subject) and the report
/// can group them.
public struct Problem: Hashable, Sendable, Codable {
    public var kind: ProblemKind
    public var severity: Severity
    /// The checked file (a program or library the walk found), as a path inside the root.
    public var file: String
    /// The object whose need is not met (the file itself or one of its dependencies); nil for problems
    /// of the file itself (bad-elf, unreadable, broken-symlink).
    public var neededBy: String?
    /// What is missing: a library name, `VERSION` of a library, a symbol, a symlink target.
    public var subject: String
    /// One line, in the loader's words where the loader has words for it.
    public var detail: String

    public init(kind: ProblemKind, severity: Severity = .error, file: String, neededBy: String?,
                subject: String, detail: String) {
        self.kind = kind
        self.severity = severity
        self.file = file
        self.neededBy = neededBy
        self.subject = subject
        self.detail = detail
    }

    /// What makes two files' problems "the same problem" in a grouped report.
    public struct Cause: Hashable, Sendable {
        public var kind: ProblemKind
        public var severity: Severity
        public var neededBy: String?
        public var subject: String
        public var detail: String
    }

    public var cause: Cause {
        Cause(kind: kind, severity: severity, neededBy: neededBy, subject: subject, detail: detail)
    }
}
