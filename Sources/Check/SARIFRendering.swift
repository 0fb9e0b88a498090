import Glibc
import JSON

extension CheckReport {
    /// What each rule (problem kind) means, for the SARIF rule table: code-scanning UIs show it beside
    /// every result of the rule.
    static let ruleDescriptions: [ProblemKind: String] = [
        .notFound: "A needed library or the program interpreter is not in the root: the loader refuses the program.",
        .versionNotFound: "The library that will be loaded lacks a symbol version the object needs.",
        .undefinedSymbol: "An undefined symbol no loaded object defines (checked with --symbols).",
        .wrongArch: "A library of another machine or class shadows the one that loads.",
        .brokenSymlink: "A symlink named like a program or library points nowhere or into a loop.",
        .unreadable: "A file or directory the check could not read.",
        .badELF: "A file that starts like ELF but is corrupt or truncated.",
        .entryPointMissing: "The image's Entrypoint/Cmd names a program the image does not have.",
    ]

    /// SARIF 2.1.0 (OASIS) for code-scanning UIs: one result per problem, the checked file as its location
    /// (a URI relative to the root, `%SRCROOT%` standing for the root), one rule per kind of problem.
    public func renderSARIF(toolVersion: String = "1") -> String {
        let kinds = Array(Set(problems.map(\.kind))).sorted()
        let ruleIndex = Dictionary(uniqueKeysWithValues: kinds.enumerated().map { ($1, $0) })
        let rules: [[String: Any]] = kinds.map { kind in
            [
                "id": kind.rawValue,
                "name": kind.rawValue.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(),
                "shortDescription": ["text": Self.ruleDescriptions[kind] ?? kind.rawValue],
                "defaultConfiguration": ["level": problems.first { $0.kind == kind }?.severity == .warning ? "warning" : "error"],
            ]
        }
        let results: [[String: Any]] = problems.map { problem in
            var result: [String: Any] = [
                "ruleId": problem.kind.rawValue,
                "ruleIndex": ruleIndex[problem.kind]!,
                "level": problem.severity == .error ? "error" : "warning",
                "message": ["text": problem.detail],
                "locations": [[
                    "physicalLocation": ["artifactLocation": ["uri": Self.relativeURI(problem.file), "uriBaseId": "%SRCROOT%"]],
                ]],
                // Stable across runs, so a code-scanning UI can tell a new problem from an old one.
                "partialFingerprints": ["linkscopeCause/v1": [problem.kind.rawValue, problem.file, problem.neededBy ?? "", problem.subject].joined(separator: "\u{1f}")],
            ]
            if let neededBy = problem.neededBy, neededBy != problem.file {
                result["relatedLocations"] = [[
                    "id": 0,
                    "physicalLocation": ["artifactLocation": ["uri": Self.relativeURI(neededBy), "uriBaseId": "%SRCROOT%"]],
                    "message": ["text": "needed by \(neededBy)"],
                ]]
            }
            return result
        }
        var properties: [String: Any] = ["root": root]
        if let image {
            var described: [String: Any] = ["format": image.format]
            if let reference = image.reference { described["reference"] = reference }
            if let digest = image.digest { described["digest"] = digest }
            if let platform = image.platform { described["platform"] = platform }
            properties["image"] = described
        }
        let run: [String: Any] = [
            "tool": ["driver": [
                "name": "linkscope check",
                "informationUri": "https://github.com/linkscope/linkscope",
                "version": toolVersion,
                "rules": rules,
            ]],
            "originalUriBaseIds": ["%SRCROOT%": ["uri": "file:///", "description": ["text": "the checked root: \(root)"]]],
            "results": results,
            "properties": properties,
        ]
        let document: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [run],
        ]
        return JSON.text(document, pretty: true) + "\n"
    }

    /// An in-root path as a relative URI reference: no leading slash, each segment percent-encoded.
    static func relativeURI(_ path: String) -> String {
        // RFC 3986 pchar without ';' (as Foundation's urlPathAllowed less "/;?#%"): unreserved, sub-delims, ':' and '@'.
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@".utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        return path.split(separator: "/").map { segment in
            var encoded: [UInt8] = []
            for byte in segment.utf8 {
                if allowed.contains(byte) { encoded.append(byte) } else {
                    encoded += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                }
            }
            return String(decoding: encoded, as: UTF8.self)
        }.joined(separator: "/")
    }
}
