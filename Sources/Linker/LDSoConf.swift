import Glibc

/// `ld.so.conf` as ldconfig reads it: one directory per line (or several separated by spaces, tabs, commas
/// or colons), `#` comments, `include GLOB` lines relative to the including file's directory, and
/// `hwcap` lines (ignored since glibc 2.26's ldconfig too).
///
/// Everything is read inside the root: an include glob is matched component by component against the
/// root's own directories, each reached through `LoaderRoot.realPath` (absolute symlinks and `..` stay in
/// the root), never by glob(3) on the host, where `x -> /` or `etc/ld.so.conf.d -> /etc` would list the
/// build machine. Files, matches and bytes are bounded, so a hostile root costs what its limits allow.
enum LDSoConf {
    /// A real ld.so.conf is a few hundred bytes; a bigger file is read up to this much.
    static let maximumFileSize = 1 << 20
    /// All files of one expansion together (Debian's, with every package's snippet, is under 4 KB).
    static let maximumTotalBytes = 16 << 20
    /// Paths the include globs of one expansion may match, and directories they may list, all lines
    /// together: `x -> .` with `include /x/*/*/*/*` grows as entries^depth (glob(3) itself would run for
    /// hours on a hostile root), and a file can hold that line many times. Debian's expansion lists 1
    /// directory and matches 3 files.
    static let maximumMatches = 256
    static let maximumListings = 256

    /// What is left of `maximumMatches` and `maximumListings` in one expansion.
    struct GlobBudget {
        var matches = LDSoConf.maximumMatches
        var listings = LDSoConf.maximumListings
    }
    /// include nesting deeper than this is a loop ldconfig would also end (with an error).
    static let maximumDepth = 16

    static func directories(root: LoaderRoot, file: String) -> [String] {
        var state = State()
        parse(root: root, file: file, depth: 0, state: &state)
        return state.result
    }

    private struct State {
        var visited = Set<String>()
        var result: [String] = []
        var seen = Set<String>()
        var bytesRead = 0
        var globBudget = GlobBudget()
    }

    /// The file's bytes, read inside the root and bounded; nil when it cannot be read.
    private static func contents(root: LoaderRoot, _ inRootPath: String, budget: Int) -> [UInt8]? {
        guard budget > 0, let real = try? root.realPath(inRootPath) else { return nil }
        // Read through the root (a directory or an image), one byte past the bound to see a file beyond it.
        let limit = min(maximumFileSize, budget)
        guard let bytes = try? root.readPrefix(realPath: real, count: limit + 1), bytes.count <= limit else { return nil }
        return bytes
    }

    private static func parse(root: LoaderRoot, file: String, depth: Int, state: inout State) {
        guard depth < maximumDepth, state.visited.insert(file).inserted,
              let bytes = contents(root: root, file, budget: maximumTotalBytes - state.bytesRead) else { return }
        state.bytesRead += bytes.count
        for rawLine in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { " \t,:".contains($0) }).map(String.init)
            guard let first = words.first else { continue }
            if first == "include" {
                for pattern in words.dropFirst() {
                    let absolute = pattern.hasPrefix("/") ? pattern : LoaderPath.join(LoaderPath.directory(of: file), pattern)
                    for match in glob(root: root, pattern: absolute, budget: &state.globBudget) {
                        parse(root: root, file: match, depth: depth + 1, state: &state)
                    }
                }
            } else if first == "hwcap" {
                continue
            } else {
                for word in words where state.seen.insert(word).inserted { state.result.append(word) }
            }
        }
    }

    /// glob(3) of an absolute in-root pattern, inside the root: components without `*?[` are taken as
    /// written (backslash escapes removed), the others matched with fnmatch(3) against the entries of
    /// each directory reached so far (a leading `.` only explicitly, as glob does). The matches are in-root
    /// paths that exist, sorted bytewise as glob sorts them in the C locale.
    static func glob(root: LoaderRoot, pattern: String) -> [String] {
        var budget = GlobBudget()
        return glob(root: root, pattern: pattern, budget: &budget)
    }

    static func glob(root: LoaderRoot, pattern: String, budget: inout GlobBudget) -> [String] {
        var prefixes = [""]  // in-root paths, "" standing for "/"
        for component in pattern.split(separator: "/").map(String.init) {
            guard hasMagic(component) else {
                let literal = unescaped(component)
                prefixes = prefixes.map { $0 + "/" + literal }
                continue
            }
            var next: [String] = []
            for prefix in prefixes {
                guard budget.listings > 0 else { break }
                budget.listings -= 1
                guard let real = try? root.realPath(prefix.isEmpty ? "/" : prefix),
                      let entries = try? root.directoryEntries(real) else { continue }
                for entry in entries where fnmatch(component, entry.name, FNM_PERIOD) == 0 {
                    next.append(prefix + "/" + entry.name)
                    if next.count >= budget.matches { break }
                }
                if next.count >= budget.matches { break }
            }
            prefixes = next
        }
        let matches = prefixes.filter { !$0.isEmpty && (try? root.realPath($0)) != nil }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        budget.matches -= matches.count
        return matches
    }

    private static func hasMagic(_ component: String) -> Bool {
        component.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    private static func unescaped(_ component: String) -> String {
        guard component.contains("\\") else { return component }
        var result = ""
        var escaping = false
        for character in component {
            if character == "\\", !escaping { escaping = true; continue }
            escaping = false
            result.append(character)
        }
        return result
    }
}
