// The Linker public API, for `deps` and `check`:
//
//   let environment = LoaderEnvironment.host()                 // or try LoaderEnvironment.root("/srv/image")
//   let resolver = DependencyResolver(environment: environment) // one per process; share it between threads
//   let graph = try resolver.resolve("/usr/bin/ls")           // path inside the root
//   graph.objects        // [MappedObject] in load order: [0] the file, then breadth-first; each has
//                        //   .path (l_name, in-root), .info (ObjectInfo: header, DynamicInfo, versionNeeds,
//                        //   versionDefinitions, realPath, hostPath), .rule (SearchRule), .loader
//   graph.dependencies   // [Dependency]: needer index, DT_NEEDED name, .found(object:rule:) or
//                        //   .notFound(candidates: SearchTrail of Candidate(path, rule, rejection), error:)
//                        //   .refused: existing files skipped before the one found (wrong class/machine)
//   graph.missing / graph.isComplete / graph.ignoredPreloads
//
// `resolve` throws `DependencyError` only when the file itself cannot be analysed (missing, not ELF,
// another class or machine); a missing library is a result inside the graph. Nothing is executed.
import ELF
import Foundation
import Synchronization

/// glibc 2.36's `_dl_map_object` / `_dl_map_object_deps`, statically: for one file, every object the loader
/// would map, in its order, and why each was found where it was.
///
/// Thread safety: a resolver is `Sendable` and meant to be shared — call `resolve` from any number of
/// threads at once. Its caches (candidate path → verdict, real path → parsed `ObjectInfo`) sit behind a
/// mutex, so each library of a root is opened and parsed once per resolver however many files need it.
public final class DependencyResolver: Sendable {
    public let environment: LoaderEnvironment
    private let probes = Mutex<[String: Probe]>([:])
    private let parsed = Mutex<[String: Result<ObjectInfo, ProbeFailure>]>([:])
    /// In-root directory → what it is (`directoryState`), so a candidate costs one lstat at most.
    private let directories = Mutex<[String: DirectoryState]>([:])
    /// Answers "missing" for candidates whose directory lacks them, without a probe (DirectoryListings.swift).
    private let listings: DirectoryListings
    /// `environment.searchSubdirectories`, computed once.
    private let subdirectories: [String]
    /// Searches whose answer depends only on the loader's own path and RUNPATH (Run.cachedSearch).
    fileprivate let searches = Mutex<[SearchKey: Run.SearchResult]>([:])
    /// Symbol tables (with relocations) by real path, read on first use by `-u`, `-r`/`-d` and `check --symbols`.
    private let symbolTables = SharedCache<SymbolTable>()

    public init(environment: LoaderEnvironment) {
        self.environment = environment
        self.subdirectories = environment.searchSubdirectories
        self.listings = DirectoryListings(root: environment.root)
    }

    /// What opening one candidate path gives the loader.
    enum Probe: Sendable {
        case rejected(Rejection)
        case object(ObjectInfo)
    }

    struct ProbeFailure: Error, Hashable, Sendable { var rejection: Rejection }

    // MARK: Resolving one file

    /// The load of `file` (a path inside the root; relative paths start at the working directory).
    public func resolve(_ file: String) throws(DependencyError) -> DependencyGraph {
        // open("") is ENOENT; made absolute, "" would be the working directory ("is a directory").
        if file.isEmpty { throw DependencyError(path: file, kind: .missing, reason: "No such file or directory") }
        let inRoot = mainPath(file)
        let mainInfo: ObjectInfo
        switch probe(inRoot) {
        case .object(let info): mainInfo = info
        case .rejected(let rejection):
            throw inputError(file, inRoot: inRoot, rejection: rejection)
        }
        var run = Run(resolver: self, file: file)
        // The kernel resolves the executable's path (/proc/self/exe): $ORIGIN of main is its real directory.
        run.add(MappedObject(name: file, path: inRoot, info: mainInfo, rule: .main, loader: nil, depth: 0, subdirectory: ""),
                names: mainInfo.dynamic.soname.map { [$0] } ?? [], origin: LoaderPath.directory(of: mainInfo.realPath))
        guard !mainInfo.isStatic else {
            var graph = DependencyGraph(file: file, objects: run.objects, dependencies: [], interpreter: nil)
            graph.names = run.names
            return graph
        }
        run.prepareInterpreter(mainInfo.interpreter ?? environment.defaultInterpreter, declared: mainInfo.interpreter != nil)
        var queue = [0]
        for name in environment.preload {
            if let index = run.map(name, neededBy: 0, preload: true) { queue.append(index) }
        }
        var cursor = 0
        while cursor < queue.count {
            let index = queue[cursor]
            cursor += 1
            // rtld's own map is relocated already; its (absent) needs are never walked.
            if index == run.interpreterIndex { continue }
            for name in run.objects[index].info.dynamic.needed {
                if let added = run.map(name, neededBy: index, preload: false) { queue.append(added) }
            }
        }
        run.finishInterpreter()
        var graph = DependencyGraph(file: file, objects: run.objects, dependencies: run.dependencies,
                                    interpreter: mainInfo.interpreter)
        graph.ignoredPreloads = run.ignoredPreloads
        graph.names = run.names
        return graph
    }

