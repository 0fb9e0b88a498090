/// Everything one `check` run found, ready for a renderer: what was looked at, and every problem of every
/// checked file. Problems are kept per file (a CI system wants "which files fail"); `groups` regroups
/// them by cause (a human wants "what is broken, and how much does it hurt").
public struct CheckReport: Sendable {
    /// The root as the user named it ("/" for the running system).
    public var root: String
    /// The in-root paths that were walked.
    public var paths: [String]
    public var counts = Counts()
    /// Sorted by file, then kind, then subject.
    public var problems: [Problem] = []
    /// Whether undefined symbols were looked for (`--symbols`).
    public var checkedSymbols = false
    /// What the image is, when the root is one.
    public var image: ImageSummary?
    /// The image's entry point (Entrypoint + Cmd), checked first.
    public var entryPoint: EntryPoint?
    /// Needs met by the runtime (`--provided`, `--runtime`), not problems: library name → files needing it.
    public var provided: [String: [String]] = [:]
    /// Host files checked as if copied into the image (`--add`): in-root path → host path.
    public var added: [String: String] = [:]

    /// An image's identity and shape, for the report and the JSON.
    public struct ImageSummary: Hashable, Sendable, Codable {
        public var format: String
        public var reference: String?
        public var digest: String?
        public var platform: String?
        public var layers: Int
        /// Members of the archive that could not be applied (a hard link to nothing).
        public var skippedMembers: [String]
    }

    /// The program the image starts, as the runtime would find it.
    public struct EntryPoint: Hashable, Sendable, Codable {
        /// Entrypoint followed by Cmd, as the config gives them.
        public var command: [String]
        /// The in-root path of the program (found through the image's PATH), nil when it is not there.
        public var path: String?
        /// A script's `#!` interpreter, which is what the loader really starts.
        public var interpreter: String?
        /// Part of the verdict: the whole image was checked (PATHs and `--add` ask about other files).
        public var checked = true
    }

    public struct Counts: Hashable, Sendable, Codable {
        /// Regular files looked at.
        public var regularFiles = 0
        /// ELF files checked: programs plus shared objects.
        public var elfFiles = 0
        public var executables = 0
        public var sharedObjects = 0
        /// ELF files not checked: relocatable objects, core files, static programs, other machines.
        public var skipped = 0
        public init() {}
    }

    public init(root: String, paths: [String]) {
        self.root = root
        self.paths = paths
    }

    public var errors: [Problem] { problems.filter { $0.severity == .error } }
    public var warnings: [Problem] { problems.filter { $0.severity == .warning } }

    /// The files with at least one error: what the loader would refuse.
    public var filesWithErrors: [String] {
        var seen = Set<String>()
        return errors.compactMap { seen.insert($0.file).inserted ? $0.file : nil }
    }

    /// 0 clean, 1 problems (warnings count only when `strict`).
    public func exitStatus(strict: Bool) -> Int32 {
        if !errors.isEmpty { return 1 }
        if strict, !warnings.isEmpty { return 1 }
        return 0
    }

    /// One cause and every checked file it affects.
    public struct Group: Sendable {
        public var cause: Problem.Cause
        public var files: [String]
    }

    /// Problems by kind, and within a kind by cause; the kind and the cause that affect the most files
    /// come first, ties broken by name so the output is stable.
    public var groupedByKind: [(kind: ProblemKind, files: Int, groups: [Group])] {
        var byCause: [Problem.Cause: [String]] = [:]
        for problem in problems { byCause[problem.cause, default: []].append(problem.file) }
        var byKind: [ProblemKind: [Group]] = [:]
        for (cause, files) in byCause {
            byKind[cause.kind, default: []].append(Group(cause: cause, files: Array(Set(files)).sorted()))
        }
        return byKind.map { kind, groups in
            let sorted = groups.sorted {
                ($0.cause.severity, -$0.files.count, $0.cause.subject, $0.cause.neededBy ?? "")
                    < ($1.cause.severity, -$1.files.count, $1.cause.subject, $1.cause.neededBy ?? "")
            }
            let affected = Set(groups.flatMap(\.files)).count
            return (kind: kind, files: affected, groups: sorted)
        }.sorted { ($0.groups[0].cause.severity, -$0.files, $0.kind) < ($1.groups[0].cause.severity, -$1.files, $1.kind) }
    }

    /// Keeps problems in a stable order whatever order the workers finished in.
    mutating func sortProblems() {
        problems.sort {
            ($0.file, $0.kind, $0.neededBy ?? "", $0.subject) < ($1.file, $1.kind, $1.neededBy ?? "", $1.subject)
        }
    }
}
