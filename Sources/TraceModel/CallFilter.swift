import Glibc

// Which PLT calls get breakpoints: ltrace 0.7.3's `-e` filter language and its `-l` option (man ltrace,
// "FILTER EXPRESSIONS"). Filters decide where breakpoints go (shared/DESIGN.md decision 5), so the engine asks
// `mayTraceCalls(from:)` per object and `selects(...)` per slot before arming anything.
//
// Semantics, as ltrace documents them:
// - An expression is a chain of rules `[+-!]symbol_pattern[@library_pattern]`. The first rule may lack a sign
//   (`+`); a first rule with `-` behaves as if `@` (everything) came before it. `!` is accepted as `-`.
// - A candidate starts unmarked; each matching `+` rule marks it, each matching `-` rule unmarks it.
// - Several `-e` accumulate: a call is traced when any expression marks it.
// - A missing pattern is `*`: `malloc` is `malloc@*`, `@libc.so*` is `*@libc.so*`.
// - The library pattern names the CALLING object (whose PLT the call goes through). It matches the SONAME, or
//   the file's base name when it has none; the main program also answers to the name it was launched by and
//   to its real file's (`python3` and `python3.11`). `MAIN` always means the main program. A library pattern
//   starting with `/` is matched against the object's path (or those paths) instead.
// - Patterns are globs (fnmatch(3): `*`, `?`, `[...]`), matching the whole name; a leading `^` and a trailing
//   `$` are accepted and ignored, as ltrace does.
// - `/re/` is a regular expression: POSIX EXTENDED (regcomp(3) with REG_EXTENDED), UNANCHORED (it matches when
//   it matches anywhere in the name; use `^`/`$` to anchor). `/x@y/` is shorthand for `/x/@/y/`. This is a
//   deliberate difference from ltrace 0.7.3, whose regex rules silently match nothing.
// - `-l PATTERN` (repeatable) selects calls from any object INTO a library whose soname (or base name, or path
//   when the pattern starts with `/`) matches.
// - With neither `-e` nor `-l`, the filter is `@MAIN`: every call the main program makes through its PLT.
// - `-L`: no call made through the main program's PLT is traced, whatever the rules say; the libraries' calls
//   are (`-L -e malloc`: malloc called by libraries only; `-L` alone: nothing). ltrace 0.7.3's -L means "no
//   PLT calls at all" and refuses -e/-l with it; this keeps the same meaning alone and makes it useful with them.

/// An object whose PLT calls may be traced: the main program or a loaded shared object.
public struct TracedObject: Hashable, Sendable {
    public var isMainProgram: Bool
    /// The path the object was loaded from.
    public var path: String
    public var soname: String?
    /// Other paths the object is known by: for the main program, the command as launched when that is a
    /// symlink (`python3` for `python3.11`) and the real file otherwise. A filter's library pattern matches
    /// any of them, as ltrace's does.
    public var otherPaths: [String]

    public init(isMainProgram: Bool, path: String, soname: String?, otherPaths: [String] = []) {
        self.isMainProgram = isMainProgram
        self.path = path
        self.soname = soname
        self.otherPaths = otherPaths.filter { $0 != path }
    }

    /// What ltrace calls the object's SONAME: its DT_SONAME, or its file's base name when it has none.
    public var displayName: String {
        if let soname, !soname.isEmpty { return soname }
        return Self.baseName(path)
    }

    /// The names a library pattern is matched against: the display name, and the base names of the other
    /// paths (`paths`: the paths themselves, for a pattern starting with `/`).
    func names(paths: Bool) -> [String] {
        paths ? [path] + otherPaths : [displayName] + otherPaths.map(Self.baseName)
    }

    private static func baseName(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }
}

public struct CallFilterError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The expression (or `-l` pattern) as the user wrote it.
    public var expression: String
    public var reason: String
    public var description: String { "bad filter expression '\(expression)': \(reason)" }
}

/// One candidate slot the engine considered: a symbol called through `caller`'s PLT, defined (as far as the
/// engine knows) by `definingLibrary`.
public struct FilterCandidate: Hashable, Sendable {
    public var symbol: String
    public var caller: TracedObject
    public var definingLibrary: TracedObject?