    /// How many bytes of a file that is not a loadable ELF object are read to say what it is instead.
    static let sniffLength = 256

    /// Why FILE itself cannot be resolved, in the words ldd and the kernel use: a directory, another kind of
    /// non-regular file, a `#!` script (naming its interpreter), something else that is not a dynamic
    /// executable, or the loader's own verdict on a broken ELF file.
    func inputError(_ file: String, inRoot: String, rejection: Rejection) -> DependencyError {
        let model = "this loader model is for \(environment.elfClass) \(environment.machine)"
        switch rejection {
        case .missing: return DependencyError(path: file, kind: .missing, reason: "No such file or directory")
        case .permissionDenied: return DependencyError(path: file, kind: .unreadable, reason: "Permission denied")
        case .wrongClass(let elfClass): return DependencyError(path: file, kind: .otherELF, reason: "\(elfClass) object; \(model)")
        case .wrongMachine(let machine): return DependencyError(path: file, kind: .otherELF, reason: "\(machine) object; \(model)")
        case .fatal(let message):
            let root = environment.root
            guard let real = try? root.realPath(inRoot), let info = try? root.linkStatus(real) else {
                return DependencyError(path: file, kind: .unloadable, reason: message)
            }
            switch info.type {
            case .directory: return DependencyError(path: file, kind: .directory, reason: "is a directory")
            case .regular: break
            default: return DependencyError(path: file, kind: .notRegular, reason: "not regular file")
            }
            let prefix = (try? root.readPrefix(realPath: real, count: Self.sniffLength)) ?? []
            switch ELFIdentity.kind(of: prefix) {
            case .elf: return DependencyError(path: file, kind: .unloadable, reason: message)
            case .script(let interpreter, let argument):
                let named = interpreter.map { "a #! script for \($0)" } ?? "a #! script naming no interpreter"
                return DependencyError(path: file, kind: .script(interpreter: interpreter, argument: argument),
                                       reason: "not a dynamic executable (\(named))")
            case .other:
                // Four bytes of ELF magic or more means a cut-short ELF file, as the loader says.
                if ELFIdentity.hasMagic(prefix) { return DependencyError(path: file, kind: .unloadable, reason: message) }
                return DependencyError(path: file, kind: .notDynamic, reason: "not a dynamic executable")
            }
        }
    }

    /// The parsed facts of the object at an in-root path (symlinks followed), through the same cache.
    public func objectInfo(atPath inRootPath: String) -> Result<ObjectInfo, Rejection> {
        switch probe(inRootPath) {
        case .object(let info): return .success(info)
        case .rejected(let rejection): return .failure(rejection)
        }
    }

    /// The symbol table of a mapped object, read once per resolver; an object whose symbols cannot be read
    /// (a corrupt `.dynsym`) has an empty table, so it defines nothing and references nothing.
    public func symbolTable(of info: ObjectInfo) -> SymbolTable {
        symbolTables.value(for: info.realPath) {
            (try? environment.root.openELF(realPath: info.realPath)).flatMap { try? SymbolTable(file: $0, relocations: true) }
                ?? SymbolTable()
        }
    }

