/// What a printf-family format string says about the arguments after it (printf(3)): one conversion per
/// consumed argument, `*` widths and precisions included. `%%` and `%m` consume nothing; positional
/// arguments (`%1$d`) stop the decoding, since their order is not the call's.
public enum PrintfFormat {
    public enum Conversion: Hashable, Sendable {
        case int(bytes: Int, signed: Bool)
        case hex(bytes: Int)
        case octal(bytes: Int)
        case character
        case string
        case pointer
        case double
        case longDouble
    }

    public static func conversions(in format: [UInt8]) -> [Conversion] {
        var result: [Conversion] = []
        var i = 0
        func at(_ k: Int) -> UInt8 { k < format.count ? format[k] : 0 }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        while i < format.count {
            guard format[i] == UInt8(ascii: "%") else { i += 1; continue }
            i += 1
            if at(i) == UInt8(ascii: "%") { i += 1; continue }
            // %N$ positional: give up rather than guess.
            var k = i
            while isDigit(at(k)) { k += 1 }
            if k > i && at(k) == UInt8(ascii: "$") { return result }
            while "-+ #0'I".utf8.contains(at(i)) && at(i) != 0 { i += 1 }
            if at(i) == UInt8(ascii: "*") { result.append(.int(bytes: 4, signed: true)); i += 1 }
            while isDigit(at(i)) { i += 1 }
            if at(i) == UInt8(ascii: ".") {
                i += 1
                if at(i) == UInt8(ascii: "*") { result.append(.int(bytes: 4, signed: true)); i += 1 }
                while isDigit(at(i)) { i += 1 }
            }
            var bytes = 4
            var longDouble = false
            switch at(i) {
            case UInt8(ascii: "h"):
                i += 1
                if at(i) == UInt8(ascii: "h") { i += 1; bytes = 1 } else { bytes = 2 }
            case UInt8(ascii: "l"):
                i += 1
                bytes = 8
                if at(i) == UInt8(ascii: "l") { i += 1 }
            case UInt8(ascii: "q"), UInt8(ascii: "j"), UInt8(ascii: "z"), UInt8(ascii: "Z"), UInt8(ascii: "t"):
                i += 1
                bytes = 8
            case UInt8(ascii: "L"):
                i += 1
                longDouble = true
                bytes = 8
            default: break
            }
            let c = at(i)
            i += 1
            switch c {
            case UInt8(ascii: "d"), UInt8(ascii: "i"): result.append(.int(bytes: bytes, signed: true))
            case UInt8(ascii: "u"): result.append(.int(bytes: bytes, signed: false))
            case UInt8(ascii: "x"), UInt8(ascii: "X"): result.append(.hex(bytes: bytes))
            case UInt8(ascii: "o"): result.append(.octal(bytes: bytes))
            case UInt8(ascii: "c"): result.append(.character)
            case UInt8(ascii: "s"): result.append(.string)
            case UInt8(ascii: "p"), UInt8(ascii: "n"): result.append(.pointer)
            case UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "e"), UInt8(ascii: "E"),
                 UInt8(ascii: "g"), UInt8(ascii: "G"), UInt8(ascii: "a"), UInt8(ascii: "A"):
                result.append(longDouble ? .longDouble : .double)
            case UInt8(ascii: "m"): break
            default: return result  // an unknown conversion: what follows cannot be trusted
            }
        }
        return result
    }
}
