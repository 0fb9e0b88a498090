import ELF
import Foundation

/// What every worker shares: the root, the options, and the caches of per-object facts.
final class CheckContext: Sendable {
    let root: RootFilesystem
    let symbols: Bool
    let symbolTables = SharedCache<SymbolTable?>()

    init(root: RootFilesystem, symbols: Bool) {
        self.root = root
        self.symbols = symbols
    }

    func makeFileChecker() -> FileChecker { FileChecker(context: self) }
}

/// Checks one file at a time on one thread. Not Sendable: it owns a resolver with its parse cache.
final class FileChecker {
    let context: CheckContext
    /// The machine and class this loader serves: the running one (linkscope is built for x86_64).
    static let hostMachine = ELFMachine.x86_64
    static let hostClass = ELFClass.class64

    init(context: CheckContext) {
        self.context = context
    }

    func check(_ found: FoundFile) -> FileVerdict? {
        do {
            // Most files of a root are not ELF: four bytes decide, before libelf maps anything.
            let prefix = try SystemCalls.readPrefix(found.hostPath, count: 4)
            if prefix != FoundFile.magic, !found.isExplicit { return nil }
        } catch {
            return FileVerdict(kind: .broken, problems: [Problem(
                kind: .unreadable, file: found.path, neededBy: nil, subject: found.path,
                detail: "\(found.path): \(error.operation): \(error.reason)")])
        }
        let file: ELFFile
        do {
            file = try ELFFile(path: found.hostPath)
        } catch {
            return brokenVerdict(found, error)
        }
        let header = file.header
        guard header.type == .executable || header.type == .sharedObject else { return FileVerdict(kind: .skipped) }
        guard file.matches(machine: Self.hostMachine, elfClass: Self.hostClass) else {
            return FileVerdict(kind: .skipped)
        }
        let interpreter: String?
        do { interpreter = try file.interpreter() } catch { return brokenVerdict(found, error) }
        let kind: FileVerdict.Kind = (header.type == .executable || interpreter != nil) ? .executable : .sharedObject
        var verdict = FileVerdict(kind: kind)
        if let interpreter {
            verdict.problems += interpreterProblems(found, interpreter: interpreter)
        }
        verdict.problems += resolutionProblems(found, file: file)
        return verdict
    }

    private func brokenVerdict(_ found: FoundFile, _ error: ELFError) -> FileVerdict {
        switch error {
        case .cannotOpen(_, let code):
            return FileVerdict(kind: .broken, problems: [Problem(
                kind: .unreadable, file: found.path, neededBy: nil, subject: found.path,
                detail: "\(found.path): cannot open: \(String(cString: strerror(code)))")])
        case .notELF, .isDirectory:
            return FileVerdict(kind: .skipped)
        case .tooShort, .malformed:
            let text = error.description
            let reason = text.hasPrefix(error.path + ": ") ? String(text.dropFirst(error.path.count + 2)) : text
            return FileVerdict(kind: .broken, problems: [Problem(
                kind: .badELF, file: found.path, neededBy: nil, subject: found.path, detail: "\(found.path): \(reason)")])
        }
    }

    /// The kernel opens PT_INTERP before any library: a missing loader refuses the program outright.
    private func interpreterProblems(_ found: FoundFile, interpreter: String) -> [Problem] {
        do {
            _ = try context.root.resolve(interpreter)
            return []
        } catch {
            return [Problem(
                kind: .notFound, file: found.path, neededBy: found.path, subject: interpreter,
                detail: "program interpreter \(interpreter) not found (PT_INTERP of \(found.path))")]
        }
    }

    func resolutionProblems(_ found: FoundFile, file: ELFFile) -> [Problem] {
        []
    }
}