    /// FILE as an in-root path: inside a root, a host path under the root (however the root was spelled:
    /// its directory is made canonical as the root was) is taken as the file it names there.
    func mainPath(_ file: String) -> String {
        let root = environment.root
        if !root.isHost {
            if file.hasPrefix(root.hostRoot + "/") { return String(file.dropFirst(root.hostRoot.count)) }
            let directory = LoaderEnvironment.canonicalRootDirectory(LoaderPath.directory(of: file))
            if !file.hasSuffix("/"), let name = file.split(separator: "/").last,
               let inRoot = root.inRootPath(ofHostPath: directory + "/" + name) {
                return inRoot
            }
        }
        return LoaderPath.absolute(file, in: environment.workingDirectory)
    }

    // MARK: One candidate

    /// `probe` for a candidate of a directory search: one its directory lacks is missing without a probe
    /// or a cache entry (DirectoryListings.swift). The file itself and direct paths are always probed.
    func searchProbe(_ path: String) -> Probe {
        if listings.certainlyMissing(path) { return .rejected(.missing) }
        return probe(path)
    }

    /// What `open_verify` decides for `path` (in-root), cached.
    func probe(_ path: String) -> Probe {
        if let known = probes.withLock({ $0[path] }) { return known }
        let result = uncachedProbe(path)
        probes.withLock { $0[path] = result }
        return result
    }

    /// What a search directory is, looked up once per resolver: most candidates are a name in a directory
    /// that does not exist (glibc-hwcaps and legacy subdirectories) or in one already resolved.
    enum DirectoryState: Sendable {
        /// The directory (or a component of it) does not exist: nothing under it does.
        case missing
        /// Its canonical in-root path.
        case real(String)
        /// Something else (a loop, EACCES): every path under it takes the full lookup.
        case unknown
    }

    func directoryState(_ directory: String) -> DirectoryState {
        if let known = directories.withLock({ $0[directory] }) { return known }
        let state: DirectoryState
        do {
            let real = try environment.root.realPath(directory + "/")
            state = .real(real)
        } catch {
            switch error {
            case .missing, .notADirectory: state = .missing
            case .loop, .system: state = .unknown
            }
        }
        directories.withLock { $0[directory] = state }
        return state
    }

    /// The canonical path of `path` as `LoaderRoot.realPath` gives it, through the directory cache: only the
    /// last component is looked at when the directory is known, and a regular file there is its own real
    /// path; anything else (a symlink, a directory) takes the full lookup.
    func cachedRealPath(_ path: String) throws(LoaderRoot.LookupError) -> String {
        let root = environment.root
        guard path.hasPrefix("/"), let slash = path.lastIndex(of: "/") else { return try root.realPath(path) }
        let name = path[path.index(after: slash)...]
        guard !name.isEmpty, name != ".", name != ".." else { return try root.realPath(path) }
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        switch directoryState(directory) {
        case .missing: throw .missing(at: directory)
        case .unknown: return try root.realPath(path)
        case .real(let real):
            let candidate = (real == "/" ? "" : real) + "/" + name
            do {
                if try root.linkStatus(candidate).type == .regular { return candidate }
            } catch {
                if error.errno == ENOENT || error.errno == ENOTDIR { throw .missing(at: candidate) }
            }
            return try root.realPath(path)
        }
    }

    private func uncachedProbe(_ path: String) -> Probe {
        let root = environment.root
        let real: String
        do { real = try cachedRealPath(path) } catch {
            switch error {
            case .missing, .notADirectory: return .rejected(.missing)
            case .loop: return .rejected(.fatal("Too many levels of symbolic links"))
            case .system(let failure) where failure.errno == EACCES: return .rejected(.permissionDenied)
            case .system(let failure): return .rejected(.fatal(failure.reason))
            }
        }
        if let known = parsed.withLock({ $0[real] }) {
            switch known {
            case .success(let info): return .object(info)
            case .failure(let failure): return .rejected(failure.rejection)
            }
        }
        let outcome = Self.verifyAndParse(realPath: real, environment: environment)
        parsed.withLock { $0[real] = outcome }
        switch outcome {
        case .success(let info): return .object(info)
        case .failure(let failure): return .rejected(failure.rejection)
        }
    }

