import Glibc

/// Text built straight into bytes. The trace renderers run twice per traced call, millions of times a second
/// in-process, and a `String` per line or value (its growth, bridging and reference counting) cost more than
/// decoding the call (issue 9); so did `[UInt8]` appends (a uniqueness check per byte, a generic path per
/// run). This is one growable buffer that one renderer owns and reuses: an append is a bounds check and a
/// store or a `memcpy`. A reference type, never shared between threads.
public final class TextBuffer {
    // One owner, one thread, one access at a time: no runtime exclusivity check per append.
    @usableFromInline @exclusivity(unchecked) var base: UnsafeMutablePointer<UInt8>
    @usableFromInline @exclusivity(unchecked) var capacity: Int
    @usableFromInline @exclusivity(unchecked) var used = 0

    public init(capacity: Int = 1024) {
        self.capacity = Swift.max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    public var count: Int { used }
    public var isEmpty: Bool { used == 0 }

    /// The text so far, valid until the next change.
    public var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: used) }

    /// Empties the buffer, keeping its memory.
    public func removeAll() { used = 0 }

    /// Room for `extra` more bytes.
    @inlinable func reserve(_ extra: Int) {
        if capacity - used < extra { grow(extra) }
    }

    @usableFromInline func grow(_ extra: Int) {
        var newCapacity = capacity * 2
        while newCapacity - used < extra { newCapacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: base, count: used)
        base.deallocate()
        base = bigger
        capacity = newCapacity
    }

    @inlinable public func append(_ byte: UInt8) {
        reserve(1)
        base[used] = byte
        used += 1
    }

    @inlinable public func append(ascii: Unicode.Scalar) {
        append(UInt8(ascii: ascii))
    }

    public func append(bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + used).update(from: source, count: bytes.count)
        used += bytes.count
    }

    public func append(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { append(bytes: $0) }
    }

    /// The UTF-8 of `text`.
    public func append(text: String) {
        var text = text
        text.withUTF8 { append(bytes: $0) }
    }

    /// A literal, without going through `String`.
    public func append(literal: StaticString) {
        append(bytes: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    public func append(spaces count: Int) {
        guard count > 0 else { return }
        reserve(count)
        (base + used).initialize(repeating: UInt8(ascii: " "), count: count)
        used += count
    }

    /// `value` in decimal.
    public func append(decimal value: UInt64) {
        // The digits are counted, then written from the last one back; `/ 10` by a constant is a multiply.
        var digits = 1
        var rest = value / 10
        while rest > 0 { digits += 1; rest /= 10 }
        reserve(digits)
        var index = used + digits
        rest = value
        repeat {
            index -= 1
            base[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        } while rest > 0
        used += digits
    }

    /// `value` in decimal, with a `-` when negative.
    public func append(decimal value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        append(decimal: value.magnitude)
    }

    /// `value` in decimal, zero-padded on the left to `width` digits (`000580`).
    public func append(decimal value: UInt64, width: Int) {
        var digits = 1
        var rest = value / 10
        while rest > 0 { digits += 1; rest /= 10 }
        for _ in digits..<Swift.max(digits, width) { append(UInt8(ascii: "0")) }
        append(decimal: value)
    }

    /// `value` in lower-case hex, without a prefix.
    public func append(hex value: UInt64) {
        append(digitsOf: value, bitsPerDigit: 4)
    }

    /// `value` in octal, without a prefix.
    public func append(octal value: UInt64) {
        append(digitsOf: value, bitsPerDigit: 3)
    }

    /// Hex or octal: digits are bit fields, taken from the most significant one that is not zero.
    private func append(digitsOf value: UInt64, bitsPerDigit: UInt64) {
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

    /// The text as a String (tests, and values shown outside a trace line).
    public var string: String { String(decoding: bytes, as: UTF8.self) }
}
