/// `-s` and `-A`: what a decode needs of its `CallDecoder` (copying the decoder would retain its library).
struct ValueLimits {
    var string: Int
    var array: Int
    init(_ decoder: CallDecoder) {
        string = decoder.stringLimit
        array = decoder.arrayLimit
    }
}

/// The raw words of a call's fixed arguments, in order: eight inline (almost every prototype), more in an
/// array. A call is decoded without allocating for them.
struct ArgumentWords {
    private var inline: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var more: [UInt64] = []
    private(set) var count = 0
    private static let inlineCount = 8

    mutating func append(_ word: UInt64) {
        if count < Self.inlineCount {
            withUnsafeMutableBytes(of: &inline) { $0.storeBytes(of: word, toByteOffset: count * 8, as: UInt64.self) }
        } else {
            more.append(word)
        }
        count += 1
    }

    subscript(index: Int) -> UInt64 {
        precondition(index >= 0 && index < count)
        if index < Self.inlineCount { return withUnsafeBytes(of: inline) { $0.load(fromByteOffset: index * 8, as: UInt64.self) } }
        return more[index - Self.inlineCount]
    }
}

/// Turns a raw word (a register or stack slot) or tracee memory into a `Value` of a given type. Lengths
/// from arguments or the return value are capped by the string and array limits before any read.
struct ValueReading<Memory: MemoryReader> {
    let limits: ValueLimits
    let memory: Memory
    /// The raw words of the call's fixed arguments, for `argN` lengths.
    let integerArguments: ArgumentWords
    let returnValue: UInt64?

    /// Array elements one call may still show. Arrays of arrays multiply (`-A 4` on eight nested levels
    /// is 65,536 values); past this budget arrays are cut short, shown as truncated.
    private var elementsLeft = ValueReading.maximumElements
    static var maximumElements: Int { 4096 }

    init(limits: ValueLimits, memory: Memory, integerArguments: ArgumentWords, returnValue: UInt64?) {
        self.limits = limits
        self.memory = memory
        self.integerArguments = integerArguments
        self.returnValue = returnValue
    }

    /// The count a length spec gives, or nil when it is not known here (retval at the entry stop).
    func length(_ spec: LengthSpec) -> Int? {
        switch spec {
        case .constant(let n): return max(0, n)
        case .argument(let n):
            // Length arguments are sizes (size_t): a huge one is huge, and the limits cap it.
            guard n >= 1 && n <= integerArguments.count else { return nil }
            return Int(clamping: integerArguments[n - 1])
        case .returnValue:
            // A returned length is an ssize_t: -1 (an error) means nothing was written.
            guard let returnValue else { return nil }
            let signed = Int64(bitPattern: returnValue)
            return signed < 0 ? 0 : Int(clamping: signed)
        }
    }

