// ltrace.conf(5), the prototype language of ltrace 0.7.3: `RET NAME(PARAM, ...);`, `typedef NAME = TYPE;`,
// `;` comments. The subset parsed covers every line of Debian 12's /etc/ltrace.conf: int/uint/long/ulong/
// short/ushort/char/bool/float/double/addr/file/format/void, octal and hex(T), string, string[N|argN|retval],
// the old stringN, string(array(char, argN)*), array(T, LEN), struct(...), enum(...) with or without values,
// enum[T](...), bitvec(T), pointers `T*`, out-parameters `+T`, and typedefs. A line it cannot parse is
// skipped and reported as FILE:LINE: reason — a config file never stops a trace.

public struct ConfDiagnostic: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { "\(file):\(line): \(message)" }
}

public struct ConfParseResult: Sendable {
    public var prototypes: [Prototype] = []
    public var typedefs: [String: ValueType] = [:]
    public var diagnostics: [ConfDiagnostic] = []
}

public enum LtraceConfParser {
    /// Parses `text` (the contents of `file`, named in diagnostics), resolving type names against `typedefs`
    /// (typedefs the text defines are added in order).
    public static func parse(_ text: String, file: String, typedefs: [String: ValueType] = [:]) -> ConfParseResult {
        var result = ConfParseResult()
        result.typedefs = typedefs
        var pending = ""
        var pendingLine = 0
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var rest = Substring(rawLine)
            while !rest.isEmpty {
                guard let semicolon = statementEnd(in: rest) else {
                    if pending.isEmpty { pendingLine = lineNumber }
                    pending += rest + " "
                    rest = ""
                    break
                }
                if pending.isEmpty { pendingLine = lineNumber }
                let statement = (pending + rest[rest.startIndex..<semicolon]).trimmingSpaces
                pending = ""
                if !statement.isEmpty {
                    do {
                        try parseStatement(statement, into: &result)
                    } catch {
                        result.diagnostics.append(ConfDiagnostic(file: file, line: pendingLine, message: error.message))
                    }
                }
                // Whatever follows the first top-level ';' on a line is a comment.
                rest = ""
            }
        }
        if !pending.trimmingSpaces.isEmpty {
            result.diagnostics.append(ConfDiagnostic(file: file, line: pendingLine, message: "statement without ';' at end of file"))
        }
        return result
    }

    /// The `;` that ends the statement. Parentheses do not hide it: no type contains a `;`, and a line
    /// with unbalanced parentheses must fail alone rather than swallow the lines after it.
    private static func statementEnd(in text: Substring) -> Substring.Index? {
        text.firstIndex(of: ";")
    }

    private static func parseStatement(_ statement: String, into result: inout ConfParseResult) throws(ConfError) {
        var tokens = try Tokens(statement)
        if tokens.peek == "typedef" {
            tokens.next()
            let name = try tokens.identifier()
            try tokens.expect("=")
            let type = try parseType(&tokens, typedefs: result.typedefs).type
            try tokens.expectEnd()
            result.typedefs[name] = type
            return
        }
        let returnType = try parseType(&tokens, typedefs: result.typedefs)
        let name = try tokens.identifier()
        try tokens.expect("(")
        var parameters: [Parameter] = []
        if tokens.peek != ")" {
            while true {
                let parameter = try parseType(&tokens, typedefs: result.typedefs)
                if parameter.type != .void { parameters.append(Parameter(parameter.type, isOutput: parameter.isOutput)) }
                if tokens.peek == "," { tokens.next(); continue }
                break
            }
        }
        try tokens.expect(")")
        try tokens.expectEnd()
        result.prototypes.append(Prototype(name: name, returnType: returnType.type, parameters: parameters))
    }

    /// Nesting deeper than this (`struct(struct(struct(...)))`) is refused before the recursion of the
    /// parser, or of anything walking the type later, can exhaust the stack.
    static let maximumNesting = 64
    /// Types in one statement, typedefs counted at their full size: typedefs can double a type per line
    /// (`typedef t2 = struct(t1, t1);`), and every walk of a type (its size, reading a value) is as long
    /// as the type. No prototype of /etc/ltrace.conf comes near 100.
    static let maximumTypesPerStatement = 10_000

    private static func parseType(_ tokens: inout Tokens, typedefs: [String: ValueType]) throws(ConfError) -> (type: ValueType, isOutput: Bool) {
        tokens.nesting += 1
        defer { tokens.nesting -= 1 }
        guard tokens.nesting <= maximumNesting else {
            throw ConfError(message: "types nested more than \(maximumNesting) deep")
        }
        var isOutput = false
        if tokens.peek == "+" { tokens.next(); isOutput = true }
        var type = try parseBase(&tokens, typedefs: typedefs)
        while tokens.peek == "*" {
            tokens.next()
            try tokens.count(1)
            type = .pointer(type)
        }
        return (type, isOutput)
    }

    private static func parseBase(_ tokens: inout Tokens, typedefs: [String: ValueType]) throws(ConfError) -> ValueType {
        let word = try tokens.identifier()
        try tokens.count(1)
        switch word {
        case "void": return .void
        case "int": return .int
        case "uint": return .uint
        case "long": return .long
        case "ulong": return .ulong
        case "short": return .short
        case "ushort": return .ushort
        case "char": return .char
        case "bool": return .bool
        case "float": return .float
        case "double": return .double
        case "addr": return .address
        case "file": return .file
        case "format": return .format
        case "octal", "hex":
            var bytes = word == "octal" ? 4 : 4
            if tokens.peek == "(" {
                tokens.next()
                bytes = try parseType(&tokens, typedefs: typedefs).type.size
                try tokens.expect(")")
            }
            return word == "octal" ? .octal(bytes: bytes) : .hex(bytes: bytes)
        case "bitvec":
            try tokens.expect("(")
            let element = try parseType(&tokens, typedefs: typedefs).type
            try tokens.expect(")")
            return .bitvector(bytes: element.size)
        case "enum":
            var bytes = 4
            if tokens.peek == "[" {
                tokens.next()
                bytes = try parseType(&tokens, typedefs: typedefs).type.size
                try tokens.expect("]")
            }
            try tokens.expect("(")
            var pairs: [(String, Int64)] = []
            var next: Int64 = 0
            while true {
                let name = try tokens.identifier()
                if tokens.peek == "=" {
                    tokens.next()
                    next = try tokens.number()
                }
                pairs.append((name, next))
                next &+= 1
                if tokens.peek == "," { tokens.next(); continue }
                break
            }
            try tokens.expect(")")
            return .enumeration(NamedConstants(pairs), bytes: bytes)
        case "struct":
            try tokens.expect("(")
            var fields: [ValueType] = []
            if tokens.peek != ")" {
                while true {
                    fields.append(try parseType(&tokens, typedefs: typedefs).type)
                    if tokens.peek == "," { tokens.next(); continue }
                    break
                }
            }
            try tokens.expect(")")
            return .structure(fields)
        case "array":
            try tokens.expect("(")
            let element = try parseType(&tokens, typedefs: typedefs).type
            try tokens.expect(",")
            let length = try parseLength(&tokens)
            try tokens.expect(")")
            return .array(element, length)
        case "string":
            var length: LengthSpec?
            if tokens.peek == "[" {
                tokens.next()
                length = try parseLength(&tokens)
                try tokens.expect("]")
            } else if tokens.peek == "(" {
                // string(array(char, LEN)*): a string of LEN bytes.
                tokens.next()
                let inner = try parseType(&tokens, typedefs: typedefs).type
                try tokens.expect(")")
                if case .pointer(.array(_, let len)) = inner { length = len }
                else if case .array(_, let len) = inner { length = len }
            }
            return .string(length)
        default:
            // ltrace's old spelling: string0 is string[retval], stringN is string[argN].
            if word.hasPrefix("string"), let n = Int(word.dropFirst(6)) {
                return .string(n == 0 ? .returnValue : .argument(n))
            }
            guard let type = typedefs[word] else { throw ConfError(message: "unknown type '\(word)'") }
            // The base type was counted once already; a typedef weighs all it holds.
            try tokens.count(type.nodeCount(upTo: maximumTypesPerStatement) - 1)
            return type
        }
    }

    private static func parseLength(_ tokens: inout Tokens) throws(ConfError) -> LengthSpec {
        if let peek = tokens.peek, let first = peek.first, first.isNumber {
            return .constant(Int(try tokens.number()))
        }
        let word = try tokens.identifier()
        if word == "retval" { return .returnValue }
        if word.hasPrefix("arg"), let n = Int(word.dropFirst(3)), n >= 1 { return .argument(n) }
        if word.hasPrefix("elt") { throw ConfError(message: "lengths from struct elements ('\(word)') are not supported") }
        throw ConfError(message: "unknown length '\(word)'")
    }
}