    public init(symbol: String, caller: TracedObject, definingLibrary: TracedObject? = nil) {
        self.symbol = symbol
        self.caller = caller
        self.definingLibrary = definingLibrary
    }
}

public struct CallFilter: Sendable {
    /// The `-e` expressions, parsed; empty when none was given.
    public let expressions: [FilterExpression]
    /// The `-l` patterns.
    public let libraries: [NamePattern]
    /// The `-x` expressions (function-entry breakpoints). Parsed and validated; the engine traces PLT calls
    /// only, so the command reports them as unsupported instead of ignoring them silently.
    public let entryExpressions: [FilterExpression]
    /// True when neither `-e` nor `-l` was given: the filter is ltrace's default `@MAIN`.
    public let isDefault: Bool
    /// `-L`: calls through the main program's PLT are never selected.
    public let excludesMainProgram: Bool

    public init(expressions: [String], libraries: [String] = [], entryPoints: [String] = [],
                excludingMainProgram: Bool = false) throws(CallFilterError) {
        excludesMainProgram = excludingMainProgram
        var parsed: [FilterExpression] = []
        for text in expressions { parsed.append(try FilterExpression(parsing: text)) }
        var libs: [NamePattern] = []
        for text in libraries {
            guard !text.isEmpty else { throw CallFilterError(expression: text, reason: "-l needs a library pattern") }
            libs.append(try NamePattern(parsing: text, isLibrary: true, source: text))
        }
        var entries: [FilterExpression] = []
        for text in entryPoints { entries.append(try FilterExpression(parsing: text)) }
        isDefault = parsed.isEmpty && libs.isEmpty
        self.expressions = isDefault ? [try FilterExpression(parsing: "@MAIN")] : parsed
        self.libraries = libs
        self.entryExpressions = entries
    }

    /// Whether the call of `symbol` through `caller`'s PLT is traced.
    public func selects(symbol: String, caller: TracedObject, definingLibrary: TracedObject?) -> Bool {
        if excludesMainProgram && caller.isMainProgram { return false }
        if expressions.contains(where: { $0.marks(symbol: symbol, caller: caller) }) { return true }
        if let definingLibrary, libraries.contains(where: { $0.matches(library: definingLibrary) }) { return true }
        return false
    }

    /// The same, for an engine that knows only the defining library's soname or file name.
    public func selects(symbol: String, caller: TracedObject, definingLibrary: String?) -> Bool {
        selects(symbol: symbol, caller: caller,
                definingLibrary: definingLibrary.map { TracedObject(isMainProgram: false, path: $0, soname: $0) })
    }

    /// False when no rule can select any call made through `object`'s PLT: the engine then puts no
    /// breakpoint in it at all (and need not even resolve its slots).
    public func mayTraceCalls(from object: TracedObject) -> Bool {
        if excludesMainProgram && object.isMainProgram { return false }
        if !libraries.isEmpty { return true }
        return expressions.contains { $0.mayMark(caller: object) }
    }

    /// True when calls into a library are asked for (`-l`): the engine must then know each slot's defining
    /// library to ask `selects`.
    public var needsDefiningLibrary: Bool { !libraries.isEmpty }

    /// The rules that selected nothing among `candidates` (every slot the engine saw), as the user wrote them,
    /// for "rule X matched no symbol" warnings. The default filter never warns.
    public func unmatchedRules(afterSeeing candidates: some Sequence<FilterCandidate>) -> [String] {
        if isDefault { return [] }
        let all = candidates.filter { !(excludesMainProgram && $0.caller.isMainProgram) }
        var result: [String] = []
        for expression in expressions {
            for rule in expression.rules where rule.isPositive {
                if !all.contains(where: { rule.matches(symbol: $0.symbol, caller: $0.caller) }) {
                    result.append(rule.source)
                }
            }
        }
        for library in libraries {
            if !all.contains(where: { $0.definingLibrary.map(library.matches(library:)) ?? false }) {
                result.append("-l \(library.source)")
            }
        }
        return result
    }
}

/// One `-e` argument: a chain of signed rules.
public struct FilterExpression: Sendable {
    public let source: String
    public let rules: [FilterRule]