    /// elf/dl-load.c `open_verify`, in its order: size, magic, class (skip), data, version, OS ABI,
    /// machine (skip), type. Fatal verdicts stop glibc's whole search with that message.
    static func verifyAndParse(realPath: String, environment: LoaderEnvironment) -> Result<ObjectInfo, ProbeFailure> {
        func fail(_ rejection: Rejection) -> Result<ObjectInfo, ProbeFailure> { .failure(ProbeFailure(rejection: rejection)) }
        // Read through the root: a directory's file from the host, an image's from its layers.
        let hostPath = environment.root.hostPath(realPath)
        // One open per file: the ELF reader's copy of the file holds the 64 header bytes open_verify looks
        // at. Only a file it refuses (not ELF, cut short, unreadable) is read again, raw, for the loader's
        // own verdict on it.
        let opened = try? environment.root.openELF(realPath: realPath)
        let header: [UInt8]
        if let opened, let bytes = opened.bytes(at: 0, count: 64) {
            header = Array(bytes)
        } else {
            do { header = try environment.root.readPrefix(realPath: realPath, count: 64) } catch {
                let code = error.errno
                if code == EACCES { return fail(.permissionDenied) }
                if code == ENOENT { return fail(.missing) }
                if code == EISDIR { return fail(.fatal("cannot read file data: Is a directory")) }
                return fail(.fatal("cannot open shared object file: \(error.reason)"))
            }
        }
        // glibc reads a whole ELF header (64 bytes for ELFCLASS64) before it looks at any field.
        guard header.count >= 64 else { return fail(.fatal("file too short")) }
        guard let identity = ELFIdentity(header) else { return fail(.fatal("invalid ELF header")) }
        guard identity.elfClass == environment.elfClass else { return fail(.wrongClass(identity.elfClass)) }
        guard identity.data == .littleEndian else { return fail(.fatal("ELF file data encoding not little-endian")) }
        guard identity.version == ELFIdentity.currentVersion else {
            return fail(.fatal("ELF file version ident does not match current one"))
        }
        guard ELFIdentity.acceptedOSABIs.contains(identity.osABI) else { return fail(.fatal("ELF file OS ABI invalid")) }
        guard identity.machine == environment.machine else { return fail(.wrongMachine(identity.machine)) }
        guard identity.type == .sharedObject || identity.type == .executable else {
            return fail(.fatal("only ET_DYN and ET_EXEC can be loaded"))
        }
        do {
            let file: ELFFile
            if let opened { file = opened } else { file = try environment.root.openELF(realPath: realPath) }
            let dynamic = try file.dynamicInfo()
            let isStatic = !file.programHeaders.contains { $0.type == .dynamic }
            return .success(ObjectInfo(
                realPath: realPath, hostPath: hostPath, header: file.header, interpreter: try file.interpreter(),
                dynamic: dynamic, versionNeeds: isStatic ? [] : try file.versionNeeds(),
                versionDefinitions: isStatic ? [] : try file.versionDefinitions(), isStatic: isStatic))
        } catch {
            let text = error.description
            return fail(.fatal(text.hasPrefix(hostPath + ": ") ? String(text.dropFirst(hostPath.count + 2)) : text))
        }
    }
}

/// What a context-free search depends on (Run.cachedSearch).
private struct SearchKey: Hashable, Sendable {
    var name: String
    var loaderPath: String
    var origin: String
    var runpath: String?
    var noDefaults: Bool
}

/// The state of one resolution: the link map being built.
private struct Run {
    let resolver: DependencyResolver
    let file: String
    var environment: LoaderEnvironment { resolver.environment }
    var objects: [MappedObject] = []
    var dependencies: [Dependency] = []
    /// Names each object answers to (`_dl_name_match_p`: l_name, l_libname list, soname).
    var names: [Set<String>] = []
    /// `names` inverted (each name to the first object answering to it), so `_dl_name_match_p` over the
    /// whole list is one lookup per need; kept in step with `names` by `answer(_:as:)`.
    var firstAnswering: [String: Int] = [:]
    var origins: [String] = []
    /// Per object: the nearest object of its loader chain (itself first) with an RPATH that counts, so a
    /// search walks only the RPATHs (a 20,000-deep chain walked every loader for every need).
    var nearestRPath: [Int?] = []
    /// Per object: its loader chain reaches the program (preloads' and the interpreter's do not).
    var chainReachesMain: [Bool] = []
    /// RPATH and RUNPATH lists by object, expanded on first use (`rpathList`, `runpathList`).
    var expandedRPaths: [Int: [String]] = [:]
    var expandedRunPaths: [Int: [String]] = [:]
    var expandedLibraryPath: [String]?
    var indexByRealPath: [String: Int] = [:]
    /// rtld's map before it takes its place in the list.
    var pendingInterpreter: (object: MappedObject, names: Set<String>)?
    var interpreterIndex: Int?
    var interpreterDependency: Dependency?
    var ignoredPreloads: [Dependency] = []

