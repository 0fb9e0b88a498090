// Text built straight into bytes: the trace renderers run twice per traced call, millions of times, and a
// `String` per line or value (with its growth, bridging and reference counting) cost more than decoding the
// call (issue 9). These append ASCII to a reusable `[UInt8]` and allocate only when the buffer grows.

extension Array where Element == UInt8 {
    /// The UTF-8 of `text`.
    public mutating func append(text: String) {
        var text = text
        text.withUTF8 { append(contentsOf: $0) }
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
        append(digitsOf: value, radix: 10)
    }

    /// `value` in decimal, with a `-` when negative.
    public mutating func append(decimal value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        append(digitsOf: value.magnitude, radix: 10)
    }

    /// `value` in lower-case hex, without a prefix.
    public mutating func append(hex value: UInt64) {
        append(digitsOf: value, radix: 16)
    }

    /// `value` in octal, without a prefix.
    public mutating func append(octal value: UInt64) {
        append(digitsOf: value, radix: 8)
    }

    /// `value` in decimal, zero-padded on the left to `width` digits (`000580`).
    public mutating func append(decimal value: UInt64, width: Int) {
        var digits = 1
        var rest = value / 10
        while rest > 0 { digits += 1; rest /= 10 }
        for _ in digits..<Swift.max(digits, width) { append(UInt8(ascii: "0")) }
        append(digitsOf: value, radix: 10)
    }

    private mutating func append(digitsOf value: UInt64, radix: UInt64) {
        // 22 octal digits hold any UInt64; written backwards into a fixed buffer, then appended in order.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { buffer in
            var index = 24
            var rest = value
            repeat {
                index -= 1
                let digit = UInt8(truncatingIfNeeded: rest % radix)
                buffer[index] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                rest /= radix
            } while rest > 0
            append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<24]))
        }
    }
}

/// Padding comes from here in slices (appending a `repeatElement` goes element by element).
private let spaceRun = [UInt8](repeating: UInt8(ascii: " "), count: 128)
