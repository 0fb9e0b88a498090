import ELF

/// Why a need resolved to the object it did: which step of glibc's search order found it.
public indirect enum SearchRule: Hashable, Sendable, CustomStringConvertible {
    /// The file that was asked about.
    case main
    /// PT_INTERP of the main file (or the default interpreter for a shared library); loaded first.
    case interpreter
    /// LD_PRELOAD or /etc/ld.so.preload; `found` is how its name was looked up.
    case preload(found: SearchRule)
    /// The name holds a slash: opened as that path (relative to the working directory).
    case directPath
    /// DT_RPATH of `of` (the needing object or one of the objects that loaded it, by path).
    case rpath(of: String)
    case ldLibraryPath
    /// DT_RUNPATH of the needing object itself.
    case runpath(of: String)
    case ldSoCache
    case defaultPath
    /// A loaded object already answers to this name (its soname, or the name it was loaded under).
    case alreadyLoaded(name: String)

    public var description: String {
        switch self {
        case .main: return "main"
        case .interpreter: return "interpreter"
        case .preload(let found): return found == .directPath ? "preload" : "preload, \(found)"
        case .directPath: return "direct path"
        case .rpath(let of): return "rpath of \(of)"
        case .ldLibraryPath: return "LD_LIBRARY_PATH"
        case .runpath(let of): return "runpath of \(of)"
        case .ldSoCache: return "ld.so.cache"
        case .defaultPath: return "default path"
        case .alreadyLoaded(let name): return "already loaded as \(name)"
        }
    }

    /// A short stable token for JSON (`rpath`, `runpath`, `ld_library_path`…).
    public var kind: String {
        switch self {
        case .main: return "main"
        case .interpreter: return "interpreter"
        case .preload: return "preload"
        case .directPath: return "direct_path"
        case .rpath: return "rpath"
        case .ldLibraryPath: return "ld_library_path"
        case .runpath: return "runpath"
        case .ldSoCache: return "ld_so_cache"
        case .defaultPath: return "default_path"
        case .alreadyLoaded: return "already_loaded"
        }
    }
}

/// Why one candidate file was not taken.
public enum Rejection: Error, Hashable, Sendable, CustomStringConvertible {
    case missing
    /// open(2) failed with EACCES: the loader moves on.
    case permissionDenied
    /// ELF of another class: skipped, the search goes on (glibc reports it only if nothing else is found).
    case wrongClass(ELFClass)
    /// ELF for another machine: skipped, the search goes on.
    case wrongMachine(ELFMachine)
    /// Not loadable and fatal to the search: too short, not ELF, a directory, wrong type. glibc stops
    /// looking and fails the load with this message.
    case fatal(String)

    public var stopsSearch: Bool { if case .fatal = self { return true } else { return false } }

    public var description: String {
        switch self {
        case .missing: return "no such file"
        case .permissionDenied: return "permission denied"
        case .wrongClass(let elfClass):
            // glibc's own words ("wrong ELF class: ELFCLASS32").
            let bits = elfClass == .class32 ? "32" : elfClass == .class64 ? "64" : "\(elfClass.rawValue)"
            return "wrong ELF class: ELFCLASS\(bits)"
        case .wrongMachine(let machine): return "wrong machine: \(machine)"
        case .fatal(let message): return message
        }
    }
}

/// A file the loader tried for a need.
public struct Candidate: Hashable, Sendable {
    /// In-root path as the loader built it (directory + name).
    public var path: String
    public var rule: SearchRule
    public var rejection: Rejection
    /// The search-path directory it came from, before any glibc-hwcaps or legacy subdirectory ("" for a
    /// direct path, the interpreter or a cache entry).
    public var directory: String = ""
}

/// One step of a failed search, as `LD_DEBUG=libs` lists them: a directory of a search path (with the
/// subdirectories tried under it), or the cache.
public struct SearchStep: Hashable, Sendable {
    public enum Place: Hashable, Sendable {
        /// A search-path directory; `subdirectories` of it were tried before it.
        case directory(String, subdirectories: Int)
        /// A file named directly (a NEEDED with a slash, PT_INTERP) or a cache entry's path.
        case file(String)
        /// ld.so.cache was consulted and has no entry for the name.
        case cacheWithoutEntry
    }
    public var place: Place
    public var rule: SearchRule
}

/// The facts of one ELF object the resolver needs, parsed once and cached by real path.
public struct ObjectInfo: Hashable, Sendable {
    /// Canonical in-root path (symlinks followed inside the root).
    public var realPath: String
    public var hostPath: String
    public var header: ELFHeader
    public var interpreter: String?
    public var dynamic: DynamicInfo
    public var versionNeeds: [VersionNeed]
    public var versionDefinitions: [VersionDefinition]
    /// No PT_DYNAMIC: a static program, nothing is loaded for it.
    public var isStatic: Bool
}