    public init(parsing text: String) throws(CallFilterError) {
        source = text
        guard !text.isEmpty else { throw CallFilterError(expression: text, reason: "empty expression") }
        var rules: [FilterRule] = []
        var rest = Substring(text)
        var first = true
        while !rest.isEmpty {
            var positive = true
            if let sign = rest.first, sign == "+" || sign == "-" || sign == "!" {
                positive = sign == "+"
                rest = rest.dropFirst()
            } else if !first {
                preconditionFailure("the rule splitter stops only at a sign")
            }
            let body = FilterExpression.takeRule(&rest)
            guard !body.isEmpty else {
                throw CallFilterError(expression: text, reason: "a '+', '-' or '!' is not followed by a rule")
            }
            if first && !positive {
                // ltrace: a leading '-' rule acts on everything, as if '@' came first.
                rules.append(try FilterRule(parsing: "@", positive: true, expression: text))
            }
            rules.append(try FilterRule(parsing: String(body), positive: positive, expression: text))
            first = false
        }
        self.rules = rules
    }

    /// Splits off one rule body: up to the next sign that is outside `/regex/` and `[class]`.
    private static func takeRule(_ rest: inout Substring) -> Substring {
        var inRegex = false, inClass = false
        var index = rest.startIndex
        while index < rest.endIndex {
            let c = rest[index]
            if c == "\\" && inRegex {
                index = rest.index(after: index)
                if index < rest.endIndex { index = rest.index(after: index) }
                continue
            }
            if c == "/" && !inClass { inRegex.toggle() }
            else if c == "[" && !inRegex && !inClass { inClass = true }
            else if c == "]" && inClass { inClass = false }
            else if !inRegex && !inClass && (c == "+" || c == "-" || c == "!") { break }
            index = rest.index(after: index)
        }
        let body = rest[rest.startIndex..<index]
        rest = rest[index...]
        return body
    }

    /// Whether this chain leaves the call marked.
    public func marks(symbol: String, caller: TracedObject) -> Bool {
        var marked = false
        for rule in rules where rule.matches(symbol: symbol, caller: caller) { marked = rule.isPositive }
        return marked
    }

    /// Whether some positive rule could mark some symbol of `caller` (a negative rule cannot rule out a whole
    /// object unless its symbol pattern is `*`, which is rare enough not to optimise).
    func mayMark(caller: TracedObject) -> Bool {
        rules.contains { $0.isPositive && $0.library.matches(library: caller) }
    }
}

/// `[+-]symbol_pattern[@library_pattern]`.
public struct FilterRule: Sendable {
    public let source: String
    public let isPositive: Bool
    public let symbol: NamePattern
    public let library: NamePattern

    init(parsing body: String, positive: Bool, expression: String) throws(CallFilterError) {
        source = (positive ? "" : "-") + body
        isPositive = positive
        var symbolPart = body
        var libraryPart = ""
        // `/x@y/` is shorthand for `/x/@/y/`.
        if body.count >= 2, body.first == "/", body.last == "/", let at = body.dropFirst().dropLast().firstIndex(of: "@") {
            symbolPart = String(body[body.startIndex..<at]) + "/"
            libraryPart = "/" + String(body[body.index(after: at)...])
        } else if let at = FilterRule.separator(in: body) {
            symbolPart = String(body[body.startIndex..<at])
            libraryPart = String(body[body.index(after: at)...])
        }
        symbol = try NamePattern(parsing: symbolPart.isEmpty ? "*" : symbolPart, isLibrary: false, source: expression)
        library = try NamePattern(parsing: libraryPart.isEmpty ? "*" : libraryPart, isLibrary: true, source: expression)
    }

    /// The `@` that separates the patterns: the first one outside a `/regex/`.
    private static func separator(in body: String) -> String.Index? {
        var inRegex = false
        var index = body.startIndex
        while index < body.endIndex {
            let c = body[index]
            if c == "/" { inRegex.toggle() }
            if c == "@" && !inRegex { return index }
            index = body.index(after: index)
        }
        return nil
    }

    public func matches(symbol name: String, caller: TracedObject) -> Bool {
        symbol.matches(name) && library.matches(library: caller)
    }
}

