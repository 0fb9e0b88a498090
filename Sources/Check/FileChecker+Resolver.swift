import ELF
import Linker

extension FileChecker {
    struct ResolveFailure: Error {
        var reason: String
    }

    /// The load order of `found` as the Linker module's resolver computes it inside the root, turned into
    /// the checks' terms. Everything about search order lives in the resolver; this only translates.
    func resolve(_ found: FoundFile) -> Result<ResolvedLoad, ResolveFailure> {
        let graph: DependencyGraph
        do {
            graph = try context.resolver.resolve(found.path)
        } catch {
            return .failure(ResolveFailure(reason: error.reason))
        }
        var load = ResolvedLoad()
        let needsByNeeder = graph.dependenciesByNeeder
        load.objects = graph.objects.indices.map { index in
            let object = graph.objects[index]
            var dependencies: [String: Int] = [:]
            for dependency in needsByNeeder[index] {
                if let target = dependency.target, dependencies[dependency.name] == nil {
                    dependencies[dependency.name] = target
                }
            }
            var names: Set<String> = [object.path]
            if let soname = object.info.dynamic.soname { names.insert(soname) }
            if graph.names.indices.contains(index) { names.formUnion(graph.names[index]) }
            return LoadedObject(path: object.path, hostPath: object.info.hostPath, soname: object.info.dynamic.soname,
                                versionNeeds: object.info.versionNeeds,
                                versionDefinitions: object.info.versionDefinitions, dependencies: dependencies,
                                names: names)
        }
        load.infos = graph.objects.map(\.info)
        for dependency in graph.dependencies {
            if let target = dependency.target {
                // The loader skips another machine's or class's file silently and goes on searching; the
                // image still ships a library that wins the search on a path someone will debug.
                let neededBy = graph.objects[dependency.needer].path
                for candidate in dependency.refused {
                    switch candidate.rejection {
                    case .wrongClass, .wrongMachine:
                        load.shadowed.append(ResolvedLoad.Shadow(
                            neededBy: neededBy, rejectedPath: candidate.path,
                            detail: "\(candidate.path) (\(candidate.rejection), \(candidate.rule)) shadows "
                                + "\(graph.objects[target].path), which is loaded instead for \(dependency.name) (needed by \(neededBy))"))
                    default:
                        break
                    }
                }
                continue
            }
            guard case .notFound(let candidates, let error) = dependency.outcome else { continue }
            let neededBy = graph.objects.indices.contains(dependency.needer)
                ? graph.objects[dependency.needer].path : found.path
            load.notFound.append(ResolvedLoad.Missing(
                neededBy: neededBy, name: dependency.name,
                detail: Self.notFoundDetail(dependency.name, neededBy: neededBy, candidates: candidates, error: error,
                                            declaredInterpreter: graph.interpreter != nil,
                                            hasCache: context.resolver.environment.cache != nil)))
        }
        return .success(load)
    }

    /// The loader's message, then what was tried: the rules searched, and every candidate that existed
    /// but was refused (another machine, another class, not ELF), since that is what a user must fix.
    static func notFoundDetail(_ name: String, neededBy: String, candidates: SearchTrail, error: String?,
                               declaredInterpreter: Bool, hasCache: Bool) -> String {
        if candidates.first?.rule == .interpreter {
            let why = candidates.first.map { $0.rejection == .missing ? "not found" : $0.rejection.description } ?? "not found"
            // A library has no PT_INTERP; whoever loads it brings the loader, which must still be in the root.
            return declaredInterpreter
                ? "program interpreter \(name) \(why) (PT_INTERP of \(neededBy))"
                : "default interpreter \(name) \(why) (nothing in the root can load \(neededBy))"
        }
        var text = "\(name): \(error ?? "cannot open shared object file: No such file or directory") (needed by \(neededBy))"
        var rules: [String] = []
        for searched in candidates.rules {
            let rule = searched.description
            // A cache lookup that finds no entry leaves no candidate; it is consulted just before the
            // default directories, and skipped with them under DF_1_NODEFLIB.
            if searched == .defaultPath, hasCache, !rules.contains(SearchRule.ldSoCache.description) {
                rules.append(SearchRule.ldSoCache.description)
            }
            if !rules.contains(rule) { rules.append(rule) }
        }
        let refused = candidates.refused
        if !refused.isEmpty {
            text += "; refused " + refused.map { "\($0.path) (\($0.rejection))" }.joined(separator: ", ")
        }
        text += "; searched " + (rules.isEmpty ? "nothing" : rules.joined(separator: ", "))
        return text
    }
}
