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
    public init(style: DepsStyle) { self.style = style }

    public func render(_ graph: DependencyGraph) -> String {
        var lines = [style.bold(graph.file)]
        if graph.isStatic {
            lines.append("    " + style.dim("statically linked: nothing is loaded"))
            return lines.joined(separator: "\n") + "\n"
        }
        var expanded: Set<Int> = [0]
        var reportedMissing: Set<String> = []
        func walk(_ index: Int, prefix: String) {
            let needs = graph.dependencies(of: index)
            for (position, need) in needs.enumerated() {
                let last = position == needs.count - 1
                let branch = prefix + (last ? "└── " : "├── ")
                let childPrefix = prefix + (last ? "    " : "│   ")
                switch need.outcome {
                case .found(let target, let rule):
                    let object = graph.objects[target]
                    let shownName = need.name == object.path ? object.path : "\(need.name) => \(object.path)"
                    let sub = object.subdirectory.isEmpty ? "" : ", \(object.subdirectory)"
                    // A subtree is drawn once, under the need that mapped the object (l_loader), or
                    // at its first mention when nothing in this tree mapped it (preloads, interpreter).
                    let owns = object.loader == index || (object.loader == nil && !expanded.contains(target))
                    let seen = expanded.contains(target) || !owns
                    let hasChildren = !graph.dependencies(of: target).isEmpty
                    // "…": this object's own needs are drawn once, under the need that loaded it.
                    let mark = seen && hasChildren ? style.dim(" …") : ""
                    if case .alreadyLoaded = rule {
                        lines.append(branch + need.name + " " + style.dim("[already loaded]") + mark)
                    } else {
                        lines.append(branch + shownName + " " + style.dim("[\(rule)\(sub)]") + mark)
                    }
                    for candidate in need.refused {
                        lines.append(childPrefix + style.dim("skipped \(candidate.path): \(candidate.rejection)"))
                    }
                    if !seen {
                        expanded.insert(target)
                        walk(target, prefix: childPrefix)
                    }
                case .notFound(let candidates, let error):
                    lines.append(branch + style.missing("\(need.name) not found"))
                    guard reportedMissing.insert(need.name).inserted else { continue }
                    for candidate in candidates where candidate.rejection != .missing {
                        lines.append(childPrefix + style.dim("rejected \(candidate.path): \(candidate.rejection) [\(candidate.rule)]"))
                    }
                    if let error, !candidates.contains(where: { error.hasSuffix(": \($0.rejection)") && $0.rejection != .missing }) {
                        lines.append(childPrefix + style.dim(error))
                    }
                }
            }
        }
        walk(0, prefix: "")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// glibc `ldd` lines without load addresses.
public enum DepsLddRenderer {
    public static func render(_ graph: DependencyGraph, header: Bool, verbose: Bool) -> String {
        var out = header ? "\(graph.file):\n" : ""
        if graph.isStatic { return out + "\tnot a dynamic executable\n" }
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
        if verbose { out += versionInformation(graph) }
        return out
    }

    /// `ldd -v`'s "Version information:" block: per object, each needed version and the file giving it.
    public static func versionInformation(_ graph: DependencyGraph) -> String {
        var out = "\n\tVersion information:\n"
        var seen: Set<Int> = []
        for (index, object) in graph.objects.enumerated() where seen.insert(index).inserted {
            guard !object.info.versionNeeds.isEmpty else { continue }
            out += "\t\(index == 0 ? graph.file : object.path):\n"
            let needs = graph.dependencies(of: index)
            for need in object.info.versionNeeds {
                let provider = needs.first { $0.name == need.file }?.target
                    ?? graph.objects.firstIndex { $0.name == need.file || $0.info.dynamic.soname == need.file }
                let where_ = provider.map { graph.objects[$0].path } ?? "not found"
                for version in need.versions {
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
            case .success(let graph):
                let objects = graph.objects.enumerated().map { index, item in
                    object([
                        ("index", "\(index)"), ("name", string(item.name)), ("path", string(item.path)),
                        ("real_path", string(item.info.realPath)), ("soname", item.info.dynamic.soname.map(string) ?? "null"),
                        ("rule", string(item.rule.kind)), ("reason", string(item.rule.description)),
                        ("parent", item.loader.map { "\($0)" } ?? "null"), ("depth", "\(item.depth)"),
                    ])
                }
                let needs = graph.dependencies.map { need -> String in
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
                        let rejected = candidates.filter { $0.rejection != .missing }.map {
                            object([("path", string($0.path)), ("rule", string($0.rule.kind)), ("reason", string($0.rejection.description))])
                        }
                        fields += [("object", "null"), ("path", "null"), ("rule", string("not_found")),
                                   ("error", error.map(string) ?? "null"), ("tried", "\(candidates.count)"),
                                   ("rejected", "[" + rejected.joined(separator: ",") + "]")]
                    }
                    return object(fields)
                }
                files.append(object([
                    ("file", string(result.file)), ("error", "null"), ("interpreter", graph.interpreter.map(string) ?? "null"),
                    ("static", graph.isStatic ? "true" : "false"), ("complete", graph.isComplete ? "true" : "false"),
                    ("objects", "[" + objects.joined(separator: ",") + "]"), ("needs", "[" + needs.joined(separator: ",") + "]"),
                ]))
            }
        }
        return "{\"files\":[" + files.joined(separator: ",\n") + "]}\n"
    }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    /// The package's one JSON escaper (shared with `trace --json`).
    static func string(_ text: String) -> String { Value.jsonString(text) }
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
            guard case .success(let graph) = result.outcome else { continue }
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
