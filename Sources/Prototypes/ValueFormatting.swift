import Glibc

// How values print. Kept apart from where they came from (registers, stack, memory): the decoder builds a
// `Value`, renderers call these. The text follows ltrace 0.7.3 as observed on this machine, with one
// deliberate difference: a `"` inside a string is escaped as `\"`, so a line can be parsed back (ltrace prints
// it bare).

extension Value {
    /// ltrace's text for the value: `"abc"...`, `nil`, `0x55d4...`, `'a'`, `<void>`, `O_WRONLY|O_CREAT`, `{ 1, 2 }`.
    public var ltraceText: String {
        let text = TextBuffer(capacity: 64)
        appendLtraceText(to: text)
        return text.string
    }

    /// `ltraceText`, appended to `out` (the renderers' path: no String per value).
    public func appendLtraceText(to out: TextBuffer) {
        switch self {
        case .signed(let v): out.append(decimal: v)
        case .unsigned(let v): out.append(decimal: v)
        case .hex(let v), .unreadable(let v):
            out.append(ascii: "0"); out.append(ascii: "x"); out.append(hex: v)
        case .octal(let v):
            out.append(ascii: "0")
            if v != 0 { out.append(octal: v) }
        case .character(let c):
            out.append(ascii: "'")
            Value.escape(CollectionOfOne(c), quote: UInt8(ascii: "'"), into: out)
            out.append(ascii: "'")
        case .boolean(let b): out.append(text: b ? "true" : "false")
        case .pointer(let p):
            if p == 0 { out.append(ascii: "0") } else { out.append(ascii: "0"); out.append(ascii: "x"); out.append(hex: p) }
        case .null: out.append(text: "nil")
        case .string(let bytes, let truncated):
            out.append(ascii: "\"")
            Value.escape(bytes, quote: UInt8(ascii: "\""), into: out)
            out.append(ascii: "\"")
            if truncated { out.append(text: "...") }
        case .floating(let d): out.append(text: cFormat("%f", d))
        case .enumeration(let name, let raw):
            if let name { out.append(text: name) } else { out.append(decimal: raw) }
        case .bitmask(let names, let remainder):
            for (i, name) in names.enumerated() {
                if i > 0 { out.append(ascii: "|") }
                out.append(text: name)
            }
            if remainder != 0 || names.isEmpty {
                if !names.isEmpty { out.append(ascii: "|") }
                if remainder == 0 { out.append(ascii: "0") } else { out.append(ascii: "0"); out.append(ascii: "x"); out.append(hex: remainder) }
            }
        case .array(let elements, let truncated):
            guard !elements.isEmpty || truncated else { out.append(text: "[]"); return }
            out.append(text: "[ ")
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(text: ", ") }
                element.appendLtraceText(to: out)
            }
            if truncated { out.append(text: elements.isEmpty ? "..." : ", ...") }
            out.append(text: " ]")
        case .structure(let fields):
            guard !fields.isEmpty else { out.append(text: "{}"); return }
            out.append(text: "{ ")
            for (i, field) in fields.enumerated() {
                if i > 0 { out.append(text: ", ") }
                field.appendLtraceText(to: out)
            }
            out.append(text: " }")
        case .void: out.append(text: "<void>")
        }
    }

    /// ltrace's escaping: `\\`, the named C escapes, printable ASCII as is, everything else as three octal
    /// digits (`\001`, `\377`).
    static func escape(_ bytes: [UInt8], quote: UInt8) -> String {
        let out = TextBuffer(capacity: bytes.count + 16)
        escape(bytes, quote: quote, into: out)
        return out.string
    }

    static func escape(_ bytes: some Sequence<UInt8>, quote: UInt8, into out: TextBuffer) {
        for b in bytes {
            switch b {
            case UInt8(ascii: "\\"), quote: out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x08: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "f"))
            case 0x0B: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "v"))
            case 0x07: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "a"))
            case 0x20...0x7E: out.append(b)
            default:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(ascii: "0") + (b >> 6))
                out.append(UInt8(ascii: "0") + ((b >> 3) & 7))
                out.append(UInt8(ascii: "0") + (b & 7))
            }
        }
    }

    /// The value as a JSON object with its kind, for `--json` (`{"kind":"string","value":"abc","truncated":false}`).
    public var jsonText: String {
        let text = TextBuffer(capacity: 64)
        appendJSON(to: text)
        return text.string
    }

    /// `jsonText`, appended to `out`.
    public func appendJSON(to out: TextBuffer) {
        func open(_ kind: String) { out.append(text: "{\"kind\":\""); out.append(text: kind); out.append(ascii: "\"") }
        func key(_ name: String) { out.append(text: ",\""); out.append(text: name); out.append(text: "\":") }
        func flag(_ value: Bool) { out.append(text: value ? "true" : "false") }
        switch self {
        case .signed(let v): open("signed"); key("value"); out.append(decimal: v)
        case .unsigned(let v), .hex(let v), .octal(let v): open("unsigned"); key("value"); out.append(decimal: v)
        case .character(let c): open("char"); key("value"); out.append(decimal: UInt64(c))
        case .boolean(let b): open("bool"); key("value"); flag(b)
        case .pointer(let p): open("pointer"); key("value"); out.append(decimal: p)
        case .null: open("null")
        case .string(let bytes, let truncated):
            open("string"); key("value"); Value.appendJSONString(bytes, to: out); key("truncated"); flag(truncated)
        case .floating(let d): open("float"); key("value"); out.append(text: d.isFinite ? "\(d)" : "null")
        case .enumeration(let name, let raw):
            open("enum"); key("name")
            if let name { Value.appendJSON(name: name, to: out) } else { out.append(text: "null") }
            key("value"); out.append(decimal: raw)
        case .bitmask(let names, let remainder):
            open("flags"); key("names"); out.append(ascii: "[")
            for (i, name) in names.enumerated() {
                if i > 0 { out.append(ascii: ",") }
                Value.appendJSON(name: name, to: out)
            }
            out.append(ascii: "]"); key("remainder"); out.append(decimal: remainder)
        case .array(let elements, let truncated):
            open("array"); key("elements"); out.append(ascii: "[")
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(ascii: ",") }
                element.appendJSON(to: out)
            }
            out.append(ascii: "]"); key("truncated"); flag(truncated)
        case .structure(let fields):
            open("struct"); key("fields"); out.append(ascii: "[")
            for (i, field) in fields.enumerated() {
                if i > 0 { out.append(ascii: ",") }
                field.appendJSON(to: out)
            }
            out.append(ascii: "]")
        case .void: open("void")
        case .unreadable(let address): open("unreadable"); key("address"); out.append(decimal: address)
        }
        out.append(ascii: "}")
    }

    private static func appendJSON(name: String, to out: TextBuffer) {
        var name = name
        name.withUTF8 { appendJSONEscaped(utf8: $0, to: out) }
    }

    /// `jsonString(bytes)`, appended to `out`.
    public static func appendJSONString(_ bytes: [UInt8], to out: TextBuffer) {
        bytes.withUnsafeBufferPointer { appendJSONString($0, to: out) }
    }

    /// `jsonString(bytes)`, appended to `out` (concrete, not generic: it is called across modules per value).
    public static func appendJSONString(_ bytes: UnsafeBufferPointer<UInt8>, to out: TextBuffer) {
        if bytes.allSatisfy({ $0 < 0x80 }) {
            appendJSONEscaped(utf8: bytes, to: out)
        } else {
            // Not valid UTF-8, maybe: what String(decoding:) repairs (U+FFFD) is what is escaped.
            var text = String(decoding: bytes, as: UTF8.self)
            text.withUTF8 { appendJSONEscaped(utf8: $0, to: out) }
        }
    }

    /// A JSON string literal; bytes that are not valid UTF-8 become U+FFFD.
    public static func jsonString(_ bytes: [UInt8]) -> String {
        let out = TextBuffer(capacity: bytes.count + 16)
        appendJSONString(bytes, to: out)
        return out.string
    }

    /// A JSON string literal (RFC 8259): `"` and `\\` escaped, `\n` `\r` `\t` by name, the other control
    /// characters below U+0020 as `\u00XX`; everything else, DEL and non-ASCII included, as is (UTF-8).
    /// The one JSON escaper of the package: `deps --json` and `trace --json` both use it.
    public static func jsonString(_ text: String) -> String {
        let out = TextBuffer(capacity: text.utf8.count + 16)
        var text = text
        text.withUTF8 { appendJSONEscaped(utf8: $0, to: out) }
        return out.string
    }

    /// The escaper itself, over valid UTF-8: only ASCII bytes are ever escaped, so the bytes of every
    /// non-ASCII scalar pass through as they are.
    private static func appendJSONEscaped(utf8 bytes: UnsafeBufferPointer<UInt8>, to out: TextBuffer) {
        out.append(UInt8(ascii: "\""))
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
            case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(text: "\\u00")
                out.append(UInt8(ascii: "0") + (b >> 4))
                let low = b & 0xF
                out.append(low < 10 ? UInt8(ascii: "0") + low : UInt8(ascii: "a") + low - 10)
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
