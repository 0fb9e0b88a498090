import ELF
import Foundation
import Linker
import Synchronization

/// `linkscope check`: walks a root, then checks every ELF file on all cores. Each file's verdict is a pure
/// function of the root's contents, so workers share nothing but the caches of parsed objects.
public struct Checker: Sendable {
    public var options: CheckOptions

    public init(options: CheckOptions) { self.options = options }

    /// Called with (files done, files to do) from any worker thread.
    public typealias Progress = @Sendable (Int, Int) -> Void

    public func run(progress: Progress? = nil) throws(CheckError) -> CheckReport {
        var archive: RootArchive?
        defer { archive?.remove() }
        let root: LoaderRoot
        if let given = options.root {
            var info = stat()
            guard stat(given, &info) == 0 else {
                throw .rootMissing(path: given, reason: String(cString: strerror(errno)))
            }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                guard access(given, R_OK | X_OK) == 0 else {
                    throw .rootNotUsable(path: given, reason: String(cString: strerror(errno)))
                }
                root = LoaderRoot(hostRoot: LoaderEnvironment.canonicalRootDirectory(given))
            } else if RootArchive.looksLikeArchive(given) {
                let unpacked = try RootArchive.unpack(given)
                archive = unpacked
                root = LoaderRoot(hostRoot: unpacked.directory.path)
            } else {
                throw .rootNotUsable(path: given, reason: "neither a directory nor a tar archive")
            }
        } else {
            root = .host
        }

        var walker = RootWalker(root: root)
        walker.crossesMounts = options.crossesMounts
        // On this system a relative PATH means what it means to a shell; inside a root, it starts at its top.
        let cwd = FileManager.default.currentDirectoryPath
        let paths = options.paths.map { path in
            root.isHost && !path.hasPrefix("/") ? cwd + "/" + path : path
        }
        let walk: WalkResult
        do {
            walk = try walker.walk(paths)
        } catch {
            throw .pathMissing(path: error.path, reason: error.reason)
        }

        var report = CheckReport(root: options.root ?? "/", paths: options.paths.isEmpty ? ["/"] : options.paths)
        report.checkedSymbols = options.symbols
        report.counts.regularFiles = walk.regularFiles
        report.problems = walk.problems

        let context = try CheckContext(root: root, symbols: options.symbols)
        let files = walk.files
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let results = Mutex<[FileVerdict]>([])
        let workers = max(1, min(options.jobs, files.count))
        // Progress counts every regular file: whether one is ELF is only known when a worker reads it.
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var mine: [FileVerdict] = []
            let checker = context.makeFileChecker()
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < files.count else { break }
                if let verdict = checker.check(files[index]) { mine.append(verdict) }
                let finished = done.add(1, ordering: .relaxed).newValue
                progress?(finished, files.count)
            }
            results.withLock { $0.append(contentsOf: mine) }
        }
        for verdict in results.withLock({ $0 }) {
            switch verdict.kind {
            case .executable: report.counts.executables += 1
            case .sharedObject: report.counts.sharedObjects += 1
            case .skipped: report.counts.skipped += 1
            case .broken: break
            }
            report.problems.append(contentsOf: verdict.problems)
        }
        report.counts.elfFiles = report.counts.executables + report.counts.sharedObjects
        report.sortProblems()
        return report
    }
}

/// One file's outcome.
struct FileVerdict: Sendable {
    enum Kind: Sendable {
        case executable, sharedObject
        /// Not something this loader loads: relocatable objects, core files, other machines.
        case skipped
        /// Corrupt: a bad-elf problem says why.
        case broken
    }
    var kind: Kind
    var problems: [Problem] = []
}
