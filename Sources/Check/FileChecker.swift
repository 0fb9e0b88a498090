import ELF
import Glibc
import Linker

/// What every worker shares: the root, the options, one resolver (thread-safe, caching each object's
/// parse and symbol table by real path).
final class CheckContext: Sendable {
    let root: LoaderRoot
    let symbols: Bool
    let resolver: DependencyResolver

    /// `variables`: the environment the root's programs start with (an image config's Env); never this
    /// process's own LD_* variables.
    init(root: LoaderRoot, symbols: Bool, variables: [String: String] = [:]) {
        self.root = root
        self.symbols = symbols
        // A root is checked as an image: its own cache and conf.
        self.resolver = DependencyResolver(environment: root.isHost ? .host(environment: variables) : .root(root, environment: variables))
    }

    func makeFileChecker() -> FileChecker { FileChecker(context: self) }
}

/// Checks one file at a time on one thread.
final class FileChecker {
    let context: CheckContext
    /// The machine and class this loader serves: the running one (linkscope is built for x86_64).
    static let hostMachine = ELFMachine.x86_64
    static let hostClass = ELFClass.class64

    init(context: CheckContext) {
        self.context = context
    }

    /// nil when the file is not ELF (and was not named on the command line).
    func check(_ found: FoundFile) -> FileVerdict? {
        let prefix: [UInt8]
        do {
            prefix = try context.root.readPrefix(realPath: found.path, count: ELFIdentity.size)
        } catch {
            return unreadable(found, "\(error.operation): \(error.reason)")
        }
        guard ELFIdentity.hasMagic(prefix) else {
            return found.isExplicit ? FileVerdict(kind: .skipped) : nil
        }
        guard let identity = ELFIdentity(prefix) else {
            return badELF(found, "file too short to be ELF (\(prefix.count) bytes)")
        }
        guard identity.type == .executable || identity.type == .sharedObject,
              identity.machine == Self.hostMachine, identity.elfClass == Self.hostClass else {
            return FileVerdict(kind: .skipped)
        }
        let info: ObjectInfo
        switch context.resolver.objectInfo(atPath: found.path) {
        case .success(let parsed): info = parsed
        case .failure(let rejection):
            switch rejection {
            case .missing, .permissionDenied: return unreadable(found, rejection.description)
            case .wrongClass, .wrongMachine: return FileVerdict(kind: .skipped)
            case .fatal(let message): return badELF(found, message)
            }
        }
        // A static PIE has neither ET_EXEC nor PT_INTERP; DF_1_PIE still says it is a program.
        let isProgram = info.header.type == .executable || info.interpreter != nil || info.dynamic.flags1.contains(.pie)
        let kind: FileVerdict.Kind = isProgram ? .executable : .sharedObject
        var verdict = FileVerdict(kind: kind)
        if info.isStatic { return verdict }
        verdict.problems = resolutionProblems(found)
        return verdict
    }

    private func unreadable(_ found: FoundFile, _ reason: String) -> FileVerdict {
        FileVerdict(kind: .broken, problems: [Problem(
            kind: .unreadable, file: found.path, neededBy: nil, subject: found.path, detail: "\(found.path): \(reason)")])
    }

    private func badELF(_ found: FoundFile, _ reason: String) -> FileVerdict {
        FileVerdict(kind: .broken, problems: [Problem(
            kind: .badELF, file: found.path, neededBy: nil, subject: found.path, detail: "\(found.path): \(reason)")])
    }

    /// Not-found, wrong-arch, version and (with `--symbols`) undefined-symbol problems of one file, from the
    /// load order the resolver computed for it.
    func resolutionProblems(_ found: FoundFile) -> [Problem] {
        let load: ResolvedLoad
        switch resolve(found) {
        case .success(let resolved): load = resolved
        case .failure(let failure): return badELF(found, failure.reason).problems
        }
        var problems: [Problem] = []
        for missing in load.notFound {
            problems.append(Problem(kind: .notFound, file: found.path, neededBy: missing.neededBy,
                                    subject: missing.name, detail: missing.detail))
        }
        for shadow in load.shadowed {
            problems.append(Problem(kind: .wrongArch, severity: .warning, file: found.path, neededBy: shadow.neededBy,
                                    subject: shadow.rejectedPath, detail: shadow.detail))
        }
        let versionProblems = VersionCheck.problems(file: found.path, objects: load.objects)
        problems += versionProblems
        if context.symbols, !load.objects.isEmpty {
            let tables = load.infos.map { context.resolver.symbolTable(of: $0) }
            let missing = Set(versionProblems.filter { $0.severity == .error }.compactMap { problem -> String? in
                guard let neededBy = problem.neededBy, let version = problem.subject.split(separator: " ").first else { return nil }
                return "\(neededBy)\u{0}\(version)"
            })
            // An object with a missing library would not get as far as binding; its references are left to
            // the not-found problem rather than reported once per symbol that library would have defined.
            let incomplete = Set(load.notFound.map(\.neededBy))
            problems += SymbolCheck.problems(file: found.path, objects: load.objects, tables: tables,
                                             missingVersions: missing, skipping: incomplete)
        }
        return problems
    }
}

/// The resolver's answer for one file, in the terms the checks use.
struct ResolvedLoad {
    struct Missing {
        var neededBy: String
        var name: String
        /// The loader's words plus the search that failed.
        var detail: String
    }
    struct Shadow {
        var neededBy: String
        var rejectedPath: String
        var detail: String
    }
    /// Load order; `objects[0]` is the file itself.
    var objects: [LoadedObject] = []
    /// The resolver's facts of each of `objects`, same order.
    var infos: [ObjectInfo] = []
    var notFound: [Missing] = []
    var shadowed: [Shadow] = []
}
