import Glibc
import JSON
import Linker

extension CheckReport {
    /// The human summary: one headline, then each kind of problem with how many files it affects, each
    /// cause in one line, and the files it affects (the first `filesPerCause`, then a count).
    public func renderText(filesPerCause: Int = 8) -> String {
        var out = ""
        let checked = "\(plural(counts.elfFiles, "ELF file")) (\(plural(counts.executables, "program")), "
            + "\(plural(counts.sharedObjects, "shared object")))"
        let refused = filesWithErrors.count
        let warningFiles = Set(warnings.map(\.file)).count
        // What was asked about: the root, or on this system the PATHs (`check .` checked no "/").
        let subject = root == "/" && paths != ["/"] ? paths.map(LoaderRoot.normalized).joined(separator: " ") : root
        out += "linkscope check \(TerminalText.escaped(subject)): \(checked)"
        if counts.skipped > 0 { out += ", \(counts.skipped) other ELF files skipped" }
        out += "\n"
        if let image {
            var parts = [image.format]
            if let reference = image.reference { parts.append(reference) }
            if let digest = image.digest { parts.append(digest) }
            if let platform = image.platform { parts.append(platform) }
            parts.append(plural(image.layers, "layer"))
            out += "image: \(parts.joined(separator: ", "))\n"
            // Members a runtime would also fail to apply: said once, not hidden.
            for member in image.skippedMembers.prefix(filesPerCause) { out += "  not applied: \(member)\n" }
            if image.skippedMembers.count > filesPerCause {
                out += "  … and \(image.skippedMembers.count - filesPerCause) more members not applied\n"
            }
        }
        for (inRoot, host) in added.sorted(by: { $0.key < $1.key }) { out += "added: \(host) as \(inRoot)\n" }
        if let entryPoint {
            let command = entryPoint.command.map { $0.contains(" ") ? "\"\($0)\"" : $0 }.joined(separator: " ")
            let checked = [entryPoint.path, entryPoint.interpreter].compactMap { $0 }
            let failing = problems.filter { $0.severity == .error && (checked.contains($0.file) || $0.kind == .entryPointMissing) }
            var line = "entry point: \(command)"
            var found = [entryPoint.path == entryPoint.command.first ? nil : entryPoint.path,
                         entryPoint.interpreter.map { "#! \($0)" }].compactMap { $0 }
            if entryPoint.path == nil { found = [] }
            if !found.isEmpty { line += " (\(found.joined(separator: ", ")))" }
            if !entryPoint.checked {
                line += ": not checked (PATHs or --add name the files to check)"
            } else if entryPoint.path == nil {
                line += ": not in the image"
            } else {
                line += failing.isEmpty ? ": loads" : ": refused, \(plural(failing.count, "problem"))"
            }
            out += line + "\n"
            if entryPoint.checked { for problem in failing { out += "  \(problem.kind): \(TerminalText.escaped(problem.detail))\n" } }
        }
        for (name, files) in provided.sorted(by: { $0.key < $1.key }) {
            out += "provided by the runtime: \(name) (needed by \(plural(files.count, "file")))\n"
        }
        if problems.isEmpty {
            out += "clean: the loader would accept every program and library\n"
            return out
        }
        out += "\(plural(refused, "file")) with errors"
        if warningFiles > 0 { out += ", \(plural(warningFiles, "file")) with warnings" }
        out += "\n"
        for (kind, files, groups) in groupedByKind {
            out += "\n\(kind) (\(plural(files, "file"))):\n"
            for group in groups {
                let mark = group.cause.severity == .warning ? "warning: " : ""
                out += "  \(mark)\(TerminalText.escaped(group.cause.detail))\n"
                // A problem of the file itself names the file in its detail already.
                if group.files == [group.cause.neededBy ?? ""] || (group.cause.neededBy == nil && group.files.count == 1) {
                    continue
                }
                for file in group.files.prefix(filesPerCause) { out += "      \(TerminalText.escaped(file))\n" }
                if group.files.count > filesPerCause {
                    out += "      … and \(group.files.count - filesPerCause) more\n"
                }
            }
        }
        return out
    }

    /// The `--json` document (schema version 1, README "check"):
    /// `{"schema":"linkscope-check","version":1,"root":…,"paths":[…],"symbols":bool,
    ///   "counts":{…},"totals":{"errors":n,"warnings":n,"filesWithErrors":n,"byKind":{kind:n}},
    ///   "problems":[{"kind","severity","file","neededBy"?,"subject","detail"}]}`
    public func renderJSON() -> String {
        struct Totals: Codable {
            var errors: Int
            var warnings: Int
            var filesWithErrors: Int
            var byKind: [String: Int]
        }
        struct Document: Codable {
            var schema = "linkscope-check"
            var version = 1
            var root: String
            var paths: [String]
            var symbols: Bool
            var image: ImageSummary?
            var entryPoint: EntryPoint?
            var added: [String: String]?
            var provided: [String: [String]]?
            var counts: Counts
            var totals: Totals
            var problems: [Problem]
        }
        var byKind: [String: Int] = [:]
        for problem in problems { byKind[problem.kind.rawValue, default: 0] += 1 }
        let document = Document(
            root: root, paths: paths, symbols: checkedSymbols, image: image, entryPoint: entryPoint,
            added: added.isEmpty ? nil : added, provided: provided.isEmpty ? nil : provided, counts: counts,
            totals: Totals(errors: errors.count, warnings: warnings.count,
                           filesWithErrors: filesWithErrors.count, byKind: byKind),
            problems: problems)
        // Encoding plain strings, numbers and arrays cannot fail; a failure is a bug of ours.
        return try! JSONTreeEncoder().text(document) + "\n"
    }

    /// JUnit XML for CI dashboards: one test case per file with problems, failed when it has errors,
    /// plus a single passing case standing for every clean file (listing tens of thousands of clean
    /// files helps no one).
    public func renderJUnit() -> String {
        var byFile: [String: [Problem]] = [:]
        for problem in problems { byFile[problem.file, default: []].append(problem) }
        let failing = byFile.values.filter { $0.contains { $0.severity == .error } }.count
        let clean = max(counts.elfFiles - byFile.count, 0)
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"linkscope check\" tests=\"\(byFile.count + 1)\" failures=\"\(failing)\">\n"
        out += "  <testsuite name=\"\(xml(root))\" tests=\"\(byFile.count + 1)\" failures=\"\(failing)\">\n"
        out += "    <testcase classname=\"linkscope.check\" name=\"\(clean) clean files\"/>\n"
        for file in byFile.keys.sorted() {
            let fileProblems = byFile[file]!
            out += "    <testcase classname=\"linkscope.check\" name=\"\(xml(file))\">\n"
            let errors = fileProblems.filter { $0.severity == .error }
            if !errors.isEmpty {
                let message = errors.map { "\($0.kind): \($0.detail)" }.joined(separator: "\n")
                out += "      <failure type=\"\(xml(errors[0].kind.rawValue))\" message=\"\(xml(errors[0].detail))\">\(xml(message))</failure>\n"
            }
            let warnings = fileProblems.filter { $0.severity == .warning }
            if !warnings.isEmpty {
                out += "      <system-out>\(xml(warnings.map { "warning: \($0.kind): \($0.detail)" }.joined(separator: "\n")))</system-out>\n"
            }
            out += "    </testcase>\n"
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }
}

private func plural(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}

private func xml(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            // XML 1.0 cannot carry most control characters, even escaped; file names can.
            if scalar.value < 0x20, scalar != "\n", scalar != "\t" { out += "?" } else { out.unicodeScalars.append(scalar) }
        }
    }
    return out
}
