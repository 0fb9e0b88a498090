import ELF
import Dispatch
import Glibc
import Image
import Linker
import Synchronization

/// `linkscope check`: walks a root, then checks every ELF file on all cores. Each file's verdict is a pure
/// function of the root's contents, so workers share nothing but the caches of parsed objects.
public struct Checker: Sendable {
    public var options: CheckOptions

    public init(options: CheckOptions) { self.options = options }

    /// Called with (files done, files to do) from any worker thread.
    public typealias Progress = @Sendable (Int, Int) -> Void

    /// The root to check, opened: a directory as it is, an image read into memory.
    struct OpenedRoot {
        var root: LoaderRoot
        var image: OpenedImage?
    }

    func openRoot() throws(CheckError) -> OpenedRoot {
        let chooses = options.image != nil ? "--image" : options.platform != nil ? "--platform" : nil
        guard let given = options.root else {
            guard options.additions.isEmpty else { throw .usage("--add needs --root IMAGE (an image to add the files to)") }
            if let chooses { throw .usage("\(chooses) needs --root IMAGE (an archive or layout to choose from)") }
            return OpenedRoot(root: .host, image: nil)
        }
        var info = stat()
        guard RawBytes.withCString(given, { stat($0, &info) }) == 0 else {
            throw .rootMissing(path: given, reason: String(cString: strerror(errno)))
        }
        let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        if isDirectory, !ImageReader.isLayoutDirectory(given) {
            guard RawBytes.withCString(given, { access($0, R_OK | X_OK) }) == 0 else {
                throw .rootNotUsable(path: given, reason: String(cString: strerror(errno)))
            }
            guard options.additions.isEmpty else {
                throw .usage("--add needs an image (a tar, docker or OCI archive, or an OCI layout), not the directory \(given)")
            }
            if let chooses { throw .usage("\(chooses) chooses an image of an archive or layout, not of the directory \(given)") }
            return OpenedRoot(root: LoaderRoot(hostRoot: LoaderEnvironment.canonicalRootDirectory(given)), image: nil)
        }
        guard isDirectory || (info.st_mode & S_IFMT) == S_IFREG else {
            throw .rootNotUsable(path: given, reason: "neither a directory nor an image archive")
        }
        let additions = options.additions.map { ImageAddition(hostPath: $0.hostPath, inRootPath: $0.inRootPath) }
        do {
            let image = try ImageReader.open(given, selecting: ImageSelection(reference: options.image, platform: options.platform),
                                             additions: additions)
            return OpenedRoot(root: LoaderRoot(image: image.tree), image: image)
        } catch {
            // The archive itself is named in the message's prefix; a member or blob adds its own name.
            let reason = error.source == given ? error.reason : "\(error.source.hasPrefix(given + ": ") ? String(error.source.dropFirst(given.count + 2)) : error.source): \(error.reason)"
            throw .archive(path: given, reason: reason)
        }
    }

    public func run(progress: Progress? = nil) throws(CheckError) -> CheckReport {
        let opened = try openRoot()
        let root = opened.root

        var walker = RootWalker(root: root)
        walker.crossesMounts = options.crossesMounts
        // On this system a relative PATH means what it means to a shell; inside a root, it starts at its top.
        let cwd = SystemCalls.currentDirectory()
        var paths = options.paths.map { path in
            root.isHost && !path.hasPrefix("/") ? cwd + "/" + path : path
        }
        // The entry point is part of the verdict when the whole image is checked; PATHs or --add ask about
        // other files (it is still named).
        let checksWholeImage = paths.isEmpty && options.additions.isEmpty
        // "Will my binary run in this image?": without PATHs, the added files are what is asked about.
        if paths.isEmpty, !options.additions.isEmpty { paths = options.additions.map(\.inRootPath) }
        let config = opened.image?.config
        var entryPoint = config.flatMap { EntryPointFinder(root: root, config: $0).find() }
        entryPoint?.checked = checksWholeImage
        var entryProblems: [Problem] = []
        // The walk of the whole image reaches the entry point (and a script's interpreter); what it cannot
        // reach is a problem of its own.
        if let entryPoint, checksWholeImage {
            if let path = entryPoint.path {
                if let interpreter = entryPoint.interpreter, (try? root.realPath(interpreter)) == nil {
                    entryProblems.append(Problem(
                        kind: .entryPointMissing, file: path, neededBy: nil, subject: interpreter,
                        detail: "entry point \(path): its #! interpreter \(interpreter) is not in the image"))
                }
            } else if let program = entryPoint.command.first {
                let why = program.contains("/") ? "no such file in the image"
                    : "executable file not found in the image's PATH (\(EntryPointFinder.searchPath(config!)))"
                entryProblems.append(Problem(kind: .entryPointMissing, file: program, neededBy: nil, subject: program,
                                             detail: "entry point \(program): \(why)"))
            }
        }
        let walk: WalkResult
        do {
            walk = try walker.walk(paths)
        } catch {
            throw .pathMissing(path: error.path, reason: error.reason)
        }

        var report = CheckReport(root: options.root ?? "/", paths: paths.isEmpty ? ["/"] : paths)
        report.checkedSymbols = options.symbols
        report.counts.regularFiles = walk.regularFiles
        report.problems = walk.problems + entryProblems
        report.entryPoint = entryPoint
        for addition in options.additions { report.added[addition.inRootPath] = addition.hostPath }
        if let image = opened.image {
            report.image = CheckReport.ImageSummary(format: image.format.rawValue, reference: image.reference,
                                                    digest: image.digest, platform: image.platform,
                                                    layers: image.layerCount, skippedMembers: image.skipped)
        }

        // The image's own environment, as the runtime starts its programs: LD_LIBRARY_PATH and LD_PRELOAD.
        var variables: [String: String] = [:]
        for name in ["LD_LIBRARY_PATH", "LD_PRELOAD"] {
            if let value = config?.value(of: name) { variables[name] = value }
        }
        let context = CheckContext(root: root, symbols: options.symbols, variables: variables)
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
        // Needs the runtime meets at start are not problems; the report says which were met that way.
        let provided = options.provided + options.runtimes.flatMap(\.libraries)
        if !provided.isEmpty {
            report.problems.removeAll { problem in
                guard problem.kind == .notFound, RuntimeProfile.matches(problem.subject, provided) else { return false }
                report.provided[problem.subject, default: []].append(problem.file)
                return true
            }
            for name in report.provided.keys { report.provided[name] = Array(Set(report.provided[name]!)).sorted() }
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
