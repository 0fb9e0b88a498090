import ArgumentParser
import Dispatch
import Glibc
import Image
import Linker
import Synchronization

public struct DepsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "deps",
        abstract: "Show the shared objects the dynamic linker would load, and why, without running anything.",
        // Written out: FILE is filled by splitOperands, so ArgumentParser would show it as optional.
        usage: "linkscope deps [--ldd | --json | --dot] [--root <DIR>] [-v] [-u] [-r | -d] [--requires] [--follow-script] <FILE> ...",
        discussion: """
            Resolves each FILE as glibc 2.36's loader would (RPATH, LD_LIBRARY_PATH, RUNPATH, ld.so.cache, \
            default directories, glibc-hwcaps subdirectories, already-loaded sonames) by reading files only: \
            neither FILE nor its interpreter is ever run.
            Exit status: 0 everything found and loadable; 1 something not found or a version the loaded object \
            lacks (with -r/-d also undefined symbols, with -u unused dependencies); 2 bad usage or a FILE that \
            cannot be analysed (missing, a script, a directory, another machine).
            """
    )

    @Flag(name: .long, help: "Print glibc ldd-shaped lines (without load addresses).")
    var ldd = false

    @Flag(name: .long, help: "Print JSON (schema in the README).")
    var json = false

    @Flag(name: .long, help: "Print a Graphviz digraph (render with `dot -Tsvg`).")
    var dot = false

    @Option(name: .long, help: ArgumentHelp("Resolve inside this root filesystem (a directory, or an image as check --root reads it: a root tar, docker save, OCI layout): its ld.so.cache, absolute links read inside it.", valueName: "DIR"))
    var root: String?

    @Flag(name: [.short, .long], help: "Also print the symbol-version requirements of each object, as `ldd -v` does (a version the loaded object lacks is `not found`); in the tree, the directories searched for a missing need.")
    var verbose = false

    @Flag(name: [.short, .long], help: "Also print unused direct dependencies, as `ldd -u` does (exit 1 when there are some).")
    var unused = false

    @Flag(name: [.customShort("r"), .customLong("function-relocs")],
          help: "Also report undefined symbols of data and function relocations, as `ldd -r` does (exit 1 when there are some).")
    var functionRelocations = false

    @Flag(name: [.customShort("d"), .customLong("data-relocs")],
          help: "Also report undefined symbols of data relocations, as `ldd -d` does (exit 1 when there are some).")
    var dataRelocations = false

    @Flag(name: .long, help: "Also print the symbol versions FILE needs of each library (the newest of each family and the symbols that need it) and the distribution releases whose glibc and libstdc++ define them all.")
    var requires = false

    @Flag(name: .customLong("follow-script"),
          help: "For a #! script, resolve the program its first line runs (the interpreter, or env's NAME found in PATH).")
    var followScript = false

    /// Filled by `splitOperands` (runMain), not by ArgumentParser: its array @Argument takes time quadratic
    /// in the number of values (20 of 28 ms for the 807 files of /usr/bin). Declared for --help and usage.
    @Argument(help: ArgumentHelp("ELF files to analyse (paths inside --root when it is given).", valueName: "FILE"))
    var files: [String] = []

    public init() {}

    public func validate() throws {
        if [ldd, json, dot].filter({ $0 }).count > 1 { throw ValidationError("--ldd, --json and --dot exclude each other") }
    }

    /// deps' options that take the next word as their value (`--root DIR`).
    static let optionsTakingValues: Set<String> = ["--root"]

    /// `deps`' command line as ArgumentParser should see it (the options) and its FILE operands, in order:
    /// a word after `--`, `-` itself and any word not starting with `-` is a FILE; an option of
    /// `optionsTakingValues` takes the next word. nil operands for any other command.
    static func splitOperands(_ arguments: [String]) -> (arguments: [String], operands: [String]?) {
        guard arguments.first == configuration.commandName else { return (arguments, nil) }
        var options = [arguments[0]]
        var operands: [String] = []
        var index = 1
        while index < arguments.count {
            let word = arguments[index]
            index += 1
            if word == "--" {
                operands.append(contentsOf: arguments[index...])
                break
            }
            guard word.hasPrefix("-"), word != "-" else {
                operands.append(word)
                continue
            }
            options.append(word)
            if optionsTakingValues.contains(word), index < arguments.count {
                options.append(arguments[index])
                index += 1
            }
        }
        return (options, operands)
    }

    var relocationMode: RelocationMode? { functionRelocations ? .all : dataRelocations ? .data : nil }

    public func run() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE") }
        let environment: LoaderEnvironment
        if let root {
            var info = stat()
            let isDirectory = stat(root, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
            if !isDirectory && (info.st_mode & S_IFMT) == S_IFREG || ImageReader.isLayoutDirectory(root) {
                // An image, read in place as check reads it, with the environment its config gives programs.
                do {
                    let image = try ImageReader.open(root)
                    var variables: [String: String] = [:]
                    for name in ["LD_LIBRARY_PATH", "LD_PRELOAD"] {
                        if let value = image.config?.value(of: name) { variables[name] = value }
                    }
                    environment = LoaderEnvironment.root(LoaderRoot(image: image.tree), environment: variables)
                } catch {
                    StandardStreams.error("linkscope: \(root): \(error.reason)\n")
                    throw ExitCode(ExitStatus.cannotAnalyse)
                }
            } else {
                do { environment = try LoaderEnvironment.root(root) } catch {
                    StandardStreams.error("linkscope: \(error)\n")
                    throw ExitCode(ExitStatus.cannotAnalyse)
                }
            }
        } else {
            environment = .host()
        }
        if let problem = environment.cacheProblem {
            StandardStreams.error("linkscope: warning: \(problem); resolving without ld.so.cache\n")
        }
        let resolver = DependencyResolver(environment: environment)
        let results = DepsRun.resolveAll(files, resolver: resolver,
                                         options: DepsRun.Options(unused: unused, relocations: relocationMode,
                                                                  followScript: followScript, requirements: requires || json,
                                                                  searches: verbose || json))
        let style = DepsStyle.forStandardOutput()
        var output = ""
        if json {
            output = DepsJSONRenderer.render(results)
        } else if dot {
            output = DepsDotRenderer.render(results)
        } else {
            for (position, result) in results.enumerated() {
                guard case .success(let verdict) = result.outcome else {
                    // ldd keeps the block's header on stdout and says "not a dynamic executable" on stderr,
                    // where our one line per unanalysable file goes.
                    if ldd, files.count > 1 { output += "\(result.file):\n" }
                    continue
                }
                if ldd, unused {
                    // `ldd -u` prints only the unused dependencies, under each file's header.
                    if files.count > 1 { output += "\(result.file):\n" }
                } else if ldd {
                    output += DepsLddRenderer.render(verdict, header: files.count > 1 ? result.file : nil, verbose: verbose)
                } else {
                    if position > 0, !output.isEmpty { output += "\n" }
                    let runners = Array(verdict.scripts.dropFirst()) + [verdict.graph.file]
                    for (script, runner) in zip(verdict.scripts, runners) { output += "\(script): a #! script run by \(runner)\n" }
                    output += DepsTreeRenderer(style: style, showsSearches: verbose).render(verdict)
                    if verbose { output += DepsLddRenderer.versionInformation(verdict.graph) }
                    output += DepsLddRenderer.undefinedLines(verdict)
                }
                if requires { output += DepsRequirementsRenderer.render(verdict) }
                if !verdict.unused.isEmpty {
                    output += "Unused direct dependencies:\n" + verdict.unused.map { "\t\($0)\n" }.joined()
                }
            }
        }
        StandardStreams.output(output)
        var status = ExitStatus.clean
        for result in results {
            switch result.outcome {
            case .failure(let error):
                let hint = if case .script = error.kind, !followScript { " (--follow-script resolves what it runs)" } else { "" }
                StandardStreams.error("linkscope: \(error)\(hint)\n")
                status = ExitStatus.cannotAnalyse
            case .success(let verdict):
                for ignored in verdict.graph.ignoredPreloads {
                    StandardStreams.error("linkscope: warning: \(verdict.graph.file): preload \(ignored.name) cannot be preloaded: ignored (as ld.so does)\n")
                }
                if !verdict.isClean, status == ExitStatus.clean { status = ExitStatus.problemsFound }
            }
        }
        if status != ExitStatus.clean { throw ExitCode(status) }
    }
}