    init(resolver: DependencyResolver, file: String) {
        self.resolver = resolver
        self.file = file
    }

    @discardableResult
    mutating func add(_ object: MappedObject, names extra: [String], origin: String) -> Int {
        let index = objects.count
        objects.append(object)
        var set = Set(extra)
        if object.rule != .main { set.insert(object.name); set.insert(object.path) }
        if let soname = object.info.dynamic.soname { set.insert(soname) }
        names.append(set)
        for name in set where firstAnswering[name] == nil { firstAnswering[name] = index }
        origins.append(origin)
        // The RPATH walk's shortcuts (search): the nearest object up the loader chain, this one included,
        // whose RPATH counts, and whether the chain ends at the program.
        let loader = object.loader
        nearestRPath.append(effectiveRPath(index) != nil ? index : loader.flatMap { nearestRPath[$0] })
        chainReachesMain.append(index == 0 || (loader.map { chainReachesMain[$0] } ?? false))
        indexByRealPath[object.info.realPath] = indexByRealPath[object.info.realPath] ?? index
        return index
    }

    /// Object `index` answers to `name` from now on (it was found again under that name).
    mutating func answer(_ index: Int, as name: String) {
        names[index].insert(name)
        if firstAnswering[name] == nil { firstAnswering[name] = index }
    }

    mutating func prepareInterpreter(_ path: String, declared: Bool) {
        let inRoot = LoaderPath.absolute(path, in: environment.workingDirectory)
        switch resolver.probe(inRoot) {
        case .object(let info):
            let object = MappedObject(name: path, path: path, info: info, rule: .interpreter, loader: nil,
                                      depth: 1, subdirectory: "")
            var set: Set<String> = [path, inRoot]
            if let soname = info.dynamic.soname { set.insert(soname) }
            pendingInterpreter = (object, set)
        case .rejected(let rejection):
            // The kernel refuses to start a program whose PT_INTERP cannot be opened.
            if declared {
                interpreterDependency = Dependency(needer: 0, name: path, outcome: .notFound(
                    candidates: SearchTrail([Candidate(path: inRoot, rule: .interpreter, rejection: rejection)]),
                    error: "program interpreter \(path): \(rejection)"))
            }
        }
    }

    mutating func placeInterpreter() -> Int? {
        if let interpreterIndex { return interpreterIndex }
        guard let pending = pendingInterpreter else { return nil }
        let index = add(pending.object, names: Array(pending.names), origin: LoaderPath.directory(of: pending.object.path))
        interpreterIndex = index
        pendingInterpreter = nil
        return index
    }

    mutating func finishInterpreter() {
        // A program's PT_INTERP is always mapped. For a shared library asked about directly, rtld's map
        // is in the list only when something in the tree names it (ld.so --list shows it only then).
        if pendingInterpreter != nil, objects[0].info.interpreter != nil { _ = placeInterpreter() }
        if let index = interpreterIndex, objects[0].info.interpreter != nil {
            interpreterDependency = Dependency(needer: 0, name: objects[index].path,
                                               outcome: .found(object: index, rule: .interpreter))
        }
        if let interpreterDependency { dependencies.insert(interpreterDependency, at: 0) }
    }

