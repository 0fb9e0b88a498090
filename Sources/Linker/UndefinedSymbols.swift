import ELF

/// A relocation whose symbol no object of the global scope defines: what `ldd -r`/`-d` print
/// (`undefined symbol: NAME, version V\t(OBJECT)`), found by reading files only.
public struct UndefinedSymbol: Hashable, Sendable {
    /// Index in `DependencyGraph.objects` of the object whose relocation references it.
    public var object: Int
    public var name: String
    public var version: String?
    /// STT_FUNC/STT_GNU_IFUNC; else data (or untyped).
    public var isFunction: Bool

    /// The loader's words (dl-lookup.c), without the object.
    public var message: String {
        "undefined symbol: \(name)" + (version.map { ", version \($0)" } ?? "")
    }
}

/// Which relocations a static `ldd -d`/`-r` performs.
public enum RelocationMode: Hashable, Sendable {
    /// `ldd -d` (LD_WARN): the data relocations; PLT slots stay lazy unless the object binds now.
    case data
    /// `ldd -r` (LD_WARN + LD_BIND_NOW): every relocation, functions too.
    case all
}

extension DependencyResolver {
    /// rtld's trace-mode relocation (`relocate_doit` over `l_initfini`, last first, rtld's own map and
    /// objects that were not found skipped), statically: every symbol relocation of every mapped object
    /// looked up in the global scope with its version, each strong failure reported. Consecutive relocations
    /// of one symbol and lookup class are looked up once, as the loader's one-entry lookup cache does.
    public func undefinedSymbols(in graph: DependencyGraph, mode: RelocationMode) -> [UndefinedSymbol] {
        guard !graph.isStatic else { return [] }
        let tables = graph.objects.map { symbolTable(of: $0.info) }
        let scope = SymbolScope(tables: tables, executables: Self.executables(in: graph))
        var result: [UndefinedSymbol] = []
        for index in graph.relocationOrder {
            let object = graph.objects[index]
            if object.rule == .interpreter { continue }
            let bindsNow = mode == .all || object.info.dynamic.bindsNow
            var cache: (symbol: Int, lookupClass: SymbolTable.LookupClass)?
            for relocation in tables[index].symbolRelocations {
                if relocation.isLazy, !bindsNow { continue }
                if let cache, cache.symbol == relocation.symbolIndex, cache.lookupClass == relocation.lookupClass { continue }
                cache = (relocation.symbolIndex, relocation.lookupClass)
                if scope.definer(of: relocation.reference, lookupClass: relocation.lookupClass) != nil { continue }
                if relocation.isWeak { continue }
                result.append(UndefinedSymbol(object: index, name: relocation.reference.name,
                                              version: relocation.reference.version, isFunction: relocation.isFunction))
            }
        }
        return result
    }

    /// The objects `l_type == lt_executable` marks: the program (a shared library given as FILE is not one).
    static func executables(in graph: DependencyGraph) -> Set<Int> {
        guard let main = graph.objects.first else { return [] }
        let info = main.info
        let isProgram = info.header.type == .executable || info.interpreter != nil
        return isProgram ? [0] : []
    }
}

extension DependencyGraph {
    /// The order rtld relocates in: `l_initfini` (each object before the objects it needs, as
    /// `_dl_sort_maps` orders them) walked from the end, so the deepest dependencies come first.
    public var relocationOrder: [Int] {
        // Depth-first post-order over DT_NEEDED edges from the file: an object after everything it needs.
        // Iterative, so a long chain of libraries cannot exhaust a worker thread's stack.
        var needs: [Int: [Int]] = [:]
        for need in dependencies { if let target = need.target { needs[need.needer, default: []].append(target) } }
        var visited = Set<Int>()
        var order: [Int] = []
        for root in objects.indices where !visited.contains(root) {
            visited.insert(root)
            var stack: [(index: Int, next: Int)] = [(root, 0)]
            while let top = stack.last {
                let children = needs[top.index] ?? []
                if top.next < children.count {
                    stack[stack.count - 1].next += 1
                    let child = children[top.next]
                    if visited.insert(child).inserted { stack.append((child, 0)) }
                } else {
                    order.append(top.index)
                    stack.removeLast()
                }
            }
        }
        return order
    }
}