/// One file's whole verdict: what is loaded, which versions the loaded objects lack, and (when asked)
/// undefined symbols and unused dependencies.
public struct DepsVerdict: Sendable {
    public var graph: DependencyGraph
    public var versionProblems: [VersionProblem]
    /// With `-r`/`-d` only.
    public var undefined: [UndefinedSymbol] = []
    /// With `-u` only: paths of unused direct dependencies.
    public var unused: [String] = []
    /// With `--follow-script`: the scripts given (and any script interpreters) leading to `graph.file`.
    public var scripts: [String] = []
    /// For each of `graph.dependencies` not found: where it was looked for (empty for found needs).
    public var searches: [[SearchStep]] = []
    /// What the file itself needs of each library, by symbol version.
    public var requirements: [LibraryRequirement] = []

    /// Nothing the loader refuses and nothing the asked-for checks flag.
    public var isClean: Bool {
        graph.isComplete && !versionProblems.contains { $0.failure.isError }
            && undefined.isEmpty && unused.isEmpty
    }
}

/// Resolves many files with one shared resolver, on every core.
public enum DepsRun {
    public struct Options: Sendable {
        public var unused = false
        public var relocations: RelocationMode?
        public var followScript = false
        /// Compute `requirements` (reads the file's symbol table).
        public var requirements = false
        /// Compute `searches` (what `-v` and JSON show of a failed search).
        public var searches = true
        public init(unused: Bool = false, relocations: RelocationMode? = nil, followScript: Bool = false,
                    requirements: Bool = false, searches: Bool = true) {
            self.unused = unused
            self.relocations = relocations
            self.followScript = followScript
            self.requirements = requirements
            self.searches = searches
        }
    }