    /// `_dl_map_object(loader, name)`: returns the index of a newly mapped object, nil when the name was
    /// already loaded or not found (both recorded in `dependencies`).
    mutating func map(_ name: String, neededBy needer: Int, preload: Bool) -> Int? {
        func record(_ outcome: Dependency.Outcome) { dependencies.append(Dependency(needer: needer, name: name, outcome: outcome)) }
        if let existing = firstAnswering[name] {
            assert(LoaderNames.matches(name, names[existing]), "the name index follows the names")
            record(.found(object: existing, rule: existing == interpreterIndex ? .interpreter : .alreadyLoaded(name: name)))
            return nil
        }
        if let pending = pendingInterpreter, LoaderNames.matches(name, pending.names), let index = placeInterpreter() {
            record(.found(object: index, rule: .interpreter))
            return nil
        }
        switch cachedSearch(name, loader: needer) {
        case .found(let path, let info, let rule, let subdirectory, let refused):
            let finalRule: SearchRule = preload ? .preload(found: rule) : rule
            // Files the search skipped before this one (another machine or class): shadows `check` reports.
            func record(_ outcome: Dependency.Outcome) {
                dependencies.append(Dependency(needer: needer, name: name, outcome: outcome, refused: refused))
            }
            // Same file as a mapped object (st_dev/st_ino in glibc): reuse it under this name too.
            if let existing = indexByRealPath[info.realPath] {
                answer(existing, as: name)
                record(.found(object: existing, rule: finalRule))
                return nil
            }
            if let pending = pendingInterpreter, pending.object.info.realPath == info.realPath, let index = placeInterpreter() {
                answer(index, as: name)
                record(.found(object: index, rule: .interpreter))
                return nil
            }
            let object = MappedObject(name: name, path: path, info: info, rule: finalRule,
                                      loader: preload ? nil : needer, depth: objects[needer].depth + 1,
                                      subdirectory: subdirectory)
            let index = add(object, names: [], origin: LoaderPath.directory(of: path))
            if preload { objects[index].loader = nil }
            record(.found(object: index, rule: finalRule))
            return index
        case .notFound(let candidates, let error):
            // rtld.c only warns about a preload it cannot open ("cannot be preloaded ... ignored") and goes on.
            if preload {
                ignoredPreloads.append(Dependency(needer: needer, name: name, outcome: .notFound(candidates: candidates, error: error)))
                return nil
            }
            record(.notFound(candidates: candidates, error: error))
            return nil
        }
    }

    /// `search`, through the resolver's cache when its answer depends on nothing of this load but the
    /// loader's own path and RUNPATH: no RPATH up the loader chain counts and LD_LIBRARY_PATH has no
    /// `$ORIGIN`. Then every file whose load maps that object reuses the answer (check resolves each file
    /// of a root, so a chain of N libraries was N² searches).
    mutating func cachedSearch(_ name: String, loader: Int) -> SearchResult {
        let loaderObject = objects[loader]
        let rpathsCount = loaderObject.info.dynamic.runpath == nil
            && (nearestRPath[loader] != nil || (!chainReachesMain[loader] && effectiveRPath(0) != nil))
        guard !name.utf8.contains(UInt8(ascii: "/")), !rpathsCount,
              !(environment.libraryPath?.utf8.contains(UInt8(ascii: "$")) ?? false) else {
            return search(name, loader: loader)
        }
        let key = SearchKey(name: name, loaderPath: loaderObject.path, origin: origins[loader],
                            runpath: loaderObject.info.dynamic.runpath,
                            noDefaults: loaderObject.info.dynamic.flags1.contains(.noDefaultLibraries))
        if let known = resolver.searches.withLock({ $0[key] }) { return known }
        let result = search(name, loader: loader)
        resolver.searches.withLock { $0[key] = result }
        return result
    }

    enum SearchResult: Sendable {
        case found(path: String, info: ObjectInfo, rule: SearchRule, subdirectory: String, refused: [Candidate] = [])
        case notFound(candidates: SearchTrail, error: String?)
    }

