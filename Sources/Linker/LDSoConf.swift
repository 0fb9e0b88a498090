import Foundation

/// `ld.so.conf` as ldconfig reads it: one directory per line (or several separated by spaces, tabs, commas
/// or colons), `#` comments, `include GLOB` lines relative to the including file's directory, and
/// `hwcap` lines (ignored since glibc 2.26's ldconfig too).
enum LDSoConf {
    static func directories(root: LoaderRoot, file: String) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        parse(root: root, file: file, depth: 0, visited: &seen, into: &result)
        return result
    }

    private static func parse(root: LoaderRoot, file: String, depth: Int, visited: inout Set<String>, into result: inout [String]) {
        // An include loop or an absurd nesting is cut off, as ldconfig would eventually fail.
        guard depth < 16, visited.insert(file).inserted, let bytes = root.contents(of: file) else { return }
        for rawLine in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { " \t,:".contains($0) }).map(String.init)
            guard let first = words.first else { continue }
            if first == "include" {
                for pattern in words.dropFirst() {
                    let absolute = pattern.hasPrefix("/") ? pattern : LoaderPath.join(LoaderPath.directory(of: file), pattern)
                    for match in glob(root: root, pattern: absolute) {
                        parse(root: root, file: match, depth: depth + 1, visited: &visited, into: &result)
                    }
                }
            } else if first == "hwcap" {
                continue
            } else {
                for word in words where !result.contains(word) { result.append(word) }
            }
        }
    }

    /// glob(3) inside the root, results as in-root paths, sorted as glob sorts them.
    private static func glob(root: LoaderRoot, pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        guard Glibc.glob(root.hostPath(pattern), 0, nil, &matches) == 0 else { return [] }
        var result: [String] = []
        for index in 0..<Int(matches.gl_pathc) {
            guard let cString = matches.gl_pathv[index], let inRoot = root.inRootPath(ofHostPath: String(cString: cString)) else { continue }
            result.append(inRoot)
        }
        return result
    }
}
