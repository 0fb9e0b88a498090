// Text built straight into bytes: the trace renderers run twice per traced call, millions of times, and a
// `String` per line or value (with its growth, bridging and reference counting) cost more than decoding the
// call (issue 9). These append ASCII to a reusable `[UInt8]` and allocate only when the buffer grows.

extension Array where Element == UInt8 {
    /// The UTF-8 of `text`.
    public mutating func append(text: String) {
        var text = text
        text.withUTF8 { append(bytes: $0) }
    }

    /// `bytes`, appended one by one when there are few: `append(contentsOf:)` has a fixed cost (its generic
    /// sequence path) larger than copying a name or a number byte by byte.
    public mutating func append(bytes: UnsafeBufferPointer<UInt8>) {
        if bytes.count > 32 { append(contentsOf: bytes); return }
        for byte in bytes { append(byte) }
    }

    public mutating func append(ascii: Unicode.Scalar) {
        append(UInt8(ascii: ascii))
    }

    public mutating func append(spaces count: Int) {
        var left = count
        while left > 0 {
            let now = Swift.min(left, spaceRun.count)
            spaceRun.withUnsafeBufferPointer { append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<now])) }
            left -= now
        }
    }

    /// `value` in decimal.
    public mutating func append(decimal value: UInt64) {
        // Written backwards into 24 bytes on the stack (20 decimal digits hold any UInt64), then appended. The
        // divisor is a constant, so `/ 10` is a multiplication: a variable radix made this the costliest part
        // of a JSON line (a dozen 10–20 digit numbers each).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { digits in
            var index = digits.count
            var rest = value
            repeat {
                index -= 1
                digits[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            append(bytes: UnsafeBufferPointer(rebasing: digits[index...]))
        }
    }

    /// `value` in decimal, with a `-` when negative.
    public mutating func append(decimal value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        append(decimal: value.magnitude)
    }

    /// `value` in lower-case hex, without a prefix.
    public mutating func append(hex value: UInt64) {
        append(digitsOf: value, bitsPerDigit: 4)
    }

    /// `value` in octal, without a prefix.
    public mutating func append(octal value: UInt64) {
        append(digitsOf: value, bitsPerDigit: 3)
    }

    /// `value` in decimal, zero-padded on the left to `width` digits (`000580`).
    public mutating func append(decimal value: UInt64, width: Int) {
        var digits = 1
        var rest = value / 10
        while rest > 0 { digits += 1; rest /= 10 }
        for _ in digits..<Swift.max(digits, width) { append(UInt8(ascii: "0")) }
        append(decimal: value)
    }

    /// Hex or octal: digits are bit fields, taken from the most significant one that is not zero.
    private mutating func append(digitsOf value: UInt64, bitsPerDigit: UInt64) {
        let mask: UInt64 = (1 << bitsPerDigit) - 1
        var shift: UInt64 = 0
        while shift + bitsPerDigit < 64 && value >> (shift + bitsPerDigit) != 0 { shift += bitsPerDigit }
        while true {
            let digit = UInt8(truncatingIfNeeded: (value >> shift) & mask)
            append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
            if shift == 0 { return }
            shift -= bitsPerDigit
        }
    }
}

/// Padding comes from here in slices (appending a `repeatElement` goes element by element).
private let spaceRun = [UInt8](repeating: UInt8(ascii: " "), count: 128)