    public struct FileResult: Sendable {
        public var file: String
        public var outcome: Result<DepsVerdict, DependencyError>
    }

    public static func resolveAll(_ files: [String], environment: LoaderEnvironment, options: Options = Options()) -> [FileResult] {
        resolveAll(files, resolver: DependencyResolver(environment: environment), options: options)
    }

    public static func resolveAll(_ files: [String], resolver: DependencyResolver, options: Options) -> [FileResult] {
        let slots = Mutex<[FileResult?]>(Array(repeating: nil, count: files.count))
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            let outcome = Result { () throws(DependencyError) -> DepsVerdict in
                var target = files[index]
                var scripts: [String] = []
                var graph: DependencyGraph
                while true {
                    do throws(DependencyError) {
                        graph = try resolver.resolve(target)
                        break
                    } catch {
                        // A script runs its interpreter (binfmt_script, up to its nesting limit).
                        guard options.followScript, case .script(let interpreter, let argument) = error.kind,
                              scripts.count < DependencyResolver.maximumScriptDepth else {
                            // Say which script led here: the kernel's ENOENT for a missing interpreter names the script.
                            if let last = scripts.last {
                                throw DependencyError(path: files[index], kind: error.kind,
                                                      reason: "#! interpreter \(target) of \(last): \(error.reason)")
                            }
                            throw error
                        }
                        guard let program = resolver.scriptProgram(interpreter: interpreter, argument: argument,
                                                                   searchPath: searchPath(resolver)) else {
                            throw DependencyError(path: files[index], kind: .notDynamic,
                                                  reason: "#! line names no program found (\(interpreter ?? "nothing")\(argument.map { " " + $0 } ?? ""))")
                        }
                        scripts.append(target)
                        target = program
                    }
                }
                var verdict = DepsVerdict(graph: graph, versionProblems: graph.versionProblems)
                verdict.scripts = scripts
                if options.searches { verdict.searches = graph.dependencies.map { resolver.searchSteps(for: $0, in: graph) } }
                if options.requirements, let main = graph.objects.first, !graph.isStatic {
                    verdict.requirements = Requirements.of(main.info, symbols: resolver.symbolTable(of: main.info))
                }
                if let mode = options.relocations { verdict.undefined = resolver.undefinedSymbols(in: graph, mode: mode) }
                if options.unused { verdict.unused = DepsUnused.unusedDirectDependencies(graph, resolver: resolver) }
                return verdict
            }
            let result = FileResult(file: files[index], outcome: outcome)
            slots.withLock { $0[index] = result }
        }
        return slots.withLock { $0.map { $0! } }
    }
}

/// Where `env` looks for a script's program: this process's PATH on the host, Debian's default in a root.
func searchPath(_ resolver: DependencyResolver) -> [String] {
    if resolver.environment.root.isHost, let path = SystemCalls.environment()["PATH"] {
        return path.split(separator: ":").map(String.init)
    }
    return DependencyResolver.defaultSearchPath
}

