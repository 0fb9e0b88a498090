/// JSON as untyped values — objects `[String: Any]`, arrays `[Any]`, `String`, `Int`, `Double`, `Bool` and
/// `JSON.null` — read from bytes and written to text, for the image metadata that is read (OCI index and
/// manifests, docker's manifest.json) and the SARIF document that is written.
///
/// Why not Foundation's `JSONSerialization`: it lives in the full Foundation, which brings ICU (30 MB) into
/// the binary; linkscope links only FoundationEssentials (README, "Installing"). Why not `Codable`: the
/// documents read are other tools' and only a few fields matter; the one written is a tree built in place.
public enum JSON {
    /// JSON's `null`.
    public struct Null: Equatable, Sendable { public init() {} }
    public static let null = Null()

    /// Nesting deeper than this is refused: parsing is recursive, and a hostile document must not be able
    /// to exhaust the stack.
    public static let maximumDepth = 256

    /// The value `bytes` hold, or nil when they are not exactly one JSON value (whitespace around it aside).
    public static func parse(_ bytes: some Collection<UInt8>) -> Any? {
        var parser = Parser(bytes: Array(bytes))
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipWhitespace()
        return parser.position == parser.bytes.count ? value : nil
    }

    /// `value` as JSON text: objects' keys sorted, `/` not escaped; with `pretty`, two spaces per level,
    /// `"key" : value` and an empty container on three lines, byte for byte as Foundation's JSONEncoder
    /// writes it with `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`. A value of any other type is
    /// a programmer error.
    public static func text(_ value: Any, pretty: Bool = false) -> String {
        var out = ""
        write(value, pretty: pretty, indent: 0, into: &out)
        return out
    }

    private static func write(_ value: Any, pretty: Bool, indent: Int, into out: inout String) {
        let newline = pretty ? "\n" : ""
        func pad(_ level: Int) -> String { pretty ? String(repeating: "  ", count: level) : "" }
        switch value {
        case let string as String: writeString(string, into: &out)
        case let bool as Bool: out += bool ? "true" : "false"
        case let int as Int: out += String(int)
        case let int as UInt64: out += String(int)  // beyond Int.max (JSONTreeEncoder stores other integers as Int)
        case let double as Double:
            precondition(double.isFinite, "JSON has no representation for \(double)")
            out += double == double.rounded() && abs(double) < 1e15 ? String(Int64(double)) : String(double)
        case is Null: out += "null"
        case let object as [String: Any]:
            if object.isEmpty { out += pretty ? "{\n\n" + pad(indent) + "}" : "{}"; return }
            out += "{" + newline
            for (index, key) in object.keys.sorted().enumerated() {
                out += pad(indent + 1)
                writeString(key, into: &out)
                out += pretty ? " : " : ":"
                write(object[key]!, pretty: pretty, indent: indent + 1, into: &out)
                out += (index == object.count - 1 ? "" : ",") + newline
            }
            out += pad(indent) + "}"
        case let array as [Any]:
            if array.isEmpty { out += pretty ? "[\n\n" + pad(indent) + "]" : "[]"; return }
            out += "[" + newline
            for (index, element) in array.enumerated() {
                out += pad(indent + 1)
                write(element, pretty: pretty, indent: indent + 1, into: &out)
                out += (index == array.count - 1 ? "" : ",") + newline
            }
            out += pad(indent) + "]"
        default:
            preconditionFailure("not a JSON value: \(type(of: value))")
        }
    }

    private static func writeString(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    private struct Parser {
        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[position]) { position += 1 }
        }

        mutating func value(depth: Int) -> Any? {
            guard depth <= JSON.maximumDepth else { return nil }
            skipWhitespace()
            guard position < bytes.count else { return nil }
            switch bytes[position] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true", true)
            case UInt8(ascii: "f"): return literal("false", false)
            case UInt8(ascii: "n"): return literal("null", JSON.null)
            default: return number()
            }
        }

        mutating func literal(_ word: String, _ value: Any) -> Any? {
            let utf8 = Array(word.utf8)
            guard bytes.count - position >= utf8.count, Array(bytes[position..<position + utf8.count]) == utf8 else { return nil }
            position += utf8.count
            return value
        }

        mutating func object(depth: Int) -> Any? {
            position += 1
            var result: [String: Any] = [:]
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return result }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return nil }
                position += 1
                guard let element = value(depth: depth + 1) else { return nil }
                result[key] = element
                skipWhitespace()
                guard position < bytes.count else { return nil }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return result }
                return nil
            }
        }

        mutating func array(depth: Int) -> Any? {
            position += 1
            var result: [Any] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return result }
            while true {
                guard let element = value(depth: depth + 1) else { return nil }
                result.append(element)
                skipWhitespace()
                guard position < bytes.count else { return nil }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return result }
                return nil
            }
        }

        /// A string literal at `position` (its opening quote), escapes decoded; nil when malformed.
        mutating func string() -> String? {
            position += 1
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flushRaw() -> Bool {
                guard !raw.isEmpty else { return true }
                guard let text = String(validating: raw, as: UTF8.self) else { return false }
                scalars.append(contentsOf: text.unicodeScalars)
                raw.removeAll(keepingCapacity: true)
                return true
            }
            while position < bytes.count {
                let byte = bytes[position]
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return flushRaw() ? String(scalars) : nil
                case UInt8(ascii: "\\"):
                    guard flushRaw(), position < bytes.count else { return nil }
                    let escape = bytes[position]
                    position += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{8}")
                    case UInt8(ascii: "f"): scalars.append("\u{c}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        guard var code = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(code) {
                            // A high surrogate must be followed by an escaped low one.
                            guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                                  bytes[position + 1] == UInt8(ascii: "u") else { return nil }
                            position += 2
                            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }
                        scalars.append(scalar)
                    default: return nil
                    }
                case 0..<0x20: return nil
                default: raw.append(byte)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard bytes.count - position >= 4 else { return nil }
            var code: UInt32 = 0
            for _ in 0..<4 {
                guard let digit = Character(Unicode.Scalar(bytes[position])).hexDigitValue else { return nil }
                code = code << 4 | UInt32(digit)
                position += 1
            }
            return code
        }

        mutating func number() -> Any? {
            let start = position
            if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
            var integral = true
            while position < bytes.count {
                let byte = bytes[position]
                if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { position += 1; continue }
                if [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")].contains(byte) {
                    integral = false
                    position += 1
                    continue
                }
                break
            }
            guard position > start, let text = String(validating: bytes[start..<position], as: UTF8.self) else { return nil }
            if integral, let int = Int(text) { return int }
            return Double(text)
        }
    }
}
