import ELF
import Linker

/// A static `ldd -r`: every strong undefined symbol of every object in the load order must be defined by
/// some object of the global scope (the load order itself), honouring symbol versions: the Linker's
/// `SymbolScope` lookup, as `deps -r` and `deps -u` use it.
public enum SymbolCheck {
    /// `tables[i]` belongs to `objects[i]`. References whose version is already reported missing are left
    /// to that version problem, and objects in `skipped` (paths) to their not-found problem, as the loader
    /// stops there first.
    public static func problems(file: String, objects: [LoadedObject], tables: [SymbolTable],
                                missingVersions: Set<String>, skipping skipped: Set<String> = []) -> [Problem] {
        precondition(objects.count == tables.count, "one symbol table per loaded object")
        var result: [Problem] = []
        let scope = SymbolScope(tables: tables)
        for (index, object) in objects.enumerated() where !skipped.contains(object.path) {
            for reference in tables[index].strongReferences {
                if let version = reference.version, missingVersions.contains("\(object.path)\u{0}\(version)") {
                    continue
                }
                if scope.definer(of: reference) != nil { continue }
                let versionText = reference.version.map { ", version \($0)" } ?? ""
                let subject = reference.name + (reference.version.map { "@\($0)" } ?? "")
                result.append(Problem(
                    kind: .undefinedSymbol, file: file, neededBy: object.path, subject: subject,
                    detail: "\(object.path): undefined symbol: \(reference.name)\(versionText)"))
            }
        }
        return result
    }
}

