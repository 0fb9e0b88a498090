import Glibc

// How values print. Kept apart from where they came from (registers, stack, memory): the decoder builds a
// `Value`, renderers call these. The text follows ltrace 0.7.3 as observed on this machine, with one
// deliberate difference: a `"` inside a string is escaped as `\"`, so a line can be parsed back (ltrace prints
// it bare).

extension Value {
    /// ltrace's text for the value: `"abc"...`, `nil`, `0x55d4...`, `'a'`, `<void>`, `O_WRONLY|O_CREAT`, `{ 1, 2 }`.
    public var ltraceText: String {
        switch self {
        case .signed(let v): return String(v)
        case .unsigned(let v): return String(v)
        case .hex(let v): return "0x" + String(v, radix: 16)
        case .octal(let v): return v == 0 ? "0" : "0" + String(v, radix: 8)
        case .character(let c): return "'" + Value.escape([c], quote: UInt8(ascii: "'")) + "'"
        case .boolean(let b): return b ? "true" : "false"
        case .pointer(let p): return p == 0 ? "0" : "0x" + String(p, radix: 16)
        case .null: return "nil"
        case .string(let bytes, let truncated):
            return "\"" + Value.escape(bytes, quote: UInt8(ascii: "\"")) + "\"" + (truncated ? "..." : "")
        case .floating(let d): return cFormat("%f", d)
        case .enumeration(let name, let raw): return name ?? String(raw)
        case .bitmask(let names, let remainder):
            var parts = names
            if remainder != 0 || names.isEmpty { parts.append(remainder == 0 ? "0" : "0x" + String(remainder, radix: 16)) }
            return parts.joined(separator: "|")
        case .array(let elements, let truncated):
            let items = elements.map(\.ltraceText) + (truncated ? ["..."] : [])
            return items.isEmpty ? "[]" : "[ " + items.joined(separator: ", ") + " ]"
        case .structure(let fields):
            return fields.isEmpty ? "{}" : "{ " + fields.map(\.ltraceText).joined(separator: ", ") + " }"
        case .void: return "<void>"
        case .unreadable(let address): return "0x" + String(address, radix: 16)
        }
    }

    /// ltrace's escaping: `\\`, the named C escapes, printable ASCII as is, everything else as three octal
    /// digits (`\001`, `\377`).
    static func escape(_ bytes: [UInt8], quote: UInt8) -> String {
        var out = ""
        out.reserveCapacity(bytes.count)
        for b in bytes {
            switch b {
            case UInt8(ascii: "\\"): out += "\\\\"
            case quote: out += "\\" + String(UnicodeScalar(b))
            case 0x0A: out += "\\n"
            case 0x09: out += "\\t"
            case 0x0D: out += "\\r"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x0B: out += "\\v"
            case 0x07: out += "\\a"
            case 0x20...0x7E: out.unicodeScalars.append(UnicodeScalar(b))
            default:
                let octal = String(b, radix: 8)
                out += "\\" + String(repeating: "0", count: 3 - octal.count) + octal
            }
        }
        return out
    }

    /// The value as a JSON object with its kind, for `--json` (`{"kind":"string","value":"abc","truncated":false}`).
    public var jsonText: String {
        func object(_ kind: String, _ fields: [(String, String)]) -> String {
            "{\"kind\":\"\(kind)\"" + fields.map { ",\"\($0.0)\":\($0.1)" }.joined() + "}"
        }
        switch self {
        case .signed(let v): return object("signed", [("value", String(v))])
        case .unsigned(let v): return object("unsigned", [("value", String(v))])
        case .hex(let v): return object("unsigned", [("value", String(v))])
        case .octal(let v): return object("unsigned", [("value", String(v))])
        case .character(let c): return object("char", [("value", String(c))])
        case .boolean(let b): return object("bool", [("value", b ? "true" : "false")])
        case .pointer(let p): return object("pointer", [("value", String(p))])
        case .null: return object("null", [])
        case .string(let bytes, let truncated):
            return object("string", [("value", Value.jsonString(bytes)), ("truncated", truncated ? "true" : "false")])
        case .floating(let d): return object("float", [("value", d.isFinite ? "\(d)" : "null")])
        case .enumeration(let name, let raw):
            return object("enum", [("name", name.map { Value.jsonString(Array($0.utf8)) } ?? "null"), ("value", String(raw))])
        case .bitmask(let names, let remainder):
            return object("flags", [("names", "[" + names.map { Value.jsonString(Array($0.utf8)) }.joined(separator: ",") + "]"),
                                    ("remainder", String(remainder))])
        case .array(let elements, let truncated):
            return object("array", [("elements", "[" + elements.map(\.jsonText).joined(separator: ",") + "]"),
                                    ("truncated", truncated ? "true" : "false")])
        case .structure(let fields):
            return object("struct", [("fields", "[" + fields.map(\.jsonText).joined(separator: ",") + "]")])
        case .void: return object("void", [])
        case .unreadable(let address): return object("unreadable", [("address", String(address))])
        }
    }

    /// A JSON string literal; bytes that are not valid UTF-8 become U+FFFD.
    public static func jsonString(_ bytes: [UInt8]) -> String {
        jsonString(String(decoding: bytes, as: UTF8.self))
    }

    /// A JSON string literal (RFC 8259): `"` and `\\` escaped, `\n` `\r` `\t` by name, the other control
    /// characters below U+0020 as `\u00XX`; everything else, DEL and non-ASCII included, as is (UTF-8).
    /// The one JSON escaper of the package: `deps --json` and `trace --json` both use it.
    public static func jsonString(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
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
        return out + "\""
    }
}