/// One object the loader maps, in load order.
public struct MappedObject: Hashable, Sendable {
    /// The name it was first requested by (DT_NEEDED, LD_PRELOAD, PT_INTERP), or the path given for main.
    public var name: String
    /// `l_name`: the in-root path the loader opened it under (not canonicalised: `$ORIGIN` is its directory).
    public var path: String
    public var info: ObjectInfo
    /// How it was found.
    public var rule: SearchRule
    /// Index in `DependencyGraph.objects` of the object whose need loaded it (`l_loader`); nil for main,
    /// the interpreter and preloads of main.
    public var loader: Int?
    /// Breadth-first depth (main 0).
    public var depth: Int
    /// The glibc-hwcaps or legacy subdirectory it was found in, "" when directly in the search directory.
    public var subdirectory: String
}

/// One DT_NEEDED (or preload/interpreter) of one object and what it resolved to.
public struct Dependency: Hashable, Sendable {
    public enum Outcome: Hashable, Sendable {
        /// Index in `objects`; `rule` says how (`.alreadyLoaded` when an earlier object answered the name;
        /// a search rule when the search found a file already mapped under another name).
        case found(object: Int, rule: SearchRule)
        /// Nothing loadable: every candidate tried and why it failed; `error` is the message glibc would stop
        /// with when a fatal candidate ended the search early.
        case notFound(candidates: SearchTrail, error: String?)
    }
    public var needer: Int
    public var name: String
    public var outcome: Outcome
    /// For a need the search found: the files it tried first and skipped though they exist (another
    /// machine or class, permission denied) — a wrong-arch library shadowing the one that loads.
    public var refused: [Candidate] = []

    public var target: Int? { if case .found(let object, _) = outcome { return object } else { return nil } }
    public var rule: SearchRule? { if case .found(_, let rule) = outcome { return rule } else { return nil } }
}

/// What the loader would map for one file: objects in load order (breadth-first, as `_dl_map_object_deps`
/// walks), and every need with how it was resolved.
public struct DependencyGraph: Hashable, Sendable {
    /// The path asked about, as given.
    public var file: String
    /// `objects[0]` is the file itself; the interpreter sits where it was first needed by name (as rtld
    /// places its own map), or last when nothing names it.
    public var objects: [MappedObject]
    /// Needs in the order the loader processed them.
    public var dependencies: [Dependency]
    /// PT_INTERP of the file, or nil (shared library: the default interpreter is assumed).
    public var interpreter: String?
    /// LD_PRELOAD / ld.so.preload entries that could not be loaded: glibc warns and ignores them, so they
    /// are not missing needs.
    public var ignoredPreloads: [Dependency] = []
    /// For each object, the names it answers to (`l_name`, its `l_libname` list and soname), as the
    /// resolver recorded them: `LoaderNames.matches` decides with these.
    public var names: [Set<String>] = []

    public var isStatic: Bool { objects.first?.info.isStatic ?? false }
    public var missing: [Dependency] { dependencies.filter { $0.target == nil } }
    public var isComplete: Bool { missing.isEmpty }

    /// Needs of object `index`, in DT_NEEDED order. A scan of every need: to visit every object's needs,
    /// take `dependenciesByNeeder` once instead.
    public func dependencies(of index: Int) -> [Dependency] { dependencies.filter { $0.needer == index } }

    /// Every object's needs, in DT_NEEDED order, indexed by needer in one pass (`[i]` is object i's).
    public var dependenciesByNeeder: [[Dependency]] {
        var grouped = [[Dependency]](repeating: [], count: objects.count)
        for need in dependencies where grouped.indices.contains(need.needer) { grouped[need.needer].append(need) }
        return grouped
    }
}

/// Why a file cannot be analysed at all (as opposed to a missing dependency, which is a result).
public struct DependencyError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case missing
        case unreadable
        /// ELF of another class or machine than the loader modelled.
        case otherELF
        /// ELF the loader refuses (too short, corrupt, wrong type).
        case unloadable
        case directory
        /// A FIFO, socket or device.
        case notRegular
        /// A `#!` script: the kernel runs `interpreter` (nil when the line names none) with `argument`.
        case script(interpreter: String?, argument: String?)
        /// Not ELF and not a script: text, data.
        case notDynamic
    }
    public var path: String
    public var kind: Kind
    public var reason: String
    public init(path: String, kind: Kind = .unloadable, reason: String) {
        self.path = path
        self.kind = kind
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }

    /// ldd's "not a dynamic executable": a file that is no program at all for the loader.
    public var isNotDynamic: Bool {
        switch kind {
        case .notDynamic, .script: return true
        default: return false
        }
    }
}
