import Foundation

/// File names are bytes; Swift strings are Unicode. A name that is not UTF-8 (`pie\xff`) must still reach
/// the system call it came for and the report that names it, so each byte of it that is no part of valid
/// UTF-8 is held as one private-use scalar, U+10FE80 + (byte - 0x80), and turned back into that byte on the
/// way to the kernel. Valid UTF-8 that happens to spell one of those scalars is held byte by byte the same
/// way, so `bytes(string(b)) == b` for every byte string `b`.
public enum RawBytes {
    /// Byte 0x80 + k is U+10FE80 + k (plane 16, private use).
    static let escapeBase: UInt32 = 0x10FE00

    /// The byte `scalar` stands for, when it is one of the escapes.
    public static func byte(escapedAs scalar: Unicode.Scalar) -> UInt8? {
        let value = scalar.value
        guard value >= escapeBase + 0x80, value <= escapeBase + 0xFF else { return nil }
        return UInt8(value - escapeBase)
    }

    /// A file name (argv word, directory entry, link target) as a String that keeps every byte.
    public static func string(_ bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self), !text.unicodeScalars.contains(where: { byte(escapedAs: $0) != nil }) {
            return text
        }
        let bytes = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length = switch lead {
            case 0..<0x80: 1
            case 0xC2...0xDF: 2
            case 0xE0...0xEF: 3
            case 0xF0...0xF4: 4
            default: 0
            }
            if length > 0, index + length <= bytes.count,
               let piece = String(validating: bytes[index..<(index + length)], as: UTF8.self),
               let scalar = piece.unicodeScalars.first, piece.unicodeScalars.count == 1, byte(escapedAs: scalar) == nil {
                scalars.append(scalar)
                index += length
            } else {
                scalars.append(Unicode.Scalar(escapeBase + UInt32(lead))!)
                index += 1
            }
        }
        return String(scalars)
    }

    /// A C string from the system (argv, d_name) as `string` keeps it.
    public static func string(cString: UnsafePointer<CChar>) -> String {
        string(UnsafeBufferPointer(start: UnsafeRawPointer(cString).assumingMemoryBound(to: UInt8.self), count: strlen(cString)))
    }

    /// The bytes `text` stands for.
    public static func bytes(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if let byte = byte(escapedAs: scalar) { out.append(byte) } else { out.append(contentsOf: String(scalar).utf8) }
        }
        return out
    }

    /// Calls `body` with `path` as the NUL-terminated bytes it stands for: what every system call on a path
    /// takes instead of Swift's own String-to-C conversion (which would send an escape's UTF-8).
    public static func withCString<R>(_ path: String, _ body: (UnsafePointer<CChar>) -> R) -> R {
        if !path.unicodeScalars.contains(where: { byte(escapedAs: $0) != nil }) { return path.withCString(body) }
        let bytes = Self.bytes(path).map { CChar(bitPattern: $0) } + [0]
        return bytes.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
