import ArgumentParser
import Foundation
import Linker

public struct DepsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "deps",
        abstract: "Show the shared objects the dynamic linker would load, and why, without running anything.",
        discussion: """
            Resolves each FILE as glibc 2.36's loader would (RPATH, LD_LIBRARY_PATH, RUNPATH, ld.so.cache, \
            default directories, glibc-hwcaps subdirectories, already-loaded sonames) by reading files only: \
            neither FILE nor its interpreter is ever run.
            Exit status: 0 everything found, 1 something not found, 2 bad usage or a FILE that cannot be analysed.
            """
    )

    @Flag(name: .long, help: "Print glibc ldd-shaped lines (without load addresses).")
    var ldd = false

    @Flag(name: .long, help: "Print JSON (schema in the README).")
    var json = false

    @Flag(name: .long, help: "Print a Graphviz digraph (render with `dot -Tsvg`).")
    var dot = false

    @Option(name: .long, help: ArgumentHelp("Resolve inside this root filesystem: its ld.so.cache, absolute links read inside it.", valueName: "DIR"))
    var root: String?

    @Flag(name: .short, help: "Also print the symbol-version requirements of each object, as `ldd -v` does.")
    var verbose = false

    @Flag(name: .short, help: "Also print unused direct dependencies, as `ldd -u` does (exit 1 when there are some).")
    var unused = false

    @Argument(help: ArgumentHelp("ELF files to analyse (paths inside --root when it is given).", valueName: "FILE"))
    var files: [String]

    public init() {}

    public func validate() throws {
        if [ldd, json, dot].filter({ $0 }).count > 1 { throw ValidationError("--ldd, --json and --dot exclude each other") }
        if files.isEmpty { throw ValidationError("give at least one FILE") }
    }

    public func run() throws {
        let environment: LoaderEnvironment
        if let root {
            do { environment = try LoaderEnvironment.root(root) } catch {
                FileHandle.standardError.write(Data("linkscope: \(error)\n".utf8))
                throw ExitCode(ExitStatus.cannotAnalyse)
            }
        } else {
            environment = .host()
        }
        if let problem = environment.cacheProblem {
            FileHandle.standardError.write(Data("linkscope: warning: \(problem); resolving without ld.so.cache\n".utf8))
        }
        let results = DepsRun.resolveAll(files, environment: environment)
        let style = DepsStyle.forStandardOutput()
        var output = ""
        var unusedFound = false
        if json {
            output = DepsJSONRenderer.render(results)
        } else if dot {
            output = DepsDotRenderer.render(results)
        } else {
            for (position, result) in results.enumerated() {
                guard case .success(let graph) = result.outcome else { continue }
                if ldd {
                    output += DepsLddRenderer.render(graph, header: files.count > 1, verbose: verbose)
                    if unused {
                        let list = DepsUnused.unusedDirectDependencies(graph)
                        if !list.isEmpty {
                            output += "Unused direct dependencies:\n" + list.map { "\t\($0)\n" }.joined()
                            unusedFound = true
                        }
                    }
                } else {
                    if position > 0, !output.isEmpty { output += "\n" }
                    output += DepsTreeRenderer(style: style).render(graph)
                    if verbose { output += DepsLddRenderer.versionInformation(graph) }
                    if unused {
                        let list = DepsUnused.unusedDirectDependencies(graph)
                        if !list.isEmpty {
                            output += "Unused direct dependencies:\n" + list.map { "\t\($0)\n" }.joined()
                            unusedFound = true
                        }
                    }
                }
            }
        }
        FileHandle.standardOutput.write(Data(output.utf8))
        var status = unusedFound ? ExitStatus.problemsFound : ExitStatus.clean
        for result in results {
            switch result.outcome {
            case .failure(let error):
                FileHandle.standardError.write(Data("linkscope: \(error)\n".utf8))
                status = ExitStatus.cannotAnalyse
            case .success(let graph):
                for ignored in graph.ignoredPreloads {
                    FileHandle.standardError.write(Data("linkscope: warning: \(graph.file): preload \(ignored.name) cannot be preloaded: ignored (as ld.so does)\n".utf8))
                }
                if !graph.isComplete, status == ExitStatus.clean { status = ExitStatus.problemsFound }
            }
        }
        if status != ExitStatus.clean { throw ExitCode(status) }
    }
}

/// Resolves many files with one shared resolver, on every core.
public enum DepsRun {
    public struct FileResult: Sendable {
        public var file: String
        public var outcome: Result<DependencyGraph, DependencyError>
    }

    public static func resolveAll(_ files: [String], environment: LoaderEnvironment) -> [FileResult] {
        let resolver = DependencyResolver(environment: environment)
        let slots = ResultSlots(count: files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            let outcome: Result<DependencyGraph, DependencyError>
            outcome = Result { () throws(DependencyError) in try resolver.resolve(files[index]) }
            slots.set(index, FileResult(file: files[index], outcome: outcome))
        }
        return slots.values()
    }
}

private final class ResultSlots: @unchecked Sendable {
    private var slots: [DepsRun.FileResult?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: DepsRun.FileResult) { lock.lock(); slots[index] = value; lock.unlock() }
    func values() -> [DepsRun.FileResult] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
