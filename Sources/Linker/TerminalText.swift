import ELF

/// Text from files and command lines (paths, sonames, messages naming them) made safe for a terminal.
public enum TerminalText {
    /// `text` with control characters (C0 including ESC and newline, DEL, C1) written as `\xHH` (`\u{HHHH}` for
    /// C1), a backslash as `\\`, and bytes that are not UTF-8 (`LoaderPath` keeps them as private-use scalars)
    /// as `\xHH`: a file named `\e[31m` or holding a newline can neither colour nor forge report lines.
    /// Text without any of these is returned as it is.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if let byte = RawBytes.byte(escapedAs: scalar) {
                out += "\\x" + hex(UInt32(byte), digits: 2)
            } else if scalar == "\\" {
                out += "\\\\"
            } else if scalar.value < 0x20 || scalar.value == 0x7f {
                out += "\\x" + hex(scalar.value, digits: 2)
            } else if (0x80...0x9f).contains(scalar.value) {
                out += "\\u{" + hex(scalar.value, digits: 4) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) || scalar == "\\" || RawBytes.byte(escapedAs: scalar) != nil
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
