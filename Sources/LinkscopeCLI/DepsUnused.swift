import ELF
import Linker

/// `ldd -u`, statically: direct dependencies of the file that none of its own symbol references binds to.
/// glibc marks an object used when a lookup resolves to it, and in this trace mode rtld relocates only the
/// main object; so we resolve every undefined dynamic symbol of the file against the global scope in load
/// order, as `_dl_lookup_symbol_x` walks it.
public enum DepsUnused {
    struct Definitions {
        /// name -> versions defined (nil: unversioned), with hidden flags.
        var byName: [String: [(version: String?, hidden: Bool)]] = [:]
    }

    public static func unusedDirectDependencies(_ graph: DependencyGraph) -> [String] {
        var definitions: [Definitions] = []
        var references: [[DynamicSymbol]] = []
        var copies: [[DynamicSymbol]] = []
        for object in graph.objects {
            var table = Definitions()
            var undefined: [DynamicSymbol] = []
            var copied: [DynamicSymbol] = []
            if let file = try? ELFFile(path: object.info.hostPath), let symbols = try? file.dynamicSymbols() {
                for symbol in symbols where symbol.index > 0 && !symbol.name.isEmpty {
                    // A data object the program defines may be a COPY relocation target: its lookup skips the
                    // program itself and binds to the library that really defines it.
                    if object.rule == .main, symbol.isDefined, symbol.type == .object, symbol.binding == .global {
                        copied.append(symbol)
                    }
                    if symbol.isDefined {
                        guard [.global, .weak, .unique].contains(symbol.binding), symbol.value != 0 || symbol.type == .tls else { continue }
                        table.byName[symbol.name, default: []].append((symbol.version?.name, symbol.version?.isHidden ?? false))
                    } else {
                        undefined.append(symbol)
                    }
                }
            }
            definitions.append(table)
            references.append(undefined)
            copies.append(copied)
        }
        var used = Set<Int>()
        let lookups = references[0].map { ($0, 0) } + (copies.first ?? []).map { ($0, 1) }
        do {
            for (symbol, firstScopeIndex) in lookups {
                for (index, table) in definitions.enumerated() where index >= firstScopeIndex {
                    guard let candidates = table.byName[symbol.name] else { continue }
                    let wanted = symbol.version?.name
                    let matches = candidates.contains { candidate in
                        if let wanted { return candidate.version == nil || candidate.version == wanted }
                        return !candidate.hidden
                    }
                    if matches { used.insert(index); break }
                }
            }
        }
        var result: [String] = []
        for need in graph.dependencies where need.needer == 0 {
            guard let target = need.target, target != 0, graph.objects[target].rule != .interpreter else { continue }
            if !used.contains(target), !result.contains(graph.objects[target].path) { result.append(graph.objects[target].path) }
        }
        return result
    }
}