    /// The search order of `_dl_map_object` for a name without a slash, or the path for one with.
    mutating func search(_ name: String, loader: Int) -> SearchResult {
        var tried = SearchTrail()
        // A byte scan: String.contains(String) goes through Foundation's range(of:), a tenth of check's time.
        if name.utf8.contains(UInt8(ascii: "/")) {
            let path = LoaderPath.absolute(expand(name, origin: origins[loader]), in: environment.workingDirectory)
            switch resolver.probe(path) {
            case .object(let info): return .found(path: path, info: info, rule: .directPath, subdirectory: "")
            case .rejected(let rejection):
                tried.append(Candidate(path: path, rule: .directPath, rejection: rejection))
                return .notFound(candidates: tried, error: rejection.stopsSearch ? "\(path): \(rejection)" : nil)
            }
        }
        var failure: String?
        /// Tries each directory with every subdirectory; nil means keep searching.
        func tryDirectories(_ directories: [String], rule: SearchRule, subdirectories: [String]) -> SearchResult? {
            let grid = tried.addGrid(directories: directories, subdirectories: subdirectories, name: name, rule: rule)
            var position = 0
            for directory in directories {
                // A search directory that does not exist has no subdirectories either: one lookup, not one
                // per glibc-hwcaps/legacy subdirectory (1,000 names × a 1,000-entry RPATH × 11 was 10 s).
                if case .missing = resolver.directoryState(directory) {
                    tried.appendMisses(grid: grid, positions: position..<(position + subdirectories.count))
                    position += subdirectories.count
                    continue
                }
                for sub in subdirectories {
                    defer { position += 1 }
                    let base = sub.isEmpty ? directory : LoaderPath.join(directory, sub)
                    let path = LoaderPath.join(base, name)
                    switch resolver.searchProbe(path) {
                    case .object(let info):
                        return .found(path: path, info: info, rule: rule, subdirectory: sub, refused: tried.refused)
                    case .rejected(.missing):
                        tried.appendMiss(grid: grid, at: position)
                    case .rejected(let rejection):
                        tried.append(grid: grid, at: position, rejection: rejection)
                        if rejection.stopsSearch {
                            return .notFound(candidates: tried, error: "\(path): \(rejection)")
                        }
                    }
                }
            }
            return nil
        }
        let subdirectories = resolver.searchSubdirectoriesForPaths
        let loaderObject = objects[loader]
        if loaderObject.info.dynamic.runpath == nil {
            // The RPATH of the loader, of its loader, and so on up to the program (only those that count).
            var current = nearestRPath[loader]
            while let index = current, let rpath = effectiveRPath(index) {
                if let result = tryDirectories(rpathList(index, rpath), rule: .rpath(of: objects[index].path),
                                               subdirectories: subdirectories) {
                    return result
                }
                current = objects[index].loader.flatMap { nearestRPath[$0] }
            }
            if !chainReachesMain[loader], let rpath = effectiveRPath(0) {
                if let result = tryDirectories(rpathList(0, rpath),
                                               rule: .rpath(of: objects[0].path), subdirectories: subdirectories) {
                    return result
                }
            }
        }
        if let libraryPath = environment.libraryPath {
            // _dl_init_paths expands LD_LIBRARY_PATH with the main program's origin.
            if expandedLibraryPath == nil { expandedLibraryPath = pathList(libraryPath, origin: origins[0], separators: ":;") }
            if let result = tryDirectories(expandedLibraryPath ?? [],
                                           rule: .ldLibraryPath, subdirectories: subdirectories) {
                return result
            }
        }
        if let runpath = loaderObject.info.dynamic.runpath {
            if let result = tryDirectories(runpathList(loader, runpath),
                                           rule: .runpath(of: loaderObject.path), subdirectories: subdirectories) {
                return result
            }
        }
        let noDefaults = loaderObject.info.dynamic.flags1.contains(.noDefaultLibraries)
        if !noDefaults, let cache = environment.cache,
           let entry = cache.lookup(name, supportedHWCaps: environment.hwcapsSubdirectories, isaLevelMask: environment.isaLevelMask) {
            switch resolver.probe(entry.path) {
            case .object(let info):
                return .found(path: entry.path, info: info, rule: .ldSoCache, subdirectory: "", refused: tried.refused)
            case .rejected(let rejection):
                tried.append(Candidate(path: entry.path, rule: .ldSoCache, rejection: rejection))
                if rejection.stopsSearch { return .notFound(candidates: tried, error: "\(entry.path): \(rejection)") }
            }
        }
        if !noDefaults {
            if let result = tryDirectories(environment.defaultDirectories, rule: .defaultPath, subdirectories: subdirectories) {
                return result
            }
        }
        if failure == nil, let other = tried.refused.first(where: { if case .wrongClass = $0.rejection { return true } else { return false } }) {
            failure = "\(other.path): \(other.rejection)"
        }
        return .notFound(candidates: tried, error: failure)
    }