/// A glob or a regular expression over a symbol or library name.
public struct NamePattern: Sendable {
    public enum Kind: Sendable, Equatable {
        case any
        case glob(String)
        /// `MAIN`: the main program, never a library named MAIN.
        case mainProgram
        case regex(String)
    }

    public let source: String
    public let kind: Kind
    /// A library pattern starting with `/` (and not a regex) matches the object's path, not its soname.
    public let matchesPath: Bool
    private let compiled: CompiledRegex?

    init(parsing text: String, isLibrary: Bool, source: String) throws(CallFilterError) {
        self.source = text
        if text.count >= 2, text.first == "/", text.last == "/" {
            let body = String(text.dropFirst().dropLast())
            do { compiled = try CompiledRegex(body) } catch {
                throw CallFilterError(expression: source, reason: "regular expression /\(body)/: \(error.message)")
            }
            kind = .regex(body)
            matchesPath = false
            return
        }
        compiled = nil
        if !isLibrary && text.first == "/" {
            // Only a library pattern may be a path; a symbol pattern starting with '/' is a regex left open.
            throw CallFilterError(expression: source, reason: "regular expression \(text) has no closing '/'")
        }
        if isLibrary && text == "MAIN" {
            kind = .mainProgram
            matchesPath = false
            return
        }
        var glob = Substring(text)
        if glob.first == "^" { glob = glob.dropFirst() }
        if glob.last == "$" { glob = glob.dropLast() }
        if glob.isEmpty { throw CallFilterError(expression: source, reason: "empty pattern") }
        matchesPath = isLibrary && glob.first == "/"
        kind = glob == "*" ? .any : .glob(String(glob))
    }

    public func matches(_ name: String) -> Bool {
        switch kind {
        case .any: return true
        case .mainProgram: return false
        case .glob(let glob): return fnmatch(glob, name, 0) == 0
        case .regex: return compiled?.matches(name) ?? false
        }
    }

    public func matches(library object: TracedObject) -> Bool {
        switch kind {
        case .mainProgram: return object.isMainProgram
        case .any: return true
        default: return object.names(paths: matchesPath).contains(where: matches)
        }
    }
}

/// A compiled POSIX extended regular expression. regcomp's `regex_t` must not move, so it lives in a class;
/// regexec on a compiled expression is thread-safe (POSIX), hence `@unchecked Sendable`.
private final class CompiledRegex: @unchecked Sendable {
    struct CompileError: Error { var message: String }
    private var regex = regex_t()

    /// Longest regular expression taken, and the most repetition operators in a row: glibc's regcomp expands
    /// stacked repetitions (`a+++++…`) into an automaton that grows with each one (`/^str.a` and 25 `+` took
    /// 19 GB), so such a pattern is refused with a message rather than compiled.
    static let maximumLength = 1024
    static let maximumStackedRepetitions = 2

    init(_ pattern: String) throws(CompileError) {
        guard pattern.utf8.count <= Self.maximumLength else {
            throw CompileError(message: "longer than \(Self.maximumLength) bytes")
        }
        // Count repetition operators in a row (`*`, `+`, `?`, and a `{m,n}` bound as one), skipping escapes.
        var run = 0, escaped = false, inBound = false
        for byte in pattern.utf8 {
            if escaped { escaped = false; run = 0; continue }
            if inBound {
                if byte == UInt8(ascii: "}") { inBound = false } else { continue }
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                run = 0
                continue
            } else if byte == UInt8(ascii: "{") {
                inBound = true
                continue
            } else if !(byte == UInt8(ascii: "+") || byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?")) {
                run = 0
                continue
            }
            run += 1
            if run > Self.maximumStackedRepetitions {
                throw CompileError(message: "more than \(Self.maximumStackedRepetitions) repetition operators in a row")
            }
        }
        let status = regcomp(&regex, pattern, REG_EXTENDED | REG_NOSUB)
        if status != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            regerror(status, &regex, &buffer, buffer.count)
            throw CompileError(message: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    func matches(_ name: String) -> Bool { regexec(&regex, name, 0, nil, 0) == 0 }

    deinit { regfree(&regex) }
}
