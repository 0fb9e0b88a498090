import Linker

/// `ldd -u`, statically: direct dependencies of the file that none of its own symbol references binds to.
/// glibc marks an object used when a lookup resolves to it, and in this trace mode rtld relocates only the
/// main object; so every undefined dynamic symbol of the file is looked up in the global scope in load
/// order, with the Linker's one lookup rule (`SymbolScope`), as `_dl_lookup_symbol_x` walks it.
public enum DepsUnused {
    public static func unusedDirectDependencies(_ graph: DependencyGraph, resolver: DependencyResolver) -> [String] {
        guard !graph.objects.isEmpty else { return [] }
        let tables = graph.objects.map { resolver.symbolTable(of: $0.info) }
        let scope = SymbolScope(tables: tables)
        var used = Set<Int>()
        let main = tables[0]
        // The program's references are bound through its PLT and GOT: its own undefined (canonical PLT)
        // entries do not answer them.
        for reference in main.strongReferences + main.weakReferences {
            if let definer = scope.definer(of: reference, lookupClass: .plt) { used.insert(definer) }
        }
        // A data object the program defines may be a COPY relocation target: its lookup skips the program
        // itself and binds to the library that really defines it.
        for reference in main.definedData {
            if let definer = scope.definer(of: reference, lookupClass: .copy) { used.insert(definer) }
        }
        var result: [String] = []
        for need in graph.dependencies where need.needer == 0 {
            guard let target = need.target, target != 0, graph.objects[target].rule != .interpreter else { continue }
            if !used.contains(target), !result.contains(graph.objects[target].path) { result.append(graph.objects[target].path) }
        }
        return result
    }
}
