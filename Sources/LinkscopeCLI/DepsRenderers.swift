import Foundation
import Linker
import Prototypes

/// Terminal styling for the tree: colour only on a terminal and never with NO_COLOR set.
public struct DepsStyle: Sendable {
    public var colour: Bool
    public init(colour: Bool) { self.colour = colour }

    static func forStandardOutput() -> DepsStyle {
        let noColor = ProcessInfo.processInfo.environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        return DepsStyle(colour: isatty(STDOUT_FILENO) == 1 && !noColor)
    }

    func dim(_ text: String) -> String { colour ? "\u{1b}[2m\(text)\u{1b}[0m" : text }
    func missing(_ text: String) -> String { colour ? "\u{1b}[1;31m\(text)\u{1b}[0m" : text }
    func bold(_ text: String) -> String { colour ? "\u{1b}[1m\(text)\u{1b}[0m" : text }
}

/// libtree-style tree: each need with the path it resolved to and why, each object's subtree shown once.
public struct DepsTreeRenderer {
    public var style: DepsStyle
    /// `-v`: under a missing need, every directory searched, with the rule that contributed it.
    public var showsSearches: Bool
    public init(style: DepsStyle, showsSearches: Bool = false) {
        self.style = style
        self.showsSearches = showsSearches
    }