    /// Object `index`'s RPATH as a directory list, expanded once per object (every need searches it).
    mutating func rpathList(_ index: Int, _ rpath: String) -> [String] {
        if let known = expandedRPaths[index] { return known }
        let list = pathList(rpath, origin: origins[index], separators: ":")
        expandedRPaths[index] = list
        return list
    }

    /// Object `index`'s RUNPATH as a directory list, expanded once per object.
    mutating func runpathList(_ index: Int, _ runpath: String) -> [String] {
        if let known = expandedRunPaths[index] { return known }
        let list = pathList(runpath, origin: origins[index], separators: ":")
        expandedRunPaths[index] = list
        return list
    }

    /// DT_RPATH counts only where the object has no DT_RUNPATH (get-dynamic-info.h drops it then).
    func effectiveRPath(_ index: Int) -> String? {
        let dynamic = objects[index].info.dynamic
        return dynamic.runpath == nil ? dynamic.rpath : nil
    }

    /// A search path split and expanded as `fillin_rpath` does: an empty element is the current directory.
    func pathList(_ text: String, origin: String, separators: String) -> [String] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { separators.contains($0) }).map { element in
            let expanded = expand(String(element), origin: origin)
            return LoaderPath.absolute(expanded.isEmpty ? "." : expanded, in: environment.workingDirectory)
        }
    }

    /// `$ORIGIN`, `$LIB`, `$PLATFORM` in both spellings (`_dl_dst_substitute`); an unknown `$X` stays as written.
    func expand(_ text: String, origin: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "$")) else { return text }
        let tokens = [("ORIGIN", origin), ("LIB", environment.libString), ("PLATFORM", environment.platform)]
        var result = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            var replaced = false
            for (token, value) in tokens {
                if after.hasPrefix("{\(token)}") {
                    result += value
                    rest = after.dropFirst(token.count + 2)
                    replaced = true
                    break
                }
                if after.hasPrefix(token) {
                    let next = after.dropFirst(token.count).first
                    if next == nil || next == "/" {
                        result += value
                        rest = after.dropFirst(token.count)
                        replaced = true
                        break
                    }
                }
            }
            if !replaced {
                result += "$"
                rest = after
            }
        }
        return result + rest
    }
}

extension DependencyResolver {
    var searchSubdirectoriesForPaths: [String] { subdirectories }

    /// Where a need that was not found was looked for, in the loader's order: each directory once (with
    /// how many subdirectories were tried under it), and the cache where it was consulted (before the
    /// default directories, unless the needing object has DF_1_NODEFLIB).
    public func searchSteps(for need: Dependency, in graph: DependencyGraph) -> [SearchStep] {
        guard case .notFound(let candidates, _) = need.outcome else { return [] }
        let needer = graph.objects.indices.contains(need.needer) ? graph.objects[need.needer] : nil
        let consultsCache = environment.cache != nil && !(needer?.info.dynamic.flags1.contains(.noDefaultLibraries) ?? true)
            && !need.name.contains("/")
        var steps: [SearchStep] = []
        var cacheShown = false
        func showCache() {
            guard consultsCache, !cacheShown else { return }
            cacheShown = true
            steps.append(SearchStep(place: .cacheWithoutEntry, rule: .ldSoCache))
        }
        candidates.forEachTried { directory, rule, explicit in
            if rule == .defaultPath { showCache() }
            if rule == .ldSoCache, let explicit {
                cacheShown = true
                steps.append(SearchStep(place: .file(explicit.path), rule: .ldSoCache))
                return
            }
            if directory.isEmpty, let explicit {
                steps.append(SearchStep(place: .file(explicit.path), rule: rule))
                return
            }
            if let last = steps.last, case .directory(let previous, let count) = last.place,
               previous == directory, last.rule == rule {
                steps[steps.count - 1].place = .directory(directory, subdirectories: count + 1)
            } else {
                steps.append(SearchStep(place: .directory(directory, subdirectories: 0), rule: rule))
            }
        }
        // A search that never reached the default directories (it stopped at a bad file) shows no cache.
        if candidates.last?.rejection.stopsSearch != true { showCache() }
        return steps
    }
}