    mutating func fromWord(_ word: UInt64, as type: ValueType) -> Value {
        switch type {
        case .void: return .void
        case .int: return .signed(Int64(Int32(truncatingIfNeeded: word)))
        case .uint: return .unsigned(UInt64(UInt32(truncatingIfNeeded: word)))
        case .long: return .signed(Int64(bitPattern: word))
        case .ulong: return .unsigned(word)
        case .short: return .signed(Int64(Int16(truncatingIfNeeded: word)))
        case .ushort: return .unsigned(UInt64(UInt16(truncatingIfNeeded: word)))
        case .char: return .character(UInt8(truncatingIfNeeded: word))
        case .bool: return .boolean(word & 0xFF != 0)
        case .octal(let bytes): return .octal(mask(word, bytes))
        case .hex(let bytes): return .hex(mask(word, bytes))
        case .float: return .floating(Double(Float(bitPattern: UInt32(truncatingIfNeeded: word))))
        case .double: return .floating(Double(bitPattern: word))
        case .address, .file:
            // ltrace prints a NULL `addr` as 0 and a NULL string as nil: keep both.
            return .pointer(word)
        case .guess: return .guessed(word)
        case .format: return fromWord(word, as: .string(nil))
        case .string(let spec):
            guard word != 0 else { return .null }
            var limit = limits.string
            var exact: Int?
            if let spec, let n = length(spec) {
                exact = n
                limit = min(limit, n)
            }
            guard let (bytes, truncated) = memory.readCString(at: word, limit: limit) else { return .unreadable(address: word) }
            // A string with a length (write's buffer) is cut by that length, not only by the limit.
            let cut = exact.map { bytes.count >= limit && $0 > limit } ?? truncated
            return .string(bytes: bytes, truncated: cut)
        case .enumeration(let constants, let bytes):
            let raw = signExtend(word, bytes)
            if let name = constants.name(of: raw) { return .enumeration(name: name, raw: raw) }
            // A handle-sized enum (dlsym's RTLD_NEXT) that is no named value is an address.
            if bytes == 8 { return .pointer(word) }
            return .enumeration(name: nil, raw: raw)
        case .flags(let set, let bytes):
            var rest = mask(word, bytes)
            var names: [String] = []
            if set.accessMask != 0 {
                let mode = Int64(rest & set.accessMask)
                if let name = set.accessModes.name(of: mode) {
                    names.append(name)
                    rest &= ~set.accessMask
                }
            }
            // Multi-bit flags first (O_SYNC contains O_DSYNC), each only when all its bits are set.
            let flags = set.flags.pairs.sorted { UInt64($0.value).nonzeroBitCount > UInt64($1.value).nonzeroBitCount }
            var found: [(String, Int64)] = []
            for flag in flags where flag.value != 0 && rest & UInt64(flag.value) == UInt64(flag.value) {
                found.append((flag.name, flag.value))
                rest &= ~UInt64(flag.value)
            }
            names += found.sorted { $0.1 < $1.1 }.map(\.0)
            return .bitmask(names: names, remainder: rest)
        case .bitvector(let bytes):
            return .enumeration(name: ValueReading.bitList(mask(word, bytes)), raw: Int64(bitPattern: mask(word, bytes)))
        case .pointer(let pointee):
            guard word != 0 else { return .null }
            return fromMemory(word, as: pointee)
        case .array(let element, let spec):
            guard word != 0 else { return .null }
            return array(at: word, of: element, count: length(spec))
        case .structure:
            // A small struct passed by value in a register (inet_ntoa's in_addr).
            var bytes: [UInt8] = []
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(i)))) }
            return fromBytes(bytes, as: type)
        }
    }

    /// The value of type `type` stored at `address`.
    mutating func fromMemory(_ address: UInt64, as type: ValueType) -> Value {
        if case .array(let element, let spec) = type { return array(at: address, of: element, count: length(spec)) }
        let size = type.size
        guard size > 0 else { return .pointer(address) }
        let bytes = memory.readBytes(at: address, count: min(size, 4096))
        guard bytes.count == min(size, 4096) else { return .unreadable(address: address) }
        return fromBytes(bytes, as: type)
    }

    private mutating func array(at address: UInt64, of element: ValueType, count: Int?) -> Value {
        let wanted = count ?? limits.array
        let shown = min(wanted, limits.array)
        var values: [Value] = []
        var cursor = address
        for _ in 0..<shown {
            guard elementsLeft > 0 else { break }
            elementsLeft -= 1
            values.append(fromMemory(cursor, as: element))
            let (next, overflow) = cursor.addingReportingOverflow(UInt64(max(1, element.size)))
            if overflow { break }
            cursor = next
        }
        return .array(values, truncated: wanted > values.count)
    }

    private mutating func fromBytes(_ bytes: [UInt8], as type: ValueType) -> Value {
        if case .structure(let fields) = type {
            var values: [Value] = []
            var offset = 0
            for field in fields {
                offset = (offset + field.alignment - 1) / field.alignment * field.alignment
                let end = offset + field.size
                guard end <= bytes.count else { values.append(.unreadable(address: 0)); break }
                values.append(fromBytes(Array(bytes[offset..<end]), as: field))
                offset = end
            }
            return .structure(values)
        }
        var word: UInt64 = 0
        for (i, b) in bytes.prefix(8).enumerated() { word |= UInt64(b) << (8 * UInt64(i)) }
        return fromWord(word, as: type)
    }

    private func mask(_ word: UInt64, _ bytes: Int) -> UInt64 {
        bytes >= 8 ? word : word & ((1 << UInt64(max(0, bytes) * 8)) - 1)
    }

    private func signExtend(_ word: UInt64, _ bytes: Int) -> Int64 {
        guard bytes > 0 && bytes < 8 else { return Int64(bitPattern: word) }
        let shift = UInt64(64 - bytes * 8)
        return Int64(bitPattern: word << shift) >> Int64(shift)
    }

    /// ltrace's bitvec text: `<1,3-5>` (bit numbers from 0).
    static func bitList(_ value: UInt64) -> String {
        var ranges: [String] = []
        var bit = 0
        while bit < 64 {
            if value & (1 << UInt64(bit)) != 0 {
                var end = bit
                while end + 1 < 64 && value & (1 << UInt64(end + 1)) != 0 { end += 1 }
                ranges.append(end == bit ? "\(bit)" : "\(bit)-\(end)")
                bit = end + 1
            } else {
                bit += 1
            }
        }
        return "<" + ranges.joined(separator: ",") + ">"
    }
}