    public func render(_ verdict: DepsVerdict) -> String {
        let graph = verdict.graph
        var lines = [style.bold(Self.printable(graph.file))]
        if graph.isStatic {
            lines.append("    " + style.dim("statically linked: nothing is loaded"))
            return lines.joined(separator: "\n") + "\n"
        }
        // Each object's needs, in order, indexed once: the walk visits every object.
        var needsByNeeder: [Int: [Int]] = [:]
        for (position, need) in graph.dependencies.enumerated() { needsByNeeder[need.needer, default: []].append(position) }
        // And the version problems by need (a filter of all problems per need was quadratic).
        var problemsByNeed: [VersionKey: [VersionProblem]] = [:]
        for problem in verdict.versionProblems {
            problemsByNeed[VersionKey(needer: problem.needer, provider: problem.provider, file: problem.file), default: []].append(problem)
        }
        var expanded: Set<Int> = [0]
        var reportedMissing: Set<String> = []
        // Depth first with a stack of our own, not recursion: a chain of 20,000 libraries is 20,000 levels.
        // Past `maximumDrawnDepth` the prefix stops growing and the line says its depth, so the text stays
        // linear in the number of needs (a full prefix at every level is quadratic).
        var stack = [(index: 0, prefix: "", position: 0, depth: 1)]
        while let frame = stack.last {
            let needs = needsByNeeder[frame.index] ?? []
            guard frame.position < needs.count else {
                stack.removeLast()
                continue
            }
            stack[stack.count - 1].position += 1
            let (index, prefix, position, depth) = frame
            let dependencyIndex = needs[position]
            let need = graph.dependencies[dependencyIndex]
            let last = position == needs.count - 1
            let deep = depth > Self.maximumDrawnDepth ? style.dim("[depth \(depth)] ") : ""
            let branch = prefix + (last ? "└── " : "├── ") + deep
            let childPrefix = depth >= Self.maximumDrawnDepth ? prefix : prefix + (last ? "    " : "│   ")
            let detailPrefix = prefix + (last ? "    " : "│   ")
            switch need.outcome {
            case .found(let target, let rule):
                let object = graph.objects[target]
                let shownName = need.name == object.path ? object.path : "\(need.name) => \(object.path)"
                let sub = object.subdirectory.isEmpty ? "" : ", \(object.subdirectory)"
                // A subtree is drawn once, under the need that mapped the object (l_loader), or
                // at its first mention when nothing in this tree mapped it (preloads, interpreter).
                let owns = object.loader == index || (object.loader == nil && !expanded.contains(target))
                let seen = expanded.contains(target) || !owns
                let hasChildren = !(needsByNeeder[target] ?? []).isEmpty
                // "…": this object's own needs are drawn once, under the need that loaded it.
                let mark = seen && hasChildren ? style.dim(" …") : ""
                // What the loader's version check says of this need (dl-version.c).
                let versionNotes = versionNotes(problemsByNeed[VersionKey(needer: index, provider: target, file: need.name)] ?? [],
                                                provider: object)
                if case .alreadyLoaded = rule {
                    lines.append(branch + Self.printable(need.name) + " " + style.dim("[already loaded]") + mark + versionNotes)
                } else {
                    lines.append(branch + Self.printable(shownName) + " " + style.dim("[\(Self.printable(rule.description))\(sub)]") + mark + versionNotes)
                }
                for candidate in need.refused {
                    lines.append(detailPrefix + style.dim("skipped \(Self.printable(candidate.path)): \(candidate.rejection)"))
                }
                if !seen {
                    expanded.insert(target)
                    stack.append((index: target, prefix: childPrefix, position: 0, depth: depth + 1))
                }
            case .notFound(let candidates, let error):
                lines.append(branch + style.missing("\(Self.printable(need.name)) not found"))
                guard reportedMissing.insert(need.name).inserted else { continue }
                for candidate in candidates.refused {
                    lines.append(detailPrefix + style.dim("rejected \(Self.printable(candidate.path)): \(candidate.rejection) [\(Self.printable(candidate.rule.description))]"))
                }
                if let error, !candidates.refused.contains(where: { error.hasSuffix(": \($0.rejection)") }) {
                    lines.append(detailPrefix + style.dim(Self.printable(error)))
                }
                if showsSearches, verdict.searches.indices.contains(dependencyIndex) {
                    for step in verdict.searches[dependencyIndex] {
                        lines.append(detailPrefix + style.dim(Self.printable(Self.describe(step))))
                    }
                }
            }
        }
        // Version needs naming a file that is no direct need of the needer (find_needed found it elsewhere).
        for problem in verdict.versionProblems
        where !graph.dependencies(of: problem.needer).contains(where: { $0.name == problem.file && $0.target == problem.provider }) {
            let needer = problem.needer == 0 ? graph.file : graph.objects[problem.needer].path
            lines.append("\(needer): \(problem.file) => \(graph.objects[problem.provider].path)"
                         + versionNotes([problem], provider: graph.objects[problem.provider]))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Levels drawn with a full prefix; deeper lines keep the prefix of this level and name their depth.
    static let maximumDrawnDepth = 64

    private struct VersionKey: Hashable {
        var needer: Int
        var provider: Int
        var file: String
    }

    /// A name from a file or the command line as it may reach a terminal: control characters (ESC, newline,
    /// DEL, C1) as `\xHH`, a backslash doubled, so a file named `\e[31m` or holding a newline cannot
    /// colour or forge lines.
    static func printable(_ text: String) -> String { TerminalText.escaped(text) }

    /// `searched DIR (+N subdirectories) [rule]`, as LD_DEBUG=libs lists the search.
    static func describe(_ step: SearchStep) -> String {
        switch step.place {
        case .directory(let directory, let count):
            let subdirectories = count == 0 ? "" : " (and \(count) glibc-hwcaps/legacy subdirectories first)"
            return "searched \(directory)\(subdirectories) [\(step.rule)]"
        case .file(let path): return "tried \(path) [\(step.rule)]"
        case .cacheWithoutEntry: return "searched ld.so.cache: no entry [ld.so.cache]"
        }
    }

    /// ` version LIB_2.0 not found (defines LIB_1.0)`: each missing need, and what the provider has instead;
    /// a provider without version definitions once, with the versions asked of it.
    func versionNotes(_ problems: [VersionProblem], provider: MappedObject) -> String {
        var notes: [String] = []
        var unversioned: [String] = []
        for problem in problems {
            let name = problem.failure.version.name
            switch problem.failure.kind {
            case .missing:
                notes.append(style.missing("version \(name) not found") + style.dim(" (\(Self.definedSummary(provider, like: name)))"))
            case .missingWeak:
                notes.append(style.dim("weak version \(name) not found (\(Self.definedSummary(provider, like: name)))"))
            case .noVersionInformation:
                unversioned.append(name)
            }
        }
        if !unversioned.isEmpty {
            notes.append(style.dim("no version information available (needs \(unversioned.joined(separator: ", ")))"))
        }
        return notes.map { " " + $0 }.joined()
    }

    /// The versions an object defines in the family of `name` (same prefix up to its first digit): all of
    /// them when few, else the first and the newest.
    static func definedSummary(_ object: MappedObject, like name: String) -> String {
        let all = object.info.versionDefinitions.filter { !$0.isBase }.map(\.name)
        let prefix = String(name.prefix { !$0.isNumber })
        let family = prefix.isEmpty ? all : all.filter { $0.hasPrefix(prefix) }
        let shown = family.isEmpty ? all : family
        if shown.isEmpty { return "defines no versions" }
        if shown.count <= 3 { return "defines " + shown.joined(separator: ", ") }
        return "defines \(shown[0]) … \(shown[shown.count - 1]), \(shown.count) versions"
    }
}

/// glibc `ldd` lines without load addresses.
public enum DepsLddRenderer {
    /// `header`: the `FILE:` line ldd prints before each block when given several files.
    public static func render(_ verdict: DepsVerdict, header: String?, verbose: Bool) -> String {
        let graph = verdict.graph
        var out = header.map { "\($0):\n" } ?? ""
        if graph.isStatic { return out + "\tnot a dynamic executable\n" }
        // What ld.so says in trace mode, in its order: version messages before the list, undefined symbols
        // after it, the version listing last (ldd shows them all on its standard output).
        out += loaderMessages(verdict)
        // ldd lists rtld's own map last; it is not a need of the program to the loader.
        let interpreterIndex = graph.objects.firstIndex { $0.rule == .interpreter }
        var printed: Set<Int> = [0]
        if let interpreterIndex { printed.insert(interpreterIndex) }
        var missing: Set<String> = []
        for need in graph.dependencies {
            switch need.outcome {
            case .found(let target, _):
                guard printed.insert(target).inserted else { continue }
                let object = graph.objects[target]
                out += object.name == object.path ? "\t\(object.path)\n" : "\t\(object.name) => \(object.path)\n"
            case .notFound:
                // The interpreter is the kernel's business; ldd does not list it as a need.
                if need.needer == 0, need.name == graph.interpreter { continue }
                guard missing.insert(need.name).inserted else { continue }
                out += "\t\(need.name) => not found\n"
            }
        }
        // rtld keeps its own map in the list only when some object names it (rtld.c drops it otherwise).
        if let interpreterIndex, graph.dependencies.contains(where: { $0.target == interpreterIndex && !$0.isProgramInterpreter(of: graph) }) {
            out += "\t\(graph.objects[interpreterIndex].path)\n"
        }
        out += undefinedLines(verdict)
        if verbose { out += versionInformation(graph) }
        return out
    }

    /// The lines ld.so writes to stderr in trace mode about versions (`print_missing_version`):
    /// `FILE: PROVIDER: version `X' not found (required by NEEDER)`, the main program named as given.
    public static func loaderMessages(_ verdict: DepsVerdict) -> String {
        let graph = verdict.graph
        return verdict.versionProblems.map { problem in
            let needer = problem.needer == 0 ? graph.file : graph.objects[problem.needer].path
            return "\(graph.file): \(graph.objects[problem.provider].path): \(problem.failure.message(requiredBy: needer))\n"
        }.joined()
    }

    /// `ldd -r`/`-d`'s lines: `undefined symbol: NAME, version V\t(OBJECT)`, the main program as given.
    public static func undefinedLines(_ verdict: DepsVerdict) -> String {
        verdict.undefined.map { symbol in
            "\(symbol.message)\t(\(symbol.object == 0 ? verdict.graph.file : verdict.graph.objects[symbol.object].path))\n"
        }.joined()
    }

    /// `ldd -v`'s "Version information:" block: per object, each needed version and the file giving it.
    /// rtld.c's listing: the provider is the last object of the main search list answering to the file
    /// (its `find_needed`), and a version it does not define (`match_version`, by name) is `not found`.
    public static func versionInformation(_ graph: DependencyGraph) -> String {
        var out = "\n\tVersion information:\n"
        let needsByNeeder = graph.dependenciesByNeeder
        for (index, object) in graph.objects.enumerated() {
            guard !object.info.versionNeeds.isEmpty else { continue }
            out += "\t\(index == 0 ? graph.file : object.path):\n"
            let needs = needsByNeeder[index]
            for need in object.info.versionNeeds {
                let provider = graph.objects.indices.last { graph.names.indices.contains($0) && LoaderNames.matches(need.file, graph.names[$0]) }
                    ?? needs.first { $0.name == need.file }?.target
                for version in need.versions {
                    var where_ = "not found"
                    if let provider, VersionRules.listsVersion(version.name, in: graph.objects[provider].info.versionDefinitions) {
                        where_ = graph.objects[provider].path
                    }
                    out += "\t\t\(need.file) (\(version.name))\(version.isWeak ? " [WEAK]" : "") => \(where_)\n"
                }
            }
        }
        return out
    }
}

/// JSON, one document for all files. Schema (stable; documented in the README):
/// {"files":[{"file","error","interpreter","static","objects":[{"index","name","path","real_path","soname",
///   "rule","reason","parent","depth"}],"needs":[{"needer","name","object","rule","reason","error",
///   "rejected":[{"path","rule","reason"}]}]}]}
public enum DepsJSONRenderer {
    public static func render(_ results: [DepsRun.FileResult]) -> String {
        var files: [String] = []
        for result in results {
            switch result.outcome {
            case .failure(let error):
                files.append(object([("file", string(result.file)), ("error", string(error.reason))]))
            case .success(let verdict):
                let graph = verdict.graph
                let objects = graph.objects.enumerated().map { index, item in
                    object([
                        ("index", "\(index)"), ("name", string(item.name)), ("path", string(item.path)),
                        ("real_path", string(item.info.realPath)), ("soname", item.info.dynamic.soname.map(string) ?? "null"),
                        ("rule", string(item.rule.kind)), ("reason", string(item.rule.description)),
                        ("parent", item.loader.map { "\($0)" } ?? "null"), ("depth", "\(item.depth)"),
                    ])
                }
                let needs = graph.dependencies.enumerated().map { position, need -> String in
                    var fields: [(String, String)] = [("needer", "\(need.needer)"), ("name", string(need.name))]
                    switch need.outcome {
                    case .found(let target, let rule):
                        let skipped = need.refused.map {
                            object([("path", string($0.path)), ("rule", string($0.rule.kind)), ("reason", string($0.rejection.description))])
                        }
                        fields += [("object", "\(target)"), ("path", string(graph.objects[target].path)),
                                   ("rule", string(rule.kind)), ("reason", string(rule.description)),
                                   ("rejected", "[" + skipped.joined(separator: ",") + "]")]
                    case .notFound(let candidates, let error):
                        let rejected = candidates.refused.map {
                            object([("path", string($0.path)), ("rule", string($0.rule.kind)), ("reason", string($0.rejection.description))])
                        }
                        let tried = candidates.map {
                            object([("path", string($0.path)), ("rule", string($0.rule.kind)), ("reason", string($0.rejection.description))])
                        }
                        let searched = (verdict.searches.indices.contains(position) ? verdict.searches[position] : []).map(searchObject)
                        fields += [("object", "null"), ("path", "null"), ("rule", string("not_found")),
                                   ("error", error.map(string) ?? "null"), ("tried", "[" + tried.joined(separator: ",") + "]"),
                                   ("searched", "[" + searched.joined(separator: ",") + "]"),
                                   ("rejected", "[" + rejected.joined(separator: ",") + "]")]
                    }
                    return object(fields)
                }
                let versions = verdict.versionProblems.map { problem in
                    object([
                        ("needer", "\(problem.needer)"), ("file", string(problem.file)), ("provider", "\(problem.provider)"),
                        ("version", string(problem.failure.version.name)), ("kind", string(kindToken(problem.failure.kind))),
                        ("error", problem.failure.isError ? "true" : "false"),
                        ("message", string("\(graph.objects[problem.provider].path): "
                                           + problem.failure.message(requiredBy: problem.needer == 0 ? graph.file : graph.objects[problem.needer].path))),
                    ])
                }
                let undefined = verdict.undefined.map { symbol in
                    object([("object", "\(symbol.object)"), ("symbol", string(symbol.name)),
                            ("version", symbol.version.map(string) ?? "null"),
                            ("kind", string(symbol.isFunction ? "function" : "data"))])
                }
                files.append(object([
                    ("file", string(result.file)), ("error", "null"), ("interpreter", graph.interpreter.map(string) ?? "null"),
                    ("static", graph.isStatic ? "true" : "false"), ("complete", graph.isComplete ? "true" : "false"),
                    ("loads", graph.isComplete && !verdict.versionProblems.contains { $0.failure.isError } ? "true" : "false"),
                    ("objects", "[" + objects.joined(separator: ",") + "]"), ("needs", "[" + needs.joined(separator: ",") + "]"),
                    ("versions", "[" + versions.joined(separator: ",") + "]"),
                    ("undefined", "[" + undefined.joined(separator: ",") + "]"),
                    ("unused", "[" + verdict.unused.map(string).joined(separator: ",") + "]"),
                    ("requires", DepsRequirementsRenderer.json(verdict)),
                ]))
            }
        }
        return "{\"files\":[" + files.joined(separator: ",\n") + "]}\n"
    }

    /// `{"directory","subdirectories","rule","reason"}`, or `{"file",…}`, or the cache without an entry.
    static func searchObject(_ step: SearchStep) -> String {
        switch step.place {
        case .directory(let directory, let count):
            return object([("directory", string(directory)), ("subdirectories", "\(count)"),
                           ("rule", string(step.rule.kind)), ("reason", string(step.rule.description))])
        case .file(let path):
            return object([("file", string(path)), ("rule", string(step.rule.kind)), ("reason", string(step.rule.description))])
        case .cacheWithoutEntry:
            return object([("cache", "true"), ("rule", string(step.rule.kind)), ("reason", string("no entry"))])
        }
    }

    static func kindToken(_ kind: VersionFailure.Kind) -> String {
        switch kind {
        case .missing: return "missing"
        case .missingWeak: return "weak_missing"
        case .noVersionInformation: return "no_version_information"
        }
    }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    /// The package's one JSON escaper (shared with `trace --json`).
    static func string(_ text: String) -> String { Value.jsonString(text) }
}

/// `--requires`: the versions the file needs per library, then the releases that meet them.
public enum DepsRequirementsRenderer {
    static let glibcFamilies: Set<String> = ["GLIBC"]
    static let libstdcxxFamilies: Set<String> = ["GLIBCXX", "CXXABI"]

    public static func render(_ verdict: DepsVerdict) -> String {
        let file = verdict.scripts.first ?? verdict.graph.file
        guard !verdict.requirements.isEmpty else { return "\nRequirements of \(file): no symbol versions needed\n" }
        var out = "\nRequirements of \(file):\n"
        for library in verdict.requirements {
            let newest = Set(library.highest.map(\.version))
            let parts = library.versions.reversed().map { version -> String in
                guard newest.contains(version), let pin = library.highest.first(where: { $0.version == version }) else { return version.name }
                let shown = pin.symbols.prefix(4).joined(separator: ", ") + (pin.symbols.count > 4 ? ", … (\(pin.symbols.count) symbols)" : "")
                return pin.symbols.isEmpty ? "\(version.name) (newest \(version.family))" : "\(version.name) (newest \(version.family): \(shown))"
            }
            out += "\t\(library.file): " + parts.joined(separator: ", ") + "\n"
        }
        let glibc = Requirements.names(verdict.requirements, families: glibcFamilies)
        let libstdcxx = Requirements.names(verdict.requirements, families: libstdcxxFamilies)
        out += "Releases whose glibc\(libstdcxx.isEmpty ? " defines" : " and libstdc++ define") every version it needs:\n"
        for release in DistributionRelease.table {
            let missing = release.lacks(glibcNeeds: glibc, libstdcxxNeeds: libstdcxx)
            let versions = "glibc \(release.glibcText)" + (libstdcxx.isEmpty ? "" : ", GLIBCXX_3.4.\(release.glibcxx)")
            let name = release.name.padding(toLength: 36, withPad: " ", startingAt: 0)
            out += "\t\(missing.isEmpty ? "yes" : "no ")  \(name) \(versions)" + (missing.isEmpty ? "" : ": lacks " + missing.joined(separator: ", ")) + "\n"
        }
        return out
    }

    /// The JSON section: libraries with their versions, and every release with its verdict and source.
    static func json(_ verdict: DepsVerdict) -> String {
        let string = DepsJSONRenderer.string
        let object = DepsJSONRenderer.object
        let libraries = verdict.requirements.map { library in
            object([
                ("file", string(library.file)),
                ("versions", "[" + library.versions.map { string($0.name) }.joined(separator: ",") + "]"),
                ("newest", "[" + library.highest.map { pin in
                    object([("family", string(pin.version.family)), ("version", string(pin.version.name)),
                            ("symbols", "[" + pin.symbols.map(string).joined(separator: ",") + "]")])
                }.joined(separator: ",") + "]"),
                ("non_numeric", "[" + library.nonNumeric.map { string($0.name) }.joined(separator: ",") + "]"),
            ])
        }
        let glibc = Requirements.names(verdict.requirements, families: glibcFamilies)
        let libstdcxx = Requirements.names(verdict.requirements, families: libstdcxxFamilies)
        let releases = DistributionRelease.table.map { release in
            let missing = release.lacks(glibcNeeds: glibc, libstdcxxNeeds: libstdcxx)
            return object([
                ("distribution", string(release.distribution)), ("release", string(release.release)),
                ("glibc", string(release.glibcText)), ("glibcxx", string("GLIBCXX_3.4.\(release.glibcxx)")),
                ("cxxabi", string("CXXABI_1.3.\(release.cxxabi)")), ("met", missing.isEmpty ? "true" : "false"),
                ("lacks", "[" + missing.map(string).joined(separator: ",") + "]"), ("source", string(release.source)),
            ])
        }
        return object([("libraries", "[" + libraries.joined(separator: ",") + "]"),
                       ("releases", "[" + releases.joined(separator: ",") + "]")])
    }
}

/// A Graphviz digraph: one node per object (missing ones red), edges labelled with the rule.
public enum DepsDotRenderer {
    public static func render(_ results: [DepsRun.FileResult]) -> String {
        var lines = ["digraph deps {", "  rankdir=LR;", "  node [shape=box, fontname=\"monospace\"];"]
        var nodes: Set<String> = []
        func node(_ id: String, label: String, missing: Bool = false) {
            guard nodes.insert(id).inserted else { return }
            lines.append("  \(quote(id)) [label=\(quote(label))\(missing ? ", color=red, fontcolor=red" : "")];")
        }
        var edges: Set<String> = []
        for result in results {
            guard case .success(let verdict) = result.outcome else { continue }
            let graph = verdict.graph
            func id(_ index: Int) -> String { graph.objects[index].info.realPath }
            for (index, object) in graph.objects.enumerated() {
                node(id(index), label: index == 0 ? graph.file : "\(object.info.dynamic.soname ?? object.name)\n\(object.path)")
            }
            for need in graph.dependencies {
                let from = id(need.needer)
                let line: String
                switch need.outcome {
                case .found(let target, let rule):
                    line = "  \(quote(from)) -> \(quote(id(target))) [label=\(quote(rule.description))];"
                case .notFound:
                    let missingID = "missing:" + need.name
                    node(missingID, label: "\(need.name)\nnot found", missing: true)
                    line = "  \(quote(from)) -> \(quote(missingID)) [color=red];"
                }
                if edges.insert(line).inserted { lines.append(line) }
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}

extension Dependency {
    /// The record of PT_INTERP itself (the kernel's business, not a name any object asked for).
    func isProgramInterpreter(of graph: DependencyGraph) -> Bool {
        needer == 0 && rule == .interpreter && name == graph.interpreter
    }
}