struct ConfError: Error { var message: String }

/// The tokens of one statement: identifiers, numbers and single punctuation characters.
private struct Tokens {
    private var items: [String]
    private var position = 0
    /// How deep the parser is in nested types now.
    var nesting = 0
    /// Types the statement holds so far.
    private var types = 0

    mutating func count(_ more: Int) throws(ConfError) {
        types += more
        if types > LtraceConfParser.maximumTypesPerStatement {
            throw ConfError(message: "more than \(LtraceConfParser.maximumTypesPerStatement) types in one declaration")
        }
    }

    init(_ text: String) throws(ConfError) {
        var items: [String] = []
        var current = ""
        func flush() { if !current.isEmpty { items.append(current); current = "" } }
        for c in text {
            if c.isLetter || c.isNumber || c == "_" || (c == "-" && current.isEmpty) {
                current.append(c)
            } else if c == " " || c == "\t" || c == "\r" {
                flush()
            } else if "()[],=*+".contains(c) {
                flush()
                items.append(String(c))
            } else {
                throw ConfError(message: "unexpected character '\(c)'")
            }
        }
        flush()
        self.items = items
    }

    var peek: String? { position < items.count ? items[position] : nil }

    @discardableResult mutating func next() -> String? {
        defer { position += 1 }
        return peek
    }

    mutating func identifier() throws(ConfError) -> String {
        guard let token = peek, let first = token.first, first.isLetter || first == "_" else {
            throw ConfError(message: "expected a name, found \(peek.map { "'\($0)'" } ?? "end of statement")")
        }
        position += 1
        return token
    }

    mutating func number() throws(ConfError) -> Int64 {
        guard let token = peek else { throw ConfError(message: "expected a number, found end of statement") }
        let value: Int64?
        if token.hasPrefix("0x") || token.hasPrefix("-0x") {
            let negative = token.hasPrefix("-")
            value = Int64(token.dropFirst(negative ? 3 : 2), radix: 16).map { negative ? -$0 : $0 }
        } else {
            value = Int64(token)
        }
        guard let value else { throw ConfError(message: "expected a number, found '\(token)'") }
        position += 1
        return value
    }

    mutating func expect(_ token: String) throws(ConfError) {
        guard peek == token else {
            throw ConfError(message: "expected '\(token)', found \(peek.map { "'\($0)'" } ?? "end of statement")")
        }
        position += 1
    }

    func expectEnd() throws(ConfError) {
        if let extra = peek { throw ConfError(message: "unexpected '\(extra)' after the declaration") }
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}
